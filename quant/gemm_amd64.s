#include "textflag.h"

// func gemmTileAVX2(c *int32, ldc int, a *int32, lda int, b, koff *int32, kp int)
// The 4 x 16 int32 tile C[i][j] = sum over kk < kp of the VPMADDWD of A's
// pair word a[i*lda+kk] (broadcast) with B's words b[koff[kk]+j]:
// lo*lo' + hi*hi' in each int32 lane (exact, as in gemmTileGo). Y0-Y7
// accumulate rows 0-3 (two registers of 8 columns per row); kp = 0 stores
// zeros.
TEXT ·gemmTileAVX2(SB), NOSPLIT, $0-56
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R9
	MOVQ b+32(FP), DX
	MOVQ koff+40(FP), BX
	MOVQ kp+48(FP), CX
	SHLQ $2, R8 // bytes between rows of C
	SHLQ $2, R9 // bytes between rows of A
	LEAQ (SI)(R9*2), R10 // row 2 of A

	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

loop2:
	CMPQ CX, $2
	JL   loop1
	MOVLQSX      (BX), AX
	VMOVDQU      (DX)(AX*4), Y8
	VMOVDQU      32(DX)(AX*4), Y9
	VPBROADCASTD (SI), Y10
	VPBROADCASTD (SI)(R9*1), Y11
	VPBROADCASTD (R10), Y12
	VPBROADCASTD (R10)(R9*1), Y13
	VPMADDWD     Y8, Y10, Y14
	VPMADDWD     Y9, Y10, Y15
	VPADDD       Y14, Y0, Y0
	VPADDD       Y15, Y1, Y1
	VPMADDWD     Y8, Y11, Y14
	VPMADDWD     Y9, Y11, Y15
	VPADDD       Y14, Y2, Y2
	VPADDD       Y15, Y3, Y3
	VPMADDWD     Y8, Y12, Y14
	VPMADDWD     Y9, Y12, Y15
	VPADDD       Y14, Y4, Y4
	VPADDD       Y15, Y5, Y5
	VPMADDWD     Y8, Y13, Y14
	VPMADDWD     Y9, Y13, Y15
	VPADDD       Y14, Y6, Y6
	VPADDD       Y15, Y7, Y7
	MOVLQSX      4(BX), AX
	VMOVDQU      (DX)(AX*4), Y8
	VMOVDQU      32(DX)(AX*4), Y9
	VPBROADCASTD 4(SI), Y10
	VPBROADCASTD 4(SI)(R9*1), Y11
	VPBROADCASTD 4(R10), Y12
	VPBROADCASTD 4(R10)(R9*1), Y13
	VPMADDWD     Y8, Y10, Y14
	VPMADDWD     Y9, Y10, Y15
	VPADDD       Y14, Y0, Y0
	VPADDD       Y15, Y1, Y1
	VPMADDWD     Y8, Y11, Y14
	VPMADDWD     Y9, Y11, Y15
	VPADDD       Y14, Y2, Y2
	VPADDD       Y15, Y3, Y3
	VPMADDWD     Y8, Y12, Y14
	VPMADDWD     Y9, Y12, Y15
	VPADDD       Y14, Y4, Y4
	VPADDD       Y15, Y5, Y5
	VPMADDWD     Y8, Y13, Y14
	VPMADDWD     Y9, Y13, Y15
	VPADDD       Y14, Y6, Y6
	VPADDD       Y15, Y7, Y7
	ADDQ         $8, BX
	ADDQ         $8, SI
	ADDQ         $8, R10
	SUBQ         $2, CX
	JMP          loop2

loop1:
	CMPQ CX, $0
	JE   store
	MOVLQSX      (BX), AX
	VMOVDQU      (DX)(AX*4), Y8
	VMOVDQU      32(DX)(AX*4), Y9
	VPBROADCASTD (SI), Y10
	VPBROADCASTD (SI)(R9*1), Y11
	VPBROADCASTD (R10), Y12
	VPBROADCASTD (R10)(R9*1), Y13
	VPMADDWD     Y8, Y10, Y14
	VPMADDWD     Y9, Y10, Y15
	VPADDD       Y14, Y0, Y0
	VPADDD       Y15, Y1, Y1
	VPMADDWD     Y8, Y11, Y14
	VPMADDWD     Y9, Y11, Y15
	VPADDD       Y14, Y2, Y2
	VPADDD       Y15, Y3, Y3
	VPMADDWD     Y8, Y12, Y14
	VPMADDWD     Y9, Y12, Y15
	VPADDD       Y14, Y4, Y4
	VPADDD       Y15, Y5, Y5
	VPMADDWD     Y8, Y13, Y14
	VPMADDWD     Y9, Y13, Y15
	VPADDD       Y14, Y6, Y6
	VPADDD       Y15, Y7, Y7

store:
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	ADDQ    R8, DI
	VMOVDQU Y2, (DI)
	VMOVDQU Y3, 32(DI)
	ADDQ    R8, DI
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, 32(DI)
	ADDQ    R8, DI
	VMOVDQU Y6, (DI)
	VMOVDQU Y7, 32(DI)
	VZEROUPPER
	RET
