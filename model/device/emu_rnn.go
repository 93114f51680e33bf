package device

// The Go twins of the recurrent models' kernels (kernels/rnn.ptx). All
// are elementwise: thread k = ctaid.x·ntid.x + tid.x (32-bit unsigned)
// computes one element, k past the problem does nothing, and every
// thread only reads what no thread of the same launch writes (or its own
// element).

// tokenOf is the row of a vocab-row table a float32 token id selects:
// x truncated when 0 ≤ x < vocab, else -1 (NaN included).
func tokenOf(x float32, vocab int) int {
	if x >= 0 && x < float32(vocab) {
		return int(int32(x)) // cvt.rzi.s32.f32
	}
	return -1
}

// emuEmbedGather is embed_gather's twin: element k of the rows×dim out,
// r = k / dim, j = k mod dim, is table[id·dim + j] for id =
// tokenOf(ids[r]), NaN for an id outside the table.
func emuEmbedGather(l *Launch) error {
	rows, dim, vocab := l.Int(0), l.Int(1), l.Int(2)
	if rows < 1 || dim < 1 || vocab < 1 {
		return nil
	}
	ids, table, out := l.F32s(3, rows), l.F32s(4, vocab*dim), l.F32s(5, rows*dim)
	n := uint32(rows * dim)
	l.EachGridThread(func(b, t Dim3) {
		k := l.gridIndex(b, t)
		if k >= n {
			return
		}
		r, j := int(k)/dim, int(k)%dim
		v := nan32()
		if id := tokenOf(ids[r], vocab); id >= 0 {
			v = table[id*dim+j]
		}
		out[k] = v
	})
	return nil
}

// emuEmbedGrad is embed_grad's twin: element k of the vocab×dim dtable,
// v = k / dim, j = k mod dim, is acc + g[r·dim + j] for every row r < rows
// with tokenOf(ids[r]) = v in row order, starting from acc = 0 if beta
// is 0, else beta·dtable[k].
func emuEmbedGrad(l *Launch) error {
	rows, dim, vocab, beta := l.Int(0), l.Int(1), l.Int(2), l.Float(5)
	if dim < 1 || vocab < 1 {
		return nil
	}
	rows = max(rows, 0)
	var ids, g []float32
	if rows > 0 {
		ids, g = l.F32s(3, rows), l.F32s(4, rows*dim)
	}
	dt := l.F32s(6, vocab*dim)
	n := uint32(vocab * dim)
	l.EachGridThread(func(b, t Dim3) {
		k := l.gridIndex(b, t)
		if k >= n {
			return
		}
		v, j := int(k)/dim, int(k)%dim
		acc := float32(0)
		if beta != 0 {
			acc = float32(beta * dt[k])
		}
		for r := range rows {
			if tokenOf(ids[r], vocab) == v {
				acc += g[r*dim+j]
			}
		}
		dt[k] = acc
	})
	return nil
}

// emuSeqShift is seq_shift's twin: element k of the (n·t)×w dst, row r =
// k / w (sample r / t, step r mod t), is src[k − w] (the previous step's
// row) or 0 at step 0.
func emuSeqShift(l *Launch) error {
	n, t, w := l.Int(0), l.Int(1), l.Int(2)
	if n < 1 || t < 1 || w < 1 {
		return nil
	}
	size := n * t * w
	src, dst := l.F32s(3, size), l.F32s(4, size)
	l.EachGridThread(func(b, th Dim3) {
		k := l.gridIndex(b, th)
		if k >= uint32(size) {
			return
		}
		v := float32(0)
		if r := int(k) / w; r%t != 0 {
			v = src[int(k)-w]
		}
		dst[k] = v
	})
	return nil
}

// stepArgs are the sizes every step kernel starts with: n samples of t
// steps, h units, step s; ok is false when the launch does nothing
// (a size below 1, s outside [0, t)).
func stepArgs(l *Launch) (n, t, h, s int, ok bool) {
	n, t, h, s = l.Int(0), l.Int(1), l.Int(2), l.Int(3)
	return n, t, h, s, n >= 1 && t >= 1 && h >= 1 && s >= 0 && s < t
}

