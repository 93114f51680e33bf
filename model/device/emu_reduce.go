package device

// colSumBlock is the most threads a col_sum block may have (its shared
// slots).
const colSumBlock = 256

// emuColSum is col_sum's Go twin: block c sums column c; thread t of nt
// sums rows t, t+nt, … in order, a tree adds the nt partial sums (slot
// t+s into slot t for s = 128, …, 1), and out[c] = alpha·Σ, or
// fma(beta, out[c], alpha·Σ) if beta ≠ 0.
func emuColSum(l *Launch) error {
	nt, err := blockOf(l, colSumBlock)
	if err != nil {
		return err
	}
	rows, cols, alpha, beta := l.Int(0), l.Int(1), l.Float(3), l.Float(4)
	if cols < 1 {
		return nil
	}
	rows = max(rows, 0)
	var x []float32
	if rows > 0 {
		x = l.F32s(2, rows*cols)
	}
	out := l.F32s(5, cols)
	part := make([]float32, nt)
	l.EachBlock(func(b Dim3) {
		c := b.X
		if c >= cols {
			return
		}
		for t := range nt {
			s := float32(0)
			for r := t; r < rows; r += nt {
				s += x[r*cols+c]
			}
			part[t] = s
		}
		treeSteps(colSumBlock/2, nt, func(t, s int) { part[t] += part[t+s] })
		v := float32(alpha * part[0])
		if beta != 0 {
			v = fmaf32(beta, out[c], v)
		}
		out[c] = v
	})
	return nil
}
