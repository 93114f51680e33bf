package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/quant"
)

// ErrLanguageModel is returned for a model that predicts text rather than
// classes: ringtrain sample generates from those.
var ErrLanguageModel = errors.New("a language model: serve and predict answer classifiers (mlp, cnn, layers); generate text with ringtrain sample")

// Info describes a served model version: what requests must look like and
// how raw inputs become model inputs.
type Info struct {
	Spec model.Spec
	// Version is the training step.
	Version int64
	// Scale multiplies every raw input value before the model (the
	// export's input_scale; 1 without it).
	Scale float32
	// Norm is the export's input_normalization (data.normalize), applied
	// per input value after Scale; nil without one.
	Norm *data.Norm
	// Min and Max are the raw training inputs' range (input_min,
	// input_max); HasRange is false without them.
	Min, Max float64
	HasRange bool
	// ClassNames are the export's class_names, or nil.
	ClassNames []string
	// Metrics is the export's metrics (a JSON object, e.g. the test
	// accuracy), or nil.
	Metrics json.RawMessage
}

// InputSize is the number of values of one instance.
func (in *Info) InputSize() int { return in.Spec.InputSize() }

// Classes is the number of outputs of one instance.
func (in *Info) Classes() int { return in.Spec.Classes }

// infoOf reads s's metadata; scale > 0 overrides input_scale.
func infoOf(s *Snapshot, scale float64) (*Info, error) {
	if s.Spec.Sequence() || s.Spec.Targets() != 1 {
		return nil, fmt.Errorf("serve: %s model: %w", s.Spec.Kind, ErrLanguageModel)
	}
	in := &Info{Spec: s.Spec, Version: s.Step, Scale: 1}
	if v, ok := s.Meta["input_scale"]; ok && scale <= 0 {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("serve: metadata input_scale %q: want a finite number > 0", v)
		}
		scale = f
	}
	if scale > 0 {
		in.Scale = float32(scale)
	}
	if v, ok := s.Meta["input_normalization"]; ok {
		n, err := data.ParseNorm([]byte(v), s.Spec.InputSize())
		if err != nil {
			return nil, fmt.Errorf("serve: metadata input_normalization: %w", err)
		}
		in.Norm = n
	}
	lo, hasLo := s.Meta["input_min"]
	hi, hasHi := s.Meta["input_max"]
	if hasLo && hasHi {
		a, err1 := strconv.ParseFloat(lo, 64)
		b, err2 := strconv.ParseFloat(hi, 64)
		if err1 != nil || err2 != nil || !(a <= b) {
			return nil, fmt.Errorf("serve: metadata input_min %q, input_max %q: want two numbers, min <= max", lo, hi)
		}
		in.Min, in.Max, in.HasRange = a, b, true
	}
	if v, ok := s.Meta["class_names"]; ok {
		if err := json.Unmarshal([]byte(v), &in.ClassNames); err != nil {
			return nil, fmt.Errorf("serve: metadata class_names: %w", err)
		}
		if len(in.ClassNames) != s.Spec.Classes {
			return nil, fmt.Errorf("serve: metadata class_names: %d names, the model has %d classes", len(in.ClassNames), s.Spec.Classes)
		}
	}
	if v, ok := s.Meta["metrics"]; ok {
		var obj map[string]any
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			return nil, fmt.Errorf("serve: metadata metrics: want a JSON object: %w", err)
		}
		in.Metrics = json.RawMessage(v)
	}
	return in, nil
}

// Predictor runs one model version on batches of raw inputs. It is not
// safe for concurrent use.
type Predictor struct {
	info *Info
	m    *model.Model
	q    *quant.Model // the int8 model instead of m (serve/int8.go)
	buf  []float32
}

// NewPredictor builds the model of s; scale > 0 overrides the export's
// input_scale. Language models are refused (ErrLanguageModel).
func NewPredictor(s *Snapshot, scale float64) (*Predictor, error) {
	info, err := infoOf(s, scale)
	if err != nil {
		return nil, err
	}
	if s.Quant != nil {
		return &Predictor{info: info, q: s.Quant}, nil
	}
	m, err := model.New(s.Spec, 1)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if len(s.Params) != len(m.Params()) {
		m.Close()
		return nil, fmt.Errorf("serve: %d parameters, the model has %d", len(s.Params), len(m.Params()))
	}
	copy(m.Params(), s.Params)
	return &Predictor{info: info, m: m}, nil
}

// Info describes the model.
func (p *Predictor) Info() *Info { return p.info }

// Predict returns the logits and softmax probabilities (n*Classes each) of
// n instances of raw inputs x (n*InputSize values): scaled by Scale, then
// normalized by Norm, as the model's training samples were.
func (p *Predictor) Predict(x []float32) (logits, probs []float32, err error) {
	in := x
	if p.info.Scale != 1 || p.info.Norm != nil {
		p.buf = append(p.buf[:0], x...)
		if p.info.Scale != 1 {
			for i := range p.buf {
				p.buf[i] *= p.info.Scale
			}
		}
		p.info.Norm.Apply(p.buf) // as training normalized its samples
		in = p.buf
	}
	logits, err = p.forward(in)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %w", err)
	}
	return logits, Softmax(logits, p.info.Classes()), nil
}

// Warm runs the forward pass once for every batch size up to maxRows
// that builds a graph of its own (powers of two, see model.Forward), so
// that no request pays for building one.
func (p *Predictor) Warm(maxRows int) error {
	if p.m == nil {
		return nil // the int8 path builds no graphs
	}
	in := p.info.InputSize()
	for n := 1; ; n *= 2 {
		k := min(n, maxRows, model.DefaultEvalChunk)
		if _, err := p.m.Forward(make([]float32, k*in)); err != nil {
			return fmt.Errorf("serve: warming up: %w", err)
		}
		if k >= maxRows || k >= model.DefaultEvalChunk {
			return nil
		}
	}
}

// Close releases the model.
func (p *Predictor) Close() error {
	if p.m == nil {
		return nil
	}
	return p.m.Close()
}

// Softmax returns the row-wise softmax of logits (rows of classes values),
// computed in float64.
func Softmax(logits []float32, classes int) []float32 {
	out := make([]float32, len(logits))
	for r := 0; r+classes <= len(logits); r += classes {
		row := logits[r : r+classes]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - mx)
		}
		for j, v := range row {
			out[r+j] = float32(math.Exp(float64(v)-mx) / sum)
		}
	}
	return out
}

// Argmax is the index of the first largest value of row.
func Argmax(row []float32) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}
