package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ringtrain/ringtrain/model/device"
)

// convGeoms are the convolution geometries of the im2col and col2im
// cases: both layouts ([N, C, H, W] and [C, N, H, W]), padding, odd
// sizes, stride 2, a 1×1 kernel, and one past several blocks.
func convGeoms() []device.ConvGeom {
	mk := func(c, n, h, w, k, pad, stride int, nchw bool) device.ConvGeom {
		g := device.ConvGeom{C: c, N: n, H: h, W: w, K: k, Pad: pad, Stride: stride,
			OH: (h+2*pad-k)/stride + 1, OW: (w+2*pad-k)/stride + 1, CS: n * h * w, NS: h * w}
		if nchw {
			g.CS, g.NS = h*w, c*h*w
		}
		return g
	}
	return []device.ConvGeom{
		mk(1, 2, 12, 12, 5, 2, 1, true),
		mk(2, 3, 6, 7, 5, 0, 1, false),
		mk(3, 2, 9, 8, 3, 1, 2, true),
		mk(2, 2, 9, 8, 3, 2, 2, false),
		mk(2, 1, 4, 5, 1, 0, 1, false),
		mk(1, 1, 5, 5, 5, 0, 1, true),
		mk(6, 4, 10, 10, 5, 0, 1, false),
	}
}

func convName(g device.ConvGeom) string {
	layout := "cnhw"
	if g.NS == g.C*g.H*g.W && g.CS == g.H*g.W && !(g.C == 1 || g.N == 1) {
		layout = "nchw"
	}
	return fmt.Sprintf("c%d_n%d_%dx%d_k%d_pad%d_stride%d_%s", g.C, g.N, g.H, g.W, g.K, g.Pad, g.Stride, layout)
}

// span is the number of input elements g reaches.
func span(g device.ConvGeom) int { return (g.C-1)*g.CS + (g.N-1)*g.NS + g.H*g.W }

// im2colCases: every geometry, over a NaN-poisoned column buffer (every
// element must be written: the padding with 0).
func im2colCases() []kcase {
	var cs []kcase
	for _, g := range convGeoms() {
		shape := convName(g)
		r := rng("im2col " + shape)
		x := normals(r, span(g), 1)
		n := g.ColRows() * g.ColCols()
		cs = append(cs, kcase{
			kernel: "im2col", shape: shape,
			bufs: []*buffer{{name: "x", data: x}, {name: "cols", data: nans(n), tol: filled(n, 0)}},
			launch: func(d device.Device, v []device.Buffer) error {
				return device.Im2Col(d, g, v[0], v[1])
			},
		})
	}
	return cs
}

// col2imCases: every geometry, over a NaN-poisoned input gradient (every
// element is overwritten, 0 where no tap reads it: stride 2 and 1×1
// kernels leave such elements).
func col2imCases() []kcase {
	var cs []kcase
	for _, g := range convGeoms() {
		shape := convName(g)
		r := rng("col2im " + shape)
		cols := normals(r, g.ColRows()*g.ColCols(), 1)
		n := span(g)
		cs = append(cs, kcase{
			kernel: "col2im", shape: shape,
			bufs: []*buffer{{name: "cols", data: cols}, {name: "x", data: nans(n), tol: filled(n, 0)}},
			launch: func(d device.Device, v []device.Buffer) error {
				return device.Col2Im(d, g, v[0], v[1])
			},
		})
	}
	return cs
}

// poolGeoms: 2×2 windows over odd planes (the last row and column in no
// window), overlapping 3×3 windows stride 2, 2×2 stride 1, 1×1, and one
// past several blocks.
func poolGeoms() []device.PoolGeom {
	mk := func(planes, h, w, size, stride int) device.PoolGeom {
		return device.PoolGeom{Planes: planes, H: h, W: w, Size: size, Stride: stride, PH: (h-size)/stride + 1, PW: (w-size)/stride + 1}
	}
	return []device.PoolGeom{mk(3, 5, 7, 2, 2), mk(2, 7, 9, 3, 2), mk(2, 4, 5, 2, 1), mk(1, 3, 4, 1, 1), mk(48, 12, 12, 2, 2)}
}

func poolName(g device.PoolGeom) string {
	return fmt.Sprintf("planes%d_%dx%d_size%d_stride%d", g.Planes, g.H, g.W, g.Size, g.Stride)
}

// tied returns n values from a few levels (ties in most windows), -0
// next to +0, and infinities.
func tied(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		switch {
		case i%13 == 5:
			v[i] = float32(math.Copysign(0, -1))
		case i%17 == 3:
			v[i] = float32(math.Inf(1 - 2*(i%2)))
		default:
			v[i] = float32(r.IntN(4)) - 1.5
		}
	}
	return v
}

// maxpoolCases: every geometry over tied values (the first maximum
// wins), outputs NaN-poisoned.
func maxpoolCases() []kcase {
	var cs []kcase
	for _, g := range poolGeoms() {
		shape := poolName(g)
		r := rng("maxpool " + shape)
		x := tied(r, g.Planes*g.H*g.W)
		n := g.Planes * g.PH * g.PW
		cs = append(cs, kcase{
			kernel: "maxpool", shape: shape,
			bufs: []*buffer{{name: "x", data: x}, {name: "y", data: nans(n), tol: filled(n, 0)}, {name: "idx", data: nans(n), tol: filled(n, 0)}},
			launch: func(d device.Device, v []device.Buffer) error {
				return device.MaxPool(d, g, v[0], v[1], v[2])
			},
		})
	}
	return cs
}

