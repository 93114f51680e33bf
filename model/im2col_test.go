package model

import (
	"testing"
	"time"
)

// taps calls f for every entry of the batch's column matrix: its index in
// col (rows cols1 apart) and the index in x of the input value it holds,
// or -1 outside the image. It is the plain definition:
// col[(ci·k+ky)·k+kx][i·plane + oy·ow+ox] = x[i][ci][oy+ky-pad][ox+kx-pad].
func (o *convOp) taps(f func(c, x int)) {
	for i := range o.n {
		for ci := range o.c {
			for ky := range o.k {
				for kx := range o.k {
					r := (ci*o.k+ky)*o.k + kx
					for oy := range o.oh {
						for ox := range o.ow {
							iy, ix := oy+ky-o.pad, ox+kx-o.pad
							xi := -1
							if iy >= 0 && iy < o.h && ix >= 0 && ix < o.w {
								xi = ((i*o.c+ci)*o.h+iy)*o.w + ix
							}
							f(r*o.cols1+i*o.plane+oy*o.ow+ox, xi)
						}
					}
				}
			}
		}
	}
}

// im2colRef and col2imRef are im2col and col2im by that definition.
func (o *convOp) im2colRef(x, col []float32) {
	o.taps(func(c, xi int) {
		col[c] = 0
		if xi >= 0 {
			col[c] = x[xi]
		}
	})
}

func (o *convOp) col2imRef(dcol, dx []float32) {
	o.taps(func(c, xi int) {
		if xi >= 0 {
			dx[xi] += dcol[c]
		}
	})
}

// convShapes: LeNet's two blocks, odd sizes, a kernel wider than the
// padded image's margin.
var convShapes = []struct{ n, c, h, w, o, k, pad int }{
	{2, 1, 28, 28, 6, 5, 2}, {2, 6, 14, 14, 16, 5, 0}, {1, 2, 13, 15, 3, 5, 2}, {1, 1, 12, 12, 2, 5, 4}, {3, 2, 7, 9, 2, 3, 1},
}

func TestIm2colAgainstReference(t *testing.T) {
	for _, s := range convShapes {
		o := newConvOp(nil, s.n, s.c, s.h, s.w, s.o, s.k, s.pad, 0, 0)
		x := make([]float32, s.n*s.c*s.h*s.w)
		for i := range x {
			x[i] = float32(i%97) - 48
		}
		got, want := make([]float32, len(o.cols)), make([]float32, len(o.cols))
		for i := range got { // garbage, to be overwritten
			got[i], want[i] = 7, 7
		}
		o.im2col(x, got)
		o.im2colRef(x, want)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%+v: im2col[%d] = %v, want %v", s, i, got[i], want[i])
			}
		}
		dx, dxRef := make([]float32, len(x)), make([]float32, len(x))
		o.col2im(want, o.cols1, o.n, dx)
		o.col2imRef(want, dxRef)
		for i := range dx {
			if dx[i] != dxRef[i] {
				t.Fatalf("%+v: col2im[%d] = %v, want %v", s, i, dx[i], dxRef[i])
			}
		}
	}
}

// BenchmarkIm2col alternates the fast im2col and the reference pass by
// pass over LeNet's conv1 (batch 64), so both see the same machine, and
// reports each one's ms per batch.
func BenchmarkIm2col(b *testing.B) {
	o := newConvOp(nil, 64, 6, 14, 14, 16, 5, 0, 0, 0)
	x := make([]float32, 64*6*14*14)
	var fast, ref time.Duration
	for range b.N {
		t0 := time.Now()
		o.im2col(x, o.cols)
		t1 := time.Now()
		o.im2colRef(x, o.cols)
		fast, ref = fast+t1.Sub(t0), ref+time.Since(t1)
	}
	b.ReportMetric(float64(fast.Microseconds())/1e3/float64(b.N), "fast_ms")
	b.ReportMetric(float64(ref.Microseconds())/1e3/float64(b.N), "ref_ms")
}
