package ptxsim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// vaddPTX is c[i] = a[i] + b[i] for i < n, one thread per element, in
// the shape nvcc emits.
const vaddPTX = header + `
// vector add
.visible .entry vadd(
	.param .u32 vadd_param_0,
	.param .u64 vadd_param_1,
	.param .u64 vadd_param_2,
	.param .u64 vadd_param_3
)
{
	.reg .pred %p<2>;
	.reg .b32 %r<6>;
	.reg .f32 %f<4>;
	.reg .b64 %rd<11>;

	ld.param.u32 %r1, [vadd_param_0];
	ld.param.u64 %rd1, [vadd_param_1];
	ld.param.u64 %rd2, [vadd_param_2];
	ld.param.u64 %rd3, [vadd_param_3];
	mov.u32 %r2, %ctaid.x;
	mov.u32 %r3, %ntid.x;
	mov.u32 %r4, %tid.x;
	mad.lo.s32 %r5, %r2, %r3, %r4;
	setp.ge.s32 %p1, %r5, %r1;
	@%p1 bra $L__BB0_2;

	cvta.to.global.u64 %rd4, %rd1;
	cvta.to.global.u64 %rd5, %rd2;
	cvta.to.global.u64 %rd6, %rd3;
	mul.wide.s32 %rd7, %r5, 4;
	add.s64 %rd8, %rd4, %rd7;
	ld.global.f32 %f1, [%rd8];
	add.s64 %rd9, %rd5, %rd7;
	ld.global.f32 %f2, [%rd9];
	add.rn.f32 %f3, %f1, %f2;
	add.s64 %rd10, %rd6, %rd7;
	st.global.f32 [%rd10], %f3;

$L__BB0_2:
	ret;
}
`

// bsumPTX sums each block's ntid.x elements of x (0 past n) by a tree
// reduction in shared memory: out[ctaid.x] = Σ. Block size 256.
const bsumPTX = header + `
.visible .entry bsum(.param .u32 n, .param .u64 x, .param .u64 out)
{
	.reg .pred %p<4>;
	.reg .b32 %r<12>;
	.reg .f32 %f<5>;
	.reg .b64 %rd<8>;
	.shared .align 4 .f32 pad[3];
	.shared .align 16 .f32 sdata[256];

	ld.param.u32 %r1, [n];
	ld.param.u64 %rd1, [x];
	cvta.to.global.u64 %rd1, %rd1;
	mov.u32 %r2, %tid.x;
	mov.u32 %r3, %ctaid.x;
	mov.u32 %r4, %ntid.x;
	mad.lo.s32 %r5, %r3, %r4, %r2;
	mov.f32 %f1, 0f00000000;
	setp.ge.s32 %p1, %r5, %r1;
	@%p1 bra $L_store;
	mul.wide.s32 %rd2, %r5, 4;
	add.s64 %rd3, %rd1, %rd2;
	ld.global.f32 %f1, [%rd3];
$L_store:
	mov.u32 %r6, sdata;
	shl.b32 %r7, %r2, 2;
	add.s32 %r8, %r6, %r7;
	st.shared.f32 [%r8], %f1;
	bar.sync 0;
	shr.u32 %r9, %r4, 1;
$L_loop:
	setp.eq.s32 %p2, %r9, 0;
	@%p2 bra $L_done;
	setp.ge.u32 %p3, %r2, %r9;
	@%p3 bra $L_sync;
	shl.b32 %r10, %r9, 2;
	add.s32 %r11, %r8, %r10;
	ld.shared.f32 %f2, [%r11];
	ld.shared.f32 %f3, [%r8];
	add.f32 %f4, %f3, %f2;
	st.shared.f32 [%r8], %f4;
$L_sync:
	bar.sync 0;
	shr.u32 %r9, %r9, 1;
	bra.uni $L_loop;
$L_done:
	setp.ne.s32 %p1, %r2, 0;
	@%p1 bra $L_end;
	ld.shared.f32 %f2, [sdata];
	ld.param.u64 %rd4, [out];
	cvta.to.global.u64 %rd4, %rd4;
	mul.wide.u32 %rd5, %r3, 4;
	add.s64 %rd6, %rd4, %rd5;
	st.global.f32 [%rd6], %f2;
$L_end:
	ret;
}
`

