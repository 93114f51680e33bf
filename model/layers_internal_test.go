package model

import "testing"

// TestLayersIm2col: im2col and col2im agree with the definition for every
// small geometry (padding wider than the kernel, strides past the image),
// and col2im is im2col's transpose: <im2col(x), c> = <x, col2im(c)>.
func TestLayersIm2col(t *testing.T) {
	for h := 1; h <= 5; h++ {
		for w := 1; w <= 5; w++ {
			for k := 1; k <= 4; k++ {
				for pad := 0; pad <= 3; pad++ {
					for s := 1; s <= 3; s++ {
						if h+2*pad < k || w+2*pad < k {
							continue
						}
						const c = 2
						o := newConv2DOp(nil, 1, []int{c, h, w}, Layer{Type: LayerConv2D, Out: 1, Kernel: k, Pad: pad, Stride: s}, 0, -1)
						x := make([]float32, c*h*w)
						for i := range x {
							x[i] = float32(i + 1)
						}
						col := make([]float32, len(o.col))
						for i := range col {
							col[i] = -1 // every value must be written
						}
						o.im2col(col, x)
						p := o.oh * o.ow
						var dot1 float64
						for ci := range c {
							for ky := range k {
								for kx := range k {
									r := (ci*k+ky)*k + kx
									for oy := range o.oh {
										for ox := range o.ow {
											iy, ix := oy*s-pad+ky, ox*s-pad+kx
											var want float32
											if iy >= 0 && iy < h && ix >= 0 && ix < w {
												want = x[(ci*h+iy)*w+ix]
											}
											if got := col[r*p+oy*o.ow+ox]; got != want {
												t.Fatalf("h%d w%d k%d pad%d s%d: col[%d][%d,%d] = %v, want %v", h, w, k, pad, s, r, oy, ox, got, want)
											}
											dot1 += float64(want) * float64(r*p+oy*o.ow+ox)
										}
									}
								}
							}
						}
						for i := range col {
							col[i] = float32(i)
						}
						dx := make([]float32, len(x))
						o.col2im(dx, col)
						var dot2 float64
						for i := range x {
							dot2 += float64(x[i]) * float64(dx[i])
						}
						if dot1 != dot2 {
							t.Fatalf("h%d w%d k%d pad%d s%d: <im2col(x), c> = %v, <x, col2im(c)> = %v", h, w, k, pad, s, dot1, dot2)
						}
					}
				}
			}
		}
	}
}
