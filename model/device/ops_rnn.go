package device

import "fmt"

// The typed launches of the recurrent models' kernels (kernels/rnn.ptx):
// all elementwise, one thread per output element in 1-D blocks of
// elemBlock threads. Rows of the (n·t)×w sequence matrices are r =
// sample·t + step; the step kernels run one step s of every sample.

// EmbedGather writes the rows×dim out: row r is row ids[r] of the
// vocab×dim table, ids being float32 token ids (truncated; an id outside
// [0, vocab) gives a row of NaN).
func EmbedGather(d Device, rows, dim, vocab int, ids, table, out Buffer) error {
	if err := fit32("embed_gather", rows, dim, vocab, rows*dim, vocab*dim); err != nil {
		return err
	}
	return d.Launch("embed_gather", D1(ceilDiv(rows*dim, elemBlock)), D1(elemBlock), I32(rows), I32(dim), I32(vocab), ids, table, out)
}

// EmbedGrad sets dtable (vocab×dim) to beta·dtable + the sum of the rows
// of the rows×dim g whose token ids[r] select each row, added in row
// order (one thread per element of dtable: deterministic, no atomics);
// beta 0 overwrites.
func EmbedGrad(d Device, rows, dim, vocab int, ids, g Buffer, beta float32, dtable Buffer) error {
	if err := fit32("embed_grad", rows, dim, vocab, rows*dim, vocab*dim); err != nil {
		return err
	}
	return d.Launch("embed_grad", D1(ceilDiv(vocab*dim, elemBlock)), D1(elemBlock), I32(rows), I32(dim), I32(vocab), ids, g, F32(beta), dtable)
}

// SeqShift writes dst (n·t)×w: row r is src's row r−1 (the previous
// step's), or 0 at step 0 (h_prev of every row, for dW_hh).
func SeqShift(d Device, n, t, w int, src, dst Buffer) error {
	if err := fit32("seq_shift", n, t, w, n*t*w); err != nil {
		return err
	}
	return d.Launch("seq_shift", D1(ceilDiv(n*t*w, elemBlock)), D1(elemBlock), I32(n), I32(t), I32(w), src, dst)
}

// checkStep checks a step kernel's sizes: n samples of t steps, gates
// gate columns per unit of h, step s.
func checkStep(kernel string, n, t, h, gates, s int) error {
	if s < 0 || s >= t {
		return fmt.Errorf("%w: %s: step %d outside [0, %d)", ErrLaunch, kernel, s, t)
	}
	return fit32(kernel, n, t, h, 2*n*t*gates*h)
}

// stepGrid is the grid of a step kernel: a thread per (sample, unit).
func stepGrid(n, h int) Dim3 { return D1(ceilDiv(n*h, elemBlock)) }

// LSTMStep runs step s of an LSTM layer over n samples of t steps and h
// units: gates ((n·t)×4h, gate blocks i, f, g, o) holds x·W_ih (plus
// h_prev·W_hh from step 1 on) and gets the activated gates of step s's
// rows; c and tc (the cell state and its tanh) and out (h) get step s's
// rows; b_ih and b_hh are the layer's biases (4h).
func LSTMStep(d Device, n, t, h, s int, gates, bih, bhh, c, tc, out Buffer) error {
	if err := checkStep("lstm_step", n, t, h, 4, s); err != nil {
		return err
	}
	return d.Launch("lstm_step", stepGrid(n, h), D1(elemBlock), I32(n), I32(t), I32(h), I32(s), gates, bih, bhh, c, tc, out)
}

// LSTMStepBack is backward through step s of an LSTM layer (called for s
// = t−1 down to 0): from dy (the gradient of out) and the carries dh
// (n×h, the recurrent GEMM's dG_{s+1}·W_hhᵀ) and dc (n×h), both read as
// zero at s = t−1, it writes step s's rows of dg ((n·t)×4h, the gates'
// pre-activation gradients) and the carry dc of step s−1.
func LSTMStepBack(d Device, n, t, h, s int, gates, c, tc, dy, dh, dc, dg Buffer) error {
	if err := checkStep("lstm_step_back", n, t, h, 4, s); err != nil {
		return err
	}
	return d.Launch("lstm_step_back", stepGrid(n, h), D1(elemBlock), I32(n), I32(t), I32(h), I32(s), gates, c, tc, dy, dh, dc, dg)
}

// GRUStep runs step s of a GRU layer: gates ((n·t)×3h, blocks r, z, n)
// holds x·W_ih and gets step s's activated gates, gh (n×3h) is
// h_prev·W_hh of step s (not read at step 0), hn gets W_hn·h_prev + b_hn
// of step s's rows, out (h) step s's rows.
func GRUStep(d Device, n, t, h, s int, gates, gh, bih, bhh, hn, out Buffer) error {
	if err := checkStep("gru_step", n, t, h, 3, s); err != nil {
		return err
	}
	return d.Launch("gru_step", stepGrid(n, h), D1(elemBlock), I32(n), I32(t), I32(h), I32(s), gates, gh, bih, bhh, hn, out)
}

// GRUStepBack is backward through step s of a GRU layer (s = t−1 down to
// 0): from dy and the carry dh (read as zero at s = t−1) it writes step
// s's rows of dg ((2·n·t)×3h: the input side's pre-activation gradients
// in rows 0…n·t−1, the recurrent side's in rows n·t…, whose n block is
// scaled by r) and sets dh to d·z (the recurrent GEMM then adds
// dG_h·W_hhᵀ).
func GRUStepBack(d Device, n, t, h, s int, gates, hn, out, dy, dh, dg Buffer) error {
	if err := checkStep("gru_step_back", n, t, h, 3, s); err != nil {
		return err
	}
	return d.Launch("gru_step_back", stepGrid(n, h), D1(elemBlock), I32(n), I32(t), I32(h), I32(s), gates, hn, out, dy, dh, dg)
}
