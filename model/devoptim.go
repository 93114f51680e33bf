package model

import (
	"errors"
	"fmt"

	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/optim"
)

// DeviceOptimizer is an optim.Optimizer whose update runs on the device of
// a DeviceModel, over the shard [lo, hi) of its flat parameters: the
// kernels of device.OptimSGD, OptimAdam, OptimAdagrad and OptimRMSprop,
// with the coefficients optim computes for the step (optim.Planner), so
// the results equal the host optimizer's (optim.New) bitwise on the
// emulated device and the PTX interpreter, and on a GPU as far as its
// float32 operations are IEEE (they are all .rn).
//
// The state (one device buffer per entry of optim.New(spec, hi-lo).State(),
// the same names in the same order) lives on the device. Step(params,
// grads, lr) copies params and grads (the shard: both hi-lo long) to the
// device — params into the model's device copy of [lo, hi), which the
// last pass uploaded already, so that the host stays the truth as for the
// DeviceModel's passes — runs one launch per run of the shard (a run
// exempt from weight decay is a launch with decay 0), and copies the
// updated parameters back into params.
//
// State protocol: State returns host mirrors filled from the device by
// that call (views, stable order). Callers may write into them to restore
// a checkpoint (as with the host's optimizers): the next Step uploads the
// mirrors to the device before it updates, so checkpoints are
// interchangeable between CPU and GPU workers. Steps, SetSteps,
// SetNoDecay and Len are those of the host optimizer.
//
// Failures: Step and State have no error result (optim.Optimizer); a
// device failure is kept, Err returns the first, and every later Step
// does nothing (the parameters of the failed step may be partly
// updated, the step is not counted): check Err after Step and State.
//
// Release: Close frees the device buffers (the state stays readable
// through State, copied to the host first); the optimizer is not tied
// to the DeviceModel's Close, so close it before the model's device.
// Step after the DeviceModel's Close fails with ErrClosed.
//
// A DeviceOptimizer is not safe for concurrent use, nor for use
// concurrently with the model's passes. Unlike the host's optimizers,
// Step may allocate.
type DeviceOptimizer struct {
	m      *DeviceModel
	dev    device.Device
	host   optim.Optimizer // steps, no-decay runs, coefficients, and the state's host mirrors
	plan   optim.Planner
	lo, hi int
	g      device.Buffer   // the gradient shard
	state  []device.Buffer // per host.State() entry
	dirty  bool            // State handed out the mirrors: upload them before the next update
	runs   []optim.Run     // reused by Plan
	err    error
	closed bool
}

var _ optim.Optimizer = (*DeviceOptimizer)(nil)

// NewDeviceOptimizer returns the optimizer of spec for the shard [lo, hi)
// of m's parameters (0 <= lo <= hi <= len(m.Params())), its state zeroed
// on m's device.
func NewDeviceOptimizer(m *DeviceModel, spec optim.Spec, lo, hi int) (*DeviceOptimizer, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: device optimizer: no model", ErrInput)
	}
	if m.closed {
		return nil, ErrClosed
	}
	if lo < 0 || hi < lo || hi > len(m.params) {
		return nil, fmt.Errorf("%w: device optimizer: shard [%d, %d) of %d parameters", ErrInput, lo, hi, len(m.params))
	}
	host, err := optim.New(spec, hi-lo)
	if err != nil {
		return nil, fmt.Errorf("model: device optimizer: %w", err)
	}
	plan, ok := host.(optim.Planner)
	if !ok { // every optimizer of optim.New is a Planner
		return nil, fmt.Errorf("%w: device optimizer: optimizer %q cannot describe its steps", ErrInput, spec.Name)
	}
	o := &DeviceOptimizer{m: m, dev: m.dev, host: host, plan: plan, lo: lo, hi: hi}
	if hi == lo {
		return o, nil
	}
	alloc := func(what string) (device.Buffer, error) {
		b, err := o.dev.Alloc(4 * (hi - lo))
		if err != nil {
			return b, fmt.Errorf("model: %s: device optimizer %s: %w", o.dev.Name(), what, err)
		}
		return b, nil
	}
	if o.g, err = alloc("gradients"); err != nil {
		return nil, err
	}
	for _, st := range host.State() {
		b, err := alloc("state " + st.Name)
		if err != nil {
			return nil, errors.Join(err, o.free())
		}
		o.state = append(o.state, b)
	}
	return o, nil
}

// Len is the shard length hi - lo.
func (o *DeviceOptimizer) Len() int { return o.host.Len() }

// Steps is the number of steps so far.
func (o *DeviceOptimizer) Steps() int64 { return o.host.Steps() }

// SetSteps restores the step count; negative values are stored as 0.
func (o *DeviceOptimizer) SetSteps(t int64) { o.host.SetSteps(t) }

// SetNoDecay exempts ranges of the shard from weight decay, as the host
// optimizer's.
func (o *DeviceOptimizer) SetNoDecay(ranges [][2]int) error { return o.host.SetNoDecay(ranges) }

// Err is the first device failure of Step, State or Close (nil if none).
func (o *DeviceOptimizer) Err() error { return o.err }

