package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/data"
)

// writeScaledCSVs writes train.csv and test.csv (features then label)
// and test-features.csv (the test rows without their label) into dir:
// a learnable 3-class problem whose 6 features are multiplied by
// 1e3·(j+1) and offset by 1e6·(j+1). It returns the test labels.
func writeScaledCSVs(t *testing.T, dir string) []int32 {
	t.Helper()
	d, err := data.Synthetic(data.SyntheticSpec{N: 1200, Dim: 6, Classes: 3, Seed: 5, Noise: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	var train, test, feats strings.Builder
	for i := range d.N {
		var row strings.Builder
		for j := range d.Dim {
			if j > 0 {
				row.WriteByte(',')
			}
			fmt.Fprintf(&row, "%.7g", float64(d.X[i*d.Dim+j])*1e3*float64(j+1)+1e6*float64(j+1))
		}
		if i < 960 {
			fmt.Fprintf(&train, "%s,%d\n", row.String(), d.Y[i])
			continue
		}
		fmt.Fprintf(&test, "%s,%d\n", row.String(), d.Y[i])
		fmt.Fprintf(&feats, "%s\n", row.String())
	}
	for name, s := range map[string]string{"train.csv": train.String(), "test.csv": test.String(), "test-features.csv": feats.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return d.Y[960:]
}

// A csv job with data.normalize standard: the committed manifests and the
// export carry the map; predict, from the run and from the export, given
// the raw test rows, reaches exactly the accuracy the run's evaluation
// reported on the same rows; the int8 export (calibrated on normalized
// inputs) is within 3 points of it; the ONNX graph has the two nodes more.
func TestNormalizedRunPredictsRawInputs(t *testing.T) {
	dir := t.TempDir()
	labels := writeScaledCSVs(t, dir)
	cfg := filepath.Join(dir, "job.yaml")
	job := fmt.Sprintf("data: {source: csv, path: %s, test_path: %s, normalize: standard}\nmodel: {hidden: [32]}\n"+
		"train: {global_batch: 32, epochs: 6, lr: {kind: cosine, base: 0.01}}\ncheckpoint: {every_epochs: 3}\n",
		filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv"))
	if err := os.WriteFile(cfg, []byte(job), 0o600); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if out, stderr, code := cli(t, nil, "launch", "--config", cfg, "--run-dir", run, "--workers", "2"); code != 0 {
		t.Fatalf("launch: %s %s", out, stderr)
	}
	var sum summaryFile
	if b, err := os.ReadFile(filepath.Join(run, "summary.json")); err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("summary.json: %v", err)
	}
	if sum.TestAccuracy < 0.9 {
		t.Fatalf("test accuracy %.3f with normalization", sum.TestAccuracy)
	}
	b, err := os.ReadFile(filepath.Join(run, "checkpoints", fmt.Sprintf("step-%012d", sum.Steps), "MANIFEST.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := checkpoint.DecodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	norm, err := data.ParseNorm(m.InputNormalization, 6)
	if err != nil || norm == nil || norm.Kind != "standard" {
		t.Fatalf("the manifest's input_normalization %s: %v", m.InputNormalization, err)
	}

	accuracy := func(out string) float64 {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(labels) {
			t.Fatalf("%d predictions for %d rows:\n%s", len(lines), len(labels), out)
		}
		right := 0
		for i, l := range lines {
			if strings.HasPrefix(l, fmt.Sprint(labels[i])+" ") {
				right++
			}
		}
		return float64(right) / float64(len(labels))
	}
	fromRun, stderr, code := cli(t, nil, "predict", run, "--input", filepath.Join(dir, "test-features.csv"))
	if code != 0 {
		t.Fatalf("predict: %s", stderr)
	}
	if a := accuracy(fromRun); a != sum.TestAccuracy {
		t.Fatalf("predict on the raw test rows: accuracy %.4f, the run's evaluation %.4f", a, sum.TestAccuracy)
	}
	model := filepath.Join(dir, "model.safetensors")
	if o, e, code := cli(t, nil, "export", run, "--format", "safetensors", "--out", model); code != 0 {
		t.Fatalf("export: %s %s", o, e)
	}
	fromFile, _, _ := cli(t, nil, "predict", model, "--input", filepath.Join(dir, "test-features.csv"))
	if fromFile != fromRun {
		t.Fatalf("predict from the export differs from the run's")
	}
	// int8: calibrated on the normalized training inputs, served on raw ones.
	int8File := filepath.Join(dir, "model-int8.safetensors")
	if o, e, code := cli(t, nil, "export", run, "--quantize", "int8", "--out", int8File); code != 0 {
		t.Fatalf("int8 export: %s %s", o, e)
	}
	fromInt8, stderr, code := cli(t, nil, "predict", int8File, "--input", filepath.Join(dir, "test-features.csv"))
	a8 := accuracy(fromInt8)
	t.Logf("test accuracy: run %.4f, predict (float) the same, int8 %.4f", sum.TestAccuracy, a8)
	if a := a8; code != 0 || a < sum.TestAccuracy-0.03 {
		t.Fatalf("int8 predict: accuracy %.4f, float %.4f (%s)", a, sum.TestAccuracy, stderr)
	}
	// The torch layout's module normalizes: RingtrainNormalized with the
	// map's two buffers of 6 values (export/torch_test.go runs it in PyTorch).
	torchFile := filepath.Join(dir, "model-torch.safetensors")
	if o, e, code := cli(t, nil, "export", run, "--layout", "torch", "--out", torchFile); code != 0 {
		t.Fatalf("torch export: %s %s", o, e)
	}
	tb, err := os.ReadFile(torchFile)
	if err != nil {
		t.Fatal(err)
	}
	te, err := checkpoint.ReadExport(bytes.NewReader(tb), int64(len(tb)))
	if err != nil {
		t.Fatal(err)
	}
	if mod := te.Meta["torch_module"]; !strings.HasPrefix(mod, "RingtrainNormalized(nn.Flatten(), nn.Linear(6, 32)") || !strings.HasSuffix(mod, ", shape=[6])") ||
		!strings.Contains(te.Meta["torch_class"], "class RingtrainNormalized(nn.Sequential)") || te.Meta["num_params"] != fmt.Sprint(m.NumParams+12) || len(te.Params) != m.NumParams+12 {
		t.Fatalf("torch export: module %q, num_params %s, %d values (the model has %d)", te.Meta["torch_module"], te.Meta["num_params"], len(te.Params), m.NumParams)
	}
	onnxFile := filepath.Join(dir, "model.onnx")
	if o, e, code := cli(t, nil, "export", run, "--format", "onnx", "--out", onnxFile); code != 0 || !strings.Contains(o, "6 nodes") {
		t.Fatalf("onnx export (want Mul, Sub, Mul, Gemm, Relu, Gemm): %s %s", o, e)
	}
}
