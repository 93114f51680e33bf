package device_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// The emulated device's kernels against naive float64 references.

// emuEnv is an emulated device with helpers that fail the test on error.
type emuEnv struct {
	t testing.TB
	d *device.Emu
}

func newEmuEnv(t testing.TB) emuEnv { return emuEnv{t, device.NewEmu()} }

// put allocates and fills a buffer with vals.
func (e emuEnv) put(vals []float32) device.Buffer {
	e.t.Helper()
	b, err := e.d.Alloc(4 * max(len(vals), 1))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := device.Upload(e.d, b, vals); err != nil {
		e.t.Fatal(err)
	}
	return b.F32(0, len(vals))
}

// get reads n values of b.
func (e emuEnv) get(b device.Buffer, n int) []float32 {
	e.t.Helper()
	v := make([]float32, n)
	if err := device.Download(e.d, v, b); err != nil {
		e.t.Fatal(err)
	}
	return v
}

func randn(r *rand.Rand, n int, sd float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * sd)
	}
	return v
}

func nanFilled(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.NaN())
	}
	return v
}

func labelBits(l []int32) []float32 {
	v := make([]float32, len(l))
	for i, x := range l {
		v[i] = math.Float32frombits(uint32(x))
	}
	return v
}

func sameBits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

func TestEmuSgemmAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][3]int{{1, 1, 1}, {1, 17, 33}, {15, 16, 17}, {16, 16, 16}, {17, 31, 15}, {33, 1, 64}, {31, 33, 100}, {64, 15, 16}, {100, 33, 31}, {16, 100, 1}, {5, 7, 0}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {-0.75, 1}, {2.5, 0.5}} {
					m, n, k, alpha, beta := s[0], s[1], s[2], ab[0], ab[1]
					ar, ac, br, bc := m, k, k, n
					if ta {
						ar, ac = k, m
					}
					if tb {
						br, bc = n, k
					}
					lda, ldb, ldc := max(ac, 1)+2, max(bc, 1)+1, n+3
					a := randn(r, max((ar-1)*lda+ac, 0), 1)
					b := randn(r, max((br-1)*ldb+bc, 0), 1)
					c := randn(r, (m-1)*ldc+n, 1)
					if beta == 0 {
						c = nanFilled(len(c))
					}
					cb := e.put(c)
					if err := device.Sgemm(e.d, ta, tb, m, n, k, alpha, e.put(a), lda, e.put(b), ldb, beta, cb, ldc); err != nil {
						t.Fatalf("sgemm %v ta=%v tb=%v: %v", s, ta, tb, err)
					}
					got := e.get(cb, len(c))
					opA := func(i, kk int) float64 {
						if ta {
							return float64(a[kk*lda+i])
						}
						return float64(a[i*lda+kk])
					}
					opB := func(kk, j int) float64 {
						if tb {
							return float64(b[j*ldb+kk])
						}
						return float64(b[kk*ldb+j])
					}
					for i := range m {
						for j := range n {
							sum, abs := 0.0, 0.0
							for kk := range k {
								sum += opA(i, kk) * opB(kk, j)
								abs += math.Abs(opA(i, kk) * opB(kk, j))
							}
							want := float64(alpha) * sum
							tol := 1e-5 * (1 + math.Abs(float64(alpha))*abs)
							if beta != 0 {
								want += float64(beta) * float64(c[i*ldc+j])
								tol += 1e-5 * math.Abs(float64(beta)*float64(c[i*ldc+j]))
							}
							if g := float64(got[i*ldc+j]); !(math.Abs(g-want) <= tol) {
								t.Fatalf("sgemm M%d N%d K%d ta=%v tb=%v alpha %v beta %v: C[%d,%d] = %v, want %v ± %.2g", m, n, k, ta, tb, alpha, beta, i, j, g, want, tol)
							}
						}
						for j := n; j < ldc && i*ldc+j < len(c); j++ {
							if !sameBits(got[i*ldc+j], c[i*ldc+j]) {
								t.Fatalf("sgemm %v: wrote C's padding at [%d,%d]", s, i, j)
							}
						}
					}
				}
			}
		}
	}
}

// reluRef is the CPU path's ReLU: v > 0 ? v : 0.
func reluRef(v float32) float32 {
	if v > 0 {
		return v
	}
	return 0
}

func TestEmuBiasActAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][2]int{{1, 1}, {1, 100}, {15, 17}, {16, 16}, {33, 31}, {100, 64}, {7, 300}, {3, 257}} {
		for _, act := range []device.Act{device.ActNone, device.ActReLU, 7} {
			rows, cols := s[0], s[1]
			y, bias := randn(r, rows*cols, 2), randn(r, cols, 1)
			bias[0] = float32(math.Copysign(0, -1))
			for i := range y {
				switch {
				case i%5 == 0:
					y[i] = -bias[i%cols]
				case i%7 == 0:
					y[i] = float32(math.Copysign(0, -1))
				case i%11 == 0:
					y[i] = float32(math.NaN())
				}
			}
			yb := e.put(y)
			if err := device.BiasAct(e.d, rows, cols, act, yb, e.put(bias)); err != nil {
				t.Fatal(err)
			}
			got := e.get(yb, len(y))
			for i := range y {
				want := float32(float64(y[i]) + float64(bias[i%cols]))
				if act == device.ActReLU {
					want = reluRef(want)
				}
				if !sameBits(got[i], want) && !(got[i] != got[i] && want != want) {
					t.Fatalf("bias_act %v act %d: y[%d] = %v (%#x), want %v (%#x)", s, act, i, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
				}
			}
		}
	}
}

func TestEmuActGradAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 15, 16, 17, 255, 256, 257, 1000} {
		for _, act := range []device.Act{device.ActNone, device.ActReLU, 3} {
			y, dy := randn(r, n, 1), randn(r, n, 1)
			for i := range y {
				switch {
				case i%4 == 0:
					y[i] = 0
				case i%9 == 0:
					y[i] = float32(math.NaN())
				case i%6 == 0:
					dy[i] = float32(math.NaN())
				}
			}
			dyb := e.put(dy)
			if err := device.ActGrad(e.d, n, act, e.put(y), dyb); err != nil {
				t.Fatal(err)
			}
			got := e.get(dyb, n)
			for i := range n {
				want := dy[i]
				if act == device.ActReLU && !(y[i] > 0) {
					want = 0
				}
				if !sameBits(got[i], want) && !(got[i] != got[i] && want != want) {
					t.Fatalf("act_grad n %d act %d: dy[%d] = %v, want %v (y %v)", n, act, i, got[i], want, y[i])
				}
			}
		}
	}
}

func TestEmuColSumAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][2]int{{1, 1}, {1, 17}, {15, 16}, {17, 1}, {31, 33}, {256, 3}, {257, 5}, {1000, 3}, {0, 4}} {
		// block 0 is the typed launch (256 threads); the others run the
		// tree on blocks of other sizes through raw launches.
		for _, block := range []int{0, 1, 37, 100, 256} {
			for _, ab := range [][2]float32{{1, 0}, {-0.5, 1}} {
				rows, cols, alpha, beta := s[0], s[1], ab[0], ab[1]
				x := randn(r, max(rows*cols, 1), 1)
				out := randn(r, cols, 1)
				if beta == 0 {
					out = nanFilled(cols)
				}
				xb, ob := e.put(x), e.put(out)
				var err error
				if block == 0 {
					err = device.ColSum(e.d, rows, cols, xb, alpha, beta, ob)
				} else {
					err = e.d.Launch("col_sum", device.D1(cols), device.D1(block), device.I32(rows), device.I32(cols), xb, device.F32(alpha), device.F32(beta), ob)
				}
				if err != nil {
					t.Fatal(err)
				}
				got := e.get(ob, cols)
				for c := range cols {
					sum, abs := 0.0, 0.0
					for i := range rows {
						sum += float64(x[i*cols+c])
						abs += math.Abs(float64(x[i*cols+c]))
					}
					want := float64(alpha) * sum
					tol := 1e-5 * (1 + abs)
					if beta != 0 {
						want += float64(beta) * float64(out[c])
					}
					if g := float64(got[c]); !(math.Abs(g-want) <= tol) {
						t.Fatalf("col_sum %v block %d alpha %v beta %v: out[%d] = %v, want %v", s, block, alpha, beta, c, g, want)
					}
				}
			}
		}
	}
}

// rowInputs draws rows×cols values (magnitudes up to 80 in odd rows),
// ties of the maximum in every third row, and labels 0, cols−1, the first
// argmax, a tied later column or a random one.
func rowInputs(r *rand.Rand, rows, cols int) ([]float32, []int32) {
	x := randn(r, rows*cols, 3)
	labels := make([]int32, rows)
	for row := range rows {
		xr := x[row*cols : (row+1)*cols]
		if row%2 == 1 {
			for c := range xr {
				xr[c] = float32(160*r.Float64() - 80)
			}
		}
		var tied []int
		if row%3 == 0 && cols > 2 {
			m := xr[0]
			for _, v := range xr {
				m = max(m, v)
			}
			for c := range xr {
				if c%2 == 1 {
					xr[c] = m + 1
					tied = append(tied, c)
				}
			}
		}
		labels[row] = int32(r.IntN(cols))
		switch {
		case len(tied) > 1:
			labels[row] = int32(tied[row%2])
		case row%4 == 0:
			labels[row] = 0
		case row%4 == 1:
			labels[row] = int32(cols - 1)
		}
	}
	return x, labels
}

// firstArgmax is the first index of the row's maximum.
func firstArgmax(x []float32) int32 {
	a := 0
	for c, v := range x {
		if v > x[a] {
			a = c
		}
	}
	return int32(a)
}

