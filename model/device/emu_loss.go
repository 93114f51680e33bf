package device

// rowArgs are the arguments of the per-row loss kernels (softmax_xent,
// mse_loss): rows, cols, x, labels, scale, grad, loss, correct.
type rowArgs struct {
	rows, cols    int
	x, grad       []float32 // rows×cols
	labels        []int32   // rows
	loss, correct []float32 // rows
	scale         float32
	nt            int       // threads per block
	val, sum      []float32 // the block's shared slots
	idx           []int32
}

// loadRowArgs reads a per-row kernel's arguments; ok is false when the
// kernel touches nothing (no rows or no columns).
func loadRowArgs(l *Launch) (a rowArgs, ok bool, err error) {
	if a.nt, err = blockOf(l, rowBlock); err != nil {
		return a, false, err
	}
	a.rows, a.cols = l.Int(0), l.Int(1)
	if a.rows < 1 || a.cols < 1 {
		return a, false, nil
	}
	n := a.rows * a.cols
	a.x = l.F32s(2, n)
	a.labels = l.I32s(3, a.rows)
	a.scale = l.Float(4)
	a.grad = l.F32s(5, n)
	a.loss = l.F32s(6, a.rows)
	a.correct = l.F32s(7, a.rows)
	a.val, a.sum, a.idx = make([]float32, a.nt), make([]float32, a.nt), make([]int32, a.nt)
	return a, true, nil
}

// argmaxTree is the tree of the first maximum over the slots val, idx.
func (a *rowArgs) argmaxTree() {
	treeSteps(rowBlock/2, a.nt, func(t, s int) {
		if argmaxWins(a.val[t], a.idx[t], a.val[t+s], a.idx[t+s]) {
			a.val[t], a.idx[t] = a.val[t+s], a.idx[t+s]
		}
	})
}

// oneIf is 1 if b, else 0.
func oneIf(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// emuSoftmaxXent is softmax_xent's Go twin: block r handles row r in
// three passes (thread t over columns t, t+nt, …): the first maximum m at
// column a (tree), S = Σ e_c with e_c = ex2((x_c − m)·log2e) (tree), then
// grad = scale·(e_c/S − [c == l]); loss = lg2(S)·ln2 − (x_l − m) (NaN for
// a label outside the row) and correct = [a == l].
func emuSoftmaxXent(l *Launch) error {
	a, ok, err := loadRowArgs(l)
	if err != nil || !ok {
		return err
	}
	e := func(x, m float32) float32 { return ex2((x - m) * log2e) }
	l.EachBlock(func(b Dim3) {
		r := b.X
		if r >= a.rows {
			return
		}
		x, grad := a.x[r*a.cols:(r+1)*a.cols], a.grad[r*a.cols:(r+1)*a.cols]
		label := a.labels[r]
		for t := range a.nt {
			v, i := negInf32(), int32(noIndex)
			for c := t; c < a.cols; c += a.nt {
				v, i = argmaxStep(v, i, x[c], int32(c))
			}
			a.val[t], a.idx[t] = v, i
		}
		a.argmaxTree()
		m, am := a.val[0], a.idx[0]
		for t := range a.nt {
			s := float32(0)
			for c := t; c < a.cols; c += a.nt {
				s += e(x[c], m)
			}
			a.sum[t] = s
		}
		treeSteps(rowBlock/2, a.nt, func(t, s int) { a.sum[t] += a.sum[t+s] })
		total := a.sum[0]
		for c := range a.cols {
			p := e(x[c], m) / total
			if int32(c) == label {
				p -= 1
			}
			grad[c] = a.scale * p
		}
		loss := nan32()
		if label >= 0 && int(label) < a.cols {
			loss = float32(lg2(total)*ln2) - (x[label] - m) // rounded: never fused
		}
		a.loss[r] = loss
		a.correct[r] = oneIf(am == label)
	})
	return nil
}

// emuMSELoss is mse_loss's Go twin: block r handles row r in one pass
// (thread t over columns t, t+nt, …): the first maximum, d_c = o_c −
// [c == l], Σ fma(d_c, d_c, ·) and grad = ((scale·2)/cols)·d_c; one tree
// reduces the maximum and the sum; loss = Σ/cols, correct = [a == l].
func emuMSELoss(l *Launch) error {
	a, ok, err := loadRowArgs(l)
	if err != nil || !ok {
		return err
	}
	colsf := float32(a.cols)
	k := (a.scale * 2) / colsf
	l.EachBlock(func(b Dim3) {
		r := b.X
		if r >= a.rows {
			return
		}
		o, grad := a.x[r*a.cols:(r+1)*a.cols], a.grad[r*a.cols:(r+1)*a.cols]
		label := a.labels[r]
		for t := range a.nt {
			v, i, sq := negInf32(), int32(noIndex), float32(0)
			for c := t; c < a.cols; c += a.nt {
				v, i = argmaxStep(v, i, o[c], int32(c))
				d := o[c] - oneIf(int32(c) == label)
				sq = fmaf32(d, d, sq)
				grad[c] = k * d
			}
			a.val[t], a.idx[t], a.sum[t] = v, i, sq
		}
		treeSteps(rowBlock/2, a.nt, func(t, s int) {
			if argmaxWins(a.val[t], a.idx[t], a.val[t+s], a.idx[t+s]) {
				a.val[t], a.idx[t] = a.val[t+s], a.idx[t+s]
			}
			a.sum[t] += a.sum[t+s]
		})
		a.loss[r] = a.sum[0] / colsf
		a.correct[r] = oneIf(a.idx[0] == label)
	})
	return nil
}
