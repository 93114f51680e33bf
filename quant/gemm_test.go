package quant

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// gemmCase is a random gemm problem: A's and B's values as int8 (A m x
// 2kp, B 2kp x np, the value at pair index kk's low half 2kk), B laid
// out either as packed panels or, with gap > 0, as one strip read at
// offsets kk*(tileN+gap) (overlapping panels, like a conv's pair image).
type gemmCase struct {
	m, np, kp int
	a8, b8    [][]int8 // rows of A; columns of B
	gap       int
}

func randGemmCase(r *rand.Rand, m, np, kp, gap int, val func() int8) gemmCase {
	g := gemmCase{m: m, np: np, kp: kp, gap: gap}
	for range m {
		row := make([]int8, 2*kp)
		for i := range row {
			row[i] = val()
		}
		g.a8 = append(g.a8, row)
	}
	for range np {
		col := make([]int8, 2*kp)
		for i := range col {
			col[i] = val()
		}
		g.b8 = append(g.b8, col)
	}
	return g
}

// layout returns a, b, panelStride and koff for gemm. With a gap, panel q
// starts at word q*tileN and its pair index kk at kk*(np+gap): the panels
// overlap in one [kp][np+gap] strip.
func (g gemmCase) layout() (a, b []int32, panelStride int, koff []int32) {
	a = make([]int32, g.m*g.kp)
	for i, row := range g.a8 {
		for kk := range g.kp {
			a[i*g.kp+kk] = pair(row[2*kk], row[2*kk+1])
		}
	}
	koff = make([]int32, g.kp)
	if g.gap == 0 {
		b = make([]int32, g.np*g.kp)
		for j, col := range g.b8 {
			for kk := range g.kp {
				b[(j/tileN*g.kp+kk)*tileN+j%tileN] = pair(col[2*kk], col[2*kk+1])
			}
		}
		for kk := range koff {
			koff[kk] = int32(kk * tileN)
		}
		return a, b, g.kp * tileN, koff
	}
	ld := g.np + g.gap
	b = make([]int32, g.kp*ld)
	for j, col := range g.b8 {
		for kk := range g.kp {
			b[kk*ld+j] = pair(col[2*kk], col[2*kk+1])
		}
	}
	// the pair indices in a scrambled order: gemm must follow koff
	perm := rand.New(rand.NewPCG(uint64(g.kp), 1)).Perm(g.kp)
	for kk := range koff {
		koff[kk] = int32(perm[kk] * ld)
	}
	// A's pair words follow the same order
	pa := slices.Clone(a)
	for i := range g.m {
		for kk := range g.kp {
			pa[i*g.kp+kk] = a[i*g.kp+perm[kk]]
		}
	}
	return pa, b, tileN, koff
}

// want is the dumb reference: each C value as the int64 sum of the int8
// products.
func (g gemmCase) want() []int64 {
	out := make([]int64, g.m*g.np)
	for i, row := range g.a8 {
		for j, col := range g.b8 {
			var s int64
			for t := range row {
				s += int64(row[t]) * int64(col[t])
			}
			out[i*g.np+j] = s
		}
	}
	return out
}

// check runs gemm with the Go kernel and, where the CPU has AVX2, the
// assembly one, and requires both to equal the reference.
func (g gemmCase) check(t *testing.T) {
	t.Helper()
	a, b, stride, koff := g.layout()
	want := g.want()
	kernels := asmKernels()
	kernels["go"] = gemmTileGo
	for name, k := range kernels {
		c := make([]int32, g.m*g.np)
		for i := range c {
			c[i] = -1 // every value must be written
		}
		if err := gemm(k, c, g.np, a, g.kp, b, stride, koff, g.m, g.np); err != nil {
			t.Fatalf("%s kernel, m %d np %d kp %d gap %d: %v", name, g.m, g.np, g.kp, g.gap, err)
		}
		for i, v := range c {
			if int64(v) != want[i] {
				t.Fatalf("%s kernel, m %d np %d kp %d gap %d: C[%d][%d] = %d, want %d", name, g.m, g.np, g.kp, g.gap, i/g.np, i%g.np, v, want[i])
			}
		}
	}
}

// TestGemmKernels: the assembly kernel and the Go kernel compute exactly
// the int32 sums of the products of int8 values, for fan-ins around the
// kernel's unrolling (a pair index, two per loop), 0 and 1 pair indices,
// packed and overlapping (conv) layouts of B, random values and the
// extremes (-128, -127, 127 on both sides).
func TestGemmKernels(t *testing.T) {
	t.Logf("assembly kernels on this CPU: %d", len(asmKernels()))
	r := rand.New(rand.NewPCG(21, 22))
	random := func() int8 { return int8(r.IntN(256) - 128) }
	extremes := []int8{-128, -127, 127, 0, 1, -1}
	extreme := func() int8 { return extremes[r.IntN(len(extremes))] }
	for _, kp := range []int{0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 200} {
		for _, gap := range []int{0, 5} {
			for _, val := range []func() int8{random, extreme} {
				randGemmCase(r, tileM, 2*tileN, kp, gap, val).check(t)
			}
		}
	}
	randGemmCase(r, tileM, tileN, 1, 0, func() int8 { return -128 }).check(t)
	randGemmCase(r, 2*tileM, 3*tileN, 25, 3, random).check(t)
}

