package model

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ringtrain/ringtrain/model/device"
)

// DeviceModel trains a Spec on a device.Device (a GPU, or the emulated
// device): the same Engine contract as Model, the same flat layout, so
// checkpoints, resharding, the optimizer and the all-reduce do not know
// which one runs. Params and Grads live on the host (in the device's
// staging memory: page-locked on a GPU) and are the truth: a pass copies
// each bucket of Params to the device after its WaitParams, and each
// bucket of Grads back to the host as soon as backward has finished it,
// before its GradReady, so the ring reduces one bucket while the device
// works on the next. Kinds: mlp (the feed-forward network with ReLU), cnn
// (dev_cnn.go), layers of linear, conv2d, maxpool, relu and flatten
// layers (dev_layers.go), transformer (dev_transformer.go), lstm and gru
// (dev_rnn.go).
// DeviceOptimizer (devoptim.go) runs an optimizer's update of a shard of
// Params on the same device.
//
// A DeviceModel is not safe for concurrent use.
type DeviceModel struct {
	spec   Spec
	batch  int
	layout []Tensor
	dev    device.Device
	host   []byte    // HostAlloc'd: params then grads
	params []float32 // views of host
	grads  []float32
	dp, dg device.Buffer // the device's parameters and gradients
	layers []devLayer
	train  *devPass // buffers for batch samples
	eval   *devPass // buffers for evalChunk samples (built on first use)
	chunk  int
	bounds []int
	closed bool
	copies CopyStats
}

// CopyStats are the host↔device copies of a DeviceModel's passes so far:
// parameters in, gradients out (time spent waiting for them, bytes).
type CopyStats struct {
	ParamsIn, GradsOut         time.Duration
	ParamBytesIn, GradBytesOut int64
}

// Copies returns the copy statistics of every pass so far.
func (m *DeviceModel) Copies() CopyStats { return m.copies }

// devPass are the device buffers of a pass over n samples: the input,
// the labels, every layer's output (acts[i] is layer i's), the gradient
// of every layer's output, the per-row losses and correct flags, and their
// host copies.
type devPass struct {
	n                   int
	x, y                device.Buffer
	acts, dacts         []device.Buffer
	scratch             [][]device.Buffer // per layer (devLayer.scratch)
	loss, correct       device.Buffer
	hostLoss, hostRight []float32
}

// NewDeviceModel builds the model on dev for batch samples per step; it
// takes ownership of nothing (close dev after the model). A layers network
// with layer types other than linear, conv2d, maxpool, relu and flatten is
// refused with ErrSpec naming the layer.
func NewDeviceModel(spec Spec, batch int, dev device.Device) (*DeviceModel, error) {
	if err := spec.validateFields(); err != nil {
		return nil, err
	}
	if batch < 1 || batch > MaxDim {
		return nil, fmt.Errorf("%w: batch = %d, want 1..%d", ErrInput, batch, MaxDim)
	}
	spec = spec.clone()
	layout, total, err := layoutOf(spec)
	if err != nil {
		return nil, err
	}
	layers, err := devLayers(spec, layout)
	if err != nil {
		return nil, err
	}
	m := &DeviceModel{spec: spec, batch: batch, layout: layout, layers: layers, dev: dev, chunk: max(DefaultEvalChunk, batch), bounds: []int{0, total}}
	if err := m.alloc(total); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	return m, nil
}

// alloc allocates the host and device buffers.
func (m *DeviceModel) alloc(total int) error {
	var err error
	if m.host, err = m.dev.HostAlloc(8 * total); err != nil {
		return fmt.Errorf("model: %s: staging memory: %w", m.dev.Name(), err)
	}
	all := device.Float32s(m.host)
	m.params, m.grads = all[:total:total], all[total:]
	clear(all)
	if m.dp, err = m.dev.Alloc(4 * total); err != nil {
		return fmt.Errorf("model: %s: parameters: %w", m.dev.Name(), err)
	}
	if m.dg, err = m.dev.Alloc(4 * total); err != nil {
		return fmt.Errorf("model: %s: gradients: %w", m.dev.Name(), err)
	}
	m.train, err = m.newPass(m.batch)
	return err
}