// mmPTX is C = A·B (M×K times K×N, row-major) in 16×16 tiles staged in
// shared memory, one thread per element of C, block (16, 16).
const mmPTX = header + `
.visible .entry mm(.param .s32 pM, .param .s32 pN, .param .s32 pK, .param .u64 pA, .param .u64 pB, .param .u64 pC)
{
	.reg .pred %p<6>;
	.reg .b32 %r<28>;
	.reg .f32 %f<6>;
	.reg .b64 %rd<10>;
	.shared .align 4 .f32 As[256];
	.shared .align 4 .f32 Bs[256];

	ld.param.s32 %r1, [pM];
	ld.param.s32 %r2, [pN];
	ld.param.s32 %r3, [pK];
	ld.param.u64 %rd1, [pA];
	ld.param.u64 %rd2, [pB];
	ld.param.u64 %rd3, [pC];
	cvta.to.global.u64 %rd1, %rd1;
	cvta.to.global.u64 %rd2, %rd2;
	cvta.to.global.u64 %rd3, %rd3;
	mov.u32 %r4, %tid.x;
	mov.u32 %r5, %tid.y;
	mov.u32 %r6, %ctaid.x;
	mov.u32 %r7, %ctaid.y;
	shl.b32 %r8, %r7, 4;
	add.s32 %r8, %r8, %r5;         // row
	shl.b32 %r9, %r6, 4;
	add.s32 %r9, %r9, %r4;         // col
	shl.b32 %r10, %r5, 4;
	add.s32 %r10, %r10, %r4;
	shl.b32 %r10, %r10, 2;         // (ty*16+tx)*4
	mov.u32 %r11, As;
	add.s32 %r12, %r11, %r10;      // &As[ty][tx]
	mov.u32 %r13, Bs;
	add.s32 %r14, %r13, %r10;      // &Bs[ty][tx]
	shl.b32 %r15, %r5, 6;
	add.s32 %r15, %r11, %r15;      // &As[ty][0]
	shl.b32 %r16, %r4, 2;
	add.s32 %r16, %r13, %r16;      // &Bs[0][tx]
	mov.f32 %f1, 0f00000000;       // acc
	mov.u32 %r17, 0;               // t
	setp.lt.s32 %p1, %r8, %r1;     // row < M
	setp.lt.s32 %p2, %r9, %r2;     // col < N
$L_tile:
	setp.ge.s32 %p3, %r17, %r3;
	@%p3 bra $L_end;
	add.s32 %r18, %r17, %r4;       // t+tx
	setp.lt.s32 %p4, %r18, %r3;
	and.pred %p4, %p4, %p1;
	mov.f32 %f2, 0f00000000;
	@!%p4 bra $L_a0;
	mad.lo.s32 %r19, %r8, %r3, %r18;
	mul.wide.s32 %rd4, %r19, 4;
	add.s64 %rd5, %rd1, %rd4;
	ld.global.f32 %f2, [%rd5];
$L_a0:
	st.shared.f32 [%r12], %f2;
	add.s32 %r20, %r17, %r5;       // t+ty
	setp.lt.s32 %p5, %r20, %r3;
	and.pred %p5, %p5, %p2;
	mov.f32 %f3, 0f00000000;
	@%p5 mad.lo.s32 %r21, %r20, %r2, %r9;
	@%p5 mul.wide.s32 %rd6, %r21, 4;
	@%p5 add.s64 %rd7, %rd2, %rd6;
	@%p5 ld.global.f32 %f3, [%rd7];
	st.shared.f32 [%r14], %f3;
	bar.sync 0;
	mov.u32 %r22, 0;               // k
$L_k:
	shl.b32 %r23, %r22, 2;
	add.s32 %r24, %r15, %r23;
	ld.shared.f32 %f4, [%r24];
	shl.b32 %r25, %r22, 6;
	add.s32 %r26, %r16, %r25;
	ld.shared.f32 %f5, [%r26];
	fma.rn.f32 %f1, %f4, %f5, %f1;
	add.s32 %r22, %r22, 1;
	setp.lt.s32 %p3, %r22, 16;
	@%p3 bra $L_k;
	bar.sync 0;
	add.s32 %r17, %r17, 16;
	bra.uni $L_tile;
$L_end:
	and.pred %p1, %p1, %p2;
	@!%p1 bra $L_ret;
	mad.lo.s32 %r27, %r8, %r2, %r9;
	mul.wide.s32 %rd8, %r27, 4;
	add.s64 %rd9, %rd3, %rd8;
	st.global.f32 [%rd9], %f1;
$L_ret:
	ret;
}
`

