//go:build !purego

package optim

// The SSE kernels (kernels_amd64.s) update the first len&^3 elements four
// at a time and the portable loops the rest. Every SSE instruction used
// (MULPS, ADDPS, SUBPS, DIVPS, SQRTPS) rounds each lane exactly as its
// scalar form (MULSS, ...) that the compiler emits for the Go loops, and
// the kernels apply the same operations in the same order, so an element
// gets bitwise the same result whichever path updates it: where a shard
// ends does not change any value (TestKernelsMatchGo). SSE is part of the
// amd64 baseline, so there is nothing to detect at run time. The purego
// build tag selects the portable loops.
//
// The runtime cannot preempt a goroutine inside assembly, so the kernels
// are called on chunks of sseChunk elements: a stop-the-world waits for
// at most one chunk (about 70 us of Adam), not a whole shard.

// sseChunk is the most elements one kernel call updates (a multiple of 4).
const sseChunk = 1 << 16

//go:noescape
func adamSSE(p, grad, m, v *float32, n int, k *adamCoeffs)

//go:noescape
func adagradSSE(p, grad, s *float32, n int, k *rootCoeffs)

//go:noescape
func rmspropSSE(p, grad, a *float32, n int, k *rootCoeffs)

//go:noescape
func sgdSSE(p, grad *float32, n int, k *sgdCoeffs)

//go:noescape
func momentumSSE(p, grad, b *float32, n int, k *sgdCoeffs)

//go:noescape
func nesterovSSE(p, grad, b *float32, n int, k *sgdCoeffs)

func adamUpdate(p, g, m, v []float32, k *adamCoeffs) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	n := len(p) &^ 3
	for i := 0; i < n; i += sseChunk {
		adamSSE(&p[i], &g[i], &m[i], &v[i], min(n-i, sseChunk), k)
	}
	adamGo(p[n:], g[n:], m[n:], v[n:], k)
}

func adagradUpdate(p, g, s []float32, k *rootCoeffs) {
	g, s = g[:len(p)], s[:len(p)]
	n := len(p) &^ 3
	for i := 0; i < n; i += sseChunk {
		adagradSSE(&p[i], &g[i], &s[i], min(n-i, sseChunk), k)
	}
	adagradGo(p[n:], g[n:], s[n:], k)
}

func rmspropUpdate(p, g, a []float32, k *rootCoeffs) {
	g, a = g[:len(p)], a[:len(p)]
	n := len(p) &^ 3
	for i := 0; i < n; i += sseChunk {
		rmspropSSE(&p[i], &g[i], &a[i], min(n-i, sseChunk), k)
	}
	rmspropGo(p[n:], g[n:], a[n:], k)
}

func sgdUpdate(p, g []float32, k *sgdCoeffs) {
	g = g[:len(p)]
	n := len(p) &^ 3
	for i := 0; i < n; i += sseChunk {
		sgdSSE(&p[i], &g[i], min(n-i, sseChunk), k)
	}
	sgdGo(p[n:], g[n:], k)
}

func momentumUpdate(p, g, b []float32, k *sgdCoeffs) {
	g, b = g[:len(p)], b[:len(p)]
	n := len(p) &^ 3
	for i := 0; i < n; i += sseChunk {
		momentumSSE(&p[i], &g[i], &b[i], min(n-i, sseChunk), k)
	}
	momentumGo(p[n:], g[n:], b[n:], k)
}

func nesterovUpdate(p, g, b []float32, k *sgdCoeffs) {
	g, b = g[:len(p)], b[:len(p)]
	n := len(p) &^ 3
	for i := 0; i < n; i += sseChunk {
		nesterovSSE(&p[i], &g[i], &b[i], min(n-i, sseChunk), k)
	}
	nesterovGo(p[n:], g[n:], b[n:], k)
}
