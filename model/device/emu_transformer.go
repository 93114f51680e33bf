package device

import "math"

// The Go twins of the transformer's kernels (kernels/transformer.ptx).
// Every kernel is one thread per element, row or column (i = ctaid.x·
// ntid.x + tid.x, any 1-D geometry): no shared memory, no barriers, each
// thread's sums in index order, so the twins are plain loops.

// cvtRzi is cvt.rzi.s32.f32: truncation towards zero, saturating, NaN 0.
func cvtRzi(v float32) int32 {
	switch {
	case v != v:
		return 0
	case v >= math.MaxInt32:
		return math.MaxInt32
	case v <= math.MinInt32:
		return math.MinInt32
	}
	return int32(v)
}

// emuEach calls f(i) for every grid thread i < n.
func emuEach(l *Launch, n int, f func(i int)) {
	if n < 1 {
		return
	}
	l.EachGridThread(func(b, t Dim3) {
		if i := l.gridIndex(b, t); i < uint32(n) {
			f(int(i))
		}
	})
}

// emuTfmEmbed is tfm_embed's twin: out[i] = tok[id·dim + j] + pos[(r mod
// t)·dim + j] for i = r·dim + j, id = rzi(ids[r]) (NaN for an id outside
// [0, vocab)).
func emuTfmEmbed(l *Launch) error {
	rows, t, dim, vocab := l.Int(0), l.Int(1), l.Int(2), l.Int(3)
	if rows < 1 || t < 1 || dim < 1 || vocab < 1 {
		return nil
	}
	ids, tok, pos, out := l.F32s(4, rows), l.F32s(5, vocab*dim), l.F32s(6, t*dim), l.F32s(7, rows*dim)
	emuEach(l, rows*dim, func(i int) {
		r, j := i/dim, i%dim
		id := cvtRzi(ids[r])
		v := nan32()
		if id >= 0 && int(id) < vocab {
			v = tok[int(id)*dim+j]
		}
		out[i] = v + pos[(r%t)*dim+j]
	})
	return nil
}

// lnEps is LayerNorm's epsilon, 1e-5 (0f3727C5AC).
const lnEps float32 = 1e-5

// emuTfmLayerNorm is tfm_layernorm's twin: thread r normalizes row r:
// mean = (Σ x)·inv, var = (Σ (x−mean)²)·inv with inv = 1/dim, rstd =
// 1/sqrt(var + 1e-5), y = ((x−mean)·rstd)·w (+ b), keeping mean and rstd.
func emuTfmLayerNorm(l *Launch) error {
	rows, dim, hasBias := l.Int(0), l.Int(1), l.Int(2) != 0
	if rows < 1 || dim < 1 {
		return nil
	}
	x, w := l.F32s(3, rows*dim), l.F32s(4, dim)
	var b []float32
	if hasBias {
		b = l.F32s(5, dim)
	}
	y, mean, rstd := l.F32s(6, rows*dim), l.F32s(7, rows), l.F32s(8, rows)
	inv := 1 / float32(dim)
	emuEach(l, rows, func(r int) {
		xr, yr := x[r*dim:(r+1)*dim], y[r*dim:(r+1)*dim]
		var s float32
		for _, v := range xr {
			s += v
		}
		m := float32(s * inv)
		var q float32
		for _, v := range xr {
			d := v - m
			q += float32(d * d)
		}
		q = float32(q * inv)
		rs := 1 / float32(math.Sqrt(float64(q+lnEps)))
		mean[r], rstd[r] = m, rs
		for j, v := range xr {
			o := float32(float32((v-m)*rs) * w[j])
			if hasBias {
				o += b[j]
			}
			yr[j] = o
		}
	})
	return nil
}

// emuTfmLayerNormDx is tfm_layernorm_dx's twin: thread r computes a =
// Σ g·w, b = Σ (g·w)·(x−mean), c2 = (rstd·a)·inv, c3 = (rstd·rstd·rstd·b)·inv
// and dx = ((rstd·g)·w − c2) − c3·(x−mean), plus res (read first) if hasRes.
func emuTfmLayerNormDx(l *Launch) error {
	rows, dim, hasRes := l.Int(0), l.Int(1), l.Int(2) != 0
	if rows < 1 || dim < 1 {
		return nil
	}
	x, w, g := l.F32s(3, rows*dim), l.F32s(4, dim), l.F32s(5, rows*dim)
	mean, rstd := l.F32s(6, rows), l.F32s(7, rows)
	var res []float32
	if hasRes {
		res = l.F32s(8, rows*dim)
	}
	dx := l.F32s(9, rows*dim)
	inv := 1 / float32(dim)
	emuEach(l, rows, func(r int) {
		o := r * dim
		m, rs := mean[r], rstd[r]
		var a, b float32
		for j := range dim {
			gw := float32(g[o+j] * w[j])
			a += gw
			b += float32(gw * (x[o+j] - m))
		}
		c2 := float32(float32(rs*a) * inv)
		c3 := float32(float32(float32(float32(rs*rs)*rs)*b) * inv)
		for j := range dim {
			v := float32(float32(rs*g[o+j])*w[j]) - c2
			v -= float32(c3 * (x[o+j] - m))
			if hasRes {
				v = res[o+j] + v
			}
			dx[o+j] = v
		}
	})
	return nil
}