func randF32s(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func TestVectorAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n, block int
	}{{1, 32}, {1000, 128}, {1024, 256}, {1025, 256}, {77, 1024}} {
		d := newDevice(t, vaddPTX)
		a, b := randF32s(r, tc.n), randF32s(r, tc.n)
		// c has one guard element past n: the bounds check must keep it.
		ab, bb := upload(t, d, a), upload(t, d, b)
		cb := upload(t, d, make([]float32, tc.n+1))
		grid := (tc.n + tc.block - 1) / tc.block
		if err := d.Launch("vadd", device.D1(grid), device.D1(tc.block), device.I32(tc.n), ab, bb, cb); err != nil {
			t.Fatalf("n=%d: %v", tc.n, err)
		}
		c := download[float32](t, d, cb, tc.n+1)
		for i := range tc.n {
			if c[i] != a[i]+b[i] {
				t.Fatalf("n=%d: c[%d] = %v, want %v", tc.n, i, c[i], a[i]+b[i])
			}
		}
		if c[tc.n] != 0 {
			t.Errorf("n=%d: the element past n was written: %v", tc.n, c[tc.n])
		}
		if err := d.Sync(); err != nil {
			t.Errorf("Sync: %v", err)
		}
	}
}

func TestBlockReduction(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const block = 256
	for _, n := range []int{1, 255, 256, 1000, 4096} {
		d := newDevice(t, bsumPTX)
		x := randF32s(r, n)
		grid := (n + block - 1) / block
		xb, ob := upload(t, d, x), upload(t, d, make([]float32, grid))
		if err := d.Launch("bsum", device.D1(grid), device.D1(block), device.I32(n), xb, ob); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		got := download[float32](t, d, ob, grid)
		for g := range grid {
			// The same tree in Go: the result is bit-exact.
			var buf [block]float32
			for i := range block {
				if j := g*block + i; j < n {
					buf[i] = x[j]
				}
			}
			for s := block / 2; s > 0; s /= 2 {
				for i := range s {
					buf[i] += buf[i+s]
				}
			}
			if got[g] != buf[0] {
				t.Errorf("n=%d block %d: sum %v, want %v", n, g, got[g], buf[0])
			}
		}
	}
}

func TestTiledMatmul(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct{ m, n, k int }{{37, 45, 29}, {16, 16, 16}, {1, 1, 1}, {17, 3, 33}, {5, 40, 1}} {
		d := newDevice(t, mmPTX)
		a, b := randF32s(r, tc.m*tc.k), randF32s(r, tc.k*tc.n)
		ab, bb := upload(t, d, a), upload(t, d, b)
		cb := upload(t, d, make([]float32, tc.m*tc.n))
		grid := device.D2((tc.n+15)/16, (tc.m+15)/16)
		if err := d.Launch("mm", grid, device.D2(16, 16), device.I32(tc.m), device.I32(tc.n), device.I32(tc.k), ab, bb, cb); err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		c := download[float32](t, d, cb, tc.m*tc.n)
		for i := range tc.m {
			for j := range tc.n {
				var want, mag float64
				for l := range tc.k {
					p := float64(a[i*tc.k+l]) * float64(b[l*tc.n+j])
					want += p
					mag += math.Abs(p)
				}
				if got := float64(c[i*tc.n+j]); math.Abs(got-want) > 1e-6*mag+1e-30 {
					t.Fatalf("%v: C[%d,%d] = %v, want %v", tc, i, j, got, want)
				}
			}
		}
	}
}
