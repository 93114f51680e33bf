package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestServeCommand trains a small MLP on the default MNIST, scores a CSV
// file with predict from the run directory and from an export (the same
// lines), then runs README's serve line on a free port: the health,
// metadata, infer and predict endpoints answer what predict printed, and
// SIGTERM drains and exits 0.
func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(cfg, []byte("model: {hidden: [16]}\ntrain: {steps: 20}\ncheckpoint: {every_epochs: 0, every_steps: 10}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "exp1")
	if out, stderr, code := cli(t, nil, "launch", "--config", cfg, "--run-dir", run, "--workers", "1"); code != 0 {
		t.Fatalf("launch: %s %s", out, stderr)
	}
	csvPath := filepath.Join(dir, "digits.csv")
	if err := os.WriteFile(csvPath, []byte(digitsCSV(4)), 0o600); err != nil {
		t.Fatal(err)
	}
	fromRun, stderr, code := cli(t, nil, "predict", run, "--input", csvPath)
	lines := strings.Split(strings.TrimSpace(fromRun), "\n")
	if code != 0 || len(lines) != 4 || !regexp.MustCompile(`^\d \d\.\d{4} \d$`).MatchString(lines[0]) {
		t.Fatalf("predict: exit %d, %q %s", code, fromRun, stderr)
	}
	model := filepath.Join(dir, "model.safetensors")
	if o, e, code := cli(t, nil, "checkpoint", "export", filepath.Join(run, "checkpoints"), "--out", model); code != 0 {
		t.Fatalf("export: %s %s", o, e)
	}
	fromFile, _, _ := cli(t, nil, "predict", model, "--input", csvPath, "--input-scale", "0.00392156862745098")
	if fromFile != fromRun {
		t.Fatalf("predict from the export:\n%s\nfrom the run directory:\n%s", fromFile, fromRun)
	}
	// A checkpoint directory copied away from its run scales the inputs
	// as its manifests' job says.
	bare := filepath.Join(dir, "bare")
	if err := os.CopyFS(bare, os.DirFS(filepath.Join(run, "checkpoints"))); err != nil {
		t.Fatal(err)
	}
	if fromBare, e, _ := cli(t, nil, "predict", bare, "--input", csvPath); fromBare != fromRun || strings.Contains(e, "warning") {
		t.Fatalf("predict from a copied checkpoint directory:\n%s%s\nfrom the run directory:\n%s", fromBare, e, fromRun)
	}
	short := filepath.Join(dir, "short.token")
	long := filepath.Join(dir, "long.token")
	empty := filepath.Join(dir, "empty.token")
	for f, v := range map[string]string{short: "abc\n", long: "0123456789abcdef0123\n", empty: "\n"} {
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"serve", run, "--tls-cert", cfg}, nil, "--tls-cert and --tls-key go together"},
		{[]string{"serve", run, "--tls-client-ca", cfg}, nil, "--tls-client-ca needs --tls-cert"},
		{[]string{"serve", run, "--tls-cert", cfg, "--tls-key", cfg}, nil, "TLS certificate"},
		{[]string{"serve", run, "--token-file", filepath.Join(dir, "absent")}, nil, "--token-file"},
		{[]string{"serve", run, "--token-file", short}, nil, "at least 16"},
		{[]string{"serve", run, "--token-file", empty}, nil, "is empty"},
		{[]string{"serve", run, "--token-file", long}, []string{"RINGTRAIN_SERVE_TOKEN=0123456789abcdef0123"}, "both give a token"},
		{[]string{"serve", run}, []string{"RINGTRAIN_SERVE_TOKEN="}, "set but empty"},
		{[]string{"serve", run}, []string{"RINGTRAIN_SERVE_TOKEN=0123456789 abcdef0123"}, "white space"},
	} {
		if _, stderr, code := cli(t, c.env, c.args...); code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v %v: exit %d, %q, want an error naming %q", c.env, c.args, code, stderr, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"predict", run, "--input", cfg}, "line 1"},
		{[]string{"predict", run}, `required flag(s) "input" not set`},
		{[]string{"serve", run, "--max-batch", "0"}, "--max-batch 0: want >= 1"},
		{[]string{"serve", run, "--name", "a/b"}, "cannot hold /"},
	} {
		if _, stderr, code := cli(t, nil, c.args...); code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q, want an error naming %q", c.args, code, stderr, c.want)
		}
	}

	srv := startServe(t, "exp1", run)
	base := srv.base
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/v2/health/ready"); code != 200 || !strings.Contains(body, "true") {
		t.Fatalf("ready: %d %s", code, body)
	}
	if code, body := get("/v2/models/exp1"); code != 200 || !strings.Contains(body, `"shape":[-1,1,28,28]`) || !strings.Contains(body, `"versions":["20"]`) {
		t.Fatalf("metadata: %d %s", code, body)
	}
	rows := strings.Split(strings.TrimSpace(digitsCSV(4)), "\n")
	data := "[" + strings.Join(rows, ",") + "]"
	resp, err := http.Post(base+"/v2/models/exp1/infer", "application/json",
		strings.NewReader(`{"inputs":[{"name":"input","datatype":"FP32","shape":[4,784],"data":`+data+`}],"outputs":[{"name":"class"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var infer struct {
		ModelVersion string `json:"model_version"`
		Outputs      []struct {
			Name string `json:"name"`
			Data []int  `json:"data"`
		} `json:"outputs"`
	}
	err = json.NewDecoder(resp.Body).Decode(&infer)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(infer.Outputs) != 1 || infer.ModelVersion != "20" {
		t.Fatalf("infer: %d %+v %v", resp.StatusCode, infer, err)
	}
	for i, line := range lines {
		if want := strings.Fields(line)[0]; want != strconv.Itoa(infer.Outputs[0].Data[i]) {
			t.Errorf("row %d: served class %d, predict printed %q", i, infer.Outputs[0].Data[i], line)
		}
	}
	resp, err = http.Post(base+"/predict", "application/json", strings.NewReader(predictRequest(4)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"model_version":20`) || strings.Count(string(b), `"class"`) != 4 {
		t.Fatalf("predict endpoint: %d %s", resp.StatusCode, b)
	}
	// The run's job (the default MNIST) gives the training range 0-255.
	bright := `{"instances": [[` + strings.Repeat("300,", 783) + `300]]}`
	if resp, err = http.Post(base+"/predict", "application/json", strings.NewReader(bright)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, body := get("/metrics"); resp.StatusCode != 200 || code != 200 || !strings.Contains(body, `ringtrain_serve_abnormal_requests_total{kind="out_of_range"} 1`) {
		t.Fatalf("an instance of 300s: %d; metrics:\n%s", resp.StatusCode, body)
	}
	rest := srv.stop(t)
	if !strings.Contains(rest, "draining") {
		t.Fatalf("serve logged no drain:\n%s", rest)
	}
}

func TestModelName(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "exp1")
	step := filepath.Join(run, "checkpoints", "step-000000000050")
	if err := os.MkdirAll(step, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "mnist.v2.safetensors")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]string{
		run: "exp1", run + "/": "exp1", filepath.Join(run, "checkpoints"): "exp1", step: "exp1",
		file: "mnist.v2", filepath.Join(dir, "my model.safetensors"): "my_model",
	} {
		if got := modelName(arg); got != want {
			t.Errorf("modelName(%q) = %q, want %q", arg, got, want)
		}
	}
}