// emuTfmLayerNormDwb is tfm_layernorm_dwb's twin: thread j sets dw[j] =
// beta·dw[j] + Σ_r (g·(x−mean))·rstd and, if hasBias, db[j] = beta·db[j]
// + Σ_r g, in row order (beta 0: not read).
func emuTfmLayerNormDwb(l *Launch) error {
	rows, dim, hasBias, beta := l.Int(0), l.Int(1), l.Int(2) != 0, l.Float(7)
	if dim < 1 {
		return nil
	}
	rows = max(rows, 0)
	var x, g, mean, rstd []float32
	if rows > 0 {
		x, g, mean, rstd = l.F32s(3, rows*dim), l.F32s(4, rows*dim), l.F32s(5, rows), l.F32s(6, rows)
	}
	dw := l.F32s(8, dim)
	var db []float32
	if hasBias {
		db = l.F32s(9, dim)
	}
	emuEach(l, dim, func(j int) {
		var sw, sb float32
		if beta != 0 {
			sw = float32(beta * dw[j])
			if hasBias {
				sb = float32(beta * db[j])
			}
		}
		for r := range rows {
			gv := g[r*dim+j]
			sw += float32(float32(gv*(x[r*dim+j]-mean[r])) * rstd[r])
			sb += gv
		}
		dw[j] = sw
		if hasBias {
			db[j] = sb
		}
	})
	return nil
}

// geluTwin is the kernels' GELU(z) and GELU'(z): the CPU model's formula
// (Abramowitz and Stegun 7.1.26 for erf, as model.geluf32) with
// e^(−z²/2) = ex2((−0.5·z)·z·log2e):
//
//	u = |z·(1/√2)|, t = 1/(1 + p·u), e = e^(−z²/2)
//	tail = ((0.5·P(t))·t)·e, P(t) = (((a5·t + a4)·t + a3)·t + a2)·t + a1
//	Φ = z ≥ 0 ? 1 − tail : tail;  GELU = z·Φ;  GELU' = Φ + (z·e)·(1/√(2π))
func geluTwin(z float32) (y, dy float32) {
	const (
		invSqrt2   float32 = 0.70710678118654752
		invSqrt2Pi float32 = 0.39894228040143268
		p          float32 = 0.3275911
		a1         float32 = 0.254829592
		a2         float32 = -0.284496736
		a3         float32 = 1.421413741
		a4         float32 = -1.453152027
		a5         float32 = 1.061405429
	)
	u := float32(z * invSqrt2)
	if u < 0 {
		u = -u
	}
	t := 1 / (float32(p*u) + 1)
	e := ex2(float32(float32(float32(-0.5*z)*z) * log2e))
	poly := float32(a5*t) + a4
	poly = float32(poly*t) + a3
	poly = float32(poly*t) + a2
	poly = float32(poly*t) + a1
	tail := float32(float32(float32(0.5*poly)*t) * e)
	cdf := tail
	if z >= 0 {
		cdf = 1 - tail
	}
	return z * cdf, cdf + float32(float32(z*e)*invSqrt2Pi)
}

// emuTfmBiasGelu is tfm_bias_gelu's twin: thread i sets z[i] += bias[i
// mod cols] (if hasBias) and y[i] = GELU(z[i]).
func emuTfmBiasGelu(l *Launch) error {
	rows, cols, hasBias := l.Int(0), l.Int(1), l.Int(2) != 0
	if rows < 1 || cols < 1 {
		return nil
	}
	z := l.F32s(3, rows*cols)
	var bias []float32
	if hasBias {
		bias = l.F32s(4, cols)
	}
	y := l.F32s(5, rows*cols)
	emuEach(l, rows*cols, func(i int) {
		v := z[i]
		if hasBias {
			v += bias[i%cols]
		}
		z[i] = v
		y[i], _ = geluTwin(v)
	})
	return nil
}

