#include "textflag.h"

// func gemmTileVNNI(c *int32, ldc int, a *int32, lda int, b, koff *int32, kp int)
// gemmTileGo's 8 x 32 tile in AVX-512 VNNI: per pair index, two loads of
// B's 32 words b[koff[kk]:] and, per row of A, the row's pair word
// broadcast and two VPDPWSSD with it (lo*lo' + hi*hi' added to each int32
// lane: the same exact sums as VPMADDWD then VPADDD). Z0-Z15 accumulate
// rows 0-7 (two registers of 16 columns per row); kp >= 1.
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
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

loop:
	MOVLQSX       (BX), AX
	VMOVDQU32     (DX)(AX*4), Z16
	VMOVDQU32     64(DX)(AX*4), Z17
	VPBROADCASTD  (SI), Z18
	VPDPWSSD      Z16, Z18, Z0
	VPDPWSSD      Z17, Z18, Z1
	VPBROADCASTD  (SI)(R9*1), Z18
	VPDPWSSD      Z16, Z18, Z2
	VPDPWSSD      Z17, Z18, Z3
	VPBROADCASTD  (SI)(R9*2), Z18
	VPDPWSSD      Z16, Z18, Z4
	VPDPWSSD      Z17, Z18, Z5
	VPBROADCASTD  (SI)(R11*1), Z18
	VPDPWSSD      Z16, Z18, Z6
	VPDPWSSD      Z17, Z18, Z7
	VPBROADCASTD  (R10), Z18
	VPDPWSSD      Z16, Z18, Z8
	VPDPWSSD      Z17, Z18, Z9
	VPBROADCASTD  (R10)(R9*1), Z18
	VPDPWSSD      Z16, Z18, Z10
	VPDPWSSD      Z17, Z18, Z11
	VPBROADCASTD  (R10)(R9*2), Z18
	VPDPWSSD      Z16, Z18, Z12
	VPDPWSSD      Z17, Z18, Z13
	VPBROADCASTD  (R10)(R11*1), Z18
	VPDPWSSD      Z16, Z18, Z14
	VPDPWSSD      Z17, Z18, Z15
	ADDQ          $4, BX
	ADDQ          $4, SI
	ADDQ          $4, R10
	DECQ          CX
	JNZ           loop

	VMOVDQU32 Z0, (DI)
	VMOVDQU32 Z1, 64(DI)
	ADDQ      R8, DI
	VMOVDQU32 Z2, (DI)
	VMOVDQU32 Z3, 64(DI)
	ADDQ      R8, DI
	VMOVDQU32 Z4, (DI)
	VMOVDQU32 Z5, 64(DI)
	ADDQ      R8, DI
	VMOVDQU32 Z6, (DI)
	VMOVDQU32 Z7, 64(DI)
	ADDQ      R8, DI
	VMOVDQU32 Z8, (DI)
	VMOVDQU32 Z9, 64(DI)
	ADDQ      R8, DI
	VMOVDQU32 Z10, (DI)
	VMOVDQU32 Z11, 64(DI)
	ADDQ      R8, DI
	VMOVDQU32 Z12, (DI)
	VMOVDQU32 Z13, 64(DI)
	ADDQ      R8, DI
	VMOVDQU32 Z14, (DI)
	VMOVDQU32 Z15, 64(DI)
	VZEROUPPER
	RET
