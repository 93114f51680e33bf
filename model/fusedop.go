package model

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// kernel is a fused gorgonia op that the package's executor runs on
// preallocated flat buffers (see program). Forward kernels implement
// gorgonia's SDOp too, so gorgonia's symbolic differentiation (G.Grad)
// builds the backward graph out of more kernels.
type kernel interface {
	G.Op
	base() *opBase
	// run computes the op into out from the children's buffers, in
	// order. Kernels that produce a parameter gradient add into out when
	// acc is set; the others always overwrite.
	run(c *runCtx, out []float32, in [][]float32, acc bool)
}

// opBase is the part of gorgonia's Op interface every kernel shares: a
// fixed output shape and the children's types, known when it is applied.
type opBase struct {
	id    int // unique in its builder: gorgonia merges ops with equal hashes
	name  string
	in    []hm.Type
	shape tensor.Shape // output; empty = scalar
}

func (o *opBase) base() *opBase { return o }
func (o *opBase) Arity() int    { return len(o.in) }

func (o *opBase) Type() hm.Type {
	ts := make([]hm.Type, 0, len(o.in)+1)
	ts = append(ts, o.in...)
	if len(o.shape) == 0 {
		ts = append(ts, tensor.Float32)
	} else {
		ts = append(ts, G.TensorType{Dims: len(o.shape), Of: tensor.Float32})
	}
	return hm.NewFnType(ts...)
}

func (o *opBase) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if len(o.shape) == 0 {
		return tensor.ScalarShape(), nil
	}
	return o.shape.Clone(), nil
}

// Do is gorgonia's interpreter entry point; fused kernels run only in the
// package's executor, never in a TapeMachine.
func (o *opBase) Do(...G.Value) (G.Value, error) {
	return nil, fmt.Errorf("%w: %s runs only in the model's executor", ErrBackend, o.name)
}

func (o *opBase) ReturnsPtr() bool      { return false }
func (o *opBase) CallsExtern() bool     { return false }
func (o *opBase) OverwritesInput() int  { return -1 }
func (o *opBase) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s#%d", o.name, o.id) }
func (o *opBase) String() string        { return o.name }

func (o *opBase) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

// applied is one kernel node of a builder's graph.
type applied struct {
	k        kernel
	children []*G.Node
}

// builder builds a fused graph and remembers every kernel node it applied
// (gorgonia does not export a node's children), so the executor can
// compile the graph into a program.
type builder struct {
	g     *G.ExprGraph
	ids   int
	nodes map[*G.Node]*applied
}

func newBuilder() *builder {
	return &builder{g: G.NewGraph(), nodes: make(map[*G.Node]*applied)}
}

// apply adds kernel k over children to the graph, with output shape
// shape (nil: a scalar).
func (b *builder) apply(k kernel, name string, shape tensor.Shape, children ...*G.Node) (*G.Node, error) {
	ob := k.base()
	b.ids++
	ob.id, ob.name, ob.shape = b.ids, name, shape
	ob.in = ob.in[:0]
	for _, c := range children {
		ob.in = append(ob.in, c.Type())
	}
	n, err := G.ApplyOp(k, children...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.nodes[n] = &applied{k: k, children: children}
	return n, nil
}
