package model

import (
	"fmt"

	"github.com/ringtrain/ringtrain/model/device"
)

// conv is a convolution block on a device: y = maxpool(act(conv(x, W) +
// b)), W [o, c, k, k] at offset wOff, b [o] at offset bOff of the flat
// buffers (bOff < 0: no bias), the pooling optional (pool 0: none, ph,
// pw = oh, ow), act ReLU or none.
// Its output is channel-major, [o, n, ph, pw] (so outPer is o·ph·pw);
// its input is [n, c, h, w] (the network's input, nchw) or channel-major
// (an earlier block's output). As the CPU's convOp, it pools the raw
// convolution and adds the bias and rectifies the pooled values
// (max(ReLU(a + b)) = ReLU(max(a) + b)), routing a pooled value's
// gradient to its window's first maximum where the output is > 0.
//
// Forward: im2col into the columns (c·k·k × n·oh·ow), one sgemm for the
// whole batch (act = W·cols, o × n·oh·ow), maxpool (keeping each
// window's argmax), chan_bias_act. Backward: act_grad (ReLU), chan_sum
// (the bias gradient), maxpool_grad into act's buffer, one sgemm for
// the weight gradient (dact·colsᵀ), and for the input gradient one sgemm
// into the columns' buffer (Wᵀ·dact) and col2im.
type conv struct {
	c, h, w       int // input
	o, k, pad     int
	stride        int
	oh, ow        int // the convolution's output
	pool, pstride int // the pooling window and stride
	ph, pw        int // the pooled output
	wOff, bOff    int
	nchw          bool // the input is [n, c, h, w]
	act           device.Act
}

func (l conv) outPer() int  { return l.o * l.ph * l.pw }
func (l conv) paramLo() int { return l.wOff }
func (l conv) ckk() int     { return l.c * l.k * l.k }

// scratch: the columns, and with pooling the convolution's output (then
// its gradient) and the argmax of every window (int32).
func (l conv) scratch(n int) []int {
	if l.pool == 0 {
		return []int{l.ckk() * n * l.oh * l.ow}
	}
	return []int{l.ckk() * n * l.oh * l.ow, l.o * n * l.oh * l.ow, l.o * n * l.ph * l.pw}
}

// geom is the im2col geometry of n samples.
func (l conv) geom(n int) device.ConvGeom {
	g := device.ConvGeom{C: l.c, N: n, H: l.h, W: l.w, K: l.k, Pad: l.pad, Stride: l.stride, OH: l.oh, OW: l.ow,
		CS: n * l.h * l.w, NS: l.h * l.w}
	if l.nchw {
		g.CS, g.NS = l.h*l.w, l.c*l.h*l.w
	}
	return g
}

func (l conv) poolGeom(n int) device.PoolGeom {
	return device.PoolGeom{Planes: l.o * n, H: l.oh, W: l.ow, Size: l.pool, Stride: l.pstride, PH: l.ph, PW: l.pw}
}

func (l conv) weight(buf device.Buffer) device.Buffer { return buf.F32(l.wOff, l.wOff+l.o*l.ckk()) }
func (l conv) bias(buf device.Buffer) device.Buffer   { return buf.F32(l.bOff, l.bOff+l.o) }

func (l conv) forward(c devCtx, in, out device.Buffer, n int, s []device.Buffer) error {
	cols := s[0]
	g := l.geom(n)
	if err := device.Im2Col(c.dev, g, in, cols); err != nil {
		return fmt.Errorf("im2col: %w", err)
	}
	nc := g.ColCols()
	conv := out
	if l.pool > 0 {
		conv = s[1]
	}
	if err := device.Sgemm(c.dev, false, false, l.o, nc, l.ckk(), 1, l.weight(c.dp), l.ckk(), cols, nc, 0, conv, nc); err != nil {
		return fmt.Errorf("convolution: %w", err)
	}
	if l.pool > 0 {
		if err := device.MaxPool(c.dev, l.poolGeom(n), conv, out, s[2]); err != nil {
			return fmt.Errorf("pooling: %w", err)
		}
	}
	per := n * l.ph * l.pw
	switch {
	case l.bOff >= 0:
		return device.ChanBiasAct(c.dev, l.o, per, l.act, out, l.bias(c.dp))
	case l.act == device.ActReLU:
		return device.ReLU(c.dev, l.o*per, out, out)
	}
	return nil
}

