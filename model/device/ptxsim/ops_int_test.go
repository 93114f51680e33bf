package ptxsim

import (
	"math"
	"testing"
)

// intVals are 32-bit corner values: zero, small, shift widths, the
// signed extremes, negatives.
func intVals() []uint32 {
	return []uint32{0, 1, 2, 3, 7, 31, 32, 33, 100000, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0xfffffffe, 0xfffffff9, 0xfffe7960}
}

func s(v uint32) int32 { return int32(v) }

// intOpCase is an integer instruction snippet (see opModule) and its
// result computed in Go.
type intOpCase struct {
	name    string
	snippet string
	want    func(a, b, c uint32) [2]uint32
}

func intOpCases() []intOpCase {
	lo := func(f func(a, b, c uint32) uint32) func(a, b, c uint32) [2]uint32 {
		return func(a, b, c uint32) [2]uint32 { return [2]uint32{f(a, b, c), 0} }
	}
	w64 := func(f func(x uint64, y uint64, a, b, c uint32) uint64) func(a, b, c uint32) [2]uint32 {
		return func(a, b, c uint32) [2]uint32 {
			x := uint64(a)<<32 | uint64(b)
			y := uint64(int64(int32(c)))
			r := f(x, y, a, b, c)
			return [2]uint32{uint32(r), uint32(r >> 32)}
		}
	}
	return []intOpCase{
		{"add.s32", "add.s32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 { return a + b })},
		{"add.u32 imm", "add.u32 %r5, %r2, 0xfffffff0;", lo(func(a, b, c uint32) uint32 { return a + 0xfffffff0 })},
		{"sub.u32", "sub.u32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 { return a - b })},
		{"sub.s32 imm first", "sub.s32 %r5, -5, %r3;", lo(func(a, b, c uint32) uint32 { return uint32(-5 - s(b)) })},
		{"mul.lo.s32", "mul.lo.s32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 { return uint32(s(a) * s(b)) })},
		{"mul.lo.u32", "mul.lo.u32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 { return a * b })},
		{"mad.lo.s32", "mad.lo.s32 %r5, %r2, %r3, %r4;", lo(func(a, b, c uint32) uint32 { return a*b + c })},
		{"mad.lo.u32", "mad.lo.u32 %r5, %r2, 3, %r4;", lo(func(a, b, c uint32) uint32 { return a*3 + c })},
		{"div.s32", "div.s32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 {
			switch {
			case b == 0:
				return math.MaxUint32
			case s(a) == math.MinInt32 && s(b) == -1:
				return a
			}
			return uint32(s(a) / s(b))
		})},
		{"div.u32", "div.u32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 {
			if b == 0 {
				return math.MaxUint32
			}
			return a / b
		})},
		{"rem.s32", "rem.s32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 {
			switch {
			case b == 0:
				return a
			case s(b) == -1:
				return 0
			}
			return uint32(s(a) % s(b))
		})},
		{"rem.u32", "rem.u32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 {
			if b == 0 {
				return a
			}
			return a % b
		})},
		{"min.s32", "min.s32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 { return uint32(min(s(a), s(b))) })},
		{"min.u32", "min.u32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 { return min(a, b) })},
		{"max.s32", "max.s32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 { return uint32(max(s(a), s(b))) })},
		{"max.u32", "max.u32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 { return max(a, b) })},
		{"neg.s32", "neg.s32 %r5, %r2;", lo(func(a, b, c uint32) uint32 { return -a })},
		{"abs.s32", "abs.s32 %r5, %r2;", lo(func(a, b, c uint32) uint32 {
			if s(a) < 0 {
				return -a
			}
			return a
		})},
		{"and.b32", "and.b32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 { return a & b })},
		{"or.b32", "or.b32 %r5, %r2, 0x0f0f0f0f;", lo(func(a, b, c uint32) uint32 { return a | 0x0f0f0f0f })},
		{"xor.b32", "xor.b32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 { return a ^ b })},
		{"not.b32", "not.b32 %r5, %r2;", lo(func(a, b, c uint32) uint32 { return ^a })},
		{"shl.b32", "shl.b32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 {
			if b >= 32 {
				return 0
			}
			return a << b
		})},
		{"shr.b32", "shr.b32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 {
			if b >= 32 {
				return 0
			}
			return a >> b
		})},
		{"shr.u32", "shr.u32 %r5, %r2, 4;", lo(func(a, b, c uint32) uint32 { return a >> 4 })},
		{"shr.s32", "shr.s32 %r5, %r2, %r3;", lo(func(a, b, c uint32) uint32 {
			if b >= 32 {
				b = 31
			}
			return uint32(s(a) >> b)
		})},
		{"mul.wide.s32", "mul.wide.s32 %rd15, %r2, %r3;" + split64, func(a, b, c uint32) [2]uint32 {
			r := uint64(int64(s(a)) * int64(s(b)))
			return [2]uint32{uint32(r), uint32(r >> 32)}
		}},
		{"mul.wide.u32", "mul.wide.u32 %rd15, %r2, %r3;" + split64, func(a, b, c uint32) [2]uint32 {
			r := uint64(a) * uint64(b)
			return [2]uint32{uint32(r), uint32(r >> 32)}
		}},
		{"mad.wide.s32", "cvt.s64.s32 %sd1, %r4; mad.wide.s32 %sd2, %r2, %r3, %sd1; mov.b64 %rd15, %sd2;" + split64, func(a, b, c uint32) [2]uint32 {
			r := uint64(int64(s(a))*int64(s(b)) + int64(s(c)))
			return [2]uint32{uint32(r), uint32(r >> 32)}
		}},
		{"mad.wide.u32", "cvt.u64.u32 %ud1, %r4; mad.wide.u32 %ud2, %r2, %r3, %ud1; mov.u64 %rd15, %ud2;" + split64, func(a, b, c uint32) [2]uint32 {
			r := uint64(a)*uint64(b) + uint64(c)
			return [2]uint32{uint32(r), uint32(r >> 32)}
		}},
		{"add.s64", wide64 + "add.s64 %rd15, %rd12, %rd13;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x + y })},
		{"add.u64 imm", wide64 + "add.u64 %rd15, %rd12, 0xffffffffffffffff;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x - 1 })},
		{"sub.u64", wide64 + "sub.u64 %rd15, %rd12, %rd13;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x - y })},
		{"sub.s64 neg imm", wide64 + "sub.s64 %rd15, %rd12, -9223372036854775808;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x - 1<<63 })},
		{"mul.lo.s64", wide64 + "mul.lo.s64 %rd15, %rd12, %rd13;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x * y })},
		{"mul.lo.u64", wide64 + "mul.lo.u64 %rd15, %rd12, 10;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x * 10 })},
		{"and.b64", wide64 + "and.b64 %rd15, %rd12, %rd13;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x & y })},
		{"xor.b64", wide64 + "xor.b64 %rd15, %rd12, %rd13;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x ^ y })},
		{"not.b64", wide64 + "not.b64 %rd15, %rd12;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return ^x })},
		{"shl.b64", wide64 + "shl.b64 %rd15, %rd12, %r4;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x << c })},
		{"shr.b64", wide64 + "shr.b64 %rd15, %rd12, %r4;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x >> c })},
		{"shr.u64", wide64 + "shr.u64 %rd15, %rd12, 63;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 { return x >> 63 })},
		{"shr.s64", wide64 + "shr.s64 %rd15, %rd12, %r4;" + split64, w64(func(x, y uint64, a, b, c uint32) uint64 {
			return uint64(int64(x) >> c) // c ≥ 64 fills with the sign
		})},
		{"cvt.u64.s32 sign-extends", "cvt.u64.s32 %rd15, %r2;" + split64, func(a, b, c uint32) [2]uint32 {
			r := uint64(int64(s(a)))
			return [2]uint32{uint32(r), uint32(r >> 32)}
		}},
		{"cvt.s64.u32 zero-extends", "cvt.s64.u32 %sd1, %r2; mov.b64 %rd15, %sd1;" + split64, func(a, b, c uint32) [2]uint32 {
			return [2]uint32{a, 0}
		}},
		{"cvt.u32.u64 truncates", wide64 + "cvt.u32.u64 %r5, %rd12;", lo(func(a, b, c uint32) uint32 { return b })},
		{"mov.b64 imm", "mov.b64 %rd15, 0x123456789abcdef0;" + split64, func(a, b, c uint32) [2]uint32 {
			return [2]uint32{0x9abcdef0, 0x12345678}
		}},
		{"mov.s64 neg", "mov.s64 %sd1, -2; mov.b64 %rd15, %sd1;" + split64, func(a, b, c uint32) [2]uint32 {
			return [2]uint32{0xfffffffe, 0xffffffff}
		}},
		{"mov.u32 typed regs", "mov.u32 %u1, %r2; mov.s32 %s1, %u1; mov.b32 %r5, %s1;", lo(func(a, b, c uint32) uint32 { return a })},
		{"mov.u32 neg imm", "mov.u32 %r5, -1;", lo(func(a, b, c uint32) uint32 { return math.MaxUint32 })},
	}
}

func TestIntegerOps(t *testing.T) {
	in := cross(intVals(), []uint32{0, 1, 5, 31, 32, 33, 63, 64, 65, 0xffffffff, 0x80000000})
	for _, tc := range intOpCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := runOp(t, tc.snippet, in)
			for i, v := range in {
				if w := tc.want(v[0], v[1], v[2]); got[i] != w {
					t.Fatalf("(%#x, %#x, %#x): got %#x, want %#x", v[0], v[1], v[2], got[i], w)
				}
			}
		})
	}
}

// TestIntegerCorners checks hand-computed results of the cases PTX is
// easy to get wrong on.
func TestIntegerCorners(t *testing.T) {
	for _, tc := range intCornerCases() {
		got := runOp(t, tc.snippet, [][3]uint32{{tc.a, tc.b, 0}})
		if got[0] != tc.want {
			t.Errorf("%s (%#x, %#x): got %#x, want %#x", tc.snippet, tc.a, tc.b, got[0], tc.want)
		}
	}
}

// intCornerCase is a snippet, its inputs and its hand-computed result.
type intCornerCase struct {
	snippet string
	a, b    uint32
	want    [2]uint32
}

func intCornerCases() []intCornerCase {
	neg := func(v int32) uint32 { return uint32(v) }
	return []intCornerCase{
		{"shr.s32 %r5, %r2, %r3;", neg(-7), 1, [2]uint32{neg(-4), 0}},
		{"shr.s32 %r5, %r2, %r3;", neg(-1), 40, [2]uint32{neg(-1), 0}},
		{"shr.u32 %r5, %r2, %r3;", neg(-8), 1, [2]uint32{0x7ffffffc, 0}},
		{"shr.s32 %r5, %r2, %r3;", 0x80000000, 31, [2]uint32{neg(-1), 0}},
		{"rem.s32 %r5, %r2, %r3;", neg(-7), 2, [2]uint32{neg(-1), 0}},
		{"rem.s32 %r5, %r2, %r3;", 7, neg(-2), [2]uint32{1, 0}},
		{"div.s32 %r5, %r2, %r3;", neg(-7), 2, [2]uint32{neg(-3), 0}},
		{"div.s32 %r5, %r2, %r3;", 0x80000000, neg(-1), [2]uint32{0x80000000, 0}},
		{"div.u32 %r5, %r2, %r3;", 5, 0, [2]uint32{0xffffffff, 0}},
		{"div.s32 %r5, %r2, %r3;", 5, 0, [2]uint32{0xffffffff, 0}},
		{"rem.u32 %r5, %r2, %r3;", 5, 0, [2]uint32{5, 0}},
		{"mul.wide.s32 %rd15, %r2, %r3;" + split64, neg(-1), 5, [2]uint32{neg(-5), 0xffffffff}},
		{"mul.wide.u32 %rd15, %r2, %r3;" + split64, 0xffffffff, 0xffffffff, [2]uint32{1, 0xfffffffe}},
		{"mul.lo.s32 %r5, %r2, %r3;", 0x10000, 0x10000, [2]uint32{0, 0}},
		{"abs.s32 %r5, %r2;", 0x80000000, 0, [2]uint32{0x80000000, 0}},
		{"neg.s32 %r5, %r2;", 0x80000000, 0, [2]uint32{0x80000000, 0}},
		{"min.u32 %r5, %r2, %r3;", neg(-1), 3, [2]uint32{3, 0}},
		{"min.s32 %r5, %r2, %r3;", neg(-1), 3, [2]uint32{neg(-1), 0}},
		{"shl.b32 %r5, %r2, %r3;", 1, 32, [2]uint32{0, 0}},
	}
}
