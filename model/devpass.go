package model

import (
	"fmt"
	"time"

	"github.com/ringtrain/ringtrain/model/device"
)

// ForwardBackwardWith runs one training pass on the device with the
// options of p (see Model.ForwardBackwardWith): Grads (on the host) is
// overwritten, or accumulated into when p.Accumulate (the accumulation
// happens on the device, so the host's Grads must not be changed between
// the passes of one accumulation), and the mean loss is returned.
func (m *DeviceModel) ForwardBackwardWith(x []float32, y []int32, p Pass) (float32, error) {
	if m.closed {
		return 0, ErrClosed
	}
	if len(y) != m.batch*m.spec.Targets() {
		return 0, fmt.Errorf("%w: ForwardBackward got %d labels, want %d (batch %d x %d per sample)", ErrInput, len(y), m.batch*m.spec.Targets(), m.batch, m.spec.Targets())
	}
	if err := checkSamples(m.spec, "ForwardBackward", x, y); err != nil {
		return 0, err
	}
	if p.GradScale == 0 {
		p.GradScale = 1
	}
	if err := m.pushParams(p.Hooks); err != nil {
		return 0, err
	}
	ps := m.train
	if err := m.forward(ps, x, y, devCtx{seed: p.Seed, training: true}); err != nil {
		return 0, err
	}
	rows := ps.n * m.spec.Targets()
	if err := m.lossOf(ps, p.GradScale/float32(rows)); err != nil {
		return 0, err
	}
	if err := m.backward(ps, p); err != nil {
		return 0, err
	}
	if err := device.Download(m.dev, ps.hostLoss, ps.loss); err != nil {
		return 0, m.fail("loss", err)
	}
	var sum float64
	for _, v := range ps.hostLoss {
		sum += float64(v)
	}
	return float32(sum / float64(rows)), nil
}

// fail wraps a device error with what the model was doing.
func (m *DeviceModel) fail(what string, err error) error {
	return fmt.Errorf("%w: %s: %s: %w", ErrBackend, m.dev.Name(), what, err)
}

// pushParams copies Params to the device bucket by bucket, each after its
// WaitParams.
func (m *DeviceModel) pushParams(h Hooks) error {
	for b := range len(m.bounds) - 1 {
		if h.WaitParams != nil {
			h.WaitParams(b)
		}
		lo, hi := m.bounds[b], m.bounds[b+1]
		t := time.Now()
		if err := device.Upload(m.dev, m.dp.F32(lo, hi), m.params[lo:hi]); err != nil {
			return m.fail("copying parameters", err)
		}
		m.copies.ParamsIn += time.Since(t)
		m.copies.ParamBytesIn += int64(4 * (hi - lo))
	}
	return nil
}

// forward uploads n samples and runs the layers (c says whether this is
// a training pass and its seed; forward fills in the rest).
func (m *DeviceModel) forward(ps *devPass, x []float32, y []int32, c devCtx) error {
	if err := device.Upload(m.dev, ps.x, x); err != nil {
		return m.fail("copying the batch", err)
	}
	if err := device.Upload(m.dev, ps.y, y); err != nil {
		return m.fail("copying the labels", err)
	}
	c.dev, c.dp, c.dg = m.dev, m.dp, m.dg
	in := ps.x
	for i, l := range m.layers {
		if err := l.forward(c, in, ps.acts[i], ps.n, ps.scratch[i]); err != nil {
			return m.fail(fmt.Sprintf("layer %d", i), err)
		}
		in = ps.acts[i]
	}
	return nil
}

// lossOf computes the per-label losses and correct flags of the last
// layer's output (Targets rows of Classes values per sample) and the
// gradient of scale × the summed loss into the last dacts.
func (m *DeviceModel) lossOf(ps *devPass, scale float32) error {
	last := len(m.layers) - 1
	classes := m.spec.Classes
	f := device.SoftmaxXent
	if m.spec.Loss == LossMSE {
		f = device.MSELoss
	}
	if err := f(m.dev, ps.n*m.spec.Targets(), classes, ps.acts[last], ps.y, scale, ps.dacts[last], ps.loss, ps.correct); err != nil {
		return m.fail("loss", err)
	}
	return nil
}

