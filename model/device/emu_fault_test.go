package device_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// faultCase is a kernel launch with the element counts of its pointer
// arguments.
type faultCase struct {
	name   string
	sizes  []int
	launch func(d device.Device, v []device.Buffer) error
}

func faultCases() []faultCase {
	const m, n, k, pad = 5, 7, 9, 2
	var cs []faultCase
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			ar, ac, br, bc := m, k, k, n
			if ta {
				ar, ac = k, m
			}
			if tb {
				br, bc = n, k
			}
			lda, ldb, ldc := ac+pad, bc+pad, n+pad
			cs = append(cs, faultCase{
				name:  fmt.Sprintf("sgemm ta=%v tb=%v", ta, tb),
				sizes: []int{(ar-1)*lda + ac, (br-1)*ldb + bc, (m-1)*ldc + n},
				launch: func(d device.Device, v []device.Buffer) error {
					return device.Sgemm(d, ta, tb, m, n, k, 1, v[0], lda, v[1], ldb, 0, v[2], ldc)
				},
			})
		}
	}
	const rows, cols = 3, 300
	return append(cs,
		faultCase{"bias_act", []int{rows * cols, cols}, func(d device.Device, v []device.Buffer) error {
			return device.BiasAct(d, rows, cols, device.ActReLU, v[0], v[1])
		}},
		faultCase{"act_grad", []int{rows * cols, rows * cols}, func(d device.Device, v []device.Buffer) error {
			return device.ActGrad(d, rows*cols, device.ActReLU, v[0], v[1])
		}},
		faultCase{"col_sum", []int{rows * cols, cols}, func(d device.Device, v []device.Buffer) error {
			return device.ColSum(d, rows, cols, v[0], 1, 1, v[1])
		}},
		faultCase{"softmax_xent", []int{rows * cols, rows, rows * cols, rows, rows}, func(d device.Device, v []device.Buffer) error {
			return device.SoftmaxXent(d, rows, cols, v[0], v[1], 1, v[2], v[3], v[4])
		}},
		faultCase{"mse_loss", []int{rows * cols, rows, rows * cols, rows, rows}, func(d device.Device, v []device.Buffer) error {
			return device.MSELoss(d, rows, cols, v[0], v[1], 1, v[2], v[3], v[4])
		}},
	)
}

// TestEmuFaultsOnShortViews: every kernel runs with views of exactly the
// elements it touches, and faults (ErrFault, reported by Sync too) when
// any one of them is one element short, whether the view ends an
// allocation or not.
func TestEmuFaultsOnShortViews(t *testing.T) {
	for _, c := range faultCases() {
		for short := -1; short < len(c.sizes); short++ {
			for _, inside := range []bool{false, true} {
				d := device.NewEmu()
				views := make([]device.Buffer, len(c.sizes))
				for i, n := range c.sizes {
					if i == short {
						n--
					}
					extra := 0
					if inside {
						extra = 8 // the view is short, its allocation is not
					}
					b, err := d.Alloc(4 * (n + extra))
					if err != nil {
						t.Fatal(err)
					}
					views[i] = b.F32(0, n)
				}
				err := c.launch(d, views)
				switch {
				case short < 0 && err != nil:
					t.Errorf("%s with exact views: %v", c.name, err)
				case short >= 0 && !errors.Is(err, device.ErrFault):
					t.Errorf("%s with pointer %d one element short (inside an allocation: %v): %v, want ErrFault", c.name, short, inside, err)
				case short >= 0 && !errors.Is(d.Sync(), device.ErrFault):
					t.Errorf("%s: Sync after a fault says %v", c.name, d.Sync())
				}
			}
		}
	}
}

// TestEmuRejectsBadLaunches: unknown kernels, wrong argument counts and
// kinds, blocks a kernel does not support and sizes past 32 bits are
// ErrLaunch, not crashes.
func TestEmuRejectsBadLaunches(t *testing.T) {
	d := device.NewEmu()
	buf, err := d.Alloc(4096)
	if err != nil {
		t.Fatal(err)
	}
	i, f := device.I32(4), device.F32(1)
	rowArgs := []device.Arg{i, i, buf, buf, f, buf, buf, buf}
	for _, c := range []struct {
		name        string
		kernel      string
		grid, block device.Dim3
		args        []device.Arg
		typed       func() error
	}{
		{name: "unknown kernel", kernel: "nope", grid: device.D1(1), block: device.D1(1)},
		{name: "too few", kernel: "act_grad", grid: device.D1(1), block: device.D1(1), args: []device.Arg{i, i, buf}},
		{name: "F32 for I32", kernel: "act_grad", grid: device.D1(1), block: device.D1(1), args: []device.Arg{f, i, buf, buf}},
		{name: "I32 for a pointer", kernel: "act_grad", grid: device.D1(1), block: device.D1(1), args: []device.Arg{i, i, i, buf}},
		{name: "pointer for F32", kernel: "col_sum", grid: device.D1(1), block: device.D1(1), args: []device.Arg{i, i, buf, buf, f, buf}},
		{name: "nil", kernel: "act_grad", grid: device.D1(1), block: device.D1(1), args: []device.Arg{i, i, nil, buf}},
		{name: "sgemm block 8x8", kernel: "sgemm", grid: device.D1(1), block: device.D2(8, 8),
			args: []device.Arg{i, i, i, i, i, f, buf, i, buf, i, f, buf, i}},
		{name: "col_sum block 512", kernel: "col_sum", grid: device.D1(1), block: device.D1(512), args: []device.Arg{i, i, buf, f, f, buf}},
		{name: "softmax_xent block 64x2", kernel: "softmax_xent", grid: device.D1(1), block: device.D2(64, 2), args: rowArgs},
		{name: "mse_loss block 256", kernel: "mse_loss", grid: device.D1(1), block: device.D1(256), args: rowArgs},
		{name: "grid too large", kernel: "act_grad", grid: device.D2(1, 70000), block: device.D1(1), args: []device.Arg{i, i, buf, buf}},
		{name: "Sgemm M past 32 bits", typed: func() error { return device.Sgemm(d, false, false, 1<<31, 1, 1, 1, buf, 1, buf, 1, 0, buf, 1) }},
		{name: "BiasAct rows·cols past 32 bits", typed: func() error { return device.BiasAct(d, 1<<16, 1<<16, device.ActReLU, buf, buf) }},
		{name: "ActGrad n past 32 bits", typed: func() error { return device.ActGrad(d, 1<<32, device.ActReLU, buf, buf) }},
	} {
		var err error
		if c.typed != nil {
			err = c.typed()
		} else {
			err = d.Launch(c.kernel, c.grid, c.block, c.args...)
		}
		if !errors.Is(err, device.ErrLaunch) {
			t.Errorf("%s: %v, want ErrLaunch", c.name, err)
		}
	}
}
