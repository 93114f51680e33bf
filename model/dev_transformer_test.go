package model_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// devTfm is the small transformer of the device tests: context 8, embed
// 16, 2 layers of 2 heads, vocabulary 11.
var devTfm = model.Spec{Kind: model.KindTransformer, Input: []int{8}, Classes: 11, Embed: 16, Layers: 2, Heads: 2, Loss: model.LossXent}

var devTfmSpecs = []struct {
	name string
	spec model.Spec
}{
	{"plain", devTfm},
	{"bias", withBias(devTfm)},
	{"dropout", withDropout(devTfm, 0.1)},
	{"bias dropout", withBias(withDropout(devTfm, 0.1))},
}

// perturb adds N(0, 0.1²) to every parameter (LayerNorm weights and
// biases included), so that no gradient is trivially 0 or 1 and the
// biases matter.
func perturb(p []float32, seed uint64) {
	r := rng(seed)
	for i := range p {
		u1, u2 := float64(r.uniform())*0.5+0.5, float64(r.uniform())*0.5+0.5 // (0, 1]
		p[i] += float32(0.1 * math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2))
	}
}

// TestDeviceTransformerMatchesCPU: on the emulated device the
// transformer's loss and gradients over SGD steps (each with its own
// Pass.Seed, so dropout draws new masks), an accumulated pass, and its
// evaluation match the CPU engine's, with and without biases and dropout.
func TestDeviceTransformerMatchesCPU(t *testing.T) {
	const batch = 3
	for _, tc := range devTfmSpecs {
		t.Run(tc.name, func(t *testing.T) {
			cpu, dm := emuTwins(t, tc.spec, batch, 3)
			perturb(cpu.Params(), 4)
			copy(dm.Params(), cpu.Params())
			newMasks := func(i int) model.Pass { return model.Pass{Seed: uint64(77 + i)} } // dropout draws new masks
			worst := matchPasses(t, cpu, dm, passes{n: 3, seed: 10, pass: newMasks, sgd: true})
			x, y := tokenBatch(tc.spec, batch, 40)
			worst = math.Max(worst, matchPass(t, "accumulated pass", cpu, dm, x, y, model.Pass{Seed: 5, Accumulate: true, GradScale: 0.5}))
			t.Logf("largest gradient difference / largest gradient: %.3g", worst)
			matchEval(t, cpu, dm, 300, 99) // more than one eval chunk of 256
		})
	}
}

// TestDeviceTransformerDropoutMasks: with dropout the device's pass is a
// function of Pass.Seed (the same seed twice gives the same bits, another
// seed other gradients), so its masks are the CPU's (the gradients match
// the CPU's only if every mask does).
func TestDeviceTransformerDropoutMasks(t *testing.T) {
	spec := withDropout(devTfm, 0.3)
	dm := newDeviceModel(t, spec, 2, 1)
	x, y := tokenBatch(spec, 2, 3)
	run := func(seed uint64) []float32 {
		if _, err := dm.ForwardBackwardWith(x, y, model.Pass{Seed: seed}); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), dm.Grads()...)
	}
	a, b, c := run(1), run(1), run(2)
	if relErr(a, b) != 0 {
		t.Fatal("the same seed gave different gradients")
	}
	if relErr(a, c) == 0 {
		t.Fatal("another seed gave the same gradients")
	}
	cpu := newModel(t, spec, 2, 1)
	matchPass(t, "seed 2", cpu, dm, x, y, model.Pass{Seed: 2})
}

// TestDeviceTransformerRefusesBadTokens: a token id outside the
// vocabulary (or not an integer) is ErrInput before the device sees it.
func TestDeviceTransformerRefusesBadTokens(t *testing.T) {
	dm := newDeviceModel(t, devTfm, 2, 1)
	for _, bad := range []float32{-1, float32(devTfm.Classes), 2.5, float32(math.NaN())} {
		x, y := tokenBatch(devTfm, 2, 3)
		x[5] = bad
		if _, err := dm.ForwardBackwardWith(x, y, model.Pass{}); !errors.Is(err, model.ErrInput) {
			t.Errorf("token %v: ForwardBackward: %v, want ErrInput", bad, err)
		}
		if _, _, err := dm.Evaluate(x, y); !errors.Is(err, model.ErrInput) {
			t.Errorf("token %v: Evaluate: %v, want ErrInput", bad, err)
		}
	}
}

// TestDeviceTransformerHooks: with buckets, the transformer's parameters
// are copied after their WaitParams and each bucket's gradients are final
// at its GradReady, including the tied token embedding's (its gradient
// sums the head's and the embedding's).
func TestDeviceTransformerHooks(t *testing.T) {
	deviceHooks(t, withBias(withDropout(devTfm, 0.1)), 2, 0, 256, 4<<10)
}

// TestDeviceTransformerOnPTX: the transformer's training pass on the
// project's PTX (interpreted by ptxsim) matches the CPU model: loss and
// gradients of a plain and an accumulated pass with bias and dropout,
// and evaluation; the smallest transformer and the Emu tests' one.
func TestDeviceTransformerOnPTX(t *testing.T) {
	smallest := model.Spec{Kind: model.KindTransformer, Input: []int{4}, Classes: 5, Embed: 8, Layers: 1, Heads: 2, Bias: true, Dropout: 0.1, Loss: model.LossXent}
	for _, spec := range []model.Spec{smallest, withBias(withDropout(devTfm, 0.1))} {
		t.Run(fmt.Sprintf("context%d_embed%d_layers%d", spec.Input[0], spec.Embed, spec.Layers), func(t *testing.T) {
			cpu := newModel(t, spec, 2, 3)
			perturb(cpu.Params(), 6)
			dm := ptxTwin(t, cpu)
			newMasks := func(i int) model.Pass { p := accumulating(i); p.Seed = uint64(8 + i); return p }
			worst := matchPasses(t, cpu, dm, passes{n: 2, seed: 30, pass: newMasks})
			t.Logf("largest gradient difference / largest gradient: %.3g", worst)
			matchEval(t, cpu, dm, 7, 7)
		})
	}
}
