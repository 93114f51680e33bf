package ptxsim

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// faultPTX loads x[i + off] (off in elements) for every thread and
// stores it to y[i]; with shift it reads 2 bytes in (misaligned); with
// sh it accesses shared memory at a thread-dependent address.
const faultPTX = header + `
.visible .entry ld(.param .u64 px, .param .u64 py, .param .s32 off)
{
	.reg .b32 %r<6>;
	.reg .f32 %f<2>;
	.reg .b64 %rd<8>;

	ld.param.u64 %rd1, [px];
	ld.param.u64 %rd2, [py];
	ld.param.s32 %r1, [off];
	mov.u32 %r2, %tid.x;
	add.s32 %r3, %r2, %r1;
	mul.wide.s32 %rd3, %r3, 4;
	add.s64 %rd4, %rd1, %rd3;
	ld.global.f32 %f1, [%rd4];
	mul.wide.s32 %rd5, %r2, 4;
	add.s64 %rd6, %rd2, %rd5;
	st.global.f32 [%rd6], %f1;
	ret;
}

.visible .entry mis(.param .u64 px)
{
	.reg .b32 %r<2>;
	.reg .b64 %rd<2>;
	ld.param.u64 %rd1, [px];
	ld.global.u32 %r1, [%rd1+2];
	ret;
}

.visible .entry sh(.param .s32 off)
{
	.reg .b32 %r<4>;
	.shared .align 4 .f32 s[32];
	ld.param.s32 %r1, [off];
	mov.u32 %r2, %tid.x;
	shl.b32 %r2, %r2, 2;
	add.s32 %r2, %r2, %r1;
	st.shared.f32 [%r2], %r1;
	ret;
}
`

func TestFaults(t *testing.T) {
	cases := []struct {
		name   string
		launch func(d *Device, x, y device.Buffer) error
		want   []string // in the message
	}{
		{"load past the end", func(d *Device, x, y device.Buffer) error {
			return d.Launch("ld", device.D1(2), device.D1(32), x, y, device.I32(1))
		}, []string{"kernel ld", "block (0,0,0) thread (31,0,0)", at(faultPTX, "ld.global.f32 %f1"), "ld.global.f32", "past the end"}},
		{"load before the start", func(d *Device, x, y device.Buffer) error {
			return d.Launch("ld", device.D1(1), device.D1(4), x, y, device.I32(-1))
		}, []string{"thread (0,0,0)", at(faultPTX, "ld.global.f32 %f1")}},
		{"load far away", func(d *Device, x, y device.Buffer) error {
			return d.Launch("ld", device.D1(1), device.D1(4), x, y, device.I32(1<<30))
		}, []string{at(faultPTX, "ld.global.f32 %f1")}},
		{"store past the end", func(d *Device, x, y device.Buffer) error {
			return d.Launch("ld", device.D1(1), device.D1(33), x, y, device.I32(-1))
		}, []string{"thread (0,0,0)"}}, // x[-1] faults first
		{"misaligned", func(d *Device, x, y device.Buffer) error {
			return d.Launch("mis", device.D1(1), device.D1(1), x)
		}, []string{"kernel mis", "misaligned", at(faultPTX, "[%rd1+2]")}},
		{"shared past the end", func(d *Device, x, y device.Buffer) error {
			return d.Launch("sh", device.D1(3), device.D1(32), device.I32(4))
		}, []string{"kernel sh", "block (0,0,0) thread (31,0,0)", "shared", at(faultPTX, "st.shared.f32")}},
		{"shared negative", func(d *Device, x, y device.Buffer) error {
			return d.Launch("sh", device.D1(1), device.D1(32), device.I32(-4))
		}, []string{"thread (0,0,0)", "shared"}},
		{"shared misaligned", func(d *Device, x, y device.Buffer) error {
			return d.Launch("sh", device.D1(1), device.D1(1), device.I32(1))
		}, []string{"misaligned"}},
		{"freed buffer", func(d *Device, x, y device.Buffer) error {
			if err := d.Free(y); err != nil {
				return err
			}
			return d.Launch("ld", device.D1(1), device.D1(1), x, y, device.I32(0))
		}, []string{at(faultPTX, "st.global.f32"), "st.global.f32"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDevice(t, faultPTX)
			x, y := upload(t, d, make([]float32, 32)), upload(t, d, make([]float32, 32))
			err := tc.launch(d, x, y)
			if !errors.Is(err, device.ErrFault) {
				t.Fatalf("got %v, want an ErrFault", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not mention %q", err, w)
				}
			}
			if serr := d.Sync(); serr != err {
				t.Errorf("Sync = %v, want the launch's error", serr)
			}
		})
	}
	// An in-bounds launch of the same kernel does not fault.
	d := newDevice(t, faultPTX)
	x, y := upload(t, d, make([]float32, 32)), upload(t, d, make([]float32, 32))
	if err := d.Launch("ld", device.D1(1), device.D1(32), x, y, device.I32(0)); err != nil {
		t.Fatal(err)
	}
	if err := d.Launch("sh", device.D1(1), device.D1(32), device.I32(0)); err != nil {
		t.Fatal(err)
	}
}

