package export

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/data"
)

// Torch tensor names of the input normalization's buffers (torch layout of
// a model trained with data.normalize).
const (
	TorchInputShift  = "input_shift"
	TorchInputFactor = "input_factor"
)

// TorchNormalizedClass is the source of the module class of a model
// trained with data.normalize (torch_class): an nn.Sequential of the same
// modules, at the same indices (so the same tensor names), that first
// normalizes its input as training did, (x - input_shift) * input_factor
// in float32 per input value, the two buffers of the per-sample shape
// being in the state_dict. Like the nn.Sequential of a model without
// normalization, it takes the raw inputs times input_scale.
const TorchNormalizedClass = `import torch
from torch import nn


class RingtrainNormalized(nn.Sequential):
    """ringtrain's nn.Sequential for a model trained with data.normalize.

    Module i is the nn.Sequential's module i; the buffers input_shift and
    input_factor (the input_normalization metadata, of the per-sample
    shape) normalize the input, raw values times input_scale, first.
    """

    def __init__(self, *modules, shape):
        super().__init__(*modules)
        self.register_buffer("input_shift", torch.zeros(shape))
        self.register_buffer("input_factor", torch.ones(shape))

    def forward(self, x):
        return super().forward((x - self.input_shift) * self.input_factor)
`

// TorchLayout is m in the torch layout with meta's input normalization
// (input_normalization; none without): the tensors, the torch_module
// expression and the torch_class source ("" when none is needed). A model
// trained with data.normalize loads into RingtrainNormalized(<the
// nn.Sequential's modules>, shape=[input shape]) (TorchNormalizedClass),
// its tensors those of Torch plus input_shift and input_factor (meta's
// num_params, the values the file holds, grows by theirs); the others as
// TorchSequential, TorchClass and Torch say.
func TorchLayout(m Model, meta map[string]string) (ts []checkpoint.ExportTensor, module, class string, err error) {
	norm, err := InputNorm(meta, m.Spec)
	if err != nil {
		return nil, "", "", err
	}
	module, err = TorchSequential(m.Spec)
	if err != nil {
		return nil, "", "", err
	}
	if ts, err = Torch(m); err != nil {
		return nil, "", "", err
	}
	class = TorchClass(m.Spec)
	if norm == nil {
		return ts, module, class, nil
	}
	inner, ok := strings.CutPrefix(module, "nn.Sequential(")
	if !ok || class != "" {
		return nil, "", "", fmt.Errorf("export: torch layout: a %s model with %s: only a classifier's nn.Sequential normalizes its input", m.Spec.Kind, KeyInputNormalization)
	}
	shape := make([]string, len(m.Spec.Input))
	for i, s := range m.Spec.Input {
		shape[i] = strconv.Itoa(s)
	}
	module = "RingtrainNormalized(" + strings.TrimSuffix(inner, ")") + ", shape=[" + strings.Join(shape, ", ") + "])"
	if v, ok := meta["num_params"]; ok { // the values the file holds, as a quantized export counts its scales
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, "", "", fmt.Errorf("export: metadata num_params %q: %w", v, err)
		}
		meta["num_params"] = strconv.Itoa(n + 2*m.Spec.InputSize())
	}
	return append(ts, torchNormTensors(norm, m.Spec.Input)...), module, TorchNormalizedClass, nil
}

// torchNormTensors are n's buffers, of the per-sample shape.
func torchNormTensors(n *data.Norm, shape []int) []checkpoint.ExportTensor {
	return []checkpoint.ExportTensor{
		{Name: TorchInputShift, Shape: append([]int(nil), shape...), Data: append([]float32(nil), n.Shift...)},
		{Name: TorchInputFactor, Shape: append([]int(nil), shape...), Data: append([]float32(nil), n.Factor...)},
	}
}
