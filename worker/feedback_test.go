package worker

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// Error feedback's property: over any number of steps, the sum of what was
// sent equals the sum of the gradients minus the final residual (up to the
// float32 rounding of g + residual), every sent value is exactly
// representable in the wire format, the own shard passes untouched, and the
// residual is at most half an ulp of the wire format.
func TestFeedbackConservesGradientMass(t *testing.T) {
	for _, c := range []allreduce.Compression{allreduce.CompressBF16, allreduce.CompressFP16} {
		t.Run(c.String(), func(t *testing.T) {
			const n, ownLo, ownHi, stepsN = 1000, 300, 500, 200
			rng := rand.New(rand.NewPCG(1, uint64(c)))
			f := newFeedback(c, n, ownLo, ownHi)
			sent, grads := make([]float64, n), make([]float64, n)
			var slack float64 // float32 rounding of g + residual, summed
			g := make([]float32, n)
			for range stepsN {
				for i := range g {
					g[i] = float32(rng.NormFloat64() * 0.01)
					grads[i] += float64(g[i])
					slack += math.Abs(float64(g[i])+float64(f.residual[i])) * 0x1p-24
				}
				orig := append([]float32(nil), g...)
				// Two buckets, as the overlap sends them.
				f.apply(g, 600, n)
				f.apply(g, 0, 600)
				for i := range g {
					sent[i] += float64(g[i])
					own := i >= ownLo && i < ownHi
					if !own && c.Round(g[i]) != g[i] {
						t.Fatalf("[%d] = %g is not a %v value", i, g[i], c)
					}
					if own && math.Float32bits(g[i]) != math.Float32bits(orig[i]) {
						t.Fatalf("own shard [%d] changed: %g -> %g", i, orig[i], g[i])
					}
				}
			}
			var lost float64
			for i := range n {
				if d := math.Abs(sent[i] - (grads[i] - float64(f.residual[i]))); d > slack {
					t.Fatalf("[%d]: sent %g, gradients %g, residual %g: off by %g > %g", i, sent[i], grads[i], f.residual[i], d, slack)
				}
				lost = max(lost, math.Abs(sent[i]-grads[i]))
			}
			// Without feedback the per-step rounding errors would add up; with
			// it only the last residual is missing.
			if lost > 0.01*0.5 || lost == 0 {
				t.Fatalf("largest |sent - gradients| over %d steps: %g", stepsN, lost)
			}
			t.Logf("largest |sum sent - sum gradients| after %d steps: %.3g", stepsN, lost)
		})
	}
}

func TestFeedbackDropsNonFiniteResidual(t *testing.T) {
	f := newFeedback(allreduce.CompressFP16, 3, 0, 0)
	g := []float32{float32(math.NaN()), float32(math.Inf(1)), 1e9}
	f.apply(g, 0, 3)
	for i, r := range f.residual[:2] {
		if r != 0 {
			t.Fatalf("residual[%d] = %g after a non-finite gradient, want 0", i, r)
		}
	}
	if g[2] != 65504 {
		t.Fatalf("fp16 1e9 sent as %g, want 65504 (saturated)", g[2])
	}
}

func TestCommConfigRejectsUnknownCompression(t *testing.T) {
	spec := testSpec("adamw")
	spec.Cluster.Compress = "fp8"
	if _, err := commConfig(spec); err == nil {
		t.Fatal("cluster.compress fp8 accepted")
	}
}

// Training with compressed gradients learns like float32 does, every rank
// ends with the same parameters, and two runs give the same bits.
func TestCompressedTrainingConvergesAndIsDeterministic(t *testing.T) {
	for _, c := range []string{"bf16", "fp16"} {
		t.Run(c, func(t *testing.T) {
			spec := testSpec("adamw")
			spec.Cluster.Compress = c
			a := train(t, spec, 3, steps(15))
			b := train(t, spec, 3, steps(15))
			testutil.RequireBitsEqual(t, "two compressed runs", a, b)
			plain := testSpec("adamw")
			ref := train(t, plain, 3, steps(15))
			d := relDiff(a, ref)
			t.Logf("relative parameter difference to float32 after 15 steps: %.2e", d)
			if d == 0 || d > 0.05 {
				t.Fatalf("relative difference to float32 %.2e: want (0, 0.05]", d)
			}

			spec.Train.Steps = 0
			spec.Train.Epochs = 2
			spec.Train.GlobalBatch = 64
			spec.Train.LR.Kind, spec.Train.LR.Base = "cosine", 0.003
			var acc float64
			train(t, spec, 2, func(ctx context.Context, tr *Trainer) error {
				sum, err := tr.Run(ctx, nil, nil)
				if err == nil && tr.rank == 0 {
					acc = sum.TestAccuracy
				}
				return err
			})
			if acc < 0.85 {
				t.Fatalf("%s: test accuracy %.3f after 2 epochs", c, acc)
			}
		})
	}
}