// backward runs the layers backwards from the loss's gradient, each
// writing its parameters' gradients (accumulated when p.Accumulate) and
// the gradient of its input. As soon as a layer is done, the buckets it
// completes are copied to the host's Grads and announced.
func (m *DeviceModel) backward(ps *devPass, p Pass) error {
	beta := float32(0)
	if p.Accumulate {
		beta = 1
	}
	c := devCtx{dev: m.dev, dp: m.dp, dg: m.dg, seed: p.Seed, training: true}
	next := len(m.bounds) - 2 // the highest bucket not yet copied
	for i := len(m.layers) - 1; i >= 0; i-- {
		l := m.layers[i]
		in, din := ps.x, device.Buffer{}
		if i > 0 {
			in, din = ps.acts[i-1], ps.dacts[i-1]
		}
		if err := l.backward(c, in, ps.acts[i], ps.dacts[i], din, ps.n, ps.scratch[i], beta); err != nil {
			return m.fail(fmt.Sprintf("layer %d backward", i), err)
		}
		if lo := l.paramLo(); lo >= 0 {
			for ; next >= 0 && m.bounds[next] >= lo; next-- {
				if err := m.pullGrads(next, p.Hooks); err != nil {
					return err
				}
			}
		}
	}
	for ; next >= 0; next-- { // buckets below every layer's parameters (none today)
		if err := m.pullGrads(next, p.Hooks); err != nil {
			return err
		}
	}
	return nil
}

// pullGrads copies bucket b of the gradients to the host and announces it.
func (m *DeviceModel) pullGrads(b int, h Hooks) error {
	lo, hi := m.bounds[b], m.bounds[b+1]
	t := time.Now()
	if err := device.Download(m.dev, m.grads[lo:hi], m.dg.F32(lo, hi)); err != nil {
		return m.fail("copying gradients", err)
	}
	m.copies.GradsOut += time.Since(t)
	m.copies.GradBytesOut += int64(4 * (hi - lo))
	if h.GradReady != nil {
		h.GradReady(b)
	}
	return nil
}

// Evaluate runs the forward pass on any number of samples in chunks of
// max(256, Batch()) and returns the sum of the per-label losses (the
// device's float32 per-label losses, summed in float64) and the number of
// labels the first argmax output equals (per sample for a classifier, per
// position for a sequence model). It reads Params as they
// are now (copied to the device first).
func (m *DeviceModel) Evaluate(x []float32, y []int32) (lossSum float64, correct int, err error) {
	if m.closed {
		return 0, 0, ErrClosed
	}
	if err := checkSamples(m.spec, "Evaluate", x, y); err != nil {
		return 0, 0, err
	}
	per := m.spec.Targets()
	n := len(y) / per
	if n == 0 {
		return 0, 0, nil
	}
	if err := m.pushParams(Hooks{}); err != nil {
		return 0, 0, err
	}
	if m.eval == nil {
		if m.eval, err = m.newPass(m.chunk); err != nil {
			return 0, 0, err
		}
	}
	in := m.spec.InputSize()
	for start := 0; start < n; start += m.chunk {
		k := min(m.chunk, n-start)
		ps := *m.eval // the chunk's first k rows of the eval buffers
		ps.n = k
		if err := m.forward(&ps, x[start*in:(start+k)*in], y[start*per:(start+k)*per], devCtx{}); err != nil {
			return 0, 0, err
		}
		if err := m.lossOf(&ps, 0); err != nil {
			return 0, 0, err
		}
		rows := k * per
		if err := device.Download(m.dev, ps.hostLoss[:rows], ps.loss); err != nil {
			return 0, 0, m.fail("losses", err)
		}
		if err := device.Download(m.dev, ps.hostRight[:rows], ps.correct); err != nil {
			return 0, 0, m.fail("predictions", err)
		}
		for i := range rows {
			lossSum += float64(ps.hostLoss[i])
			correct += int(ps.hostRight[i])
		}
	}
	return lossSum, correct, nil
}
