//go:build !purego

#include "textflag.h"

// The transformer's elementwise kernels of tfm_vec.go in AVX2 and FMA,
// eight float32 lanes at a time. Go assembler operand order: the Intel
// operands reversed, e.g. VFMADD213PS m, b, a means a = b·a + m, VDIVPS
// b, a, d means d = a/b, VBLENDVPS mask, t, f, d means d = mask < 0 ? t : f.

// Constants, each replicated over the eight lanes of a vector.
#define CONST8(name, v) DATA name<>+0(SB)/8, v; DATA name<>+8(SB)/8, v; DATA name<>+16(SB)/8, v; DATA name<>+24(SB)/8, v; GLOBL name<>(SB), RODATA|NOPTR, $32

CONST8(tfmOne, $0x3f8000003f800000) // 1
CONST8(tfmHalf, $0x3f0000003f000000) // 0.5
CONST8(tfmMHalf, $0xbf000000bf000000) // -0.5
CONST8(tfmLog2e, $0x3fb8aa3b3fb8aa3b) // log2(e)
CONST8(tfmLn2Hi, $0x3f3180003f318000) // ln 2, high part
CONST8(tfmLn2Lo, $0xb95e8083b95e8083) // ln 2, low part
CONST8(tfmExpHi, $0x42b0c0a542b0c0a5) // largest exp argument
CONST8(tfmExpLo, $0xc2aeac50c2aeac50) // smallest exp argument (normal result)
CONST8(tfmP0, $0x3950696739506967) // exp polynomial (Cephes expf)
CONST8(tfmP1, $0x3ab743ce3ab743ce)
CONST8(tfmP2, $0x3c0889083c088908)
CONST8(tfmP3, $0x3d2aa9c13d2aa9c1)
CONST8(tfmP4, $0x3e2aaaaa3e2aaaaa)
CONST8(tfmP5, $0x3f0000003f000000)
CONST8(tfmInvSqrt2, $0x3f3504f33f3504f3) // 1/sqrt(2)
CONST8(tfmInvSqrt2Pi, $0x3ecc422a3ecc422a) // 1/sqrt(2π)
CONST8(tfmErfP, $0x3ea7ba053ea7ba05) // erf (Abramowitz and Stegun 7.1.26)
CONST8(tfmA1, $0x3e8279063e827906)
CONST8(tfmA2, $0xbe91a98ebe91a98e)
CONST8(tfmA3, $0x3fb5f0e33fb5f0e3)
CONST8(tfmA4, $0xbfba00e3bfba00e3)
CONST8(tfmA5, $0x3f87dc223f87dc22)
CONST8(tfmAbs, $0x7fffffff7fffffff) // |x| mask
CONST8(tfmBias127, $0x0000007f0000007f) // the float32 exponent bias (int32)

// EXP sets x to e^x (Cephes' expf, as expf32): x clamped to the normal
// range (a NaN stays NaN), x = k·ln2 + r, e^r by a degree-6 polynomial,
// 2^k from the exponent bits. t1 and t2 are clobbered.
#define EXP(x, t1, t2) \
	VMOVUPS      tfmExpHi<>(SB), t1; \
	VMINPS       x, t1, x; \
	VMOVUPS      tfmExpLo<>(SB), t1; \
	VMAXPS       x, t1, x; \
	VMOVUPS      tfmLog2e<>(SB), t1; \
	VFMADD213PS  tfmHalf<>(SB), x, t1; \
	VROUNDPS     $1, t1, t1; \
	VFNMADD231PS tfmLn2Hi<>(SB), t1, x; \
	VFNMADD231PS tfmLn2Lo<>(SB), t1, x; \
	VCVTTPS2DQ   t1, t1; \
	VPADDD       tfmBias127<>(SB), t1, t1; \
	VPSLLD       $23, t1, t1; \
	VMOVUPS      tfmP0<>(SB), t2; \
	VFMADD213PS  tfmP1<>(SB), x, t2; \
	VFMADD213PS  tfmP2<>(SB), x, t2; \
	VFMADD213PS  tfmP3<>(SB), x, t2; \
	VFMADD213PS  tfmP4<>(SB), x, t2; \
	VFMADD213PS  tfmP5<>(SB), x, t2; \
	VMULPS       x, t2, t2; \
	VFMADD213PS  x, x, t2; \
	VADDPS       tfmOne<>(SB), t2, t2; \
	VMULPS       t1, t2, x

