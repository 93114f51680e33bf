package ptxsim

import (
	"strings"

	"github.com/ringtrain/ringtrain/model/device"
)

// slotKind says how a register-file slot is initialized at a launch.
type slotKind uint8

const (
	slotConst   slotKind = iota // v: the value (slot 0 is the constant 0)
	slotReg                     // a declared register (t): filled with garbage
	slotParam                   // v: the parameter's index
	slotSpecial                 // v: the special register's index (see specials)
)

// slotInit is how one slot of a thread's register file starts.
type slotInit struct {
	kind slotKind
	t    typ
	v    uint64
}

// Special registers, by index: %tid, %ntid, %ctaid, %nctaid × x, y, z.
const (
	spTid    = 0
	spNtid   = 3
	spCtaid  = 6
	spNctaid = 9
	numSpec  = 12
)

// specialIndex maps a special register's name to its index.
func specialIndex(name string) (int, bool) {
	base, comp, ok := strings.Cut(name, ".")
	if !ok {
		return 0, false
	}
	var b int
	switch base {
	case "%tid":
		b = spTid
	case "%ntid":
		b = spNtid
	case "%ctaid":
		b = spCtaid
	case "%nctaid":
		b = spNctaid
	default:
		return 0, false
	}
	switch comp {
	case "x":
		return b, true
	case "y":
		return b + 1, true
	case "z":
		return b + 2, true
	}
	return 0, false
}

// reservedRegs are names a register declaration may not take: PTX's
// special registers.
func reserved(name string) bool {
	switch name {
	case "%tid", "%ntid", "%ctaid", "%nctaid", "%laneid", "%warpid", "%nwarpid", "%smid", "%nsmid",
		"%gridid", "%clock", "%clock64", "%lanemask_eq", "%lanemask_le", "%lanemask_lt", "%lanemask_ge",
		"%lanemask_gt", "%pm0", "%envreg0", "%globaltimer", "%dynamic_smem_size", "%total_smem_size":
		return true
	}
	return false
}

// param is a parameter of an entry.
type param struct {
	name string
	t    typ
	slot int32
}

// kernel is a decoded .entry.
type kernel struct {
	name   string
	module string
	line   int // of the .entry
	params []param
	code   []inst
	lines  []int32  // the PTX line of each instruction
	text   []string // the mnemonic of each instruction
	slots  []slotInit
	shared int // bytes of shared memory per block
}

// regInfo is a declared register.
type regInfo struct {
	slot int32
	t    typ
}

// nameInfo is an identifier of an entry's scope: a parameter, a shared
// array or a label.
type nameInfo struct {
	kind  byte // 'p' parameter, 's' shared array, 'l' label
	index int  // parameter index, shared offset, label pc
	line  int
}

// fixup is a branch whose label is resolved at the end of the entry.
type fixup struct {
	pc    int
	label string
	line  int
}

// builder decodes one entry as the parser reads it.
type builder struct {
	p        *parser
	k        *kernel
	regs     map[string]regInfo
	names    map[string]nameInfo
	consts   map[uint64]int32
	specials [numSpec]int32
	fixups   []fixup
	nregs    int
}

func newBuilder(p *parser, name string, line int) *builder {
	b := &builder{
		p:      p,
		k:      &kernel{name: name, module: p.mod, line: line, slots: []slotInit{{kind: slotConst}}},
		regs:   map[string]regInfo{},
		names:  map[string]nameInfo{},
		consts: map[uint64]int32{0: 0},
	}
	for i := range b.specials {
		b.specials[i] = -1
	}
	return b
}

// slot adds a slot to the register file.
func (b *builder) slot(s slotInit, line int) (int32, error) {
	if len(b.k.slots) >= maxSlots {
		return 0, b.p.errf(line, "entry %s: more than %d registers, constants and parameters", b.k.name, maxSlots)
	}
	b.k.slots = append(b.k.slots, s)
	return int32(len(b.k.slots) - 1), nil
}

func (b *builder) constSlot(v uint64, line int) (int32, error) {
	if s, ok := b.consts[v]; ok {
		return s, nil
	}
	s, err := b.slot(slotInit{kind: slotConst, v: v}, line)
	if err == nil {
		b.consts[v] = s
	}
	return s, err
}

