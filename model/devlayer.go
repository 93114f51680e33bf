package model

import (
	"fmt"

	"github.com/ringtrain/ringtrain/model/device"
)

// devLayer is one layer of a network on a device. A layer reads its
// input (n samples) and writes its output; backward gets the gradient of
// the loss with respect to its output (which it may overwrite) and writes
// its parameters' gradients (accumulating when beta is 1) and, unless din
// is the zero Buffer, the gradient with respect to its input.
type devLayer interface {
	// outPer is the number of output values per sample.
	outPer() int
	// paramLo is the lowest offset from which on every gradient of the
	// flat buffer is final once this layer ran backward (usually its own
	// parameters' lowest offset; a layer that shares a tensor with an
	// earlier layer, e.g. a tied embedding, excludes it), or -1.
	paramLo() int
	// scratch are the sizes (float32 values) of the extra device buffers a
	// pass over n samples needs.
	scratch(n int) []int
	forward(c devCtx, in, out device.Buffer, n int, s []device.Buffer) error
	backward(c devCtx, in, out, dout, din device.Buffer, n int, s []device.Buffer, beta float32) error
}

// devCtx is what layers work with: the device, its parameters and
// gradients, and the pass: training (dropout applies) and its seed (see
// Pass.Seed).
type devCtx struct {
	dev      device.Device
	dp, dg   device.Buffer
	seed     uint64
	training bool
}

// dense is a fully connected layer: y = act(x·W + b), W [in, out] at
// offset w, b [out] at offset b of the flat buffers.
type dense struct {
	in, out int
	w, b    int
	act     device.Act
}

func (l dense) outPer() int       { return l.out }
func (l dense) paramLo() int      { return l.w }
func (l dense) scratch(int) []int { return nil }

func (l dense) weight(buf device.Buffer) device.Buffer { return buf.F32(l.w, l.w+l.in*l.out) }
func (l dense) bias(buf device.Buffer) device.Buffer   { return buf.F32(l.b, l.b+l.out) }

func (l dense) forward(c devCtx, in, out device.Buffer, n int, _ []device.Buffer) error {
	if err := device.Sgemm(c.dev, false, false, n, l.out, l.in, 1, in, l.in, l.weight(c.dp), l.out, 0, out, l.out); err != nil {
		return err
	}
	return device.BiasAct(c.dev, n, l.out, l.act, out, l.bias(c.dp))
}

func (l dense) backward(c devCtx, in, out, dout, din device.Buffer, n int, _ []device.Buffer, beta float32) error {
	if l.act != device.ActNone { // dout becomes the gradient before the activation
		if err := device.ActGrad(c.dev, n*l.out, l.act, out, dout); err != nil {
			return fmt.Errorf("activation gradient: %w", err)
		}
	}
	if err := device.Sgemm(c.dev, true, false, l.in, l.out, n, 1, in, l.in, dout, l.out, beta, l.weight(c.dg), l.out); err != nil {
		return fmt.Errorf("weight gradient: %w", err)
	}
	if err := device.ColSum(c.dev, n, l.out, dout, 1, beta, l.bias(c.dg)); err != nil {
		return fmt.Errorf("bias gradient: %w", err)
	}
	if din.Bytes == 0 {
		return nil
	}
	if err := device.Sgemm(c.dev, false, true, n, l.in, l.out, 1, dout, l.out, l.weight(c.dp), l.out, 0, din, l.in); err != nil {
		return fmt.Errorf("input gradient: %w", err)
	}
	return nil
}

// devLayers plans the network of a spec on a device.
func devLayers(spec Spec, layout []Tensor) ([]devLayer, error) {
	switch spec.Kind {
	case KindMLP:
		return devMLP(spec, layout), nil
	case KindCNN:
		return devCNN(spec, layout), nil
	case KindLayers:
		return devNet(spec, layout)
	case KindTransformer:
		return devTransformer(spec, layout)
	case KindLSTM, KindGRU:
		return devRNNNet(spec, layout), nil
	}
	return nil, fmt.Errorf("%w: model kind %q does not run on a device (the CPU trains every kind)", ErrSpec, spec.Kind)
}

// devMLP is the mlp: dense layers with ReLU, the last without.
func devMLP(spec Spec, layout []Tensor) []devLayer {
	var out []devLayer
	in := spec.InputSize()
	for i := 0; i+1 < len(layout); i += 2 {
		w, b := layout[i], layout[i+1]
		l := dense{in: in, out: w.Shape[1], w: w.Offset, b: b.Offset, act: device.ActReLU}
		if i+2 == len(layout) {
			l.act = device.ActNone
		}
		out = append(out, l)
		in = l.out
	}
	return out
}
