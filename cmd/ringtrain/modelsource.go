package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/serve"
)

// loadSource is where sample, serve and predict read a model from: an
// exported file, or a run directory (its checkpoints/), a checkpoint
// directory (its latest checkpoint, or step) or DIR/step-N.
func loadSource(g *globals, arg string, step int64) (serve.Source, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return serve.Source{}, err
	}
	if st.Mode().IsRegular() {
		return serve.Source{File: arg}, nil
	}
	dir, s := splitStep(arg, step)
	if sub := filepath.Join(dir, "checkpoints"); isDir(sub) {
		dir = sub // a run directory
	}
	store, err := openStore(g, dir)
	if err != nil {
		return serve.Source{}, err
	}
	warn := func(err error) { fmt.Fprintln(g.stderr, "warning:", err) }
	return serve.Source{Store: store, Step: s, Warn: warn, Defaults: runMeta(arg)}, nil
}

// runMeta is what the job of the run a checkpoint directory belongs to
// (RUN_DIR/job.yaml next to its checkpoints/) says of the inputs, as
// export metadata: IDX images (default, idx) are raw pixels 0-255 that the
// loader scaled by 1/255. Nil when unknown.
func runMeta(arg string) map[string]string {
	dir, _ := splitStep(arg, 0)
	for _, d := range []string{dir, filepath.Dir(dir)} {
		spec, err := job.Load(filepath.Join(d, "job.yaml"))
		if err != nil {
			continue
		}
		switch spec.Data.Source {
		case "", "default", "idx":
			return map[string]string{"input_scale": strconv.FormatFloat(1.0/255, 'g', -1, 64), "input_min": "0", "input_max": "255"}
		}
		return nil
	}
	return nil
}
