package job

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// Default returns the built-in job: the MLP on the embedded MNIST-10k.
func Default() Spec {
	return Spec{
		Name:  "mnist-mlp",
		Seed:  1,
		Model: Model{Kind: "mlp", Hidden: []int{256}, Loss: "xent", Context: 64, Embed: 128, Blocks: 4, Heads: 4, Device: "cpu"},
		Data: Data{Source: "default", Normalize: "none", CSV: CSV{LabelColumn: -1}, Synthetic: Synthetic{N: 8000, Dim: 32, Classes: 4, Noise: 0.1},
			Image: Image{Resize: "fit"}, OnError: "fail", Prefetch: 1},
		Train: Train{
			GlobalBatch: 64, Accumulate: 1, Epochs: 10, ReportEvery: 10, MaxSkippedSteps: 5,
			Optimizer: Optimizer{Name: "adamw", Beta1: 0.9, Beta2: 0.999, Alpha: 0.99},
			LR:        LRSchedule{Kind: "cosine", Base: 0.002, Gamma: 0.1},
		},
		Cluster:    Cluster{MinWorkers: 1, MaxWorkers: 64, Settle: time.Second, ProbeInterval: 500 * time.Millisecond, SuspicionMult: 3, StepTimeout: time.Minute, BucketBytes: DefaultBucketBytes, Compress: "none", SharedMemory: "auto", ReplicateEvery: 1},
		Eval:       Eval{EveryEpochs: 1, Windows: 1024},
		Checkpoint: Checkpoint{EveryEpochs: 1, Keep: 3, MaxFailures: 3},
	}
}

// Parse decodes a YAML job over the defaults: keys it does not set keep
// their default, but for name, which defaults to the job's data and model
// (DefaultName). Unknown keys and invalid values are errors naming the key.
func Parse(b []byte) (Spec, error) {
	s := Default()
	s.Name = ""
	if len(bytes.TrimSpace(b)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
			return Spec{}, fmt.Errorf("job spec: %w", err)
		}
		var extra any
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return Spec{}, errors.New("job spec: more than one YAML document")
		}
	}
	if s.Name == "" {
		s.Name = DefaultName(s)
	}
	switch {
	case s.Model.Kind == "cnn" && !hiddenSet(b):
		s.Model.Hidden = []int{120, 84}
	case (s.Model.Kind == "lstm" || s.Model.Kind == "gru") && !hiddenSet(b):
		s.Model.Hidden = []int{256, 256}
	case (s.Model.Kind == "transformer" || s.Model.Kind == "layers") && !hiddenSet(b):
		s.Model.Hidden = nil
	}
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// hiddenSet reports whether the document sets model.hidden.
func hiddenSet(b []byte) bool {
	var raw struct {
		Model map[string]any `yaml:"model"`
	}
	if yaml.Unmarshal(b, &raw) != nil {
		return false
	}
	_, ok := raw.Model["hidden"]
	return ok
}

// Load reads and parses a job file.
func Load(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("job spec: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Marshal encodes the spec as YAML (what workers receive).
func (s Spec) Marshal() ([]byte, error) {
	return yaml.Marshal(s)
}

// Hash is the hex SHA-256 of the marshalled spec.
func Hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
