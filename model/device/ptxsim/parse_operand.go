package ptxsim

import (
	"math"
	"strconv"
	"strings"
)

// synKind is the syntactic class of an operand.
type synKind uint8

const (
	synReg  synKind = iota + 1 // %name (a register or a special register)
	synImm                     // an integer or 0fXXXXXXXX literal, maybe negated
	synMem                     // [base] or [base+off]
	synName                    // an identifier: a label or a shared array
)

// syn is an operand as written.
type syn struct {
	kind synKind
	text string // register, literal or name; the base of a memory operand
	neg  bool   // a negated literal; a negated guard
	off  int64  // a memory operand's offset
	line int
}

// operand parses one operand.
func (p *parser) operand() (syn, error) {
	t := p.next()
	switch {
	case t.is("["):
		base, err := p.word("an address")
		if err != nil {
			return syn{}, err
		}
		o := syn{kind: synMem, text: base.text, line: t.line}
		if strings.HasPrefix(base.text, ".") || base.text[0] >= '0' && base.text[0] <= '9' {
			return syn{}, p.errf(base.line, "address [%s]: absolute addresses are outside the subset", base.text)
		}
		switch n := p.peek(); {
		case n.is("+"):
			p.next()
			neg := false
			if p.peek().is("-") {
				p.next()
				neg = true
			}
			num, err := p.word("an address offset")
			if err != nil {
				return syn{}, err
			}
			if c := num.text[0]; c < '0' || c > '9' {
				return syn{}, p.errf(num.line, "address offset %s: an offset is an integer literal", num.text)
			}
			v, msg := parseOffset(num.text, neg)
			if msg != "" {
				return syn{}, p.errf(num.line, "address offset %s: %s", num.text, msg)
			}
			o.off = v
		case n.is("-"):
			return syn{}, p.errf(n.line, "write a negative address offset as [%s+-N]", base.text)
		}
		if err := p.expect("]", "to close the address"); err != nil {
			return syn{}, err
		}
		return o, nil
	case t.is("-"):
		num, err := p.word("a number after -")
		if err != nil {
			return syn{}, err
		}
		if c := num.text[0]; c < '0' || c > '9' {
			return syn{}, p.errf(num.line, "expected a number after -, found %s", describe(num))
		}
		return syn{kind: synImm, text: num.text, neg: true, line: t.line}, nil
	case t.kind == tokWord && t.text[0] == '%':
		return syn{kind: synReg, text: t.text, line: t.line}, nil
	case t.kind == tokWord && t.text[0] >= '0' && t.text[0] <= '9':
		return syn{kind: synImm, text: t.text, line: t.line}, nil
	case t.kind == tokWord && t.text[0] != '.':
		return syn{kind: synName, text: t.text, line: t.line}, nil
	case t.is("!"):
		return syn{}, p.errf(t.line, "negated predicate operands are outside the subset (only guards, @!%%p)")
	case t.is("{"):
		return syn{}, p.errf(t.line, "vector operands { } are outside the subset")
	}
	return syn{}, p.errf(t.line, "expected an operand, found %s", describe(t))
}

// parseUint parses an unsigned integer literal: decimal or 0x hex. A
// decimal literal with a leading 0 is octal in PTX, so it is refused
// rather than misread.
func parseUint(s string) (uint64, string) {
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return 0, "not a valid 64-bit hex literal"
		}
		return v, ""
	}
	if len(s) > 1 && s[0] == '0' {
		if s[1] == 'f' || s[1] == 'F' || s[1] == 'd' || s[1] == 'D' {
			return 0, "a float literal where an integer is expected"
		}
		return 0, "octal and binary literals are outside the subset (a leading 0 is octal in PTX)"
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, "not a decimal or 0x hex integer (decimal float literals are outside the subset; write 0fXXXXXXXX)"
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, "out of the 64-bit range"
	}
	return v, ""
}

// parseOffset parses an address offset (a 32-bit signed value).
func parseOffset(s string, neg bool) (int64, string) {
	v, msg := parseUint(s)
	if msg != "" {
		return 0, msg
	}
	if neg && v <= 1<<31 {
		return -int64(v), ""
	}
	if !neg && v < 1<<31 {
		return int64(v), ""
	}
	return 0, "out of the 32-bit signed range"
}

// immValue is the bits of literal o as an operand of type t (32-bit
// values zero-extended), or why it is not one.
func immValue(o syn, t typ) (uint64, string) {
	s := o.text
	if t == tyPred {
		return 0, "predicate literals are outside the subset"
	}
	if len(s) > 2 && (s[:2] == "0f" || s[:2] == "0F") {
		if t != tyF32 && t != tyB32 {
			return 0, "a float literal for a " + t.String() + " operand"
		}
		if o.neg {
			return 0, "negated float literals are outside the subset: flip the sign bit of the 0f pattern"
		}
		if len(s) != 10 {
			return 0, "a 0f literal has exactly 8 hex digits"
		}
		v, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return 0, "not a valid 0f literal"
		}
		return v, ""
	}
	if t == tyF32 {
		return 0, "an .f32 literal is written 0fXXXXXXXX (its bit pattern)"
	}
	v, msg := parseUint(s)
	if msg != "" {
		return 0, msg
	}
	if t.size() == 64 {
		if o.neg {
			if v > 1<<63 {
				return 0, "out of the 64-bit signed range"
			}
			return -v, ""
		}
		return v, ""
	}
	if o.neg {
		if v > 1<<31 {
			return 0, "out of the 32-bit range"
		}
		return uint64(uint32(-int64(v))), ""
	}
	if v > math.MaxUint32 {
		return 0, "out of the 32-bit range"
	}
	return v, ""
}