// maxpoolGradCases: every geometry with random window positions (with
// overlapping windows an element can be the maximum of several), the
// input gradient NaN-poisoned.
func maxpoolGradCases() []kcase {
	var cs []kcase
	for _, g := range poolGeoms() {
		shape := poolName(g)
		r := rng("maxpool_grad " + shape)
		n := g.Planes * g.PH * g.PW
		dy := normals(r, n, 1)
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(r.IntN(g.Size * g.Size))
		}
		m := g.Planes * g.H * g.W
		cs = append(cs, kcase{
			kernel: "maxpool_grad", shape: shape,
			bufs: []*buffer{{name: "dy", data: dy}, {name: "idx", data: label32(idx)}, {name: "dx", data: nans(m), tol: filled(m, 0)}},
			launch: func(d device.Device, v []device.Buffer) error {
				return device.MaxPoolGrad(d, g, v[0], v[1], v[2])
			},
		})
	}
	return cs
}

// chanBiasActCases: rows×cols shapes across block edges, both
// activations, with sums of exactly ±0, infinities and NaNs.
func chanBiasActCases() []kcase {
	var cs []kcase
	for _, s := range [][2]int{{1, 1}, {6, 100}, {16, 17}, {3, 257}, {2, 300}, {100, 3}} {
		for _, act := range acts() {
			rows, cols := s[0], s[1]
			shape := fmt.Sprintf("rows%d_cols%d_%s", rows, cols, actName(act))
			r := rng("chan_bias_act " + shape)
			bias := normals(r, rows, 1)
			bias[0] = float32(math.Copysign(0, -1))
			y := normals(r, rows*cols, 2)
			for i := range y {
				switch row := i / cols; {
				case i%7 == 0:
					y[i] = -bias[row]
				case i%11 == 0:
					y[i] = float32(math.Copysign(0, -1))
				case i%13 == 0:
					y[i] = float32(math.Inf(1 - 2*(i%2)))
				case i%17 == 3:
					y[i] = float32(math.NaN())
				}
			}
			cs = append(cs, kcase{
				kernel: "chan_bias_act", shape: shape,
				bufs: []*buffer{{name: "y", data: y, tol: filled(len(y), 0)}, {name: "bias", data: bias}},
				launch: func(d device.Device, v []device.Buffer) error {
					return device.ChanBiasAct(d, rows, cols, act, v[0], v[1])
				},
			})
		}
	}
	return cs
}

// chanSumCases: rows×cols shapes (columns past one block's 256
// threads), beta 0 over a NaN-poisoned out, beta ≠ 0, alpha ≠ 1; and,
// through raw launches, blocks of 1 and 33 threads.
func chanSumCases() []kcase {
	var cs []kcase
	for _, s := range [][2]int{{1, 1}, {17, 1}, {16, 15}, {1, 17}, {6, 1000}, {3, 256}, {5, 257}, {16, 300}} {
		for _, ab := range [][2]float32{{1, 0}, {-0.5, 1}, {2, 0.25}} {
			cs = append(cs, chanSumCase(s[0], s[1], ab[0], ab[1], 0))
		}
	}
	for _, block := range []int{1, 33} {
		cs = append(cs, chanSumCase(5, 257, -0.5, 1, block), chanSumCase(6, 100, 1, 0, block))
	}
	return cs
}

// chanSumCase is one chan_sum case; block 0 launches through ChanSum,
// any other block size through a raw launch of one block per row.
func chanSumCase(rows, cols int, alpha, beta float32, block int) kcase {
	return blockSumCase("chan_sum", rows, cols, alpha, beta, block, true)
}

// swap01Cases: both directions of the cnn's flatten and shapes across
// block edges.
func swap01Cases() []kcase {
	var cs []kcase
	for _, s := range [][3]int{{1, 1, 1}, {16, 3, 5}, {3, 16, 5}, {7, 40, 13}, {1, 300, 1}, {300, 1, 2}} {
		a, b, c := s[0], s[1], s[2]
		shape := fmt.Sprintf("a%d_b%d_c%d", a, b, c)
		r := rng("swap01 " + shape)
		x := normals(r, a*b*c, 1)
		cs = append(cs, kcase{
			kernel: "swap01", shape: shape,
			bufs: []*buffer{{name: "x", data: x}, {name: "y", data: nans(a * b * c), tol: filled(a*b*c, 0)}},
			launch: func(d device.Device, v []device.Buffer) error {
				return device.Swap01(d, a, b, c, v[0], v[1])
			},
		})
	}
	return cs
}

// reluCases: n across block edges, out of place and in place; x holds
// +0, -0, infinities and NaNs (ReLU maps NaN and -0 to +0).
func reluCases() []kcase {
	var cs []kcase
	for _, n := range []int{1, 255, 256, 257, 1000} {
		for _, inPlace := range []bool{false, true} {
			shape := fmt.Sprintf("n%d_inplace%v", n, inPlace)
			r := rng("relu " + shape)
			x := normals(r, n, 1)
			for i := range x {
				switch {
				case i%5 == 0:
					x[i] = 0
				case i%7 == 0:
					x[i] = float32(math.Copysign(0, -1))
				case i%11 == 3:
					x[i] = float32(math.Inf(1 - 2*(i%2)))
				case i%23 == 4:
					x[i] = float32(math.NaN())
				}
			}
			if inPlace {
				cs = append(cs, kcase{
					kernel: "relu", shape: shape,
					bufs: []*buffer{{name: "x", data: x, tol: filled(n, 0)}},
					launch: func(d device.Device, v []device.Buffer) error {
						return device.ReLU(d, n, v[0], v[0])
					},
				})
				continue
			}
			cs = append(cs, kcase{
				kernel: "relu", shape: shape,
				bufs: []*buffer{{name: "x", data: x}, {name: "y", data: nans(n), tol: filled(n, 0)}},
				launch: func(d device.Device, v []device.Buffer) error {
					return device.ReLU(d, n, v[0], v[1])
				},
			})
		}
	}
	return cs
}
