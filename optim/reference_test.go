package optim

import "math"

// refOptimizer is the dumb reference: a literal transcription of the
// algorithm boxes of the PyTorch documentation for torch.optim.SGD, Adam,
// AdamW, Adagrad and RMSprop, computed in float64. Parameters and state are
// stored as float32 between steps, as the API dictates (State is []float32,
// like torch's state for float32 parameters); keeping the state in float64
// instead drifts ~1e-6 from any float32 implementation over a few dozen
// momentum steps. It shares no code with the package.
type refOptimizer struct {
	s    Spec // with defaults applied
	t    int
	buf  []float32 // sgd momentum_buffer
	m, v []float32 // adam exp_avg, exp_avg_sq
	sum  []float32 // adagrad state_sum
	sq   []float32 // rmsprop square_avg
}

func newRef(s Spec, n int) *refOptimizer {
	return &refOptimizer{
		s: s.WithDefaults(), buf: make([]float32, n), m: make([]float32, n),
		v: make([]float32, n), sum: make([]float32, n), sq: make([]float32, n),
	}
}

func (r *refOptimizer) step(params, grads []float32, lr32 float32) {
	r.t++
	lr, lambda := float64(lr32), r.s.WeightDecay
	for i := range params {
		theta, g := float64(params[i]), float64(grads[i])
		switch r.s.Name {
		case "sgd":
			if lambda != 0 {
				g = g + lambda*theta
			}
			if mu := r.s.Momentum; mu != 0 {
				b := g
				if r.t > 1 {
					b = mu*float64(r.buf[i]) + g // dampening 0
				}
				r.buf[i] = float32(b)
				if r.s.Nesterov {
					g = g + mu*b
				} else {
					g = b
				}
			}
			theta = theta - lr*g
		case "adam", "adamw":
			if r.s.Name == "adamw" {
				theta = theta - lr*lambda*theta
			} else if lambda != 0 {
				g = g + lambda*theta
			}
			b1, b2 := r.s.Beta1, r.s.Beta2
			m := b1*float64(r.m[i]) + (1-b1)*g
			v := b2*float64(r.v[i]) + (1-b2)*g*g
			r.m[i], r.v[i] = float32(m), float32(v)
			mHat := m / (1 - math.Pow(b1, float64(r.t)))
			vHat := v / (1 - math.Pow(b2, float64(r.t)))
			theta = theta - lr*mHat/(math.Sqrt(vHat)+r.s.Eps)
		case "adagrad":
			if lambda != 0 {
				g = g + lambda*theta
			}
			sum := float64(r.sum[i]) + g*g
			r.sum[i] = float32(sum)
			theta = theta - lr*g/(math.Sqrt(sum)+r.s.Eps)
		case "rmsprop":
			if lambda != 0 {
				g = g + lambda*theta
			}
			alpha := r.s.Alpha
			sq := alpha*float64(r.sq[i]) + (1-alpha)*g*g
			r.sq[i] = float32(sq)
			theta = theta - lr*g/(math.Sqrt(sq)+r.s.Eps)
		default:
			panic("reference: unknown optimizer " + r.s.Name)
		}
		params[i] = float32(theta)
	}
}
