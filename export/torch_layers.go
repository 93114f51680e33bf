package export

import (
	"fmt"
	"strconv"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
)

// torchLayersModule is the nn.Sequential of a layers network: module i is
// Spec.Net[i] (so layers.<i>.weight is "<i>.weight"):
//
//	linear    nn.Linear(in, out[, bias=False])
//	conv2d    nn.Conv2d(in, out, kernel[, stride=s][, padding=p][, bias=False])
//	maxpool   nn.MaxPool2d(size[, stride=s])
//	relu, gelu, tanh, flatten: nn.ReLU(), nn.GELU(), nn.Tanh(), nn.Flatten()
//	dropout   nn.Dropout(p=p)
//	layernorm nn.LayerNorm(dim)
//	embedding nn.Embedding(vocab, out)
func torchLayersModule(s model.Spec, layout []model.Tensor) (string, error) {
	byName := make(map[string]model.Tensor, len(layout))
	for _, t := range layout {
		byName[t.Name] = t
	}
	src := "nn.Sequential("
	for i, l := range s.Net {
		w := byName[fmt.Sprintf("layers.%d.weight", i)]
		noBias := ""
		if l.NoBias {
			noBias = ", bias=False"
		}
		var mod string
		switch l.Type {
		case model.LayerLinear:
			mod = fmt.Sprintf("nn.Linear(%d, %d%s)", w.Shape[0], w.Shape[1], noBias)
		case model.LayerConv2D:
			opts := ""
			if l.Stride > 1 {
				opts += fmt.Sprintf(", stride=%d", l.Stride)
			}
			if l.Pad != 0 {
				opts += fmt.Sprintf(", padding=%d", l.Pad)
			}
			mod = fmt.Sprintf("nn.Conv2d(%d, %d, %d%s%s)", w.Shape[1], w.Shape[0], l.Kernel, opts, noBias)
		case model.LayerMaxPool:
			stride := ""
			if l.Stride != 0 && l.Stride != l.Size {
				stride = fmt.Sprintf(", stride=%d", l.Stride)
			}
			mod = fmt.Sprintf("nn.MaxPool2d(%d%s)", l.Size, stride)
		case model.LayerReLU:
			mod = "nn.ReLU()"
		case model.LayerGELU:
			mod = "nn.GELU()"
		case model.LayerTanh:
			mod = "nn.Tanh()"
		case model.LayerFlatten:
			mod = "nn.Flatten()"
		case model.LayerDropout:
			mod = "nn.Dropout(p=" + strconv.FormatFloat(l.P, 'g', -1, 64) + ")"
		case model.LayerLayerNorm:
			mod = fmt.Sprintf("nn.LayerNorm(%d)", w.Shape[0])
		case model.LayerEmbedding:
			mod = fmt.Sprintf("nn.Embedding(%d, %d)", l.Vocab, l.Out)
		default:
			return "", fmt.Errorf("export: torch layout: layers[%d]: no PyTorch module for layer type %q", i, l.Type)
		}
		if i > 0 {
			src += ", "
		}
		src += mod
	}
	return src + ")", nil
}

// torchLayers returns a layers network's tensors as the state_dict of its
// nn.Sequential: layers.<i>.weight and .bias as "<i>.weight" and
// "<i>.bias", linear weights transposed to PyTorch's [out, in], the others
// (conv2d [out, in, k, k], layernorm, embedding [vocab, out]) as they are.
func torchLayers(m Model) ([]checkpoint.ExportTensor, error) {
	layout, err := m.layout()
	if err != nil {
		return nil, err
	}
	out := make([]checkpoint.ExportTensor, 0, len(layout))
	for _, t := range layout {
		var i int
		var part string
		if _, err := fmt.Sscanf(t.Name, "layers.%d.%s", &i, &part); err != nil || i < 0 || i >= len(m.Spec.Net) {
			return nil, fmt.Errorf("export: torch layout: layout tensor %q is not layers.<i>.weight or .bias", t.Name)
		}
		et := checkpoint.ExportTensor{Name: fmt.Sprintf("%d.%s", i, part), Shape: t.Shape, Data: m.tensor(t)}
		if m.Spec.Net[i].Type == model.LayerLinear && part == "weight" {
			et.Shape = []int{t.Shape[1], t.Shape[0]}
			et.Data = transpose(m.tensor(t), t.Shape[0], t.Shape[1])
		}
		out = append(out, et)
	}
	return out, nil
}
