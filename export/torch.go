package export

import (
	"fmt"
	"strings"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
)

// CNN geometry of model's LeNet-style kind (model.Layout documents it).
const (
	cnnKernel = 5
	cnnPad0   = 2
	cnnPool   = 2
)

// torchModule is one entry of the nn.Sequential a feed-forward spec maps
// to: its index, its source text, and the layout tensor prefix it takes
// its weight and bias from ("" for parameterless modules).
type torchModule struct {
	index  int
	source string
	from   string
}

// torchModules is the nn.Sequential of a mlp or cnn spec:
//
//	mlp: Flatten, then Linear (+ ReLU but after the last) per fc layer
//	cnn: Conv2d(C,6,5,padding=2), ReLU, MaxPool2d(2), Conv2d(6,16,5),
//	     ReLU, MaxPool2d(2), Flatten, then the fc layers as for mlp
func torchModules(s model.Spec, layout []model.Tensor) []torchModule {
	var mods []torchModule
	flat := false
	add := func(source, from string) {
		mods = append(mods, torchModule{index: len(mods), source: source, from: from})
	}
	for _, t := range layout {
		name, isWeight := strings.CutSuffix(t.Name, ".weight")
		if !isWeight {
			continue
		}
		switch {
		case strings.HasPrefix(name, "conv"):
			pad := ""
			if name == "conv0" {
				pad = fmt.Sprintf(", padding=%d", cnnPad0)
			}
			add(fmt.Sprintf("nn.Conv2d(%d, %d, %d%s)", t.Shape[1], t.Shape[0], t.Shape[2], pad), name)
			add("nn.ReLU()", "")
			add(fmt.Sprintf("nn.MaxPool2d(%d)", cnnPool), "")
		default: // fc<i>.weight [in, out]
			if !flat {
				add("nn.Flatten()", "")
				flat = true
			}
			add(fmt.Sprintf("nn.Linear(%d, %d)", t.Shape[0], t.Shape[1]), name)
			add("nn.ReLU()", "")
		}
	}
	return mods[:len(mods)-1] // no ReLU after the output layer
}

// TorchSequential is the PyTorch module (source text, with torch.nn
// imported as nn) whose state_dict Torch's tensors load into with
// strict=True, e.g. for mlp [784] hidden [256] classes 10:
// "nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))";
// for layers the nn.Sequential of its Net (torchLayersModule); for lstm
// and gru a RingtrainRNN(...) call, for transformer a RingtrainGPT(...)
// call (TorchClass defines them).
func TorchSequential(s model.Spec) (string, error) {
	if s.Kind == model.KindLayers || s.Kind == model.KindTransformer || recurrent(s) {
		layout, _, err := model.Layout(s)
		if err != nil {
			return "", fmt.Errorf("export: %w", err)
		}
		switch s.Kind {
		case model.KindLayers:
			return torchLayersModule(s, layout)
		case model.KindTransformer:
			return torchGPTModule(s), nil
		}
		return torchRNNModule(s), nil
	}
	if err := feedForward(s); err != nil {
		return "", err
	}
	layout, _, err := model.Layout(s)
	if err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	var src []string
	for _, m := range torchModules(s, layout) {
		src = append(src, m.source)
	}
	return "nn.Sequential(" + strings.Join(src, ", ") + ")", nil
}

// Torch returns m's tensors as the state_dict of TorchSequential(m.Spec):
// each parameterized module's "<index>.weight" and "<index>.bias"; Linear
// weights transposed to PyTorch's [out, in], Conv2d weights as they are
// ([out, in, kH, kW]); torchRNN, torchGPT and torchLayers say the other
// kinds' names.
func Torch(m Model) ([]checkpoint.ExportTensor, error) {
	switch {
	case recurrent(m.Spec):
		return torchRNN(m)
	case m.Spec.Kind == model.KindTransformer:
		return torchGPT(m)
	case m.Spec.Kind == model.KindLayers:
		return torchLayers(m)
	}
	if err := feedForward(m.Spec); err != nil {
		return nil, err
	}
	layout, err := m.layout()
	if err != nil {
		return nil, err
	}
	byName := make(map[string]model.Tensor, len(layout))
	for _, t := range layout {
		byName[t.Name] = t
	}
	var out []checkpoint.ExportTensor
	for _, mod := range torchModules(m.Spec, layout) {
		if mod.from == "" {
			continue
		}
		w, b := byName[mod.from+".weight"], byName[mod.from+".bias"]
		wt := checkpoint.ExportTensor{Name: fmt.Sprintf("%d.weight", mod.index), Shape: w.Shape, Data: m.tensor(w)}
		if len(w.Shape) == 2 { // Linear: [in, out] -> [out, in]
			wt.Shape = []int{w.Shape[1], w.Shape[0]}
			wt.Data = transpose(m.tensor(w), w.Shape[0], w.Shape[1])
		}
		out = append(out, wt, checkpoint.ExportTensor{Name: fmt.Sprintf("%d.bias", mod.index), Shape: b.Shape, Data: m.tensor(b)})
	}
	return out, nil
}

// TorchClass is the source of the class TorchSequential's module calls
// (the torch_class metadata): TorchRNNClass for lstm and gru,
// TorchGPTClass for transformer, "" for the kinds whose module is an
// nn.Sequential.
func TorchClass(s model.Spec) string {
	switch {
	case recurrent(s):
		return TorchRNNClass
	case s.Kind == model.KindTransformer:
		return TorchGPTClass
	}
	return ""
}

// Native returns m's tensors in ringtrain's own layout (model.Layout's
// names and shapes; fc weights [in, out]).
func Native(m Model) ([]checkpoint.ExportTensor, error) {
	layout, err := m.layout()
	if err != nil {
		return nil, err
	}
	out := make([]checkpoint.ExportTensor, len(layout))
	for i, t := range layout {
		out[i] = checkpoint.ExportTensor{Name: t.Name, Shape: t.Shape, Data: m.tensor(t)}
	}
	return out, nil
}
