package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// convShapes: LeNet's two blocks, odd sizes (the pooling drops a row and
// a column), a kernel wider than the image's margin, more than six input
// channels, channel counts that are not multiples of 3 or 6, batches
// across the 16-lane rounding.
var convShapes = []struct{ n, c, h, w, o, k, pad int }{
	{2, 1, 28, 28, 6, 5, 2}, {3, 6, 14, 14, 16, 5, 0}, {1, 2, 13, 15, 3, 5, 2}, {1, 1, 12, 12, 2, 5, 4},
	{17, 7, 7, 9, 4, 3, 1}, {5, 2, 6, 6, 1, 1, 0},
}

// TestConvOpAgainstLoops runs the fused block forward and backward and
// compares it with the plain definitions: the convolution by its sum,
// the pooling window by window, each gradient by its chain rule.
func TestConvOpAgainstLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = rng.Float32()*2 - 1
		}
		return s
	}
	for ci, s := range convShapes {
		// Every shape in one of the four layout pairs, all pairs for LeNet's blocks.
		for l := range 4 {
			if ci >= 2 && l != ci%4 {
				continue
			}
			chwnIn, chwnOut := l&1 != 0, l&2 != 0
			checkConvOp(t, s, chwnIn, chwnOut, fill)
		}
	}
}

func checkConvOp(t *testing.T, s struct{ n, c, h, w, o, k, pad int }, chwnIn, chwnOut bool, fill func(int) []float32) {
	t.Helper()
	o := newConvOp(nil, s.n, s.c, s.h, s.w, s.o, s.k, s.pad, 0, 0, chwnIn, chwnOut)
	x, w, b := fill(s.n*s.c*s.h*s.w), fill(s.o*s.c*s.k*s.k), fill(s.o)
	pooled := s.n * s.o * o.ph * o.pw
	out, g := make([]float32, pooled), fill(pooled)
	ctx := &runCtx{}
	// The kernels' buffers, in their layouts.
	xk, outk, gk := x, out, g
	if chwnIn {
		xk = make([]float32, sizeOf(o.inShape()))
		toCHWN(xk, x, s.n, s.c, s.h*s.w, o.np)
	}
	if chwnOut {
		outk, gk = make([]float32, sizeOf(o.outShape())), make([]float32, sizeOf(o.outShape()))
		toCHWN(gk, g, s.n, s.o, o.ph*o.pw, o.np)
	}
	o.run(ctx, outk, [][]float32{xk, w, b}, false)
	if chwnOut {
		fromCHWN(out, outk, s.n, s.o, o.ph*o.pw, o.np)
	}
	{

		// The plain forward: conv, bias, ReLU, the window's max (its
		// first maximum wins, as in the kernel).
		conv := func(i, oc, y, xx int) float32 {
			v := b[oc]
			for ci := range s.c {
				for ky := range s.k {
					for kx := range s.k {
						iy, ix := y+ky-s.pad, xx+kx-s.pad
						if iy >= 0 && iy < s.h && ix >= 0 && ix < s.w {
							v += w[((oc*s.c+ci)*s.k+ky)*s.k+kx] * x[((i*s.c+ci)*s.h+iy)*s.w+ix]
						}
					}
				}
			}
			return v
		}
		dw, db, dx := make([]float64, len(w)), make([]float64, len(b)), make([]float64, len(x))
		for i := range s.n {
			for oc := range s.o {
				for py := range o.ph {
					for px := range o.pw {
						j := ((i*s.o+oc)*o.ph+py)*o.pw + px
						best, by, bx := float32(math.Inf(-1)), 0, 0
						for _, p := range [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
							if v := conv(i, oc, 2*py+p[0], 2*px+p[1]); v > best {
								best, by, bx = v, 2*py+p[0], 2*px+p[1]
							}
						}
						want := max(best, 0)
						if d := math.Abs(float64(out[j] - want)); d > 1e-5*float64(s.c*s.k*s.k) {
							t.Fatalf("%+v in %v out %v: out[%d] = %v, want %v", s, chwnIn, chwnOut, j, out[j], want)
						}
						if want <= 0 {
							continue
						}
						gv := float64(g[j])
						db[oc] += gv
						for ci := range s.c {
							for ky := range s.k {
								for kx := range s.k {
									iy, ix := by+ky-s.pad, bx+kx-s.pad
									if iy >= 0 && iy < s.h && ix >= 0 && ix < s.w {
										xi := ((i*s.c+ci)*s.h+iy)*s.w + ix
										wi := ((oc*s.c+ci)*s.k+ky)*s.k + kx
										dw[wi] += gv * float64(x[xi])
										dx[xi] += gv * float64(w[wi])
									}
								}
							}
						}
					}
				}
			}
		}

		dact := make([]float32, sizeOf(o.gradShape()))
		newConvActGradOp(o).run(ctx, dact, [][]float32{outk, gk}, false)
		gotW, gotB, gotX := fill(len(w)), fill(len(b)), fill(sizeOf(o.inShape())) // garbage, overwritten
		(&convWGradOp{fwd: o}).run(ctx, gotW, [][]float32{dact}, false)
		newConvBiasGradOp(o).run(ctx, gotB, [][]float32{dact}, false)
		newConvXGradOp(o).run(ctx, gotX, [][]float32{dact, w}, false)
		if chwnIn {
			for p := range s.c * s.h * s.w { // the padding lanes' gradient is 0
				for i := s.n; i < o.np; i++ {
					if v := gotX[p*o.np+i]; v != 0 {
						t.Fatalf("%+v in %v out %v: dx of padding sample %d = %v", s, chwnIn, chwnOut, i, v)
					}
				}
			}
			gx := make([]float32, len(x))
			fromCHWN(gx, gotX, s.n, s.c, s.h*s.w, o.np)
			gotX = gx
		}
		for _, c := range []struct {
			name string
			got  []float32
			want []float64
		}{{"dw", gotW, dw}, {"db", gotB, db}, {"dx", gotX, dx}} {
			for i := range c.want {
				if d := math.Abs(float64(c.got[i]) - c.want[i]); d > 1e-4*(1+math.Abs(c.want[i])) {
					t.Fatalf("%+v in %v out %v: %s[%d] = %v, want %v", s, chwnIn, chwnOut, c.name, i, c.got[i], c.want[i])
				}
			}
		}

		// Accumulation adds the same gradient again.
		(&convWGradOp{fwd: o}).run(ctx, gotW, [][]float32{dact}, true)
		for i := range dw {
			if d := math.Abs(float64(gotW[i]) - 2*dw[i]); d > 2e-4*(1+math.Abs(dw[i])) {
				t.Fatalf("%+v in %v out %v: accumulated dw[%d] = %v, want %v", s, chwnIn, chwnOut, i, gotW[i], 2*dw[i])
			}
		}
	}
}