func (o *DeviceOptimizer) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// Step updates params (the shard's values, Len() long) on the device from
// grads with learning rate lr and copies them back; see the type's doc.
// Mismatched lengths panic naming both, as the host's optimizers do.
func (o *DeviceOptimizer) Step(params, grads []float32, lr float32) {
	n := o.hi - o.lo
	if len(params) != n || len(grads) != n {
		panic(fmt.Sprintf("model: DeviceOptimizer.Step: len(params) %d, len(grads) %d: want both %d (Len)", len(params), len(grads), n))
	}
	if o.err != nil {
		return
	}
	if err := o.step(params, grads, lr); err != nil {
		o.fail(fmt.Errorf("model: device optimizer step %d: %w", o.host.Steps()+1, err))
		return
	}
	o.host.SetSteps(o.host.Steps() + 1)
}

func (o *DeviceOptimizer) step(params, grads []float32, lr float32) error {
	if o.closed {
		return ErrClosed
	}
	dp, err := o.m.paramsOnDevice()
	if err != nil {
		return err
	}
	o.runs = o.plan.Plan(lr, o.runs[:0])
	if o.hi == o.lo {
		return nil
	}
	if o.dirty {
		for i, st := range o.host.State() {
			if err := device.Upload(o.dev, o.state[i], st.Data); err != nil {
				return fmt.Errorf("upload of state %s: %w", st.Name, err)
			}
		}
		o.dirty = false
	}
	p := dp.F32(o.lo, o.hi)
	if err := device.Upload(o.dev, p, params); err != nil {
		return fmt.Errorf("upload of the parameters: %w", err)
	}
	if err := device.Upload(o.dev, o.g, grads); err != nil {
		return fmt.Errorf("upload of the gradients: %w", err)
	}
	for _, r := range o.runs {
		if err := o.launch(r, p.F32(r.Lo, r.Hi), o.g.F32(r.Lo, r.Hi)); err != nil {
			return err
		}
	}
	if err := o.dev.Sync(); err != nil {
		return err
	}
	if err := device.Download(o.dev, params, p); err != nil {
		return fmt.Errorf("download of the parameters: %w", err)
	}
	return nil
}

// launch runs the update of run r over its views p and g of the shard.
func (o *DeviceOptimizer) launch(r optim.Run, p, g device.Buffer) error {
	n, k := r.Hi-r.Lo, r.Coeffs
	st := func(i int) device.Buffer { return o.state[i].F32(r.Lo, r.Hi) }
	switch k.Rule {
	case optim.RuleSGD:
		return device.OptimSGD(o.dev, n, device.SGDPlain, k.WD, k.LR, k.Mu, p, g, device.Buffer{})
	case optim.RuleMomentum:
		return device.OptimSGD(o.dev, n, device.SGDMomentum, k.WD, k.LR, k.Mu, p, g, st(0))
	case optim.RuleNesterov:
		return device.OptimSGD(o.dev, n, device.SGDNesterov, k.WD, k.LR, k.Mu, p, g, st(0))
	case optim.RuleAdam:
		c := device.AdamCoeffs{WD: k.WD, Decay: k.Decay, B1: k.B1, C1: k.C1, B2: k.B2, C2: k.C2, InvBC2: k.InvBC2, Eps: k.Eps, StepSize: k.StepSize}
		return device.OptimAdam(o.dev, n, c, p, g, st(0), st(1))
	case optim.RuleAdagrad:
		return device.OptimAdagrad(o.dev, n, k.WD, k.LR, k.Eps, p, g, st(0))
	case optim.RuleRMSprop:
		return device.OptimRMSprop(o.dev, n, k.WD, k.LR, k.Eps, k.Alpha, k.C, p, g, st(0))
	}
	return fmt.Errorf("%w: device optimizer: no kernel for rule %d", ErrInput, k.Rule)
}

// State returns the host mirrors of the state, filled from the device
// (see the type's doc: writing into them restores a checkpoint at the
// next Step). A failed copy leaves the mirrors stale and is reported by
// Err.
func (o *DeviceOptimizer) State() []optim.State {
	sts := o.host.State()
	if o.closed || o.hi == o.lo {
		return sts
	}
	if !o.dirty {
		if err := o.download(sts); err != nil {
			o.fail(fmt.Errorf("model: device optimizer state: %w", err))
		}
	}
	o.dirty = true
	return sts
}

// download copies the device's state into the mirrors sts.
func (o *DeviceOptimizer) download(sts []optim.State) error {
	if err := o.dev.Sync(); err != nil {
		return err
	}
	for i, st := range sts {
		if err := device.Download(o.dev, st.Data, o.state[i]); err != nil {
			return fmt.Errorf("download of %s: %w", st.Name, err)
		}
	}
	return nil
}

// Close copies the state to the host mirrors (State stays readable) and
// frees the device buffers. Close is idempotent; Step afterwards fails
// with ErrClosed.
func (o *DeviceOptimizer) Close() error {
	if o.closed {
		return nil
	}
	var err error
	if o.hi > o.lo && !o.dirty {
		err = o.download(o.host.State())
	}
	o.closed = true
	if err = errors.Join(err, o.free()); err != nil {
		err = fmt.Errorf("model: device optimizer close: %w", err)
		o.fail(err)
	}
	return err
}

// free releases the device buffers.
func (o *DeviceOptimizer) free() error {
	var errs []error
	for _, b := range append([]device.Buffer{o.g}, o.state...) {
		if b.Bytes > 0 {
			errs = append(errs, o.dev.Free(b))
		}
	}
	o.g, o.state = device.Buffer{}, nil
	return errors.Join(errs...)
}
