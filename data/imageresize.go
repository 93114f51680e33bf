package data

import "math"

// tap is one output pixel's source pixels along an axis: weights for
// source indices start, start+1, ...
type tap struct {
	start int
	w     []float64
}

// taps returns the resampling weights from in to out pixels along one
// axis: a triangle (bilinear) filter centred on the output pixel's centre
// mapped into the source, (i+0.5)·in/out, widened by the downscale factor
// when shrinking so that every source pixel contributes (antialiasing, as
// PIL's and torchvision's bilinear resize), and normalized to sum 1.
func taps(in, out int) []tap {
	scale := float64(in) / float64(out)
	support := max(scale, 1)
	ts := make([]tap, out)
	for i := range out {
		center := (float64(i) + 0.5) * scale
		lo := max(0, int(math.Floor(center-support)))
		hi := min(in, int(math.Ceil(center+support)))
		ws := make([]float64, 0, hi-lo)
		var sum float64
		for j := lo; j < hi; j++ {
			wt := max(0, 1-math.Abs((float64(j)+0.5-center)/support))
			ws = append(ws, wt)
			sum += wt
		}
		for k := range ws {
			ws[k] /= sum
		}
		ts[i] = tap{start: lo, w: ws}
	}
	return ts
}

// resize resamples c planes of h x w values to oh x ow (taps), rows then
// columns. Products are rounded before they are summed (explicit
// conversions), so no platform fuses them and the result is the same
// everywhere. Equal sizes return src itself.
func resize(src []float32, c, h, w, oh, ow int) []float32 {
	if h == oh && w == ow {
		return src
	}
	tx, ty := taps(w, ow), taps(h, oh)
	tmp := make([]float32, c*h*ow)
	for p := range c * h {
		row, dst := src[p*w:(p+1)*w], tmp[p*ow:(p+1)*ow]
		for x, t := range tx {
			var acc float64
			for k, wt := range t.w {
				acc += float64(wt * float64(row[t.start+k]))
			}
			dst[x] = float32(acc)
		}
	}
	out := make([]float32, c*oh*ow)
	for ch := range c {
		plane, dst := tmp[ch*h*ow:(ch+1)*h*ow], out[ch*oh*ow:(ch+1)*oh*ow]
		for y, t := range ty {
			for x := range ow {
				var acc float64
				for k, wt := range t.w {
					acc += float64(wt * float64(plane[(t.start+k)*ow+x]))
				}
				dst[y*ow+x] = float32(acc)
			}
		}
	}
	return out
}

// centerCrop returns the centre oh x ow of c planes of h x w values (the
// offset rounded toward the top left), zero where the source is smaller.
func centerCrop(src []float32, c, h, w, oh, ow int) []float32 {
	if h == oh && w == ow {
		return src
	}
	dy, dx := (h-oh)>>1, (w-ow)>>1
	out := make([]float32, c*oh*ow)
	for ch := range c {
		for y := range oh {
			sy := y + dy
			if sy < 0 || sy >= h {
				continue
			}
			for x := range ow {
				if sx := x + dx; sx >= 0 && sx < w {
					out[(ch*oh+y)*ow+x] = src[(ch*h+sy)*w+sx]
				}
			}
		}
	}
	return out
}

// fitSize is the size that "fit" resizes an h x w image to before
// cropping the centre oh x ow: scaled by one factor so that both sides
// cover the target.
func fitSize(h, w, oh, ow int) (int, int) {
	s := max(float64(oh)/float64(h), float64(ow)/float64(w))
	return max(oh, int(math.Round(float64(h)*s))), max(ow, int(math.Round(float64(w)*s)))
}
