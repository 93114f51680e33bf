package device_test

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// ptxEntry is one .entry of a module as the tests read it.
type ptxEntry struct {
	module, name string
	line         int      // of ".entry"
	params       []string // "u64 NAME", in order
	body         []ptxLine
}

// ptxLine is a line of an entry's body without its comments.
type ptxLine struct {
	n    int
	text string
}

// stripComments removes // and /* */ comments, keeping line breaks.
func stripComments(src string) string {
	var b strings.Builder
	for i := 0; i < len(src); i++ {
		switch {
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			if i < len(src) {
				b.WriteByte('\n')
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				end = len(src) - i - 2
			}
			b.WriteString(strings.Repeat("\n", strings.Count(src[i:i+2+end], "\n")))
			i += end + 3
		default:
			b.WriteByte(src[i])
		}
	}
	return b.String()
}

var (
	entryRE = regexp.MustCompile(`^\.visible\s+\.entry\s+([A-Za-z_$][\w$]*)\s*\(\s*$`)
	paramRE = regexp.MustCompile(`^\.param\s+\.(u64|u32|s32|f32)\s+([A-Za-z_$][\w$]*)\s*(,|\))?\s*$`)
)

// parseEntries reads the .entry declarations of a module: its params and
// body lines. It fails t on text it does not understand.
func parseEntries(t *testing.T, m device.Module) []ptxEntry {
	t.Helper()
	lines := strings.Split(stripComments(m.Source), "\n")
	var out []ptxEntry
	for i := 0; i < len(lines); i++ {
		s := strings.TrimSpace(lines[i])
		if !strings.Contains(s, ".entry") {
			continue
		}
		mm := entryRE.FindStringSubmatch(s)
		if mm == nil {
			t.Fatalf("%s:%d: cannot read the entry %q (want `.visible .entry NAME(` on a line)", m.Name, i+1, s)
		}
		e := ptxEntry{module: m.Name, name: mm[1], line: i + 1}
		for i++; ; i++ {
			if i >= len(lines) {
				t.Fatalf("%s:%d: entry %s: unterminated parameter list", m.Name, e.line, e.name)
			}
			s := strings.TrimSpace(lines[i])
			if s == ")" {
				break
			}
			p := paramRE.FindStringSubmatch(s)
			if p == nil {
				t.Fatalf("%s:%d: entry %s: cannot read parameter %q", m.Name, i+1, e.name, s)
			}
			e.params = append(e.params, p[1]+" "+p[2])
			if p[3] == ")" {
				break
			}
			if p[3] == "" && (i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != ")") {
				t.Fatalf("%s:%d: entry %s: parameter %q is not followed by `,` or `)`", m.Name, i+1, e.name, s)
			}
		}
		i++
		if i >= len(lines) || strings.TrimSpace(lines[i]) != "{" {
			t.Fatalf("%s:%d: entry %s: want `{` after the parameters", m.Name, i+1, e.name)
		}
		for i++; ; i++ {
			if i >= len(lines) {
				t.Fatalf("%s:%d: entry %s: no closing `}`", m.Name, e.line, e.name)
			}
			s := strings.TrimSpace(lines[i])
			if s == "}" {
				break
			}
			if s != "" {
				e.body = append(e.body, ptxLine{i + 1, s})
			}
		}
		out = append(out, e)
	}
	return out
}

// kindOf maps a PTX parameter type to the table's kind.
func kindOf(ptxType string) device.ParamKind {
	switch ptxType {
	case "u64":
		return device.ParamPtr
	case "u32", "s32":
		return device.ParamI32
	case "f32":
		return device.ParamF32
	}
	return 0
}