func (b *builder) specialSlot(i int, line int) (int32, error) {
	if b.specials[i] >= 0 {
		return b.specials[i], nil
	}
	s, err := b.slot(slotInit{kind: slotSpecial, t: tyU32, v: uint64(i)}, line)
	if err == nil {
		b.specials[i] = s
	}
	return s, err
}

func (b *builder) addName(name string, n nameInfo) error {
	if old, ok := b.names[name]; ok {
		return b.p.errf(n.line, "%s is already declared on line %d", name, old.line)
	}
	b.names[name] = n
	return nil
}

func (b *builder) addParam(name string, t typ, line int) error {
	if len(b.k.params) >= maxParams {
		return b.p.errf(line, "more than %d parameters", maxParams)
	}
	if err := b.addName(name, nameInfo{kind: 'p', index: len(b.k.params), line: line}); err != nil {
		return err
	}
	s, err := b.slot(slotInit{kind: slotParam, t: t, v: uint64(len(b.k.params))}, line)
	if err != nil {
		return err
	}
	b.k.params = append(b.k.params, param{name: name, t: t, slot: s})
	return nil
}

func (b *builder) addReg(name string, t typ, line int) error {
	base, _, _ := strings.Cut(name, ".")
	if reserved(base) {
		return b.p.errf(line, "%s is a special register's name", name)
	}
	if _, ok := b.regs[name]; ok {
		return b.p.errf(line, "register %s is declared twice", name)
	}
	if b.nregs >= maxRegs {
		return b.p.errf(line, "more than %d registers", maxRegs)
	}
	s, err := b.slot(slotInit{kind: slotReg, t: t}, line)
	if err != nil {
		return err
	}
	b.nregs++
	b.regs[name] = regInfo{slot: s, t: t}
	return nil
}

func (b *builder) addShared(name string, align, bytes int, line int) error {
	off := (b.k.shared + align - 1) / align * align
	if off+bytes > maxShared {
		return b.p.errf(line, "entry %s: static shared memory exceeds %d bytes", b.k.name, maxShared)
	}
	if err := b.addName(name, nameInfo{kind: 's', index: off, line: line}); err != nil {
		return err
	}
	b.k.shared = off + bytes
	return nil
}

func (b *builder) addLabel(name string, line int) error {
	if !validIdent(name) || strings.HasPrefix(name, "%") {
		return b.p.errf(line, "%q is not a valid label", name)
	}
	return b.addName(name, nameInfo{kind: 'l', index: len(b.k.code), line: line})
}

// register resolves a register operand (not a special register).
func (b *builder) register(o syn) (regInfo, error) {
	r, ok := b.regs[o.text]
	if ok {
		return r, nil
	}
	if _, ok := specialIndex(o.text); ok {
		return r, b.p.errf(o.line, "special register %s is read with mov.u32 only", o.text)
	}
	base, _, _ := strings.Cut(o.text, ".")
	if reserved(base) {
		return r, b.p.errf(o.line, "special register %s is outside the subset", o.text)
	}
	return r, b.p.errf(o.line, "undeclared register %s", o.text)
}

// typedReg resolves a register operand that must be compatible with t.
func (b *builder) typedReg(o syn, t typ, mn string, i int) (int32, error) {
	r, err := b.register(o)
	if err != nil {
		return 0, err
	}
	if !compatible(t, r.t) {
		return 0, b.p.errf(o.line, "%s operand %d: register %s is %s, the instruction wants %s", mn, i+1, o.text, r.t, t)
	}
	return r.slot, nil
}

