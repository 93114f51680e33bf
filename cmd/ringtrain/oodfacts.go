package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"

	mexport "github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/serve"
)

// oodSampleLimit bounds the training samples the out-of-distribution
// statistics and threshold are computed on (evenly spaced over the
// training set; at 10,000 the 99.9th percentile is the 10th highest score).
const oodSampleLimit = 10000

// addOODFacts records in lm.meta the out-of-distribution statistics of the
// job's training inputs (input_stats) and the threshold of lm's model on
// them (ood_threshold). Language models have none.
func addOODFacts(lm *loadedModel, spec job.Spec) error {
	if lm.spec.Sequence() || lm.spec.Targets() != 1 {
		return nil
	}
	x, dim, err := mexport.TrainingInputs(spec, oodSampleLimit)
	if err != nil {
		return err
	}
	if dim != lm.spec.InputSize() {
		return fmt.Errorf("the job's training inputs have %d values, the model takes %d", dim, lm.spec.InputSize())
	}
	st, err := serve.FitInputStats(x, dim)
	if err != nil {
		return err
	}
	step, _ := strconv.ParseInt(lm.meta["step"], 10, 64)
	p, err := serve.NewPredictor(&serve.Snapshot{Spec: lm.spec, Params: lm.params, Meta: lm.meta, Step: step}, 0)
	if err != nil {
		return err
	}
	defer p.Close()
	t, err := serve.CalibrateOOD(p, st, x)
	if err != nil {
		return err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("input statistics: %w", err)
	}
	lm.meta[mexport.KeyInputStats] = string(b)
	lm.meta[mexport.KeyOODThreshold] = strconv.FormatFloat(t, 'g', 6, 64)
	return nil
}

// servingSamples are the training inputs of the run directory arg is (or
// holds the checkpoints of), for serve to compute the out-of-distribution
// statistics and threshold of each checkpoint it loads; nil for a file or
// a directory without job.yaml, and (with a warning) when they cannot be
// read.
func servingSamples(g *globals, arg string, step int64) []float32 {
	_, runDir, err := modelSource(g, arg, step)
	if err != nil || runDir == "" {
		return nil
	}
	spec, err := job.Load(filepath.Join(runDir, "job.yaml"))
	if err != nil || spec.Model.Sequence() {
		return nil
	}
	x, _, err := mexport.TrainingInputs(spec, oodSampleLimit)
	if err != nil {
		fmt.Fprintf(g.stderr, "warning: %v: no out-of-distribution score\n", err)
		return nil
	}
	return x
}
