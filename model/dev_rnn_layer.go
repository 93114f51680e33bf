package model

import (
	"fmt"

	"github.com/ringtrain/ringtrain/model/device"
)

// devRNN is one recurrent layer (the CPU's rnnOp): t steps of h units
// over inputs of in values, W_ih (in×G), W_hh (h×G), b_ih and b_hh (G)
// at their offsets, G = gates·h. Forward is one GEMM for the input side
// of every row, then per step the recurrent GEMM of the n samples
// (sgemm on row views with leading dimension t·w) and the step kernel;
// backward runs the steps from the last, then dW_ih, dW_hh, the biases'
// and the input's gradients are a GEMM or a column sum each over every
// row, as on the CPU.
type devRNN struct {
	cell               rnnCell
	t, in, h           int
	wih, whh, bih, bhh int
}

func (l devRNN) outPer() int  { return l.t * l.h }
func (l devRNN) paramLo() int { return l.wih }
func (l devRNN) g() int       { return l.cell.gates() * l.h }

// The layer's scratch buffers, in the order of scratch's sizes.
const (
	rnnGates = iota // (n·t)×G: x·W_ih (+ h_prev·W_hh), then the activated gates
	rnnDG           // the gates' pre-activation gradients: (n·t)×G, gru 2·(n·t)×G
	rnnHP           // (n·t)×h: h_prev of every row (dW_hh)
	rnnDH           // n×h: the gradient reaching h_s from step s+1
	rnnA            // lstm: c (n·t)×h; gru: gh n×G, the step's h_prev·W_hh
	rnnB            // lstm: tanh(c) (n·t)×h; gru: hn (n·t)×h
	rnnDC           // lstm: n×h, the gradient reaching c_s from step s+1
)

func (l devRNN) scratch(n int) []int {
	rows, g, h := n*l.t, l.g(), l.h
	if l.cell == cellGRU {
		return []int{rows * g, 2 * rows * g, rows * h, n * h, n * g, rows * h}
	}
	return []int{rows * g, rows * g, rows * h, n * h, rows * h, rows * h, n * h}
}

// param is tensor [off, off+size) of the flat buffer buf.
func param(buf device.Buffer, off, size int) device.Buffer { return buf.F32(off, off+size) }

func (l devRNN) forward(c devCtx, in, out device.Buffer, n int, s []device.Buffer) error {
	t, h, g := l.t, l.h, l.g()
	wih, whh := param(c.dp, l.wih, l.in*g), param(c.dp, l.whh, h*g)
	bih, bhh := param(c.dp, l.bih, g), param(c.dp, l.bhh, g)
	gates := s[rnnGates]
	if err := device.Sgemm(c.dev, false, false, n*t, g, l.in, 1, in, l.in, wih, g, 0, gates, g); err != nil {
		return fmt.Errorf("input side: %w", err)
	}
	for step := range t {
		var err error
		if l.cell == cellGRU {
			if step > 0 { // gh = h_{s-1}·W_hh
				err = device.Sgemm(c.dev, false, false, n, g, h, 1, from(out, (step-1)*h), t*h, whh, g, 0, s[rnnA], g)
			}
			if err == nil {
				err = device.GRUStep(c.dev, n, t, h, step, gates, s[rnnA], bih, bhh, s[rnnB], out)
			}
		} else {
			if step > 0 { // gates of step s += h_{s-1}·W_hh
				err = device.Sgemm(c.dev, false, false, n, g, h, 1, from(out, (step-1)*h), t*h, whh, g, 1, from(gates, step*g), t*g)
			}
			if err == nil {
				err = device.LSTMStep(c.dev, n, t, h, step, gates, bih, bhh, s[rnnA], s[rnnB], out)
			}
		}
		if err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
	}
	return nil
}

func (l devRNN) backward(c devCtx, in, out, dout, din device.Buffer, n int, s []device.Buffer, beta float32) error {
	t, h, g := l.t, l.h, l.g()
	rows := n * t
	wih, whh := param(c.dp, l.wih, l.in*g), param(c.dp, l.whh, h*g)
	dg, dh := s[rnnDG], s[rnnDH]
	dgx, dgh := dg, dg // the input and recurrent sides' gradients
	if l.cell == cellGRU {
		dgx, dgh = dg.F32(0, rows*g), dg.F32(rows*g, 2*rows*g)
	}
	for step := t - 1; step >= 0; step-- {
		var err error
		if l.cell == cellGRU {
			err = device.GRUStepBack(c.dev, n, t, h, step, s[rnnGates], s[rnnB], out, dout, dh, dg)
			if err == nil && step > 0 { // dh = d·z + dG_h·W_hhᵀ
				err = device.Sgemm(c.dev, false, true, n, h, g, 1, from(dgh, step*g), t*g, whh, g, 1, dh, h)
			}
		} else {
			err = device.LSTMStepBack(c.dev, n, t, h, step, s[rnnGates], s[rnnA], s[rnnB], dout, dh, s[rnnDC], dg)
			if err == nil && step > 0 { // dh = dG·W_hhᵀ
				err = device.Sgemm(c.dev, false, true, n, h, g, 1, from(dg, step*g), t*g, whh, g, 0, dh, h)
			}
		}
		if err != nil {
			return fmt.Errorf("step %d backward: %w", step, err)
		}
	}
	if err := device.SeqShift(c.dev, n, t, h, out, s[rnnHP]); err != nil {
		return fmt.Errorf("h_prev: %w", err)
	}
	if err := device.Sgemm(c.dev, true, false, l.in, g, rows, 1, in, l.in, dgx, g, beta, param(c.dg, l.wih, l.in*g), g); err != nil {
		return fmt.Errorf("W_ih gradient: %w", err)
	}
	if err := device.Sgemm(c.dev, true, false, h, g, rows, 1, s[rnnHP], h, dgh, g, beta, param(c.dg, l.whh, h*g), g); err != nil {
		return fmt.Errorf("W_hh gradient: %w", err)
	}
	if err := device.ColSum(c.dev, rows, g, dgx, 1, beta, param(c.dg, l.bih, g)); err != nil {
		return fmt.Errorf("b_ih gradient: %w", err)
	}
	if err := device.ColSum(c.dev, rows, g, dgh, 1, beta, param(c.dg, l.bhh, g)); err != nil {
		return fmt.Errorf("b_hh gradient: %w", err)
	}
	if din.Bytes == 0 {
		return nil
	}
	if err := device.Sgemm(c.dev, false, true, rows, l.in, g, 1, dgx, g, wih, g, 0, din, l.in); err != nil {
		return fmt.Errorf("input gradient: %w", err)
	}
	return nil
}
