#include "textflag.h"

// func gemmTileVNNI(c *int32, ldc int, a *int32, lda int, b, koff *int32, kp int)
// gemmTileGo's 8 x 16 tile in AVX-512 VNNI: per pair index, one load of
// B's 16 words b[koff[kk]:] and, per row of A, one VPDPWSSD of it with the
// row's pair word broadcast (lo*lo' + hi*hi' added to each int32 lane:
// the same exact sums as VPMADDWD then VPADDD). Z0-Z7 accumulate rows
// 0-7; kp >= 1.
TEXT ·gemmTileVNNI(SB), NOSPLIT, $0-56
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R9
	MOVQ b+32(FP), DX
	MOVQ koff+40(FP), BX
	MOVQ kp+48(FP), CX
	SHLQ $2, R8            // bytes between rows of C
	SHLQ $2, R9            // bytes between rows of A
	LEAQ (R9)(R9*2), R11   // three rows of A
	LEAQ (SI)(R9*4), R10   // row 4 of A

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

loop:
	MOVLQSX       (BX), AX
	VMOVDQU32     (DX)(AX*4), Z8
	VPDPWSSD.BCST (SI), Z8, Z0
	VPDPWSSD.BCST (SI)(R9*1), Z8, Z1
	VPDPWSSD.BCST (SI)(R9*2), Z8, Z2
	VPDPWSSD.BCST (SI)(R11*1), Z8, Z3
	VPDPWSSD.BCST (R10), Z8, Z4
	VPDPWSSD.BCST (R10)(R9*1), Z8, Z5
	VPDPWSSD.BCST (R10)(R9*2), Z8, Z6
	VPDPWSSD.BCST (R10)(R11*1), Z8, Z7
	ADDQ          $4, BX
	ADDQ          $4, SI
	ADDQ          $4, R10
	DECQ          CX
	JNZ           loop

	VMOVDQU32 Z0, (DI)
	ADDQ      R8, DI
	VMOVDQU32 Z1, (DI)
	ADDQ      R8, DI
	VMOVDQU32 Z2, (DI)
	ADDQ      R8, DI
	VMOVDQU32 Z3, (DI)
	ADDQ      R8, DI
	VMOVDQU32 Z4, (DI)
	ADDQ      R8, DI
	VMOVDQU32 Z5, (DI)
	ADDQ      R8, DI
	VMOVDQU32 Z6, (DI)
	ADDQ      R8, DI
	VMOVDQU32 Z7, (DI)
	VZEROUPPER
	RET
