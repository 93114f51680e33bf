package model_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// refNet is a dumb float64 forward pass written with plain loops over the
// flat parameter buffer, following the documented Layout: fc weights are
// [in, out] (y = x·W + b), conv weights [out, in, 5, 5].
type refNet struct {
	spec   model.Spec
	params []float32
	layout map[string]model.Tensor
}

func newRefNet(t *testing.T, spec model.Spec, params []float32) *refNet {
	t.Helper()
	layout, _, err := model.Layout(spec)
	if err != nil {
		t.Fatal(err)
	}
	r := &refNet{spec: spec, params: params, layout: map[string]model.Tensor{}}
	for _, ts := range layout {
		r.layout[ts.Name] = ts
	}
	return r
}

func (r *refNet) tensor(name string) []float64 {
	ts := r.layout[name]
	out := make([]float64, ts.Size())
	for i := range out {
		out[i] = float64(r.params[ts.Offset+i])
	}
	return out
}

// logits of one sample.
func (r *refNet) logits(x []float32) []float64 {
	h := make([]float64, len(x))
	for i, v := range x {
		h[i] = float64(v)
	}
	if r.spec.Kind == "cnn" {
		c, hh, ww := r.spec.Input[0], r.spec.Input[1], r.spec.Input[2]
		h, c, hh, ww = r.convBlock(h, c, hh, ww, "conv0", 2)
		h, _, _, _ = r.convBlock(h, c, hh, ww, "conv1", 0)
	}
	for i := 0; ; i++ {
		w := r.layout[fcName(i, "weight")]
		if w.Name == "" {
			return h
		}
		in, out := w.Shape[0], w.Shape[1]
		W, b := r.tensor(w.Name), r.tensor(fcName(i, "bias"))
		next := make([]float64, out)
		for o := range out {
			s := b[o]
			for k := range in {
				s += h[k] * W[k*out+o]
			}
			next[o] = s
		}
		if r.layout[fcName(i+1, "weight")].Name != "" { // not the output layer
			for o := range next {
				next[o] = math.Max(next[o], 0)
			}
		}
		h = next
	}
}

// convBlock is conv5x5(pad) + bias → ReLU → maxpool 2x2/2 on a [c, hh, ww]
// feature map, returning the new map and its shape.
func (r *refNet) convBlock(in []float64, c, hh, ww int, name string, pad int) ([]float64, int, int, int) {
	w := r.layout[name+".weight"]
	oc := w.Shape[0]
	W, b := r.tensor(name+".weight"), r.tensor(name+".bias")
	oh, ow := hh+2*pad-4, ww+2*pad-4
	conv := make([]float64, oc*oh*ow)
	for o := range oc {
		for y := range oh {
			for x := range ow {
				s := b[o]
				for ci := range c {
					for ky := range 5 {
						for kx := range 5 {
							iy, ix := y+ky-pad, x+kx-pad
							if iy < 0 || ix < 0 || iy >= hh || ix >= ww {
								continue
							}
							s += in[(ci*hh+iy)*ww+ix] * W[((o*c+ci)*5+ky)*5+kx]
						}
					}
				}
				conv[(o*oh+y)*ow+x] = math.Max(s, 0)
			}
		}
	}
	ph, pw := oh/2, ow/2
	pool := make([]float64, oc*ph*pw)
	for o := range oc {
		for y := range ph {
			for x := range pw {
				m := math.Inf(-1)
				for dy := range 2 {
					for dx := range 2 {
						m = math.Max(m, conv[(o*oh+2*y+dy)*ow+2*x+dx])
					}
				}
				pool[(o*ph+y)*pw+x] = m
			}
		}
	}
	return pool, oc, ph, pw
}

func fcName(i int, what string) string {
	return fmt.Sprintf("fc%d.%s", i, what)
}

// loss of one sample from its logits, as documented.
func refLoss(loss string, logits []float64, label int) float64 {
	if loss == "mse" {
		var s float64
		for c, v := range logits {
			if c == label {
				v--
			}
			s += v * v
		}
		return s / float64(len(logits))
	}
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, v)
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(v - m)
	}
	return m + math.Log(s) - logits[label]
}

// TestAgainstReference compares ForwardBackward's mean loss and
// Evaluate's loss sum and correct count with the dumb float64 reference.
func TestAgainstReference(t *testing.T) {
	tests := []struct {
		name string
		spec model.Spec
		n    int // samples for Evaluate (crosses a chunk boundary for the mlp)
	}{
		{"mlp/xent", model.Spec{Kind: "mlp", Hidden: []int{16, 8}, Input: []int{3, 4}, Classes: 5, Loss: "xent"}, 300},
		{"mlp/mse", model.Spec{Kind: "mlp", Hidden: []int{16, 8}, Input: []int{3, 4}, Classes: 5, Loss: "mse"}, 300},
		{"mlp/no-hidden", model.Spec{Kind: "mlp", Input: []int{7}, Classes: 2, Loss: "xent"}, 20},
		{"cnn/xent", model.Spec{Kind: "cnn", Hidden: []int{10}, Input: []int{2, 13, 14}, Classes: 4, Loss: "xent"}, 20},
		{"cnn/mse", model.Spec{Kind: "cnn", Hidden: []int{10}, Input: []int{1, 12, 12}, Classes: 4, Loss: "mse"}, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const batch = 8
			m := newModel(t, tc.spec, batch, 3)
			// Non-zero biases so the reference checks them too.
			r := rng(4)
			for _, ts := range m.Layout() {
				if len(ts.Shape) == 1 {
					for i := ts.Offset; i < ts.Offset+ts.Size(); i++ {
						m.Params()[i] = 0.2 * r.uniform()
					}
				}
			}
			ref := newRefNet(t, tc.spec, m.Params())
			in := tc.spec.InputSize()
			x, y := randomBatch(tc.spec, tc.n, 9)

			var refSum float64
			refCorrect := 0
			losses := make([]float64, tc.n)
			for i := range tc.n {
				lg := ref.logits(x[i*in : (i+1)*in])
				losses[i] = refLoss(tc.spec.Loss, lg, int(y[i]))
				refSum += losses[i]
				best := 0
				for c := range lg {
					if lg[c] > lg[best] {
						best = c
					}
				}
				if best == int(y[i]) {
					refCorrect++
				}
			}
			sum, correct, err := m.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(sum-refSum) > 1e-5*math.Abs(refSum) {
				t.Errorf("Evaluate loss sum %v, reference %v", sum, refSum)
			}
			if correct != refCorrect {
				t.Errorf("Evaluate correct %d, reference %d", correct, refCorrect)
			}

			l, err := m.ForwardBackward(x[:batch*in], y[:batch])
			if err != nil {
				t.Fatal(err)
			}
			var refMean float64
			for _, v := range losses[:batch] {
				refMean += v / batch
			}
			if math.Abs(float64(l)-refMean) > 1e-5*math.Max(1, refMean) {
				t.Errorf("ForwardBackward loss %v, reference %v", l, refMean)
			}
			t.Logf("mean loss %.6f (ref %.6f), eval sum %.6f (ref %.6f), correct %d/%d", l, refMean, sum, refSum, correct, tc.n)
		})
	}
}
