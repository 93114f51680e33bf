package ptxsim

// opcode is a decoded operation: one per distinct execution behaviour
// (the operand types that do not change what is computed are folded, so
// add.s32 and add.u32 are both opAdd32).
type opcode uint8

const (
	opInvalid opcode = iota

	opMov // d = a (mov, ld.param, cvta.to.global, a special register or a shared array's address)

	opLdG // d = global[a+imm] (4 bytes)
	opStG // global[a+imm] = b (4 bytes)
	opLdS // d = shared[a+imm] (4 bytes)
	opStS // shared[a+imm] = b (4 bytes)

	opAdd32
	opSub32
	opMul32 // mul.lo
	opMad32 // mad.lo
	opAdd64
	opSub64
	opMul64 // mul.lo
	opMulWideS
	opMulWideU
	opMadWideS
	opMadWideU
	opDivS32
	opDivU32
	opRemS32
	opRemU32
	opMinS32
	opMinU32
	opMaxS32
	opMaxU32
	opNeg32
	opAbs32
	opAnd
	opOr
	opXor
	opNot32
	opNot64
	opNotPred
	opShl32
	opShl64
	opShrU32
	opShrS32
	opShrU64
	opShrS64

	// f32 operations (evalF computes each; the hot ones are also inlined
	// in the interpreter loop).
	opAddF
	opSubF
	opMulF
	opFmaF
	opDivF
	opNegF
	opAbsF
	opMinF
	opMaxF
	opSqrtF
	opRsqrtF
	opRcpF
	opEx2F
	opLg2F
	opTanhF
	opFtzF // an f32 operation with .ftz: aux is the operation

	opSetpS32 // aux: the comparison's outcome mask (see cmpMask)
	opSetpU32
	opSetpS64
	opSetpU64
	opSetpF
	opSetpFFtz
	opSelp // d = c ? a : b

	opCvtF32S32
	opCvtF32U32
	opCvtF2I // aux: rounding mode, signedness and .ftz (see cvt*)
	opCvtZext
	opCvtSext
	opCvtTrunc

	opBra // pc = imm
	opBar // bar.sync 0
	opExit

	numOpcodes
)

// inst is a decoded instruction. d, a, b, c index the thread's register
// file (its slots: declared registers, special registers, parameters and
// constants, so every source operand is a slot); unused ones are 0 (a
// constant zero slot).
type inst struct {
	op    opcode
	aux   uint8 // setp: outcome mask; cvt: mode; ftz: the f32 op
	neg   bool  // the guard is negated (@!%p)
	_     uint8
	guard int32 // the guard predicate's slot, or -1
	d     int32
	a     int32
	b     int32
	c     int32
	imm   int64 // memory offset in bytes; branch target pc
}

// Setp outcome masks: bit 0 a<b, bit 1 a==b, bit 2 a>b, bit 3 unordered
// (a NaN is involved); the predicate is the bit of the outcome.
const (
	outLT = 1 << 0
	outEQ = 1 << 1
	outGT = 1 << 2
	outUN = 1 << 3
)

// cmpMask maps a setp comparison to its outcome mask; floatOnly marks
// the comparisons only .f32 has.
func cmpMask(cmp string) (mask uint8, floatOnly, ok bool) {
	switch cmp {
	case "eq":
		return outEQ, false, true
	case "ne":
		return outLT | outGT, false, true
	case "lt":
		return outLT, false, true
	case "le":
		return outLT | outEQ, false, true
	case "gt":
		return outGT, false, true
	case "ge":
		return outGT | outEQ, false, true
	case "equ":
		return outEQ | outUN, true, true
	case "neu":
		return outLT | outGT | outUN, true, true
	case "ltu":
		return outLT | outUN, true, true
	case "leu":
		return outLT | outEQ | outUN, true, true
	case "gtu":
		return outGT | outUN, true, true
	case "geu":
		return outGT | outEQ | outUN, true, true
	case "num":
		return outLT | outEQ | outGT, true, true
	case "nan":
		return outUN, true, true
	}
	return 0, false, false
}

// cvt float-to-integer modes (inst.aux of opCvtF2I).
const (
	cvtRZI    = 0 // toward zero
	cvtRNI    = 1 // nearest, ties to even
	cvtRMI    = 2 // toward -∞
	cvtRPI    = 3 // toward +∞
	cvtRound  = 3 // mask of the rounding mode
	cvtSigned = 1 << 2
	cvtFtz    = 1 << 3
)
