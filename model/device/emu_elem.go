package device

// emuBiasAct is bias_act's Go twin: thread i = ctaid.x·ntid.x + tid.x
// sets y[i] = act(y[i] + bias[i mod cols]) for i < rows·cols.
func emuBiasAct(l *Launch) error {
	rows, cols, act := l.Int(0), l.Int(1), Act(l.Int(2))
	if rows < 1 || cols < 1 {
		return nil
	}
	n := uint32(int32(rows) * int32(cols)) // as the PTX: 32-bit (rows·cols < 2³¹)
	y := l.F32s(3, int(n))
	bias := l.F32s(4, cols)
	l.EachGridThread(func(b, t Dim3) {
		i := l.gridIndex(b, t)
		if i >= n {
			return
		}
		v := y[i] + bias[i%uint32(cols)]
		if act == ActReLU {
			v = relu(v)
		}
		y[i] = v
	})
	return nil
}

// relu is v > 0 ? v : 0 (NaN and -0 give +0).
func relu(v float32) float32 {
	if v > 0 {
		return v
	}
	return 0
}

// emuActGrad is act_grad's Go twin: for ReLU, thread i sets dy[i] = 0
// where y[i] > 0 does not hold; any other act touches nothing.
func emuActGrad(l *Launch) error {
	n, act := l.Int(0), Act(l.Int(1))
	if act != ActReLU || n < 1 {
		return nil
	}
	y := l.F32s(2, n)
	dy := l.F32s(3, n)
	l.EachGridThread(func(b, t Dim3) {
		i := l.gridIndex(b, t)
		if i >= uint32(n) {
			return
		}
		if !(y[i] > 0) {
			dy[i] = 0
		}
	})
	return nil
}
