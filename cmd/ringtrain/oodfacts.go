package main

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ringtrain/ringtrain/checkpoint"
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

// servingSamples are the training inputs of the job that trained the
// checkpoints arg holds (trainingJob: the manifest's record, else the run
// directory's job.yaml), for serve to compute the out-of-distribution
// statistics and threshold of each checkpoint it loads; nil for a file,
// for checkpoints of an unknown job, and (with a warning) when they cannot
// be read.
func servingSamples(g *globals, arg string, step int64) []float32 {
	src, runDir, err := modelSource(g, arg, step)
	if err != nil || src.Store == nil {
		return nil
	}
	var m checkpoint.Manifest
	if step > 0 {
		m, err = src.Store.Load(step)
	} else {
		m, _, err = src.Store.Latest()
	}
	if err != nil {
		return nil // serve's own load says why
	}
	var recorded []byte
	if m.Job != "" {
		recorded = []byte(m.Job)
	}
	b, _, err := trainingJob(runDir, recorded, m.JobHash)
	if err != nil {
		return nil
	}
	spec, err := job.Parse(b)
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
