//go:build !purego

#include "textflag.h"

// The kernels of convkern.go in AVX2 and FMA. Go assembler operand order:
// VFMADD231PS m2, m1, acc means acc += m1·m2. Offsets and strides are in
// float32 elements (scaled by 4 in the addressing).

#define FMA2(k, acc0, acc1) VBROADCASTSS k(AX), Y14; VFMADD231PS Y12, Y14, acc0; VFMADD231PS Y13, Y14, acc1

// func shiftGemm6x16(a, src *float32, off *int, k, nblk int, dst *float32, ldc int)
TEXT ·shiftGemm6x16(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ off+16(FP), R8
	MOVQ k+24(FP), CX
	MOVQ nblk+32(FP), R9
	MOVQ dst+40(FP), DX
	MOVQ ldc+48(FP), R10
	SHLQ $2, R10             // ldc in bytes
	LEAQ (R10)(R10*2), R11   // 3·ldc

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
	MOVQ DI, AX              // the packed weights of tap 0
	XORQ BX, BX              // tap

tap:
	MOVQ    (R8)(BX*8), R12  // off[t]
	VMOVUPS (SI)(R12*4), Y12
	VMOVUPS 32(SI)(R12*4), Y13
	FMA2(0, Y0, Y1)
	FMA2(4, Y2, Y3)
	FMA2(8, Y4, Y5)
	FMA2(12, Y6, Y7)
	FMA2(16, Y8, Y9)
	FMA2(20, Y10, Y11)
	ADDQ $24, AX
	INCQ BX
	CMPQ BX, CX
	JLT  tap

	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (DX)(R10*1)
	VMOVUPS Y3, 32(DX)(R10*1)
	VMOVUPS Y4, (DX)(R10*2)
	VMOVUPS Y5, 32(DX)(R10*2)
	VMOVUPS Y6, (DX)(R11*1)
	VMOVUPS Y7, 32(DX)(R11*1)
	LEAQ    (DX)(R10*4), R13
	VMOVUPS Y8, (R13)
	VMOVUPS Y9, 32(R13)
	VMOVUPS Y10, (R13)(R10*1)
	VMOVUPS Y11, 32(R13)(R10*1)
	ADDQ    $64, SI
	ADDQ    $64, DX
	DECQ    R9
	JNZ     block
	VZEROUPPER
	RET

// HSUM stores the sum of acc's eight lanes at off(DI).
#define HSUM(acc, xacc, off) VEXTRACTF128 $1, acc, X15; VADDPS X15, xacc, xacc; VHADDPS xacc, xacc, xacc; VHADDPS xacc, xacc, xacc; VMOVSS xacc, off(DI)

// func dot3x3AVX2(a *float32, aoff *[3]int, b *float32, boff *[3]int, rows, n, astride, bstride int, out *[9]float32)
TEXT ·dot3x3AVX2(SB), NOSPLIT, $0-72
	MOVQ a+0(FP), AX
	MOVQ aoff+8(FP), BX
	MOVQ (BX), CX
	LEAQ (AX)(CX*4), R8      // a row 0
	MOVQ 8(BX), CX
	LEAQ (AX)(CX*4), R9      // a row 1
	MOVQ 16(BX), CX
	LEAQ (AX)(CX*4), R10     // a row 2
	MOVQ b+16(FP), AX
	MOVQ boff+24(FP), BX
	MOVQ (BX), CX
	LEAQ (AX)(CX*4), R11     // b row 0
	MOVQ 8(BX), CX
	LEAQ (AX)(CX*4), R12     // b row 1
	MOVQ 16(BX), CX
	LEAQ (AX)(CX*4), R13     // b row 2
	MOVQ rows+32(FP), DX
	MOVQ n+40(FP), CX
	SHLQ $2, CX              // row length in bytes
	MOVQ astride+48(FP), SI
	SHLQ $2, SI
	MOVQ bstride+56(FP), DI
	SHLQ $2, DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8

row:
	XORQ AX, AX

lane:
	VMOVUPS     (R8)(AX*1), Y9
	VMOVUPS     (R9)(AX*1), Y10
	VMOVUPS     (R10)(AX*1), Y11
	VMOVUPS     (R11)(AX*1), Y12
	VFMADD231PS Y12, Y9, Y0
	VFMADD231PS Y12, Y10, Y1
	VFMADD231PS Y12, Y11, Y2
	VMOVUPS     (R12)(AX*1), Y13
	VFMADD231PS Y13, Y9, Y3
	VFMADD231PS Y13, Y10, Y4
	VFMADD231PS Y13, Y11, Y5
	VMOVUPS     (R13)(AX*1), Y14
	VFMADD231PS Y14, Y9, Y6
	VFMADD231PS Y14, Y10, Y7
	VFMADD231PS Y14, Y11, Y8
	ADDQ        $32, AX
	CMPQ        AX, CX
	JLT         lane

	ADDQ SI, R8
	ADDQ SI, R9
	ADDQ SI, R10
	ADDQ DI, R11
	ADDQ DI, R12
	ADDQ DI, R13
	DECQ DX
	JNZ  row

	// The accumulator of (a row i, b row j) is Y(3j+i): out[3i+j].
	MOVQ out+64(FP), DI
	HSUM(Y0, X0, 0)
	HSUM(Y1, X1, 12)
	HSUM(Y2, X2, 24)
	HSUM(Y3, X3, 4)
	HSUM(Y4, X4, 16)
	HSUM(Y5, X5, 28)
	HSUM(Y6, X6, 8)
	HSUM(Y7, X7, 20)
	HSUM(Y8, X8, 32)
	VZEROUPPER
	RET

// func poolFwdAVX2(a0, a1 *float32, pw, np int, bias float32, out *float32)
TEXT ·poolFwdAVX2(SB), NOSPLIT, $0-48
	MOVQ         a0+0(FP), R8
	MOVQ         a1+8(FP), R9
	MOVQ         pw+16(FP), CX
	MOVQ         np+24(FP), R10
	SHLQ         $2, R10              // a lane row in bytes
	VBROADCASTSS bias+32(FP), Y14
	MOVQ         out+40(FP), DX
	VXORPS       Y15, Y15, Y15
	LEAQ         (R8)(R10*1), R11     // the window's right column, top row
	LEAQ         (R9)(R10*1), R12     // right column, bottom row

fwdWindow:
	XORQ AX, AX

fwdLane:
	VMOVUPS (R8)(AX*1), Y0
	VMAXPS  (R11)(AX*1), Y0, Y0
	VMOVUPS (R9)(AX*1), Y1
	VMAXPS  (R12)(AX*1), Y1, Y1
	VMAXPS  Y1, Y0, Y0
	VADDPS  Y14, Y0, Y0
	VMAXPS  Y0, Y15, Y0               // max(0, v): a NaN v stays NaN
	VMOVUPS Y0, (DX)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, R10
	JLT     fwdLane

	LEAQ (R8)(R10*2), R8
	LEAQ (R9)(R10*2), R9
	LEAQ (R11)(R10*2), R11
	LEAQ (R12)(R10*2), R12
	ADDQ R10, DX
	DECQ CX
	JNZ  fwdWindow
	VZEROUPPER
	RET

// func poolBwdAVX2(a0, a1 *float32, pw, np int, out, grad, d0, d1 *float32)
TEXT ·poolBwdAVX2(SB), NOSPLIT, $0-64
	MOVQ   a0+0(FP), R8
	MOVQ   a1+8(FP), R9
	MOVQ   pw+16(FP), CX
	MOVQ   np+24(FP), R10
	SHLQ   $2, R10
	MOVQ   out+32(FP), SI
	MOVQ   grad+40(FP), DI
	MOVQ   d0+48(FP), R13
	MOVQ   d1+56(FP), R14
	VXORPS Y15, Y15, Y15
	LEAQ   (R8)(R10*1), R11
	LEAQ   (R9)(R10*1), R12

bwdWindow:
	XORQ AX, AX
	LEAQ (R13)(R10*1), BX             // d0's right column
	LEAQ (R14)(R10*1), DX             // d1's right column

bwdLane:
	VMOVUPS (R8)(AX*1), Y0            // a
	VMOVUPS (R11)(AX*1), Y1           // b
	VMOVUPS (R9)(AX*1), Y2            // c
	VMOVUPS (R12)(AX*1), Y3           // d
	VMAXPS  Y1, Y0, Y4
	VMAXPS  Y3, Y2, Y5
	VMAXPS  Y5, Y4, Y4                // m
	VMOVUPS (SI)(AX*1), Y6
	VCMPPS  $14, Y15, Y6, Y7          // out > 0
	VANDPS  (DI)(AX*1), Y7, Y8        // v = g where ReLU passed, else 0
	VCMPPS  $0, Y4, Y0, Y9            // taken = a == m
	VANDPS  Y9, Y8, Y10
	VMOVUPS Y10, (R13)(AX*1)
	VCMPPS  $0, Y4, Y1, Y11
	VANDNPS Y11, Y9, Y11              // b == m and not taken
	VANDPS  Y11, Y8, Y10
	VMOVUPS Y10, (BX)(AX*1)
	VORPS   Y11, Y9, Y9
	VCMPPS  $0, Y4, Y2, Y12
	VANDNPS Y12, Y9, Y12              // c == m and not taken
	VANDPS  Y12, Y8, Y10
	VMOVUPS Y10, (R14)(AX*1)
	VORPS   Y12, Y9, Y9
	VANDNPS Y8, Y9, Y10               // d: whatever is not taken
	VMOVUPS Y10, (DX)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, R10
	JLT     bwdLane

	LEAQ (R8)(R10*2), R8
	LEAQ (R9)(R10*2), R9
	LEAQ (R11)(R10*2), R11
	LEAQ (R12)(R10*2), R12
	LEAQ (R13)(R10*2), R13
	LEAQ (R14)(R10*2), R14
	ADDQ R10, SI
	ADDQ R10, DI
	DECQ CX
	JNZ  bwdWindow
	VZEROUPPER
	RET
