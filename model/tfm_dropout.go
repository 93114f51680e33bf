package model

import (
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Dropout masks are drawn from a counter-based hash of (the pass's seed,
// the kernel's id, the element's index): a pass is a pure function of
// Pass.Seed, the backward kernel recomputes the forward kernel's mask
// instead of storing it, and nothing depends on the order elements are
// visited in.

// dropMask is the mask of one dropout site: element i is kept, scaled by
// 1/(1-p), when the top 32 bits of its hash are >= thr = p·2^32.
type dropMask struct {
	thr   uint32
	scale float32
}

// newDropMask is the mask for probability p in (0, 1).
func newDropMask(p float64) dropMask {
	return dropMask{thr: uint32(min(p*(1<<32), math.MaxUint32)), scale: float32(1 / (1 - p))}
}

// mix64 is splitmix64's finalizer: a bijection of uint64 whose output bits
// all depend on all input bits.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// dropKey is the hash key of kernel id's masks in the pass with seed.
func dropKey(seed uint64, id int) uint64 {
	return mix64(seed ^ mix64(uint64(id)*0x9e3779b97f4a7c15+0x632be59bd9b4e019))
}

// factor is what element i is multiplied by: 0 or 1/(1-p).
func (d dropMask) factor(key uint64, i int) float32 {
	if uint32(mix64(key+uint64(i)*0x9e3779b97f4a7c15)>>32) < d.thr {
		return 0
	}
	return d.scale
}

// dropoutOp is out = x·mask/(1-p), the mask drawn per pass (see dropMask).
// Only training programs have one.
type dropoutOp struct {
	opBase
	b    *builder
	mask dropMask
}

func (o *dropoutOp) run(c *runCtx, out []float32, in [][]float32, _ bool) {
	x := in[0][:len(out)]
	key := dropKey(c.seed, o.id)
	for i, v := range x {
		out[i] = v * o.mask.factor(key, i)
	}
}

func (o *dropoutOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff: the gradient through the same mask.
func (o *dropoutOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := o.b.apply(&dropoutBackOp{fwd: o}, o.name+"'", o.shape.Clone(), grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

// dropoutBackOp is dx = g·mask/(1-p) with the forward kernel's mask.
type dropoutBackOp struct {
	opBase
	fwd *dropoutOp
}

func (o *dropoutBackOp) run(c *runCtx, dx []float32, in [][]float32, _ bool) {
	g := in[0][:len(dx)]
	key := dropKey(c.seed, o.fwd.id)
	for i, v := range g {
		dx[i] = v * o.fwd.mask.factor(key, i)
	}
}

// dropout adds dropout with probability p after x to a training program;
// it returns x itself when p is 0 or the program is an eval one.
func (fn *fusedNet) dropout(x *G.Node, name string, p float64) (*G.Node, error) {
	if !fn.train || p == 0 {
		return x, nil
	}
	return fn.b.apply(&dropoutOp{b: fn.b, mask: newDropMask(p)}, name, tensor.Shape(x.Shape()).Clone(), x)
}
