package device_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// The transformer's emulated kernels against float64 references.

// geluRef is the exact GELU z·Φ(z) and its derivative Φ(z) + z·φ(z).
func geluRef(z float64) (y, dy float64) {
	cdf := 0.5 * math.Erfc(-z/math.Sqrt2)
	return z * cdf, cdf + z*math.Exp(-z*z/2)/math.Sqrt(2*math.Pi)
}

// TestEmuGeluAgainstErf: the kernels' GELU (Abramowitz and Stegun's erf,
// the CPU model's formula) is within 2e-7·(1+|z|) of the exact one, and
// tfm_bias_gelu adds the bias first.
func TestEmuGeluAgainstErf(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(5, 6))
	const rows, cols = 37, 29
	z := randn(r, rows*cols, 3)
	bias := randn(r, cols, 0.5)
	dz, y := e.put(z), e.put(nanFilled(rows*cols))
	if err := device.TfmBiasGelu(e.d, rows, cols, dz, e.put(bias), y); err != nil {
		t.Fatal(err)
	}
	gotZ, gotY := e.get(dz, rows*cols), e.get(y, rows*cols)
	g := e.put(make([]float32, rows*cols))
	ones := make([]float32, rows*cols)
	for i := range ones {
		ones[i] = 1
	}
	if err := device.Upload(e.d, g, ones); err != nil {
		t.Fatal(err)
	}
	if err := device.TfmGeluGrad(e.d, rows*cols, dz, g); err != nil {
		t.Fatal(err)
	}
	gotD := e.get(g, rows*cols)
	for i := range z {
		zb := z[i] + bias[i%cols]
		if !sameBits(gotZ[i], zb) {
			t.Fatalf("z[%d] = %v, want %v + %v", i, gotZ[i], z[i], bias[i%cols])
		}
		wy, wd := geluRef(float64(zb))
		tol := 2e-7 * (1 + math.Abs(float64(zb)))
		if math.Abs(float64(gotY[i])-wy) > tol || math.Abs(float64(gotD[i])-wd) > 4*tol {
			t.Fatalf("GELU(%v) = %v, GELU' %v; exact %v, %v", zb, gotY[i], gotD[i], wy, wd)
		}
	}
}

// TestEmuLayerNormAgainstNaive: the forward kernel (with and without
// bias) and both backward kernels against float64 LayerNorm and its
// gradients (dx = rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂))).
func TestEmuLayerNormAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][2]int{{1, 1}, {5, 16}, {130, 7}} {
		for _, withBias := range []bool{false, true} {
			rows, dim := s[0], s[1]
			x, w, b, g := randn(r, rows*dim, 2), randn(r, dim, 1), randn(r, dim, 1), randn(r, rows*dim, 1)
			dx, dw, db := e.put(x), e.put(w), e.put(b)
			dy, dmean, drstd := e.put(nanFilled(rows*dim)), e.put(nanFilled(rows)), e.put(nanFilled(rows))
			bias := device.Buffer{}
			if withBias {
				bias = db
			}
			if err := device.TfmLayerNorm(e.d, rows, dim, dx, dw, bias, dy, dmean, drstd); err != nil {
				t.Fatal(err)
			}
			dg, din := e.put(g), e.put(nanFilled(rows*dim))
			gw, gb := e.put(nanFilled(dim)), e.put(nanFilled(dim))
			if err := device.TfmLayerNormDx(e.d, rows, dim, dx, dw, dg, dmean, drstd, device.Buffer{}, din); err != nil {
				t.Fatal(err)
			}
			if err := device.TfmLayerNormDwb(e.d, rows, dim, dx, dg, dmean, drstd, 0, gw, gb); err != nil {
				t.Fatal(err)
			}
			y, gx, gwv, gbv := e.get(dy, rows*dim), e.get(din, rows*dim), e.get(gw, dim), e.get(gb, dim)
			wantW, wantB := make([]float64, dim), make([]float64, dim)
			for row := range rows {
				xr, gr := x[row*dim:(row+1)*dim], g[row*dim:(row+1)*dim]
				var m, v float64
				for _, a := range xr {
					m += float64(a)
				}
				m /= float64(dim)
				for _, a := range xr {
					v += (float64(a) - m) * (float64(a) - m)
				}
				rs := 1 / math.Sqrt(v/float64(dim)+1e-5)
				var mgw, mgwx float64
				for j := range dim {
					xh := (float64(xr[j]) - m) * rs
					gwj := float64(gr[j]) * float64(w[j])
					mgw += gwj / float64(dim)
					mgwx += gwj * xh / float64(dim)
					wantW[j] += float64(gr[j]) * xh
					wantB[j] += float64(gr[j])
				}
				for j := range dim {
					xh := (float64(xr[j]) - m) * rs
					wy := xh * float64(w[j])
					if withBias {
						wy += float64(b[j])
					}
					wx := rs * (float64(gr[j])*float64(w[j]) - mgw - xh*mgwx)
					if k := row*dim + j; math.Abs(float64(y[k])-wy) > 1e-5*(1+math.Abs(wy)) || math.Abs(float64(gx[k])-wx) > 1e-4*(1+math.Abs(wx)) {
						t.Fatalf("rows %d dim %d bias %v: y[%d] %v (want %v), dx %v (want %v)", rows, dim, withBias, k, y[k], wy, gx[k], wx)
					}
				}
			}
			for j := range dim {
				if math.Abs(float64(gwv[j])-wantW[j]) > 1e-4*(1+math.Abs(wantW[j])) || math.Abs(float64(gbv[j])-wantB[j]) > 1e-4*(1+math.Abs(wantB[j])) {
					t.Fatalf("rows %d dim %d: dw[%d] %v (want %v), db %v (want %v)", rows, dim, j, gwv[j], wantW[j], gbv[j], wantB[j])
				}
			}
		}
	}
}