// TestPTXEntriesMatchTheTable: every kernel of the table is exactly one
// .entry of the embedded modules, with the table's parameter kinds in
// order, and no entry exists outside the table.
func TestPTXEntriesMatchTheTable(t *testing.T) {
	mods, err := device.Modules()
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 {
		t.Fatal("no embedded PTX modules")
	}
	entries := map[string][]ptxEntry{}
	for _, m := range mods {
		for _, h := range []string{".version 7.8", ".target sm_80", ".address_size 64"} {
			if !slices.Contains(strings.Split(stripComments(m.Source), "\n"), h) {
				t.Errorf("%s: no header line %q", m.Name, h)
			}
		}
		for _, e := range parseEntries(t, m) {
			entries[e.name] = append(entries[e.name], e)
		}
	}
	for _, k := range device.Kernels() {
		es := entries[k.Name]
		if len(es) != 1 {
			t.Errorf("kernel %s: %d .entry declarations, want 1", k.Name, len(es))
			continue
		}
		e := es[0]
		if len(e.params) != len(k.Params) {
			t.Errorf("%s:%d: %s has %d parameters, the table %d", e.module, e.line, k.Name, len(e.params), len(k.Params))
			continue
		}
		for i, p := range e.params {
			typ := strings.Fields(p)[0]
			if kindOf(typ) != k.Params[i].Kind {
				t.Errorf("%s:%d: %s parameter %d (%s) is .%s, the table says %s", e.module, e.line, k.Name, i, k.Params[i].Name, typ, k.Params[i].Kind)
			}
		}
	}
	for name, es := range entries {
		if _, ok := device.Lookup(name); !ok {
			t.Errorf("%s:%d: entry %s is not in the kernel table", es[0].module, es[0].line, name)
		}
	}
}

// TestPTXStaysInTheSubset lints every entry against the package's PTX
// subset: every instruction is one the subset has, every register is
// declared (and inside its declaration's range) and of the class the
// instruction's type asks for, every branch target, parameter and shared
// array named exists.
func TestPTXStaysInTheSubset(t *testing.T) {
	mods, err := device.Modules()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		for _, e := range parseEntries(t, m) {
			for _, msg := range lintEntry(e) {
				t.Errorf("%s: %s", e.module, msg)
			}
		}
	}
}

// TestLintCatches: the linter rejects what it must (so the test above
// can fail).
func TestLintCatches(t *testing.T) {
	base := ptxEntry{module: "t.ptx", name: "k", params: []string{"u64 k_param_0"}}
	decl := []string{".reg .pred %p<2>;", ".reg .b32 %r<4>;", ".reg .f32 %f<4>;", ".reg .b64 %rd<4>;", ".shared .align 4 .f32 k_sh[8];"}
	for _, tc := range []struct{ line, want string }{
		{"atom.global.add.f32 %f1, [%rd1], %f2;", "not in the subset"},
		{"shfl.sync.bfly.b32 %r1, %r2, 1, 31, -1;", "not in the subset"},
		{"ld.global.v4.f32 %f1, [%rd1];", "not in the subset"},
		{"add.f64 %fd1, %fd2, %fd3;", "not in the subset"},
		{"add.s32 %r4, %r1, %r2;", "%r4 is outside"},
		{"add.s32 %r1, %rd1, %r2;", "wants a %r register"},
		{"add.rn.f32 %f1, %r1, %f2;", "wants a %f register"},
		{"mul.wide.s32 %r1, %r1, 4;", "wants a %rd register"},
		{"ld.global.f32 %f1, [%r1];", "wants a %rd register"},
		{"setp.lt.s32 %r1, %r1, 4;", "wants a %p register"},
		{"@%p1 bra $L__nowhere;", "unknown label"},
		{"ld.param.u64 %rd1, [k_param_9];", "unknown parameter"},
		{"mov.u32 %r1, k_nope;", "unknown name"},
		{"add.s32 %r1, %r2, %x3;", "undeclared register"},
		{"add.s32 %r1, %r2, %r3", "does not end with ;"},
	} {
		e := base
		e.body = nil
		for i, d := range append(decl, tc.line) {
			e.body = append(e.body, ptxLine{i + 1, d})
		}
		msgs := lintEntry(e)
		if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, tc.want) }) {
			t.Errorf("%q: lint says %q, want a message containing %q", tc.line, msgs, tc.want)
		}
	}
	// And accepts a well-formed body.
	e := base
	e.body = nil
	for i, d := range append(decl,
		"ld.param.u64 %rd1, [k_param_0];", "cvta.to.global.u64 %rd1, %rd1;", "mov.u32 %r1, %tid.x;",
		"mov.u32 %r2, k_sh;", "shl.b32 %r3, %r1, 2;", "add.s32 %r3, %r2, %r3;", "ld.shared.f32 %f1, [%r3+4];",
		"setp.lt.u32 %p1, %r1, 8;", "@!%p1 bra $L__k_done;", "mul.wide.u32 %rd2, %r1, 4;", "add.s64 %rd2, %rd1, %rd2;",
		"selp.f32 %f2, %f1, 0f00000000, %p1;", "st.global.f32 [%rd2+-4], %f2;", "bar.sync 0;", "$L__k_done:", "ret;") {
		e.body = append(e.body, ptxLine{i + 1, d})
	}
	if msgs := lintEntry(e); len(msgs) > 0 {
		t.Errorf("lint rejects a well-formed body: %q", msgs)
	}
}

