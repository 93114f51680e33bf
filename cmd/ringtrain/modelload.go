package main

import (
	"fmt"
	"maps"
	"os"

	"github.com/ringtrain/ringtrain/model"
)

// loadedModel is a trained model as the tools read it from a run
// directory, a checkpoint directory or an exported file.
type loadedModel struct {
	spec   model.Spec
	params []float32         // in model.Layout(spec) order
	meta   map[string]string // the exported file's metadata, or checkpoint.ExportMeta of the checkpoint
	runDir string            // the run directory holding the checkpoints, "" if none
	job    []byte            // the job that trained, as the checkpoint records it (nil: unknown)
}

// loadModel reads the model spec, parameters and metadata from a run
// directory (its checkpoints/), a checkpoint directory (DIR/step-N, or
// step; 0: the latest) or a file written by ringtrain export in
// ringtrain's layout (modelSource; the loading is serve's).
func loadModel(g *globals, arg string, step int64) (loadedModel, error) {
	src, runDir, err := modelSource(g, arg, step)
	if err != nil {
		return loadedModel{}, err
	}
	snap, err := src.Load()
	if err != nil {
		return loadedModel{}, err
	}
	if snap.Quant != nil {
		return loadedModel{}, fmt.Errorf("%s: an int8-quantized export: it is read by serve and predict; export from the run directory or a float export", arg)
	}
	return loadedModel{spec: snap.Spec, params: snap.Params, meta: maps.Clone(snap.Meta), runDir: runDir, job: snap.Job}, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