// TestEmuCausalSoftmaxAgainstNaive: each row's weights are the softmax of
// scale·scores over the keys up to its query (0 after), and the backward
// kernel is that softmax's vector-Jacobian product.
func TestEmuCausalSoftmaxAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(9, 10))
	const rows, tt, scale = 30, 6, 0.35
	s, d := randn(r, rows*tt, 3), randn(r, rows*tt, 1)
	ds, dd := e.put(s), e.put(d)
	if err := device.TfmCausalSoftmax(e.d, rows, tt, scale, ds, ds); err != nil {
		t.Fatal(err)
	}
	p := e.get(ds, rows*tt)
	if err := device.TfmCausalSoftmaxGrad(e.d, rows, tt, scale, ds, dd); err != nil {
		t.Fatal(err)
	}
	gs := e.get(dd, rows*tt)
	for row := range rows {
		i, o := row%tt, row*tt
		m := math.Inf(-1)
		for j := 0; j <= i; j++ {
			m = math.Max(m, float64(s[o+j]))
		}
		var sum float64
		for j := 0; j <= i; j++ {
			sum += math.Exp((float64(s[o+j]) - m) * scale)
		}
		var dot float64
		want := make([]float64, tt)
		for j := 0; j <= i; j++ {
			want[j] = math.Exp((float64(s[o+j])-m)*scale) / sum
			dot += want[j] * float64(d[o+j])
		}
		for j := range tt {
			wg := 0.0
			if j <= i {
				wg = want[j] * (float64(d[o+j]) - dot) * scale
			}
			if math.Abs(float64(p[o+j])-want[j]) > 1e-6 || math.Abs(float64(gs[o+j])-wg) > 1e-5 {
				t.Fatalf("row %d key %d: p %v (want %v), d score %v (want %v)", row, j, p[o+j], want[j], gs[o+j], wg)
			}
		}
	}
}

// TestEmuEmbedAgainstNaive: the lookup adds the position row, and the
// token gradient sums each token's rows into the earlier values (beta 1).
func TestEmuEmbedAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(11, 12))
	const rows, tt, dim, vocab = 12, 4, 3, 5
	ids := make([]float32, rows)
	for i := range ids {
		ids[i] = float32(r.IntN(vocab))
	}
	tok, pos, g, prev := randn(r, vocab*dim, 1), randn(r, tt*dim, 1), randn(r, rows*dim, 1), randn(r, vocab*dim, 1)
	dids, out, dtok := e.put(ids), e.put(nanFilled(rows*dim)), e.put(prev)
	if err := device.TfmEmbed(e.d, rows, tt, dim, vocab, dids, e.put(tok), e.put(pos), out); err != nil {
		t.Fatal(err)
	}
	if err := device.EmbedGrad(e.d, rows, dim, vocab, dids, e.put(g), 1, dtok); err != nil {
		t.Fatal(err)
	}
	got, gt := e.get(out, rows*dim), e.get(dtok, vocab*dim)
	want := make([]float64, vocab*dim)
	for i, v := range prev {
		want[i] = float64(v)
	}
	for row := range rows {
		id := int(ids[row])
		for j := range dim {
			if w := tok[id*dim+j] + pos[(row%tt)*dim+j]; !sameBits(got[row*dim+j], w) {
				t.Fatalf("out[%d, %d] = %v, want %v", row, j, got[row*dim+j], w)
			}
			want[id*dim+j] += float64(g[row*dim+j])
		}
	}
	for i, w := range want {
		if math.Abs(float64(gt[i])-w) > 1e-5*(1+math.Abs(w)) {
			t.Fatalf("dtok[%d] = %v, want %v", i, gt[i], w)
		}
	}
}

// TestEmuDropoutRate: about p of the values are dropped, the others
// scaled by 1/(1-p); another key drops others; the mask is the same for
// x and for the gradient (in place, same key).
func TestEmuDropoutRate(t *testing.T) {
	e := newEmuEnv(t)
	const n, p = 20000, 0.25
	thr, scale := uint32(p*(1<<32)), float32(1/(1-p))
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	run := func(key uint64) []float32 {
		b := e.put(x)
		if err := device.TfmDropout(e.d, n, key, thr, scale, b, b); err != nil {
			t.Fatal(err)
		}
		return e.get(b, n)
	}
	a, b, c := run(0x0123456789ABCDEF), run(0x0123456789ABCDEF), run(0xFEDCBA9876543210)
	dropped, differ := 0, 0
	for i := range a {
		switch a[i] {
		case 0:
			dropped++
		case scale:
		default:
			t.Fatalf("y[%d] = %v, want 0 or %v", i, a[i], scale)
		}
		if !sameBits(a[i], b[i]) {
			t.Fatalf("the same key gave another mask at %d", i)
		}
		if a[i] != c[i] {
			differ++
		}
	}
	if f := float64(dropped) / n; math.Abs(f-p) > 0.015 {
		t.Fatalf("dropped %.4f of the values, want about %v", f, p)
	}
	if differ < n/4 {
		t.Fatalf("another key changed only %d of %d mask values", differ, n)
	}
}
