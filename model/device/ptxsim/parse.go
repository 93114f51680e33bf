package ptxsim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ringtrain/ringtrain/model/device"
)

// Limits of what one entry may declare, so that a launch's register files
// stay a bounded size whatever the text says.
const (
	maxRegs      = 4096      // declared registers of an entry
	maxSlots     = 8192      // register-file slots of a thread (registers, constants, …)
	maxShared    = 48 * 1024 // bytes of static shared memory of a block
	maxParams    = 256       // parameters of an entry
	maxCodeInsts = 1 << 20   // instructions of an entry
)

// parser reads one module's tokens.
type parser struct {
	mod   string // the module's name, for errors
	toks  []token
	pos   int
	forms map[string]form
}

// errf is a parse error at line of the module: it wraps ErrPTX and names
// the module and line.
func (p *parser) errf(line int, format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d: %s", ErrPTX, p.mod, line, fmt.Sprintf(format, args...))
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1] // EOF
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// describe names a token for an error message.
func describe(t token) string {
	if t.kind == tokEOF {
		return "the end of the module"
	}
	return strconv.Quote(t.text)
}

// expect consumes punctuation s or fails.
func (p *parser) expect(s string, what string) error {
	t := p.next()
	if t.kind != tokPunct || t.text != s {
		return p.errf(t.line, "expected %q %s, found %s", s, what, describe(t))
	}
	return nil
}

// isPunct reports whether t is punctuation s.
func (t token) is(s string) bool { return t.kind == tokPunct && t.text == s }

// word consumes a word token or fails.
func (p *parser) word(what string) (token, error) {
	t := p.next()
	if t.kind != tokWord {
		return t, p.errf(t.line, "expected %s, found %s", what, describe(t))
	}
	return t, nil
}

// validIdent reports whether s is a PTX identifier: a letter followed by
// letters, digits, _ and $, or one of _ $ % followed by at least one of
// them. (Dots are not identifier characters.)
func validIdent(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	if !letter && (c != '_' && c != '$' && c != '%' || len(s) == 1) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$') {
			return false
		}
	}
	return true
}

// parseModule parses and decodes every entry of a module.
func parseModule(m device.Module, fs map[string]form) ([]*kernel, error) {
	toks, err := lex(m.Source)
	if err != nil {
		le := err.(*lexError)
		return nil, fmt.Errorf("%w: %s:%d: %s", ErrPTX, m.Name, le.line, le.msg)
	}
	p := &parser{mod: m.Name, toks: toks, forms: fs}
	if err := p.header(); err != nil {
		return nil, err
	}
	var ks []*kernel
	for p.peek().kind != tokEOF {
		k, err := p.entry()
		if err != nil {
			return nil, err
		}
		ks = append(ks, k)
	}
	return ks, nil
}

// header parses ".version 7.x .target sm_80 .address_size 64".
func (p *parser) header() error {
	t := p.next()
	if t.kind != tokWord || t.text != ".version" {
		return p.errf(t.line, "a module starts with .version, found %s", describe(t))
	}
	v, err := p.word("a PTX ISA version")
	if err != nil {
		return err
	}
	major, minor, ok := strings.Cut(v.text, ".")
	mi, err1 := strconv.Atoi(minor)
	if !ok || major != "7" || err1 != nil || mi < 0 || mi > 8 || len(minor) != 1 {
		return p.errf(v.line, ".version %s: the subset is PTX ISA 7.0 to 7.8 (what CUDA 11.8's ptxas accepts)", v.text)
	}
	t = p.next()
	if t.kind != tokWord || t.text != ".target" {
		return p.errf(t.line, "expected .target after .version, found %s", describe(t))
	}
	v, err = p.word("a target")
	if err != nil {
		return err
	}
	if v.text != "sm_80" {
		return p.errf(v.line, ".target %s: the subset targets sm_80", v.text)
	}
	if n := p.peek(); n.is(",") {
		return p.errf(n.line, "target options after sm_80 are outside the subset")
	}
	t = p.next()
	if t.kind != tokWord || t.text != ".address_size" {
		return p.errf(t.line, "expected .address_size 64 after .target, found %s", describe(t))
	}
	v, err = p.word("an address size")
	if err != nil {
		return err
	}
	if v.text != "64" {
		return p.errf(v.line, ".address_size %s: the subset is 64-bit", v.text)
	}
	return nil
}

