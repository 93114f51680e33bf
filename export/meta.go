package export

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
)

// Metadata keys an export adds to checkpoint.ExportMeta's (docs/export.md).
const (
	KeyInputScale   = "input_scale"  // decimal: raw inputs are multiplied by it before the model
	KeyInputMin     = "input_min"    // decimal: the raw training inputs' smallest value
	KeyInputMax     = "input_max"    // decimal: and largest
	KeyClassNames   = "class_names"  // JSON array of strings, one per output
	KeyMetrics      = "metrics"      // JSON object of the run's final metrics
	KeyArchitecture = "architecture" // the model kind
	KeyLayers       = "layers"       // JSON array of Layer
	KeyInputShape   = "input_shape"  // JSON array: the per-sample input shape
	KeyLayout       = "layout"       // "ringtrain" or "torch"
	KeyTorchModule  = "torch_module" // torch layout: the module the tensors load into (a Python expression)
	KeyTorchClass   = "torch_class"  // torch layout of lstm, gru, transformer: the source of the module's class (TorchClass)
	// KeyInputStats: JSON serve.InputStats, the training inputs'
	// per-sample mean and standard deviation distribution (TrainingInputs).
	KeyInputStats = "input_stats"
	// KeyOODThreshold: decimal, the out-of-distribution score's threshold
	// (serve.CalibrateOOD: the 99.9th percentile of the training samples').
	KeyOODThreshold = "ood_threshold"
)

// Tensor layouts of a safetensors export.
const (
	LayoutNative = "ringtrain"
	LayoutTorch  = "torch"
)

// idxScale is the loader's scaling of IDX (and the embedded MNIST) pixels:
// v/255.
const idxScale = 1.0 / 255

// DataFacts are what the training data says about the inputs a model
// expects. A zero Scale means unknown (the key is left out).
type DataFacts struct {
	Scale      float64
	Min, Max   *float64 // the raw inputs' range, nil if unknown
	ClassNames []string // nil for language models (their vocabulary is in model_spec)
}

// FactsOf returns the data facts of a job: IDX, the embedded MNIST and
// image folders are bytes scaled by 1/255 on load (range 0..255); CSV and
// synthetic data are
// used as they are (scale 1; their range is the data's: TrainingRange);
// class names are "0".."C-1" (the labels are class ids) except for text
// (WithClassNames sets an image folder's, which the model spec records).
func FactsOf(spec job.Spec, classes int) DataFacts {
	var f DataFacts
	switch spec.Data.Source {
	case "", "default", "idx", "images":
		lo, hi := 0.0, 255.0
		f.Scale, f.Min, f.Max = idxScale, &lo, &hi
	case "csv", "synthetic":
		f.Scale = 1
	case "shards":
		if sf, ok := shardFacts(spec); ok && len(sf.ClassNames) == classes {
			return sf
		} else if ok {
			f.Scale, f.Min, f.Max = sf.Scale, sf.Min, sf.Max
		}
	}
	if !spec.Model.Sequence() {
		f.ClassNames = make([]string, classes)
		for i := range classes {
			f.ClassNames[i] = strconv.Itoa(i)
		}
	}
	return f
}

// WithClassNames returns f with the class names a model spec records
// (model.Spec.ClassNames: an image folder's class directories), if any.
func WithClassNames(f DataFacts, s model.Spec) DataFacts {
	if s.ClassNames != nil {
		f.ClassNames = s.ClassNames
	}
	return f
}

// AddFacts writes f's keys into meta.
func AddFacts(meta map[string]string, f DataFacts) error {
	if f.Scale != 0 {
		meta[KeyInputScale] = strconv.FormatFloat(f.Scale, 'g', -1, 64)
	}
	if f.Min != nil && f.Max != nil {
		meta[KeyInputMin] = strconv.FormatFloat(*f.Min, 'g', -1, 64)
		meta[KeyInputMax] = strconv.FormatFloat(*f.Max, 'g', -1, 64)
	}
	if f.ClassNames != nil {
		b, err := json.Marshal(f.ClassNames)
		if err != nil {
			return fmt.Errorf("export: class names: %w", err)
		}
		meta[KeyClassNames] = string(b)
	}
	return nil
}

// Layer is one layer of the "layers" metadata.
type Layer struct {
	Name       string `json:"name"`
	Op         string `json:"op"` // linear, conv2d, or the tensor group of other kinds
	In         int    `json:"in,omitempty"`
	Out        int    `json:"out,omitempty"`
	Kernel     int    `json:"kernel,omitempty"`
	Pad        int    `json:"pad,omitempty"`
	Activation string `json:"activation,omitempty"` // relu, or none for the output layer
	Pool       string `json:"pool,omitempty"`       // max2x2 (stride 2) after a conv
}

// Describe adds the architecture keys to meta: architecture (the kind),
// input_shape, and layers: for mlp and cnn each layer with its sizes and
// activation; for the other kinds one entry per tensor group (op "params").
func Describe(meta map[string]string, s model.Spec) error {
	layout, _, err := model.Layout(s)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	var layers []Layer
	if feedForward(s) == nil {
		for _, t := range layout {
			name, ok := strings.CutSuffix(t.Name, ".weight")
			if !ok {
				continue
			}
			if len(t.Shape) == 4 {
				l := Layer{Name: name, Op: "conv2d", In: t.Shape[1], Out: t.Shape[0], Kernel: t.Shape[2], Activation: "relu", Pool: "max2x2"}
				if name == "conv0" {
					l.Pad = cnnPad0
				}
				layers = append(layers, l)
				continue
			}
			layers = append(layers, Layer{Name: name, Op: "linear", In: t.Shape[0], Out: t.Shape[1], Activation: "relu"})
		}
		layers[len(layers)-1].Activation = "none"
	} else {
		for _, t := range layout {
			name := t.Name
			if i := strings.LastIndexByte(name, '.'); i > 0 {
				name = name[:i]
			}
			if len(layers) == 0 || layers[len(layers)-1].Name != name {
				layers = append(layers, Layer{Name: name, Op: "params"})
			}
		}
	}
	lb, err := json.Marshal(layers)
	if err != nil {
		return fmt.Errorf("export: layers: %w", err)
	}
	ib, err := json.Marshal(s.Input)
	if err != nil {
		return fmt.Errorf("export: input shape: %w", err)
	}
	meta[KeyArchitecture], meta[KeyLayers], meta[KeyInputShape] = s.Kind, string(lb), string(ib)
	return nil
}
