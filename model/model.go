package model

import (
	"errors"
	"fmt"
	"slices"
)

// DefaultEvalChunk is the number of samples Evaluate runs through one eval
// graph (or the training batch size, if larger).
const DefaultEvalChunk = 256

// Model is a training graph for a fixed per-step batch size, plus lazily
// built forward-only graphs for Evaluate. Params and Grads are one flat
// []float32 each, laid out as Layout says. Every graph reads the weights
// in place from Params, so an optimizer that updates Params in place is
// seen by the next call without copying.
//
// A Model is not safe for concurrent use.
type Model struct {
	spec      Spec
	batch     int
	layout    []Tensor
	params    []float32
	grads     []float32
	train     *fusedTrain
	ref       *trainGraph        // the reference engine (tests): gorgonia's own ops on a TapeMachine
	evals     map[int]evalRunner // by graph size, see evalSizeFor
	gens      map[int]*fusedEval // sequence models: one sample of t positions, by t (NextLogits)
	evalChunk int
	bounds    []int // bucket boundaries (see Buckets)
	closed    bool
}

// evalRunner runs a forward pass for a fixed number of samples.
type evalRunner interface {
	forward(x []float32) ([]float32, error)
	close() error
}

// Pass says how ForwardBackwardWith runs one pass.
type Pass struct {
	// Accumulate adds this pass's gradient into Grads instead of
	// overwriting them (gradient accumulation over micro-batches).
	Accumulate bool
	// GradScale multiplies the gradient of the mean loss (0 means 1), e.g.
	// 1/K for K accumulated micro-batches.
	GradScale float32
	// Hooks, if set, are called as buckets of parameters are read and
	// buckets of gradients become final (see Hooks).
	Hooks Hooks
	// Seed draws the pass's random choices (dropout): the same seed gives
	// the same pass, so callers derive it from the run's seed, the rank
	// and the step for determinism and exact resume.
	Seed uint64
}

// New validates spec, allocates zeroed Params and Grads and builds the
// training graph for batch samples per step. Call InitParams(spec,
// m.Params(), seed) (or load a checkpoint into Params) before training.
func New(spec Spec, batch int) (*Model, error) {
	if err := spec.validateFields(); err != nil {
		return nil, err
	}
	if batch < 1 || batch > MaxDim {
		return nil, fmt.Errorf("%w: batch = %d, want 1..%d", ErrInput, batch, MaxDim)
	}
	if batch*spec.InputSize() > MaxInputElems {
		return nil, fmt.Errorf("%w: batch %d x input size %d exceeds %d values", ErrInput, batch, spec.InputSize(), MaxInputElems)
	}
	spec = spec.clone()
	layout, total, err := layoutOf(spec)
	if err != nil {
		return nil, err
	}
	m := &Model{
		spec:      spec,
		batch:     batch,
		layout:    layout,
		params:    make([]float32, total),
		grads:     make([]float32, total),
		evals:     make(map[int]evalRunner),
		evalChunk: max(DefaultEvalChunk, batch),
		bounds:    []int{0, total},
	}
	if m.train, err = newFusedTrain(spec, layout, m.params, m.grads, batch); err != nil {
		return nil, err
	}
	m.train.prog.ctx.setBounds(m.bounds)
	return m, nil
}

