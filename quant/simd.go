package quant

import (
	"fmt"
	"math"
)

// gemmWeights is a quantized step's weights laid out for gemm, with the
// geometry its pass needs.
//
// A linear step computes y = x·Wᵀ: A the quantized input rows, B the
// weights in packed panels of tileN output channels over kp =
// ceil(fanIn/2) pair words.
//
// A conv2d step computes y = W·im2col(x): A the weights, one row of kp
// pair words per output channel (rows padded with zeros to a multiple of
// tileM), the fan-in ordered as (c, ky, kx) with kx padded to an even kw so
// that every pair word holds two horizontally adjacent taps. B comes from
// the sample's pair image (word i of the zero-padded quantized image
// holds pixels i and i+1). With stride 1 gemm reads B straight from it
// (implicit im2col): output position p' = oy*wp + ox of the padded
// image's grid reads tap pair kk at pw[p' + koff[kk]], so tileN adjacent
// positions read tileN adjacent words; the positions with ox >= outW are
// computed and dropped. With another stride im2colPairs gathers B into
// packed panels first.
type gemmWeights struct {
	kp   int
	rows int     // A's rows (conv2d), or B's columns (linear)
	w    []int32 // A (conv2d) or B (linear)
	koff []int32 // where gemm finds B's pair index kk

	// conv2d
	kw, hp, wp int
	cols       int     // B's columns (a multiple of tileN)
	pwLen      int     // the pair image's words (covering every read)
	offs       []int32 // stride > 1: where column p's patch starts in the pair image
}

// gemm returns s's weights laid out for gemm, computing them on first use
// (Quantize and Load do, so Forward only reads them).
func (s *step) gemm() *gemmWeights {
	s.gemmOnce.Do(func() { s.gw = newGemmWeights(s) })
	return s.gw
}

func newGemmWeights(s *step) *gemmWeights {
	c, f := s.channels(), s.fanIn
	if s.op == opLinear {
		g := &gemmWeights{kp: (f + 1) / 2, rows: roundUp(c, tileN)}
		g.w = make([]int32, g.rows*g.kp)
		for o := range c {
			row := s.qw[o*f : (o+1)*f]
			q, lane := o/tileN, o%tileN
			for kk := range g.kp {
				var hi int8
				if 2*kk+1 < f {
					hi = row[2*kk+1]
				}
				g.w[(q*g.kp+kk)*tileN+lane] = pair(row[2*kk], hi)
			}
		}
		g.koff = packedOffsets(g.kp)
		return g
	}
	k, ch := s.k, s.in[0]
	g := &gemmWeights{kw: roundUp(k, 2), rows: roundUp(c, tileM), hp: s.in[1] + 2*s.pad, wp: s.in[2] + 2*s.pad}
	g.kp = ch * k * g.kw / 2
	g.w = make([]int32, g.rows*g.kp)
	for o := range c {
		for r := range ch * k { // (c, ky)
			taps := s.qw[o*f+r*k : o*f+(r+1)*k]
			for j := range g.kw / 2 {
				var hi int8
				if 2*j+1 < k {
					hi = taps[2*j+1]
				}
				g.w[o*g.kp+r*g.kw/2+j] = pair(taps[2*j], hi)
			}
		}
	}
	taps := make([]int32, g.kp) // tap pair kk's offset from a patch's start
	for r := range ch * k {
		cc, ky := r/k, r%k
		for j := range g.kw / 2 {
			taps[r*g.kw/2+j] = int32((cc*g.hp+ky)*g.wp + 2*j)
		}
	}
	oh, ow := s.out[1], s.out[2]
	last := taps[len(taps)-1] // the largest
	if s.stride == 1 {
		g.koff = taps
		g.cols = roundUp((oh-1)*g.wp+ow, tileN)
		g.pwLen = max(g.cols+int(last)+tileN, ch*g.hp*g.wp)
		return g
	}
	g.koff = packedOffsets(g.kp)
	g.cols = roundUp(oh*ow, tileN)
	g.offs = make([]int32, g.cols)
	for oy := range oh {
		for ox := range ow {
			g.offs[oy*ow+ox] = int32(oy*s.stride*g.wp + ox*s.stride)
		}
	}
	g.pwLen = ch * g.hp * g.wp
	return g
}

