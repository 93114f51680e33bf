package allreduce

import "golang.org/x/sys/cpu"

//go:noescape
func addAVX2(dst, src *float32, n int)

var haveAVX2 = cpu.X86.HasAVX2

// addInto is dst += src: AVX2 where the CPU has it, else the Go loop.
func addInto(dst, src []float32) {
	if haveAVX2 && len(dst) >= 8 {
		src = src[:len(dst)]
		addAVX2(&dst[0], &src[0], len(dst))
		return
	}
	addGeneric(dst, src)
}
