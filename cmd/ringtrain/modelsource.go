package main

import (
	"fmt"
	"os"
	"path/filepath"

	mexport "github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
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

// loadSource is modelSource with, for a run's checkpoints, what the run's
// job says of its inputs and classes as default metadata (jobFacts, as
// export records them).
func loadSource(g *globals, arg string, step int64) (serve.Source, error) {
	src, runDir, err := modelSource(g, arg, step)
	if err != nil || runDir == "" {
		return src, err
	}
	spec, err := job.Load(filepath.Join(runDir, "job.yaml"))
	if err != nil {
		return src, nil // no job: the model's own metadata only
	}
	warn := func(err error) { fmt.Fprintln(g.stderr, "warning:", err) }
	var cached map[int]map[string]string // by class count: the facts of a csv job read its data
	src.Defaults = func(ms model.Spec) map[string]string {
		if m, ok := cached[ms.Classes]; ok {
			return m
		}
		meta := map[string]string{}
		if err := mexport.AddFacts(meta, jobFacts(spec, ms.Classes, warn)); err != nil {
			warn(err)
			return nil
		}
		cached = map[int]map[string]string{ms.Classes: meta}
		return meta
	}
	return src, nil
}

// jobFacts are the data facts of the job that trained a model with
// classes outputs: export's FactsOf, with a csv or synthetic job's input
// range from its training data (TrainingRange; a failure is warned of).
func jobFacts(spec job.Spec, classes int, warn func(error)) mexport.DataFacts {
	facts := mexport.FactsOf(spec, classes)
	if facts.Min == nil && (spec.Data.Source == "csv" || spec.Data.Source == "synthetic") {
		if lo, hi, err := mexport.TrainingRange(spec); err != nil {
			warn(fmt.Errorf("%w: input_min and input_max are not recorded", err))
		} else {
			facts.Min, facts.Max = &lo, &hi
		}
	}
	return facts
}
