package device

// The Go twins of kernels/cnn.ptx: one thread per output element (index
// i = ctaid.x·ntid.x + tid.x, 32-bit unsigned as in the PTX), except
// chan_sum (a block per row, as col_sum).

// convGeomOf reads a ConvGeom from arguments 0…10.
func convGeomOf(l *Launch) ConvGeom {
	return ConvGeom{C: l.Int(0), N: l.Int(1), H: l.Int(2), W: l.Int(3), K: l.Int(4), Pad: l.Int(5), Stride: l.Int(6),
		OH: l.Int(7), OW: l.Int(8), CS: l.Int(9), NS: l.Int(10)}
}

// inputSpan is the number of elements of the input a ConvGeom reaches.
func (g ConvGeom) inputSpan() int { return (g.C-1)*g.CS + (g.N-1)*g.NS + g.H*g.W }

// emuIm2Col is im2col's Go twin: thread i fills cols[i].
func emuIm2Col(l *Launch) error {
	g := convGeomOf(l)
	if err := g.check("im2col"); err != nil {
		return err
	}
	cc := uint32(g.ColCols())
	total := uint32(g.ColRows()) * cc
	x := l.F32s(11, g.inputSpan())
	cols := l.F32s(12, int(total))
	kk, ohw := uint32(g.K*g.K), uint32(g.OH*g.OW)
	l.EachGridThread(func(b, t Dim3) {
		i := l.gridIndex(b, t)
		if i >= total {
			return
		}
		row, col := i/cc, i%cc
		ci, r := row/kk, row%kk
		ky, kx := r/uint32(g.K), r%uint32(g.K)
		ni, p := col/ohw, col%ohw
		oy, ox := p/uint32(g.OW), p%uint32(g.OW)
		iy := int32(oy)*int32(g.Stride) - int32(g.Pad) + int32(ky)
		ix := int32(ox)*int32(g.Stride) - int32(g.Pad) + int32(kx)
		v := float32(0)
		if uint32(iy) < uint32(g.H) && uint32(ix) < uint32(g.W) {
			v = x[int(ci)*g.CS+int(ni)*g.NS+int(iy)*g.W+int(ix)]
		}
		cols[i] = v
	})
	return nil
}

// emuCol2Im is col2im's Go twin: thread i is element (c, n, iy, ix) of
// the input (in that order), which sums its taps ky, then kx ascending.
func emuCol2Im(l *Launch) error {
	g := convGeomOf(l)
	if err := g.check("col2im"); err != nil {
		return err
	}
	cc := uint32(g.ColCols())
	cols := l.F32s(11, g.ColRows()*g.ColCols())
	x := l.F32s(12, g.inputSpan())
	total := uint32(g.C * g.N * g.H * g.W)
	nhw, hw := uint32(g.N*g.H*g.W), uint32(g.H*g.W)
	ohw := g.OH * g.OW
	l.EachGridThread(func(b, t Dim3) {
		i := l.gridIndex(b, t)
		if i >= total {
			return
		}
		ci, q := int(i/nhw), i%nhw
		ni, p := int(q/hw), q%hw
		iy, ix := int(p/uint32(g.W)), int(p%uint32(g.W))
		s := float32(0)
		for ky := range g.K {
			ty := iy + g.Pad - ky
			if ty < 0 || ty%g.Stride != 0 || ty/g.Stride >= g.OH {
				continue
			}
			oy := ty / g.Stride
			for kx := range g.K {
				tx := ix + g.Pad - kx
				if tx < 0 || tx%g.Stride != 0 || tx/g.Stride >= g.OW {
					continue
				}
				ox := tx / g.Stride
				s += cols[((ci*g.K+ky)*g.K+kx)*int(cc)+ni*ohw+oy*g.OW+ox]
			}
		}
		x[ci*g.CS+ni*g.NS+iy*g.W+ix] = s
	})
	return nil
}

// poolGeomOf reads a PoolGeom from arguments 0…6.
func poolGeomOf(l *Launch) PoolGeom {
	return PoolGeom{Planes: l.Int(0), H: l.Int(1), W: l.Int(2), Size: l.Int(3), Stride: l.Int(4), PH: l.Int(5), PW: l.Int(6)}
}

// emuMaxPool is maxpool's Go twin: thread i is window i (plane, py, px);
// the running maximum starts at the window's first value and a later
// value replaces it only if greater.
func emuMaxPool(l *Launch) error {
	g := poolGeomOf(l)
	if err := g.check("maxpool"); err != nil {
		return err
	}
	total := uint32(g.Planes * g.PH * g.PW)
	x := l.F32s(7, g.Planes*g.H*g.W)
	y := l.F32s(8, int(total))
	idx := l.I32s(9, int(total))
	php := uint32(g.PH * g.PW)
	l.EachGridThread(func(b, t Dim3) {
		i := l.gridIndex(b, t)
		if i >= total {
			return
		}
		plane, q := int(i/php), i%php
		py, px := int(q/uint32(g.PW)), int(q%uint32(g.PW))
		base := plane*g.H*g.W + py*g.Stride*g.W + px*g.Stride
		m, best := x[base], int32(0)
		for dy := range g.Size {
			for dx := range g.Size {
				if v := x[base+dy*g.W+dx]; v > m {
					m, best = v, int32(dy*g.Size+dx)
				}
			}
		}
		y[i], idx[i] = m, best
	})
	return nil
}