func (l conv) backward(c devCtx, _, out, dout, din device.Buffer, n int, s []device.Buffer, beta float32) error {
	cols := s[0]
	per := n * l.ph * l.pw
	if l.act != device.ActNone {
		if err := device.ActGrad(c.dev, l.o*per, l.act, out, dout); err != nil {
			return fmt.Errorf("activation gradient: %w", err)
		}
	}
	if l.bOff >= 0 {
		if err := device.ChanSum(c.dev, l.o, per, dout, 1, beta, l.bias(c.dg)); err != nil {
			return fmt.Errorf("bias gradient: %w", err)
		}
	}
	dact := dout
	if l.pool > 0 {
		dact = s[1]
		if err := device.MaxPoolGrad(c.dev, l.poolGeom(n), dout, s[2], dact); err != nil {
			return fmt.Errorf("pooling gradient: %w", err)
		}
	}
	g := l.geom(n)
	nc := g.ColCols()
	if err := device.Sgemm(c.dev, false, true, l.o, l.ckk(), nc, 1, dact, nc, cols, nc, beta, l.weight(c.dg), l.ckk()); err != nil {
		return fmt.Errorf("weight gradient: %w", err)
	}
	if din.Bytes == 0 {
		return nil
	}
	// The columns are not needed any more: their gradient replaces them.
	if err := device.Sgemm(c.dev, true, false, l.ckk(), nc, l.o, 1, l.weight(c.dp), l.ckk(), dact, nc, 0, cols, nc); err != nil {
		return fmt.Errorf("column gradient: %w", err)
	}
	if err := device.Col2Im(c.dev, g, cols, din); err != nil {
		return fmt.Errorf("input gradient: %w", err)
	}
	return nil
}

// flatten turns a channel-major [c, n, per] tensor into the rows [n,
// c·per] that dense layers read (each sample C-major, as the CPU's
// flatten), and its gradient back.
type flatten struct{ c, per int }

func (l flatten) outPer() int       { return l.c * l.per }
func (l flatten) paramLo() int      { return -1 }
func (l flatten) scratch(int) []int { return nil }

func (l flatten) forward(c devCtx, in, out device.Buffer, n int, _ []device.Buffer) error {
	return device.Swap01(c.dev, l.c, n, l.per, in, out)
}

func (l flatten) backward(c devCtx, _, _, dout, din device.Buffer, n int, _ []device.Buffer, _ float32) error {
	if din.Bytes == 0 {
		return nil
	}
	return device.Swap01(c.dev, n, l.c, l.per, dout, din)
}

// devCNN is the cnn: two conv blocks (see cnnGeometry), flatten, then
// the fc layers as the mlp's (ReLU but for the last).
func devCNN(spec Spec, layout []Tensor) []devLayer {
	g := cnnGeometryOf(spec)
	c := spec.Input[0]
	c0 := conv{c: c, h: g.conv0H, w: g.conv0W, o: cnnConv0Out, k: cnnKernel, pad: cnnConv0Pad, stride: 1,
		oh: g.conv0H, ow: g.conv0W, pool: cnnPool, pstride: cnnPool, ph: g.pool0H, pw: g.pool0W,
		wOff: layout[0].Offset, bOff: layout[1].Offset, nchw: true, act: device.ActReLU}
	c1 := conv{c: cnnConv0Out, h: g.pool0H, w: g.pool0W, o: cnnConv1Out, k: cnnKernel, stride: 1,
		oh: g.conv1H, ow: g.conv1W, pool: cnnPool, pstride: cnnPool, ph: g.pool1H, pw: g.pool1W,
		wOff: layout[2].Offset, bOff: layout[3].Offset, act: device.ActReLU}
	out := []devLayer{c0, c1, flatten{c: cnnConv1Out, per: g.pool1H * g.pool1W}}
	in := c1.outPer()
	fc := layout[4:]
	for i := 0; i+1 < len(fc); i += 2 {
		w, b := fc[i], fc[i+1]
		l := dense{in: in, out: w.Shape[1], w: w.Offset, b: b.Offset, act: device.ActReLU}
		if i+2 == len(fc) {
			l.act = device.ActNone
		}
		out = append(out, l)
		in = l.out
	}
	return out
}
