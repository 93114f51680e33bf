package device_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// The emulated convolution kernels against naive references written
// from their definitions (the input at (c, n, y, x) of a convolution,
// scatters where the kernels gather).

func convGeom(c, n, h, w, k, pad, stride int, nchw bool) device.ConvGeom {
	g := device.ConvGeom{C: c, N: n, H: h, W: w, K: k, Pad: pad, Stride: stride,
		OH: (h+2*pad-k)/stride + 1, OW: (w+2*pad-k)/stride + 1, CS: n * h * w, NS: h * w}
	if nchw {
		g.CS, g.NS = h*w, c*h*w
	}
	return g
}

func testConvGeoms() []device.ConvGeom {
	return []device.ConvGeom{
		convGeom(1, 3, 12, 12, 5, 2, 1, true), convGeom(6, 2, 6, 7, 5, 0, 1, false), convGeom(3, 2, 9, 8, 3, 1, 2, true),
		convGeom(2, 3, 10, 7, 4, 3, 3, false), convGeom(2, 1, 4, 5, 1, 0, 1, true),
	}
}

// eachTap calls f for every (row, column) of g's columns that reads the
// input (c, n, iy, ix) inside it, with the input's index.
func eachTap(g device.ConvGeom, f func(row, col, at int)) {
	for c := range g.C {
		for ky := range g.K {
			for kx := range g.K {
				row := (c*g.K+ky)*g.K + kx
				for n := range g.N {
					for oy := range g.OH {
						for ox := range g.OW {
							iy, ix := oy*g.Stride-g.Pad+ky, ox*g.Stride-g.Pad+kx
							if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
								continue
							}
							f(row, (n*g.OH+oy)*g.OW+ox, c*g.CS+n*g.NS+iy*g.W+ix)
						}
					}
				}
			}
		}
	}
}

func spanOf(g device.ConvGeom) int { return (g.C-1)*g.CS + (g.N-1)*g.NS + g.H*g.W }

func TestEmuIm2ColCol2ImAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, g := range testConvGeoms() {
		name := fmt.Sprintf("%+v", g)
		cc := g.ColCols()
		x := randn(r, spanOf(g), 1)
		cols := e.put(nanFilled(g.ColRows() * cc))
		if err := device.Im2Col(e.d, g, e.put(x), cols); err != nil {
			t.Fatal(err)
		}
		got := e.get(cols, g.ColRows()*cc)
		want := make([]float32, len(got)) // 0 in the padding
		eachTap(g, func(row, col, at int) { want[row*cc+col] = x[at] })
		for i := range want {
			if !sameBits(got[i], want[i]) {
				t.Fatalf("im2col %s: cols[%d] = %v, want %v", name, i, got[i], want[i])
			}
		}

		// col2im scatters every column entry back onto the input it read.
		dc := randn(r, g.ColRows()*cc, 1)
		dx := e.put(nanFilled(spanOf(g)))
		if err := device.Col2Im(e.d, g, e.put(dc), dx); err != nil {
			t.Fatal(err)
		}
		gotX := e.get(dx, spanOf(g))
		wantX, abs := make([]float64, len(gotX)), make([]float64, len(gotX))
		eachTap(g, func(row, col, at int) {
			wantX[at] += float64(dc[row*cc+col])
			abs[at] += math.Abs(float64(dc[row*cc+col]))
		})
		for i := range wantX {
			if math.Abs(float64(gotX[i])-wantX[i]) > 1e-6*(1+abs[i]) {
				t.Fatalf("col2im %s: x[%d] = %v, want %v", name, i, gotX[i], wantX[i])
			}
		}
	}
}

func TestEmuMaxPoolAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][5]int{{3, 5, 7, 2, 2}, {2, 7, 9, 3, 2}, {2, 4, 5, 2, 1}, {1, 3, 4, 1, 1}, {4, 9, 9, 3, 3}} {
		planes, h, w, size, stride := s[0], s[1], s[2], s[3], s[4]
		g := device.PoolGeom{Planes: planes, H: h, W: w, Size: size, Stride: stride, PH: (h-size)/stride + 1, PW: (w-size)/stride + 1}
		x := make([]float32, planes*h*w)
		for i := range x {
			x[i] = float32(r.IntN(3)) // ties in most windows
		}
		n := planes * g.PH * g.PW
		y, idx := e.put(nanFilled(n)), e.put(nanFilled(n))
		if err := device.MaxPool(e.d, g, e.put(x), y, idx); err != nil {
			t.Fatal(err)
		}
		gotY, gotIdx := e.get(y, n), e.get(idx, n)
		dy := randn(r, n, 1)
		dx := e.put(nanFilled(planes * h * w))
		if err := device.MaxPoolGrad(e.d, g, e.put(dy), idx, dx); err != nil {
			t.Fatal(err)
		}
		gotDx := e.get(dx, planes*h*w)
		wantDx := make([]float64, planes*h*w)
		j := 0
		for p := range planes {
			for py := range g.PH {
				for px := range g.PW {
					best, arg := float32(math.Inf(-1)), -1
					for ky := range size { // the first maximum, row by row
						for kx := range size {
							if v := x[p*h*w+(py*stride+ky)*w+px*stride+kx]; v > best {
								best, arg = v, ky*size+kx
							}
						}
					}
					if gotY[j] != best || int32(math.Float32bits(gotIdx[j])) != int32(arg) {
						t.Fatalf("maxpool %v: window %d = (%v, %d), want (%v, %d)", s, j, gotY[j], int32(math.Float32bits(gotIdx[j])), best, arg)
					}
					wantDx[p*h*w+(py*stride+arg/size)*w+px*stride+arg%size] += float64(dy[j])
					j++
				}
			}
		}
		for i := range wantDx {
			if math.Abs(float64(gotDx[i])-wantDx[i]) > 1e-6*(1+math.Abs(wantDx[i])) {
				t.Fatalf("maxpool_grad %v: dx[%d] = %v, want %v", s, i, gotDx[i], wantDx[i])
			}
		}
	}
}

func TestEmuChanKernelsAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(11, 12))
	for _, s := range [][2]int{{1, 1}, {6, 100}, {16, 300}, {3, 257}} {
		rows, cols := s[0], s[1]
		y, bias := randn(r, rows*cols, 2), randn(r, rows, 1)
		for _, act := range []device.Act{device.ActNone, device.ActReLU} {
			yb := e.put(y)
			if err := device.ChanBiasAct(e.d, rows, cols, act, yb, e.put(bias)); err != nil {
				t.Fatal(err)
			}
			got := e.get(yb, len(y))
			for i := range y {
				want := float32(float64(y[i]) + float64(bias[i/cols]))
				if act == device.ActReLU {
					want = reluRef(want)
				}
				if !sameBits(got[i], want) {
					t.Fatalf("chan_bias_act %v act %d: y[%d] = %v, want %v", s, act, i, got[i], want)
				}
			}
		}
		out := randn(r, rows, 1)
		ob := e.put(out)
		if err := device.ChanSum(e.d, rows, cols, e.put(y), -0.5, 2, ob); err != nil {
			t.Fatal(err)
		}
		got := e.get(ob, rows)
		for row := range rows {
			sum, abs := 0.0, 0.0
			for c := range cols {
				sum += float64(y[row*cols+c])
				abs += math.Abs(float64(y[row*cols+c]))
			}
			want := -0.5*sum + 2*float64(out[row])
			if math.Abs(float64(got[row])-want) > 1e-6*(1+abs+math.Abs(2*float64(out[row]))) {
				t.Fatalf("chan_sum %v: out[%d] = %v, want %v", s, row, got[row], want)
			}
		}
	}
}

func TestEmuSwap01AndReLUAgainstNaive(t *testing.T) {
	e := newEmuEnv(t)
	r := rand.New(rand.NewPCG(13, 14))
	for _, s := range [][3]int{{1, 1, 1}, {16, 3, 5}, {7, 40, 13}, {1, 1, 600}} {
		a, b, c := s[0], s[1], s[2]
		x := randn(r, a*b*c, 1)
		y := e.put(nanFilled(a * b * c))
		if err := device.Swap01(e.d, a, b, c, e.put(x), y); err != nil {
			t.Fatal(err)
		}
		got := e.get(y, a*b*c)
		for i := range a {
			for j := range b {
				for k := range c {
					if g, w := got[(j*a+i)*c+k], x[(i*b+j)*c+k]; !sameBits(g, w) {
						t.Fatalf("swap01 %v: y[%d,%d,%d] = %v, want %v", s, j, i, k, g, w)
					}
				}
			}
		}
		if err := device.ReLU(e.d, a*b*c, y, y); err != nil {
			t.Fatal(err)
		}
		after := e.get(y, a*b*c)
		for i, v := range got {
			if !sameBits(after[i], reluRef(v)) {
				t.Fatalf("relu %v: y[%d] = %v, want %v", s, i, after[i], reluRef(v))
			}
		}
	}
}

