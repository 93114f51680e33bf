//go:build !amd64

package allreduce

func addInto(dst, src []float32) { addGeneric(dst, src) }