// eachUnit calls f(i, j) for the thread of every (sample i, unit j), k =
// i·h + j < n·h.
func eachUnit(l *Launch, n, h int, f func(i, j int)) {
	total := uint32(n * h)
	l.EachGridThread(func(b, t Dim3) {
		if k := l.gridIndex(b, t); k < total {
			f(int(k)/h, int(k)%h)
		}
	})
}

// emuLSTMStep is lstm_step's twin: for the thread of (i, j) and row r =
// i·t + s, with G = 4h and the gate blocks q = i, f, g, o at columns q·h:
// v_q = gates[r, q·h+j] + (b_ih + b_hh)[q·h+j]; i, f, o = σ(v), g =
// tanh(v), written back over gates; c = f·c_prev + i·g (c_prev = c[r−1]
// or 0 at step 0), tc = tanh(c), out = o·tc.
func emuLSTMStep(l *Launch) error {
	n, t, h, s, ok := stepArgs(l)
	if !ok {
		return nil
	}
	g := 4 * h
	gates, bih, bhh := l.F32s(4, n*t*g), l.F32s(5, g), l.F32s(6, g)
	c, tc, out := l.F32s(7, n*t*h), l.F32s(8, n*t*h), l.F32s(9, n*t*h)
	eachUnit(l, n, h, func(i, j int) {
		r := i*t + s
		gr := gates[r*g : (r+1)*g]
		var v [4]float32
		for q := range v {
			v[q] = gr[q*h+j] + float32(bih[q*h+j]+bhh[q*h+j])
		}
		gi, gf, gg, go_ := sigmoidK(v[0]), sigmoidK(v[1]), tanhK(v[2]), sigmoidK(v[3])
		gr[j], gr[h+j], gr[2*h+j], gr[3*h+j] = gi, gf, gg, go_
		cp := float32(0)
		if s > 0 {
			cp = c[(r-1)*h+j]
		}
		cv := float32(gf*cp) + float32(gi*gg)
		tv := tanhK(cv)
		c[r*h+j], tc[r*h+j], out[r*h+j] = cv, tv, go_*tv
	})
	return nil
}

// emuLSTMStepBack is lstm_step_back's twin (the CPU's lstmBack for one
// step): with the carries dh[i, j] and dc[i, j] read as 0 at the last
// step, d = dy[r] + dh, dc' = dc + (d·o)·(1 − tc·tc), and the gates'
// pre-activation gradients di = ((dc'·g)·i)·(1 − i), df = ((dc'·c_prev)·f)·
// (1 − f), dg = (dc'·i)·(1 − g·g), do = ((d·tc)·o)·(1 − o) into dg's row r;
// the carry dc becomes dc'·f (dh is left to the recurrent GEMM).
func emuLSTMStepBack(l *Launch) error {
	n, t, h, s, ok := stepArgs(l)
	if !ok {
		return nil
	}
	g := 4 * h
	gates, c, tc, dy := l.F32s(4, n*t*g), l.F32s(5, n*t*h), l.F32s(6, n*t*h), l.F32s(7, n*t*h)
	dh, dc, dg := l.F32s(8, n*h), l.F32s(9, n*h), l.F32s(10, n*t*g)
	last := s == t-1
	eachUnit(l, n, h, func(i, j int) {
		r, u := i*t+s, i*h+j
		gr, dr := gates[r*g:(r+1)*g], dg[r*g:(r+1)*g]
		dhv, dcv := float32(0), float32(0)
		if !last {
			dhv, dcv = dh[u], dc[u]
		}
		cp := float32(0)
		if s > 0 {
			cp = c[(r-1)*h+j]
		}
		iv, fv, gv, ov, tv := gr[j], gr[h+j], gr[2*h+j], gr[3*h+j], tc[r*h+j]
		d := dy[r*h+j] + dhv
		dcn := dcv + float32(float32(d*ov)*float32(1-float32(tv*tv)))
		dr[j] = float32(float32(dcn*gv)*iv) * (1 - iv)
		dr[h+j] = float32(float32(dcn*cp)*fv) * (1 - fv)
		dr[2*h+j] = float32(dcn*iv) * float32(1-float32(gv*gv))
		dr[3*h+j] = float32(float32(d*tv)*ov) * (1 - ov)
		dc[u] = dcn * fv
	})
	return nil
}

