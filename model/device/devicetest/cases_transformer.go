package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ringtrain/ringtrain/model/device"
)

// The transformer's kernels (kernels/transformer.ptx). Those without an
// approximate instruction must agree bit for bit; the GELU and the
// softmax (ex2.approx) within a few ulps.

// tfmRowShapes are (rows, cols) across the kernels' block edge of 128
// threads.
func tfmRowShapes() [][2]int {
	return [][2]int{{1, 1}, {3, 16}, {17, 5}, {128, 3}, {130, 7}, {5, 64}}
}

// tfmEmbedCases: (rows, t, dim, vocab) with repeated tokens, and ids
// outside the vocabulary (NaN rows).
func tfmEmbedCases() []kcase {
	var cs []kcase
	for _, s := range [][4]int{{1, 1, 1, 1}, {8, 4, 5, 7}, {130, 8, 3, 11}, {33, 33, 16, 5}} {
		for _, bad := range []bool{false, true} {
			rows, t, dim, vocab := s[0], s[1], s[2], s[3]
			shape := fmt.Sprintf("rows%d_t%d_dim%d_vocab%d_bad%v", rows, t, dim, vocab, bad)
			r := rng("tfm_embed " + shape)
			ids := tokenIDs(r, rows, vocab, bad)
			tok, pos := normals(r, vocab*dim, 1), normals(r, t*dim, 1)
			cs = append(cs, kcase{
				kernel: "tfm_embed", shape: shape,
				bufs: []*buffer{{name: "ids", data: ids}, {name: "tok", data: tok}, {name: "pos", data: pos},
					{name: "out", data: nans(rows * dim), tol: filled(rows*dim, 0)}},
				launch: func(d device.Device, v []device.Buffer) error {
					return device.TfmEmbed(d, rows, t, dim, vocab, v[0], v[1], v[2], v[3])
				},
			})
		}
	}
	return cs
}

// lnStats are the rows' mean and 1/sqrt(var + 1e-5) in float64, rounded
// (inputs of the backward kernels).
func lnStats(x []float32, rows, dim int) (mean, rstd []float32) {
	mean, rstd = make([]float32, rows), make([]float32, rows)
	for r := range rows {
		var s, q float64
		for _, v := range x[r*dim : (r+1)*dim] {
			s += float64(v)
		}
		m := s / float64(dim)
		for _, v := range x[r*dim : (r+1)*dim] {
			q += (float64(v) - m) * (float64(v) - m)
		}
		mean[r], rstd[r] = float32(m), float32(1/math.Sqrt(q/float64(dim)+1e-5))
	}
	return mean, rstd
}

// orNone is b, or the zero Buffer when !use.
func orNone(b device.Buffer, use bool) device.Buffer {
	if use {
		return b
	}
	return device.Buffer{}
}

// tfmLayerNormCases: the row shapes with and without bias; a row of
// equal values (variance 0) and rows with an offset.
func tfmLayerNormCases() []kcase {
	var cs []kcase
	for _, s := range tfmRowShapes() {
		for _, bias := range []bool{false, true} {
			rows, dim := s[0], s[1]
			shape := fmt.Sprintf("rows%d_dim%d_bias%v", rows, dim, bias)
			r := rng("tfm_layernorm " + shape)
			x := normals(r, rows*dim, 2)
			for j := range dim {
				x[j] = 0.75 // row 0 constant
			}
			for i := dim; i < rows*dim; i++ {
				x[i] += float32(i / dim % 3) // offsets
			}
			w, b := normals(r, dim, 1), normals(r, dim, 1)
			cs = append(cs, kcase{
				kernel: "tfm_layernorm", shape: shape,
				bufs: []*buffer{{name: "x", data: x}, {name: "w", data: w}, {name: "b", data: b},
					{name: "y", data: nans(rows * dim), tol: filled(rows*dim, 0)},
					{name: "mean", data: nans(rows), tol: filled(rows, 0)}, {name: "rstd", data: nans(rows), tol: filled(rows, 0)}},
				launch: func(d device.Device, v []device.Buffer) error {
					return device.TfmLayerNorm(d, rows, dim, v[0], v[1], orNone(v[2], bias), v[3], v[4], v[5])
				},
			})
		}
	}
	return cs
}