// decode checks an instruction against its form and appends it.
func (b *builder) decode(mn token, guard *syn, ops []syn) error {
	p, name := b.p, mn.text
	f, ok := p.forms[name]
	if !ok {
		return b.unknown(mn)
	}
	if len(b.k.code) >= maxCodeInsts {
		return p.errf(mn.line, "entry %s has more than %d instructions", b.k.name, maxCodeInsts)
	}
	in := inst{op: f.op, aux: f.aux, guard: -1}
	if guard != nil {
		r, err := b.register(*guard)
		if err != nil {
			return err
		}
		if r.t != tyPred {
			return p.errf(guard.line, "guard %s is %s, not a .pred register", guard.text, r.t)
		}
		in.guard, in.neg = r.slot, guard.neg
	}
	if len(ops) != len(f.ops) {
		return p.errf(mn.line, "%s takes %d operands, found %d", name, len(f.ops), len(ops))
	}
	srcs := []*int32{&in.a, &in.b, &in.c}
	next := 0
	setSrc := func(s int32) {
		*srcs[next] = s
		next++
	}
	for i, o := range ops {
		spec := f.ops[i]
		var s int32
		var err error
		switch spec.kind {
		case oDst:
			if o.kind != synReg {
				return p.errf(o.line, "%s operand %d: the destination must be a register", name, i+1)
			}
			if in.d, err = b.typedReg(o, spec.t, name, i); err != nil {
				return err
			}
			continue
		case oSrc, oReg, oMov:
			s, err = b.source(o, spec, name, i)
		case oGlobal, oShared:
			s, err = b.address(o, spec, name, i)
			in.imm = o.off
		case oParam:
			s, err = b.paramRef(o, spec.t, name, i)
		case oLabel:
			if o.kind != synName {
				return p.errf(o.line, "%s: the target must be a label", name)
			}
			b.fixups = append(b.fixups, fixup{pc: len(b.k.code), label: o.text, line: o.line})
			continue
		case oBarrier:
			if o.kind != synImm || o.neg || o.text != "0" {
				return p.errf(o.line, "bar.sync: only barrier 0 (all threads of the block) is in the subset")
			}
			continue
		}
		if err != nil {
			return err
		}
		setSrc(s)
	}
	b.k.code = append(b.k.code, in)
	b.k.lines = append(b.k.lines, int32(mn.line))
	b.k.text = append(b.k.text, name)
	return nil
}

// unknown explains why a mnemonic is not accepted.
func (b *builder) unknown(mn token) error {
	name := mn.text
	first, rest, _ := strings.Cut(name, ".")
	second, _, _ := strings.Cut(rest, ".")
	for base := range b.p.forms {
		if f, _, _ := strings.Cut(base, "."); f == first {
			return b.p.errf(mn.line, "%s: this form of %s (modifier or type) is outside the PTX subset", name, first)
		}
	}
	if isExcluded(first) || isExcluded(first+"."+second) {
		return b.p.errf(mn.line, "instruction %s is outside the PTX subset", name)
	}
	return b.p.errf(mn.line, "unknown instruction %q", name)
}

// source resolves a source operand: a register, or (by the form) an
// immediate, a special register or a shared array's address.
func (b *builder) source(o syn, spec ospec, mn string, i int) (int32, error) {
	p := b.p
	switch o.kind {
	case synReg:
		if idx, ok := specialIndex(o.text); ok && spec.kind == oMov {
			if !compatible(spec.t, tyU32) {
				return 0, p.errf(o.line, "%s: special register %s is .u32", mn, o.text)
			}
			return b.specialSlot(idx, o.line)
		}
		return b.typedReg(o, spec.t, mn, i)
	case synImm:
		if spec.kind == oReg {
			return 0, p.errf(o.line, "%s operand %d must be a register", mn, i+1)
		}
		v, msg := immValue(o, spec.t)
		if msg != "" {
			return 0, p.errf(o.line, "%s operand %d: %s: %s", mn, i+1, o.text, msg)
		}
		return b.constSlot(v, o.line)
	case synName:
		n, ok := b.names[o.text]
		if spec.kind != oMov || !ok || n.kind != 's' {
			if !ok && spec.kind == oMov {
				return 0, p.errf(o.line, "%s: %s is not a declared shared array", mn, o.text)
			}
			return 0, p.errf(o.line, "%s operand %d: %s is not a register or literal", mn, i+1, o.text)
		}
		if spec.t.size() != 32 || !compatible(spec.t, tyU32) {
			return 0, p.errf(o.line, "%s: a shared array's address is a 32-bit integer (mov.u32)", mn)
		}
		return b.constSlot(uint64(n.index), o.line)
	}
	return 0, p.errf(o.line, "%s operand %d: an address [ ] where a value is expected", mn, i+1)
}