// emuGRUStep is gru_step's twin: for the thread of (i, j) and row r =
// i·t + s, with G = 3h, gate blocks r, z, n and the step's recurrent
// product gh[i] (read as 0 at step 0): r = σ((gates_r + gh_r) + (b_ih +
// b_hh)_r), z likewise, hn = gh_n + b_hh_n (kept for backward), n =
// tanh((gates_n + r·hn) + b_ih_n); the activated r, z, n over gates; out
// = (1 − z)·n + z·h_prev (h_prev = out[r−1] or 0 at step 0).
func emuGRUStep(l *Launch) error {
	n, t, h, s, ok := stepArgs(l)
	if !ok {
		return nil
	}
	g := 3 * h
	gates, gh, bih, bhh := l.F32s(4, n*t*g), l.F32s(5, n*g), l.F32s(6, g), l.F32s(7, g)
	hn, out := l.F32s(8, n*t*h), l.F32s(9, n*t*h)
	eachUnit(l, n, h, func(i, j int) {
		r := i*t + s
		gr := gates[r*g : (r+1)*g]
		var q [3]float32
		if s > 0 {
			q = [3]float32{gh[i*g+j], gh[i*g+h+j], gh[i*g+2*h+j]}
		}
		rv := sigmoidK(float32(gr[j]+q[0]) + float32(bih[j]+bhh[j]))
		zv := sigmoidK(float32(gr[h+j]+q[1]) + float32(bih[h+j]+bhh[h+j]))
		hv := q[2] + bhh[2*h+j]
		nv := tanhK(float32(gr[2*h+j]+float32(rv*hv)) + bih[2*h+j])
		hp := float32(0)
		if s > 0 {
			hp = out[(r-1)*h+j]
		}
		gr[j], gr[h+j], gr[2*h+j] = rv, zv, nv
		hn[r*h+j] = hv
		out[r*h+j] = float32(float32(1-zv)*nv) + float32(zv*hp)
	})
	return nil
}

// emuGRUStepBack is gru_step_back's twin (the CPU's gruBack for one
// step): with the carry dh[i, j] read as 0 at the last step, d = dy[r] +
// dh, dan = (d·(1 − z))·(1 − n·n), dar = ((dan·hn)·r)·(1 − r), daz =
// ((d·(h_prev − n))·z)·(1 − z); dg's row r (input side) gets (dar, daz,
// dan), its row n·t + r (recurrent side) (dar, daz, dan·r); the carry dh
// becomes d·z (the recurrent GEMM adds the rest).
func emuGRUStepBack(l *Launch) error {
	n, t, h, s, ok := stepArgs(l)
	if !ok {
		return nil
	}
	g := 3 * h
	gates, hn, out, dy := l.F32s(4, n*t*g), l.F32s(5, n*t*h), l.F32s(6, n*t*h), l.F32s(7, n*t*h)
	dh, dg := l.F32s(8, n*h), l.F32s(9, 2*n*t*g)
	last := s == t-1
	eachUnit(l, n, h, func(i, j int) {
		r, u := i*t+s, i*h+j
		gr := gates[r*g : (r+1)*g]
		dx, dr := dg[r*g:(r+1)*g], dg[(n*t+r)*g:(n*t+r+1)*g]
		dhv := float32(0)
		if !last {
			dhv = dh[u]
		}
		hp := float32(0)
		if s > 0 {
			hp = out[(r-1)*h+j]
		}
		rv, zv, nv := gr[j], gr[h+j], gr[2*h+j]
		d := dy[r*h+j] + dhv
		dan := float32(d*float32(1-zv)) * float32(1-float32(nv*nv))
		dar := float32(float32(dan*hn[r*h+j])*rv) * (1 - rv)
		daz := float32(float32(d*float32(hp-nv))*zv) * (1 - zv)
		dx[j], dx[h+j], dx[2*h+j] = dar, daz, dan
		dr[j], dr[h+j], dr[2*h+j] = dar, daz, dan*rv
		dh[u] = d * zv
	})
	return nil
}