// newReference is New with the reference engine: the network built from
// gorgonia's own ops and run by its TapeMachine (slow, allocating; the
// fused kernels are checked against it).
func newReference(spec Spec, batch int) (*Model, error) {
	if spec.Sequence() {
		return nil, fmt.Errorf("%w: no reference engine for %s (its kernels are checked by finite differences)", ErrSpec, spec.Kind)
	}
	m, err := New(spec, batch)
	if err != nil {
		return nil, err
	}
	if m.ref, err = newTrainGraph(m.spec, m.layout, m.params, batch); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// SetBucketBytes splits the parameters into buckets of at most n bytes
// for Hooks (n <= 0: one bucket); see Buckets.
func (m *Model) SetBucketBytes(n int) {
	m.bounds = planBuckets(m.layout, func(t Tensor) bool { return len(t.Shape) == 2 }, n/4)
	m.train.prog.ctx.setBounds(m.bounds)
}

// Buckets are the ranges of the flat buffer that Hooks name by index, in
// ascending order, covering it: whole tensors grouped up to the bucket
// size, a larger fully connected weight split at row boundaries.
func (m *Model) Buckets() []Range { return rangesOf(m.bounds) }

// rangesOf turns ascending bucket boundaries into ranges.
func rangesOf(bounds []int) []Range {
	out := make([]Range, len(bounds)-1)
	for i := range out {
		out[i] = Range{bounds[i], bounds[i+1]}
	}
	return out
}

// Spec returns a copy of the model's spec.
func (m *Model) Spec() Spec { return m.spec.clone() }

// Batch is the number of samples ForwardBackward takes.
func (m *Model) Batch() int { return m.batch }

// Layout returns a copy of the parameter layout (see the Layout function).
func (m *Model) Layout() []Tensor { return cloneLayout(m.layout) }

// cloneLayout is a deep copy of a layout.
func cloneLayout(layout []Tensor) []Tensor {
	out := make([]Tensor, len(layout))
	for i, t := range layout {
		out[i] = Tensor{Name: t.Name, Shape: slices.Clone(t.Shape), Offset: t.Offset}
	}
	return out
}

// Params is the flat parameter buffer the graphs read in place. Writes to
// it (optimizer steps, checkpoint loads) take effect on the next call.
// Do not replace it by a slice of another backing array: copy into it.
func (m *Model) Params() []float32 { return m.params }

// Grads is the flat gradient buffer, same layout as Params, overwritten
// by every ForwardBackward.
func (m *Model) Grads() []float32 { return m.grads }

// ForwardBackward runs one step on x (Batch()*InputSize values, samples
// in row-major order) and y (Batch() labels in [0, Classes)). It
// overwrites Grads with d(mean loss over the batch)/d(Params) — never
// accumulating across calls — and returns the mean loss. The loss may be
// NaN or Inf if Params are; callers check it. On error Grads are
// unspecified.
func (m *Model) ForwardBackward(x []float32, y []int32) (float32, error) {
	return m.ForwardBackwardWith(x, y, Pass{})
}

// ForwardBackwardWith is ForwardBackward with the options of p:
// accumulation, a gradient scale and hooks for overlapping communication.
// It allocates nothing.
func (m *Model) ForwardBackwardWith(x []float32, y []int32, p Pass) (float32, error) {
	if m.closed {
		return 0, ErrClosed
	}
	if len(y) != m.batch*m.spec.Targets() {
		return 0, fmt.Errorf("%w: ForwardBackward got %d labels, want %d (batch %d x %d per sample)", ErrInput, len(y), m.batch*m.spec.Targets(), m.batch, m.spec.Targets())
	}
	if err := m.checkSamples("ForwardBackward", x, y); err != nil {
		return 0, err
	}
	if p.GradScale == 0 {
		p.GradScale = 1
	}
	if m.ref != nil {
		return m.refStep(x, y, p)
	}
	ft := m.train
	copy(ft.net.xbuf, x)
	fillTargets(ft.tbuf, y, m.spec.Classes, m.spec.Loss)
	ft.prog.ctx.reset(p.Hooks, p.GradScale)
	ft.prog.ctx.seed = p.Seed
	if err := guard("forward/backward", func() error { ft.prog.run(p.Accumulate); return nil }); err != nil {
		return 0, err
	}
	return ft.loss[0], nil
}

// refStep is a pass of the reference engine, with the Pass options applied
// around it: every bucket waited for first, every gradient announced last.
func (m *Model) refStep(x []float32, y []int32, p Pass) (float32, error) {
	nb := len(m.bounds) - 1
	if p.Hooks.WaitParams != nil {
		for b := range nb {
			p.Hooks.WaitParams(b)
		}
	}
	var prev []float32
	if p.Accumulate {
		prev = slices.Clone(m.grads)
	}
	loss, err := m.ref.step(m.spec, m.layout, x, y, m.grads)
	if err != nil {
		return 0, err
	}
	for i := range m.grads {
		m.grads[i] *= p.GradScale
		if prev != nil {
			m.grads[i] += prev[i]
		}
	}
	if p.Hooks.GradReady != nil {
		for b := nb - 1; b >= 0; b-- {
			p.Hooks.GradReady(b)
		}
	}
	return loss, nil
}

// Evaluate runs the forward pass with the current Params on any number n
// of samples (x: n*InputSize values, y: n*Targets labels) and returns the
// sum of the per-label losses (the same per-label loss ForwardBackward
// averages, computed in float64 from the float32 outputs) and the number
// of labels the argmax output equals: per sample for a classifier, per
// token for a sequence model. n = 0 gives 0, 0.
// Samples run in chunks of max(256, Batch()); forward graphs are built on
// first use and cached per chunk size (a short last chunk is padded to a
// power of two), all sharing the Params buffer.
func (m *Model) Evaluate(x []float32, y []int32) (lossSum float64, correct int, err error) {
	if m.closed {
		return 0, 0, ErrClosed
	}
	if err := m.checkSamples("Evaluate", x, y); err != nil {
		return 0, 0, err
	}
	in, classes, per := m.spec.InputSize(), m.spec.Classes, m.spec.Targets()
	n := len(y) / per
	for start := 0; start < n; start += m.evalChunk {
		k := min(m.evalChunk, n-start)
		eg, err := m.evalGraph(evalSizeFor(k, m.evalChunk))
		if err != nil {
			return 0, 0, err
		}
		logits, err := eg.forward(x[start*in : (start+k)*in])
		if err != nil {
			return 0, 0, err
		}
		for i := range k * per {
			row := logits[i*classes : (i+1)*classes]
			label := int(y[start*per+i])
			lossSum += sampleLoss(m.spec.Loss, row, label)
			if argmax(row) == label {
				correct++
			}
		}
	}
	return lossSum, correct, nil
}

// evalGraph returns the cached eval graph for n samples, building it on
// first use.
func (m *Model) evalGraph(n int) (evalRunner, error) {
	if eg, ok := m.evals[n]; ok {
		return eg, nil
	}
	var eg evalRunner
	var err error
	if m.ref != nil {
		eg, err = newEvalGraph(m.spec, m.layout, m.params, n)
	} else {
		eg, err = newFusedEval(m.spec, m.layout, m.params, n, m.spec.Targets())
	}
	if err != nil {
		return nil, err
	}
	m.evals[n] = eg
	return eg, nil
}

// checkSamples checks that x and y hold the same number of samples, every
// label is a class id and, for a sequence model, every input a token id;
// op names the caller in the error.
func (m *Model) checkSamples(op string, x []float32, y []int32) error {
	return checkSamples(m.spec, op, x, y)
}

// checkSamples is Model.checkSamples for any engine of spec.
func checkSamples(spec Spec, op string, x []float32, y []int32) error {
	in, per := spec.InputSize(), spec.Targets()
	if len(y)%per != 0 {
		return fmt.Errorf("%w: %s: %d labels, want a multiple of %d (one per position)", ErrInput, op, len(y), per)
	}
	if n := len(y) / per; len(x) != n*in {
		return fmt.Errorf("%w: %s: x has %d values, want %d (%d samples x input size %d)", ErrInput, op, len(x), n*in, n, in)
	}
	if spec.tokenInput() {
		if err := checkTokens(op, x, spec.vocabSize()); err != nil {
			return err
		}
	}
	for i, c := range y {
		if c < 0 || int(c) >= spec.Classes {
			return fmt.Errorf("%w: %s: label y[%d] = %d, want 0..%d", ErrInput, op, i, c, spec.Classes-1)
		}
	}
	return nil
}

// Close releases the graphs. Params and Grads stay readable; every other
// call returns ErrClosed. Close is idempotent.
func (m *Model) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	if m.ref != nil {
		errs = append(errs, m.ref.close())
	}
	for _, eg := range m.evals {
		errs = append(errs, eg.close())
	}
	m.train, m.ref, m.evals, m.gens = nil, nil, nil, nil
	return errors.Join(errs...)
}
