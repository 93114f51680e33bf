package ptxsim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/model/device"
)

// loopPTX: each thread runs n iterations of a small arithmetic loop
// (integer, float, compare, branch) and stores the result.
const loopPTX = header + `
.visible .entry loop(.param .u32 n, .param .u64 out)
{
	.reg .pred %p<2>;
	.reg .b32 %r<6>;
	.reg .f32 %f<4>;
	.reg .b64 %rd<4>;

	ld.param.u32 %r1, [n];
	mov.u32 %r2, %tid.x;
	cvt.rn.f32.u32 %f1, %r2;
	mov.f32 %f2, 0f3F800000;
	mov.u32 %r3, 0;
$L_top:
	fma.rn.f32 %f2, %f2, 0f3F7FF000, %f1;
	mul.f32 %f3, %f2, 0f3A800000;
	add.f32 %f1, %f1, %f3;
	xor.b32 %r2, %r2, %r3;
	add.s32 %r3, %r3, 1;
	setp.lt.u32 %p1, %r3, %r1;
	@%p1 bra $L_top;
	ld.param.u64 %rd1, [out];
	mov.u32 %r4, %tid.x;
	mul.wide.u32 %rd2, %r4, 4;
	add.s64 %rd3, %rd1, %rd2;
	st.global.f32 [%rd3], %f1;
	ret;
}
`

// benchInstr runs launch b.N times and reports instructions per second.
func benchInstr(b *testing.B, d *Device, launch func() error) {
	b.ReportAllocs()
	start, t0 := d.Executed(), time.Now()
	for b.Loop() {
		if err := launch(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(d.Executed()-start)/time.Since(t0).Seconds(), "instr/s")
}

func BenchmarkLoop(b *testing.B) {
	d := newDevice(b, loopPTX)
	out := upload(b, d, make([]float32, 256))
	benchInstr(b, d, func() error {
		return d.Launch("loop", device.D1(1), device.D1(256), device.I32(1000), out)
	})
}

func BenchmarkTiledMatmul(b *testing.B) {
	d := newDevice(b, mmPTX)
	r := rand.New(rand.NewPCG(1, 1))
	const m, n, k = 64, 64, 64
	a, bb := upload(b, d, randF32s(r, m*k)), upload(b, d, randF32s(r, k*n))
	c := upload(b, d, make([]float32, m*n))
	benchInstr(b, d, func() error {
		return d.Launch("mm", device.D2(n/16, m/16), device.D2(16, 16), device.I32(m), device.I32(n), device.I32(k), a, bb, c)
	})
}

func BenchmarkVectorAdd(b *testing.B) {
	d := newDevice(b, vaddPTX)
	const n = 1 << 16
	x := upload(b, d, make([]float32, n))
	benchInstr(b, d, func() error {
		return d.Launch("vadd", device.D1(n/256), device.D1(256), device.I32(n), x, x, x)
	})
}
