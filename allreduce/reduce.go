package allreduce

import "fmt"

// ReduceOp is the element-wise combination of an all-reduce or
// reduce-scatter.
type ReduceOp uint8

// Reduction operators.
const (
	// Sum adds the ranks' values.
	Sum ReduceOp = iota
	// Mean adds them and divides by the world size (once per element, after
	// the full sum, so every rank gets the same bits).
	Mean
	// Max keeps the largest value; NaN wins over any number.
	Max
)

// String returns the operator's name.
func (o ReduceOp) String() string {
	switch o {
	case Sum:
		return "sum"
	case Mean:
		return "mean"
	case Max:
		return "max"
	}
	return fmt.Sprintf("reduceop(%d)", uint8(o))
}

func (o ReduceOp) valid() bool { return o <= Max }

// combine sets dst[i] = dst[i] ⊕ src[i] over len(dst) elements.
func combine(op ReduceOp, dst, src []float32) {
	if op == Max {
		maxInto(dst, src)
		return
	}
	addInto(dst, src)
}

// finish applies the post-reduction to fully reduced values: Mean divides by
// the world size.
func finish(op ReduceOp, dst []float32, size int) {
	if op != Mean || size == 1 {
		return
	}
	n := float32(size)
	for i := range dst {
		dst[i] /= n
	}
}

// addGeneric is dst += src, unrolled by 4: the portable kernel and the
// reference for the assembly one (each element gets exactly one IEEE add, so
// every kernel gives the same bits).
func addGeneric(dst, src []float32) {
	src = src[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d := dst[i : i+4 : i+4]
		s := src[i : i+4 : i+4]
		d[0] += s[0]
		d[1] += s[1]
		d[2] += s[2]
		d[3] += s[3]
	}
	for ; i < len(dst); i++ {
		dst[i] += src[i]
	}
}

func maxInto(dst, src []float32) {
	src = src[:len(dst)]
	for i, s := range src {
		if s > dst[i] || s != s {
			dst[i] = s
		}
	}
}