// TestGemmLargestFanIn: at the largest fan-in quant accepts, sums of the
// extreme products (weights ±127, inputs -128) do not overflow, in either
// kernel.
func TestGemmLargestFanIn(t *testing.T) {
	kp := (maxFanIn + 1) / 2
	for _, w := range []int8{-127, 127} {
		g := gemmCase{m: tileM, np: tileN, kp: kp}
		for range tileM {
			row := make([]int8, 2*kp)
			for i := range maxFanIn {
				row[i] = w
			}
			g.a8 = append(g.a8, row)
		}
		for range tileN {
			col := make([]int8, 2*kp)
			for i := range col {
				col[i] = -128
			}
			g.b8 = append(g.b8, col)
		}
		g.check(t)
		if got, want := g.want()[0], int64(maxFanIn)*int64(w)*-128; got != want {
			t.Fatalf("reference %d, want %d", got, want)
		}
	}
}

// FuzzGemmTile: on any values and fan-in the assembly kernel equals the
// Go kernel and the reference.
func FuzzGemmTile(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte{0x80, 0x7f, 0x81, 0x01}, true)
	f.Add(make([]byte, 999), false)
	f.Fuzz(func(t *testing.T, data []byte, overlap bool) {
		kp := len(data) / 2 % 300
		gap := 0
		if overlap {
			gap = 1 + len(data)%7
		}
		i := 0
		next := func() int8 {
			if len(data) == 0 {
				return 0
			}
			v := int8(data[i%len(data)])
			i += 7 // different values for A and B from the same bytes
			return v
		}
		randGemmCase(nil, tileM, tileN, kp, gap, next).check(t)
	})
}

// TestGemmRejects: a gemm whose slices are too short, or whose shape is
// not whole tiles, is an error, not a panic or a stray write.
func TestGemmRejects(t *testing.T) {
	const m, np, kp = tileM, tileN, 3
	koff := packedOffsets(kp)
	c, a, b := make([]int32, m*np), make([]int32, m*kp), make([]int32, kp*np)
	k := simdKernel()
	if err := gemm(k, c, np, a, kp, b, kp*np, koff, m, np); err != nil {
		t.Fatalf("a right-sized gemm: %v", err)
	}
	for name, err := range map[string]error{
		"short C":       gemm(k, c[:len(c)-1], np, a, kp, b, kp*np, koff, m, np),
		"short A":       gemm(k, c, np, a[:len(a)-1], kp, b, kp*np, koff, m, np),
		"short B":       gemm(k, c, np, a, kp, b[:len(b)-1], kp*np, koff, m, np),
		"offset past B": gemm(k, c, np, a, kp, b, kp*np, []int32{0, tileN, 2*tileN + 1}, m, np),
		"negative off":  gemm(k, c, np, a, kp, b, kp*np, []int32{0, -1, 32}, m, np),
		"rows":          gemm(k, c, np, a, kp, b, kp*np, koff, m-1, np),
		"columns":       gemm(k, c, np, a, kp, b, kp*np, koff, m, np-1),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestSIMDMatchesPortable: whole int8 models give bit-identical logits by
// the SIMD pass (gemm, implicit im2col, fused relu and pooling) and the
// packed-pairs Go loop (with every kernel this CPU runs), for the test models and a layers net with odd
// fan-ins, strided and unpadded convs, a pool without relu before it, and
// pools of other sizes.
func TestSIMDMatchesPortable(t *testing.T) {
	specs := map[string]model.Spec{
		"odd": {Kind: model.KindLayers, Input: []int{3, 11, 9}, Classes: 3, Loss: model.LossXent, Net: []model.Layer{
			{Type: model.LayerConv2D, Out: 5, Kernel: 3, Pad: 1},
			{Type: model.LayerMaxPool, Size: 3, Stride: 2},
			{Type: model.LayerReLU},
			{Type: model.LayerConv2D, Out: 7, Kernel: 2, Stride: 2, NoBias: true},
			{Type: model.LayerReLU},
			{Type: model.LayerConv2D, Out: 3, Kernel: 1},
			{Type: model.LayerFlatten},
			{Type: model.LayerLinear, Out: 17},
			{Type: model.LayerGELU},
			{Type: model.LayerLinear, Out: 3},
		}},
	}
	for name, spec := range testSpecs {
		specs[name] = spec
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			fm, x := floatModel(t, spec, 70) // more than batchSamples
			q, err := Quantize(spec, fm.Params(), x[:20*spec.InputSize()])
			if err != nil {
				t.Fatal(err)
			}
			run := func(portable bool, kernel tileKernel) []float32 {
				in, classes := spec.InputSize(), spec.Classes
				r := newRunner(q.steps)
				r.portable, r.kernel = portable, kernel
				var out []float32
				for i0 := 0; i0 < 70; i0 += 33 {
					n := min(33, 70-i0)
					logits, err := r.int8Samples(q.steps, x[i0*in:(i0+n)*in], n)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, logits[:n*classes]...)
				}
				return out
			}
			portable := run(true, nil)
			kernels := asmKernels()
			kernels["go"] = gemmTileGo
			for name, k := range kernels {
				simd := run(false, k)
				for i := range simd {
					if simd[i] != portable[i] || (simd[i] == 0 && 1/simd[i] != 1/portable[i]) {
						t.Fatalf("logit %d: SIMD pass with the %s kernel %v, portable %v", i, name, simd[i], portable[i])
					}
				}
			}
		})
	}
}

// TestForwardConcurrent: Forward from several goroutines at once (each
// with its own pooled scratch buffers, the weights' layouts built once)
// gives every caller the logits a lone call gives.
func TestForwardConcurrent(t *testing.T) {
	spec := testSpecs["cnn"]
	fm, x := floatModel(t, spec, 40)
	q, err := Quantize(spec, fm.Params(), x)
	if err != nil {
		t.Fatal(err)
	}
	want, err := q.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range errs {
		wg.Go(func() {
			for range 5 {
				got, err := q.Forward(x)
				if err != nil {
					errs[g] = err
					return
				}
				if !slices.Equal(got, want) {
					errs[g] = fmt.Errorf("goroutine %d: logits differ from a lone call's", g)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
