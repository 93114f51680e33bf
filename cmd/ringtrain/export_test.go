package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/serve"
)

// exportJob trains the default MLP on the embedded MNIST for 100 steps,
// checkpointing at 50 and 100.
const exportJob = `train: {steps: 100}
checkpoint: {every_epochs: 0, every_steps: 50}
`

// readExportFile reads an exported safetensors file.
func readExportFile(t *testing.T, path string) *checkpoint.Exported {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	e, err := checkpoint.ReadExport(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestExport trains a run and exports it every way: the data facts come
// from the run's job.yaml (a run directory, its checkpoint directory, an
// exported file re-exported), the metrics only for the step summary.json
// is of, the torch layout's names, the ONNX graph's leading Mul and
// metadata; a checkpoint directory copied away from its run has the
// same facts (its manifests record the job); bad flags are errors.
func TestExport(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(cfg, []byte(exportJob), 0o600); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if out, stderr, code := cli(t, nil, "launch", "--config", cfg, "--run-dir", run); code != 0 {
		t.Fatalf("launch: %d\n%s\n%s", code, out, stderr)
	}
	out := func(name string) string { return filepath.Join(dir, name) }
	mustExport := func(args ...string) string {
		t.Helper()
		o, e, code := cli(t, nil, append([]string{"export"}, args...)...)
		if code != 0 || !strings.Contains(o, "exported step") {
			t.Fatalf("export %v: %d\n%s\n%s", args, code, o, e)
		}
		return e
	}
	facts := map[string]string{"input_scale": "0.00392156862745098", "input_min": "0", "input_max": "255",
		"class_names": `["0","1","2","3","4","5","6","7","8","9"]`, "architecture": "mlp", "input_shape": "[1,28,28]", "step": "100"}
	checkKeys := func(name string, meta map[string]string, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if meta[k] != v {
				t.Errorf("%s: %s = %q, want %q", name, k, meta[k], v)
			}
		}
	}

	mustExport(run, "--format", "safetensors", "--out", out("m.safetensors"))
	e := readExportFile(t, out("m.safetensors"))
	checkKeys("run dir", e.Meta, facts)
	checkKeys("run dir", e.Meta, map[string]string{"layout": "ringtrain"})
	if !strings.Contains(e.Meta["metrics"], `"test_accuracy":0.`) || e.Layout[0].Name != "fc0.weight" {
		t.Errorf("run dir: metrics %q, first tensor %s", e.Meta["metrics"], e.Layout[0].Name)
	}

	checkOODFacts(t, e.Meta)

	stderr := mustExport(filepath.Join(run, "checkpoints"), "--step", "50", "--out", out("m50.safetensors"))
	e = readExportFile(t, out("m50.safetensors"))
	checkKeys("step 50", e.Meta, map[string]string{"input_scale": facts["input_scale"], "step": "50", "metrics": ""})
	if !strings.Contains(stderr, "summary.json is of step 100") {
		t.Errorf("step 50: stderr %q, want a note that the metrics are of step 100", stderr)
	}

	mustExport(run, "--layout", "torch", "--out", out("t.safetensors"))
	e = readExportFile(t, out("t.safetensors"))
	checkKeys("torch", e.Meta, map[string]string{"layout": "torch", "torch_module": "nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))"})
	if e.Layout[0].Name != "1.weight" || e.Layout[0].Shape[0] != 256 || e.Layout[0].Shape[1] != 784 {
		t.Errorf("torch: first tensor %s %v, want 1.weight [256 784]", e.Layout[0].Name, e.Layout[0].Shape)
	}

	// ONNX from the exported file: its facts travel on.
	e0 := readExportFile(t, out("m.safetensors"))
	mustExport(out("m.safetensors"), "--format", "onnx", "--out", out("m.onnx"))
	b, err := os.ReadFile(out("m.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	mp, err := gonnx.ModelProtoFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]string{}
	for _, p := range mp.MetadataProps {
		props[p.Key] = p.Value
	}
	checkKeys("onnx", props, facts)
	checkKeys("onnx", props, map[string]string{"input_stats": e0.Meta["input_stats"], "ood_threshold": e0.Meta["ood_threshold"]})
	if _, ok := props["layout"]; ok {
		t.Errorf("onnx: metadata has the safetensors layout key %q", props["layout"])
	}
	if n := mp.Graph.Node[0]; n.OpType != "Mul" || n.Input[0] != "input" {
		t.Errorf("onnx: first node %s(%v), want Mul(input, input_scale)", n.OpType, n.Input)
	}

	// A checkpoint directory copied away from its run: the manifest's
	// record of the job gives the same facts.
	bare := filepath.Join(dir, "bare")
	if err := os.CopyFS(bare, os.DirFS(filepath.Join(run, "checkpoints"))); err != nil {
		t.Fatal(err)
	}
	stderr = mustExport(bare, "--out", out("bare.safetensors"))
	e = readExportFile(t, out("bare.safetensors"))
	checkKeys("bare checkpoint dir", e.Meta, facts)
	if strings.Contains(stderr, "warning") {
		t.Errorf("bare checkpoint dir: stderr %q, want no warning", stderr)
	}

	// Another job's job.yaml in the run directory does not override the
	// checkpoint's record.
	if err := os.WriteFile(filepath.Join(run, "job.yaml"), []byte(exportJob+"seed: 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustExport(run, "--out", out("other.safetensors"))
	e = readExportFile(t, out("other.safetensors"))
	checkKeys("another job.yaml", e.Meta, facts)

	// A synthetic job: scale 1, the range of its training samples.
	syn := filepath.Join(dir, "syn.yaml")
	if err := os.WriteFile(syn, []byte("data: {source: synthetic, synthetic: {n: 400, dim: 8, classes: 3}}\ntrain: {steps: 10}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	synRun := filepath.Join(dir, "syn")
	if o, e, code := cli(t, nil, "launch", "--config", syn, "--run-dir", synRun); code != 0 {
		t.Fatalf("launch synthetic: %d\n%s\n%s", code, o, e)
	}
	mustExport(synRun, "--out", out("syn.safetensors"))
	e = readExportFile(t, out("syn.safetensors"))
	checkKeys("synthetic", e.Meta, map[string]string{"input_scale": "1", "class_names": `["0","1","2"]`, "input_shape": "[8]"})
	lo, errLo := strconv.ParseFloat(e.Meta["input_min"], 64)
	hi, errHi := strconv.ParseFloat(e.Meta["input_max"], 64)
	if errLo != nil || errHi != nil || !(lo < 0 && hi > 0) {
		t.Errorf("synthetic: input_min %q, input_max %q: want a range around 0", e.Meta["input_min"], e.Meta["input_max"])
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", run}, "--out FILE is required"},
		{[]string{"export", run, "--format", "pdf", "--out", out("x")}, `--format "pdf"`},
		{[]string{"export", run, "--layout", "keras", "--out", out("x")}, `--layout "keras"`},
		{[]string{"export", run, "--format", "onnx", "--layout", "torch", "--out", out("x")}, "--layout is for --format safetensors"},
		{[]string{"export", out("t.safetensors"), "--out", out("x")}, "in the torch layout"},
		{[]string{"export", filepath.Join(dir, "nothing"), "--out", out("x")}, "no such file"},
	} {
		o, e, code := cli(t, nil, tc.args...)
		if code == 0 || !strings.Contains(e, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want an error with %q\n%s", tc.args, code, e, tc.want, o)
		}
	}
	if _, err := os.Stat(out("x")); err == nil {
		t.Error("a failed export left its --out file")
	}
}

// checkOODFacts checks an export of the default MNIST job's
// out-of-distribution keys: input_stats against the statistics computed
// here from the embedded training images (the reference: every image's
// pixel mean and standard deviation, 0..255), and a positive threshold.
func checkOODFacts(t *testing.T, meta map[string]string) {
	t.Helper()
	var st serve.InputStats
	if err := json.Unmarshal([]byte(meta["input_stats"]), &st); err != nil {
		t.Fatalf("input_stats %q: %v", meta["input_stats"], err)
	}
	train, _, err := data.Default()
	if err != nil {
		t.Fatal(err)
	}
	var sumM, sumM2, sumS float64
	for i := range train.N {
		var m, m2 float64
		for _, v := range train.X[i*train.Dim : (i+1)*train.Dim] {
			p := math.Round(float64(v) * 255)
			m, m2 = m+p, m2+p*p
		}
		m /= float64(train.Dim)
		sd := math.Sqrt(m2/float64(train.Dim) - m*m)
		sumM, sumM2, sumS = sumM+m, sumM2+m*m, sumS+sd
	}
	n := float64(train.N)
	wantMean, wantMeanSD, wantStd := sumM/n, math.Sqrt(sumM2/n-(sumM/n)*(sumM/n)), sumS/n
	if st.Samples != train.N || math.Abs(st.Mean.Mean-wantMean) > 1e-6 || math.Abs(st.Mean.Std-wantMeanSD) > 1e-6 || math.Abs(st.Std.Mean-wantStd) > 1e-6 {
		t.Errorf("input_stats %+v: want %d samples, image means %.6f ± %.6f, standard deviations averaging %.6f", st, train.N, wantMean, wantMeanSD, wantStd)
	}
	if th, err := strconv.ParseFloat(meta["ood_threshold"], 64); err != nil || !(th > 0) {
		t.Errorf("ood_threshold %q: want a number > 0", meta["ood_threshold"])
	}
}