// GELU sets y to GELU(z), cdf to Φ(z) and e to e^(-z²/2) for the lanes of
// z (as geluf32); Y1 to Y5 are clobbered.
#define GELU(z, y, cdf, e) \
	VANDPS      tfmAbs<>(SB), z, Y1; \
	VMULPS      tfmInvSqrt2<>(SB), Y1, Y1; \
	VMOVUPS     tfmErfP<>(SB), Y2; \
	VFMADD213PS tfmOne<>(SB), Y1, Y2; \
	VMOVUPS     tfmOne<>(SB), Y1; \
	VDIVPS      Y2, Y1, Y1; \
	VMULPS      z, z, e; \
	VMULPS      tfmMHalf<>(SB), e, e; \
	EXP(e, Y3, Y4); \
	VMOVUPS     tfmA5<>(SB), Y5; \
	VFMADD213PS tfmA4<>(SB), Y1, Y5; \
	VFMADD213PS tfmA3<>(SB), Y1, Y5; \
	VFMADD213PS tfmA2<>(SB), Y1, Y5; \
	VFMADD213PS tfmA1<>(SB), Y1, Y5; \
	VMULPS      Y1, Y5, Y5; \
	VMULPS      tfmHalf<>(SB), Y5, Y5; \
	VMULPS      e, Y5, Y5; \
	VMOVUPS     tfmOne<>(SB), cdf; \
	VSUBPS      Y5, cdf, cdf; \
	VBLENDVPS   z, Y5, cdf, cdf; \
	VMULPS      cdf, z, y

// func geluAVX2(x *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $3, CX

geluLoop:
	VMOVUPS (SI), Y0
	GELU(Y0, Y6, Y7, Y8)
	VMOVUPS Y6, (SI)
	ADDQ    $32, SI
	DECQ    CX
	JNZ     geluLoop
	VZEROUPPER
	RET

// func geluDerivAVX2(x, d *float32, n int)
TEXT ·geluDerivAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ d+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $3, CX

geluDerivLoop:
	VMOVUPS     (SI), Y0
	GELU(Y0, Y6, Y7, Y8)
	VMOVUPS     Y6, (SI)
	VMULPS      Y8, Y0, Y9
	VFMADD231PS tfmInvSqrt2Pi<>(SB), Y9, Y7
	VMOVUPS     Y7, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         geluDerivLoop
	VZEROUPPER
	RET

// func expSumAVX2(x *float32, n int, m, scale float32) float32
TEXT ·expSumAVX2(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	SHRQ         $3, CX
	VBROADCASTSS m+16(FP), Y8
	VBROADCASTSS scale+20(FP), Y9
	VXORPS       Y10, Y10, Y10

expSumLoop:
	VMOVUPS (SI), Y0
	VSUBPS  Y8, Y0, Y0
	VMULPS  Y9, Y0, Y0
	EXP(Y0, Y3, Y4)
	VMOVUPS Y0, (SI)
	VADDPS  Y0, Y10, Y10
	ADDQ    $32, SI
	DECQ    CX
	JNZ     expSumLoop

	VEXTRACTF128 $1, Y10, X11
	VADDPS       X11, X10, X10
	VHADDPS      X10, X10, X10
	VHADDPS      X10, X10, X10
	VMOVSS       X10, ret+24(FP)
	VZEROUPPER
	RET

// HSUM8 leaves the sum of y's eight lanes in lane 0 of x (y's low half).
#define HSUM8(y, x) VEXTRACTF128 $1, y, X15; VADDPS X15, x, x; VHADDPS x, x, x; VHADDPS x, x, x

// func lnStatsAVX2(x *float32, n int, inv float32) (mean, variance float32)
TEXT ·lnStatsAVX2(SB), NOSPLIT, $0-32
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), DX
	SHLQ   $2, DX
	XORQ   AX, AX
	VXORPS Y0, Y0, Y0

statsSum:
	VADDPS (SI)(AX*1), Y0, Y0
	ADDQ   $32, AX
	CMPQ   AX, DX
	JLT    statsSum
	HSUM8(Y0, X0)
	VMULSS       inv+16(FP), X0, X0
	VBROADCASTSS X0, Y1
	XORQ         AX, AX
	VXORPS       Y2, Y2, Y2

statsDev:
	VMOVUPS     (SI)(AX*1), Y3
	VSUBPS      Y1, Y3, Y3
	VFMADD231PS Y3, Y3, Y2
	ADDQ        $32, AX
	CMPQ        AX, DX
	JLT         statsDev
	HSUM8(Y2, X2)
	VMULSS inv+16(FP), X2, X2
	VMOVSS X0, mean+24(FP)
	VMOVSS X2, variance+28(FP)
	VZEROUPPER
	RET