// subsetOps is every instruction (with its type suffixes) of the subset.
func subsetOps() map[string]bool {
	ops := map[string]bool{}
	add := func(prefix string, suffixes ...string) {
		for _, s := range suffixes {
			ops[prefix+"."+s] = true
		}
	}
	i32, i64 := []string{"s32", "u32"}, []string{"s64", "u64"}
	add("ld.param", "u64", "u32", "s32", "f32")
	add("mov", "b32", "u32", "s32", "f32", "b64", "u64", "s64")
	ops["cvta.to.global.u64"] = true
	add("ld.global", "f32", "u32", "s32", "b32")
	add("st.global", "f32", "u32", "s32", "b32")
	add("ld.shared", "f32", "u32", "b32")
	add("st.shared", "f32", "u32", "b32")
	for _, op := range []string{"add", "sub"} {
		add(op, append(slices.Clone(i32), i64...)...)
	}
	add("mul.lo", append(slices.Clone(i32), i64...)...)
	for _, op := range []string{"mul.wide", "mad.lo", "mad.wide", "div", "rem", "min", "max"} {
		add(op, i32...)
	}
	add("neg", "s32")
	add("abs", "s32")
	for _, op := range []string{"and", "or", "xor", "not"} {
		add(op, "b32", "b64", "pred")
	}
	add("shl", "b32", "b64")
	add("shr", "b32", "u32", "s32", "b64", "u64", "s64")
	for _, op := range []string{"add", "sub", "mul"} {
		add(op, "f32", "rn.f32", "ftz.f32", "rn.ftz.f32")
	}
	add("fma", "rn.f32", "rn.ftz.f32")
	add("div", "rn.f32", "approx.f32", "full.f32")
	for _, op := range []string{"neg", "abs", "min", "max"} {
		add(op, "f32")
	}
	add("sqrt", "rn.f32")
	add("rsqrt", "approx.f32")
	add("rcp", "rn.f32")
	add("ex2", "approx.f32", "approx.ftz.f32")
	add("lg2", "approx.f32", "approx.ftz.f32")
	add("tanh", "approx.f32")
	for _, c := range []string{"eq", "ne", "lt", "le", "gt", "ge"} {
		add("setp."+c, "s32", "u32", "s64", "u64", "f32")
	}
	for _, c := range []string{"equ", "neu", "ltu", "leu", "gtu", "geu", "num", "nan"} {
		add("setp."+c, "f32")
	}
	add("selp", "b32", "s32", "u32", "f32", "b64", "u64")
	add("cvt.rn.f32", i32...)
	for _, r := range []string{"rzi", "rni", "rmi"} {
		add("cvt."+r+".s32", "f32")
		add("cvt."+r+".u32", "f32")
	}
	add("cvt.u64", i32...)
	add("cvt.s64", i32...)
	ops["cvt.u32.u64"] = true
	for _, op := range []string{"bra", "bra.uni", "bar.sync", "ret", "exit"} {
		ops[op] = true
	}
	return ops
}