// emuMaxPoolGrad is maxpool_grad's Go twin: thread i is element (plane,
// y, x), which sums dy over the windows covering it (py, then px
// ascending) whose idx names it.
func emuMaxPoolGrad(l *Launch) error {
	g := poolGeomOf(l)
	if err := g.check("maxpool_grad"); err != nil {
		return err
	}
	np := g.Planes * g.PH * g.PW
	dy := l.F32s(7, np)
	idx := l.I32s(8, np)
	total := uint32(g.Planes * g.H * g.W)
	dx := l.F32s(9, int(total))
	hw := uint32(g.H * g.W)
	l.EachGridThread(func(b, t Dim3) {
		i := l.gridIndex(b, t)
		if i >= total {
			return
		}
		plane, q := int(i/hw), i%hw
		y, x := int(q/uint32(g.W)), int(q%uint32(g.W))
		ylo, yhi := poolRange(y, g.Size, g.Stride, g.PH)
		xlo, xhi := poolRange(x, g.Size, g.Stride, g.PW)
		s := float32(0)
		for py := ylo; py <= yhi; py++ {
			for px := xlo; px <= xhi; px++ {
				w := (plane*g.PH+py)*g.PW + px
				if int(idx[w]) == (y-py*g.Stride)*g.Size+(x-px*g.Stride) {
					s += dy[w]
				}
			}
		}
		dx[i] = s
	})
	return nil
}

// poolRange is the range [lo, hi] of the windows (of size, stride apart,
// count of them) that cover position y: lo = 0 if y < size, else
// (y−size)/stride + 1; hi = min(y/stride, count−1). hi < lo: none.
func poolRange(y, size, stride, count int) (lo, hi int) {
	if y >= size {
		lo = (y-size)/stride + 1
	}
	return lo, min(y/stride, count-1)
}

// emuChanBiasAct is chan_bias_act's Go twin: thread i sets y[i] =
// act(y[i] + bias[i / cols]) for i < rows·cols.
func emuChanBiasAct(l *Launch) error {
	rows, cols, act := l.Int(0), l.Int(1), Act(l.Int(2))
	if rows < 1 || cols < 1 {
		return nil
	}
	n := uint32(int32(rows) * int32(cols))
	y := l.F32s(3, int(n))
	bias := l.F32s(4, rows)
	l.EachGridThread(func(b, t Dim3) {
		i := l.gridIndex(b, t)
		if i >= n {
			return
		}
		v := y[i] + bias[i/uint32(cols)]
		if act == ActReLU {
			v = relu(v)
		}
		y[i] = v
	})
	return nil
}

// emuChanSum is chan_sum's Go twin: block r sums row r; thread t of nt
// sums columns t, t+nt, … in order, a tree adds the nt partial sums
// (slot t+s into slot t for s = 128, …, 1), and out[r] = alpha·Σ, or
// fma(beta, out[r], alpha·Σ) if beta ≠ 0.
func emuChanSum(l *Launch) error {
	rows, cols := max(l.Int(0), 0), max(l.Int(1), 0)
	return sumTwin(l, rows, cols, rows*cols, func(r, c int) int { return r*cols + c })
}

// emuSwap01 is swap01's Go twin: thread i is element i of y (b×a×c):
// k = i mod c, q = i / c, y[i] = x[(q mod a)·b + q / a, k].
func emuSwap01(l *Launch) error {
	a, b, c := l.Int(0), l.Int(1), l.Int(2)
	if a < 1 || b < 1 || c < 1 {
		return nil
	}
	n := uint32(a * b * c)
	x := l.F32s(3, int(n))
	y := l.F32s(4, int(n))
	l.EachGridThread(func(bk, t Dim3) {
		i := l.gridIndex(bk, t)
		if i >= n {
			return
		}
		k, q := i%uint32(c), i/uint32(c)
		ia, jb := q%uint32(a), q/uint32(a)
		y[i] = x[(ia*uint32(b)+jb)*uint32(c)+k]
	})
	return nil
}

// emuReLU is relu's Go twin: thread i sets y[i] = relu(x[i]) for i < n.
func emuReLU(l *Launch) error {
	n := l.Int(0)
	if n < 1 {
		return nil
	}
	x := l.F32s(1, n)
	y := l.F32s(2, n)
	l.EachGridThread(func(b, t Dim3) {
		if i := l.gridIndex(b, t); i < uint32(n) {
			y[i] = relu(x[i])
		}
	})
	return nil
}