// tfmLayerNormDxCases: the row shapes without res, with res, and with res
// the output itself (in place).
func tfmLayerNormDxCases() []kcase {
	var cs []kcase
	for _, s := range tfmRowShapes() {
		for _, mode := range []string{"nores", "res", "inplace"} {
			rows, dim := s[0], s[1]
			shape := fmt.Sprintf("rows%d_dim%d_%s", rows, dim, mode)
			r := rng("tfm_layernorm_dx " + shape)
			x, w, g := normals(r, rows*dim, 2), normals(r, dim, 1), normals(r, rows*dim, 1)
			mean, rstd := lnStats(x, rows, dim)
			res, dx := normals(r, rows*dim, 1), nans(rows*dim)
			if mode == "inplace" {
				dx = res
			}
			cs = append(cs, kcase{
				kernel: "tfm_layernorm_dx", shape: shape,
				bufs: []*buffer{{name: "x", data: x}, {name: "w", data: w}, {name: "g", data: g}, {name: "mean", data: mean},
					{name: "rstd", data: rstd}, {name: "res", data: res}, {name: "dx", data: dx, tol: filled(rows*dim, 0)}},
				launch: func(d device.Device, v []device.Buffer) error {
					res := orNone(v[5], mode == "res")
					if mode == "inplace" {
						res = v[6]
					}
					return device.TfmLayerNormDx(d, rows, dim, v[0], v[1], v[2], v[3], v[4], res, v[6])
				},
			})
		}
	}
	return cs
}

// tfmLayerNormDwbCases: the row shapes (and many rows) with and without
// bias, beta 0 over NaNs and beta ≠ 0.
func tfmLayerNormDwbCases() []kcase {
	var cs []kcase
	for _, s := range append(tfmRowShapes(), [2]int{1000, 3}) {
		for _, bias := range []bool{false, true} {
			for _, beta := range []float32{0, 1} {
				rows, dim := s[0], s[1]
				shape := fmt.Sprintf("rows%d_dim%d_bias%v_beta%g", rows, dim, bias, beta)
				r := rng("tfm_layernorm_dwb " + shape)
				x, g := normals(r, rows*dim, 2), normals(r, rows*dim, 1)
				mean, rstd := lnStats(x, rows, dim)
				dw, db := nans(dim), nans(dim)
				if beta != 0 {
					dw, db = normals(r, dim, 1), normals(r, dim, 1)
				}
				dbTol := filled(dim, 0)
				if !bias {
					dbTol = filled(dim, -1) // not written
				}
				cs = append(cs, kcase{
					kernel: "tfm_layernorm_dwb", shape: shape,
					bufs: []*buffer{{name: "x", data: x}, {name: "g", data: g}, {name: "mean", data: mean}, {name: "rstd", data: rstd},
						{name: "dw", data: dw, tol: filled(dim, 0)}, {name: "db", data: db, tol: dbTol}},
					launch: func(d device.Device, v []device.Buffer) error {
						return device.TfmLayerNormDwb(d, rows, dim, v[0], v[1], v[2], v[3], beta, v[4], orNone(v[5], bias))
					},
				})
			}
		}
	}
	return cs
}

// geluInputs are n pre-activations: normals of spread 3 with zeros, -0,
// ±infinities, NaN and large magnitudes mixed in.
func geluInputs(r *rand.Rand, n int) []float32 {
	z := normals(r, n, 3)
	for i := range z {
		switch i % 29 {
		case 3:
			z[i] = 0
		case 7:
			z[i] = float32(math.Copysign(0, -1))
		case 11:
			z[i] = float32(math.Inf(1 - 2*(i%2)))
		case 13:
			z[i] = float32(math.NaN())
		case 17:
			z[i] = float32(12 * (1 - 2*(i%2)))
		}
	}
	return z
}