// regClass is the register class (%r, %rd, %f, %p) of a PTX type.
func regClass(typ string) string {
	switch typ {
	case "b32", "u32", "s32":
		return "%r"
	case "b64", "u64", "s64":
		return "%rd"
	case "f32":
		return "%f"
	case "pred":
		return "%p"
	}
	return ""
}

var (
	regDeclRE   = regexp.MustCompile(`^\.reg\s+\.(pred|b32|u32|s32|f32|b64|u64|s64)\s+(%[a-z]+)<(\d+)>;$`)
	sharedRE    = regexp.MustCompile(`^\.shared\s+\.align\s+\d+\s+\.(f32|b8)\s+([A-Za-z_$][\w$]*)\[(\d+)\];$`)
	labelRE     = regexp.MustCompile(`^([A-Za-z_$][\w$]*):$`)
	regTokRE    = regexp.MustCompile(`^(%[a-z]+)(\d+)$`)
	specialRE   = regexp.MustCompile(`^%(tid|ntid|ctaid|nctaid)\.[xyz]$`)
	immediateRE = regexp.MustCompile(`^(-?\d+|0x[0-9a-fA-F]+|0f[0-9a-fA-F]{8})$`)
	addrRE      = regexp.MustCompile(`^\[([^\]+]+)(\+-?\d+)?\]$`)
	nameRE      = regexp.MustCompile(`^[A-Za-z_$][\w$]*$`)
)

// lintEntry returns what is wrong with entry e's body (see
// TestPTXStaysInTheSubset).
func lintEntry(e ptxEntry) []string {
	var msgs []string
	bad := func(l ptxLine, format string, args ...any) {
		msgs = append(msgs, fmt.Sprintf("line %d (%s, %q): %s", l.n, e.name, l.text, fmt.Sprintf(format, args...)))
	}
	regs := map[string]int{} // class → declared count
	shared := map[string]bool{}
	labels := map[string]bool{}
	params := map[string]bool{}
	for _, p := range e.params {
		params[strings.Fields(p)[1]] = true
	}
	var insts []ptxLine
	for _, l := range e.body {
		if m := regDeclRE.FindStringSubmatch(l.text); m != nil {
			class := regClass(m[1])
			if class != m[2] {
				bad(l, "registers of type .%s are named %s here", m[1], class)
			}
			n, _ := strconv.Atoi(m[3])
			regs[m[2]] = n
			continue
		}
		if m := sharedRE.FindStringSubmatch(l.text); m != nil {
			shared[m[2]] = true
			continue
		}
		if m := labelRE.FindStringSubmatch(l.text); m != nil {
			labels[m[1]] = true
			continue
		}
		if strings.HasPrefix(l.text, ".") {
			bad(l, "a directive outside the subset")
			continue
		}
		insts = append(insts, l)
	}
	ops := subsetOps()
	for _, l := range insts {
		s, ok := strings.CutSuffix(l.text, ";")
		if !ok {
			bad(l, "the instruction does not end with ;")
			continue
		}
		if strings.HasPrefix(s, "@") {
			pred, rest := cutSpace(s)
			pred = strings.TrimPrefix(strings.TrimPrefix(pred, "@"), "!")
			checkReg(pred, "%p", regs, func(f string, a ...any) { bad(l, f, a...) })
			s = strings.TrimSpace(rest)
		}
		op, rest := cutSpace(s)
		if !ops[op] {
			bad(l, "instruction %s is not in the subset", op)
			continue
		}
		var operands []string
		for _, o := range strings.Split(rest, ",") {
			if o = strings.TrimSpace(o); o != "" {
				operands = append(operands, o)
			}
		}
		report := func(f string, a ...any) { bad(l, f, a...) }
		for i, o := range operands {
			lintOperand(op, i, len(operands), o, regs, shared, labels, params, report)
		}
	}
	return msgs
}

