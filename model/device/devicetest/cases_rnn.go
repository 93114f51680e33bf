package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ringtrain/ringtrain/model/device"
)

// The cases of the recurrent models' kernels (kernels/rnn.ptx).

// rnnTol is the tolerance of the step kernels' outputs whose magnitude is
// at most about bound: ex2.approx is a few ulps off on hardware, and a
// gate's error carries through a product or two.
func rnnTol(bound float64) float64 { return 1e-5 * (1 + bound) }

// keep returns n tolerances saying "must keep its value".
func keep(n int) []float64 { return filled(n, -1) }

// setRows sets tol of rows [r·w, (r+1)·w) to v for every row r = i·t + s
// (step s of every sample i of n), offset by off elements.
func setRows(tol []float64, n, t, w, s, off int, v float64) {
	for i := range n {
		r := i*t + s
		for j := range w {
			tol[off+r*w+j] = v
		}
	}
}

// tokenIDs draws rows float32 token ids in [0, vocab), some with a
// fraction (truncated); with bad, every fifth is outside the table
// (-1, vocab, NaN, 1e10, -0.5).
func tokenIDs(r *rand.Rand, rows, vocab int, bad bool) []float32 {
	ids := make([]float32, rows)
	for i := range ids {
		ids[i] = float32(r.IntN(vocab))
		if i%3 == 1 {
			ids[i] += 0.75
		}
		if bad && i%5 == 2 {
			ids[i] = []float32{-1, float32(vocab), float32(math.NaN()), 1e10, -0.5}[i/5%5]
		}
	}
	return ids
}

// embedGatherCases: rows×dim over vocab shapes across block edges, with
// and without ids outside the table (their rows are NaN); out starts as
// NaNs the kernel must overwrite. A copy: bitwise equal.
func embedGatherCases() []kcase {
	var cs []kcase
	for _, s := range [][3]int{{1, 1, 1}, {5, 3, 7}, {17, 16, 9}, {40, 33, 5}, {300, 1, 3}, {7, 257, 4}} {
		for _, bad := range []bool{false, true} {
			rows, dim, vocab := s[0], s[1], s[2]
			shape := fmt.Sprintf("rows%d_dim%d_vocab%d_bad%v", rows, dim, vocab, bad)
			r := rng("embed_gather " + shape)
			ids := tokenIDs(r, rows, vocab, bad)
			table := normals(r, vocab*dim, 1)
			cs = append(cs, kcase{
				kernel: "embed_gather", shape: shape,
				bufs: []*buffer{{name: "ids", data: ids}, {name: "table", data: table}, {name: "out", data: nans(rows * dim), tol: filled(rows*dim, 0)}},
				launch: func(d device.Device, v []device.Buffer) error {
					return device.EmbedGather(d, rows, dim, vocab, v[0], v[1], v[2])
				},
			})
		}
	}
	return cs
}

// embedGradCases: shapes with repeated tokens (more rows than the
// vocabulary), bad ids (ignored), beta 0 over a NaN-poisoned dtable
// (never read), beta 1 and 0.5; rows 0 (dtable = beta·dtable).
func embedGradCases() []kcase {
	var cs []kcase
	for _, s := range [][3]int{{1, 1, 1}, {0, 3, 4}, {5, 3, 7}, {40, 16, 9}, {300, 2, 5}, {24, 257, 3}} {
		for _, beta := range []float32{0, 1, 0.5} {
			rows, dim, vocab := s[0], s[1], s[2]
			shape := fmt.Sprintf("rows%d_dim%d_vocab%d_beta%g", rows, dim, vocab, beta)
			r := rng("embed_grad " + shape)
			ids := tokenIDs(r, rows, vocab, rows > 3)
			g := normals(r, rows*dim, 1)
			dt := nans(vocab * dim)
			if beta != 0 {
				dt = normals(r, vocab*dim, 1)
			}
			tol := make([]float64, vocab*dim)
			for k := range tol {
				sum := 0.0
				if beta != 0 {
					sum = math.Abs(float64(beta * dt[k]))
				}
				for row := range rows {
					sum += math.Abs(float64(g[row*dim+k%dim]))
				}
				tol[k] = 1e-6 * (1 + sum)
			}
			if rows == 0 {
				ids, g = []float32{0}, []float32{0} // a buffer to pass
			}
			cs = append(cs, kcase{
				kernel: "embed_grad", shape: shape,
				bufs: []*buffer{{name: "ids", data: ids}, {name: "g", data: g}, {name: "dtable", data: dt, tol: tol}},
				launch: func(d device.Device, v []device.Buffer) error {
					return device.EmbedGrad(d, rows, dim, vocab, v[0], v[1], beta, v[2])
				},
			})
		}
	}
	return cs
}

