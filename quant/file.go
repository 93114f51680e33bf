package quant

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
)

// Metadata keys of an int8 export (docs/export.md).
const (
	KeyQuantization       = "quantization"              // "int8"
	KeyScheme             = "quant_scheme"              // Scheme
	KeyCalibrationSamples = "quant_calibration_samples" // decimal
	KeyActivationScales   = "quant_activation_scales"   // JSON object: layer name → its input's scale
)

// Int8 is the quantization metadata value of an int8 export.
const Int8 = "int8"

// Scheme is the quant_scheme metadata value: what the numbers mean.
const Scheme = "weights: symmetric int8 per output channel, scale max|w|/127 (NAME.weight_scale); " +
	"activations: symmetric int8 per tensor, static scale from calibration (quant_activation_scales); " +
	"int32 accumulation, y = sum*scale_w*scale_a + bias (float32)"

// scaleSuffix names a weight's per-channel scales: NAME.weight_scale.
const scaleSuffix = ".weight_scale"

// Tensors returns the file's tensors in model.Layout order: each quantized
// layer's NAME.weight as I8 in the layout's shape (linear [in, out],
// conv2d [out, C, k, k]) followed by NAME.weight_scale (F32 [out]), then
// its NAME.bias (F32).
func (m *Model) Tensors() []checkpoint.ExportTensor {
	var ts []checkpoint.ExportTensor
	for _, s := range m.steps {
		if !s.quantized() {
			continue
		}
		q := s.qw
		if s.op == opLinear {
			q = transpose(s.qw, s.channels(), s.fanIn)
		}
		ts = append(ts,
			checkpoint.ExportTensor{Name: s.name + ".weight", Shape: weightShape(s), I8: q},
			checkpoint.ExportTensor{Name: s.name + scaleSuffix, Shape: []int{s.channels()}, Data: slices.Clone(s.wScale)})
		if s.b != nil {
			ts = append(ts, checkpoint.ExportTensor{Name: s.name + ".bias", Shape: []int{s.channels()}, Data: slices.Clone(s.b)})
		}
	}
	return ts
}

// weightShape is the model.Layout shape of a quantized step's weight.
func weightShape(s *step) []int {
	if s.op == opLinear {
		return []int{s.fanIn, s.channels()}
	}
	return []int{s.channels(), s.in[0], s.k, s.k}
}

// AddMeta writes the quantization keys into meta, and num_params: the
// values the file holds (the model's parameters and the weight scales).
func (m *Model) AddMeta(meta map[string]string) error {
	b, err := json.Marshal(m.ActivationScales())
	if err != nil {
		return fmt.Errorf("quant: activation scales: %w", err)
	}
	n := 0
	for _, t := range m.Tensors() {
		n += len(t.Data) + len(t.I8)
	}
	meta[KeyQuantization], meta[KeyScheme] = Int8, Scheme
	meta[KeyCalibrationSamples] = strconv.Itoa(m.samples)
	meta[KeyActivationScales] = string(b)
	meta["num_params"] = strconv.Itoa(n)
	return nil
}

// Load returns the int8 model of an export written from Tensors and
// AddMeta, spec being its model_spec.
func Load(spec model.Spec, e *checkpoint.Exported) (*Model, error) {
	if q := e.Meta[KeyQuantization]; q != Int8 {
		return nil, fmt.Errorf("quant: metadata %s %q, want %q", KeyQuantization, q, Int8)
	}
	steps, err := planOf(spec)
	if err != nil {
		return nil, err
	}
	var scales map[string]float64
	if err := json.Unmarshal([]byte(e.Meta[KeyActivationScales]), &scales); err != nil {
		return nil, fmt.Errorf("quant: metadata %s: want a JSON object of numbers: %w", KeyActivationScales, err)
	}
	n, err := strconv.Atoi(e.Meta[KeyCalibrationSamples])
	if err != nil || n < 1 {
		return nil, fmt.Errorf("quant: metadata %s %q: want a count >= 1", KeyCalibrationSamples, e.Meta[KeyCalibrationSamples])
	}
	i8 := make(map[string]checkpoint.I8Tensor, len(e.I8))
	for _, t := range e.I8 {
		i8[t.Name] = t
	}
	f32 := make(map[string][]float32, len(e.Layout))
	for _, t := range e.Layout {
		f32[t.Name] = e.Params[t.Offset : t.Offset+size(t.Shape)]
	}
	layers, biases := 0, 0
	for _, s := range steps {
		if !s.quantized() {
			continue
		}
		if err := loadStep(s, i8, f32, scales); err != nil {
			return nil, err
		}
		layers++
		if s.b != nil {
			biases++
		}
	}
	if len(e.I8) != layers || len(e.Layout) != layers+biases || len(scales) != layers {
		return nil, fmt.Errorf("quant: the file holds %d I8 tensors, %d F32 tensors and %d activation scales; the int8 %s model has %d, %d and %d",
			len(e.I8), len(e.Layout), len(scales), spec.Kind, layers, layers+biases, layers)
	}
	return &Model{spec: spec, steps: steps, samples: n}, nil
}

// loadStep sets a quantized step's int8 weights, scales and bias from the
// file's tensors, checking names, shapes and that scales are finite and
// positive.
func loadStep(s *step, i8 map[string]checkpoint.I8Tensor, f32 map[string][]float32, scales map[string]float64) error {
	w, ok := i8[s.name+".weight"]
	if !ok || !slices.Equal(w.Shape, weightShape(s)) {
		return fmt.Errorf("quant: the file has no I8 tensor %s.weight of shape %v", s.name, weightShape(s))
	}
	s.qw = w.Data
	if s.op == opLinear {
		s.qw = transpose(w.Data, s.fanIn, s.channels())
	}
	s.prepare()
	ws, ok := f32[s.name+scaleSuffix]
	if !ok || len(ws) != s.channels() {
		return fmt.Errorf("quant: the file has no F32 tensor %s%s of shape [%d]", s.name, scaleSuffix, s.channels())
	}
	for o, v := range ws {
		if !positive(float64(v)) {
			return fmt.Errorf("quant: %s%s[%d] = %v: want a finite scale > 0", s.name, scaleSuffix, o, v)
		}
	}
	s.wScale = slices.Clone(ws)
	if s.hasBias {
		b, ok := f32[s.name+".bias"]
		if !ok || len(b) != s.channels() {
			return fmt.Errorf("quant: the file has no F32 tensor %s.bias of shape [%d]", s.name, s.channels())
		}
		s.b = slices.Clone(b)
	}
	a, ok := scales[s.name]
	if !ok || !positive(a) || !positive(float64(float32(a))) {
		return fmt.Errorf("quant: metadata %s: %s is %v: want a finite scale > 0", KeyActivationScales, s.name, a)
	}
	s.aScale = float32(a)
	return nil
}

// positive reports whether v is finite and > 0.
func positive(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
