package device

import "fmt"

// emuSgemm is sgemm's Go twin (see kernels/mlp.ptx): blocks of 16×16
// threads, thread (tx, ty) of block (bx, by) computing
// C[16·by+ty, 16·bx+tx]; per tile of 16 k the block's threads first load
// the two shared tiles (zero outside the matrices), then each accumulates
// acc = fma(As[ty][kk], Bs[kk][tx], acc) for kk = 0…15.
func emuSgemm(l *Launch) error {
	if l.Block != (Dim3{gemmTile, gemmTile, 1}) {
		return fmt.Errorf("%w: sgemm needs a block of (%d, %d, 1) threads, got %v", ErrLaunch, gemmTile, gemmTile, l.Block)
	}
	transA, transB := l.Int(0) != 0, l.Int(1) != 0
	m, n, k := l.Int(2), l.Int(3), l.Int(4)
	alpha, lda, ldb, beta, ldc := l.Float(5), l.Int(7), l.Int(9), l.Float(10), l.Int(12)
	if m <= 0 || n <= 0 {
		return nil // every block leaves
	}
	// The elements the kernel may touch: op(A) is M×K, stored K×M if
	// transA; op(B) is K×N, stored N×K if transB; C is M×N.
	var a, b []float32
	if k > 0 {
		a = l.F32s(6, storedLen(transA, m, k, lda))
		b = l.F32s(8, storedLen(transB, k, n, ldb))
	}
	c := l.F32s(11, (m-1)*ldc+n)

	const T = gemmTile
	var as, bs, acc [T * T]float32 // As[i][k], Bs[k][j], per-thread accumulators
	opA := func(i, kk int) float32 {
		if transA {
			return a[kk*lda+i]
		}
		return a[i*lda+kk]
	}
	opB := func(kk, j int) float32 {
		if transB {
			return b[j*ldb+kk]
		}
		return b[kk*ldb+j]
	}
	l.EachBlock(func(blk Dim3) {
		row0, col0 := T*blk.Y, T*blk.X
		if row0 >= m || col0 >= n {
			return // the tile lies outside C: the block leaves
		}
		acc = [T * T]float32{}
		for k0 := 0; k0 < k; k0 += T {
			// Load phase: thread (tx, ty) loads op(A)[row0+ia, k0+ka] into
			// As[ia][ka] and op(B)[k0+kb, col0+jb] into Bs[kb][jb].
			for ty := range T {
				for tx := range T {
					ia, ka := ty, tx
					if transA {
						ia, ka = tx, ty
					}
					kb, jb := ty, tx
					if transB {
						kb, jb = tx, ty
					}
					va, vb := float32(0), float32(0)
					if i, kk := row0+ia, k0+ka; i < m && kk < k {
						va = opA(i, kk)
					}
					if j, kk := col0+jb, k0+kb; j < n && kk < k {
						vb = opB(kk, j)
					}
					as[ia*T+ka] = va
					bs[kb*T+jb] = vb
				}
			}
			// Product phase.
			for ty := range T {
				for tx := range T {
					s := acc[ty*T+tx]
					for kk := range T {
						s = fmaf32(as[ty*T+kk], bs[kk*T+tx], s)
					}
					acc[ty*T+tx] = s
				}
			}
		}
		// Store phase.
		for ty := range T {
			for tx := range T {
				row, col := row0+ty, col0+tx
				if row >= m || col >= n {
					continue
				}
				v := float32(alpha * acc[ty*T+tx]) // rounded: never fused with the fma
				if beta != 0 {
					v = fmaf32(beta, c[row*ldc+col], v)
				}
				c[row*ldc+col] = v
			}
		}
	})
	return nil
}

// storedLen is the number of elements a rows×cols operand spans in
// row-major storage with leading dimension ld (stored cols×rows if trans).
func storedLen(trans bool, rows, cols, ld int) int {
	if trans {
		rows, cols = cols, rows
	}
	return (rows-1)*ld + cols
}