// actGradPTX is an entry named like a kernel of the project's table,
// with the table's signature (n, act, y, dy).
const actGradPTX = header + `
.visible .entry act_grad(.param .u32 n, .param .u32 act, .param .u64 y, .param .u64 dy)
{
	ret;
}
`

func TestLaunchErrors(t *testing.T) {
	d := newDevice(t, vaddPTX+actGradPTX[len(header):])
	buf := upload(t, d, make([]float32, 8))
	ok := []device.Arg{device.I32(8), buf, buf, buf}
	cases := []struct {
		name        string
		kernel      string
		grid, block device.Dim3
		args        []device.Arg
	}{
		{"unknown kernel", "nope", device.D1(1), device.D1(1), ok},
		{"too few", "vadd", device.D1(1), device.D1(1), ok[:3]},
		{"too many", "vadd", device.D1(1), device.D1(1), append(ok[:4:4], buf)},
		{"F32 for I32", "vadd", device.D1(1), device.D1(1), []device.Arg{device.F32(8), buf, buf, buf}},
		{"I32 for Buffer", "vadd", device.D1(1), device.D1(1), []device.Arg{device.I32(8), device.I32(0), buf, buf}},
		{"nil arg", "vadd", device.D1(1), device.D1(1), []device.Arg{device.I32(8), nil, buf, buf}},
		{"block too big", "vadd", device.D1(1), device.D1(2048), ok},
		{"negative grid", "vadd", device.D1(-1), device.D1(1), ok},
		{"table kernel, wrong kinds", "act_grad", device.D1(1), device.D1(1), []device.Arg{device.I32(1), device.F32(0), buf, buf}},
		{"table kernel, wrong count", "act_grad", device.D1(1), device.D1(1), []device.Arg{device.I32(1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := d.Launch(tc.kernel, tc.grid, tc.block, tc.args...); !errors.Is(err, device.ErrLaunch) {
				t.Fatalf("got %v, want an ErrLaunch", err)
			}
		})
	}
	if err := d.Launch("act_grad", device.D1(1), device.D1(1), device.I32(1), device.I32(0), buf, buf); err != nil {
		t.Errorf("a correct launch of the table kernel: %v", err)
	}
	if err := d.Launch("vadd", device.D1(1), device.D1(8), ok...); err != nil {
		t.Errorf("a correct launch: %v", err)
	}
	if err := d.Sync(); !errors.Is(err, device.ErrLaunch) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Sync = %v, want the first failed launch's error", err)
	}
}

func TestTableSignatureChecked(t *testing.T) {
	bad := header + `
.visible .entry act_grad(.param .u32 n, .param .f32 act, .param .u64 y, .param .u64 dy)
{
	ret;
}
`
	_, err := New(device.Module{Name: "k.ptx", Source: bad})
	if !errors.Is(err, ErrPTX) || !strings.Contains(err.Error(), "k.ptx:5") || !strings.Contains(err.Error(), "act") {
		t.Errorf("got %v, want a signature mismatch at k.ptx:5", err)
	}
	short := strings.Replace(bad, ", .param .f32 act", "", 1)
	if _, err := New(device.Module{Name: "k.ptx", Source: short}); !errors.Is(err, ErrPTX) {
		t.Errorf("got %v, want a parameter count mismatch", err)
	}
}

