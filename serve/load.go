package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/quant"
)

// Snapshot is one version of a trained model: its spec, its parameters in
// the model's layout (model.Layout) and, for an exported file, the file's
// metadata.
type Snapshot struct {
	Spec   model.Spec
	Params []float32
	// Meta is the export's __metadata__ (input_scale, input_min,
	// input_max, class_names, ...); for a checkpoint, what its manifest
	// says (checkpoint.ExportMeta: step, job_hash, model_spec, ...).
	Meta map[string]string
	// Step is the training step the parameters are from: the version
	// reported to clients.
	Step int64
	// Job is the job spec (YAML) that trained a checkpoint, as its
	// manifest records it (nil for a file, or a checkpoint from before
	// manifests recorded it).
	Job []byte
	// Quant is the int8 model of a file written by ringtrain export
	// --quantize int8 (Params is then nil), or nil.
	Quant *quant.Model
}

// Source is where a model comes from: an exported file or a checkpoint
// directory.
type Source struct {
	// File is a file written by ringtrain checkpoint export, or "".
	File string
	// Store is a checkpoint directory (when File is "").
	Store *checkpoint.Store
	// Step is a fixed step of Store; 0 is its latest, which Follows.
	Step int64
	// Warn receives the reasons a newer checkpoint was passed over (nil:
	// dropped).
	Warn func(error)
	// Defaults, if set, gives metadata for the keys a loaded model's own
	// lacks (a checkpoint has none of the data's): what the job that
	// trained it says of its inputs and classes (input_scale, input_min,
	// input_max, class_names), given the loaded model.
	Defaults func(snap *Snapshot) map[string]string
}

// Follows reports whether the source is a checkpoint directory's latest
// checkpoint, which changes as training commits new ones.
func (s Source) Follows() bool { return s.File == "" && s.Store != nil && s.Step == 0 }

// Load reads the source's model.
func (s Source) Load() (*Snapshot, error) {
	var snap *Snapshot
	var err error
	switch {
	case s.File != "":
		snap, err = LoadFile(s.File)
	case s.Store != nil:
		snap, err = LoadCheckpoint(s.Store, s.Step, s.Warn)
	default:
		err = fmt.Errorf("serve: a source needs a file or a checkpoint directory")
	}
	if err != nil {
		return nil, err
	}
	if s.Defaults == nil {
		return snap, nil
	}
	for k, v := range s.Defaults(snap) {
		if _, ok := snap.Meta[k]; !ok {
			if snap.Meta == nil {
				snap.Meta = map[string]string{}
			}
			snap.Meta[k] = v
		}
	}
	return snap, nil
}

// maxLatestBytes bounds the LATEST file LatestStep reads.
const maxLatestBytes = 256

// LatestStep is the step the checkpoint directory's LATEST names, read
// without loading the checkpoint (cheap enough to poll).
func (s Source) LatestStep() (int64, error) {
	if s.Store == nil {
		return 0, fmt.Errorf("serve: LATEST: not a checkpoint directory")
	}
	path := filepath.Join(s.Store.Dir(), checkpoint.LatestName)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("serve: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxLatestBytes))
	if err != nil {
		return 0, fmt.Errorf("serve: %s: %w", path, err)
	}
	step, ok := checkpoint.ParseStepDirName(strings.TrimSpace(string(b)))
	if !ok {
		return 0, fmt.Errorf("serve: %s: %q is not a step directory name", path, strings.TrimSpace(string(b)))
	}
	return step, nil
}

// metaLayout and layoutNative: an export's tensor layout key and
// ringtrain's own (export.KeyLayout, export.LayoutNative); a file in
// another layout (PyTorch's) holds transposed weights under other names.
const (
	metaLayout   = "layout"
	layoutNative = "ringtrain"
)

// LoadFile reads a file written by ringtrain export in ringtrain's layout.
func LoadFile(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	e, err := checkpoint.ReadExport(bufio.NewReaderSize(f, 1<<20), st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: not a model file written by ringtrain checkpoint export: %w", path, err)
	}
	specJSON := e.ModelSpec()
	if specJSON == nil {
		return nil, fmt.Errorf("%s: the export has no model_spec metadata", path)
	}
	if l := e.Meta[metaLayout]; l != "" && l != layoutNative {
		return nil, fmt.Errorf("%s: an export in the %s layout: ringtrain reads its own (export without --layout)", path, l)
	}
	step, err := strconv.ParseInt(e.Meta["step"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: metadata step %q: %w", path, e.Meta["step"], err)
	}
	if _, ok := e.Meta[quant.KeyQuantization]; ok || len(e.I8) > 0 {
		return loadQuantized(path, specJSON, e, step)
	}
	return newSnapshot(path, specJSON, e.Layout, e.Params, e.Meta, step)
}

// LoadCheckpoint reads step of store (0: the checkpoint a resume would
// pick; warn, if not nil, receives why newer ones were passed over).
func LoadCheckpoint(store *checkpoint.Store, step int64, warn func(error)) (*Snapshot, error) {
	var m checkpoint.Manifest
	var err error
	if step > 0 {
		m, err = store.Load(step)
	} else {
		var warns []error
		m, warns, err = store.Latest()
		for _, w := range warns {
			if warn != nil {
				warn(w)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	params := make([]float32, m.NumParams)
	if err := store.ReadInto(m, 0, params, nil); err != nil {
		return nil, err
	}
	snap, err := newSnapshot(store.StepDir(m.Step), m.ModelSpec, m.Layout, params, checkpoint.ExportMeta(m), m.Step)
	if err != nil {
		return nil, err
	}
	if m.Job != "" {
		snap.Job = []byte(m.Job)
	}
	return snap, nil
}

// newSnapshot parses the spec and copies params, laid out as layout says,
// into the model's own layout; it checks that both name the same tensors
// of the same shapes. src names the origin in errors.
func newSnapshot(src string, specJSON []byte, layout []checkpoint.Tensor, params []float32, meta map[string]string, step int64) (*Snapshot, error) {
	var spec model.Spec
	if err := json.Unmarshal(specJSON, &spec); err != nil {
		return nil, fmt.Errorf("%s: model spec: %w", src, err)
	}
	want, total, err := model.Layout(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	if len(layout) != len(want) {
		return nil, fmt.Errorf("%s: %d tensors, the model has %d", src, len(layout), len(want))
	}
	out := make([]float32, total)
	for i, t := range want {
		l := layout[i]
		if l.Name != t.Name || !slices.Equal(l.Shape, t.Shape) || l.Offset < 0 || l.Offset+t.Size() > len(params) {
			return nil, fmt.Errorf("%s: tensor %d is %s %v, the model's is %s %v", src, i, l.Name, l.Shape, t.Name, t.Shape)
		}
		copy(out[t.Offset:t.Offset+t.Size()], params[l.Offset:l.Offset+t.Size()])
	}
	return &Snapshot{Spec: spec, Params: out, Meta: meta, Step: step}, nil
}