// lossShapes are the rows×cols of the loss kernels' tests.
func lossShapes() [][2]int {
	return [][2]int{{1, 1}, {1, 2}, {3, 15}, {4, 16}, {5, 17}, {2, 127}, {2, 128}, {2, 129}, {3, 300}, {17, 10}, {64, 10}}
}

// runLoss launches kernel (typed if block is 0, else raw with that
// block) and returns grad, loss, correct.
func runLoss(e emuEnv, kernel string, block, rows, cols int, x []float32, labels []int32, scale float32) (grad, loss, correct []float32) {
	e.t.Helper()
	xb, lb := e.put(x), e.put(labelBits(labels))
	gb, lossb, cb := e.put(nanFilled(rows*cols)), e.put(nanFilled(rows)), e.put(nanFilled(rows))
	var err error
	switch {
	case block != 0:
		err = e.d.Launch(kernel, device.D1(rows), device.D1(block), device.I32(rows), device.I32(cols), xb, lb, device.F32(scale), gb, lossb, cb)
	case kernel == "softmax_xent":
		err = device.SoftmaxXent(e.d, rows, cols, xb, lb, scale, gb, lossb, cb)
	default:
		err = device.MSELoss(e.d, rows, cols, xb, lb, scale, gb, lossb, cb)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return e.get(gb, rows*cols), e.get(lossb, rows), e.get(cb, rows)
}

func TestEmuSoftmaxXentAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(11, 12))
	for _, s := range lossShapes() {
		for _, block := range []int{0, 1, 33, 100} {
			rows, cols := s[0], s[1]
			x, labels := rowInputs(r, rows, cols)
			if rows > 2 {
				labels[2] = -1 // outside the row: loss NaN, no onehot
			}
			scale := float32(1 / float64(rows))
			grad, loss, correct := runLoss(e, "softmax_xent", block, rows, cols, x, labels, scale)
			for row := range rows {
				xr, l := x[row*cols:(row+1)*cols], labels[row]
				m := math.Inf(-1)
				for _, v := range xr {
					m = math.Max(m, float64(v))
				}
				sum := 0.0
				for _, v := range xr {
					sum += math.Exp(float64(v) - m)
				}
				for c, v := range xr {
					want := math.Exp(float64(v)-m) / sum
					if int32(c) == l {
						want--
					}
					want *= float64(scale)
					if g := float64(grad[row*cols+c]); !(math.Abs(g-want) <= 1e-5*math.Abs(float64(scale))) {
						t.Fatalf("softmax_xent %v block %d: grad[%d,%d] = %v, want %v", s, block, row, c, g, want)
					}
				}
				if l < 0 {
					if !math.IsNaN(float64(loss[row])) {
						t.Fatalf("softmax_xent %v: loss[%d] = %v with label %d, want NaN", s, row, loss[row], l)
					}
				} else {
					want := math.Log(sum) - (float64(xr[l]) - m)
					if g := float64(loss[row]); !(math.Abs(g-want) <= 1e-5*math.Max(1, math.Abs(want))) {
						t.Fatalf("softmax_xent %v block %d: loss[%d] = %v, want %v", s, block, row, g, want)
					}
				}
				want := float32(0)
				if firstArgmax(xr) == l {
					want = 1
				}
				if correct[row] != want {
					t.Fatalf("softmax_xent %v block %d: correct[%d] = %v, want %v (label %d, first argmax %d)", s, block, row, correct[row], want, l, firstArgmax(xr))
				}
			}
		}
	}
}

func TestEmuMSELossAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(13, 14))
	for _, s := range lossShapes() {
		for _, block := range []int{0, 1, 33, 100} {
			rows, cols := s[0], s[1]
			x, labels := rowInputs(r, rows, cols)
			if rows > 2 {
				labels[2] = int32(cols) // outside the row: the all-zero target
			}
			scale := float32(-2)
			grad, loss, correct := runLoss(e, "mse_loss", block, rows, cols, x, labels, scale)
			for row := range rows {
				xr, l := x[row*cols:(row+1)*cols], labels[row]
				sum := 0.0
				for c, v := range xr {
					d := float64(v)
					if int32(c) == l {
						d--
					}
					sum += d * d
					want := float64(scale) * 2 * d / float64(cols)
					if g := float64(grad[row*cols+c]); !(math.Abs(g-want) <= 1e-6*math.Abs(want)+1e-7) {
						t.Fatalf("mse_loss %v block %d: grad[%d,%d] = %v, want %v", s, block, row, c, g, want)
					}
				}
				want := sum / float64(cols)
				if g := float64(loss[row]); !(math.Abs(g-want) <= 1e-5*math.Max(1, want)) {
					t.Fatalf("mse_loss %v block %d: loss[%d] = %v, want %v", s, block, row, g, want)
				}
				wc := float32(0)
				if firstArgmax(xr) == l {
					wc = 1
				}
				if correct[row] != wc {
					t.Fatalf("mse_loss %v block %d: correct[%d] = %v, want %v", s, block, row, correct[row], wc)
				}
			}
		}
	}
}
