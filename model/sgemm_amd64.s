//go:build !purego

#include "textflag.h"

// The GEMM micro-kernels of sgemm.go in AVX2 and FMA. Go assembler operand
// order: VFMADD231PS m2, m1, acc means acc += m1·m2. Strides are in
// float32 elements (scaled by 4 here).

// KSTEP is one step of k in sgemm6x16: two vectors of B's row, the six
// values of A's column broadcast, twelve FMAs. a is the byte offset into
// the packed A (AX), b the B row (BX).
#define KSTEP(aoff) \
	VMOVUPS      (BX), Y12; \
	VMOVUPS      32(BX), Y13; \
	VBROADCASTSS aoff(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y0; \
	VFMADD231PS  Y13, Y14, Y1; \
	VBROADCASTSS aoff+4(AX), Y15; \
	VFMADD231PS  Y12, Y15, Y2; \
	VFMADD231PS  Y13, Y15, Y3; \
	VBROADCASTSS aoff+8(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y4; \
	VFMADD231PS  Y13, Y14, Y5; \
	VBROADCASTSS aoff+12(AX), Y15; \
	VFMADD231PS  Y12, Y15, Y6; \
	VFMADD231PS  Y13, Y15, Y7; \
	VBROADCASTSS aoff+16(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y8; \
	VFMADD231PS  Y13, Y14, Y9; \
	VBROADCASTSS aoff+20(AX), Y15; \
	VFMADD231PS  Y12, Y15, Y10; \
	VFMADD231PS  Y13, Y15, Y11; \
	ADDQ         R8, BX

// func sgemm6x16(a, b *float32, k, bstride, nblk, bnext int, c *float32, ldc, add int)
TEXT ·sgemm6x16(SB), NOSPLIT, $0-72
	MOVQ a+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ k+16(FP), CX
	MOVQ bstride+24(FP), R8
	SHLQ $2, R8              // B row stride in bytes
	MOVQ nblk+32(FP), R9
	MOVQ bnext+40(FP), R14
	SHLQ $2, R14             // from one block of B to the next, bytes
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R10             // ldc in bytes
	LEAQ (R10)(R10*2), R11   // 3·ldc
	MOVQ add+64(FP), R15
	MOVQ CX, R13
	SHRQ $2, R13             // k / 4
	ANDQ $3, CX              // k % 4

block:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ   DI, AX            // packed A, column 0
	MOVQ   SI, BX            // B row 0 of this block
	MOVQ   R13, R12
	TESTQ  R12, R12
	JZ     tail

k4:
	KSTEP(0)
	KSTEP(24)
	KSTEP(48)
	KSTEP(72)
	ADDQ $96, AX
	DECQ R12
	JNZ  k4

tail:
	MOVQ  CX, R12
	TESTQ R12, R12
	JZ    store

k1:
	KSTEP(0)
	ADDQ $24, AX
	DECQ R12
	JNZ  k1

store:
	LEAQ  (DX)(R10*4), BX    // row 4
	TESTQ R15, R15
	JZ    write
	VADDPS (DX), Y0, Y0
	VADDPS 32(DX), Y1, Y1
	VADDPS (DX)(R10*1), Y2, Y2
	VADDPS 32(DX)(R10*1), Y3, Y3
	VADDPS (DX)(R10*2), Y4, Y4
	VADDPS 32(DX)(R10*2), Y5, Y5
	VADDPS (DX)(R11*1), Y6, Y6
	VADDPS 32(DX)(R11*1), Y7, Y7
	VADDPS (BX), Y8, Y8
	VADDPS 32(BX), Y9, Y9
	VADDPS (BX)(R10*1), Y10, Y10
	VADDPS 32(BX)(R10*1), Y11, Y11

write:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (DX)(R10*1)
	VMOVUPS Y3, 32(DX)(R10*1)
	VMOVUPS Y4, (DX)(R10*2)
	VMOVUPS Y5, 32(DX)(R10*2)
	VMOVUPS Y6, (DX)(R11*1)
	VMOVUPS Y7, 32(DX)(R11*1)
	VMOVUPS Y8, (BX)
	VMOVUPS Y9, 32(BX)
	VMOVUPS Y10, (BX)(R10*1)
	VMOVUPS Y11, 32(BX)(R10*1)
	ADDQ    R14, SI
	ADDQ    $64, DX
	DECQ    R9
	JNZ     block
	VZEROUPPER
	RET

// sgemmTailMask: eight lanes on, eight off; the 8 lanes from offset
// 4·(8−r) have the first r on.
DATA sgemmTailMask<>+0(SB)/8, $-1
DATA sgemmTailMask<>+8(SB)/8, $-1
DATA sgemmTailMask<>+16(SB)/8, $-1
DATA sgemmTailMask<>+24(SB)/8, $-1
DATA sgemmTailMask<>+32(SB)/8, $0
DATA sgemmTailMask<>+40(SB)/8, $0
DATA sgemmTailMask<>+48(SB)/8, $0
DATA sgemmTailMask<>+56(SB)/8, $0
GLOBL sgemmTailMask<>(SB), RODATA|NOPTR, $64

// DOTB multiplies the B row at (breg)(AX) (in Y15) into the three
// accumulators of its column.
#define DOTB(breg, acc0, acc1, acc2) \
	VMOVUPS     (breg)(AX*1), Y15; \
	VFMADD231PS Y15, Y12, acc0; \
	VFMADD231PS Y15, Y13, acc1; \
	VFMADD231PS Y15, Y14, acc2

// DOTBM is DOTB for the last k%8 elements: the mask (at R11) zeroes the
// lanes past the row's end, which are never read.
#define DOTBM(breg, acc0, acc1, acc2) \
	VMOVUPS     (R11), Y15; \
	VMASKMOVPS  (breg)(AX*1), Y15, Y15; \
	VFMADD231PS Y15, Y12, acc0; \
	VFMADD231PS Y15, Y13, acc1; \
	VFMADD231PS Y15, Y14, acc2

// ROWOUT sums the four accumulators of one row of C across their lanes
// and writes (or adds) the four values at (creg).
#define ROWOUT(y0, y1, y2, y3, x0, creg) \
	VHADDPS      y1, y0, y0; \
	VHADDPS      y3, y2, y2; \
	VHADDPS      y2, y0, y0; \
	VEXTRACTF128 $1, y0, X15; \
	VADDPS       X15, x0, x0; \
	CMPQ         add+72(FP), $0; \
	JEQ          2(PC); \
	VADDPS       (creg), x0, x0; \
	VMOVUPS      x0, (creg)

// func sgemmDot3x4(a0, a1, a2, b *float32, ldb, k, nblk int, c *float32, ldc, add int)
TEXT ·sgemmDot3x4(SB), NOSPLIT, $0-80
	MOVQ a0+0(FP), R8
	MOVQ a1+8(FP), R9
	MOVQ a2+16(FP), R10
	MOVQ b+24(FP), SI
	MOVQ ldb+32(FP), R14
	SHLQ $2, R14             // ldb in bytes
	MOVQ k+40(FP), CX
	ANDQ $-8, CX
	SHLQ $2, CX              // the whole vectors of a row, bytes
	MOVQ k+40(FP), R11
	ANDQ $7, R11             // r = k % 8
	NEGQ R11
	LEAQ sgemmTailMask<>+32(SB), R15
	LEAQ (R15)(R11*4), R11   // the mask of the first r lanes
	MOVQ nblk+48(FP), R15
	MOVQ c+56(FP), DX

dblock:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ   SI, BX            // the block's four B rows
	LEAQ   (SI)(R14*1), R12
	LEAQ   (SI)(R14*2), R13
	LEAQ   (R12)(R14*2), DI
	XORQ   AX, AX
	CMPQ   AX, CX
	JGE    dtail

dk:
	VMOVUPS (R8)(AX*1), Y12
	VMOVUPS (R9)(AX*1), Y13
	VMOVUPS (R10)(AX*1), Y14
	DOTB(BX, Y0, Y4, Y8)
	DOTB(R12, Y1, Y5, Y9)
	DOTB(R13, Y2, Y6, Y10)
	DOTB(DI, Y3, Y7, Y11)
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     dk

dtail:
	TESTQ      $7, k+40(FP)
	JZ         dout
	VMOVUPS    (R11), Y15
	VMASKMOVPS (R8)(AX*1), Y15, Y12
	VMASKMOVPS (R9)(AX*1), Y15, Y13
	VMASKMOVPS (R10)(AX*1), Y15, Y14
	DOTBM(BX, Y0, Y4, Y8)
	DOTBM(R12, Y1, Y5, Y9)
	DOTBM(R13, Y2, Y6, Y10)
	DOTBM(DI, Y3, Y7, Y11)

dout:
	MOVQ ldc+64(FP), AX
	SHLQ $2, AX
	ROWOUT(Y0, Y1, Y2, Y3, X0, DX)
	LEAQ (DX)(AX*1), BX
	ROWOUT(Y4, Y5, Y6, Y7, X4, BX)
	LEAQ (BX)(AX*1), BX
	ROWOUT(Y8, Y9, Y10, Y11, X8, BX)
	LEAQ (SI)(R14*4), SI
	ADDQ $16, DX
	DECQ R15
	JNZ  dblock
	VZEROUPPER
	RET

// TRANSPOSE8 transposes the 8×8 block in Y0..Y7 (row i in Yi) into
// Y8..Y15 (column p in Y(8+p)); Y0..Y7 are clobbered.
#define TRANSPOSE8 \
	VUNPCKLPS  Y1, Y0, Y8; \
	VUNPCKHPS  Y1, Y0, Y9; \
	VUNPCKLPS  Y3, Y2, Y10; \
	VUNPCKHPS  Y3, Y2, Y11; \
	VUNPCKLPS  Y5, Y4, Y12; \
	VUNPCKHPS  Y5, Y4, Y13; \
	VUNPCKLPS  Y7, Y6, Y14; \
	VUNPCKHPS  Y7, Y6, Y15; \
	VSHUFPS    $0x44, Y10, Y8, Y0; \
	VSHUFPS    $0xEE, Y10, Y8, Y1; \
	VSHUFPS    $0x44, Y11, Y9, Y2; \
	VSHUFPS    $0xEE, Y11, Y9, Y3; \
	VSHUFPS    $0x44, Y14, Y12, Y4; \
	VSHUFPS    $0xEE, Y14, Y12, Y5; \
	VSHUFPS    $0x44, Y15, Y13, Y6; \
	VSHUFPS    $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VPERM2F128 $0x20, Y5, Y1, Y9; \
	VPERM2F128 $0x20, Y6, Y2, Y10; \
	VPERM2F128 $0x20, Y7, Y3, Y11; \
	VPERM2F128 $0x31, Y4, Y0, Y12; \
	VPERM2F128 $0x31, Y5, Y1, Y13; \
	VPERM2F128 $0x31, Y6, Y2, Y14; \
	VPERM2F128 $0x31, Y7, Y3, Y15

// LOAD8 loads eight rows of 8: the four at r, r+s, r+2s, r+3s (s in BX,
// 3s in DX) and the four at r4 likewise.
#define LOAD8(r, r4) \
	VMOVUPS (r), Y0; \
	VMOVUPS (r)(BX*1), Y1; \
	VMOVUPS (r)(BX*2), Y2; \
	VMOVUPS (r)(DX*1), Y3; \
	VMOVUPS (r4), Y4; \
	VMOVUPS (r4)(BX*1), Y5; \
	VMOVUPS (r4)(BX*2), Y6; \
	VMOVUPS (r4)(DX*1), Y7

// STORE8 stores column p of the transposed block (Y(8+p)) at
// off + p·step bytes from DI.
#define STORE8(off, step) \
	VMOVUPS Y8, off(DI); \
	VMOVUPS Y9, off+step(DI); \
	VMOVUPS Y10, off+2*step(DI); \
	VMOVUPS Y11, off+3*step(DI); \
	VMOVUPS Y12, off+4*step(DI); \
	VMOVUPS Y13, off+5*step(DI); \
	VMOVUPS Y14, off+6*step(DI); \
	VMOVUPS Y15, off+7*step(DI)

// func sgemmPackT16(dst, src *float32, ld, n8 int)
TEXT ·sgemmPackT16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), BX
	SHLQ $2, BX              // ld in bytes
	MOVQ n8+24(FP), CX
	LEAQ (BX)(BX*2), DX      // 3·ld
	LEAQ (SI)(BX*4), R8      // row 4
	LEAQ (SI)(BX*8), R9      // row 8
	LEAQ (R9)(BX*4), R10     // row 12

t16:
	LOAD8(SI, R8)
	TRANSPOSE8
	STORE8(0, 64)
	LOAD8(R9, R10)
	TRANSPOSE8
	STORE8(32, 64)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $512, DI
	DECQ CX
	JNZ  t16
	VZEROUPPER
	RET

// func sgemmPackT6(dst, src *float32, ld, n8 int)
TEXT ·sgemmPackT6(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), BX
	SHLQ $2, BX              // ld in bytes
	MOVQ n8+24(FP), CX
	LEAQ (BX)(BX*2), DX      // 3·ld
	LEAQ (SI)(BX*4), R8      // row 4

t6:
	// Rows 6 and 7 repeat row 5: their lanes land in the two floats
	// past each column of six, which the next column overwrites.
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(BX*1), Y1
	VMOVUPS (SI)(BX*2), Y2
	VMOVUPS (SI)(DX*1), Y3
	VMOVUPS (R8), Y4
	VMOVUPS (R8)(BX*1), Y5
	VMOVAPS Y5, Y6
	VMOVAPS Y5, Y7
	TRANSPOSE8
	STORE8(0, 24)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $192, DI
	DECQ CX
	JNZ  t6
	VZEROUPPER
	RET
