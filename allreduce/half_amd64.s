#include "textflag.h"

// The 16-bit conversions of half.go, 16 values per iteration; n is a
// multiple of 16 (the caller runs the scalar code on the rest). Every lane
// gets exactly the bits of the scalar reference: toBF16/toFP16 when packing,
// fromBF16/fromFP16 when widening, and dst[i] + widen(h[i]) (dst as the
// first operand of the IEEE add, as addInto) when combining. Halves are
// little-endian uint16s in value order: value 2i is the low half of carrier
// slot i.

// func cpuidECX1() uint32
TEXT ·cpuidECX1(SB), NOSPLIT, $0-4
	MOVL  $1, AX
	XORL  CX, CX
	CPUID
	MOVL  CX, ret+0(FP)
	RET

// BF16ROUND rounds the 8 float32 lanes of in to bfloat16 in the low 16
// bits of each lane of out, as toBF16: t = b + 0x7fff + (b>>16)&1, minus
// 0x10000 where a finite value rounded up to Inf (|b| in
// [0x7f7f8000, 0x7f7fffff]: saturate at the largest finite value), b with
// the quiet bit where b is NaN (no rounding), then t>>16.
// Constants: Y15 0x7fffffff, Y14 0x7f800000, Y13 0x7fff, Y12 1,
// Y11 0x7f7f7fff, Y10 0x7f7fffff, Y9 0x10000, Y8 0x400000.
#define BF16ROUND(in, out, a, t1, t2) \
	VPAND     Y15, in, a;         \
	VPSRLD    $16, in, out;       \
	VPAND     Y12, out, out;      \
	VPADDD    Y13, out, out;      \
	VPADDD    in, out, out;       \
	VPCMPGTD  Y11, a, t1;         \
	VPCMPGTD  Y10, a, t2;         \
	VPANDN    t1, t2, t1;         \
	VPAND     Y9, t1, t1;         \
	VPSUBD    t1, out, out;       \
	VPCMPGTD  Y14, a, t1;         \
	VPOR      Y8, in, t2;         \
	VPBLENDVB t1, t2, out, out;   \
	VPSRLD    $16, out, out

#define BF16CONSTS \
	MOVL         $0x7fffffff, AX; \
	MOVQ         AX, X15;         \
	VPBROADCASTD X15, Y15;        \
	MOVL         $0x7f800000, AX; \
	MOVQ         AX, X14;         \
	VPBROADCASTD X14, Y14;        \
	MOVL         $0x7fff, AX;     \
	MOVQ         AX, X13;         \
	VPBROADCASTD X13, Y13;        \
	MOVL         $1, AX;          \
	MOVQ         AX, X12;         \
	VPBROADCASTD X12, Y12;        \
	MOVL         $0x7f7f7fff, AX; \
	MOVQ         AX, X11;         \
	VPBROADCASTD X11, Y11;        \
	MOVL         $0x7f7fffff, AX; \
	MOVQ         AX, X10;         \
	VPBROADCASTD X10, Y10;        \
	MOVL         $0x10000, AX;    \
	MOVQ         AX, X9;          \
	VPBROADCASTD X9, Y9;          \
	MOVL         $0x400000, AX;   \
	MOVQ         AX, X8;          \
	VPBROADCASTD X8, Y8

// func packBF16AVX2(dst *float32, src *float32, n int)
TEXT ·packBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	BF16CONSTS

bf16loop:
	CMPQ CX, $16
	JL   bf16done
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y4
	BF16ROUND(Y0, Y1, Y2, Y3, Y7)
	BF16ROUND(Y4, Y5, Y6, Y3, Y7)
	VPACKUSDW Y5, Y1, Y1        // quadwords: lo(Y1), lo(Y5), hi(Y1), hi(Y5)
	VPERMQ    $0xd8, Y1, Y1     // value order
	VMOVDQU   Y1, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP  bf16loop

bf16done:
	VZEROUPPER
	RET

// FP16SAT replaces the finite lanes of in whose magnitude rounds past
// 65504 (|x| >= 65520, bits above 0x477fefff and below 0x7f800000) by
// ±65504, which VCVTPS2PH then keeps exactly: toFP16 saturates where the
// instruction would give ±Inf. Constants: Y15 0x7fffffff, Y14 0x477fefff,
// Y13 0x7f7fffff, Y12 0x477fe000 (65504), Y11 0x80000000.
#define FP16SAT(in, a, t1, t2) \
	VPAND     Y15, in, a;       \
	VPCMPGTD  Y14, a, t1;       \
	VPCMPGTD  Y13, a, t2;       \
	VPANDN    t1, t2, t1;       \
	VPAND     Y11, in, t2;      \
	VPOR      Y12, t2, t2;      \
	VPBLENDVB t1, t2, in, in

