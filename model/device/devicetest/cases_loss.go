package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ringtrain/ringtrain/model/device"
)

// lossShapes are the rows×cols of the per-row loss cases (columns across
// the 128 threads of a row's block).
func lossShapes() [][2]int {
	return [][2]int{{1, 1}, {1, 2}, {3, 15}, {4, 16}, {5, 17}, {2, 127}, {2, 128}, {2, 129}, {3, 300}, {17, 10}, {16, 100}, {64, 10}}
}

// lossVariant is how a loss case's inputs are drawn.
type lossVariant string

const (
	lossNormal  lossVariant = "normal"    // softmax: N(0, 3²) logits; mse: U[0, 1) outputs
	lossLarge   lossVariant = "large"     // values of magnitude up to 80
	lossTies    lossVariant = "ties"      // several columns hold the row's maximum
	lossBadLabs lossVariant = "badlabels" // labels outside [0, cols)
)

// lossInputs draws a rows×cols matrix and labels for variant v. Labels
// are, by row: 0, cols−1, the row's first argmax, random (in ties rows:
// a later column holding the maximum when there is one); for badlabels
// -1, cols, 1<<30 and a valid one.
func lossInputs(r *rand.Rand, rows, cols int, v lossVariant, probs bool) ([]float32, []int32) {
	x := make([]float32, rows*cols)
	for i := range x {
		switch {
		case v == lossLarge:
			x[i] = float32(160*r.Float64() - 80)
		case probs:
			x[i] = float32(r.Float64())
		default:
			x[i] = float32(3 * r.NormFloat64())
		}
	}
	labels := make([]int32, rows)
	for row := range rows {
		xr := x[row*cols : (row+1)*cols]
		var tied []int
		if v == lossTies && cols > 1 {
			m := xr[0]
			for _, e := range xr {
				m = max(m, e)
			}
			m++
			for c := range xr {
				if c == 0 && row%2 == 0 || c == cols-1 && row%3 == 0 || r.IntN(4) == 0 {
					xr[c] = m
					tied = append(tied, c)
				}
			}
		}
		first := 0
		for c, e := range xr {
			if e > xr[first] {
				first = c
			}
		}
		switch row % 4 {
		case 0:
			labels[row] = 0
		case 1:
			labels[row] = int32(cols - 1)
		case 2:
			labels[row] = int32(first)
		default:
			labels[row] = int32(r.IntN(cols))
			if len(tied) > 1 {
				labels[row] = int32(tied[1])
			}
		}
		if v == lossBadLabs && row%4 != 3 {
			labels[row] = []int32{-1, int32(cols), 1 << 30}[row%4]
		}
	}
	return x, labels
}

// lossCases builds the cases of a per-row loss kernel; ref returns the
// float64 reference loss and grad of a row (to size the tolerances).
//
// Besides the typed launches (block 0) it runs two shapes on blocks of 1
// and 33 threads through raw launches (the trees for any block size).
func lossCases(kernel string, probs bool, launch func(d device.Device, rows, cols int, scale float32, v []device.Buffer) error,
	gradTol func(scale float32, cols int, ref float64) float64,
	ref func(x []float32, label int32, scale float32) (loss float64, grad []float64)) []kcase {
	type run struct {
		shape   [2]int
		variant lossVariant
		block   int
	}
	var runs []run
	for _, s := range lossShapes() {
		for _, v := range []lossVariant{lossNormal, lossLarge, lossTies, lossBadLabs} {
			if v != lossBadLabs || s[1] == 17 || s[1] == 129 {
				runs = append(runs, run{s, v, 0})
			}
		}
	}
	for _, block := range []int{1, 33} {
		runs = append(runs, run{[2]int{5, 17}, lossTies, block}, run{[2]int{2, 129}, lossLarge, block})
	}
	var cs []kcase
	for _, ru := range runs {
		rows, cols, v, block := ru.shape[0], ru.shape[1], ru.variant, ru.block
		shape := fmt.Sprintf("rows%d_cols%d_%s", rows, cols, v)
		if block != 0 {
			shape += fmt.Sprintf("_block%d", block)
		}
		r := rng(kernel + " " + shape)
		x, labels := lossInputs(r, rows, cols, v, probs)
		scale := float32(1 / float64(rows))
		if v == lossTies {
			scale = -2
		}
		lossTol, gTol := make([]float64, rows), make([]float64, rows*cols)
		for row := range rows {
			loss, grad := ref(x[row*cols:(row+1)*cols], labels[row], scale)
			if !math.IsNaN(loss) {
				lossTol[row] = 1e-5 * math.Max(1, math.Abs(loss))
			}
			for c, g := range grad {
				gTol[row*cols+c] = gradTol(scale, cols, g)
			}
		}
		cs = append(cs, kcase{
			kernel: kernel, shape: shape,
			bufs: []*buffer{
				{name: "x", data: x},
				{name: "labels", data: label32(labels)},
				{name: "grad", data: nans(rows * cols), tol: gTol},
				{name: "loss", data: nans(rows), tol: lossTol},
				{name: "correct", data: nans(rows), tol: filled(rows, 0)},
			},
			launch: func(d device.Device, v []device.Buffer) error {
				if block != 0 {
					return d.Launch(kernel, device.D1(rows), device.D1(block), device.I32(rows), device.I32(cols), v[0], v[1], device.F32(scale), v[2], v[3], v[4])
				}
				return launch(d, rows, cols, scale, v)
			},
		})
	}
	return cs
}

// softmaxXentCases: every loss shape and variant of softmax_xent.
func softmaxXentCases() []kcase {
	return lossCases("softmax_xent", false,
		func(d device.Device, rows, cols int, scale float32, v []device.Buffer) error {
			return device.SoftmaxXent(d, rows, cols, v[0], v[1], scale, v[2], v[3], v[4])
		},
		func(scale float32, _ int, _ float64) float64 { return 1e-5 * math.Abs(float64(scale)) },
		func(x []float32, label int32, scale float32) (float64, []float64) {
			m := math.Inf(-1)
			for _, e := range x {
				m = math.Max(m, float64(e))
			}
			s := 0.0
			for _, e := range x {
				s += math.Exp(float64(e) - m)
			}
			grad := make([]float64, len(x))
			for c, e := range x {
				grad[c] = float64(scale) * math.Exp(float64(e)-m) / s
			}
			if label < 0 || int(label) >= len(x) {
				return math.NaN(), grad
			}
			grad[label] -= float64(scale)
			return math.Log(s) - (float64(x[label]) - m), grad
		})
}

// mseLossCases: every loss shape and variant of mse_loss.
func mseLossCases() []kcase {
	return lossCases("mse_loss", true,
		func(d device.Device, rows, cols int, scale float32, v []device.Buffer) error {
			return device.MSELoss(d, rows, cols, v[0], v[1], scale, v[2], v[3], v[4])
		},
		func(scale float32, cols int, ref float64) float64 {
			return 1e-5 * (math.Abs(ref) + math.Abs(float64(scale))/float64(cols))
		},
		func(x []float32, label int32, scale float32) (float64, []float64) {
			s := 0.0
			grad := make([]float64, len(x))
			for c, e := range x {
				d := float64(e)
				if int32(c) == label {
					d--
				}
				s += d * d
				grad[c] = float64(scale) * 2 * d / float64(len(x))
			}
			return s / float64(len(x)), grad
		})
}
