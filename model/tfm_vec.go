package model

// Elementwise kernels over slices: AVX2/FMA assembly on amd64 for the
// bulk (tfm_vec_amd64.s), the scalar float32 functions of tfm_math.go for
// the tail, other architectures and the purego build (and as the tests'
// reference).

// geluSlice is x[i] = GELU(x[i]) and, when d is not nil, d[i] = GELU'(x[i])
// (d as long as x).
func geluSlice(x, d []float32) {
	bulk := 0
	if useTfmAsm {
		bulk = len(x) &^ 7
		if bulk > 0 {
			if d != nil {
				geluDerivAVX2(&x[0], &d[:bulk][0], bulk)
			} else {
				geluAVX2(&x[0], bulk)
			}
		}
	}
	for i := bulk; i < len(x); i++ {
		y, dy := geluf32(x[i])
		x[i] = y
		if d != nil {
			d[i] = dy
		}
	}
}

// expSum is x[i] = e^((x[i]-m)·scale), returning the sum.
func expSum(x []float32, m, scale float32) float32 {
	bulk := 0
	var sum float32
	if useTfmAsm {
		bulk = len(x) &^ 7
		if bulk > 0 {
			sum = expSumAVX2(&x[0], bulk, m, scale)
		}
	}
	for i := bulk; i < len(x); i++ {
		e := expf32((x[i] - m) * scale)
		x[i] = e
		sum += e
	}
	return sum
}

// asmRow reports whether a row of n values runs in assembly.
func asmRow(n int) bool { return useTfmAsm && n > 0 && n%8 == 0 }

// lnStats is the mean of x and its biased variance (inv = 1/len(x)).
func lnStats(x []float32, inv float32) (mean, variance float32) {
	if asmRow(len(x)) {
		return lnStatsAVX2(&x[0], len(x), inv)
	}
	return lnStatsGo(x, inv)
}

func lnStatsGo(x []float32, inv float32) (mean, variance float32) {
	mean = sumf32(x) * inv
	return mean, sumSqDev(x, mean) * inv
}

// sumf32 is Σ x in four interleaved partial sums (a float32 add's latency,
// not its throughput, bounds a single running sum).
func sumf32(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSqDev is Σ (x - mean)², as sumf32.
func sumSqDev(x []float32, mean float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		d0, d1, d2, d3 := v[0]-mean, v[1]-mean, v[2]-mean, v[3]-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := x[i] - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// lnNorm is y = (x - mean)·rstd·w (+ b, unless b is nil).
func lnNorm(x, w, b, y []float32, mean, rstd float32) {
	w, y = w[:len(x)], y[:len(x)]
	if asmRow(len(x)) {
		var bp *float32
		if b != nil {
			bp = &b[:len(x)][0]
		}
		lnNormAVX2(&x[0], &w[0], bp, &y[0], len(x), mean, rstd)
		return
	}
	lnNormGo(x, w, b, y, mean, rstd)
}

func lnNormGo(x, w, b, y []float32, mean, rstd float32) {
	w, y = w[:len(x)], y[:len(x)]
	if b != nil {
		b = b[:len(x)]
		for j, v := range x {
			y[j] = (v-mean)*rstd*w[j] + b[j]
		}
		return
	}
	for j, v := range x {
		y[j] = (v - mean) * rstd * w[j]
	}
}

// lnGradSums is Σ g·w and Σ g·w·(x - mean), in interleaved partial sums
// (as sumf32).
func lnGradSums(x, w, g []float32, mean float32) (a, b float32) {
	w, g = w[:len(x)], g[:len(x)]
	if asmRow(len(x)) {
		return lnGradSumsAVX2(&x[0], &w[0], &g[0], len(x), mean)
	}
	return lnGradSumsGo(x, w, g, mean)
}

func lnGradSumsGo(x, w, g []float32, mean float32) (a, b float32) {
	w, g = w[:len(x)], g[:len(x)]
	var a0, a1, b0, b1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		g0, g1 := g[i]*w[i], g[i+1]*w[i+1]
		a0 += g0
		a1 += g1
		b0 += g0 * (x[i] - mean)
		b1 += g1 * (x[i+1] - mean)
	}
	for ; i < len(x); i++ {
		gw := g[i] * w[i]
		a0 += gw
		b0 += gw * (x[i] - mean)
	}
	return a0 + a1, b0 + b1
}

// lnDx is dx = c1·g·w - c2 - c3·(x - mean).
func lnDx(x, w, g, dx []float32, mean, c1, c2, c3 float32) {
	w, g, dx = w[:len(x)], g[:len(x)], dx[:len(x)]
	if asmRow(len(x)) {
		lnDxAVX2(&x[0], &w[0], &g[0], &dx[0], len(x), mean, c1, c2, c3)
		return
	}
	lnDxGo(x, w, g, dx, mean, c1, c2, c3)
}

func lnDxGo(x, w, g, dx []float32, mean, c1, c2, c3 float32) {
	w, g, dx = w[:len(x)], g[:len(x)], dx[:len(x)]
	for j, v := range x {
		dx[j] = c1*g[j]*w[j] - c2 - c3*(v-mean)
	}
}

// lnDw is dw += g·(x - mean)·rstd.
func lnDw(x, g, dw []float32, mean, rstd float32) {
	g, dw = g[:len(x)], dw[:len(x)]
	if asmRow(len(x)) {
		lnDwAVX2(&x[0], &g[0], &dw[0], len(x), mean, rstd)
		return
	}
	lnDwGo(x, g, dw, mean, rstd)
}

func lnDwGo(x, g, dw []float32, mean, rstd float32) {
	g, dw = g[:len(x)], dw[:len(x)]
	for j, v := range x {
		dw[j] += g[j] * (v - mean) * rstd
	}
}
