//go:build linux

#include "textflag.h"

// func copyNT(dst, src *byte, n int)
// n a multiple of 128, dst 32-byte aligned: non-temporal 32-byte stores,
// then SFENCE.
TEXT ·copyNT(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
loop:
	CMPQ CX, $0
	JE   done
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVNTDQ Y0, (DI)
	VMOVNTDQ Y1, 32(DI)
	VMOVNTDQ Y2, 64(DI)
	VMOVNTDQ Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $128, CX
	JMP  loop
done:
	SFENCE
	VZEROUPPER
	RET