// packedOffsets is koff of packed panels: kk*tileN.
func packedOffsets(kp int) []int32 {
	koff := make([]int32, kp)
	for kk := range koff {
		koff[kk] = int32(kk * tileN)
	}
	return koff
}

// simdBuf holds the SIMD pass's scratch buffers (grown on demand).
type simdBuf struct {
	q   []int8  // a quantized input: a linear row, or a zero-padded image
	qx  []int8  // conv2d: the quantized image before padding
	a   []int32 // linear: the pair words of the input rows (A)
	pw  []int32 // conv2d: the pair image
	b   []int32 // conv2d with stride > 1: im2col panels (B)
	acc []int32 // C
}

func growI32(b []int32, n int) []int32 {
	if len(b) < n {
		return make([]int32, n)
	}
	return b
}

// linearSIMD computes a linear step for the n samples of x ([n][fanIn])
// into out ([n][channels]) by gemm: A the quantized inputs, B the weights.
func (r *runner) linearSIMD(s *step, x, out []float32, n int) error {
	g, f, c := s.gemm(), s.fanIn, s.channels()
	m := roundUp(n, tileM)
	buf := &r.simd
	buf.q = growI8(buf.q, f)
	buf.a = growI32(buf.a, m*g.kp)
	a := buf.a[:m*g.kp]
	clear(a[n*g.kp:]) // padding rows
	q := buf.q[:f]
	for i := range n {
		quantizeInto(q, x[i*f:(i+1)*f], s.aScale)
		row := a[i*g.kp : (i+1)*g.kp]
		for kk := range f / 2 {
			row[kk] = pair(q[2*kk], q[2*kk+1])
		}
		if f%2 == 1 {
			row[f/2] = pair(q[f-1], 0)
		}
	}
	buf.acc = growI32(buf.acc, m*g.rows)
	acc := buf.acc[:m*g.rows]
	if err := gemm(r.kernel, acc, g.rows, a, g.kp, g.w, g.kp*tileN, g.koff, m, g.rows); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	for i := range n {
		sums, dst := acc[i*g.rows:i*g.rows+c], out[i*c:(i+1)*c]
		for o, v := range sums {
			dst[o] = s.dequant(o, v)
		}
	}
	return nil
}

// convSIMD computes a conv2d step, and the relu and max pooling post
// fuses, for one sample x ([C, H, W]) into out (the last fused step's
// output) by gemm: A the weights, B the patches.
func (r *runner) convSIMD(s *step, post postConv, x, out []float32) error {
	g := s.gemm()
	ch, h, w := s.in[0], s.in[1], s.in[2]
	ow := s.out[2]
	buf := &r.simd

	// the quantized image, zero-padded (the padding is never written), and
	// one more zero: the last pair word's high pixel
	if len(buf.q) < g.pwLen+1 {
		buf.q = make([]int8, g.pwLen+1)
	} else {
		clear(buf.q[:g.pwLen+1])
	}
	img := buf.q[:g.pwLen+1]
	buf.qx = growI8(buf.qx, ch*h*w)
	qx := buf.qx[:ch*h*w]
	quantizeInto(qx, x, s.aScale) // in one pass: the SIMD part is most of it
	for c := range ch {
		for y := range h {
			at := (c*g.hp+y+s.pad)*g.wp + s.pad
			copy(img[at:at+w], qx[(c*h+y)*w:(c*h+y+1)*w])
		}
	}
	buf.pw = growI32(buf.pw, g.pwLen)
	pw := buf.pw[:g.pwLen]
	pairs(pw, img)

	b, panelStride, ld := pw, tileN, g.wp // implicit im2col
	if g.offs != nil {
		buf.b = growI32(buf.b, g.cols*g.kp)
		b, panelStride, ld = buf.b[:g.cols*g.kp], g.kp*tileN, ow
		im2colPairs(b, pw, g, ch, s.k)
	}
	buf.acc = growI32(buf.acc, g.rows*g.cols)
	acc := buf.acc[:g.rows*g.cols]
	if err := gemm(r.kernel, acc, g.cols, g.w, g.kp, b, panelStride, g.koff, g.rows, g.cols); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	writeConv(s, post, acc, g.cols, ld, out)
	return nil
}

