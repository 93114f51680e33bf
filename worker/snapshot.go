package worker

import (
	"encoding/json"
	"fmt"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/data"
)

// Snapshot is this rank's part of a checkpoint, copied out of the live
// buffers so that training can go on while it is written.
type Snapshot struct {
	Step     int64
	Cursor   data.Cursor
	Lo, Hi   int
	Params   []float32
	States   map[string][]float32
	OptSteps int64
}

// Snapshot copies this rank's shard of the parameters and of the optimizer
// state (the in-memory copy is the whole training stall of a checkpoint).
// The copy lives in buffers the trainer reuses (fresh pages are slow to
// fault in), so the previous snapshot must be fully delivered first.
func (t *Trainer) Snapshot() Snapshot {
	if t.snap.Params == nil {
		t.snap.Params = make([]float32, t.hi-t.lo)
		t.snap.States = map[string][]float32{}
		for _, st := range t.opt.State() {
			t.snap.States[st.Name] = make([]float32, len(st.Data))
		}
	}
	copy(t.snap.Params, t.model.Params()[t.lo:t.hi])
	for _, st := range t.opt.State() {
		copy(t.snap.States[st.Name], st.Data)
	}
	t.snap.Step, t.snap.Cursor, t.snap.Lo, t.snap.Hi, t.snap.OptSteps = int64(t.step), t.cursor, t.lo, t.hi, t.opt.Steps()
	return t.snap
}

// Manifest returns the checkpoint manifest fields this trainer knows (no
// shards): rank 0 sends it with its shard.
func (t *Trainer) Manifest(step int64, cursor data.Cursor) (checkpoint.Manifest, error) {
	ms, err := json.Marshal(t.model.Spec())
	if err != nil {
		return checkpoint.Manifest{}, err
	}
	osp, err := json.Marshal(optimSpec(t.spec.Train.Optimizer))
	if err != nil {
		return checkpoint.Manifest{}, err
	}
	m := checkpoint.Manifest{Step: step, Epoch: cursor.Epoch, Cursor: checkpoint.Cursor{Epoch: cursor.Epoch, Step: cursor.Step},
		WorldSize: t.world, ModelSpec: ms, NumParams: len(t.model.Params()), OptimizerSpec: osp, OptimizerSteps: t.opt.Steps()}
	if m.InputNormalization, err = data.MarshalNorm(t.corpus.Norm); err != nil {
		return checkpoint.Manifest{}, err
	}
	for _, l := range t.model.Layout() {
		m.Layout = append(m.Layout, checkpoint.Tensor{Name: l.Name, Shape: l.Shape, Offset: l.Offset})
	}
	for _, st := range t.opt.State() {
		m.StateNames = append(m.StateNames, st.Name)
	}
	return m, nil
}

// ModelSpecJSON is the model spec as it is stored in manifests.
func (t *Trainer) ModelSpecJSON() ([]byte, error) { return json.Marshal(t.model.Spec()) }

// ShardRange is this rank's range of the flat parameters.
func (t *Trainer) ShardRange() (lo, hi int) { return t.lo, t.hi }

// NumParams is the length of the flat parameter buffer.
func (t *Trainer) NumParams() int { return len(t.model.Params()) }

// Restore resumes from a checkpoint: the full parameters, this rank's shard
// of every optimizer state, the optimizer's step count, and the position
// (steps done and the sampler cursor of the next batch).
func (t *Trainer) Restore(params []float32, states map[string][]float32, optSteps int64, step int, cursor data.Cursor) error {
	if err := t.settle(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if len(params) != len(t.model.Params()) {
		return fmt.Errorf("restore: checkpoint has %d parameters, the model %d", len(params), len(t.model.Params()))
	}
	for _, st := range t.opt.State() {
		v, ok := states[st.Name]
		if !ok || len(v) != len(st.Data) {
			return fmt.Errorf("restore: optimizer state %q: checkpoint has %d values for this shard, want %d", st.Name, len(v), len(st.Data))
		}
	}
	copy(t.model.Params(), params)
	for _, st := range t.opt.State() {
		copy(st.Data, states[st.Name])
	}
	t.opt.SetSteps(optSteps)
	t.step, t.cursor = step, cursor
	if err := t.optErr(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}