// func lnNormAVX2(x, w, b, y *float32, n int, mean, rstd float32)
TEXT ·lnNormAVX2(SB), NOSPLIT, $0-48
	MOVQ         x+0(FP), SI
	MOVQ         w+8(FP), DI
	MOVQ         b+16(FP), R8
	MOVQ         y+24(FP), R9
	MOVQ         n+32(FP), DX
	SHLQ         $2, DX
	VBROADCASTSS mean+40(FP), Y1
	VBROADCASTSS rstd+44(FP), Y2
	XORQ         AX, AX
	TESTQ        R8, R8
	JZ           normPlain

normBias:
	VMOVUPS (SI)(AX*1), Y0
	VSUBPS  Y1, Y0, Y0
	VMULPS  Y2, Y0, Y0
	VMULPS  (DI)(AX*1), Y0, Y0
	VADDPS  (R8)(AX*1), Y0, Y0
	VMOVUPS Y0, (R9)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, DX
	JLT     normBias
	VZEROUPPER
	RET

normPlain:
	VMOVUPS (SI)(AX*1), Y0
	VSUBPS  Y1, Y0, Y0
	VMULPS  Y2, Y0, Y0
	VMULPS  (DI)(AX*1), Y0, Y0
	VMOVUPS Y0, (R9)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, DX
	JLT     normPlain
	VZEROUPPER
	RET

// func lnGradSumsAVX2(x, w, gy *float32, n int, mean float32) (a, b float32)
TEXT ·lnGradSumsAVX2(SB), NOSPLIT, $0-48
	MOVQ         x+0(FP), SI
	MOVQ         w+8(FP), DI
	MOVQ         gy+16(FP), R8
	MOVQ         n+24(FP), DX
	SHLQ         $2, DX
	VBROADCASTSS mean+32(FP), Y1
	XORQ         AX, AX
	VXORPS       Y4, Y4, Y4
	VXORPS       Y5, Y5, Y5

gradSums:
	VMOVUPS     (R8)(AX*1), Y0
	VMULPS      (DI)(AX*1), Y0, Y0
	VADDPS      Y0, Y4, Y4
	VMOVUPS     (SI)(AX*1), Y3
	VSUBPS      Y1, Y3, Y3
	VFMADD231PS Y3, Y0, Y5
	ADDQ        $32, AX
	CMPQ        AX, DX
	JLT         gradSums
	HSUM8(Y4, X4)
	HSUM8(Y5, X5)
	VMOVSS X4, a+40(FP)
	VMOVSS X5, b+44(FP)
	VZEROUPPER
	RET

// func lnDxAVX2(x, w, gy, dx *float32, n int, mean, c1, c2, c3 float32)
TEXT ·lnDxAVX2(SB), NOSPLIT, $0-56
	MOVQ         x+0(FP), SI
	MOVQ         w+8(FP), DI
	MOVQ         gy+16(FP), R8
	MOVQ         dx+24(FP), R9
	MOVQ         n+32(FP), DX
	SHLQ         $2, DX
	VBROADCASTSS mean+40(FP), Y1
	VBROADCASTSS c1+44(FP), Y6
	VBROADCASTSS c2+48(FP), Y7
	VBROADCASTSS c3+52(FP), Y8
	XORQ         AX, AX

dxLoop:
	VMOVUPS      (R8)(AX*1), Y0
	VMULPS       (DI)(AX*1), Y0, Y0
	VMULPS       Y6, Y0, Y0
	VSUBPS       Y7, Y0, Y0
	VMOVUPS      (SI)(AX*1), Y3
	VSUBPS       Y1, Y3, Y3
	VFNMADD231PS Y3, Y8, Y0
	VMOVUPS      Y0, (R9)(AX*1)
	ADDQ         $32, AX
	CMPQ         AX, DX
	JLT          dxLoop
	VZEROUPPER
	RET

// func lnDwAVX2(x, gy, dw *float32, n int, mean, rstd float32)
TEXT ·lnDwAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         gy+8(FP), DI
	MOVQ         dw+16(FP), R8
	MOVQ         n+24(FP), DX
	SHLQ         $2, DX
	VBROADCASTSS mean+32(FP), Y1
	VBROADCASTSS rstd+36(FP), Y2
	XORQ         AX, AX

dwLoop:
	VMOVUPS     (SI)(AX*1), Y3
	VSUBPS      Y1, Y3, Y3
	VMULPS      Y2, Y3, Y3
	VMOVUPS     (R8)(AX*1), Y0
	VFMADD231PS (DI)(AX*1), Y3, Y0
	VMOVUPS     Y0, (R8)(AX*1)
	ADDQ        $32, AX
	CMPQ        AX, DX
	JLT         dwLoop
	VZEROUPPER
	RET