// postConv is what convSIMD applies to a conv2d step's outputs besides
// dequantizing them: the relu and the max pooling that follow it in the
// plan (fused: see writeConv).
type postConv struct {
	relu bool
	pool *step // nil: none
}

// fusePost returns the relu and max pooling at the start of next (a
// conv2d step's followers) and how many steps they are.
func fusePost(next []*step) (postConv, int) {
	var p postConv
	n := 0
	if n < len(next) && next[n].op == opReLU {
		p.relu = true
		n++
	}
	if n < len(next) && next[n].op == opMaxPool {
		p.pool = next[n]
		n++
	}
	return p, n
}

// writeConv writes a conv2d step's outputs from its int32 sums (channel
// o's output (oy, ox) at acc[o*ldc+oy*ld+ox]) into out: dequantized, then
// relu, then max pooling when post says so. It pools the int32 sums and
// dequantizes each window's largest: dequantizing (float32(v) times a
// positive scale, plus the bias) and relu never decrease as v grows, so
// the largest of their results is their result of the largest v, and
// relu before pooling equals relu after, exactly: the same values the
// steps one after another give, with a quarter of the dequantizing (2x2
// pools) and no float pass over the unpooled outputs.
func writeConv(s *step, post postConv, acc []int32, ldc, ld int, out []float32) {
	oh, ow := s.out[1], s.out[2]
	for o := range s.channels() {
		scale, bias := s.wScale[o]*s.aScale, float32(math.Copysign(0, -1)) // -0: adds nothing
		if s.b != nil {
			bias = s.b[o]
		}
		plane := acc[o*ldc : o*ldc+(oh-1)*ld+ow]
		if post.pool == nil {
			dst := out[o*oh*ow : (o+1)*oh*ow]
			for oy := range oh {
				sums, d := plane[oy*ld:oy*ld+ow], dst[oy*ow:(oy+1)*ow]
				for ox, v := range sums {
					d[ox] = dequantize(v, scale, bias, post.relu)
				}
			}
			continue
		}
		k, st, ph, pw := post.pool.k, post.pool.stride, post.pool.out[1], post.pool.out[2]
		dst := out[o*ph*pw : (o+1)*ph*pw]
		if k == 2 && st == 2 { // the common pool
			poolPlane(dst, plane, ph, pw, ld, scale, bias, post.relu)
			continue
		}
		for py := range ph {
			for px := range pw {
				at := py*st*ld + px*st
				m := plane[at]
				for ky := range k {
					row := plane[at+ky*ld : at+ky*ld+k]
					for _, v := range row {
						m = max(m, v)
					}
				}
				dst[py*pw+px] = dequantize(m, scale, bias, post.relu)
			}
		}
	}
}

// im2colPairs gathers the patches of a pair image pw into gemm's packed
// panels b: column p, pair index kk (the taps (c, ky, 2j) and (c, ky,
// 2j+1)) holds pw[g.offs[p] + (c*hp+ky)*wp + 2j]. Columns past outH*outW
// read offset 0 (gemm computes them; nothing reads their sums).
func im2colPairs(b, pw []int32, g *gemmWeights, ch, k int) {
	for q := range g.cols / tileN {
		offs := g.offs[q*tileN : (q+1)*tileN]
		for c := range ch {
			for ky := range k {
				for j := range g.kw / 2 {
					kk := (c*k+ky)*g.kw/2 + j
					src := pw[(c*g.hp+ky)*g.wp+2*j:]
					dst := b[(q*g.kp+kk)*tileN : (q*g.kp+kk+1)*tileN]
					for l, o := range offs {
						dst[l] = src[o]
					}
				}
			}
		}
	}
}
