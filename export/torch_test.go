package export_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
)

// torchFile writes m in the torch layout as ringtrain export does.
func torchFile(t *testing.T, m export.Model) []byte {
	t.Helper()
	return torchFileMeta(t, m, nil)
}

// torchFileMeta is torchFile with extra metadata (input_normalization).
func torchFileMeta(t *testing.T, m export.Model, extra map[string]string) []byte {
	t.Helper()
	spec, err := json.Marshal(m.Spec)
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{"format": "ringtrain.export.v1", "num_params": strconv.Itoa(len(m.Params)), "model_spec": string(spec),
		export.KeyLayout: export.LayoutTorch, export.KeyInputScale: strconv.FormatFloat(testScale, 'g', -1, 64)}
	for k, v := range extra {
		meta[k] = v
	}
	ts, mod, class, err := export.TorchLayout(m, meta)
	if err != nil {
		t.Fatal(err)
	}
	meta[export.KeyTorchModule] = mod
	if class != "" {
		meta[export.KeyTorchClass] = class
	}
	var b bytes.Buffer
	if err := checkpoint.WriteExport(&b, ts, meta); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestTorchLoadStateDict builds, in PyTorch, the nn.Sequential of each
// spec from its model_spec (testdata/torch_load.py, independently of the
// torch_module metadata, which it also checks), loads the torch-layout
// file with load_state_dict(strict=True) and compares its outputs on raw
// inputs times input_scale with ringtrain's. Skipped without torch (CI
// has none).
func TestTorchLoadStateDict(t *testing.T) {
	py := requirePython(t, "REQUIRE_TORCH", "torch", "numpy")
	for i, tc := range testSpecs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			em, rm := trained(t, tc.spec, uint64(i+1))
			file := writeFile(t, dir, "model.safetensors", torchFile(t, em))
			runScript(t, py, "torch_load.py", file, writeCase(t, dir, tc.spec, rm, uint64(300+i)))
		})
	}
	for i, tc := range rnnSpecs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			em, rm := trained(t, tc.spec, uint64(i+1))
			file := writeFile(t, dir, "model.safetensors", torchFile(t, em))
			toks := tokens(tc.spec, 3, uint64(600+i))
			b, err := json.Marshal(map[string]any{"input": tc.spec.Input, "x": toks, "tokens": true, "tolerance": tolerance,
				"want": reshape(nextLogits(t, rm, toks, tc.spec.Input[0]), tc.spec.Input[0], tc.spec.Classes)})
			if err != nil {
				t.Fatal(err)
			}
			runScript(t, py, "torch_load.py", file, writeFile(t, dir, "case.json", b))
		})
	}
}