// paramType maps a parameter's declared type to its typ; the subset's
// parameters are .u64/.b64 pointers and 32-bit scalars.
func paramType(s string) (typ, bool) {
	switch s {
	case ".u64", ".b64", ".u32", ".s32", ".b32", ".f32":
		t, _ := typByName(s[1:])
		return t, true
	}
	return tyNone, false
}

// kind is the device.ParamKind an argument for a parameter of type t has.
func kindOf(t typ) device.ParamKind {
	switch t {
	case tyU64, tyB64:
		return device.ParamPtr
	case tyF32:
		return device.ParamF32
	}
	return device.ParamI32
}

// entry parses "[.visible] .entry NAME ( params ) { body }".
func (p *parser) entry() (*kernel, error) {
	t := p.next()
	if t.kind == tokWord && t.text == ".visible" {
		t = p.next()
	}
	if t.kind != tokWord || t.text != ".entry" {
		return nil, p.errf(t.line, "expected .visible .entry, found %s (module-scope declarations, .func and other directives are outside the subset)", describe(t))
	}
	name, err := p.word("the entry's name")
	if err != nil {
		return nil, err
	}
	if !validIdent(name.text) || strings.HasPrefix(name.text, "%") {
		return nil, p.errf(name.line, "%q is not a valid entry name", name.text)
	}
	b := newBuilder(p, name.text, name.line)
	if err := p.expect("(", "after the entry name"); err != nil {
		return nil, err
	}
	if !p.peek().is(")") {
		for {
			if err := p.param(b); err != nil {
				return nil, err
			}
			if p.peek().is(",") {
				p.next()
				continue
			}
			break
		}
	}
	if err := p.expect(")", "after the parameters"); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tokWord && strings.HasPrefix(t.text, ".") {
		return nil, p.errf(t.line, "entry directive %s is outside the subset", t.text)
	}
	if err := p.expect("{", "to open the entry's body"); err != nil {
		return nil, err
	}
	for !p.peek().is("}") {
		if p.peek().kind == tokEOF {
			return nil, p.errf(p.peek().line, "entry %s: missing } at the end of the module", name.text)
		}
		if err := p.statement(b); err != nil {
			return nil, err
		}
	}
	end := p.next()
	return b.finish(end.line)
}

// param parses ".param .TYPE NAME".
func (p *parser) param(b *builder) error {
	t := p.next()
	if t.kind != tokWord || t.text != ".param" {
		return p.errf(t.line, "expected .param, found %s", describe(t))
	}
	ty, err := p.word("a parameter type")
	if err != nil {
		return err
	}
	pt, ok := paramType(ty.text)
	if !ok {
		return p.errf(ty.line, "parameter type %s is outside the subset (.u64/.b64 pointers, .u32/.s32/.b32, .f32)", ty.text)
	}
	name, err := p.word("the parameter's name")
	if err != nil {
		return err
	}
	if !validIdent(name.text) || strings.HasPrefix(name.text, "%") {
		return p.errf(name.line, "%q is not a valid parameter name (.ptr, .align and arrays are outside the subset)", name.text)
	}
	return b.addParam(name.text, pt, name.line)
}

// statement parses one statement of a body: a declaration, a label or an
// instruction.
func (p *parser) statement(b *builder) error {
	t := p.peek()
	switch {
	case t.kind == tokWord && t.text == ".reg":
		return p.regDecl(b)
	case t.kind == tokWord && t.text == ".shared":
		return p.sharedDecl(b)
	case t.kind == tokWord && strings.HasPrefix(t.text, "."):
		return p.errf(t.line, "directive %s is outside the subset", t.text)
	case t.kind == tokWord && p.peekAt(1).is(":"):
		p.next()
		p.next()
		return b.addLabel(t.text, t.line)
	case t.is("{"):
		return p.errf(t.line, "nested { } scopes are outside the subset")
	case t.kind == tokWord || t.is("@"):
		return p.instruction(b)
	}
	return p.errf(t.line, "unexpected %s", describe(t))
}

