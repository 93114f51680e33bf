package device

// colSumBlock is the most threads a col_sum block may have (its shared
// slots).
const colSumBlock = 256

// emuColSum is col_sum's Go twin: block c sums column c; thread t of nt
// sums rows t, t+nt, … in order, a tree adds the nt partial sums (slot
// t+s into slot t for s = 128, …, 1), and out[c] = alpha·Σ, or
// fma(beta, out[c], alpha·Σ) if beta ≠ 0.
func emuColSum(l *Launch) error {
	rows, cols := max(l.Int(0), 0), max(l.Int(1), 0)
	return sumTwin(l, cols, rows, rows*cols, func(c, r int) int { return r*cols + c })
}

// sumTwin is the Go twin of the block sums of col_sum and chan_sum
// (arguments: rows, cols, x, alpha, beta, out): block o < outer sums the
// inner values x[at(o, i)]; thread t of nt sums i = t, t+nt, … in order, a
// tree adds the nt partial sums (slot t+s into slot t for s = 128, …, 1),
// and out[o] = alpha·Σ, or fma(beta, out[o], alpha·Σ) if beta ≠ 0. x has n
// values.
func sumTwin(l *Launch, outer, inner, n int, at func(o, i int) int) error {
	nt, err := blockOf(l, colSumBlock)
	if err != nil || outer < 1 {
		return err
	}
	alpha, beta := l.Float(3), l.Float(4)
	var x []float32
	if n > 0 {
		x = l.F32s(2, n)
	}
	out := l.F32s(5, outer)
	part := make([]float32, nt)
	l.EachBlock(func(b Dim3) {
		o := b.X
		if o >= outer {
			return
		}
		for t := range nt {
			s := float32(0)
			for i := t; i < inner; i += nt {
				s += x[at(o, i)]
			}
			part[t] = s
		}
		treeSteps(colSumBlock/2, nt, func(t, s int) { part[t] += part[t+s] })
		v := float32(alpha * part[0])
		if beta != 0 {
			v = fmaf32(beta, out[o], v)
		}
		out[o] = v
	})
	return nil
}