// TestEmuCNNFaultsOnShortViews: every convolution kernel runs with views
// of exactly the elements it touches and faults when one is an element
// short.
func TestEmuCNNFaultsOnShortViews(t *testing.T) {
	g := convGeom(2, 3, 7, 6, 3, 1, 2, false)
	p := device.PoolGeom{Planes: 3, H: 7, W: 6, Size: 3, Stride: 2, PH: 3, PW: 2}
	pin, pout := p.Planes*p.H*p.W, p.Planes*p.PH*p.PW
	cols := g.ColRows() * g.ColCols()
	cases := []struct {
		name   string
		sizes  []int
		launch func(d device.Device, v []device.Buffer) error
	}{
		{"im2col", []int{spanOf(g), cols}, func(d device.Device, v []device.Buffer) error { return device.Im2Col(d, g, v[0], v[1]) }},
		{"col2im", []int{cols, spanOf(g)}, func(d device.Device, v []device.Buffer) error { return device.Col2Im(d, g, v[0], v[1]) }},
		{"maxpool", []int{pin, pout, pout}, func(d device.Device, v []device.Buffer) error { return device.MaxPool(d, p, v[0], v[1], v[2]) }},
		{"maxpool_grad", []int{pout, pout, pin}, func(d device.Device, v []device.Buffer) error { return device.MaxPoolGrad(d, p, v[0], v[1], v[2]) }},
		{"chan_bias_act", []int{6 * 50, 6}, func(d device.Device, v []device.Buffer) error {
			return device.ChanBiasAct(d, 6, 50, device.ActReLU, v[0], v[1])
		}},
		{"chan_sum", []int{6 * 50, 6}, func(d device.Device, v []device.Buffer) error { return device.ChanSum(d, 6, 50, v[0], 1, 1, v[1]) }},
		{"swap01", []int{60, 60}, func(d device.Device, v []device.Buffer) error { return device.Swap01(d, 3, 4, 5, v[0], v[1]) }},
		{"relu", []int{60, 60}, func(d device.Device, v []device.Buffer) error { return device.ReLU(d, 60, v[0], v[1]) }},
	}
	for _, c := range cases {
		for short := -1; short < len(c.sizes); short++ {
			d := device.NewEmu()
			views := make([]device.Buffer, len(c.sizes))
			for i, n := range c.sizes {
				if i == short {
					n--
				}
				b, err := d.Alloc(4 * (n + 8)) // the view is short, its allocation is not
				if err != nil {
					t.Fatal(err)
				}
				views[i] = b.F32(0, n)
			}
			err := c.launch(d, views)
			switch {
			case short < 0 && err != nil:
				t.Errorf("%s with exact views: %v", c.name, err)
			case short >= 0 && !errors.Is(err, device.ErrFault):
				t.Errorf("%s with pointer %d one element short: %v, want ErrFault", c.name, short, err)
			}
		}
	}
}

// TestCNNLaunchesRejectBadGeometry: geometries whose windows leave the
// (padded) input, non-positive sizes, sizes past 32 bits and blocks
// chan_sum does not support are ErrLaunch.
func TestCNNLaunchesRejectBadGeometry(t *testing.T) {
	d := device.NewEmu()
	buf, err := d.Alloc(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	good := convGeom(2, 2, 8, 8, 3, 1, 1, true)
	tooWide, noStride, zero, huge := good, good, good, good
	tooWide.OW++
	noStride.Stride = 0
	zero.C = 0
	huge.N, huge.NS = 1<<20, 1<<12
	pool := device.PoolGeom{Planes: 2, H: 5, W: 5, Size: 2, Stride: 2, PH: 2, PW: 2}
	tall := pool
	tall.PH = 3
	for _, c := range []struct {
		name string
		err  error
	}{
		{"im2col output past the padded input", device.Im2Col(d, tooWide, buf, buf)},
		{"col2im stride 0", device.Col2Im(d, noStride, buf, buf)},
		{"im2col no channels", device.Im2Col(d, zero, buf, buf)},
		{"im2col columns past 32 bits", device.Im2Col(d, huge, buf, buf)},
		{"maxpool windows past the plane", device.MaxPool(d, tall, buf, buf, buf)},
		{"maxpool_grad windows past the plane", device.MaxPoolGrad(d, tall, buf, buf, buf)},
		{"chan_sum block 512", d.Launch("chan_sum", device.D1(1), device.D1(512), device.I32(1), device.I32(1), buf, device.F32(1), device.F32(0), buf)},
		{"swap01 past 32 bits", device.Swap01(d, 1<<16, 1<<16, 1, buf, buf)},
		{"chan_bias_act past 32 bits", device.ChanBiasAct(d, 1<<16, 1<<16, device.ActReLU, buf, buf)},
		{"relu past 32 bits", device.ReLU(d, 1<<32, buf, buf)},
	} {
		if !errors.Is(c.err, device.ErrLaunch) {
			t.Errorf("%s: %v, want ErrLaunch", c.name, c.err)
		}
	}
}
