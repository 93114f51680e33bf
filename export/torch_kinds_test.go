package export_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/export"
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

// TestTorchClassesDocumented: docs/export.md shows the torch_class sources
// as they are.
func TestTorchClassesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/export.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, class := range []string{export.TorchRNNClass, export.TorchGPTClass, export.TorchNormalizedClass} {
		if !strings.Contains(string(doc), "```python\n"+class+"```\n") {
			t.Errorf("docs/export.md has no python block of\n%s", class)
		}
	}
}
