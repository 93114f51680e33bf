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
// for lstm and gru a RingtrainRNN(...) call (TorchRNNClass defines it).
func TorchSequential(s model.Spec) (string, error) {
	if recurrent(s) {
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
// ([out, in, kH, kW]).
func Torch(m Model) ([]checkpoint.ExportTensor, error) {
	if recurrent(m.Spec) {
		return torchRNN(m)
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