// TestTorchTensors checks the torch layout's modules, names, shapes and
// values of every kind: Linear weights transposed to [out, in], the others
// (conv, embedding, LayerNorm) as they are.
func TestTorchTensors(t *testing.T) {
	tests := []struct {
		spec   model.Spec
		module string
		names  []string
	}{
		{testSpecs[0].spec, "nn.Sequential(nn.Flatten(), nn.Linear(36, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 5))",
			[]string{"1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"}},
		{testSpecs[1].spec, "nn.Sequential(nn.Flatten(), nn.Linear(10, 3))", []string{"1.weight", "1.bias"}},
		{testSpecs[2].spec, "nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 20), nn.ReLU(), nn.Linear(20, 4))",
			[]string{"0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight", "9.bias"}},
		{tfSpecs[1].spec, "RingtrainGPT(6, 5, 6, 1, 3, False)", []string{"tok.weight", "pos.weight",
			"blocks.0.ln1.weight", "blocks.0.attn.qkv.weight", "blocks.0.attn.proj.weight",
			"blocks.0.ln2.weight", "blocks.0.mlp.fc.weight", "blocks.0.mlp.proj.weight", "lnf.weight"}},
		{layersSpecs[0].spec, "nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1, bias=False), nn.GELU(), nn.MaxPool2d(2, stride=1), nn.LayerNorm(4), " +
			"nn.Conv2d(3, 4, 2), nn.ReLU(), nn.MaxPool2d(2), nn.Tanh(), nn.Flatten(), nn.Dropout(p=0.3), nn.Linear(8, 9), nn.ReLU(), nn.Linear(9, 4, bias=False))",
			[]string{"0.weight", "3.weight", "3.bias", "4.weight", "4.bias", "10.weight", "10.bias", "12.weight"}},
		{layersSpecs[1].spec, "nn.Sequential(nn.Embedding(9, 4), nn.LayerNorm(4), nn.GELU(), nn.Flatten(), nn.Linear(20, 3), nn.Dropout(p=0.1))",
			[]string{"0.weight", "1.weight", "1.bias", "4.weight", "4.bias"}},
	}
	for i, tc := range tests {
		em, _ := trained(t, tc.spec, uint64(i+1))
		mod, err := export.TorchSequential(tc.spec)
		if err != nil || mod != tc.module {
			t.Errorf("%s: module %q, %v; want %q", tc.spec.Kind, mod, err, tc.module)
		}
		ts, err := export.Torch(em)
		if err != nil {
			t.Fatal(err)
		}
		native, err := export.Native(em)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for j, tt := range ts {
			names = append(names, tt.Name)
			nt := native[j] // the same order
			// a layers net's leading embedding (layers.0) is [vocab, embed] in both
			linear := len(nt.Shape) == 2 && nt.Name != "tok.weight" && nt.Name != "pos.weight" && nt.Name != "layers.0.weight"
			if !linear {
				if !slices.Equal(tt.Shape, nt.Shape) || !slices.Equal(tt.Data, nt.Data) {
					t.Errorf("%s %s: %v, want %s's %v unchanged", tc.spec.Kind, tt.Name, tt.Shape, nt.Name, nt.Shape)
				}
				continue
			}
			in, out := nt.Shape[0], nt.Shape[1]
			if !slices.Equal(tt.Shape, []int{out, in}) {
				t.Fatalf("%s %s: shape %v, want [%d, %d]", tc.spec.Kind, tt.Name, tt.Shape, out, in)
			}
			for r := range in {
				for c := range out {
					if tt.Data[c*in+r] != nt.Data[r*out+c] {
						t.Fatalf("%s %s[%d][%d] = %v, want %s[%d][%d] = %v", tc.spec.Kind, tt.Name, c, r, tt.Data[c*in+r], nt.Name, r, c, nt.Data[r*out+c])
					}
				}
			}
		}
		if !slices.Equal(names, tc.names) {
			t.Errorf("%s: names %v, want %v", tc.spec.Kind, names, tc.names)
		}
	}
}

