package device

import (
	"fmt"
	"math"
)

// The typed launches of the kernels: each computes its kernel's launch
// geometry, so callers never do. Matrices are row-major float32 with a
// leading dimension (the distance between rows, in elements).

// Act is an activation applied by BiasAct and differentiated by ActGrad.
type Act int32

// Activations.
const (
	ActNone Act = 0
	ActReLU Act = 1
)

// kernelTable is the signature of every kernel (see Kernels).
func kernelTable() []Kernel {
	p := func(name string) Param { return Param{name, ParamPtr} }
	i := func(name string) Param { return Param{name, ParamI32} }
	f := func(name string) Param { return Param{name, ParamF32} }
	return []Kernel{
		{Name: "sgemm", Doc: "C = alpha·op(A)·op(B) + beta·C; op(A) M×K, op(B) K×N, C M×N; beta 0 overwrites C",
			Params: []Param{i("transA"), i("transB"), i("M"), i("N"), i("K"), f("alpha"), p("A"), i("lda"), p("B"), i("ldb"), f("beta"), p("C"), i("ldc")}},
		{Name: "bias_act", Doc: "y[r,c] = act(y[r,c] + bias[c]) in place, for a rows×cols y (rows·cols < 2³¹); act 1 is ReLU (v > 0 ? v : 0), any other act adds the bias only",
			Params: []Param{i("rows"), i("cols"), i("act"), p("y"), p("bias")}},
		{Name: "act_grad", Doc: "dy[i] *= act'(·) given the activation's output y[i], for n values: for act 1 (ReLU) dy[i] = y[i] > 0 ? dy[i] : 0; any other act is the identity",
			Params: []Param{i("n"), i("act"), p("y"), p("dy")}},
		{Name: "col_sum", Doc: "out[c] = alpha·Σ_r x[r,c] + beta·out[c], for a rows×cols x; beta 0 overwrites",
			Params: []Param{i("rows"), i("cols"), p("x"), f("alpha"), f("beta"), p("out")}},
		{Name: "softmax_xent", Doc: "per row r of rows×cols logits with label labels[r]: loss[r] = -log softmax(logits[r])[label], correct[r] = 1 if the first argmax is the label else 0, grad[r,c] = scale·(softmax - onehot); a label outside [0, cols) gives loss NaN and no onehot",
			Params: []Param{i("rows"), i("cols"), p("logits"), p("labels"), f("scale"), p("grad"), p("loss"), p("correct")}},
		{Name: "mse_loss", Doc: "per row r of rows×cols outputs against the one-hot target of labels[r]: loss[r] = mean_c (out-t)², correct[r] as softmax_xent, grad[r,c] = scale·2·(out-t)/cols; a label outside [0, cols) is the all-zero target",
			Params: []Param{i("rows"), i("cols"), p("out"), p("labels"), f("scale"), p("grad"), p("loss"), p("correct")}},
		{Name: "embed_gather", Doc: "out[r,j] = table[ids[r],j] for a rows×dim out, ids float32 token ids (truncated); an id outside [0, vocab) gives NaN",
			Params: []Param{i("rows"), i("dim"), i("vocab"), p("ids"), p("table"), p("out")}},
		{Name: "embed_grad", Doc: "dtable[v,j] = beta·dtable[v,j] + Σ_{r: ids[r] selects v} g[r,j] (rows in order), for a vocab×dim dtable; beta 0 overwrites",
			Params: []Param{i("rows"), i("dim"), i("vocab"), p("ids"), p("g"), f("beta"), p("dtable")}},
		{Name: "seq_shift", Doc: "dst[r,j] = src[r-1,j] for r mod t > 0, else 0, for (n·t)×w matrices",
			Params: []Param{i("n"), i("t"), i("w"), p("src"), p("dst")}},
		{Name: "lstm_step", Doc: "step s of an LSTM layer (gates i,f,g,o; rows sample·t+step): activates gates (+ b_ih + b_hh), writes c, tanh(c) and h",
			Params: []Param{i("n"), i("t"), i("h"), i("s"), p("gates"), p("b_ih"), p("b_hh"), p("c"), p("tc"), p("out")}},
		{Name: "lstm_step_back", Doc: "backward through step s of an LSTM layer: the gates' pre-activation gradients of step s from dy, the carries dh, dc (zero at the last step); updates dc",
			Params: []Param{i("n"), i("t"), i("h"), i("s"), p("gates"), p("c"), p("tc"), p("dy"), p("dh"), p("dc"), p("dg")}},
		{Name: "gru_step", Doc: "step s of a GRU layer (gates r,z,n; gh = h_prev·W_hh, unread at step 0): activates gates, writes hn = gh_n + b_hn and h",
			Params: []Param{i("n"), i("t"), i("h"), i("s"), p("gates"), p("gh"), p("b_ih"), p("b_hh"), p("hn"), p("out")}},
		{Name: "gru_step_back", Doc: "backward through step s of a GRU layer: the input and recurrent sides' pre-activation gradients of step s from dy and the carry dh (zero at the last step); sets dh = d·z",
			Params: []Param{i("n"), i("t"), i("h"), i("s"), p("gates"), p("hn"), p("out"), p("dy"), p("dh"), p("dg")}},
		{Name: "tfm_embed", Doc: "out[r,j] = tok[id,j] + pos[r mod t, j] for rows token ids (float32; id = rzi(ids[r]), NaN outside [0, vocab)); out rows×dim",
			Params: []Param{i("rows"), i("t"), i("dim"), i("vocab"), p("ids"), p("tok"), p("pos"), p("out")}},
		{Name: "tfm_layernorm", Doc: "per row of the rows×dim x: y = (x - mean)·rstd·w (+ b if hasBias), rstd = 1/sqrt(biased var + 1e-5); mean and rstd kept per row",
			Params: []Param{i("rows"), i("dim"), i("hasBias"), p("x"), p("w"), p("b"), p("y"), p("mean"), p("rstd")}},
		{Name: "tfm_layernorm_dx", Doc: "per row: dx = rstd·(g·w - mean(g·w) - x̂·mean(g·w·x̂)) (+ res if hasRes; res may be dx)",
			Params: []Param{i("rows"), i("dim"), i("hasRes"), p("x"), p("w"), p("g"), p("mean"), p("rstd"), p("res"), p("dx")}},
		{Name: "tfm_layernorm_dwb", Doc: "per column j: dw[j] = beta·dw[j] + Σ_r g·x̂ and (if hasBias) db[j] = beta·db[j] + Σ_r g, rows in order; beta 0 overwrites",
			Params: []Param{i("rows"), i("dim"), i("hasBias"), p("x"), p("g"), p("mean"), p("rstd"), f("beta"), p("dw"), p("db")}},
		{Name: "tfm_bias_gelu", Doc: "z[r,c] += bias[c] (if hasBias) in place, y = GELU(z) (erf form, the CPU model's approximation)",
			Params: []Param{i("rows"), i("cols"), i("hasBias"), p("z"), p("bias"), p("y")}},
		{Name: "tfm_gelu_grad", Doc: "dy[i] *= GELU'(z[i]) for n values",
			Params: []Param{i("n"), p("z"), p("dy")}},
		{Name: "tfm_causal_softmax", Doc: "per row r of rows×t scores (query i = r mod t): p = softmax(scale·s) over keys 0..i, 0 after; s may be p",
			Params: []Param{i("rows"), i("t"), f("scale"), p("s"), p("p")}},
		{Name: "tfm_causal_softmax_grad", Doc: "per row r (query i = r mod t), in place: d_j = p_j·(d_j - Σ_{k≤i} p_k·d_k)·scale for j ≤ i, 0 after",
			Params: []Param{i("rows"), i("t"), f("scale"), p("p"), p("d")}},
		{Name: "tfm_dropout", Doc: "y[i] = x[i]·(hash(key, i) < thr ? 0 : scale), the CPU model's dropout mask (splitmix64 of key + i·golden); y may be x",
			Params: []Param{i("n"), i("keyLo"), i("keyHi"), i("thr"), f("scale"), p("x"), p("y")}},
		{Name: "tfm_add", Doc: "y[i] = a[i] + b[i] for n values (y may be a or b)",
			Params: []Param{i("n"), p("a"), p("b"), p("y")}},
		{Name: "im2col", Doc: "cols[(c·K+ky)·K+kx, (n·OH+oy)·OW+ox] = x[c·CS + n·NS + iy·W + ix], iy = oy·stride−pad+ky, ix = ox·stride−pad+kx, 0 outside H×W (see ConvGeom)",
			Params: []Param{i("C"), i("N"), i("H"), i("W"), i("K"), i("pad"), i("stride"), i("OH"), i("OW"), i("CS"), i("NS"), p("x"), p("cols")}},
		{Name: "col2im", Doc: "x[c·CS + n·NS + iy·W + ix] = Σ over taps (ky, kx ascending) of the cols entries im2col fills from it; overwrites x",
			Params: []Param{i("C"), i("N"), i("H"), i("W"), i("K"), i("pad"), i("stride"), i("OH"), i("OW"), i("CS"), i("NS"), p("cols"), p("x")}},
		{Name: "maxpool", Doc: "per window (plane, py, px) of size×size, stride apart: y = its maximum, idx = dy·size+dx of its first maximum (int32)",
			Params: []Param{i("planes"), i("H"), i("W"), i("size"), i("stride"), i("PH"), i("PW"), p("x"), p("y"), p("idx")}},
		{Name: "maxpool_grad", Doc: "dx[plane, y, x] = Σ over the windows whose idx names the element of dy[window]; 0 if none; overwrites dx",
			Params: []Param{i("planes"), i("H"), i("W"), i("size"), i("stride"), i("PH"), i("PW"), p("dy"), p("idx"), p("dx")}},
		{Name: "chan_bias_act", Doc: "y[r,c] = act(y[r,c] + bias[r]) in place, for a rows×cols y (rows·cols < 2³¹); act 1 is ReLU, any other act adds the bias only",
			Params: []Param{i("rows"), i("cols"), i("act"), p("y"), p("bias")}},
		{Name: "chan_sum", Doc: "out[r] = alpha·Σ_c x[r,c] + beta·out[r], for a rows×cols x; beta 0 overwrites",
			Params: []Param{i("rows"), i("cols"), p("x"), f("alpha"), f("beta"), p("out")}},
		{Name: "swap01", Doc: "y[j,i,k] = x[i,j,k] for an a×b×c x and the b×a×c y",
			Params: []Param{i("a"), i("b"), i("c"), p("x"), p("y")}},
		{Name: "relu", Doc: "y[i] = x[i] > 0 ? x[i] : 0 for n values (NaN and -0 give +0); y may be x",
			Params: []Param{i("n"), p("x"), p("y")}},
		{Name: "optim_sgd", Doc: "one SGD step over n elements: g' = g + wd·p; rule 0: p -= lr·g' (b unread); else b = mu·b + g', p -= lr·(rule 2 (Nesterov) ? g' + mu·b : b)",
			Params: []Param{i("n"), i("rule"), f("wd"), f("lr"), f("mu"), p("p"), p("g"), p("b")}},
		{Name: "optim_adam", Doc: "one Adam step over n elements: g' = g + wd·p, p' = p·decay, m = b1·m + c1·g', v = b2·v + (g'·g')·c2, p = p' - stepSize·(m/(sqrt(v)·invBC2 + eps))",
			Params: []Param{i("n"), f("wd"), f("decay"), f("b1"), f("c1"), f("b2"), f("c2"), f("invBC2"), f("eps"), f("stepSize"), p("p"), p("g"), p("m"), p("v")}},
		{Name: "optim_adagrad", Doc: "one Adagrad step over n elements: g' = g + wd·p, s += g'·g', p -= (lr·g')/(sqrt(s) + eps)",
			Params: []Param{i("n"), f("wd"), f("lr"), f("eps"), p("p"), p("g"), p("s")}},
		{Name: "optim_rmsprop", Doc: "one RMSprop step over n elements: g' = g + wd·p, a = alpha·a + c·(g'·g'), p -= (lr·g')/(sqrt(a) + eps)",
			Params: []Param{i("n"), f("wd"), f("lr"), f("eps"), f("alpha"), f("c"), p("p"), p("g"), p("a")}},
	}
}