// geluTol is the tolerance of a GELU result of magnitude about |z|+1
// (ex2.approx is within a few ulps on a GPU).
func geluTol(z []float32) []float64 {
	tol := make([]float64, len(z))
	for i, v := range z {
		tol[i] = 4e-6 * (1 + math.Abs(float64(v)))
	}
	return tol
}

// tfmBiasGeluCases: the row shapes (and more elements than a block) with
// and without bias.
func tfmBiasGeluCases() []kcase {
	var cs []kcase
	for _, s := range append(tfmRowShapes(), [2]int{40, 33}) {
		for _, bias := range []bool{false, true} {
			rows, cols := s[0], s[1]
			shape := fmt.Sprintf("rows%d_cols%d_bias%v", rows, cols, bias)
			r := rng("tfm_bias_gelu " + shape)
			z, b := geluInputs(r, rows*cols), normals(r, cols, 0.5)
			zTol := filled(rows*cols, 0)
			cs = append(cs, kcase{
				kernel: "tfm_bias_gelu", shape: shape,
				bufs: []*buffer{{name: "z", data: z, tol: zTol}, {name: "bias", data: b},
					{name: "y", data: nans(rows * cols), tol: geluTol(z)}},
				launch: func(d device.Device, v []device.Buffer) error {
					return device.TfmBiasGelu(d, rows, cols, v[0], orNone(v[1], bias), v[2])
				},
			})
		}
	}
	return cs
}

// tfmGeluGradCases: n across the block edge.
func tfmGeluGradCases() []kcase {
	var cs []kcase
	for _, n := range []int{1, 29, 128, 129, 1000} {
		shape := fmt.Sprintf("n%d", n)
		r := rng("tfm_gelu_grad " + shape)
		z, dy := geluInputs(r, n), normals(r, n, 1)
		tol := make([]float64, n)
		for i := range tol {
			tol[i] = 4e-6 * (1 + math.Abs(float64(dy[i])))
		}
		cs = append(cs, kcase{
			kernel: "tfm_gelu_grad", shape: shape,
			bufs: []*buffer{{name: "z", data: z}, {name: "dy", data: dy, tol: tol}},
			launch: func(d device.Device, v []device.Buffer) error {
				return device.TfmGeluGrad(d, n, v[0], v[1])
			},
		})
	}
	return cs
}

// softmaxShapes are (rows, t): several samples of t queries.
func softmaxShapes() [][2]int { return [][2]int{{1, 1}, {8, 8}, {24, 8}, {130, 5}, {64, 32}} }

// tfmCausalSoftmaxCases: scores of spread 3 (some rows with large equal
// values), into a separate p and in place.
func tfmCausalSoftmaxCases() []kcase {
	var cs []kcase
	for _, s := range softmaxShapes() {
		for _, inPlace := range []bool{false, true} {
			rows, t := s[0], s[1]
			shape := fmt.Sprintf("rows%d_t%d_inplace%v", rows, t, inPlace)
			r := rng("tfm_causal_softmax " + shape)
			sc := normals(r, rows*t, 3)
			for j := range t {
				sc[(rows-1)*t+j] = 80 // a row of equal large scores
			}
			scale := float32(1 / math.Sqrt(float64(1+r.IntN(16))))
			bufs := []*buffer{{name: "s", data: sc}, {name: "p", data: nans(rows * t), tol: filled(rows*t, 1e-6)}}
			if inPlace {
				bufs = []*buffer{{name: "s", data: sc, tol: filled(rows*t, 1e-6)}}
			}
			cs = append(cs, kcase{
				kernel: "tfm_causal_softmax", shape: shape, bufs: bufs,
				launch: func(d device.Device, v []device.Buffer) error {
					return device.TfmCausalSoftmax(d, rows, t, scale, v[0], v[len(v)-1])
				},
			})
		}
	}
	return cs
}