// address resolves a global or shared memory operand to its base slot.
func (b *builder) address(o syn, spec ospec, mn string, i int) (int32, error) {
	p := b.p
	if o.kind != synMem {
		return 0, p.errf(o.line, "%s operand %d must be an address [ ]", mn, i+1)
	}
	base := syn{kind: synReg, text: o.text, line: o.line}
	if spec.kind == oGlobal {
		if !strings.HasPrefix(o.text, "%") {
			return 0, p.errf(o.line, "%s: a global address is a 64-bit register, not %s", mn, o.text)
		}
		return b.typedAddr(base, tyU64, mn, "global")
	}
	if strings.HasPrefix(o.text, "%") {
		return b.typedAddr(base, tyU32, mn, "shared")
	}
	n, ok := b.names[o.text]
	if !ok || n.kind != 's' {
		return 0, p.errf(o.line, "%s: %s is not a declared shared array", mn, o.text)
	}
	return b.constSlot(uint64(n.index), o.line)
}

func (b *builder) typedAddr(o syn, t typ, mn, space string) (int32, error) {
	r, err := b.register(o)
	if err != nil {
		return 0, err
	}
	if !compatible(t, r.t) || r.t == tyF32 {
		return 0, b.p.errf(o.line, "%s: a %s address register is a %d-bit integer, %s is %s", mn, space, t.size(), o.text, r.t)
	}
	return r.slot, nil
}

// paramRef resolves [NAME] of ld.param to the parameter's slot.
func (b *builder) paramRef(o syn, t typ, mn string, i int) (int32, error) {
	p := b.p
	if o.kind != synMem {
		return 0, p.errf(o.line, "%s operand %d must be [parameter]", mn, i+1)
	}
	n, ok := b.names[o.text]
	if !ok || n.kind != 'p' {
		return 0, p.errf(o.line, "%s: %s is not a parameter of %s", mn, o.text, b.k.name)
	}
	if o.off != 0 {
		return 0, p.errf(o.line, "%s: parameter offsets are outside the subset", mn)
	}
	pa := b.k.params[n.index]
	if !compatible(t, pa.t) {
		return 0, p.errf(o.line, "%s: parameter %s is %s", mn, o.text, pa.t)
	}
	return pa.slot, nil
}

// finish resolves the labels and checks the entry as a whole.
func (b *builder) finish(endLine int) (*kernel, error) {
	k, p := b.k, b.p
	for _, f := range b.fixups {
		n, ok := b.names[f.label]
		if !ok || n.kind != 'l' {
			return nil, p.errf(f.line, "unknown label %s", f.label)
		}
		k.code[f.pc].imm = int64(n.index)
	}
	if len(k.code) == 0 {
		return nil, p.errf(endLine, "entry %s has no instructions", k.name)
	}
	for name, n := range b.names {
		if n.kind == 'l' && n.index >= len(k.code) {
			return nil, p.errf(n.line, "label %s is at the end of %s: control would run off the entry", name, k.name)
		}
	}
	if last := k.code[len(k.code)-1]; last.guard >= 0 || last.op != opExit && last.op != opBra {
		return nil, p.errf(int(k.lines[len(k.lines)-1]), "entry %s must end with ret, exit or an unconditional bra: control would run off the entry", k.name)
	}
	if sig, ok := device.Lookup(k.name); ok {
		if len(sig.Params) != len(k.params) {
			return nil, p.errf(k.line, "entry %s has %d parameters, the kernel table's signature %d", k.name, len(k.params), len(sig.Params))
		}
		for i, pa := range k.params {
			if kindOf(pa.t) != sig.Params[i].Kind {
				return nil, p.errf(k.line, "entry %s parameter %d (%s) is %s, the kernel table has %s (%s)", k.name, i, pa.name, pa.t, sig.Params[i].Kind, sig.Params[i].Name)
			}
		}
	}
	return k, nil
}
