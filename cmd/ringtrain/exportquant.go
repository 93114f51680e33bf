package main

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/ringtrain/ringtrain/checkpoint"
	mexport "github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/quant"
	"github.com/ringtrain/ringtrain/worker"
)

// quantizeInt8 is the --quantize value of an int8 export.
const quantizeInt8 = "int8"

// defaultCalibrationSamples is --calibration-samples' default: training
// inputs the activation scales are calibrated on.
const defaultCalibrationSamples = 500

// validateQuantize checks the --quantize flags.
func (f exportFlags) validateQuantize() error {
	switch {
	case f.quantize != "" && f.quantize != quantizeInt8:
		return fmt.Errorf("--quantize %q: want %s", f.quantize, quantizeInt8)
	case f.quantize != "" && f.layout != "ringtrain":
		return fmt.Errorf("--quantize %s writes ringtrain's layout (its I8 weights and scales load into no PyTorch module as they are): leave out --layout", f.quantize)
	case f.quantize != "" && f.calibration < 1:
		return fmt.Errorf("--calibration-samples %d: want >= 1", f.calibration)
	}
	return nil
}

// exportInt8 quantizes lm calibrated on its run's training inputs and
// writes the int8 file.
func exportInt8(g *globals, lm loadedModel, f exportFlags) error {
	calib, err := calibrationInputs(lm, f.calibration)
	if err != nil {
		return err
	}
	q, err := quant.Quantize(lm.spec, lm.params, calib)
	if err != nil {
		return err
	}
	if err := q.AddMeta(lm.meta); err != nil {
		return err
	}
	ts := q.Tensors()
	var body bytes.Buffer
	if f.format == formatONNX {
		return exportInt8ONNX(g, lm, q, f)
	}
	lm.meta[mexport.KeyLayout] = mexport.LayoutNative
	if err := checkpoint.WriteExport(&body, ts, lm.meta); err != nil {
		return err
	}
	if err := writeFileAtomic(f.out, body.Bytes(), privateFile); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "exported step %s (int8: %d tensors, %d parameters, calibrated on %d training samples) to %s (%d bytes)\n",
		lm.meta["step"], len(ts), len(lm.params), q.CalibrationSamples(), f.out, body.Len())
	return nil
}

// exportInt8ONNX writes q as an ONNX QDQ graph (export.ONNXInt8).
func exportInt8ONNX(g *globals, lm loadedModel, q *quant.Model, f exportFlags) error {
	scale := 1.0
	if s, ok := lm.meta[mexport.KeyInputScale]; ok {
		var err error
		if scale, err = strconv.ParseFloat(s, 64); err != nil {
			return fmt.Errorf("input_scale %q: %w", s, err)
		}
	}
	delete(lm.meta, mexport.KeyLayout)
	mp, err := mexport.ONNXInt8(mexport.Int8Model{Spec: lm.spec, Tensors: q.Tensors(), ActivationScales: q.ActivationScales()}, scale, lm.meta)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	if err := mexport.WriteONNX(&body, mp); err != nil {
		return err
	}
	if err := writeFileAtomic(f.out, body.Bytes(), privateFile); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "exported step %s (int8 ONNX opset %d, %d nodes, %d parameters, calibrated on %d training samples) to %s (%d bytes)\n",
		lm.meta["step"], mexport.OpsetVersion, len(mp.Graph.Node), len(lm.params), q.CalibrationSamples(), f.out, body.Len())
	return nil
}

// calibrationInputs returns up to n training inputs of the job that
// trained lm (trainingJob: the checkpoint's record, else its run
// directory's job.yaml), evenly spaced through the training set, as the
// model sees them (IDX pixels scaled as on load, then data.normalize's
// map, the stored one).
func calibrationInputs(lm loadedModel, n int) ([]float32, error) {
	b, path, err := trainingJob(lm.runDir, lm.job, lm.meta["job_hash"])
	if err != nil {
		return nil, fmt.Errorf("--quantize: no calibration data: %w (quantize from a run or checkpoint directory)", err)
	}
	spec, err := job.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, err := worker.LoadData(spec)
	if err != nil {
		return nil, fmt.Errorf("--quantize: the calibration data: %w", err)
	}
	if c.Shards != nil { // raw stored values, scaled as the workers scale them
		x, _, err := mexport.TrainingInputs(spec, n)
		if err != nil {
			return nil, fmt.Errorf("--quantize: the calibration data: %w", err)
		}
		for i, v := range x {
			x[i] = float32(float64(v) * c.Shards.Manifest.InputScale)
		}
		return x, nil
	}
	// The model saw its inputs normalized by the map its checkpoint
	// stored (input_normalization), not one fitted on the data now.
	stored, err := mexport.InputNorm(lm.meta, lm.spec)
	if err != nil {
		return nil, fmt.Errorf("--quantize: %w", err)
	}
	if _, err := c.UseNorm(stored); err != nil {
		return nil, fmt.Errorf("--quantize: %w", err)
	}
	train := c.Train
	if train == nil || train.N < 1 {
		return nil, fmt.Errorf("--quantize: %s: no labelled training samples to calibrate on", path)
	}
	if train.Dim != lm.spec.InputSize() {
		return nil, fmt.Errorf("--quantize: the training samples have %d values, the model takes %d", train.Dim, lm.spec.InputSize())
	}
	n = min(n, train.N)
	out := make([]float32, 0, n*train.Dim)
	for i := range n {
		j := i * train.N / n
		out = append(out, train.X[j*train.Dim:(j+1)*train.Dim]...)
	}
	return out, nil
}