// causalProbs are rows×t softmax weights of random scores (0 after each
// row's query).
func causalProbs(r *rand.Rand, rows, t int) []float32 {
	p := make([]float32, rows*t)
	for row := range rows {
		i := row % t
		var sum float64
		e := make([]float64, i+1)
		for j := range e {
			e[j] = math.Exp(r.NormFloat64())
			sum += e[j]
		}
		for j := range e {
			p[row*t+j] = float32(e[j] / sum)
		}
	}
	return p
}

// tfmCausalSoftmaxGradCases: the softmax shapes, d with NaN past each
// row's query (the kernel must overwrite it without reading).
func tfmCausalSoftmaxGradCases() []kcase {
	var cs []kcase
	for _, s := range softmaxShapes() {
		rows, t := s[0], s[1]
		shape := fmt.Sprintf("rows%d_t%d", rows, t)
		r := rng("tfm_causal_softmax_grad " + shape)
		p, d := causalProbs(r, rows, t), normals(r, rows*t, 1)
		for row := range rows {
			for j := row%t + 1; j < t; j++ {
				d[row*t+j] = float32(math.NaN())
			}
		}
		scale := float32(0.5)
		cs = append(cs, kcase{
			kernel: "tfm_causal_softmax_grad", shape: shape,
			bufs: []*buffer{{name: "p", data: p}, {name: "d", data: d, tol: filled(rows*t, 0)}},
			launch: func(dev device.Device, v []device.Buffer) error {
				return device.TfmCausalSoftmaxGrad(dev, rows, t, scale, v[0], v[1])
			},
		})
	}
	return cs
}

// tfmDropoutCases: n across the block edge, probabilities 0.1 and 0.5,
// keys with both halves set, into y and in place; x has infinities (×0
// is NaN) and -0.
func tfmDropoutCases() []kcase {
	var cs []kcase
	for _, n := range []int{1, 127, 128, 1000} {
		for _, p := range []float64{0.1, 0.5} {
			for _, inPlace := range []bool{false, true} {
				shape := fmt.Sprintf("n%d_p%g_inplace%v", n, p, inPlace)
				r := rng("tfm_dropout " + shape)
				key := r.Uint64()
				thr, scale := uint32(p*(1<<32)), float32(1/(1-p))
				x := normals(r, n, 1)
				for i := range x {
					switch i % 31 {
					case 5:
						x[i] = float32(math.Inf(1))
					case 9:
						x[i] = float32(math.Copysign(0, -1))
					}
				}
				bufs := []*buffer{{name: "x", data: x}, {name: "y", data: nans(n), tol: filled(n, 0)}}
				if inPlace {
					bufs = []*buffer{{name: "x", data: x, tol: filled(n, 0)}}
				}
				cs = append(cs, kcase{
					kernel: "tfm_dropout", shape: shape, bufs: bufs,
					launch: func(d device.Device, v []device.Buffer) error {
						return device.TfmDropout(d, n, key, thr, scale, v[0], v[len(v)-1])
					},
				})
			}
		}
	}
	return cs
}

// tfmAddCases: n across the block edge, into y and into a.
func tfmAddCases() []kcase {
	var cs []kcase
	for _, n := range []int{1, 127, 129, 1000} {
		for _, inPlace := range []bool{false, true} {
			shape := fmt.Sprintf("n%d_inplace%v", n, inPlace)
			r := rng("tfm_add " + shape)
			a, b := normals(r, n, 1), normals(r, n, 1)
			bufs := []*buffer{{name: "a", data: a}, {name: "b", data: b}, {name: "y", data: nans(n), tol: filled(n, 0)}}
			if inPlace {
				bufs = []*buffer{{name: "a", data: a, tol: filled(n, 0)}, {name: "b", data: b}}
			}
			cs = append(cs, kcase{
				kernel: "tfm_add", shape: shape, bufs: bufs,
				launch: func(d device.Device, v []device.Buffer) error {
					y := v[0]
					if !inPlace {
						y = v[2]
					}
					return device.TfmAdd(d, n, v[0], v[1], y)
				},
			})
		}
	}
	return cs
}
