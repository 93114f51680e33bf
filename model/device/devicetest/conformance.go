package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// guard is the number of float32 guard elements before and after every
// buffer a case hands a kernel.
const guard = 16

// buffer is one kernel argument's memory in a case.
type buffer struct {
	name string
	data []float32 // initial contents (int32 labels as their bits)
	// tol is nil for a buffer the kernel must not change; else, per
	// element, the largest allowed |device − emu|: 0 means bitwise equal
	// (or both NaN), a negative value that the element must keep its
	// initial value.
	tol []float64
}

// kcase is one launch of one kernel on one shape.
type kcase struct {
	kernel, shape string
	bufs          []*buffer
	launch        func(d device.Device, v []device.Buffer) error
}

// Conformance runs every kernel on d and on a fresh emulated device over
// the table of shapes and fails t where they disagree (see the package
// doc). d's memory is freed again.
func Conformance(t *testing.T, d device.Device) {
	t.Helper()
	emu := device.NewEmu()
	defer emu.Close()
	groups := []struct {
		kernel string
		cases  func() []kcase
	}{
		{"sgemm", sgemmCases},
		{"bias_act", biasActCases},
		{"act_grad", actGradCases},
		{"col_sum", colSumCases},
		{"softmax_xent", softmaxXentCases},
		{"mse_loss", mseLossCases},
		{"embed_gather", embedGatherCases},
		{"embed_grad", embedGradCases},
		{"seq_shift", seqShiftCases},
		{"lstm_step", lstmStepCases},
		{"lstm_step_back", lstmStepBackCases},
		{"gru_step", gruStepCases},
		{"gru_step_back", gruStepBackCases},
		{"tfm_embed", tfmEmbedCases},
		{"tfm_layernorm", tfmLayerNormCases},
		{"tfm_layernorm_dx", tfmLayerNormDxCases},
		{"tfm_layernorm_dwb", tfmLayerNormDwbCases},
		{"tfm_bias_gelu", tfmBiasGeluCases},
		{"tfm_gelu_grad", tfmGeluGradCases},
		{"tfm_causal_softmax", tfmCausalSoftmaxCases},
		{"tfm_causal_softmax_grad", tfmCausalSoftmaxGradCases},
		{"tfm_dropout", tfmDropoutCases},
		{"tfm_add", tfmAddCases},
		{"im2col", im2colCases},
		{"col2im", col2imCases},
		{"maxpool", maxpoolCases},
		{"maxpool_grad", maxpoolGradCases},
		{"chan_bias_act", chanBiasActCases},
		{"chan_sum", chanSumCases},
		{"swap01", swap01Cases},
		{"relu", reluCases},
		{"optim_sgd", optimSGDCases},
		{"optim_adam", optimAdamCases},
		{"optim_adagrad", optimAdagradCases},
		{"optim_rmsprop", optimRMSpropCases},
	}
	covered := map[string]bool{}
	for _, g := range groups {
		covered[g.kernel] = true
		t.Run(g.kernel, func(t *testing.T) {
			for _, c := range g.cases() {
				t.Run(c.shape, func(t *testing.T) { runCase(t, d, emu, c) })
			}
		})
	}
	for _, k := range device.Kernels() {
		if !covered[k.Name] {
			t.Errorf("kernel %s has no conformance cases", k.Name)
		}
	}
}

// run is a case's outcome on one device: every buffer's whole allocation
// (guards included) after the launch.
type run struct {
	name string
	mem  [][]float32
}

// runCase runs c on d and on emu and compares.
func runCase(t *testing.T, d, emu device.Device, c kcase) {
	t.Helper()
	got, err := launchOn(d, c)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", c.kernel, c.shape, d.Name(), err)
	}
	want, err := launchOn(emu, c)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", c.kernel, c.shape, emu.Name(), err)
	}
	for i, b := range c.bufs {
		for _, r := range []run{got, want} {
			checkGuards(t, c, b, r.name, r.mem[i])
		}
		if b.tol == nil {
			for _, r := range []run{got, want} {
				checkUnchanged(t, c, b, r.name, r.mem[i][guard:guard+len(b.data)])
			}
			continue
		}
		compare(t, c, b, d.Name(), got.mem[i][guard:guard+len(b.data)], want.mem[i][guard:guard+len(b.data)])
	}
}

