package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// kernelValue draws an input for the kernel comparison: mostly ordinary
// values of assorted magnitudes, sometimes a zero of either sign, a
// subnormal, a huge value, an infinity or a NaN.
func kernelValue(rng *rand.Rand) float32 {
	switch rng.IntN(20) {
	case 0:
		return 0
	case 1:
		return float32(math.Copysign(0, -1))
	case 2:
		return float32(rng.NormFloat64()) * 1e-40 // subnormal
	case 3:
		return float32(rng.NormFloat64()) * 1e30
	case 4:
		return float32(math.Inf(1 - 2*rng.IntN(2)))
	case 5:
		return float32(math.NaN())
	}
	return float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-6)))
}

// sameBits reports whether a and b are the same float32, counting any two
// NaNs as the same: which NaN payload survives an operation on two NaNs
// depends on operand order, which the compiler may swap.
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// kernelCase runs one kernel pair on p, g and the state slices: the
// dispatching update when fast is true, else the portable Go loop.
type kernelCase struct {
	name   string
	states int
	run    func(fast bool, p, g []float32, st [][]float32, rng *rand.Rand)
}

// kernelCases draw their coefficients from rng (the same draws for both
// runs: the caller hands each run a generator in the same state).
var kernelCases = []kernelCase{
	{"sgd", 0, func(fast bool, p, g []float32, _ [][]float32, rng *rand.Rand) {
		k := sgdCoeffs{wd: float32(rng.Float64()) * 0.01, lr: float32(rng.Float64())}
		if fast {
			sgdUpdate(p, g, &k)
		} else {
			sgdGo(p, g, &k)
		}
	}},
	{"momentum", 1, func(fast bool, p, g []float32, st [][]float32, rng *rand.Rand) {
		k := sgdCoeffs{wd: float32(rng.Float64()) * 0.01, lr: float32(rng.Float64()), mu: float32(rng.Float64())}
		if fast {
			momentumUpdate(p, g, st[0], &k)
		} else {
			momentumGo(p, g, st[0], &k)
		}
	}},
	{"nesterov", 1, func(fast bool, p, g []float32, st [][]float32, rng *rand.Rand) {
		k := sgdCoeffs{wd: float32(rng.Float64()) * 0.01, lr: float32(rng.Float64()), mu: float32(rng.Float64())}
		if fast {
			nesterovUpdate(p, g, st[0], &k)
		} else {
			nesterovGo(p, g, st[0], &k)
		}
	}},
	{"adam", 2, func(fast bool, p, g []float32, st [][]float32, rng *rand.Rand) {
		k := adamCoeffs{
			l2: float32(rng.Float64()) * 0.1, decay: 1 - float32(rng.Float64())*0.01,
			b1: 0.9, c1: 0.1, b2: 0.999, c2: float32(1 - 0.999),
			invBC2: 1 + float32(rng.Float64())*30, eps: 1e-8, stepSize: float32(rng.Float64()),
		}
		if rng.IntN(3) == 0 {
			k.l2, k.decay = 0, 1
		}
		if fast {
			adamUpdate(p, g, st[0], st[1], &k)
		} else {
			adamGo(p, g, st[0], st[1], &k)
		}
	}},
	{"adagrad", 1, func(fast bool, p, g []float32, st [][]float32, rng *rand.Rand) {
		k := rootCoeffs{wd: float32(rng.Float64()) * 0.01, lr: float32(rng.Float64()), eps: 1e-10}
		if fast {
			adagradUpdate(p, g, st[0], &k)
		} else {
			adagradGo(p, g, st[0], &k)
		}
	}},
	{"rmsprop", 1, func(fast bool, p, g []float32, st [][]float32, rng *rand.Rand) {
		k := rootCoeffs{wd: float32(rng.Float64()) * 0.01, lr: float32(rng.Float64()), eps: 1e-8, alpha: 0.99, c: float32(1 - 0.99)}
		if fast {
			rmspropUpdate(p, g, st[0], &k)
		} else {
			rmspropGo(p, g, st[0], &k)
		}
	}},
}

// TestKernelsMatchGo: the dispatching update (SSE for the first len&^3
// elements on amd64, the Go loop for the rest) gives bitwise the results
// of the portable Go loop alone, for every length up to 67 and one of
// several kernel calls' worth, every offset 0-3 into the slices (so any
// alignment), ordinary and special
// inputs, and assorted coefficients. Non-amd64 or purego builds compare the
// Go loop with itself.
func TestKernelsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	fill := func(n int, nonNeg bool) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = kernelValue(rng)
			if nonNeg { // second moments and sums of squares are >= 0
				x[i] = float32(math.Abs(float64(x[i])))
			}
		}
		return x
	}
	clone := func(x []float32) []float32 { return append([]float32(nil), x...) }
	lengths := make([]int, 0, 69)
	for n := 0; n <= 67; n++ {
		lengths = append(lengths, n)
	}
	for _, kc := range kernelCases {
		for trial := range 40 {
			if trial == 0 {
				lengths = append(lengths, 1<<17+7) // several kernel calls on amd64
			} else if trial == 1 {
				lengths = lengths[:68]
			}
			for _, n := range lengths {
				off := (trial + n) % 4
				p, g := fill(n+off, false), fill(n+off, false)
				st := make([][]float32, kc.states)
				for j := range st {
					st[j] = fill(n+off, j == kc.states-1 && kc.name != "momentum" && kc.name != "nesterov")
				}
				seed := rng.Uint64()
				runOn := func(fast bool) ([]float32, [][]float32) {
					pc, sc := clone(p), make([][]float32, len(st))
					views := make([][]float32, len(st))
					for j := range st {
						sc[j] = clone(st[j])
						views[j] = sc[j][off:]
					}
					kc.run(fast, pc[off:], clone(g)[off:], views, rand.New(rand.NewPCG(seed, 0)))
					return pc, sc
				}
				pw, sw := runOn(false)
				pf, sf := runOn(true)
				check := func(what string, got, want []float32) {
					t.Helper()
					for i := range want {
						if !sameBits(got[i], want[i]) {
							t.Fatalf("%s %s, len %d, offset %d: element %d = %v (%#x), Go loop %v (%#x)",
								kc.name, what, n, off, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
						}
					}
				}
				check("params", pf, pw)
				for j := range sw {
					check("state", sf[j], sw[j])
				}
			}
		}
	}
}
