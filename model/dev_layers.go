package model

import (
	"fmt"

	"github.com/ringtrain/ringtrain/model/device"
)

// devNet plans a network of kind layers on a device. Between layers a
// sample is its row-major (C, H, W) values, as on the CPU, so flatten is
// no layer at all. A LeNet block (conv2d stride 1 with a bias, relu,
// maxpool 2: see lenetBlock) is the cnn's conv block, with the CPU's
// semantics (the raw convolution pooled, then the bias and ReLU); any
// other conv2d is a conv without pooling; both are followed by a flatten
// from their channel-major output. A relu right after a linear or conv2d
// is applied by it. Layer types without device kernels (gelu, tanh,
// dropout, layernorm, embedding) are refused with ErrSpec naming them.
func devNet(spec Spec, layout []Tensor) ([]devLayer, error) {
	shapes, err := netShapes(spec)
	if err != nil {
		return nil, err
	}
	index := make(map[string]Tensor, len(layout))
	for _, t := range layout {
		index[t.Name] = t
	}
	var out []devLayer
	in, net := spec.Input, spec.Net
	for i := 0; i < len(net); i++ {
		l := net[i]
		name := fmt.Sprintf("layers.%d", i)
		w := index[name+".weight"]
		bOff := -1
		if b, ok := index[name+".bias"]; ok {
			bOff = b.Offset
		}
		act := device.ActNone
		if i+1 < len(net) && net[i+1].Type == LayerReLU {
			act = device.ActReLU
		}
		switch {
		case lenetBlock(net, i):
			c, p := shapes[i], shapes[i+2]
			out = append(out, conv{c: in[0], h: in[1], w: in[2], o: l.Out, k: l.Kernel, pad: l.Pad, stride: 1, oh: c[1], ow: c[2],
				pool: 2, pstride: 2, ph: p[1], pw: p[2], wOff: w.Offset, bOff: bOff, nchw: true, act: device.ActReLU},
				flatten{c: l.Out, per: p[1] * p[2]})
			i += 2
		case l.Type == LayerConv2D:
			c := shapes[i]
			out = append(out, conv{c: in[0], h: in[1], w: in[2], o: l.Out, k: l.Kernel, pad: l.Pad, stride: l.stride(), oh: c[1], ow: c[2],
				ph: c[1], pw: c[2], wOff: w.Offset, bOff: bOff, nchw: true, act: act},
				flatten{c: l.Out, per: c[1] * c[2]})
			i += skipReLU(act)
		case l.Type == LayerLinear && bOff >= 0:
			out = append(out, dense{in: in[0], out: l.Out, w: w.Offset, b: bOff, act: act})
			i += skipReLU(act)
		case l.Type == LayerLinear:
			out = append(out, linearNoBias{in: in[0], out: l.Out, w: w.Offset, act: act})
			i += skipReLU(act)
		case l.Type == LayerMaxPool:
			p := shapes[i]
			out = append(out, pool{c: in[0], h: in[1], w: in[2], size: l.Size, stride: l.stride(), ph: p[1], pw: p[2]})
		case l.Type == LayerReLU:
			out = append(out, reluLayer{size: sizeOfInts(in)})
		case l.Type == LayerFlatten:
		default:
			return nil, fmt.Errorf("%w: layers[%d] is %s, which has no device kernels (a device runs linear, conv2d, maxpool, relu and flatten layers; the CPU trains every layer)", ErrSpec, i, l.Type)
		}
		in = shapes[i]
	}
	if len(out) == 0 { // Spec.Validate requires a layer with parameters
		return nil, fmt.Errorf("%w: the network has no layer a device computes", ErrSpec)
	}
	return out, nil
}

// skipReLU is the number of layers to skip after a layer that applied
// act: the relu layer it fused.
func skipReLU(act device.Act) int {
	if act == device.ActReLU {
		return 1
	}
	return 0
}

// linearNoBias is a linear layer without a bias: y = act(x·W), W [in,
// out] at offset w.
type linearNoBias struct {
	in, out, w int
	act        device.Act
}

func (l linearNoBias) outPer() int       { return l.out }
func (l linearNoBias) paramLo() int      { return l.w }
func (l linearNoBias) scratch(int) []int { return nil }

func (l linearNoBias) weight(buf device.Buffer) device.Buffer { return buf.F32(l.w, l.w+l.in*l.out) }

func (l linearNoBias) forward(c devCtx, in, out device.Buffer, n int, _ []device.Buffer) error {
	if err := device.Sgemm(c.dev, false, false, n, l.out, l.in, 1, in, l.in, l.weight(c.dp), l.out, 0, out, l.out); err != nil {
		return err
	}
	if l.act == device.ActReLU {
		return device.ReLU(c.dev, n*l.out, out, out)
	}
	return nil
}

func (l linearNoBias) backward(c devCtx, in, out, dout, din device.Buffer, n int, _ []device.Buffer, beta float32) error {
	if l.act != device.ActNone {
		if err := device.ActGrad(c.dev, n*l.out, l.act, out, dout); err != nil {
			return fmt.Errorf("activation gradient: %w", err)
		}
	}
	if err := device.Sgemm(c.dev, true, false, l.in, l.out, n, 1, in, l.in, dout, l.out, beta, l.weight(c.dg), l.out); err != nil {
		return fmt.Errorf("weight gradient: %w", err)
	}
	if din.Bytes == 0 {
		return nil
	}
	if err := device.Sgemm(c.dev, false, true, n, l.in, l.out, 1, dout, l.out, l.weight(c.dp), l.out, 0, din, l.in); err != nil {
		return fmt.Errorf("input gradient: %w", err)
	}
	return nil
}

// pool is a max pooling of [c, h, w] samples: size×size windows stride
// apart, ph×pw of them, each window's gradient routed to its first
// maximum (the CPU's maxPoolOp).
type pool struct {
	c, h, w      int
	size, stride int
	ph, pw       int
}

func (l pool) outPer() int         { return l.c * l.ph * l.pw }
func (l pool) paramLo() int        { return -1 }
func (l pool) scratch(n int) []int { return []int{n * l.outPer()} } // the argmax (int32)
func (l pool) geom(n int) device.PoolGeom {
	return device.PoolGeom{Planes: n * l.c, H: l.h, W: l.w, Size: l.size, Stride: l.stride, PH: l.ph, PW: l.pw}
}

func (l pool) forward(c devCtx, in, out device.Buffer, n int, s []device.Buffer) error {
	return device.MaxPool(c.dev, l.geom(n), in, out, s[0])
}

func (l pool) backward(c devCtx, _, _, dout, din device.Buffer, n int, s []device.Buffer, _ float32) error {
	if din.Bytes == 0 {
		return nil
	}
	return device.MaxPoolGrad(c.dev, l.geom(n), dout, s[0], din)
}

// reluLayer is a relu not fused into the layer before it.
type reluLayer struct{ size int }

func (l reluLayer) outPer() int       { return l.size }
func (l reluLayer) paramLo() int      { return -1 }
func (l reluLayer) scratch(int) []int { return nil }

func (l reluLayer) forward(c devCtx, in, out device.Buffer, n int, _ []device.Buffer) error {
	return device.ReLU(c.dev, n*l.size, in, out)
}

func (l reluLayer) backward(c devCtx, _, out, dout, din device.Buffer, n int, _ []device.Buffer, _ float32) error {
	if din.Bytes == 0 {
		return nil
	}
	if err := device.ActGrad(c.dev, n*l.size, device.ActReLU, out, dout); err != nil {
		return err
	}
	return device.Swap01(c.dev, 1, 1, n*l.size, dout, din) // a copy
}
