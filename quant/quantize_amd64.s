#include "textflag.h"

DATA quantMax<>+0(SB)/4, $127.0
DATA quantMin<>+0(SB)/4, $-128.0
GLOBL quantMax<>(SB), RODATA|NOPTR, $4
GLOBL quantMin<>(SB), RODATA|NOPTR, $4

// func quantizeAVX2(dst *int8, src *float32, n int, scale float32)
// quantizeGo for n a multiple of 8: x/scale (VDIVPS: the IEEE quotient,
// as Go's float32 division), rounded half to even (VROUNDPS mode 0),
// clamped to [-128, 127], NaN to 0, converted and narrowed to int8.
TEXT ·quantizeAVX2(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y5
	VBROADCASTSS quantMax<>(SB), Y6
	VBROADCASTSS quantMin<>(SB), Y7

loop:
	CMPQ         CX, $8
	JL           done
	VMOVUPS      (SI), Y0
	VDIVPS       Y5, Y0, Y0        // Y0 = x / scale
	VCMPPS       $3, Y0, Y0, Y1    // Y1 = NaN lanes (unordered)
	VROUNDPS     $8, Y0, Y0        // nearest even, no precision exception
	VMAXPS       Y7, Y0, Y0
	VMINPS       Y6, Y0, Y0
	VANDNPS      Y0, Y1, Y0        // NaN lanes to 0
	VCVTPS2DQ    Y0, Y0            // exact: integers in [-128, 127]
	VEXTRACTI128 $1, Y0, X2
	VPACKSSDW    X2, X0, X0        // 8 int16, lanes 0-3 then 4-7
	VPACKSSWB    X0, X0, X0        // 8 int8 in the low 64 bits
	MOVQ         X0, (DI)
	ADDQ         $32, SI
	ADDQ         $8, DI
	SUBQ         $8, CX
	JMP          loop

done:
	VZEROUPPER
	RET
