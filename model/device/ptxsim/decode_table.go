package ptxsim

import "strings"

// okind is what an operand position accepts.
type okind uint8

const (
	oDst     okind = iota + 1 // a register, written
	oSrc                      // a register or an immediate
	oReg                      // a register
	oMov                      // a register, an immediate, a special register or a shared array's name
	oGlobal                   // [%rdN] or [%rdN+IMM]: a 64-bit register
	oShared                   // [%rN], [%rN+IMM], [NAME], [NAME+IMM]
	oParam                    // [NAME_param]
	oLabel                    // a label of the entry
	oBarrier                  // the barrier number 0
)

// ospec is one operand of an instruction form: what it accepts and the
// type it has.
type ospec struct {
	kind okind
	t    typ
}

// form is one accepted instruction spelling ("add.rn.f32") decoded: its
// opcode, aux byte and operands.
type form struct {
	op  opcode
	aux uint8
	ops []ospec
}

func dst(t typ) ospec { return ospec{oDst, t} }
func src(t typ) ospec { return ospec{oSrc, t} }
func reg(t typ) ospec { return ospec{oReg, t} }

// forms returns every instruction spelling of the subset (see the package
// documentation), by mnemonic. It is built per call: no package state.
func forms() map[string]form {
	m := make(map[string]form, 512)
	add := func(name string, op opcode, aux uint8, ops ...ospec) { m[name] = form{op, aux, ops} }
	// f32 adds a .f32 operation with and without .ftz (after the
	// rounding modifier, as PTX orders them).
	f32 := func(prefix string, op opcode, ops ...ospec) {
		add(prefix+".f32", op, 0, ops...)
		add(prefix+".ftz.f32", opFtzF, uint8(op), ops...)
	}
	bin := func(t typ) []ospec { return []ospec{dst(t), src(t), src(t)} }

	// Data movement.
	for _, t := range []typ{tyB32, tyU32, tyS32, tyF32, tyB64, tyU64, tyS64} {
		add("mov"+t.String(), opMov, 0, dst(t), ospec{oMov, t})
	}
	for _, t := range []typ{tyU64, tyU32, tyS32, tyF32} {
		add("ld.param"+t.String(), opMov, 0, dst(t), ospec{oParam, t})
	}
	add("cvta.to.global.u64", opMov, 0, dst(tyU64), reg(tyU64))
	for _, t := range []typ{tyF32, tyU32, tyS32, tyB32} {
		add("ld.global"+t.String(), opLdG, 0, dst(t), ospec{oGlobal, t})
		add("st.global"+t.String(), opStG, 0, ospec{oGlobal, t}, reg(t))
	}
	for _, t := range []typ{tyF32, tyU32, tyB32} {
		add("ld.shared"+t.String(), opLdS, 0, dst(t), ospec{oShared, t})
		add("st.shared"+t.String(), opStS, 0, ospec{oShared, t}, reg(t))
	}

	// Integer arithmetic.
	for _, t := range []typ{tyS32, tyU32} {
		s := t.String()
		add("add"+s, opAdd32, 0, bin(t)...)
		add("sub"+s, opSub32, 0, bin(t)...)
		add("mul.lo"+s, opMul32, 0, bin(t)...)
		add("mad.lo"+s, opMad32, 0, dst(t), src(t), src(t), src(t))
	}
	for _, t := range []typ{tyS64, tyU64} {
		s := t.String()
		add("add"+s, opAdd64, 0, bin(t)...)
		add("sub"+s, opSub64, 0, bin(t)...)
		add("mul.lo"+s, opMul64, 0, bin(t)...)
	}
	add("mul.wide.s32", opMulWideS, 0, dst(tyS64), src(tyS32), src(tyS32))
	add("mul.wide.u32", opMulWideU, 0, dst(tyU64), src(tyU32), src(tyU32))
	add("mad.wide.s32", opMadWideS, 0, dst(tyS64), src(tyS32), src(tyS32), src(tyS64))
	add("mad.wide.u32", opMadWideU, 0, dst(tyU64), src(tyU32), src(tyU32), src(tyU64))
	add("div.s32", opDivS32, 0, bin(tyS32)...)
	add("div.u32", opDivU32, 0, bin(tyU32)...)
	add("rem.s32", opRemS32, 0, bin(tyS32)...)
	add("rem.u32", opRemU32, 0, bin(tyU32)...)
	add("min.s32", opMinS32, 0, bin(tyS32)...)
	add("min.u32", opMinU32, 0, bin(tyU32)...)
	add("max.s32", opMaxS32, 0, bin(tyS32)...)
	add("max.u32", opMaxU32, 0, bin(tyU32)...)
	add("neg.s32", opNeg32, 0, dst(tyS32), reg(tyS32))
	add("abs.s32", opAbs32, 0, dst(tyS32), reg(tyS32))
	for _, t := range []typ{tyB32, tyB64, tyPred} {
		s := t.String()
		add("and"+s, opAnd, 0, bin(t)...)
		add("or"+s, opOr, 0, bin(t)...)
		add("xor"+s, opXor, 0, bin(t)...)
	}
	add("not.b32", opNot32, 0, dst(tyB32), reg(tyB32))
	add("not.b64", opNot64, 0, dst(tyB64), reg(tyB64))
	add("not.pred", opNotPred, 0, dst(tyPred), reg(tyPred))
	add("shl.b32", opShl32, 0, dst(tyB32), src(tyB32), src(tyU32))
	add("shl.b64", opShl64, 0, dst(tyB64), src(tyB64), src(tyU32))
	add("shr.b32", opShrU32, 0, dst(tyB32), src(tyB32), src(tyU32))
	add("shr.u32", opShrU32, 0, dst(tyU32), src(tyU32), src(tyU32))
	add("shr.s32", opShrS32, 0, dst(tyS32), src(tyS32), src(tyU32))
	add("shr.b64", opShrU64, 0, dst(tyB64), src(tyB64), src(tyU32))
	add("shr.u64", opShrU64, 0, dst(tyU64), src(tyU64), src(tyU32))
	add("shr.s64", opShrS64, 0, dst(tyS64), src(tyS64), src(tyU32))

	// Float arithmetic (f32). add/sub/mul without .rn may be contracted
	// into an fma by ptxas; the interpreter rounds each separately.
	fb := bin(tyF32)
	un := []ospec{dst(tyF32), reg(tyF32)}
	for _, r := range []string{"", ".rn"} {
		f32("add"+r, opAddF, fb...)
		f32("sub"+r, opSubF, fb...)
		f32("mul"+r, opMulF, fb...)
	}
	f32("fma.rn", opFmaF, dst(tyF32), src(tyF32), src(tyF32), src(tyF32))
	for _, r := range []string{".rn", ".approx", ".full"} {
		f32("div"+r, opDivF, fb...)
	}
	f32("neg", opNegF, un...)
	f32("abs", opAbsF, un...)
	f32("min", opMinF, fb...)
	f32("max", opMaxF, fb...)
	f32("sqrt.rn", opSqrtF, un...)
	f32("rsqrt.approx", opRsqrtF, un...)
	f32("rcp.rn", opRcpF, un...)
	f32("ex2.approx", opEx2F, un...)
	f32("lg2.approx", opLg2F, un...)
	add("tanh.approx.f32", opTanhF, 0, un...)

	// Compare and select.
	for _, cmp := range []string{"eq", "ne", "lt", "le", "gt", "ge", "equ", "neu", "ltu", "leu", "gtu", "geu", "num", "nan"} {
		mask, floatOnly, _ := cmpMask(cmp)
		add("setp."+cmp+".f32", opSetpF, mask, dst(tyPred), src(tyF32), src(tyF32))
		add("setp."+cmp+".ftz.f32", opSetpFFtz, mask, dst(tyPred), src(tyF32), src(tyF32))
		if floatOnly {
			continue
		}
		for t, op := range map[typ]opcode{tyS32: opSetpS32, tyU32: opSetpU32, tyS64: opSetpS64, tyU64: opSetpU64} {
			add("setp."+cmp+t.String(), op, mask, dst(tyPred), src(t), src(t))
		}
	}
	for _, t := range []typ{tyB32, tyS32, tyU32, tyF32, tyB64, tyU64} {
		add("selp"+t.String(), opSelp, 0, dst(t), src(t), src(t), reg(tyPred))
	}

	// Conversions.
	add("cvt.rn.f32.s32", opCvtF32S32, 0, dst(tyF32), reg(tyS32))
	add("cvt.rn.f32.u32", opCvtF32U32, 0, dst(tyF32), reg(tyU32))
	for _, r := range []struct {
		name string
		mode uint8
	}{{"rzi", cvtRZI}, {"rni", cvtRNI}, {"rmi", cvtRMI}, {"rpi", cvtRPI}} {
		for _, ftz := range []bool{false, true} {
			mode, name := r.mode, "cvt."+r.name
			if ftz {
				mode, name = mode|cvtFtz, name+".ftz"
			}
			add(name+".s32.f32", opCvtF2I, mode|cvtSigned, dst(tyS32), reg(tyF32))
			add(name+".u32.f32", opCvtF2I, mode, dst(tyU32), reg(tyF32))
		}
	}
	add("cvt.u64.u32", opCvtZext, 0, dst(tyU64), reg(tyU32))
	add("cvt.s64.u32", opCvtZext, 0, dst(tyS64), reg(tyU32))
	add("cvt.u64.s32", opCvtSext, 0, dst(tyU64), reg(tyS32))
	add("cvt.s64.s32", opCvtSext, 0, dst(tyS64), reg(tyS32))
	add("cvt.u32.u64", opCvtTrunc, 0, dst(tyU32), reg(tyU64))

	// Control.
	add("bra", opBra, 0, ospec{oLabel, tyNone})
	add("bra.uni", opBra, 0, ospec{oLabel, tyNone})
	add("bar.sync", opBar, 0, ospec{oBarrier, tyU32})
	add("ret", opExit, 0)
	add("exit", opExit, 0)
	return m
}

// isExcluded reports whether mnemonic base (its first dotted part, or
// its first two) names a PTX instruction that exists but is outside the
// subset, for a clearer error than "unknown instruction".
func isExcluded(base string) bool {
	for _, n := range strings.Fields(`atom red shfl vote activemask match redux call brx membar fence
		tex tld4 suld sust sured txq suq ldu prefetch prefetchu isspacep mul24 mad24 sad
		popc clz bfind brev bfe bfi prmt lop3 shf dp4a dp2a addc subc madc testp copysign sin
		cos trap brkpt nanosleep barrier alloca stackrestore stacksave mma wmma ldmatrix
		stmatrix cp elect mapa getctarank griddepcontrol set slct`) {
		if n == base {
			return true
		}
	}
	return false
}
