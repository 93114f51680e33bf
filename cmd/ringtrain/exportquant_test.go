package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/serve"
)

// TestExportInt8 is the proof of --quantize int8: it trains the default
// job (the MLP on the embedded MNIST-10k, 10 epochs) and the same job with
// the LeNet CNN, exports each as float32 and int8, and checks the int8 file
// is at most 0.3x the float one, loses at most 0.5 points of test-set
// accuracy, and that serve answers with it (the int8 model's classes); the
// int8 ONNX graph is as small; bad flags and sources are clear errors.
func TestExportInt8(t *testing.T) {
	for _, kind := range []string{"mlp", "cnn"} {
		t.Run(kind, func(t *testing.T) { testExportInt8(t, kind) })
	}
}

func testExportInt8(t *testing.T, kind string) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	args := []string{"launch", "--run-dir", run}
	if kind != "mlp" {
		cfg := filepath.Join(dir, "job.yaml")
		if err := os.WriteFile(cfg, []byte("model: {kind: "+kind+"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", cfg)
	}
	if out, stderr, code := cli(t, nil, args...); code != 0 {
		t.Fatalf("launch: %d\n%s\n%s", code, out, stderr)
	}
	fp, qp := filepath.Join(dir, "model.safetensors"), filepath.Join(dir, "model-int8.safetensors")
	if o, e, code := cli(t, nil, "export", run, "--out", fp); code != 0 {
		t.Fatalf("export: %d\n%s\n%s", code, o, e)
	}
	o, e, code := cli(t, nil, "export", run, "--quantize", "int8", "--out", qp, "--calibration-samples", "300")
	if code != 0 || !strings.Contains(o, "calibrated on 300 training samples") {
		t.Fatalf("export --quantize int8: %d\n%s\n%s", code, o, e)
	}
	fs, qs := fileSize(t, fp), fileSize(t, qp)
	t.Logf("file sizes: float32 %d bytes, int8 %d bytes (%.3fx)", fs, qs, float64(qs)/float64(fs))
	if float64(qs) > 0.3*float64(fs) {
		t.Errorf("int8 file %d bytes, more than 0.3x the float32 file's %d", qs, fs)
	}

	// The ONNX QDQ graph: INT8 initializers, about as small (its graph is
	// checked and evaluated in package export's tests).
	fo, qo := filepath.Join(dir, "model.onnx"), filepath.Join(dir, "model-int8.onnx")
	if o, e, code := cli(t, nil, "export", run, "--format", "onnx", "--out", fo); code != 0 {
		t.Fatalf("export --format onnx: %d\n%s\n%s", code, o, e)
	}
	if o, e, code := cli(t, nil, "export", run, "--quantize", "int8", "--format", "onnx", "--out", qo); code != 0 || !strings.Contains(o, "int8 ONNX opset 13") {
		t.Fatalf("export --quantize int8 --format onnx: %d\n%s\n%s", code, o, e)
	}
	t.Logf("ONNX sizes: float32 %d bytes, int8 %d bytes (%.3fx)", fileSize(t, fo), fileSize(t, qo), float64(fileSize(t, qo))/float64(fileSize(t, fo)))
	if float64(fileSize(t, qo)) > 0.3*float64(fileSize(t, fo)) {
		t.Errorf("int8 ONNX file %d bytes, more than 0.3x the float32 one's %d", fileSize(t, qo), fileSize(t, fo))
	}

	fsnap, err := serve.LoadFile(fp)
	if err != nil {
		t.Fatal(err)
	}
	qsnap, err := serve.LoadFile(qp)
	if err != nil {
		t.Fatal(err)
	}
	if qsnap.Quant == nil || qsnap.Meta["quantization"] != "int8" || qsnap.Meta["quant_calibration_samples"] != "300" || qsnap.Meta["input_scale"] == "" {
		t.Fatalf("int8 file: quant model %v, metadata %v", qsnap.Quant != nil, qsnap.Meta)
	}
	_, test, err := data.Default()
	if err != nil {
		t.Fatal(err)
	}
	fm, err := model.New(fsnap.Spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer fm.Close()
	copy(fm.Params(), fsnap.Params)
	flogits, err := fm.Forward(test.X)
	if err != nil {
		t.Fatal(err)
	}
	qlogits, err := qsnap.Quant.Forward(test.X)
	if err != nil {
		t.Fatal(err)
	}
	fAcc, qAcc := accuracy(flogits, test.Y, 10), accuracy(qlogits, test.Y, 10)
	t.Logf("test accuracy on %d samples: float32 %.2f%%, int8 %.2f%% (drop %.2f points)", test.N, 100*fAcc, 100*qAcc, 100*(fAcc-qAcc))
	if fAcc-qAcc > 0.005 {
		t.Errorf("int8 test accuracy %.2f%%, float32 %.2f%%: a drop of more than 0.5 points", 100*qAcc, 100*fAcc)
	}
	if fsnap.Spec.Kind != kind || fAcc < 0.9 {
		t.Errorf("a %s model of float32 test accuracy %.2f%%: want a trained %s", fsnap.Spec.Kind, 100*fAcc, kind)
	}

	// serve answers with the int8 model: the classes of its logits.
	const n = 8
	rows := make([]string, n)
	for i := range n {
		px := make([]string, test.Dim)
		for j, v := range test.X[i*test.Dim : (i+1)*test.Dim] {
			px[j] = fmt.Sprint(int(v*255 + 0.5))
		}
		rows[i] = "[" + strings.Join(px, ",") + "]"
	}
	got := servePredict(t, qp, `{"instances": [`+strings.Join(rows, ",")+`]}`)
	for i := range n {
		if want := serve.Argmax(qlogits[i*10 : (i+1)*10]); got[i] != want {
			t.Errorf("served row %d: class %d, the int8 model's %d", i, got[i], want)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", run, "--quantize", "int4", "--out", qp}, `--quantize "int4": want int8`},
		{[]string{"export", run, "--quantize", "int8", "--layout", "torch", "--out", qp}, "leave out --layout"},
		{[]string{"export", run, "--quantize", "int8", "--calibration-samples", "0", "--out", qp}, "--calibration-samples 0: want >= 1"},
		{[]string{"export", fp, "--quantize", "int8", "--out", qp}, "--quantize: no calibration data"},
		{[]string{"export", qp, "--out", filepath.Join(dir, "again.safetensors")}, "an int8-quantized export"},
	} {
		if _, stderr, code := cli(t, nil, c.args...); code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q, want an error naming %q", c.args, code, stderr, c.want)
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// accuracy is the share of rows of logits whose argmax is the label.
func accuracy(logits []float32, labels []int32, classes int) float64 {
	right := 0
	for i, y := range labels {
		if serve.Argmax(logits[i*classes:(i+1)*classes]) == int(y) {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}

// servePredict runs ringtrain serve on model, posts body to /predict and
// returns the classes it answers; SIGTERM then stops it.
func servePredict(t *testing.T, model, body string) []int {
	t.Helper()
	srv := startServe(t, "", model)
	resp, err := http.Post(srv.base+"/predict", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Predictions []struct {
			Class int `json:"class"`
		} `json:"predictions"`
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("predict: %d %s %v", resp.StatusCode, b, err)
	}
	srv.stop(t)
	classes := make([]int, len(out.Predictions))
	for i, p := range out.Predictions {
		classes[i] = p.Class
	}
	return classes
}