// ceilDiv is ⌈a/b⌉.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// gemmTile is the side of the square tile of C one sgemm block computes.
const gemmTile = 16

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on d, where op(A) is M×K
// (A stored K×M if transA), op(B) is K×N (B stored N×K if transB), and C
// is M×N. beta 0 overwrites C (its old values, NaN included, are not
// read).
func Sgemm(d Device, transA, transB bool, m, n, k int, alpha float32, a Buffer, lda int, b Buffer, ldb int, beta float32, c Buffer, ldc int) error {
	if err := fit32("sgemm", m, n, k, lda, ldb, ldc); err != nil {
		return err
	}
	grid := D2(ceilDiv(n, gemmTile), ceilDiv(m, gemmTile))
	return d.Launch("sgemm", grid, D2(gemmTile, gemmTile), b2i(transA), b2i(transB), I32(m), I32(n), I32(k), F32(alpha), a, I32(lda), b, I32(ldb), F32(beta), c, I32(ldc))
}

// fit32 checks that sizes passed as I32 arguments (and the element counts
// a kernel indexes with 32-bit integers) fit them.
func fit32(kernel string, vals ...int) error {
	for _, v := range vals {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return fmt.Errorf("%w: %s: size %d does not fit a 32-bit argument", ErrLaunch, kernel, v)
		}
	}
	return nil
}

