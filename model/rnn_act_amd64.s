//go:build !purego

#include "textflag.h"

// The activations of rnn_math.go eight lanes at a time in AVX2 and FMA:
// the same Cephes polynomials and clamps, the same NaN propagation. Go
// assembler operand order: VFMADD213PS m, b, acc means acc = acc·b + m;
// VFNMADD231PS m, b, acc means acc -= b·m; for VMINPS/VMAXPS a, b, dst
// the result is a when either is NaN, so the clamps keep a NaN input.

// Eight copies of each constant, so that they can be memory operands.
#define CONST8(name, bits) \
	DATA name<>+0(SB)/4, $bits; DATA name<>+4(SB)/4, $bits; DATA name<>+8(SB)/4, $bits; DATA name<>+12(SB)/4, $bits; \
	DATA name<>+16(SB)/4, $bits; DATA name<>+20(SB)/4, $bits; DATA name<>+24(SB)/4, $bits; DATA name<>+28(SB)/4, $bits; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

CONST8(log2e, 0x3fb8aa3b)
CONST8(expC1, 0x3f318000)
CONST8(expC2, 0xb95e8083)
CONST8(expP0, 0x39506967)
CONST8(expP1, 0x3ab743ce)
CONST8(expP2, 0x3c088908)
CONST8(expP3, 0x3d2aa9c1)
CONST8(expP4, 0x3e2aaaaa)
CONST8(expP5, 0x3f000000)
CONST8(one, 0x3f800000)
CONST8(two, 0x40000000)
CONST8(lo87, 0xc2ae0000)
CONST8(hi87, 0x42ae0000)
CONST8(max43, 0x422c0000)
CONST8(small, 0x3f200000)
CONST8(tanhT0, 0xbbbaf0ea)
CONST8(tanhT1, 0x3ca9134e)
CONST8(tanhT2, 0xbd5c1e2d)
CONST8(tanhT3, 0x3e088393)
CONST8(tanhT4, 0xbeaaaa99)
CONST8(bias127, 0x0000007f)
CONST8(absMask, 0x7fffffff)
CONST8(signMask, 0x80000000)

// EXP sets Y0 = e^Y0 for Y0 in [-87, 88] (expf), using Y1-Y3.
#define EXP \
	VMULPS       log2e<>(SB), Y0, Y1; \
	VROUNDPS     $0, Y1, Y1; \
	VFNMADD231PS expC1<>(SB), Y1, Y0; \
	VFNMADD231PS expC2<>(SB), Y1, Y0; \
	VMULPS       Y0, Y0, Y2; \
	VMOVUPS      expP0<>(SB), Y3; \
	VFMADD213PS  expP1<>(SB), Y0, Y3; \
	VFMADD213PS  expP2<>(SB), Y0, Y3; \
	VFMADD213PS  expP3<>(SB), Y0, Y3; \
	VFMADD213PS  expP4<>(SB), Y0, Y3; \
	VFMADD213PS  expP5<>(SB), Y0, Y3; \
	VFMADD213PS  Y0, Y2, Y3; \
	VADDPS       one<>(SB), Y3, Y3; \
	VCVTPS2DQ    Y1, Y1; \
	VPADDD       bias127<>(SB), Y1, Y1; \
	VPSLLD       $23, Y1, Y1; \
	VMULPS       Y1, Y3, Y0

// func sigmoidAddAVX2(dst, a, b *float32, n int)
// dst[j] = sigmoid(a[j] + b[j]) for j < n, n a positive multiple of 8.
TEXT ·sigmoidAddAVX2(SB), NOSPLIT, $0-32
	MOVQ    dst+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    n+24(FP), CX
	SHLQ    $2, CX
	VMOVUPS lo87<>(SB), Y8
	VMOVUPS hi87<>(SB), Y9
	VMOVUPS one<>(SB), Y10
	XORQ    AX, AX

sigLoop:
	VMOVUPS (SI)(AX*1), Y0
	VADDPS  (DX)(AX*1), Y0, Y0
	VXORPS  signMask<>(SB), Y0, Y0 // -x
	VMAXPS  Y0, Y8, Y0
	VMINPS  Y0, Y9, Y0
	EXP
	VADDPS  Y10, Y0, Y0
	VDIVPS  Y0, Y10, Y0            // 1/(1 + e^-x)
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     sigLoop
	VZEROUPPER
	RET

// func tanhAddAVX2(dst, a, b *float32, n int)
// dst[j] = tanh(a[j] + b[j]) for j < n, n a positive multiple of 8: the
// odd polynomial where |x| < 0.625, 1 - 2/(e^2|x| + 1) with x's sign
// elsewhere, both computed and blended.
TEXT ·tanhAddAVX2(SB), NOSPLIT, $0-32
	MOVQ    dst+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    n+24(FP), CX
	SHLQ    $2, CX
	VMOVUPS max43<>(SB), Y8
	VMOVUPS two<>(SB), Y9
	VMOVUPS one<>(SB), Y10
	XORQ    AX, AX

tanhLoop:
	VMOVUPS     (SI)(AX*1), Y12
	VADDPS      (DX)(AX*1), Y12, Y12 // x
	VANDPS      absMask<>(SB), Y12, Y4 // |x|
	VCMPPS      $1, small<>(SB), Y4, Y5 // |x| < 0.625
	VMULPS      Y12, Y12, Y6           // z = x²
	VMOVUPS     tanhT0<>(SB), Y7
	VFMADD213PS tanhT1<>(SB), Y6, Y7
	VFMADD213PS tanhT2<>(SB), Y6, Y7
	VFMADD213PS tanhT3<>(SB), Y6, Y7
	VFMADD213PS tanhT4<>(SB), Y6, Y7
	VMULPS      Y6, Y7, Y7
	VFMADD213PS Y12, Y12, Y7           // poly·z·x + x
	VMINPS      Y4, Y8, Y0             // min(|x|, 43), NaN kept
	VADDPS      Y0, Y0, Y0
	EXP
	VADDPS      Y10, Y0, Y0
	VDIVPS      Y0, Y9, Y0             // 2/(e^2|x| + 1)
	VSUBPS      Y0, Y10, Y0            // 1 - that
	VANDPS      signMask<>(SB), Y12, Y1
	VORPS       Y1, Y0, Y0             // x's sign
	VBLENDVPS   Y5, Y7, Y0, Y0
	VMOVUPS     Y0, (DI)(AX*1)
	ADDQ        $32, AX
	CMPQ        AX, CX
	JLT         tanhLoop
	VZEROUPPER
	RET
