//go:build !purego

#include "textflag.h"

// The kernels of kernels.go, four float32 lanes at a time. n is a positive
// multiple of 4; the slices need no alignment (MOVUPS). Each line applies
// the operation of the Go loop it is commented with, in the same order.
// Go assembler operand order: OP src, dst means dst = dst OP src.

// BCAST loads the float32 at off(k) into all four lanes of reg.
#define BCAST(off, reg) MOVSS off(R8), reg; SHUFPS $0, reg, reg

// func adamSSE(p, grad, m, v *float32, n int, k *adamCoeffs)
TEXT ·adamSSE(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R8
	BCAST(0, X0)  // l2
	BCAST(4, X1)  // decay
	BCAST(8, X2)  // b1
	BCAST(12, X3) // c1
	BCAST(16, X4) // b2
	BCAST(20, X5) // c2
	BCAST(24, X6) // invBC2
	BCAST(28, X7) // eps
	BCAST(32, X8) // stepSize
	XORQ AX, AX

adamLoop:
	MOVUPS (DI)(AX*4), X9  // p
	MOVUPS (SI)(AX*4), X10 // g
	MOVAPS X0, X11
	MULPS  X9, X11         // l2*p
	ADDPS  X11, X10        // g' = g + l2*p
	MULPS  X1, X9          // p' = p*decay
	MOVUPS (DX)(AX*4), X11
	MULPS  X2, X11         // b1*m
	MOVAPS X3, X12
	MULPS  X10, X12        // c1*g'
	ADDPS  X12, X11        // m' = b1*m + c1*g'
	MOVUPS X11, (DX)(AX*4)
	MULPS  X10, X10        // g'*g'
	MULPS  X5, X10         // (g'*g')*c2
	MOVUPS (BX)(AX*4), X12
	MULPS  X4, X12         // b2*v
	ADDPS  X10, X12        // v' = b2*v + (g'*g')*c2
	MOVUPS X12, (BX)(AX*4)
	SQRTPS X12, X12        // sqrt(v')
	MULPS  X6, X12         // sqrt(v')*invBC2
	ADDPS  X7, X12         // d = sqrt(v')*invBC2 + eps
	DIVPS  X12, X11        // m'/d
	MULPS  X8, X11         // stepSize*(m'/d)
	SUBPS  X11, X9         // p'' = p' - stepSize*(m'/d)
	MOVUPS X9, (DI)(AX*4)
	ADDQ   $4, AX
	CMPQ   AX, CX
	JLT    adamLoop
	RET

// func adagradSSE(p, grad, s *float32, n int, k *rootCoeffs)
TEXT ·adagradSSE(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ s+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R8
	BCAST(0, X0) // wd
	BCAST(4, X1) // lr
	BCAST(8, X2) // eps
	XORQ AX, AX

adagradLoop:
	MOVUPS (DI)(AX*4), X9  // p
	MOVUPS (SI)(AX*4), X10 // g
	MOVAPS X0, X11
	MULPS  X9, X11         // wd*p
	ADDPS  X11, X10        // g' = g + wd*p
	MOVAPS X10, X11
	MULPS  X10, X11        // g'*g'
	MOVUPS (DX)(AX*4), X12
	ADDPS  X11, X12        // s' = s + g'*g'
	MOVUPS X12, (DX)(AX*4)
	SQRTPS X12, X12        // sqrt(s')
	ADDPS  X2, X12         // d = sqrt(s') + eps
	MULPS  X1, X10         // lr*g'
	DIVPS  X12, X10        // (lr*g')/d
	SUBPS  X10, X9         // p - (lr*g')/d
	MOVUPS X9, (DI)(AX*4)
	ADDQ   $4, AX
	CMPQ   AX, CX
	JLT    adagradLoop
	RET

// func rmspropSSE(p, grad, a *float32, n int, k *rootCoeffs)
TEXT ·rmspropSSE(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ a+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R8
	BCAST(0, X0)  // wd
	BCAST(4, X1)  // lr
	BCAST(8, X2)  // eps
	BCAST(12, X3) // alpha
	BCAST(16, X4) // c = 1-alpha
	XORQ AX, AX

rmspropLoop:
	MOVUPS (DI)(AX*4), X9  // p
	MOVUPS (SI)(AX*4), X10 // g
	MOVAPS X0, X11
	MULPS  X9, X11         // wd*p
	ADDPS  X11, X10        // g' = g + wd*p
	MOVAPS X10, X11
	MULPS  X10, X11        // g'*g'
	MULPS  X4, X11         // c*(g'*g')
	MOVUPS (DX)(AX*4), X12
	MULPS  X3, X12         // alpha*a
	ADDPS  X11, X12        // a' = alpha*a + c*(g'*g')
	MOVUPS X12, (DX)(AX*4)
	SQRTPS X12, X12        // sqrt(a')
	ADDPS  X2, X12         // d = sqrt(a') + eps
	MULPS  X1, X10         // lr*g'
	DIVPS  X12, X10        // (lr*g')/d
	SUBPS  X10, X9         // p - (lr*g')/d
	MOVUPS X9, (DI)(AX*4)
	ADDQ   $4, AX
	CMPQ   AX, CX
	JLT    rmspropLoop
	RET

// func sgdSSE(p, grad *float32, n int, k *sgdCoeffs)
TEXT ·sgdSSE(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ k+24(FP), R8
	BCAST(0, X0) // wd
	BCAST(4, X1) // lr
	XORQ AX, AX

sgdLoop:
	MOVUPS (DI)(AX*4), X9  // p
	MOVUPS (SI)(AX*4), X10 // g
	MOVAPS X0, X11
	MULPS  X9, X11         // wd*p
	ADDPS  X11, X10        // g' = g + wd*p
	MULPS  X1, X10         // lr*g'
	SUBPS  X10, X9         // p - lr*g'
	MOVUPS X9, (DI)(AX*4)
	ADDQ   $4, AX
	CMPQ   AX, CX
	JLT    sgdLoop
	RET

// func momentumSSE(p, grad, b *float32, n int, k *sgdCoeffs)
TEXT ·momentumSSE(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R8
	BCAST(0, X0) // wd
	BCAST(4, X1) // lr
	BCAST(8, X2) // mu
	XORQ AX, AX

momentumLoop:
	MOVUPS (DI)(AX*4), X9  // p
	MOVUPS (SI)(AX*4), X10 // g
	MOVAPS X0, X11
	MULPS  X9, X11         // wd*p
	ADDPS  X11, X10        // g' = g + wd*p
	MOVUPS (DX)(AX*4), X12
	MULPS  X2, X12         // mu*b
	ADDPS  X10, X12        // b' = mu*b + g'
	MOVUPS X12, (DX)(AX*4)
	MULPS  X1, X12         // lr*b'
	SUBPS  X12, X9         // p - lr*b'
	MOVUPS X9, (DI)(AX*4)
	ADDQ   $4, AX
	CMPQ   AX, CX
	JLT    momentumLoop
	RET

// func nesterovSSE(p, grad, b *float32, n int, k *sgdCoeffs)
TEXT ·nesterovSSE(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R8
	BCAST(0, X0) // wd
	BCAST(4, X1) // lr
	BCAST(8, X2) // mu
	XORQ AX, AX

nesterovLoop:
	MOVUPS (DI)(AX*4), X9  // p
	MOVUPS (SI)(AX*4), X10 // g
	MOVAPS X0, X11
	MULPS  X9, X11         // wd*p
	ADDPS  X11, X10        // g' = g + wd*p
	MOVUPS (DX)(AX*4), X12
	MULPS  X2, X12         // mu*b
	ADDPS  X10, X12        // b' = mu*b + g'
	MOVUPS X12, (DX)(AX*4)
	MULPS  X2, X12         // mu*b'
	ADDPS  X12, X10        // g' + mu*b'
	MULPS  X1, X10         // lr*(g' + mu*b')
	SUBPS  X10, X9         // p - lr*(g' + mu*b')
	MOVUPS X9, (DI)(AX*4)
	ADDQ   $4, AX
	CMPQ   AX, CX
	JLT    nesterovLoop
	RET