// launchOn allocates c's buffers on d with their guard zones, launches c
// and reads every allocation back.
func launchOn(d device.Device, c kcase) (r run, err error) {
	r.name = d.Name()
	var allocs, views []device.Buffer
	defer func() {
		for i, a := range allocs {
			if ferr := d.Free(a); ferr != nil && err == nil {
				err = fmt.Errorf("free %s: %w", c.bufs[i].name, ferr)
			}
		}
	}()
	for i, b := range c.bufs {
		n := len(b.data)
		a, err := d.Alloc(4 * (n + 2*guard))
		if err != nil {
			return r, fmt.Errorf("alloc %s: %w", b.name, err)
		}
		allocs = append(allocs, a)
		init := make([]float32, n+2*guard)
		fillGuards(init, i)
		copy(init[guard:], b.data)
		if err := device.Upload(d, a, init); err != nil {
			return r, fmt.Errorf("upload %s: %w", b.name, err)
		}
		views = append(views, a.F32(guard, guard+n))
	}
	if err := c.launch(d, views); err != nil {
		return r, fmt.Errorf("launch: %w", err)
	}
	if err := d.Sync(); err != nil {
		return r, fmt.Errorf("sync: %w", err)
	}
	for i, a := range allocs {
		m := make([]float32, len(c.bufs[i].data)+2*guard)
		if err := device.Download(d, m, a); err != nil {
			return r, fmt.Errorf("download %s: %w", c.bufs[i].name, err)
		}
		r.mem = append(r.mem, m)
	}
	return r, nil
}

// fillGuards writes buffer i's guard pattern into the first and last
// guard elements of m: quiet NaNs with varied payloads and signs, so a
// kernel that reads a guard turns its result into NaN.
func fillGuards(m []float32, i int) {
	for g := range guard {
		bits := uint32(0x7FC00000) | uint32(0x1234*(g+1)+0x51*i)&0x3FFFFF
		if g%2 == 1 {
			bits |= 1 << 31
		}
		m[g] = math.Float32frombits(bits)
		m[len(m)-guard+g] = math.Float32frombits(bits ^ 0x155)
	}
}

// checkGuards fails t if dev wrote into b's guard zones.
func checkGuards(t *testing.T, c kcase, b *buffer, dev string, m []float32) {
	t.Helper()
	want := make([]float32, len(m))
	fillGuards(want, indexOf(c, b))
	n := len(b.data)
	for g := range 2 * guard {
		i := g
		if g >= guard {
			i = guard + n + g - guard
		}
		if math.Float32bits(m[i]) != math.Float32bits(want[i]) {
			where := fmt.Sprintf("%d before its start", guard-i)
			if i >= guard+n {
				where = fmt.Sprintf("%d past its end", i-guard-n)
			}
			t.Errorf("%s %s on %s: %s's guard zone (element %s) was written: %#08x", c.kernel, c.shape, dev, b.name, where, math.Float32bits(m[i]))
			return
		}
	}
}

func indexOf(c kcase, b *buffer) int {
	for i, x := range c.bufs {
		if x == b {
			return i
		}
	}
	return -1
}

// checkUnchanged fails t if dev changed input b.
func checkUnchanged(t *testing.T, c kcase, b *buffer, dev string, m []float32) {
	t.Helper()
	for i, v := range m {
		if math.Float32bits(v) != math.Float32bits(b.data[i]) {
			t.Errorf("%s %s on %s: input %s[%d] changed from %v to %v", c.kernel, c.shape, dev, b.name, i, b.data[i], v)
			return
		}
	}
}

// compare fails t where output b of device dev (got) and of the emulated
// device (want) differ by more than b's tolerance, naming the first
// mismatching index and the number of mismatches.
func compare(t *testing.T, c kcase, b *buffer, dev string, got, want []float32) {
	t.Helper()
	first, count := -1, 0
	var firstMsg string
	for i := range got {
		ok, msg := agree(got[i], want[i], b.data[i], b.tol[i])
		if ok {
			continue
		}
		if count++; first < 0 {
			first, firstMsg = i, msg
		}
	}
	if count > 0 {
		t.Errorf("%s %s on %s: %s[%d]: %s (%d of %d elements differ)", c.kernel, c.shape, dev, b.name, first, firstMsg, count, len(got))
	}
}

// agree reports whether d (the tested device) and e (the emulated
// device) agree for an element of initial value init and tolerance tol.
func agree(d, e, init float32, tol float64) (bool, string) {
	same := func(x, y float32) bool {
		return math.Float32bits(x) == math.Float32bits(y) || (x != x && y != y)
	}
	switch {
	case tol < 0:
		if same(d, init) && same(e, init) {
			return true, ""
		}
		return false, fmt.Sprintf("must keep its value %v, device %v, emu %v", init, d, e)
	case tol == 0:
		if same(d, e) {
			return true, ""
		}
		return false, fmt.Sprintf("device %v (%#08x), emu %v (%#08x), must be equal", d, math.Float32bits(d), e, math.Float32bits(e))
	}
	if same(d, e) || math.Abs(float64(d)-float64(e)) <= tol {
		return true, ""
	}
	return false, fmt.Sprintf("device %v, emu %v, |difference| %.3g > tolerance %.3g", d, e, math.Abs(float64(d)-float64(e)), tol)
}