// emuTfmGeluGrad is tfm_gelu_grad's twin: dy[i] *= GELU'(z[i]).
func emuTfmGeluGrad(l *Launch) error {
	n := l.Int(0)
	if n < 1 {
		return nil
	}
	z, dy := l.F32s(1, n), l.F32s(2, n)
	emuEach(l, n, func(i int) {
		_, d := geluTwin(z[i])
		dy[i] *= d
	})
	return nil
}

// emuTfmCausalSoftmax is tfm_causal_softmax's twin: thread r turns row r
// of the rows×t scores s (query i = r mod t) into p: m = max_{j≤i} s_j,
// e_j = ex2(((s_j − m)·scale)·log2e), p_j = e_j·(1/Σ e) for j ≤ i, 0
// after; s and p may be the same buffer.
func emuTfmCausalSoftmax(l *Launch) error {
	rows, t, scale := l.Int(0), l.Int(1), l.Float(2)
	if rows < 1 || t < 1 {
		return nil
	}
	s, p := l.F32s(3, rows*t), l.F32s(4, rows*t)
	emuEach(l, rows, func(r int) {
		i, o := r%t, r*t
		m := s[o]
		for j := 1; j <= i; j++ {
			m = max32(m, s[o+j])
		}
		var sum float32
		for j := 0; j <= i; j++ {
			e := ex2(float32(float32((s[o+j]-m)*scale) * log2e))
			p[o+j] = e
			sum += e
		}
		inv := 1 / sum
		for j := 0; j <= i; j++ {
			p[o+j] *= inv
		}
		for j := i + 1; j < t; j++ {
			p[o+j] = 0
		}
	})
	return nil
}

// max32 is max.f32: the larger operand, the non-NaN one if one is NaN.
func max32(a, b float32) float32 {
	switch {
	case a != a:
		return b
	case b != b:
		return a
	case a == b && a == 0: // +0 above -0
		if math.Signbit(float64(a)) {
			return b
		}
		return a
	case b > a:
		return b
	}
	return a
}

// emuTfmCausalSoftmaxGrad is tfm_causal_softmax_grad's twin: thread r
// turns row r of d (the gradient of the weights p, query i = r mod t)
// into that of the scores: dot = Σ_{j≤i} p_j·d_j, d_j = (p_j·(d_j −
// dot))·scale for j ≤ i, 0 after.
func emuTfmCausalSoftmaxGrad(l *Launch) error {
	rows, t, scale := l.Int(0), l.Int(1), l.Float(2)
	if rows < 1 || t < 1 {
		return nil
	}
	p, d := l.F32s(3, rows*t), l.F32s(4, rows*t)
	emuEach(l, rows, func(r int) {
		i, o := r%t, r*t
		var dot float32
		for j := 0; j <= i; j++ {
			dot += float32(p[o+j] * d[o+j])
		}
		for j := 0; j <= i; j++ {
			d[o+j] = float32(p[o+j]*(d[o+j]-dot)) * scale
		}
		for j := i + 1; j < t; j++ {
			d[o+j] = 0
		}
	})
	return nil
}

// Mix64 is splitmix64's finalizer, the dropout hash (model's mix64).
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// emuTfmDropout is tfm_dropout's twin: y[i] = x[i]·f with f = 0 if the
// top 32 bits of mix64(key + i·0x9e3779b97f4a7c15) are below thr, else
// scale (key = keyHi·2³² + keyLo); x and y may be the same buffer.
func emuTfmDropout(l *Launch) error {
	n := l.Int(0)
	if n < 1 {
		return nil
	}
	key := uint64(uint32(l.Int(2)))<<32 | uint64(uint32(l.Int(1)))
	thr, scale := uint32(l.Int(3)), l.Float(4)
	x, y := l.F32s(5, n), l.F32s(6, n)
	emuEach(l, n, func(i int) {
		f := scale
		if uint32(mix64(key+uint64(i)*0x9e3779b97f4a7c15)>>32) < thr {
			f = 0
		}
		y[i] = x[i] * f
	})
	return nil
}

// emuTfmAdd is tfm_add's twin: y[i] = a[i] + b[i] (y may be a or b).
func emuTfmAdd(l *Launch) error {
	n := l.Int(0)
	if n < 1 {
		return nil
	}
	a, b, y := l.F32s(1, n), l.F32s(2, n), l.F32s(3, n)
	emuEach(l, n, func(i int) { y[i] = a[i] + b[i] })
	return nil
}
