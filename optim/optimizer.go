package optim

import "fmt"

// State is a named view of one optimizer state slice, as long as the shard.
type State struct {
	Name string
	Data []float32
}

// Optimizer updates one contiguous shard of parameters in place.
type Optimizer interface {
	// Step updates params in place from grads (both exactly Len() long)
	// with learning rate lr. It allocates nothing. Mismatched lengths are a
	// caller bug and panic with both lengths named.
	Step(params, grads []float32, lr float32)
	// Len is the shard length the optimizer was built for.
	Len() int
	// State returns the state slices (views, stable order); writing into
	// them restores a checkpoint.
	State() []State
	// Steps is the number of Step calls so far (Adam's bias correction).
	Steps() int64
	// SetSteps restores the step count; negative values are stored as 0.
	SetSteps(int64)
	// SetNoDecay exempts ranges of the shard from weight decay (see
	// base.SetNoDecay).
	SetNoDecay(ranges [][2]int) error
}

// New returns the optimizer described by spec (after WithDefaults) for a
// shard of n >= 0 elements. All state is allocated here, zeroed.
func New(spec Spec, n int) (Optimizer, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("optim: shard length %d: want >= 0", n)
	}
	s := spec.WithDefaults()
	b := base{n: n}
	switch s.Name {
	case NameSGD:
		o := &sgd{base: b, mu: s.Momentum, wd: s.WeightDecay, nesterov: s.Nesterov}
		if s.Momentum > 0 {
			o.buf = make([]float32, n)
		}
		return o, nil
	case NameAdam, NameAdamW:
		o := &adam{base: b, b1: s.Beta1, b2: s.Beta2, eps: s.Eps, m: make([]float32, n), v: make([]float32, n)}
		if s.Name == NameAdamW {
			o.decoupledWD = s.WeightDecay
		} else {
			o.l2 = s.WeightDecay
		}
		return o, nil
	case NameAdagrad:
		return &adagrad{base: b, eps: s.Eps, wd: s.WeightDecay, sum: make([]float32, n)}, nil
	case NameRMSprop:
		return &rmsprop{base: b, alpha: s.Alpha, eps: s.Eps, wd: s.WeightDecay, sq: make([]float32, n)}, nil
	}
	// Unreachable: Validate accepted the name.
	return nil, fmt.Errorf("optim: Name %q: no such optimizer", s.Name)
}

// base carries what every optimizer shares: the shard length and the step
// count.
type base struct {
	n     int
	steps int64
	segs  []segment // weight decay on or off per run of the shard (SetNoDecay)
}

func (b *base) Len() int         { return b.n }
func (b *base) Steps() int64     { return b.steps }
func (b *base) SetSteps(t int64) { b.steps = max(t, 0) }

// begin checks the slice lengths and counts the step.
func (b *base) begin(params, grads []float32) {
	if len(params) != b.n || len(grads) != b.n {
		panic(fmt.Sprintf("optim: Step: len(params) %d, len(grads) %d: want both %d (Len)", len(params), len(grads), b.n))
	}
	b.steps++
}
