package devicetest

import (
	"fmt"
	"math"

	"github.com/ringtrain/ringtrain/model/device"
)

// acts are the activations the elementwise cases run (ActNone, ActReLU).
func acts() []device.Act { return []device.Act{device.ActNone, device.ActReLU} }

func actName(a device.Act) string {
	if a == device.ActReLU {
		return "relu"
	}
	return "none"
}

// biasActCases: rows×cols shapes across block edges, both activations;
// y holds values whose sum with the bias is exactly 0 or -0, infinities
// and a NaN, which ReLU must map to +0 (v > 0 ? v : 0).
func biasActCases() []kcase {
	var cs []kcase
	for _, s := range [][2]int{{1, 1}, {1, 100}, {15, 17}, {16, 16}, {33, 31}, {100, 64}, {7, 300}, {3, 257}} {
		for _, act := range acts() {
			rows, cols := s[0], s[1]
			shape := fmt.Sprintf("rows%d_cols%d_%s", rows, cols, actName(act))
			r := rng("bias_act " + shape)
			bias := normals(r, cols, 1)
			for c := range bias {
				if c%5 == 0 {
					bias[c] = float32(math.Copysign(0, -1))
				}
			}
			y := normals(r, rows*cols, 2)
			for i := range y {
				switch c := i % cols; {
				case i%7 == 0:
					y[i] = -bias[c] // y + bias = +0, or -0 + -0 = -0
				case i%11 == 0:
					y[i] = float32(math.Copysign(0, -1)) // -0 + bias; -0 + -0 = -0
				case i%13 == 0:
					y[i] = float32(math.Inf(1 - 2*(i%2)))
				case i%17 == 3:
					y[i] = float32(math.NaN())
				}
			}
			cs = append(cs, kcase{
				kernel: "bias_act", shape: shape,
				bufs: []*buffer{{name: "y", data: y, tol: filled(len(y), 0)}, {name: "bias", data: bias}},
				launch: func(d device.Device, v []device.Buffer) error {
					return device.BiasAct(d, rows, cols, act, v[0], v[1])
				},
			})
		}
	}
	return cs
}

// actGradCases: n across block edges, both activations; y holds +0, -0,
// negatives and a NaN (ReLU's gradient is 0 there).
func actGradCases() []kcase {
	var cs []kcase
	for _, n := range []int{1, 15, 16, 17, 255, 256, 257, 1000} {
		for _, act := range acts() {
			shape := fmt.Sprintf("n%d_%s", n, actName(act))
			r := rng("act_grad " + shape)
			y := normals(r, n, 1)
			for i := range y {
				switch {
				case i%5 == 0:
					y[i] = 0
				case i%7 == 0:
					y[i] = float32(math.Copysign(0, -1))
				case i%23 == 4:
					y[i] = float32(math.NaN())
				}
			}
			dy := normals(r, n, 1)
			cs = append(cs, kcase{
				kernel: "act_grad", shape: shape,
				bufs: []*buffer{{name: "y", data: y}, {name: "dy", data: dy, tol: filled(n, 0)}},
				launch: func(d device.Device, v []device.Buffer) error {
					return device.ActGrad(d, n, act, v[0], v[1])
				},
			})
		}
	}
	return cs
}

// colSumCases: rows×cols shapes (rows past one block's 256 threads),
// beta 0 over a NaN-poisoned out, beta ≠ 0, alpha ≠ 1; and, through raw
// launches, blocks of 1 and 100 threads (the tree for any block size).
func colSumCases() []kcase {
	var cs []kcase
	shapes := [][2]int{{1, 1}, {1, 17}, {15, 16}, {17, 1}, {31, 33}, {256, 3}, {257, 5}, {300, 2}, {100, 64}, {1000, 3}}
	for _, s := range shapes {
		for _, ab := range [][2]float32{{1, 0}, {-0.5, 1}, {2, 0.25}} {
			cs = append(cs, colSumCase(s[0], s[1], ab[0], ab[1], 0))
		}
	}
	for _, block := range []int{1, 100} {
		cs = append(cs, colSumCase(257, 5, -0.5, 1, block), colSumCase(31, 33, 1, 0, block))
	}
	return cs
}

// colSumCase is one col_sum case; block 0 launches through ColSum, any
// other block size through a raw launch of one block per column.
func colSumCase(rows, cols int, alpha, beta float32, block int) kcase {
	return blockSumCase("col_sum", rows, cols, alpha, beta, block, false)
}

// blockSumCase is a case of col_sum (byRow false: out[c] sums column c)
// or chan_sum (byRow: out[r] sums row r) on a rows×cols x; block 0
// launches through the typed launch, any other block size through a raw
// launch of one block per output.
func blockSumCase(kernel string, rows, cols int, alpha, beta float32, block int, byRow bool) kcase {
	shape := fmt.Sprintf("rows%d_cols%d_alpha%g_beta%g", rows, cols, alpha, beta)
	if block != 0 {
		shape += fmt.Sprintf("_block%d", block)
	}
	outs, inner := cols, rows
	at := func(o, i int) int { return i*cols + o }
	if byRow {
		outs, inner = rows, cols
		at = func(o, i int) int { return o*cols + i }
	}
	r := rng(kernel + " " + shape)
	x := normals(r, rows*cols, 1)
	out := nans(outs)
	if beta != 0 {
		out = normals(r, outs, 1)
	}
	tol := make([]float64, outs)
	for o := range outs {
		s := 0.0
		for i := range inner {
			s += math.Abs(float64(x[at(o, i)]))
		}
		bo := 0.0
		if beta != 0 {
			bo = math.Abs(float64(beta) * float64(out[o]))
		}
		tol[o] = 1e-5 * (1 + math.Abs(float64(alpha))*s + bo)
	}
	return kcase{
		kernel: kernel, shape: shape,
		bufs: []*buffer{{name: "x", data: x}, {name: "out", data: out, tol: tol}},
		launch: func(d device.Device, v []device.Buffer) error {
			switch {
			case block != 0:
				return d.Launch(kernel, device.D1(outs), device.D1(block), device.I32(rows), device.I32(cols), v[0], device.F32(alpha), device.F32(beta), v[1])
			case byRow:
				return device.ChanSum(d, rows, cols, v[0], alpha, beta, v[1])
			}
			return device.ColSum(d, rows, cols, v[0], alpha, beta, v[1])
		},
	}
}
