package export_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
)

// TestTorchLoadStateDictKinds loads the torch layout of the transformers
// and layers networks into PyTorch (testdata/torch_load.py: the module it
// builds from model_spec with a forward of its own, and the torch_module
// of the metadata, both with strict=True) and compares the logits with
// ringtrain's Forward within 1e-5 of the largest. Skipped without torch
// (CI has none).
func TestTorchLoadStateDictKinds(t *testing.T) {
	py := requirePython(t, "REQUIRE_TORCH", "torch", "numpy")
	run := func(t *testing.T, em export.Model, c map[string]any) {
		dir := t.TempDir()
		file := writeFile(t, dir, "model.safetensors", torchFile(t, em))
		c["relative"], c["tolerance"] = true, tolerance
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		runScript(t, py, "torch_load.py", file, writeFile(t, dir, "case.json", b))
	}
	for i, tc := range tfSpecs {
		t.Run(tc.name, func(t *testing.T) {
			em, rm := trainedGPT(t, tc.spec, uint64(i+1))
			toks := tokens(tc.spec, 3, uint64(1000+i))
			run(t, em, map[string]any{"input": tc.spec.Input, "x": toks, "tokens": true, "want": forwardLogits(t, rm, toks)})
		})
	}
	for i, tc := range layersSpecs {
		t.Run(tc.name, func(t *testing.T) {
			em, rm := trained(t, tc.spec, uint64(i+1))
			toks, x := layersInputs(tc.spec, 5, uint64(1100+i))
			c := map[string]any{"input": tc.spec.Input, "x": x, "want": layersReference(t, rm, toks, x)}
			if toks != nil {
				c["x"], c["tokens"] = toks, true
			}
			run(t, em, c)
		})
	}
}

// TestTorchKindsModules checks the torch layout's modules, names and
// orientations of a transformer and a layers network: Linear weights
// transposed to [out, in], the others as they are.
func TestTorchKindsModules(t *testing.T) {
	tests := []struct {
		spec   model.Spec
		module string
		names  []string
	}{
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
			linear := len(nt.Shape) == 2 && nt.Name != "tok.weight" && nt.Name != "pos.weight" && !slices.Contains([]string{"layers.0.weight"}, nt.Name)
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

// TestTorchClassesDocumented: docs/export.md shows the torch_class sources
// as they are.
func TestTorchClassesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/export.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, class := range []string{export.TorchRNNClass, export.TorchGPTClass} {
		if !strings.Contains(string(doc), "```python\n"+class+"```\n") {
			t.Errorf("docs/export.md has no python block of\n%s", class)
		}
	}
}
