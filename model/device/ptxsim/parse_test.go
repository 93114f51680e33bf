package ptxsim

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// bodyLine is the line of the module body(lines) puts lines on.
const bodyLine = 15

// body wraps instructions in an entry with a few registers and a shared
// array, from line bodyLine on.
func body(lines string) string {
	return header + `
.visible .entry k(.param .u64 p0, .param .u32 p1, .param .f32 p2)
{
	.reg .pred %p<3>;
	.reg .b32 %r<5>;
	.reg .u32 %u<3>;
	.reg .f32 %f<3>;
	.reg .b64 %rd<3>;
	.reg .u64 %ud<2>;
	.shared .align 4 .f32 sm[8];

` + lines + `
	ret;
}
`
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"empty", "", 1, ".version"},
		{"version", ".version 8.0\n.target sm_80\n.address_size 64\n", 1, "7.0 to 7.8"},
		{"version format", ".version 7.10\n.target sm_80\n.address_size 64\n", 1, "7.0 to 7.8"},
		{"target", ".version 7.8\n.target sm_90\n.address_size 64\n", 2, "sm_80"},
		{"target options", ".version 7.8\n.target sm_80, debug\n.address_size 64\n", 2, "target options"},
		{"address size", ".version 7.8\n.target sm_80\n.address_size 32\n", 3, "64-bit"},
		{"bad character", header + "\n#include\n", 5, "unexpected character"},
		{"unterminated comment", header + "/* \n\n", 4, "unterminated"},
		{"func", header + ".func f()\n{\n ret;\n}\n", 4, "outside the subset"},
		{"global var", header + ".global .f32 g;\n", 4, "outside the subset"},
		{"entry name", header + ".visible .entry 9k()\n{\n ret;\n}\n", 4, "entry name"},
		{"param type", header + ".visible .entry k(.param .f64 x)\n{\n ret;\n}\n", 4, ".f64"},
		{"param ptr", header + ".visible .entry k(.param .u64 .ptr .align 4 x)\n{\n ret;\n}\n", 4, "parameter name"},
		{"missing brace", header + ".visible .entry k()\n{\n ret;\n", 7, "missing }"},
		{"maxntid", header + ".visible .entry k() .maxntid 256\n{\n ret;\n}\n", 4, "outside the subset"},
		{"no instructions", header + ".visible .entry k()\n{\n}\n", 6, "no instructions"},
		{"unknown instruction", body("\tfrob.b32 %r1, %r2;"), bodyLine, `unknown instruction "frob.b32"`},
		{"unknown type", body("\tadd.f64 %r1, %r2, %r3;"), bodyLine, "outside the PTX subset"},
		{"mul.hi", body("\tmul.hi.s32 %r1, %r2, %r3;"), bodyLine, "outside the PTX subset"},
		{"atomics", body("\tatom.global.add.f32 %f1, [%rd1], %f2;"), bodyLine, "outside the PTX subset"},
		{"shfl", body("\tshfl.sync.down.b32 %r1, %r2, 1, 31, -1;"), bodyLine, "outside the PTX subset"},
		{"vote", body("\tvote.sync.any.pred %p1, %p2, -1;"), bodyLine, "outside the PTX subset"},
		{"call", body("\tcall f;"), bodyLine, "outside the PTX subset"},
		{"membar", body("\tmembar.gl;"), bodyLine, "outside the PTX subset"},
		{"local", body("\tld.local.f32 %f1, [%rd1];"), bodyLine, "outside the PTX subset"},
		{"local decl", body("\t.local .align 4 .b8 stack[16];"), bodyLine, "outside the subset"},
		{"vector load", body("\tld.global.v4.f32 {%f1, %f2, %f3, %f4}, [%rd1];"), bodyLine, "outside the PTX subset"},
		{"vector operand", body("\tmov.b32 %r1, {%r2};"), bodyLine, "vector operands"},
		{"f64 register", body("\t.reg .f64 %fd<2>;"), bodyLine, "register type .f64"},
		{"f16 register", body("\t.reg .f16 %h<2>;"), bodyLine, "register type .f16"},
		{"approx sqrt", body("\tsqrt.approx.f32 %f1, %f2;"), bodyLine, "outside the PTX subset"},
		{"fma without rounding", body("\tfma.f32 %f1, %f2, %f2, %f2;"), bodyLine, "outside the PTX subset"},
		{"nc load", body("\tld.global.nc.f32 %f1, [%rd1];"), bodyLine, "outside the PTX subset"},
		{"undeclared register", body("\tadd.s32 %r1, %r9, 1;"), bodyLine, "undeclared register %r9"},
		{"undeclared named", body("\tadd.s32 %r1, %q, 1;"), bodyLine, "undeclared register %q"},
		{"register used before its declaration", body("\tmov.u32 %late1, 0;\n\t.reg .b32 %late<2>;"), bodyLine, "undeclared register %late1"},
		{"unknown label", body("\tbra $L_nowhere;"), bodyLine, "unknown label $L_nowhere"},
		{"label at end", header + ".visible .entry k()\n{\n\tret;\n$L_end:\n}\n", 7, "control would run off"},
		{"no final ret", header + ".visible .entry k()\n{\n\t.reg .pred %p<2>;\n\t@%p1 ret;\n}\n", 7, "must end with ret"},
		{"duplicate label", body("$L:\n$L:"), bodyLine + 1, "already declared"},
		{"duplicate register", body("\t.reg .b32 %r2;"), bodyLine, "declared twice"},
		{"special register name", body("\t.reg .b32 %tid;"), bodyLine, "special register"},
		{"operand type mismatch", body("\tadd.f32 %f1, %u1, %f2;"), bodyLine, "register %u1 is .u32, the instruction wants .f32"},
		{"int op on float register", body("\tadd.s32 %r1, %f1, 1;"), bodyLine, "is .f32"},
		{"64-bit into 32-bit", body("\tmov.u32 %r1, %rd1;"), bodyLine, "is .b64"},
		{"destination immediate", body("\tadd.s32 5, %r1, %r2;"), bodyLine, "destination must be a register"},
		{"operand count", body("\tadd.s32 %r1, %r2;"), bodyLine, "takes 3 operands, found 2"},
		{"setp into a register", body("\tsetp.lt.s32 %r1, %r2, %r3;"), bodyLine, "wants .pred"},
		{"guard not a predicate", body("\t@%r1 bra $L;\n$L:"), bodyLine, "not a .pred"},
		{"negated operand", body("\tand.pred %p1, %p2, !%p2;"), bodyLine, "negated predicate"},
		{"setp combine", body("\tsetp.lt.and.s32 %p1, %r1, %r2, %p2;"), bodyLine, "outside the PTX subset"},
		{"setp pair", body("\tsetp.lt.s32 %p1|%p2, %r1, %r2;"), bodyLine, "unexpected character"},
		{"unsigned-only compare", body("\tsetp.lo.u32 %p1, %r1, %r2;"), bodyLine, "outside the PTX subset"},
		{"float-only compare on int", body("\tsetp.ltu.s32 %p1, %r1, %r2;"), bodyLine, "outside the PTX subset"},
		{"imm out of range", body("\tadd.s32 %r1, %r2, 4294967296;"), bodyLine, "out of the 32-bit range"},
		{"negative imm out of range", body("\tadd.s32 %r1, %r2, -2147483649;"), bodyLine, "out of the 32-bit range"},
		{"octal literal", body("\tadd.s32 %r1, %r2, 010;"), bodyLine, "octal"},
		{"decimal float", body("\tadd.f32 %f1, %f2, 1.5;"), bodyLine, "0fXXXXXXXX"},
		{"int literal for f32", body("\tadd.f32 %f1, %f2, 1;"), bodyLine, "0fXXXXXXXX"},
		{"f64 literal", body("\tmov.b64 %rd1, 0d3FF0000000000000;"), bodyLine, "float literal"},
		{"short 0f", body("\tmov.f32 %f1, 0f3F80;"), bodyLine, "8 hex digits"},
		{"negated 0f", body("\tmov.f32 %f1, -0f3F800000;"), bodyLine, "negated float"},
		{"predicate literal", body("\tand.pred %p1, %p2, 1;"), bodyLine, "predicate literals"},
		{"store immediate", body("\tst.global.f32 [%rd1], 0f00000000;"), bodyLine, "must be a register"},
		{"cvt immediate", body("\tcvt.rn.f32.s32 %f1, 3;"), bodyLine, "must be a register"},
		{"special outside mov", body("\tadd.u32 %r1, %tid.x, 1;"), bodyLine, "read with mov.u32 only"},
		{"special as float", body("\tmov.f32 %f1, %tid.x;"), bodyLine, "is .u32"},
		{"special unknown", body("\tmov.u32 %r1, %laneid;"), bodyLine, "outside the subset"},
		{"special component", body("\tmov.u32 %r1, %tid.w;"), bodyLine, "outside the subset"},
		{"special write", body("\tmov.u32 %tid.x, %r1;"), bodyLine, "read with mov.u32 only"},
		{"shared address 64-bit", body("\tmov.u64 %rd1, sm;"), bodyLine, "32-bit integer"},
		{"shared name unknown", body("\tmov.u32 %r1, nosuch;"), bodyLine, "not a declared shared array"},
		{"param as value", body("\tmov.u32 %r1, p1;"), bodyLine, "not a register or literal"},
		{"global address 32-bit", body("\tld.global.f32 %f1, [%r1];"), bodyLine, "64-bit integer"},
		{"global address name", body("\tld.global.f32 %f1, [sm];"), bodyLine, "64-bit register"},
		{"shared address 64-bit reg", body("\tld.shared.f32 %f1, [%rd1];"), bodyLine, "32-bit integer"},
		{"shared address float reg", body("\tld.shared.f32 %f1, [%f2];"), bodyLine, "32-bit integer"},
		{"shared s32 load", body("\tld.shared.s32 %r1, [sm];"), bodyLine, "outside the PTX subset"},
		{"absolute address", body("\tld.global.f32 %f1, [64];"), bodyLine, "absolute addresses"},
		{"minus offset", body("\tld.global.f32 %f1, [%rd1-4];"), bodyLine, "[%rd1+-N]"},
		{"register offset", body("\tld.shared.f32 %f1, [%r1+%r2];"), bodyLine, "integer literal"},
		{"offset range", body("\tld.global.f32 %f1, [%rd1+4294967296];"), bodyLine, "32-bit signed"},
		{"param not a param", body("\tld.param.u32 %r1, [sm];"), bodyLine, "not a parameter"},
		{"param type mismatch", body("\tld.param.f32 %f1, [p1];"), bodyLine, "parameter p1 is .u32"},
		{"param size mismatch", body("\tld.param.u32 %r1, [p0];"), bodyLine, "parameter p0 is .u64"},
		{"param offset", body("\tld.param.u32 %r1, [p1+4];"), bodyLine, "parameter offsets"},
		{"param value", body("\tld.param.u32 %r1, p1;"), bodyLine, "must be [parameter]"},
		{"branch to register", body("\tbra %r1;"), bodyLine, "must be a label"},
		{"barrier 1", body("\tbar.sync 1;"), bodyLine, "only barrier 0"},
		{"barrier count", body("\tbar.sync 0, 64;"), bodyLine, "takes 1 operands"},
		{"shared dynamic", body("\t.shared .align 4 .f32 dyn[];"), bodyLine, "element count"},
		{"shared too big", body("\t.shared .align 4 .f32 big[20000];"), bodyLine, "exceeds"},
		{"shared type", body("\t.shared .align 4 .u32 s2[4];"), bodyLine, "shared type .u32"},
		{"shared align", body("\t.shared .align 3 .f32 s2[4];"), bodyLine, "power of two"},
		{"shared name clash", body("\t.shared .align 4 .f32 p1[4];"), bodyLine, "already declared"},
		{"too many registers", body("\t.reg .b32 %z<5000>;"), bodyLine, "register count"},
		{"nested scope", body("\t{\n\tret;\n\t}"), bodyLine, "nested"},
		{"pragma", body("\t.pragma \"nounroll\";"), bodyLine, "unexpected character"},
		{"missing semicolon", body("\tadd.s32 %r1, %r2, %r3\n\tret;"), bodyLine + 1, `expected ";"`},
		{"cvt narrowing", body("\tcvt.s32.s64 %r1, %rd1;"), bodyLine, "outside the PTX subset"},
		{"cvt default rounding", body("\tcvt.s32.f32 %r1, %f1;"), bodyLine, "outside the PTX subset"},
		{"shift amount 64", body("\tshl.b64 %rd1, %rd1, %rd2;"), bodyLine, "is .b64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(device.Module{Name: "bad.ptx", Source: tc.src})
			if !errors.Is(err, ErrPTX) || !errors.Is(err, device.ErrDevice) {
				t.Fatalf("got %v, want an ErrPTX", err)
			}
			msg := err.Error()
			if loc := "bad.ptx:" + itoa(tc.line) + ":"; !strings.Contains(msg, loc) {
				t.Errorf("%q does not name %s", msg, loc)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("%q does not say %q", msg, tc.want)
			}
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestParseAccepts checks spellings of the subset that a strict parser
// could wrongly refuse.
func TestParseAccepts(t *testing.T) {
	for _, src := range []string{
		".version 7.0\n.target sm_80\n.address_size 64\n.entry k()\n{\n ret;\n}\n",
		header + "/* a\n comment */ .visible .entry k( ) { exit; }",
		body("\t.reg .b32 %named, %other;\n\tmov.b32 %named, 0x7FFFFFFF;\n\tmov.b32 %other, -2147483648;"),
		body("\tmov.u64 %ud1, 18446744073709551615;\n\tmov.b64 %rd1, -1;"),
		body("\tld.shared.f32 %f1, [sm+28];\n\tld.shared.f32 %f1, [sm+-0];\n\tst.shared.u32 [%r1+4], %u1;"),
		body("\tld.global.f32 %f1, [%rd1+-4];\n\tld.global.s32 %r1, [%rd1+2147483647];"),
		body("\t@!%p1 bra.uni $L;\n$L:\n\tbar.sync 0;"),
		body("\tmov.u32 %r1, sm;\n\tmov.b32 %r2, sm;\n\tmov.s32 %r3, sm;"),
		body("\tadd.f32 %r1, %r2, %f1;\n\tsetp.lt.f32 %p1, %r1, 0f00000000;"),
		body("\tmov.u32 %r1, %nctaid.z;\n\tmov.b32 %r2, %ctaid.y;"),
	} {
		if _, err := New(device.Module{Name: "ok.ptx", Source: src}); err != nil {
			t.Errorf("%v\n%s", err, src)
		}
	}
}

// TestEveryOpcodeTested decodes the kernels of the tests and checks that
// together they use every opcode (and every .ftz operation), so no part
// of the subset goes unexecuted.
func TestEveryOpcodeTested(t *testing.T) {
	srcs := []string{vaddPTX, bsumPTX, mmPTX, ctlPTX, shPTX, exitBarPTX, dimsPTX, faultPTX}
	for _, sn := range coveredSnippets() {
		srcs = append(srcs, opModule(sn))
	}
	seen := map[opcode]bool{}
	seenFtz := map[opcode]bool{}
	for _, src := range srcs {
		d, err := New(device.Module{Name: "t.ptx", Source: src})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range d.kernels {
			for _, in := range k.code {
				seen[in.op] = true
				if in.op == opFtzF {
					seenFtz[opcode(in.aux)] = true
				}
			}
		}
	}
	fs := forms()
	spelling := map[opcode]string{} // an example mnemonic of each opcode
	for name, f := range fs {
		if old, ok := spelling[f.op]; !ok || name < old {
			spelling[f.op] = name
		}
	}
	for op := opcode(1); op < numOpcodes; op++ {
		if !seen[op] {
			t.Errorf("opcode %d (%s) is not used by any test kernel", op, spelling[op])
		}
	}
	for name, f := range fs {
		if f.op == opFtzF && !seenFtz[opcode(f.aux)] {
			t.Errorf("no test kernel uses an .ftz form like %s", name)
		}
	}
}
