package device

import "fmt"

// The typed launches of the convolution kernels (kernels/cnn.ptx): a
// convolution is im2col, one sgemm per layer over the columns of every
// sample, and for its input gradient an sgemm and col2im; pooling keeps
// the index of each window's maximum for its backward pass. The
// convolution stack keeps its tensors channel-major, [C, N, H, W], so
// that a whole batch is one GEMM; chan_bias_act and chan_sum are the
// per-channel bias and its gradient on that layout, swap01 converts it
// to and from the [N, C·H·W] rows dense layers read; relu is a ReLU not
// fused into the layer before it.

// ConvGeom is the geometry of a convolution's input and columns: C
// channels of N samples of H×W values, element (c, n, y, x) at c·CS +
// n·NS + y·W + x (CS = H·W, NS = C·H·W for [N, C, H, W]; CS = N·H·W,
// NS = H·W for [C, N, H, W]); K×K taps, zero padding Pad on every side,
// Stride, and OH×OW output positions. The columns are a (C·K·K) ×
// (N·OH·OW) matrix: row (c·K + ky)·K + kx, column (n·OH + oy)·OW + ox
// holds input (c, n, oy·Stride − Pad + ky, ox·Stride − Pad + kx), 0 in
// the padding.
type ConvGeom struct {
	C, N, H, W     int
	K, Pad, Stride int
	OH, OW         int
	CS, NS         int
}

// check validates g and that every index the kernels compute fits 32
// bits.
func (g ConvGeom) check(kernel string) error {
	switch {
	case g.C < 1 || g.N < 1 || g.H < 1 || g.W < 1 || g.K < 1 || g.Stride < 1 || g.OH < 1 || g.OW < 1:
		return fmt.Errorf("%w: %s: geometry %+v: sizes must be positive", ErrLaunch, kernel, g)
	case g.Pad < 0 || g.CS < 0 || g.NS < 0:
		return fmt.Errorf("%w: %s: geometry %+v: negative padding or stride", ErrLaunch, kernel, g)
	}
	if err := fit32(kernel, g.C*g.K*g.K*g.N*g.OH*g.OW, g.C*g.N*g.H*g.W, (g.C-1)*g.CS+(g.N-1)*g.NS+g.H*g.W,
		(g.OH-1)*g.Stride+g.K, (g.OW-1)*g.Stride+g.K, g.H+g.Pad, g.W+g.Pad); err != nil {
		return err
	}
	if (g.OH-1)*g.Stride+g.K > g.H+2*g.Pad || (g.OW-1)*g.Stride+g.K > g.W+2*g.Pad {
		return fmt.Errorf("%w: %s: geometry %+v: the output reaches past the padded input", ErrLaunch, kernel, g)
	}
	return nil
}

// ColRows is the number of rows of the columns (C·K·K), ColCols their
// columns (N·OH·OW).
func (g ConvGeom) ColRows() int { return g.C * g.K * g.K }

// ColCols is the number of columns of the columns matrix (N·OH·OW).
func (g ConvGeom) ColCols() int { return g.N * g.OH * g.OW }

// Im2Col unfolds x into cols (one thread per element of cols).
func Im2Col(d Device, g ConvGeom, x, cols Buffer) error {
	if err := g.check("im2col"); err != nil {
		return err
	}
	n := g.ColRows() * g.ColCols()
	return d.Launch("im2col", D1(ceilDiv(n, elemBlock)), D1(elemBlock), g.args(x, cols)...)
}

// Col2Im folds the gradient of the columns back onto the input: every
// element of x is overwritten by the sum of the column entries that read
// it, taps in order (ky, then kx, ascending); one thread per element of
// x, which gathers (no two threads write one element).
func Col2Im(d Device, g ConvGeom, cols, x Buffer) error {
	if err := g.check("col2im"); err != nil {
		return err
	}
	n := g.C * g.N * g.H * g.W
	return d.Launch("col2im", D1(ceilDiv(n, elemBlock)), D1(elemBlock), g.args(cols, x)...)
}

func (g ConvGeom) args(a, b Buffer) []Arg {
	return []Arg{I32(g.C), I32(g.N), I32(g.H), I32(g.W), I32(g.K), I32(g.Pad), I32(g.Stride), I32(g.OH), I32(g.OW), I32(g.CS), I32(g.NS), a, b}
}

