package model

import "fmt"

// Packing for sgemm's 6×16 kernel. On amd64 with AVX2 the transposing
// packs (rows of A into columns of six, rows of Bᵀ into panels of 16)
// run 8×8 transposes in assembly for whole runs of 8, Go for the rest.

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
	if useSgemmAsm && mr == 6 && kc >= 8 {
		n8 := kc / 8
		packT(s.a[:], 6, a[i0*lda+pc:], lda, n8)
		if kc == 8*n8 {
			return
		}
		dst, pc, kc = dst[48*n8:], pc+8*n8, kc-8*n8
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

// sgemmPackB packs columns j0..j0+w of op(B), rows pc..pc+kc, into
// ⌈w/16⌉ panels of 16 columns, one after the other (panel q holds
// dst[16·kc·q + 16p + j] = op(B)[pc+p, j0+16q+j]); the columns past w in
// the last panel are zeros.
func sgemmPackB(dst []float32, transB bool, b []float32, ldb, pc, kc, j0, w int) {
	nfull, nr := w/16, w%16
	if !transB {
		// op(B)[p, j] = b[p·ldb + j]: stored rows, read in order.
		for p := range kc {
			row := b[(pc+p)*ldb+j0:][:w]
			d := dst[16*p:]
			for q := range nfull {
				*(*[16]float32)(d[16*kc*q:]) = *(*[16]float32)(row[16*q:])
			}
			if nr > 0 {
				e := d[16*kc*nfull:][:16]
				copy(e, row[16*nfull:])
				clear(e[nr:])
			}
		}
		return
	}
	// op(B)[p, j] = b[j·ldb + p]: column j0+j is a run of stored row j0+j.
	if nr > 0 {
		clear(dst[16*kc*nfull:][:16*kc])
	}
	j8 := 0 // the columns done by packT up to p = 8·n8
	n8 := kc / 8
	if useSgemmAsm && n8 > 0 {
		for q := range nfull {
			packT(dst[16*kc*q:], 16, b[(j0+16*q)*ldb+pc:], ldb, n8)
		}
		j8 = 16 * nfull
	}
	if kc > 8*n8 { // the last kc%8 rows of those columns
		for j := range j8 {
			src := b[(j0+j)*ldb+pc+8*n8:][:kc-8*n8]
			d := dst[16*kc*(j/16)+16*8*n8+j%16:]
			for p, v := range src {
				d[16*p] = v
			}
		}
	}
	for j := j8; j < w; j++ {
		src := b[(j0+j)*ldb+pc:][:kc]
		d := dst[16*kc*(j/16)+j%16:]
		d = d[:16*(len(src)-1)+1]
		for p, v := range src {
			d[16*p] = v
		}
	}
}

// packT runs the assembly transposes: r (6 or 16) rows of src (leading
// dimension ld), 8·n8 columns, into dst by columns of r. Both are checked
// against the slices, the two floats packT6 writes past its end included.
func packT(dst []float32, r int, src []float32, ld, n8 int) {
	need := 16 * 8 * n8
	if r == 6 {
		need = 6*8*n8 + 2
	}
	if n8 <= 0 || ld < 8*n8 || len(dst) < need || (r-1)*ld+8*n8 > len(src) || r != 6 && r != 16 {
		panic(fmt.Sprintf("model: packT out of range: %d rows of %d (ld %d, src %d), dst %d", r, 8*n8, ld, len(src), len(dst)))
	}
	if r == 6 {
		sgemmPackT6(&dst[0], &src[0], ld, n8)
		return
	}
	sgemmPackT16(&dst[0], &src[0], ld, n8)
}
