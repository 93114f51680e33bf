package ptxsim

// typ is a PTX data type of the subset.
type typ uint8

const (
	tyNone typ = iota
	tyPred
	tyB32
	tyU32
	tyS32
	tyF32
	tyB64
	tyU64
	tyS64
)

var typNames = [...]string{tyNone: "?", tyPred: "pred", tyB32: "b32", tyU32: "u32", tyS32: "s32", tyF32: "f32", tyB64: "b64", tyU64: "u64", tyS64: "s64"}

func (t typ) String() string {
	if int(t) < len(typNames) {
		return "." + typNames[t]
	}
	return "?"
}

// typByName maps a type suffix ("u32", without the dot) to its typ.
func typByName(s string) (typ, bool) {
	for t, n := range typNames {
		if t != int(tyNone) && n == s {
			return typ(t), true
		}
	}
	return tyNone, false
}

// size is the width of t in bits (1 for a predicate).
func (t typ) size() int {
	switch t {
	case tyPred:
		return 1
	case tyB32, tyU32, tyS32, tyF32:
		return 32
	case tyB64, tyU64, tyS64:
		return 64
	}
	return 0
}

func (t typ) isBits() bool  { return t == tyB32 || t == tyB64 }
func (t typ) isFloat() bool { return t == tyF32 }
func (t typ) isInt() bool   { return t == tyU32 || t == tyS32 || t == tyU64 || t == tyS64 }

// compatible reports whether an operand of type have may be used where
// an instruction expects type want, by PTX's operand type-checking rules:
// the sizes must match; a bit-size type (.bN) is compatible with every
// type of its size; signed and unsigned integers of one size are
// compatible with each other; a float is compatible only with itself and
// the bit-size type; a predicate only with a predicate.
func compatible(want, have typ) bool {
	switch {
	case want == tyNone || have == tyNone:
		return false
	case want == tyPred || have == tyPred:
		return want == have
	case want.size() != have.size():
		return false
	case want == have, want.isBits(), have.isBits():
		return true
	case want.isFloat() || have.isFloat():
		return false
	}
	return true // signed and unsigned integers of one size
}
