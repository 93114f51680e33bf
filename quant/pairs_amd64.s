#include "textflag.h"

// func pairsAVX2(dst *int32, src *int8, n int)
// pairsGo for n a multiple of 16 (src holds n+1 values): the pair word
// of src[i] (low 16 bits) and src[i+1] (high 16 bits), both sign-extended
// to int16, for 16 i at a time.
TEXT ·pairsAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	CMPQ       CX, $16
	JL         done
	VPMOVSXBW  (SI), Y0              // src[i..i+15] as int16
	VPMOVSXBW  1(SI), Y1             // src[i+1..i+16]
	VPUNPCKLWD Y1, Y0, Y2            // words 0-3 | 8-11
	VPUNPCKHWD Y1, Y0, Y3            // words 4-7 | 12-15
	VPERM2I128 $0x20, Y3, Y2, Y4     // words 0-7
	VPERM2I128 $0x31, Y3, Y2, Y5     // words 8-15
	VMOVDQU    Y4, (DI)
	VMOVDQU    Y5, 32(DI)
	ADDQ       $16, SI
	ADDQ       $64, DI
	SUBQ       $16, CX
	JMP        loop

done:
	VZEROUPPER
	RET