func b2i(v bool) I32 {
	if v {
		return 1
	}
	return 0
}

// elemBlock is the block size of the elementwise kernels.
const elemBlock = 256

// BiasAct adds bias[c] to every row of the rows×cols y and applies act,
// in place.
func BiasAct(d Device, rows, cols int, act Act, y, bias Buffer) error {
	if err := fit32("bias_act", rows, cols, rows*cols); err != nil {
		return err
	}
	return d.Launch("bias_act", D1(ceilDiv(rows*cols, elemBlock)), D1(elemBlock), I32(rows), I32(cols), I32(act), y, bias)
}

// ActGrad multiplies dy by the derivative of act at the values whose
// activation is y (n values), in place.
func ActGrad(d Device, n int, act Act, y, dy Buffer) error {
	if err := fit32("act_grad", n); err != nil {
		return err
	}
	return d.Launch("act_grad", D1(ceilDiv(n, elemBlock)), D1(elemBlock), I32(n), I32(act), y, dy)
}

// ColSum sets out[c] = alpha·Σ_r x[r,c] + beta·out[c] for a rows×cols x
// (one block of threads per column, each summing a strided share of the
// rows, then a tree reduction in shared memory).
func ColSum(d Device, rows, cols int, x Buffer, alpha, beta float32, out Buffer) error {
	if err := fit32("col_sum", rows, cols); err != nil {
		return err
	}
	return d.Launch("col_sum", D1(cols), D1(elemBlock), I32(rows), I32(cols), x, F32(alpha), F32(beta), out)
}

// SoftmaxXent computes the softmax cross-entropy of each row (one block
// of threads per row): loss[r], correct[r] and grad = scale·(softmax −
// onehot). labels are int32 class ids in [0, cols).
func SoftmaxXent(d Device, rows, cols int, logits, labels Buffer, scale float32, grad, loss, correct Buffer) error {
	if err := fit32("softmax_xent", rows, cols); err != nil {
		return err
	}
	return d.Launch("softmax_xent", D1(rows), D1(rowBlock), I32(rows), I32(cols), logits, labels, F32(scale), grad, loss, correct)
}

// MSELoss computes the mean squared error of each row against its
// one-hot target (one block per row): loss[r], correct[r] and grad =
// scale·2·(out − t)/cols.
func MSELoss(d Device, rows, cols int, out, labels Buffer, scale float32, grad, loss, correct Buffer) error {
	if err := fit32("mse_loss", rows, cols); err != nil {
		return err
	}
	return d.Launch("mse_loss", D1(rows), D1(rowBlock), I32(rows), I32(cols), out, labels, F32(scale), grad, loss, correct)
}

// rowBlock is the block size of the per-row kernels.
const rowBlock = 128
