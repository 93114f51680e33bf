package worker

import (
	"fmt"
	"math"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/job"
)

// commConfig is the collectives' configuration for spec: the measured
// defaults and cluster.compress.
func commConfig(spec job.Spec) (allreduce.Config, error) {
	cfg := allreduce.DefaultConfig()
	c, err := allreduce.ParseCompression(spec.Cluster.Compress)
	if err != nil {
		return cfg, fmt.Errorf("cluster.compress: %w", err)
	}
	cfg.Compress = c
	return cfg, nil
}

// feedback is error feedback for a compressing reduce-scatter
// (cluster.compress): before a bucket's gradients go out, every value this
// rank will send is replaced by g' = g + residual rounded to the wire format,
// and residual = g' - round(g') keeps what the rounding lost for the next
// step. The sum over steps of what was sent is then the sum of the
// gradients minus the final residual: rounding delays gradient mass but
// does not drop it. Values of this rank's own shard never leave it as its
// own first hop (the owner adds them in float32 last), so they are left
// exact and their residual stays zero.
//
// The residual lives as long as the Trainer: one generation. A new
// generation (or a restore) starts from zero residual; it is not
// checkpointed.
type feedback struct {
	c            allreduce.Compression
	residual     []float32 // same layout as the gradient buffer
	ownLo, ownHi int
}

func newFeedback(c allreduce.Compression, n, ownLo, ownHi int) *feedback {
	return &feedback{c: c, residual: make([]float32, n), ownLo: ownLo, ownHi: ownHi}
}

// apply rounds g[lo:hi] (outside the own shard) with error feedback.
func (f *feedback) apply(g []float32, lo, hi int) {
	f.round(g, lo, min(hi, f.ownLo))
	f.round(g, max(lo, f.ownHi), hi)
}

func (f *feedback) round(g []float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		v := g[i] + f.residual[i]
		q := f.c.Round(v)
		r := v - q
		if math.IsNaN(float64(r)) || math.IsInf(float64(r), 0) {
			r = 0 // a non-finite gradient (a step every rank skips) must not poison later steps
		}
		g[i], f.residual[i] = q, r
	}
}