func TestBudget(t *testing.T) {
	spin := header + `
.visible .entry spin(.param .u32 n)
{
	.reg .b32 %r<3>;
	.reg .pred %p<2>;
	ld.param.u32 %r1, [n];
	mov.u32 %r2, 0;
$L_top:
	add.u32 %r2, %r2, 1;
	setp.ne.u32 %p1, %r2, %r1;
	@%p1 bra $L_top;
	bar.sync 0;
$L_forever:
	bra.uni $L_forever;
}
`
	d := newDevice(t, spin)
	if err := d.SetBudget(0); !errors.Is(err, device.ErrDevice) {
		t.Errorf("SetBudget(0) = %v, want an error", err)
	}
	if err := d.SetBudget(10_000); err != nil {
		t.Fatal(err)
	}
	err := d.Launch("spin", device.D1(2), device.D1(4), device.I32(100))
	if !errors.Is(err, ErrBudget) || !strings.Contains(err.Error(), "spin") {
		t.Fatalf("got %v, want ErrBudget naming the kernel", err)
	}
	// Exactly 10000 instructions ran: the count stops at the budget.
	if got := d.Executed(); got != 10_000 {
		t.Errorf("Executed = %d, want 10000", got)
	}
}

func TestExecutedCount(t *testing.T) {
	d := newDevice(t, vaddPTX)
	buf := upload(t, d, make([]float32, 8))
	// 8 threads in bounds run 22 instructions each (the guarded bra not
	// taken), 24 out of bounds run 11 (the taken bra, ret).
	if err := d.Launch("vadd", device.D1(1), device.D1(32), device.I32(8), buf, buf, buf); err != nil {
		t.Fatal(err)
	}
	if got, want := d.Executed(), int64(8*22+24*11); got != want {
		t.Errorf("Executed = %d, want %d", got, want)
	}
}

func TestEmbeddedModules(t *testing.T) {
	mods, err := device.Modules()
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 {
		t.Fatal("no embedded modules")
	}
	d, err := New(mods...)
	if err != nil {
		t.Fatalf("New(device.Modules()...): %v", err)
	}
	// Every entry named like a table kernel has passed the signature
	// check in New; report which of the table's kernels exist yet.
	for _, k := range device.Kernels() {
		if _, ok := d.kernels[k.Name]; !ok {
			t.Logf("kernel %s has no PTX entry yet", k.Name)
		}
	}
}

func TestDuplicateEntry(t *testing.T) {
	_, err := New(device.Module{Name: "a.ptx", Source: vaddPTX}, device.Module{Name: "b.ptx", Source: vaddPTX})
	if !errors.Is(err, ErrPTX) || !strings.Contains(err.Error(), "b.ptx") || !strings.Contains(err.Error(), "a.ptx") {
		t.Errorf("got %v, want a duplicate entry error naming both modules", err)
	}
}

func TestMemory(t *testing.T) {
	d := newDevice(t, vaddPTX)
	b, err := d.Alloc(16)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CopyIn(b, make([]byte, 20)); !errors.Is(err, device.ErrFault) {
		t.Errorf("CopyIn past the end: %v", err)
	}
	if err := d.CopyOut(make([]byte, 20), b); !errors.Is(err, device.ErrFault) {
		t.Errorf("CopyOut past the end: %v", err)
	}
	if _, err := d.Alloc(0); !errors.Is(err, device.ErrDevice) {
		t.Errorf("Alloc(0): %v", err)
	}
	if err := d.Free(b); err != nil {
		t.Fatal(err)
	}
	if err := d.Free(b); !errors.Is(err, device.ErrFault) {
		t.Errorf("double Free: %v", err)
	}
	if d.Live() != 0 {
		t.Errorf("Live = %d", d.Live())
	}
	h, err := d.HostAlloc(10)
	if err != nil || len(h) != 10 {
		t.Errorf("HostAlloc: %v, %d bytes", err, len(h))
	}
	if err := d.HostFree(h); err != nil {
		t.Error(err)
	}
	if d.Name() != "ptxsim" || strings.Join(d.Entries(), ",") != "vadd" {
		t.Errorf("Name %q, Entries %v", d.Name(), d.Entries())
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
}