// regDecl parses ".reg .TYPE %name<N>, %other;".
func (p *parser) regDecl(b *builder) error {
	p.next()
	ty, err := p.word("a register type")
	if err != nil {
		return err
	}
	rt, ok := typByName(strings.TrimPrefix(ty.text, "."))
	if !ok || !strings.HasPrefix(ty.text, ".") {
		return p.errf(ty.line, "register type %s is outside the subset (.pred, .b32/.u32/.s32, .f32, .b64/.u64/.s64)", ty.text)
	}
	for {
		name, err := p.word("a register name")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(name.text, "%") || !validIdent(name.text) {
			return p.errf(name.line, "%q is not a register name (%%name)", name.text)
		}
		if p.peek().is("<") {
			p.next()
			n, err := p.word("a register count")
			if err != nil {
				return err
			}
			count, err := strconv.Atoi(n.text)
			if err != nil || count < 1 || count > maxRegs {
				return p.errf(n.line, "register count %s: want 1 to %d", n.text, maxRegs)
			}
			if err := p.expect(">", "after the register count"); err != nil {
				return err
			}
			for i := range count {
				if err := b.addReg(name.text+strconv.Itoa(i), rt, name.line); err != nil {
					return err
				}
			}
		} else if err := b.addReg(name.text, rt, name.line); err != nil {
			return err
		}
		if !p.peek().is(",") {
			break
		}
		p.next()
	}
	return p.expect(";", "after the register declaration")
}

// sharedDecl parses ".shared .align A .f32 NAME[COUNT];" (or .b8).
func (p *parser) sharedDecl(b *builder) error {
	start := p.next()
	t, err := p.word(".align")
	if err != nil {
		return err
	}
	if t.text != ".align" {
		return p.errf(t.line, "a .shared declaration is .shared .align A .f32|.b8 NAME[COUNT]; found %s", describe(t))
	}
	at, err := p.word("an alignment")
	if err != nil {
		return err
	}
	align, err := strconv.Atoi(at.text)
	if err != nil || align < 1 || align > 128 || align&(align-1) != 0 {
		return p.errf(at.line, "alignment %s: want a power of two up to 128", at.text)
	}
	ty, err := p.word("a shared type")
	if err != nil {
		return err
	}
	elem := 0
	switch ty.text {
	case ".f32":
		elem = 4
	case ".b8":
		elem = 1
	default:
		return p.errf(ty.line, "shared type %s is outside the subset (.f32, .b8)", ty.text)
	}
	if align < elem {
		return p.errf(at.line, "alignment %d is below the element size %d", align, elem)
	}
	name, err := p.word("the shared array's name")
	if err != nil {
		return err
	}
	if !validIdent(name.text) || strings.HasPrefix(name.text, "%") {
		return p.errf(name.line, "%q is not a valid shared array name", name.text)
	}
	if err := p.expect("[", "after the shared array's name (static sizes only)"); err != nil {
		return err
	}
	ct, err := p.word("an element count")
	if err != nil {
		return err
	}
	count, err := strconv.Atoi(ct.text)
	if err != nil || count < 1 || count > maxShared {
		return p.errf(ct.line, "shared array size %s: want 1 to %d elements", ct.text, maxShared)
	}
	if err := p.expect("]", "after the element count"); err != nil {
		return err
	}
	if err := p.expect(";", "after the shared declaration"); err != nil {
		return err
	}
	return b.addShared(name.text, align, count*elem, start.line)
}

// instruction parses "[@[!]%p] MNEMONIC operand, …;" and decodes it.
func (p *parser) instruction(b *builder) error {
	first := p.peek()
	var guard *syn
	if first.is("@") {
		p.next()
		g := syn{kind: synReg, line: first.line}
		if p.peek().is("!") {
			p.next()
			g.neg = true
		}
		r, err := p.word("a guard predicate")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(r.text, "%") {
			return p.errf(r.line, "guard %q is not a predicate register", r.text)
		}
		g.text = r.text
		guard = &g
	}
	mn, err := p.word("an instruction")
	if err != nil {
		return err
	}
	if strings.HasPrefix(mn.text, "%") || strings.HasPrefix(mn.text, ".") {
		return p.errf(mn.line, "expected an instruction, found %s", describe(mn))
	}
	if _, ok := p.forms[mn.text]; !ok {
		return b.unknown(mn)
	}
	var ops []syn
	if !p.peek().is(";") {
		for {
			o, err := p.operand()
			if err != nil {
				return err
			}
			ops = append(ops, o)
			if p.peek().is(",") {
				p.next()
				continue
			}
			break
		}
	}
	if err := p.expect(";", "after the instruction's operands"); err != nil {
		return err
	}
	return b.decode(mn, guard, ops)
}