// PoolGeom is the geometry of a max pooling: Planes planes of H×W
// values, Size×Size windows Stride apart, PH×PW windows (each inside the
// plane).
type PoolGeom struct {
	Planes, H, W int
	Size, Stride int
	PH, PW       int
}

func (g PoolGeom) check(kernel string) error {
	if g.Planes < 1 || g.H < 1 || g.W < 1 || g.Size < 1 || g.Stride < 1 || g.PH < 1 || g.PW < 1 {
		return fmt.Errorf("%w: %s: geometry %+v: sizes must be positive", ErrLaunch, kernel, g)
	}
	if err := fit32(kernel, g.Planes*g.H*g.W, g.Planes*g.PH*g.PW, g.Size*g.Size); err != nil {
		return err
	}
	if (g.PH-1)*g.Stride+g.Size > g.H || (g.PW-1)*g.Stride+g.Size > g.W {
		return fmt.Errorf("%w: %s: geometry %+v: a window reaches past the plane", ErrLaunch, kernel, g)
	}
	return nil
}

func (g PoolGeom) args(bufs ...Buffer) []Arg {
	out := []Arg{I32(g.Planes), I32(g.H), I32(g.W), I32(g.Size), I32(g.Stride), I32(g.PH), I32(g.PW)}
	for _, b := range bufs {
		out = append(out, b)
	}
	return out
}

// MaxPool writes each window's maximum into y (Planes×PH×PW) and the
// position of its first maximum (dy·Size + dx, windows read row by row;
// a later value wins only if greater) into idx (int32); one thread per
// window.
func MaxPool(d Device, g PoolGeom, x, y, idx Buffer) error {
	if err := g.check("maxpool"); err != nil {
		return err
	}
	return d.Launch("maxpool", D1(ceilDiv(g.Planes*g.PH*g.PW, elemBlock)), D1(elemBlock), g.args(x, y, idx)...)
}

// MaxPoolGrad overwrites dx (Planes×H×W) with the gradient of the
// pooling: each element gets the sum of dy over the windows whose
// maximum it is (windows in row-major order), 0 if none; one thread per
// element of dx.
func MaxPoolGrad(d Device, g PoolGeom, dy, idx, dx Buffer) error {
	if err := g.check("maxpool_grad"); err != nil {
		return err
	}
	return d.Launch("maxpool_grad", D1(ceilDiv(g.Planes*g.H*g.W, elemBlock)), D1(elemBlock), g.args(dy, idx, dx)...)
}

// ChanBiasAct adds bias[r] to row r of the rows×cols y and applies act,
// in place (bias_act with a bias per row: a channel-major layout).
func ChanBiasAct(d Device, rows, cols int, act Act, y, bias Buffer) error {
	if err := fit32("chan_bias_act", rows, cols, rows*cols); err != nil {
		return err
	}
	return d.Launch("chan_bias_act", D1(ceilDiv(rows*cols, elemBlock)), D1(elemBlock), I32(rows), I32(cols), I32(act), y, bias)
}

// ChanSum sets out[r] = alpha·Σ_c x[r,c] + beta·out[r] for a rows×cols x
// (one block of threads per row, each summing a strided share of the
// columns, then a tree reduction in shared memory, as ColSum).
func ChanSum(d Device, rows, cols int, x Buffer, alpha, beta float32, out Buffer) error {
	if err := fit32("chan_sum", rows, cols, rows*cols); err != nil {
		return err
	}
	return d.Launch("chan_sum", D1(rows), D1(elemBlock), I32(rows), I32(cols), x, F32(alpha), F32(beta), out)
}

// Swap01 writes x, an a×b×c array, as the b×a×c array y: y[j, i, k] =
// x[i, j, k]; one thread per element of y. Swap01(b, a, c) undoes it.
func Swap01(d Device, a, b, c int, x, y Buffer) error {
	if err := fit32("swap01", a, b, c, a*b*c); err != nil {
		return err
	}
	return d.Launch("swap01", D1(ceilDiv(a*b*c, elemBlock)), D1(elemBlock), I32(a), I32(b), I32(c), x, y)
}

// ReLU sets y[i] = x[i] > 0 ? x[i] : 0 for n values (NaN and -0 give
// +0); y may be x.
func ReLU(d Device, n int, x, y Buffer) error {
	if err := fit32("relu", n); err != nil {
		return err
	}
	return d.Launch("relu", D1(ceilDiv(n, elemBlock)), D1(elemBlock), I32(n), x, y)
}
