package model

// Packing for sgemm's 6×16 kernel.

// sgemmPackA packs rows i0..i0+mr of op(A), columns pc..pc+kc, into s.a
// by columns of six (s.a[6p + i] = op(A)[i0+i, pc+p]); rows past mr are
// zeros.
func sgemmPackA(s *sgemmScratch, transA bool, a []float32, lda, i0, mr, pc, kc int) {
	dst := s.a[:6*kc]
	if transA {
		// op(A)[i, p] = a[p·lda + i]: six neighbours of each stored row.
		for p := range kc {
			src := a[(pc+p)*lda+i0:][:mr]
			d := dst[6*p:][:6]
			if mr == 6 {
				d[0], d[1], d[2], d[3], d[4], d[5] = src[0], src[1], src[2], src[3], src[4], src[5]
				continue
			}
			copy(d, src)
			clear(d[mr:])
		}
		return
	}
	var rows [6][]float32
	for i := range rows {
		if i < mr {
			rows[i] = a[(i0+i)*lda+pc:][:kc]
		} else {
			rows[i] = s.zero[:kc]
		}
	}
	r0, r1, r2, r3, r4, r5 := rows[0], rows[1][:len(rows[0])], rows[2][:len(rows[0])], rows[3][:len(rows[0])], rows[4][:len(rows[0])], rows[5][:len(rows[0])]
	for p, v := range r0 {
		d := dst[6*p:][:6]
		d[0], d[1], d[2], d[3], d[4], d[5] = v, r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// sgemmPackB packs columns j0..j0+w (w ≤ 16) of op(B), rows pc..pc+kc,
// into one 16-column panel (dst[16p + j] = op(B)[pc+p, j0+j]); columns
// past w are zeros.
func sgemmPackB(dst []float32, transB bool, b []float32, ldb, pc, kc, j0, w int) {
	dst = dst[:16*kc]
	if !transB {
		// op(B)[p, j] = b[p·ldb + j]: a run of each stored row.
		for p := range kc {
			d := dst[16*p:][:16]
			if w == 16 {
				*(*[16]float32)(d) = *(*[16]float32)(b[(pc+p)*ldb+j0:])
				continue
			}
			copy(d, b[(pc+p)*ldb+j0:][:w])
			clear(d[w:])
		}
		return
	}
	// op(B)[p, j] = b[j·ldb + p]: column j of the panel is a run of stored row j0+j.
	if w < 16 {
		clear(dst)
	}
	for j := range w {
		src := b[(j0+j)*ldb+pc:][:kc]
		d := dst[j:]
		for p, v := range src {
			d[16*p] = v
		}
	}
}
