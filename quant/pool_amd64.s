#include "textflag.h"

DATA poolEven<>+0(SB)/4, $0
DATA poolEven<>+4(SB)/4, $2
DATA poolEven<>+8(SB)/4, $4
DATA poolEven<>+12(SB)/4, $6
DATA poolEven<>+16(SB)/4, $0
DATA poolEven<>+20(SB)/4, $2
DATA poolEven<>+24(SB)/4, $4
DATA poolEven<>+28(SB)/4, $6
GLOBL poolEven<>(SB), RODATA|NOPTR, $32

// func poolPlaneAVX2(dst *float32, src *int32, rows, n, ld int, scale, bias float32, relu bool)
// poolPlaneGo: for each output row y < rows, with r0 = src[2y*ld:] and
// r1 = src[(2y+1)*ld:], dst[y*n+i] = the dequantized (float32(m) * scale,
// then + bias; VCVTDQ2PS, VMULPS, VADDPS round as Go's scalar conversion,
// product and sum do) largest m of r0[2i], r0[2i+1], r1[2i], r1[2i+1],
// then, if relu, 0 where it is <= 0 (so -0 too; NaN kept). Four outputs
// per loop, the last n%4 of a row one at a time.
TEXT ·poolPlaneAVX2(SB), NOSPLIT, $0-49
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), R12
	MOVQ         rows+16(FP), R13
	MOVQ         n+24(FP), R10
	MOVQ         ld+32(FP), R11
	SHLQ         $2, R11            // bytes between rows of src
	VBROADCASTSS scale+40(FP), X5
	VBROADCASTSS bias+44(FP), X6
	MOVBLZX      relu+48(FP), AX
	VMOVDQU      poolEven<>(SB), Y7
	VXORPS       X4, X4, X4

row:
	TESTQ R13, R13
	JE    done
	MOVQ  R12, SI
	LEAQ  (R12)(R11*1), DX
	MOVQ  R10, CX

loop:
	CMPQ      CX, $4
	JL        tail
	VMOVDQU   (SI), Y0
	VPMAXSD   (DX), Y0, Y0     // vertical maxima of 8 columns
	VPSHUFD   $0xB1, Y0, Y1    // adjacent columns swapped
	VPMAXSD   Y1, Y0, Y0       // even lanes: the window maxima
	VPERMD    Y0, Y7, Y0       // lanes 0-3: lanes 0, 2, 4, 6
	VCVTDQ2PS X0, X0
	VMULPS    X5, X0, X0
	VADDPS    X6, X0, X0
	TESTQ     AX, AX
	JE        store
	VCMPPS    $2, X4, X0, X1   // X1 = X0 <= 0
	VANDNPS   X0, X1, X0

store:
	VMOVUPS X0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $16, DI
	SUBQ    $4, CX
	JMP     loop

tail:
	TESTQ      CX, CX
	JE         next
	MOVL       (SI), R8
	MOVL       4(SI), R9
	CMPL       R9, R8
	CMOVLGT    R9, R8
	MOVL       (DX), R9
	CMPL       R9, R8
	CMOVLGT    R9, R8
	MOVL       4(DX), R9
	CMPL       R9, R8
	CMOVLGT    R9, R8
	VCVTSI2SSL R8, X0, X0
	VMULSS     X5, X0, X0
	VADDSS     X6, X0, X0
	TESTQ      AX, AX
	JE         store1
	VCMPSS     $2, X4, X0, X1
	VANDNPS    X0, X1, X0

store1:
	VMOVSS X0, (DI)
	ADDQ   $8, SI
	ADDQ   $8, DX
	ADDQ   $4, DI
	DECQ   CX
	JMP    tail

next:
	LEAQ (R12)(R11*2), R12
	DECQ R13
	JMP  row

done:
	VZEROUPPER
	RET
