package model

// Engine is what a trainer needs of a model, whichever hardware runs it:
// the gorgonia CPU Model and the DeviceModel of the GPU path both are one,
// with the same contract (see the package doc): flat Params and Grads in
// Layout order on the host, ForwardBackwardWith overwriting (or
// accumulating into) Grads, Hooks per bucket, Evaluate summing per-label
// losses.
type Engine interface {
	Spec() Spec
	Batch() int
	Layout() []Tensor
	Params() []float32
	Grads() []float32
	SetBucketBytes(n int)
	Buckets() []Range
	ForwardBackwardWith(x []float32, y []int32, p Pass) (float32, error)
	Evaluate(x []float32, y []int32) (lossSum float64, correct int, err error)
	Close() error
}

var (
	_ Engine = (*Model)(nil)
	_ Engine = (*DeviceModel)(nil)
)
