package quant

import (
	"fmt"
	"math"
	"slices"

	"github.com/ringtrain/ringtrain/model"
)

// maxRecorded bounds the input values recorded per layer during
// calibration (larger recordings are thinned evenly).
const maxRecorded = 1 << 22

// clipPercentiles are the candidate clips of an activation range besides
// its largest |x|: these percentiles of |x|.
var clipPercentiles = []float64{99.999, 99.99, 99.9}

// Quantize returns the int8 model of a float model (spec, params in
// model.Layout order) calibrated on the n samples of calib (n*InputSize
// model inputs, n >= 1): weights per output channel, activation scales
// from the float model's layer inputs on calib.
func Quantize(spec model.Spec, params, calib []float32) (*Model, error) {
	steps, err := planOf(spec)
	if err != nil {
		return nil, err
	}
	if err := bind(steps, spec, params); err != nil {
		return nil, err
	}
	in := spec.InputSize()
	if len(calib) == 0 || len(calib)%in != 0 {
		return nil, fmt.Errorf("quant: %d calibration values: want n >= 1 samples of %d", len(calib), in)
	}
	n := len(calib) / in
	m := &Model{spec: spec, steps: steps, samples: n}
	rec := make([][]float32, len(steps))
	every := make([]int, len(steps)) // record every k-th sample's input
	for i, s := range steps {
		if s.quantized() {
			quantizeWeights(s)
			every[i] = max(1, n*size(s.in)/maxRecorded)
		}
	}
	seen := make([]int, len(steps))
	_, err = m.forward(calib, false, func(i int, x []float32) {
		if seen[i]%every[i] == 0 {
			rec[i] = append(rec[i], x...)
		}
		seen[i]++
	})
	if err != nil {
		return nil, err
	}
	for i, s := range steps {
		if s.quantized() {
			s.aScale = float32(bestClip(rec[i]) / 127)
		}
	}
	return m, nil
}

// bestClip returns the clip c (the largest |x| or one of clipPercentiles
// of |x|) whose symmetric int8 quantization (scale c/127) of xs has the
// smallest squared error; 127 (scale 1) when every value is 0.
func bestClip(xs []float32) float64 {
	abs := make([]float64, 0, len(xs))
	for _, v := range xs {
		if a := math.Abs(float64(v)); !math.IsNaN(a) && !math.IsInf(a, 0) {
			abs = append(abs, a)
		}
	}
	slices.Sort(abs)
	if len(abs) == 0 || abs[len(abs)-1] == 0 {
		return 127
	}
	cands := []float64{abs[len(abs)-1]}
	for _, p := range clipPercentiles {
		if c := abs[int(float64(len(abs)-1)*p/100)]; c > 0 {
			cands = append(cands, c)
		}
	}
	best, bestErr := cands[0], math.Inf(1)
	for _, c := range cands {
		if e := quantError(abs, c); e < bestErr {
			best, bestErr = c, e
		}
	}
	return best
}

// quantError is the squared error of quantizing the values abs (|x|, >= 0)
// with clip c: round to the nearest step c/127, at most 127 steps.
func quantError(abs []float64, c float64) float64 {
	scale := c / 127
	var sum float64
	for _, a := range abs {
		q := math.Min(math.Round(a/scale), 127)
		d := a - q*scale
		sum += d * d
	}
	return sum
}