// TestUnsupportedKinds: the torch layout and ONNX name the kinds they
// cover instead of writing something wrong, and refuse a model whose
// parameters do not fit its spec.
func TestUnsupportedKinds(t *testing.T) {
	spec := model.Spec{Kind: model.KindLSTM, Input: []int{8}, Classes: 5, Embed: 4, Hidden: []int{6}, Loss: model.LossXent}
	_, total, err := model.Layout(spec)
	if err != nil {
		t.Fatal(err)
	}
	m := export.Model{Spec: spec, Params: make([]float32, total)}
	if _, err := export.Torch(m); err != nil {
		t.Errorf("Torch of an lstm: %v", err)
	}
	tfm := model.Spec{Kind: model.KindTransformer, Input: []int{8}, Classes: 5, Embed: 4, Layers: 1, Heads: 2, Loss: model.LossXent}
	_, total, err = model.Layout(tfm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := export.Torch(export.Model{Spec: tfm, Params: make([]float32, total-1)}); err == nil {
		t.Error("Torch of a transformer with a parameter missing: no error")
	}
	if _, err := export.Torch(export.Model{Spec: model.Spec{Kind: "rnn", Input: []int{3}, Classes: 2}}); err == nil ||
		!strings.Contains(err.Error(), "the torch layout covers the mlp, cnn, layers, lstm, gru and transformer kinds") {
		t.Errorf("Torch of an unknown kind: %v, want the kinds it covers", err)
	}
	if _, err := export.TorchSequential(model.Spec{Kind: model.KindLayers, Input: []int{3}, Classes: 2}); err == nil {
		t.Error("TorchSequential of a layers spec without layers: no error")
	}
	if _, err := export.ONNX(export.Model{Spec: tfm, Params: make([]float32, total-1)}, 1, nil); err == nil {
		t.Error("ONNX of a transformer with a parameter missing: no error")
	}
	if _, err := export.ONNX(export.Model{Spec: model.Spec{Kind: "rnn", Input: []int{3}, Classes: 2}}, 1, nil); err == nil ||
		!strings.Contains(err.Error(), "ONNX covers the mlp, cnn, layers, lstm, gru and transformer kinds") {
		t.Errorf("ONNX of an unknown kind: %v, want the kinds it covers", err)
	}
	em, _ := trained(t, testSpecs[0].spec, 1)
	if _, err := export.ONNX(em, 0, nil); err == nil {
		t.Error("ONNX with input scale 0: no error")
	}
	em.Params = em.Params[1:]
	if _, err := export.ONNX(em, 1, nil); err == nil {
		t.Error("ONNX with a parameter missing: no error")
	}
}

// A model trained with data.normalize exports, in the torch layout, into
// RingtrainNormalized: the nn.Sequential's modules at the same indices
// and the map's buffers, so PyTorch on raw inputs times input_scale gives
// ringtrain's outputs on the normalized inputs (torch_load.py builds its
// own module, normalizing with the metadata's map, and checks the
// buffers against it). Skipped without torch.
func TestTorchNormalization(t *testing.T) {
	specs := append(testSpecs[:len(testSpecs):len(testSpecs)], struct {
		name string
		spec model.Spec
	}{"layers", model.Spec{Kind: model.KindLayers, Input: []int{1, 8, 8}, Classes: 3, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerConv2D, Out: 4, Kernel: 3, Pad: 1}, {Type: model.LayerReLU}, {Type: model.LayerFlatten}, {Type: model.LayerLinear, Out: 3}}}})
	for i, tc := range specs {
		t.Run(tc.name, func(t *testing.T) {
			em, rm := trained(t, tc.spec, uint64(i+1))
			norm := testNorm(tc.spec, uint64(70+i))
			meta := normMeta(t, norm)
			ts, mod, class, err := export.TorchLayout(em, meta)
			if err != nil {
				t.Fatal(err)
			}
			plainTS, err := export.Torch(em)
			if err != nil {
				t.Fatal(err)
			}
			seq, err := export.TorchSequential(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			shape := strings.Trim(strings.ReplaceAll(fmt.Sprint(tc.spec.Input), " ", ", "), "[]")
			if want := "RingtrainNormalized(" + strings.TrimSuffix(strings.TrimPrefix(seq, "nn.Sequential("), ")") + ", shape=[" + shape + "])"; mod != want || class != export.TorchNormalizedClass {
				t.Fatalf("module %s, want %s", mod, want)
			}
			if len(ts) != len(plainTS)+2 || ts[len(ts)-2].Name != export.TorchInputShift || ts[len(ts)-1].Name != export.TorchInputFactor ||
				!slices.Equal(ts[len(ts)-1].Data, norm.Factor) || !slices.Equal(ts[len(ts)-2].Shape, tc.spec.Input) {
				t.Fatalf("tensors %d (%d without the map), last %s %v", len(ts), len(plainTS), ts[len(ts)-1].Name, ts[len(ts)-1].Shape)
			}
			x := rawInputs(tc.spec, 8, uint64(500+i))
			want, plain := normalizedLogSoftmax(t, rm, norm, x), referenceLogSoftmax(t, rm, x)
			differs := false
			for s := range want {
				for c := range want[s] {
					differs = differs || math.Abs(want[s][c]-plain[s][c]) > 1e-4
				}
			}
			if !differs {
				t.Fatal("the normalization changed nothing: the test proves nothing")
			}
			py := requirePython(t, "REQUIRE_TORCH", "torch", "numpy")
			dir := t.TempDir()
			file := writeFile(t, dir, "model.safetensors", torchFileMeta(t, em, meta))
			b, err := json.Marshal(evalCase{Input: tc.spec.Input, X: x, Want: want, Scale: testScale, Tolerance: tolerance})
			if err != nil {
				t.Fatal(err)
			}
			runScript(t, py, "torch_load.py", file, writeFile(t, dir, "case.json", b))
		})
	}
	// A language model has no input normalization to apply.
	lm := model.Spec{Kind: model.KindLSTM, Input: []int{4}, Classes: 5, Embed: 3, Hidden: []int{6}, Loss: model.LossXent, Vocab: "abcde"}
	em, _ := trained(t, lm, 1)
	if _, _, _, err := export.TorchLayout(em, map[string]string{export.KeyInputNormalization: `{"kind":"standard","shift":[0,0,0,0],"factor":[1,1,1,1]}`}); err == nil ||
		!strings.Contains(err.Error(), "only a classifier's nn.Sequential normalizes its input") {
		t.Fatalf("lstm with a map: %v", err)
	}
}
