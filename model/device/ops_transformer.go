package device

// The typed launches of the transformer's kernels (kernels/transformer.ptx):
// one thread per element, row or column, in 1-D blocks of tfmBlock
// threads.

// tfmBlock is the block size of the transformer's kernels.
const tfmBlock = 128

// tfmLaunch launches kernel over n threads (nothing for n < 1).
func tfmLaunch(d Device, kernel string, n int, args ...Arg) error {
	if n < 1 {
		return nil
	}
	return d.Launch(kernel, D1(ceilDiv(n, tfmBlock)), D1(tfmBlock), args...)
}

// TfmEmbed sets out (rows×dim) to the token embeddings of the rows ids
// (token ids as float32) plus the position embedding of row r mod t:
// tok is vocab×dim, pos t×dim (at least).
func TfmEmbed(d Device, rows, t, dim, vocab int, ids, tok, pos, out Buffer) error {
	if err := fit32("tfm_embed", rows, t, dim, vocab, rows*dim, vocab*dim); err != nil {
		return err
	}
	return tfmLaunch(d, "tfm_embed", rows*dim, I32(rows), I32(t), I32(dim), I32(vocab), ids, tok, pos, out)
}

// TfmLayerNorm normalizes each row of x (rows×dim) into y with weight w
// and bias b (none if b is the zero Buffer), keeping each row's mean and
// 1/sqrt(var + 1e-5) in mean and rstd.
func TfmLayerNorm(d Device, rows, dim int, x, w, b, y, mean, rstd Buffer) error {
	if err := fit32("tfm_layernorm", rows, dim, rows*dim); err != nil {
		return err
	}
	has, b := optional(b, w)
	return tfmLaunch(d, "tfm_layernorm", rows, I32(rows), I32(dim), has, x, w, b, y, mean, rstd)
}

// TfmLayerNormDx sets dx to the gradient of the LayerNorm's input given
// that of its output g, plus res unless res is the zero Buffer (res may
// be dx).
func TfmLayerNormDx(d Device, rows, dim int, x, w, g, mean, rstd, res, dx Buffer) error {
	if err := fit32("tfm_layernorm_dx", rows, dim, rows*dim); err != nil {
		return err
	}
	has, res := optional(res, dx)
	return tfmLaunch(d, "tfm_layernorm_dx", rows, I32(rows), I32(dim), has, x, w, g, mean, rstd, res, dx)
}

// TfmLayerNormDwb sets dw = beta·dw + Σ_rows g·x̂ and, unless db is the
// zero Buffer, db = beta·db + Σ_rows g.
func TfmLayerNormDwb(d Device, rows, dim int, x, g, mean, rstd Buffer, beta float32, dw, db Buffer) error {
	if err := fit32("tfm_layernorm_dwb", rows, dim, rows*dim); err != nil {
		return err
	}
	has, db := optional(db, dw)
	return tfmLaunch(d, "tfm_layernorm_dwb", dim, I32(rows), I32(dim), has, x, g, mean, rstd, F32(beta), dw, db)
}

// TfmBiasGelu adds bias (none if the zero Buffer) to every row of the
// rows×cols z in place and sets y = GELU(z).
func TfmBiasGelu(d Device, rows, cols int, z, bias, y Buffer) error {
	if err := fit32("tfm_bias_gelu", rows, cols, rows*cols); err != nil {
		return err
	}
	has, bias := optional(bias, z)
	return tfmLaunch(d, "tfm_bias_gelu", rows*cols, I32(rows), I32(cols), has, z, bias, y)
}

// TfmGeluGrad multiplies dy by GELU'(z), n values.
func TfmGeluGrad(d Device, n int, z, dy Buffer) error {
	if err := fit32("tfm_gelu_grad", n); err != nil {
		return err
	}
	return tfmLaunch(d, "tfm_gelu_grad", n, I32(n), z, dy)
}

// TfmCausalSoftmax sets each row r of the rows×t p to the softmax of
// scale·s over keys 0..r mod t (0 after); s may be p.
func TfmCausalSoftmax(d Device, rows, t int, scale float32, s, p Buffer) error {
	if err := fit32("tfm_causal_softmax", rows, t, rows*t); err != nil {
		return err
	}
	return tfmLaunch(d, "tfm_causal_softmax", rows, I32(rows), I32(t), F32(scale), s, p)
}

// TfmCausalSoftmaxGrad turns dp (rows×t, the gradient of the weights p)
// into the gradient of the scores, in place.
func TfmCausalSoftmaxGrad(d Device, rows, t int, scale float32, p, dp Buffer) error {
	if err := fit32("tfm_causal_softmax_grad", rows, t, rows*t); err != nil {
		return err
	}
	return tfmLaunch(d, "tfm_causal_softmax_grad", rows, I32(rows), I32(t), F32(scale), p, dp)
}

// TfmDropout sets y[i] = x[i]·0 where element i's hash under key is
// below thr, x[i]·scale elsewhere (n values; y may be x).
func TfmDropout(d Device, n int, key uint64, thr uint32, scale float32, x, y Buffer) error {
	if err := fit32("tfm_dropout", n); err != nil {
		return err
	}
	return tfmLaunch(d, "tfm_dropout", n, I32(n), I32(int32(uint32(key))), I32(int32(uint32(key>>32))), I32(int32(thr)), F32(scale), x, y)
}

// TfmAdd sets y = a + b, n values (y may be a or b).
func TfmAdd(d Device, n int, a, b, y Buffer) error {
	if err := fit32("tfm_add", n); err != nil {
		return err
	}
	return tfmLaunch(d, "tfm_add", n, I32(n), a, b, y)
}

// optional is the flag and pointer of an optional buffer: (1, b), or (0,
// stand) when b is the zero Buffer (the kernel never reads stand).
func optional(b, stand Buffer) (I32, Buffer) {
	if b.Bytes == 0 {
		return 0, stand
	}
	return 1, b
}