// newPass allocates the buffers of a pass over n samples.
func (m *DeviceModel) newPass(n int) (*devPass, error) {
	rows := n * m.spec.Targets()
	p := &devPass{n: n, hostLoss: make([]float32, rows), hostRight: make([]float32, rows)}
	alloc := func(dst *device.Buffer, floats int) error {
		var err error
		if *dst, err = m.dev.Alloc(4 * floats); err != nil {
			return fmt.Errorf("model: %s: activations for %d samples: %w", m.dev.Name(), n, err)
		}
		return nil
	}
	errs := []error{alloc(&p.x, n*m.spec.InputSize()), alloc(&p.y, rows), alloc(&p.loss, rows), alloc(&p.correct, rows)}
	p.acts = make([]device.Buffer, len(m.layers))
	p.dacts = make([]device.Buffer, len(m.layers))
	p.scratch = make([][]device.Buffer, len(m.layers))
	for i, l := range m.layers {
		errs = append(errs, alloc(&p.acts[i], n*l.outPer()), alloc(&p.dacts[i], n*l.outPer()))
		for _, size := range l.scratch(n) {
			var b device.Buffer
			errs = append(errs, alloc(&b, size))
			p.scratch[i] = append(p.scratch[i], b)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, m.freePass(p))
	}
	return p, nil
}

// freePass releases a pass's device buffers.
func (m *DeviceModel) freePass(p *devPass) error {
	if p == nil {
		return nil
	}
	var errs []error
	all := append([]device.Buffer{p.x, p.y, p.loss, p.correct}, append(p.acts, p.dacts...)...)
	for _, s := range p.scratch {
		all = append(all, s...)
	}
	for _, b := range all {
		if b.Bytes > 0 {
			errs = append(errs, m.dev.Free(b))
		}
	}
	return errors.Join(errs...)
}

// Device is the device the model runs on.
func (m *DeviceModel) Device() device.Device { return m.dev }

// Spec returns a copy of the model's spec.
func (m *DeviceModel) Spec() Spec { return m.spec.clone() }

// Batch is the number of samples ForwardBackwardWith takes.
func (m *DeviceModel) Batch() int { return m.batch }

// Layout returns a copy of the parameter layout.
func (m *DeviceModel) Layout() []Tensor { return cloneLayout(m.layout) }

// Params is the host's flat parameter buffer (the truth: copied to the
// device by every pass). Copy into it; do not replace it.
func (m *DeviceModel) Params() []float32 { return m.params }

// paramsOnDevice is the device's copy of the parameters (what the last
// pass uploaded; DeviceOptimizer updates its shard in place), or
// ErrClosed after Close.
func (m *DeviceModel) paramsOnDevice() (device.Buffer, error) {
	if m.closed {
		return device.Buffer{}, ErrClosed
	}
	return m.dp, nil
}

// Grads is the host's flat gradient buffer, written by every pass.
func (m *DeviceModel) Grads() []float32 { return m.grads }

// SetBucketBytes splits the buffers into buckets of at most n bytes, as
// Model.SetBucketBytes does.
func (m *DeviceModel) SetBucketBytes(n int) {
	m.bounds = planBuckets(m.layout, func(t Tensor) bool { return len(t.Shape) == 2 }, n/4)
}

// Buckets are the ranges Hooks name by index (see Model.Buckets).
func (m *DeviceModel) Buckets() []Range { return rangesOf(m.bounds) }

// Close frees the device and staging buffers (not the device itself).
// Params and Grads stay readable (copied to ordinary memory first); every
// other call returns ErrClosed. Close is idempotent.
func (m *DeviceModel) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	errs := []error{m.freePass(m.train), m.freePass(m.eval)}
	for _, b := range []device.Buffer{m.dp, m.dg} {
		if b.Bytes > 0 {
			errs = append(errs, m.dev.Free(b))
		}
	}
	m.params, m.grads = slices.Clone(m.params), slices.Clone(m.grads)
	if m.host != nil {
		errs = append(errs, m.dev.HostFree(m.host))
	}
	m.train, m.eval, m.host = nil, nil, nil
	return errors.Join(errs...)
}
