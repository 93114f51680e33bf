package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/ringtrain/ringtrain/checkpoint"
	mexport "github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
)

// loadedModel is a trained model as the tools read it from a run
// directory, a checkpoint directory or an exported file.
type loadedModel struct {
	spec   model.Spec
	params []float32         // in model.Layout(spec) order
	meta   map[string]string // the exported file's metadata, or checkpoint.ExportMeta of the checkpoint
	runDir string            // the run directory holding the checkpoints, "" if none
}

// loadModel reads the model spec, parameters and metadata from a run
// directory (its checkpoints/), a checkpoint directory (DIR/step-N, or
// step; 0: the latest) or a file written by ringtrain export in
// ringtrain's layout.
func loadModel(g *globals, arg string, step int64) (loadedModel, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return loadedModel{}, err
	}
	var lm loadedModel
	var specJSON []byte
	var params []float32
	var layout []checkpoint.Tensor
	if st.Mode().IsRegular() {
		f, err := os.Open(arg)
		if err != nil {
			return loadedModel{}, err
		}
		defer f.Close()
		e, err := checkpoint.ReadExport(bufio.NewReaderSize(f, 1<<20), st.Size())
		if err != nil {
			return loadedModel{}, fmt.Errorf("%s: not a model file written by ringtrain checkpoint export or ringtrain export: %w", arg, err)
		}
		if specJSON = e.ModelSpec(); specJSON == nil {
			return loadedModel{}, fmt.Errorf("%s: the export has no model_spec metadata", arg)
		}
		if l := e.Meta[mexport.KeyLayout]; l != "" && l != mexport.LayoutNative {
			return loadedModel{}, fmt.Errorf("%s: an export in the %s layout: ringtrain reads its own (export without --layout)", arg, l)
		}
		params, layout, lm.meta = e.Params, e.Layout, e.Meta
	} else {
		dir, s := splitStep(arg, step)
		if sub := filepath.Join(dir, "checkpoints"); isDir(sub) {
			lm.runDir, dir = dir, sub // a run directory
		} else if parent := filepath.Dir(dir); filepath.Base(dir) == "checkpoints" && isFile(filepath.Join(parent, "job.yaml")) {
			lm.runDir = parent // a run's checkpoint directory
		}
		store, err := openStore(g, dir)
		if err != nil {
			return loadedModel{}, err
		}
		m, err := loadStep(g, store, s)
		if err != nil {
			return loadedModel{}, err
		}
		params = make([]float32, m.NumParams)
		if err := store.ReadInto(m, 0, params, nil); err != nil {
			return loadedModel{}, err
		}
		specJSON, layout, lm.meta = m.ModelSpec, m.Layout, checkpoint.ExportMeta(m)
	}
	lm.meta = maps.Clone(lm.meta)
	if err := json.Unmarshal(specJSON, &lm.spec); err != nil {
		return loadedModel{}, fmt.Errorf("%s: model spec: %w", arg, err)
	}
	want, total, err := model.Layout(lm.spec)
	if err != nil {
		return loadedModel{}, fmt.Errorf("%s: %w", arg, err)
	}
	if len(layout) != len(want) {
		return loadedModel{}, fmt.Errorf("%s: %d tensors, the model has %d", arg, len(layout), len(want))
	}
	lm.params = make([]float32, total)
	for i, t := range want {
		l := layout[i]
		if l.Name != t.Name || !slices.Equal(l.Shape, t.Shape) || l.Offset+t.Size() > len(params) {
			return loadedModel{}, fmt.Errorf("%s: tensor %d is %s %v, the model's is %s %v", arg, i, l.Name, l.Shape, t.Name, t.Shape)
		}
		copy(lm.params[t.Offset:t.Offset+t.Size()], params[l.Offset:l.Offset+t.Size()])
	}
	return lm, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