// cutSpace splits s at its first run of blanks.
func cutSpace(s string) (head, tail string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// checkReg checks that tok is a declared register of class want.
func checkReg(tok, want string, regs map[string]int, bad func(string, ...any)) {
	m := regTokRE.FindStringSubmatch(tok)
	if m == nil {
		bad("%s is not a register", tok)
		return
	}
	n, ok := regs[m[1]]
	if !ok {
		bad("undeclared register %s", tok)
		return
	}
	if i, _ := strconv.Atoi(m[2]); i >= n {
		bad("%s is outside %s<%d>", tok, m[1], n)
	}
	if m[1] != want {
		bad("operand %s: the instruction wants a %s register", tok, want)
	}
}

// operandClass is the register class operand i of n of instruction op
// must have ("" where no register may stand, "addr" for an address).
func operandClass(op string, i, n int) string {
	parts := strings.Split(op, ".")
	last := parts[len(parts)-1]
	switch {
	case op == "bra" || op == "bra.uni" || op == "bar.sync":
		return ""
	case parts[0] == "ld" || parts[0] == "st":
		addr := 1
		if parts[0] == "st" {
			addr = 0
		}
		if i == addr {
			return "addr:" + parts[1]
		}
		return regClass(last)
	case parts[0] == "setp":
		if i == 0 {
			return "%p"
		}
		return regClass(last)
	case parts[0] == "selp":
		if i == 3 {
			return "%p"
		}
		return regClass(last)
	case parts[0] == "cvt":
		if i == 0 {
			return regClass(parts[len(parts)-2])
		}
		return regClass(last)
	case parts[1] == "wide":
		if i == 0 || (parts[0] == "mad" && i == 3) {
			return "%rd"
		}
		return "%r"
	case (parts[0] == "shl" || parts[0] == "shr") && i == 2:
		return "%r" // the shift amount is 32-bit
	}
	return regClass(last)
}

// lintOperand checks operand o (index i of n) of instruction op.
func lintOperand(op string, i, n int, o string, regs map[string]int, shared, labels, params map[string]bool, bad func(string, ...any)) {
	class := operandClass(op, i, n)
	switch {
	case op == "bra" || op == "bra.uni":
		if !labels[o] {
			bad("unknown label %s", o)
		}
	case op == "bar.sync":
		if !immediateRE.MatchString(o) {
			bad("bar.sync takes an immediate barrier number")
		}
	case strings.HasPrefix(class, "addr:"):
		m := addrRE.FindStringSubmatch(o)
		if m == nil {
			bad("%s is not an address", o)
			return
		}
		base := m[1]
		switch space := strings.TrimPrefix(class, "addr:"); space {
		case "param":
			if !params[base] || m[2] != "" {
				bad("unknown parameter %s", base)
			}
		case "global":
			checkReg(base, "%rd", regs, bad)
		case "shared":
			if strings.HasPrefix(base, "%") {
				checkReg(base, "%r", regs, bad)
			} else if !shared[base] {
				bad("unknown shared array %s", base)
			}
		}
	case strings.HasPrefix(o, "%"):
		if specialRE.MatchString(o) {
			if op != "mov.u32" {
				bad("special register %s is read with mov.u32 only", o)
			}
			return
		}
		checkReg(o, class, regs, bad)
	case immediateRE.MatchString(o):
		if i == 0 {
			bad("an immediate destination")
		}
	case nameRE.MatchString(o):
		if op != "mov.u32" || !shared[o] {
			bad("unknown name %s (only mov.u32 takes a shared array's address)", o)
		}
	default:
		bad("cannot read operand %s", o)
	}
}