// seqShiftCases: (n·t)×w shapes, t = 1 (all zero) included; dst starts
// as NaNs. A copy: bitwise equal.
func seqShiftCases() []kcase {
	var cs []kcase
	for _, s := range [][3]int{{1, 1, 1}, {3, 5, 7}, {4, 1, 9}, {2, 6, 300}, {33, 4, 2}} {
		n, t, w := s[0], s[1], s[2]
		shape := fmt.Sprintf("n%d_t%d_w%d", n, t, w)
		r := rng("seq_shift " + shape)
		cs = append(cs, kcase{
			kernel: "seq_shift", shape: shape,
			bufs: []*buffer{{name: "src", data: normals(r, n*t*w, 1)}, {name: "dst", data: nans(n * t * w), tol: filled(n*t*w, 0)}},
			launch: func(d device.Device, v []device.Buffer) error {
				return device.SeqShift(d, n, t, w, v[0], v[1])
			},
		})
	}
	return cs
}

// stepShape is one step kernel case: n samples, t steps, h units, step
// s; scale is the spread of the pre-activations (large: saturated gates,
// small: tanh's polynomial range); raw launches s itself (outside
// [0, t): nothing may change).
type stepShape struct {
	n, t, h, s int
	scale      float64
	raw        bool
}

func (c stepShape) String() string {
	name := fmt.Sprintf("n%d_t%d_h%d_s%d_scale%g", c.n, c.t, c.h, c.s, c.scale)
	if c.raw {
		name += "_raw"
	}
	return name
}

// stepShapes: steps first, middle and last, one unit, more (sample,
// unit) pairs than a block, saturating and tiny pre-activations, and a
// step outside the sequence through a raw launch.
func stepShapes() []stepShape {
	return []stepShape{
		{1, 1, 1, 0, 2, false}, {3, 5, 7, 0, 2, false}, {3, 5, 7, 2, 2, false}, {3, 5, 7, 4, 2, false},
		{20, 3, 17, 1, 2, false}, {4, 3, 5, 1, 60, false}, {4, 3, 5, 2, 0.2, false}, {2, 3, 4, 3, 2, true},
	}
}

// launchStep launches a step kernel through its typed launch, or raw.
func launchStep(d device.Device, name string, c stepShape, typed func() error, v []device.Buffer) error {
	if !c.raw {
		return typed()
	}
	args := []device.Arg{device.I32(c.n), device.I32(c.t), device.I32(c.h), device.I32(c.s)}
	for _, b := range v {
		args = append(args, b)
	}
	return d.Launch(name, device.D1(1), device.D1(256), args...)
}

// outTol is the tolerance of a step kernel's output rows of step s (or
// nothing for a step outside the sequence).
func outTol(c stepShape, w, off, size int, bound float64) []float64 {
	tol := keep(size)
	if c.s >= 0 && c.s < c.t {
		setRows(tol, c.n, c.t, w, c.s, off, rnnTol(bound))
	}
	return tol
}

// uniforms returns n values in [lo, hi).
func uniforms(r *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return v
}

// lstmStepCases: gates, biases and the cell states of other steps drawn
// at the shape's scale; the rows of step s of gates, c, tc and out
// change, nothing else.
func lstmStepCases() []kcase {
	var cs []kcase
	for _, c := range stepShapes() {
		r := rng("lstm_step " + c.String())
		n, t, h := c.n, c.t, c.h
		rows, g := n*t, 4*h
		gates := normals(r, rows*g, c.scale)
		bih, bhh := normals(r, g, c.scale/4), normals(r, g, c.scale/4)
		cst := normals(r, rows*h, 2)
		cs = append(cs, kcase{
			kernel: "lstm_step", shape: c.String(),
			bufs: []*buffer{
				{name: "gates", data: gates, tol: outTol(c, g, 0, rows*g, 1)},
				{name: "b_ih", data: bih}, {name: "b_hh", data: bhh},
				{name: "c", data: cst, tol: outTol(c, h, 0, rows*h, 10)},
				{name: "tc", data: nans(rows * h), tol: outTol(c, h, 0, rows*h, 1)},
				{name: "out", data: nans(rows * h), tol: outTol(c, h, 0, rows*h, 1)},
			},
			launch: func(d device.Device, v []device.Buffer) error {
				return launchStep(d, "lstm_step", c, func() error {
					return device.LSTMStep(d, n, t, h, c.s, v[0], v[1], v[2], v[3], v[4], v[5])
				}, v)
			},
		})
	}
	return cs
}

