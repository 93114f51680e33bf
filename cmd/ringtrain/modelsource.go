package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

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

// loadSource is modelSource with, for a run's checkpoints, what the run's
// job says of its inputs as default metadata (runMeta).
func loadSource(g *globals, arg string, step int64) (serve.Source, error) {
	src, runDir, err := modelSource(g, arg, step)
	if err != nil {
		return serve.Source{}, err
	}
	if runDir != "" {
		src.Defaults = runMeta(runDir)
	}
	return src, nil
}

// runMeta is what the job of a run (RUN_DIR/job.yaml) says of the inputs,
// as export metadata: IDX images (default, idx) are raw pixels 0-255 that
// the loader scaled by 1/255. Nil when unknown.
func runMeta(runDir string) map[string]string {
	spec, err := job.Load(filepath.Join(runDir, "job.yaml"))
	if err != nil {
		return nil
	}
	switch spec.Data.Source {
	case "", "default", "idx":
		return map[string]string{"input_scale": strconv.FormatFloat(1.0/255, 'g', -1, 64), "input_min": "0", "input_max": "255"}
	}
	return nil
}
