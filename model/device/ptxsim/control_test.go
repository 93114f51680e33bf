package ptxsim

import (
	"math/bits"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// ctlPTX classifies a[i] with guarded branches, a loop, predicate logic
// and an early exit: 99 for 7 (exit), 1 for negatives, 2 for 0, else
// 10 + bit length, plus 100 when the bit length is odd.
const ctlPTX = header + `
.visible .entry ctl(.param .u64 pa, .param .u64 pout)
{
	.reg .pred %p<6>;
	.reg .b32 %r<10>;
	.reg .b64 %rd<6>;

	mov.u32 %r1, %tid.x;
	mul.wide.u32 %rd1, %r1, 4;
	ld.param.u64 %rd2, [pa];
	add.s64 %rd3, %rd2, %rd1;
	ld.global.s32 %r2, [%rd3];
	ld.param.u64 %rd4, [pout];
	add.s64 %rd5, %rd4, %rd1;
	setp.eq.s32 %p1, %r2, 7;
	@%p1 mov.u32 %r3, 99;
	@%p1 st.global.s32 [%rd5], %r3;
	@%p1 exit;
	setp.lt.s32 %p2, %r2, 0;
	@!%p2 bra $L_nonneg;
	mov.u32 %r3, 1;
	bra $L_out;
$L_nonneg:
	setp.ne.s32 %p3, %r2, 0;
	not.pred %p4, %p3;
	@%p4 mov.u32 %r3, 2;
	@%p4 bra.uni $L_out;
	mov.u32 %r4, 0;
$L_loop:
	shr.s32 %r2, %r2, 1;
	add.s32 %r4, %r4, 1;
	setp.gt.s32 %p5, %r2, 0;
	@%p5 bra $L_loop;
	add.s32 %r3, %r4, 10;
	and.b32 %r5, %r4, 1;
	setp.eq.u32 %p2, %r5, 1;
	xor.pred %p3, %p2, %p3;
	or.pred %p3, %p3, %p3;
	@!%p3 add.s32 %r3, %r3, 100;
$L_out:
	st.global.u32 [%rd5], %r3;
	ret;
}
`

func TestControlFlow(t *testing.T) {
	d := newDevice(t, ctlPTX)
	var in []int32
	for v := int32(-5); v < 300; v += 3 {
		in = append(in, v)
	}
	in = append(in, 7, 0, 1<<30, -1<<31, 0x7fffffff)
	ab, ob := upload(t, d, in), upload(t, d, make([]int32, len(in)))
	if err := d.Launch("ctl", device.D1(1), device.D1(len(in)), ab, ob); err != nil {
		t.Fatal(err)
	}
	got := download[int32](t, d, ob, len(in))
	for i, x := range in {
		var want int32
		switch {
		case x == 7:
			want = 99
		case x < 0:
			want = 1
		case x == 0:
			want = 2
		default:
			n := int32(bits.Len32(uint32(x)))
			want = 10 + n
			if n%2 == 1 {
				want += 100
			}
		}
		if got[i] != want {
			t.Errorf("ctl(%d) = %d, want %d", x, got[i], want)
		}
	}
}

// shPTX exercises shared addressing forms, the layout of two arrays, and
// the garbage pattern of never-written shared memory (refilled for each
// block): out[4t..4t+3] = buf[t+2], buf[0], buf[2], the address of buf.
const shPTX = header + `
.visible .entry sh(.param .u64 pout)
{
	.reg .pred %p<2>;
	.reg .b32 %r<12>;
	.reg .b64 %rd<6>;
	.shared .align 4 .b8 first[6];
	.shared .align 8 .b8 buf[520];

	mov.u32 %r1, %tid.x;
	shl.b32 %r2, %r1, 2;
	mov.u32 %r3, buf;
	add.s32 %r4, %r3, %r2;
	mul.lo.u32 %r5, %r1, 3;
	st.shared.u32 [%r4+4], %r5;
	bar.sync 0;
	ld.shared.u32 %r6, [%r4+8];
	ld.shared.b32 %r7, [buf];
	ld.shared.f32 %r8, [buf+8];
	bar.sync 0;
	setp.eq.u32 %p1, %r1, 0;
	@%p1 st.shared.b32 [buf], %r1;
	@%p1 st.shared.f32 [buf+-4], %r1;
	mov.u32 %r9, %ctaid.x;
	mov.u32 %r10, %ntid.x;
	mad.lo.u32 %r11, %r9, %r10, %r1;
	ld.param.u64 %rd1, [pout];
	mul.wide.u32 %rd2, %r11, 16;
	add.s64 %rd3, %rd1, %rd2;
	st.global.u32 [%rd3], %r6;
	st.global.b32 [%rd3+4], %r7;
	st.global.b32 [%rd3+8], %r8;
	st.global.u32 [%rd3+12], %r3;
	ret;
}
`

func TestSharedMemory(t *testing.T) {
	const block, grid = 128, 2
	d := newDevice(t, shPTX)
	ob := upload(t, d, make([]uint32, 4*block*grid))
	if err := d.Launch("sh", device.D1(grid), device.D1(block), ob); err != nil {
		t.Fatal(err)
	}
	got := download[uint32](t, d, ob, 4*block*grid)
	for g := range grid {
		for tid := range block {
			next := uint32(3 * (tid + 1))
			if tid == block-1 {
				next = garbage32 // buf[block+1] is never written
			}
			want := [4]uint32{next, garbage32, 3, 8}
			var have [4]uint32
			copy(have[:], got[4*(g*block+tid):])
			if have != want {
				t.Fatalf("block %d thread %d: got %#x, want %#x", g, tid, have, want)
			}
		}
	}
}

// exitBarPTX: odd threads exit at once; the even ones meet at two
// barriers (the exited ones do not hold them up) and each adds its
// even neighbour's value: out[t] = t + (t+2) for even t (wrapping).
const exitBarPTX = header + `
.visible .entry eb(.param .u64 pout)
{
	.reg .pred %p<3>;
	.reg .b32 %r<12>;
	.reg .b64 %rd<4>;
	.shared .align 4 .f32 v[64];

	mov.u32 %r1, %tid.x;
	and.b32 %r2, %r1, 1;
	setp.ne.u32 %p1, %r2, 0;
	@%p1 ret;
	shl.b32 %r3, %r1, 2;
	mov.u32 %r9, v;
	add.u32 %r3, %r3, %r9;
	st.shared.u32 [%r3], %r1;
	bar.sync 0;
	add.u32 %r4, %r1, 2;
	rem.u32 %r4, %r4, 64;
	shl.b32 %r5, %r4, 2;
	mov.u32 %r6, v;
	add.u32 %r5, %r5, %r6;
	ld.shared.u32 %r7, [%r5];
	bar.sync 0;
	add.u32 %r8, %r7, %r1;
	ld.param.u64 %rd1, [pout];
	mul.wide.u32 %rd2, %r1, 4;
	add.s64 %rd3, %rd1, %rd2;
	st.global.u32 [%rd3], %r8;
	ret;
}
`

func TestBarrierWithExitedThreads(t *testing.T) {
	d := newDevice(t, exitBarPTX)
	ob := upload(t, d, make([]uint32, 64))
	if err := d.Launch("eb", device.D1(1), device.D1(64), ob); err != nil {
		t.Fatal(err)
	}
	got := download[uint32](t, d, ob, 64)
	for tid := range 64 {
		want := uint32(0)
		if tid%2 == 0 {
			want = uint32(tid + (tid+2)%64)
		}
		if got[tid] != want {
			t.Errorf("out[%d] = %d, want %d", tid, got[tid], want)
		}
	}
}

// dimsPTX writes each thread's 12 special registers, for a 3-D grid.
const dimsPTX = header + `
.visible .entry dims(.param .u64 pout)
{
	.reg .b32 %r<24>;
	.reg .b64 %rd<4>;

	mov.u32 %r1, %tid.x;
	mov.u32 %r2, %tid.y;
	mov.u32 %r3, %tid.z;
	mov.u32 %r4, %ntid.x;
	mov.u32 %r5, %ntid.y;
	mov.u32 %r6, %ntid.z;
	mov.u32 %r7, %ctaid.x;
	mov.u32 %r8, %ctaid.y;
	mov.u32 %r9, %ctaid.z;
	mov.u32 %r10, %nctaid.x;
	mov.u32 %r11, %nctaid.y;
	mov.u32 %r12, %nctaid.z;
	// linear thread id = ((((cz*ny + cy)*nx + cx)*tz_n + tz)*ty_n + ty)*tx_n + tx
	mad.lo.u32 %r13, %r9, %r11, %r8;
	mad.lo.u32 %r13, %r13, %r10, %r7;
	mad.lo.u32 %r13, %r13, %r6, %r3;
	mad.lo.u32 %r13, %r13, %r5, %r2;
	mad.lo.u32 %r13, %r13, %r4, %r1;
	mul.lo.u32 %r14, %r13, 48;
	cvt.u64.u32 %rd1, %r14;
	ld.param.u64 %rd2, [pout];
	add.u64 %rd3, %rd2, %rd1;
	st.global.u32 [%rd3], %r1;
	st.global.u32 [%rd3+4], %r2;
	st.global.u32 [%rd3+8], %r3;
	st.global.u32 [%rd3+12], %r4;
	st.global.u32 [%rd3+16], %r5;
	st.global.u32 [%rd3+20], %r6;
	st.global.u32 [%rd3+24], %r7;
	st.global.u32 [%rd3+28], %r8;
	st.global.u32 [%rd3+32], %r9;
	st.global.u32 [%rd3+36], %r10;
	st.global.u32 [%rd3+40], %r11;
	st.global.u32 [%rd3+44], %r12;
	exit;
}
`

func TestSpecialRegisters(t *testing.T) {
	grid, block := device.Dim3{X: 3, Y: 2, Z: 2}, device.Dim3{X: 4, Y: 3, Z: 2}
	n := grid.Count() * block.Count()
	d := newDevice(t, dimsPTX)
	ob := upload(t, d, make([]uint32, 12*n))
	if err := d.Launch("dims", grid, block, ob); err != nil {
		t.Fatal(err)
	}
	got := download[uint32](t, d, ob, 12*n)
	i := 0
	for cz := range grid.Z {
		for cy := range grid.Y {
			for cx := range grid.X {
				for tz := range block.Z {
					for ty := range block.Y {
						for tx := range block.X {
							want := []uint32{uint32(tx), uint32(ty), uint32(tz), 4, 3, 2, uint32(cx), uint32(cy), uint32(cz), 3, 2, 2}
							for j, w := range want {
								if got[12*i+j] != w {
									t.Fatalf("thread %d (block %d,%d,%d thread %d,%d,%d) register %d = %d, want %d", i, cx, cy, cz, tx, ty, tz, j, got[12*i+j], w)
								}
							}
							i++
						}
					}
				}
			}
		}
	}
}