// lstmStepBackCases: activated gates (σ in (0, 1), g in (−1, 1)), tanh
// values, cell states and gradients; at the last step the carries dh and
// dc are NaN (they must not be read); dg's rows of step s and all of dc
// change.
func lstmStepBackCases() []kcase {
	var cs []kcase
	for _, c := range stepShapes() {
		r := rng("lstm_step_back " + c.String())
		n, t, h := c.n, c.t, c.h
		rows, g := n*t, 4*h
		gates := uniforms(r, rows*g, 0, 1)
		for i := range rows {
			copy(gates[i*g+2*h:i*g+3*h], uniforms(r, h, -1, 1))
		}
		dh, dc := normals(r, n*h, 1), normals(r, n*h, 1)
		if c.s == t-1 {
			dh, dc = nans(n*h), nans(n*h)
		}
		dcTol := keep(n * h)
		if c.s >= 0 && c.s < t {
			dcTol = filled(n*h, rnnTol(20))
		}
		cs = append(cs, kcase{
			kernel: "lstm_step_back", shape: c.String(),
			bufs: []*buffer{
				{name: "gates", data: gates},
				{name: "c", data: normals(r, rows*h, 2)},
				{name: "tc", data: uniforms(r, rows*h, -1, 1)},
				{name: "dy", data: normals(r, rows*h, 1)},
				{name: "dh", data: dh},
				{name: "dc", data: dc, tol: dcTol},
				{name: "dg", data: nans(rows * g), tol: outTol(c, g, 0, rows*g, 20)},
			},
			launch: func(d device.Device, v []device.Buffer) error {
				return launchStep(d, "lstm_step_back", c, func() error {
					return device.LSTMStepBack(d, n, t, h, c.s, v[0], v[1], v[2], v[3], v[4], v[5], v[6])
				}, v)
			},
		})
	}
	return cs
}

// gruStepCases: at step 0 gh is NaN (it must not be read); the rows of
// step s of gates, hn and out change, nothing else (out's other rows are
// the previous steps' states).
func gruStepCases() []kcase {
	var cs []kcase
	for _, c := range stepShapes() {
		r := rng("gru_step " + c.String())
		n, t, h := c.n, c.t, c.h
		rows, g := n*t, 3*h
		gh := normals(r, n*g, c.scale)
		if c.s == 0 {
			gh = nans(n * g)
		}
		cs = append(cs, kcase{
			kernel: "gru_step", shape: c.String(),
			bufs: []*buffer{
				{name: "gates", data: normals(r, rows*g, c.scale), tol: outTol(c, g, 0, rows*g, 1)},
				{name: "gh", data: gh},
				{name: "b_ih", data: normals(r, g, c.scale/4)}, {name: "b_hh", data: normals(r, g, c.scale/4)},
				{name: "hn", data: nans(rows * h), tol: outTol(c, h, 0, rows*h, 10*c.scale)},
				{name: "out", data: uniforms(r, rows*h, -1, 1), tol: outTol(c, h, 0, rows*h, 1)},
			},
			launch: func(d device.Device, v []device.Buffer) error {
				return launchStep(d, "gru_step", c, func() error {
					return device.GRUStep(d, n, t, h, c.s, v[0], v[1], v[2], v[3], v[4], v[5])
				}, v)
			},
		})
	}
	return cs
}

// gruStepBackCases: activated gates (r, z in (0, 1), n in (−1, 1)); at
// the last step the carry dh is NaN (it must not be read); dg's rows of
// step s on both sides and all of dh change.
func gruStepBackCases() []kcase {
	var cs []kcase
	for _, c := range stepShapes() {
		r := rng("gru_step_back " + c.String())
		n, t, h := c.n, c.t, c.h
		rows, g := n*t, 3*h
		gates := uniforms(r, rows*g, 0, 1)
		for i := range rows {
			copy(gates[i*g+2*h:i*g+3*h], uniforms(r, h, -1, 1))
		}
		dh := normals(r, n*h, 1)
		if c.s == t-1 {
			dh = nans(n * h)
		}
		dhTol := keep(n * h)
		dgTol := keep(2 * rows * g)
		if c.s >= 0 && c.s < t {
			dhTol = filled(n*h, rnnTol(10))
			setRows(dgTol, n, t, g, c.s, 0, rnnTol(20))
			setRows(dgTol, n, t, g, c.s, rows*g, rnnTol(20))
		}
		cs = append(cs, kcase{
			kernel: "gru_step_back", shape: c.String(),
			bufs: []*buffer{
				{name: "gates", data: gates},
				{name: "hn", data: normals(r, rows*h, 2)},
				{name: "out", data: uniforms(r, rows*h, -1, 1)},
				{name: "dy", data: normals(r, rows*h, 1)},
				{name: "dh", data: dh, tol: dhTol},
				{name: "dg", data: nans(2 * rows * g), tol: dgTol},
			},
			launch: func(d device.Device, v []device.Buffer) error {
				return launchStep(d, "gru_step_back", c, func() error {
					return device.GRUStepBack(d, n, t, h, c.s, v[0], v[1], v[2], v[3], v[4], v[5])
				}, v)
			},
		})
	}
	return cs
}
