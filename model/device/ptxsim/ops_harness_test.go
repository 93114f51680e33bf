package ptxsim

import (
	"fmt"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// opModule wraps an instruction snippet in a kernel: thread i loads
// %r2, %r3, %r4 (.b32) from a[i], b[i], c[i], runs the snippet, and
// stores %r5 to lo[i] and %r6 to hi[i] (both start at 0). 64-bit
// snippets combine and split halves with the helpers below.
func opModule(snippet string) string {
	return header + fmt.Sprintf(`
.visible .entry k(.param .u64 pa, .param .u64 pb, .param .u64 pc, .param .u64 plo, .param .u64 phi)
{
	.reg .pred %%p<4>;
	.reg .b32 %%r<16>;
	.reg .f32 %%f<8>;
	.reg .u32 %%u<4>;
	.reg .s32 %%s<4>;
	.reg .b64 %%rd<24>;
	.reg .s64 %%sd<4>;
	.reg .u64 %%ud<4>;

	mov.u32 %%r1, %%tid.x;
	mul.wide.u32 %%rd1, %%r1, 4;
	ld.param.u64 %%rd2, [pa];
	cvta.to.global.u64 %%rd2, %%rd2;
	add.s64 %%rd3, %%rd2, %%rd1;
	ld.global.b32 %%r2, [%%rd3];
	ld.param.u64 %%rd4, [pb];
	add.s64 %%rd5, %%rd4, %%rd1;
	ld.global.b32 %%r3, [%%rd5];
	ld.param.u64 %%rd6, [pc];
	add.s64 %%rd7, %%rd6, %%rd1;
	ld.global.b32 %%r4, [%%rd7];
	mov.b32 %%r5, 0;
	mov.b32 %%r6, 0;
%s
	ld.param.u64 %%rd8, [plo];
	add.s64 %%rd9, %%rd8, %%rd1;
	st.global.b32 [%%rd9], %%r5;
	ld.param.u64 %%rd10, [phi];
	add.s64 %%rd11, %%rd10, %%rd1;
	st.global.b32 [%%rd11], %%r6;
	ret;
}
`, snippet)
}

// wide64 builds %rd12 = %r2:%r3 (high:low) and %rd13 = %r4 sign-extended.
const wide64 = `
	cvt.u64.u32 %rd12, %r2;
	shl.b64 %rd12, %rd12, 32;
	cvt.u64.u32 %rd14, %r3;
	or.b64 %rd12, %rd12, %rd14;
	cvt.s64.s32 %rd13, %r4;
`

// split64 stores %rd15 as %r5 (low) and %r6 (high).
const split64 = `
	cvt.u32.u64 %r5, %rd15;
	shr.u64 %rd16, %rd15, 32;
	cvt.u32.u64 %r6, %rd16;
`

// runOp runs snippet on one thread per input triple and returns (lo, hi)
// per thread.
func runOp(t *testing.T, snippet string, in [][3]uint32) [][2]uint32 {
	t.Helper()
	d := newDevice(t, opModule(snippet))
	n := len(in)
	cols := [3][]uint32{make([]uint32, n), make([]uint32, n), make([]uint32, n)}
	for i, v := range in {
		cols[0][i], cols[1][i], cols[2][i] = v[0], v[1], v[2]
	}
	a, b, c := upload(t, d, cols[0]), upload(t, d, cols[1]), upload(t, d, cols[2])
	lo, hi := upload(t, d, make([]uint32, n)), upload(t, d, make([]uint32, n))
	if err := d.Launch("k", device.D1(1), device.D1(n), a, b, c, lo, hi); err != nil {
		t.Fatalf("launch: %v", err)
	}
	l, h := download[uint32](t, d, lo, n), download[uint32](t, d, hi, n)
	out := make([][2]uint32, n)
	for i := range out {
		out[i] = [2]uint32{l[i], h[i]}
	}
	return out
}

// cross is every (a, b, c) with a and b from vals and c from cs
// (cycled), at most 1024 triples.
func cross(vals, cs []uint32) [][3]uint32 {
	var out [][3]uint32
	for i, a := range vals {
		for j, b := range vals {
			out = append(out, [3]uint32{a, b, cs[(i+j)%len(cs)]})
		}
	}
	return out[:min(len(out), 1024)]
}