// func packFP16F16C(dst *float32, src *float32, n int)
// Rounding by VCVTPS2PH with immediate 0 (round to nearest even, whatever
// MXCSR says): binary16 subnormals are rounded exactly, and a NaN keeps its
// sign and top 10 significand bits with the quiet bit set (toFP16's NaN).
TEXT ·packFP16F16C(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL         $0x7fffffff, AX
	MOVQ         AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x477fefff, AX
	MOVQ         AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x7f7fffff, AX
	MOVQ         AX, X13
	VPBROADCASTD X13, Y13
	MOVL         $0x477fe000, AX
	MOVQ         AX, X12
	VPBROADCASTD X12, Y12
	MOVL         $0x80000000, AX
	MOVQ         AX, X11
	VPBROADCASTD X11, Y11

fp16loop:
	CMPQ CX, $16
	JL   fp16done
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y4
	FP16SAT(Y0, Y1, Y2, Y3)
	FP16SAT(Y4, Y5, Y6, Y7)
	VCVTPS2PH $0, Y0, (DI)
	VCVTPS2PH $0, Y4, 16(DI)
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP  fp16loop

fp16done:
	VZEROUPPER
	RET

// func widenBF16AVX2(dst *float32, src *float32, n int)
// dst[i] = float32 with bits h[i]<<16.
TEXT ·widenBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

wbf16loop:
	CMPQ CX, $16
	JL   wbf16done
	VPMOVZXWD (SI), Y0
	VPMOVZXWD 16(SI), Y1
	VPSLLD    $16, Y0, Y0
	VPSLLD    $16, Y1, Y1
	VMOVDQU   Y0, (DI)
	VMOVDQU   Y1, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  wbf16loop

wbf16done:
	VZEROUPPER
	RET

// func widenFP16F16C(dst *float32, src *float32, n int)
// VCVTPH2PS is exact for every binary16 value; a signalling NaN is quieted
// by it, which fromFP16 does not do: FP16NAN clears the quiet bit again in
// the lanes whose input was a signalling NaN (exponent all ones, bit 9
// clear, significand not zero). Constants: Y15 0x7e00, Y14 0x7c00,
// Y13 0x3ff, Y12 0x400000, Y11 0.
#define FP16NAN(h, f, t1, t2) \
	VPAND    Y15, h, t1;  \
	VPCMPEQD Y14, t1, t1; \
	VPAND    Y13, h, t2;  \
	VPCMPEQD Y11, t2, t2; \
	VPANDN   t1, t2, t1;  \
	VPAND    Y12, t1, t1; \
	VPANDN   f, t1, f

#define FP16NANCONSTS \
	MOVL         $0x7e00, AX; \
	MOVQ         AX, X15;     \
	VPBROADCASTD X15, Y15;    \
	MOVL         $0x7c00, AX; \
	MOVQ         AX, X14;     \
	VPBROADCASTD X14, Y14;    \
	MOVL         $0x3ff, AX;  \
	MOVQ         AX, X13;     \
	VPBROADCASTD X13, Y13;    \
	MOVL         $0x400000, AX; \
	MOVQ         AX, X12;     \
	VPBROADCASTD X12, Y12;    \
	VPXOR        Y11, Y11, Y11

TEXT ·widenFP16F16C(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	FP16NANCONSTS

wfp16loop:
	CMPQ CX, $16
	JL   wfp16done
	VCVTPH2PS (SI), Y0
	VCVTPH2PS 16(SI), Y1
	VPMOVZXWD (SI), Y2
	VPMOVZXWD 16(SI), Y3
	FP16NAN(Y2, Y0, Y4, Y5)
	FP16NAN(Y3, Y1, Y6, Y7)
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y1, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  wfp16loop

wfp16done:
	VZEROUPPER
	RET

// func addBF16AVX2(dst *float32, src *float32, n int)
// dst[i] += fromBF16(h[i]): the widening fused with the add.
TEXT ·addBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

abf16loop:
	CMPQ CX, $16
	JL   abf16done
	VPMOVZXWD (SI), Y0
	VPMOVZXWD 16(SI), Y1
	VPSLLD    $16, Y0, Y0
	VPSLLD    $16, Y1, Y1
	VMOVUPS   (DI), Y2
	VMOVUPS   32(DI), Y3
	VADDPS    Y0, Y2, Y2        // dst first, as addInto
	VADDPS    Y1, Y3, Y3
	VMOVUPS   Y2, (DI)
	VMOVUPS   Y3, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  abf16loop

abf16done:
	VZEROUPPER
	RET

// func addFP16F16C(dst *float32, src *float32, n int)
// dst[i] += fromFP16(h[i]). No NaN fix-up: that VCVTPH2PS quiets a
// signalling NaN is invisible after the add, which quiets it too (and
// returns dst's NaN, its first operand, where both are NaN).
TEXT ·addFP16F16C(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

afp16loop:
	CMPQ CX, $16
	JL   afp16done
	VCVTPH2PS (SI), Y0
	VCVTPH2PS 16(SI), Y1
	VMOVUPS   (DI), Y2
	VMOVUPS   32(DI), Y3
	VADDPS    Y0, Y2, Y2        // dst first, as addInto
	VADDPS    Y1, Y3, Y3
	VMOVUPS   Y2, (DI)
	VMOVUPS   Y3, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  afp16loop

afp16done:
	VZEROUPPER
	RET
