package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/serve"
)

// DefaultServeSpec is the built-in job's model (job.Default: the MLP on
// MNIST, 784-256-10) for kind "mlp" (or ""), the LeNet-style CNN on the
// same inputs (fully connected 120-84 after the convolutions) for kind
// "cnn", with other hidden layer widths if hidden is given.
func DefaultServeSpec(kind string, hidden []int) (model.Spec, error) {
	d := job.Default().Model
	switch kind {
	case "", model.KindMLP:
		kind = model.KindMLP
		if len(hidden) == 0 {
			hidden = d.Hidden
		}
	case model.KindCNN:
		if len(hidden) == 0 {
			hidden = []int{120, 84}
		}
	default:
		return model.Spec{}, fmt.Errorf("bench: model kind %q: want mlp or cnn", kind)
	}
	spec := model.Spec{Kind: kind, Hidden: hidden, Input: []int{1, 28, 28}, Classes: 10, Loss: d.Loss}
	if err := spec.Validate(); err != nil {
		return model.Spec{}, fmt.Errorf("bench: the built-in model: %w", err)
	}
	return spec, nil
}

// DefaultServeModel writes DefaultServeSpec(kind, hidden) with its initial
// weights (seed 1; a forward pass costs the same as with trained ones) as
// an export with MNIST's data facts (input_scale 1/255) to dir, and
// returns its path.
func DefaultServeModel(dir, kind string, hidden []int) (string, error) {
	spec, err := DefaultServeSpec(kind, hidden)
	if err != nil {
		return "", err
	}
	_, n, err := model.Layout(spec)
	if err != nil {
		return "", fmt.Errorf("bench: the default model: %w", err)
	}
	params := make([]float32, n)
	if err := model.InitParams(spec, params, 1); err != nil {
		return "", fmt.Errorf("bench: the default model: %w", err)
	}
	tensors, err := export.Native(export.Model{Spec: spec, Params: params})
	if err != nil {
		return "", fmt.Errorf("bench: the default model: %w", err)
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	meta := checkpoint.ExportMeta(checkpoint.Manifest{WorldSize: 1, NumParams: n, ModelSpec: specJSON})
	if err := export.AddFacts(meta, export.FactsOf(job.Default(), spec.Classes)); err != nil {
		return "", fmt.Errorf("bench: the default model: %w", err)
	}
	var b bytes.Buffer
	if err := checkpoint.WriteExport(&b, tensors, meta); err != nil {
		return "", fmt.Errorf("bench: the default model: %w", err)
	}
	path := filepath.Join(dir, "mnist-"+spec.Kind+"-init.safetensors")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("bench: the default model: %w", err)
	}
	return path, nil
}

// describeSpec names a model: its kind and layer widths.
func describeSpec(s *serve.Snapshot) string {
	parts := []string{strconv.Itoa(s.Spec.InputSize())}
	for _, h := range s.Spec.Hidden {
		parts = append(parts, strconv.Itoa(h))
	}
	parts = append(parts, strconv.Itoa(s.Spec.Classes))
	kind := s.Spec.Kind
	if kind == model.KindCNN {
		kind += " (LeNet convolutions, then fully connected)"
	}
	return fmt.Sprintf("%s %s, %d parameters", kind, strings.Join(parts, "-"), len(s.Params))
}

// forwardTimes are the median times of the server's Predictor on one
// instance and on maxBatch instances (raw inputs, scaling and softmax
// included), in this goroutine.
func forwardTimes(snap *serve.Snapshot, maxBatch int) (one, batch time.Duration, err error) {
	p, err := serve.NewPredictor(snap, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: serve: %w", err)
	}
	defer p.Close()
	if err := p.Warm(maxBatch); err != nil {
		return 0, 0, fmt.Errorf("bench: serve: %w", err)
	}
	in := snap.Spec.InputSize()
	time1 := func(n int) (time.Duration, error) {
		x := pixels(n*in, 2)
		var times []time.Duration
		for t0 := time.Now(); len(times) < 50 || (time.Since(t0) < time.Second && len(times) < 20000); {
			s := time.Now()
			if _, _, err := p.Predict(x); err != nil {
				return 0, fmt.Errorf("bench: serve: %w", err)
			}
			times = append(times, time.Since(s))
		}
		slices.Sort(times)
		return Quantile(times, 0.5), nil
	}
	if one, err = time1(1); err != nil {
		return 0, 0, err
	}
	batch, err = time1(maxBatch)
	return one, batch, err
}

// pixels are n raw MNIST-like values: integers 0..255.
func pixels(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 16))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.IntN(256))
	}
	return x
}

// requestBody is one instance of in raw values as the endpoint's JSON.
func requestBody(endpoint string, in int) []byte {
	var b strings.Builder
	x := pixels(in, 1)
	if endpoint == "v2" {
		fmt.Fprintf(&b, `{"inputs":[{"name":"input","shape":[1,%d],"datatype":"FP32","data":[`, in)
	} else {
		b.WriteString(`{"instances":[[`)
	}
	for i, v := range x {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(v)))
	}
	if endpoint == "v2" {
		b.WriteString(`]}]}`)
	} else {
		b.WriteString(`]]}`)
	}
	return []byte(b.String())
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
