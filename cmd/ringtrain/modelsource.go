package main

import (
	"fmt"
	"os"
	"path/filepath"

	mexport "github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/serve"
)

// modelSource is where sample, serve, predict and export read a model
// from: an exported file, or a run directory (its checkpoints/), a
// checkpoint directory (its latest checkpoint, or step) or DIR/step-N.
// runDir is the run directory holding the checkpoints ("" for a file or a
// bare checkpoint directory).
func modelSource(g *globals, arg string, step int64) (src serve.Source, runDir string, err error) {
	st, err := os.Stat(arg)
	if err != nil {
		return serve.Source{}, "", err
	}
	if st.Mode().IsRegular() {
		return serve.Source{File: arg}, "", nil
	}
	dir, s := splitStep(arg, step)
	if sub := filepath.Join(dir, "checkpoints"); isDir(sub) {
		runDir, dir = dir, sub // a run directory
	} else if parent := filepath.Dir(dir); filepath.Base(dir) == "checkpoints" && isFile(filepath.Join(parent, "job.yaml")) {
		runDir = parent // a run's checkpoint directory
	}
	store, err := openStore(g, dir)
	if err != nil {
		return serve.Source{}, "", err
	}
	warn := func(err error) { fmt.Fprintln(g.stderr, "warning:", err) }
	return serve.Source{Store: store, Step: s, Warn: warn}, runDir, nil
}

// loadSource is modelSource with, for checkpoints, what the job that
// trained them says of their inputs and classes as default metadata
// (trainingJob, jobFacts: as export records them). Without that job the
// model's own metadata is all there is: a warning says so once.
func loadSource(g *globals, arg string, step int64) (serve.Source, error) {
	src, runDir, err := modelSource(g, arg, step)
	if err != nil || src.Store == nil {
		return src, err
	}
	warn := func(err error) { fmt.Fprintln(g.stderr, "warning:", err) }
	type key struct {
		hash    string
		classes int
	}
	cache := map[key]map[string]string{} // a csv job's facts read its data: once per job and class count
	warned := false
	src.Defaults = func(snap *serve.Snapshot) map[string]string {
		b, from, err := trainingJob(runDir, snap.Job, snap.Meta["job_hash"])
		if err != nil {
			if !warned {
				warned = true
				warn(fmt.Errorf("%w: the input normalization and class names are unknown (raw inputs go to the model as they are; --input-scale sets the scale)", err))
			}
			return nil
		}
		k := key{job.Hash(b), snap.Spec.Classes}
		if m, ok := cache[k]; ok {
			return m
		}
		spec, err := job.Parse(b)
		if err != nil {
			warn(fmt.Errorf("%s: %w", from, err))
			return nil
		}
		meta := map[string]string{}
		if err := mexport.AddFacts(meta, mexport.WithClassNames(jobFacts(spec, snap.Spec.Classes, warn), snap.Spec)); err != nil {
			warn(err)
			return nil
		}
		cache[k] = meta
		return meta
	}
	return src, nil
}

// jobFacts are the data facts of the job that trained a model with
// classes outputs: export's FactsOf, with a csv or synthetic job's input
// range from its training data (TrainingRange; a failure is warned of).
func jobFacts(spec job.Spec, classes int, warn func(error)) mexport.DataFacts {
	facts := mexport.FactsOf(spec, classes)
	if spec.Data.Source == "shards" && facts.Scale == 0 {
		warn(fmt.Errorf("the shard manifest %s/shards.json cannot be read here: input_scale, input_min and input_max are not recorded", spec.Data.Path))
	}
	if facts.Min == nil && (spec.Data.Source == "csv" || spec.Data.Source == "synthetic") {
		if lo, hi, err := mexport.TrainingRange(spec); err != nil {
			warn(fmt.Errorf("%w: input_min and input_max are not recorded", err))
		} else {
			facts.Min, facts.Max = &lo, &hi
		}
	}
	return facts
}
