package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/bench"
)

// A short real run of bench serve: the default model served in-process,
// loaded over loopback (figures are not checked: they are the benchmark's).
func TestBenchServeShortRun(t *testing.T) {
	out, stderr, code := cli(t, nil, "bench", "serve", "--duration", "300ms", "--conns", "2", "--sat-conns", "4",
		"--max-batch", "8", "--json", "--log-level", "error")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r bench.ServeResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if !strings.Contains(r.Spec, "mlp 784-256-10") || r.Endpoint != "v2" || r.MaxBatch != 8 || r.Forward1 <= 0 || r.ForwardMax <= 0 {
		t.Fatalf("result %+v", r)
	}
	if len(r.Batch1) != 2 || len(r.Batched) != 2 {
		t.Fatalf("open-loop runs: %d and %d, want one per --fractions value (2)", len(r.Batch1), len(r.Batched))
	}
	for name, x := range map[string]bench.Run{"null": r.Null, "null open": r.NullOpen, "batch 1 saturated": r.Batch1Sat, "batch 1 low": r.Batch1[0], "batch 1 high": r.Batch1[1],
		"batched saturated": r.BatchedSat, "batched low": r.Batched[0], "batched high": r.Batched[1]} {
		if x.Sent < 1 || x.OK < 1 || x.Latency.N != x.OK || x.CPU <= 0 {
			t.Errorf("%s: %+v", name, x)
		}
	}
	// Batch 1 computes one instance per forward pass; the batching server
	// at most --max-batch.
	if r.Batch1Sat.MeanBatch != 1 || r.Batch1[0].MeanBatch != 1 || !(r.BatchedSat.MeanBatch >= 1 && r.BatchedSat.MeanBatch <= 8) || r.Null.MeanBatch != 0 {
		t.Errorf("mean batch sizes: batch 1 %v and %v (want 1), batching %v (want 1..8), canned %v (want 0)",
			r.Batch1Sat.MeanBatch, r.Batch1[0].MeanBatch, r.BatchedSat.MeanBatch, r.Null.MeanBatch)
	}
	// Closed loop with fewer connections than the queue holds: no 429.
	for _, x := range []bench.Run{r.Batch1Sat, r.BatchedSat} {
		if x.Status[429] != 0 || x.Failed != 0 {
			t.Errorf("saturation run with %d connections: %v, %d without an answer (%s)", x.Conns, x.Status, x.Failed, x.FirstErr)
		}
	}
	// --fractions 0.1,0.5 of the saturation just measured.
	if want := max(math.Round(0.5*r.Batch1Sat.Rps), 1); r.Batch1[1].Rate != want || r.Batch1Sat.Rate != 0 {
		t.Errorf("rates: open loop %v (want %v), saturation %v (want closed loop, 0)", r.Batch1[1].Rate, want, r.Batch1Sat.Rate)
	}
}

// The table, over /predict, serving a model file.
func TestBenchServeTableFromAFile(t *testing.T) {
	path, err := bench.DefaultServeModel(t.TempDir(), "mlp", []int{32})
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := cli(t, nil, "bench", "serve", filepath.Clean(path), "--endpoint", "predict", "--duration", "200ms",
		"--conns", "2", "--sat-conns", "2", "--rate", "50,80", "--batch-rate", "50", "--log-level", "error")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"mlp 784-32-10", "endpoint predict", "at 80 req/s", "in-process forward", "batch 1, open loop", "generator floor", "p50", "goal: >= 5×"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

// The built-in CNN (--kind cnn) served and loaded.
func TestBenchServeCNN(t *testing.T) {
	out, stderr, code := cli(t, nil, "bench", "serve", "--kind", "cnn", "--hidden", "20", "--duration", "200ms",
		"--conns", "2", "--sat-conns", "2", "--rate", "50", "--batch-rate", "50", "--max-batch", "4", "--log-level", "error")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"cnn (LeNet convolutions, then fully connected) 784-20-10", "batch <=4, saturated", "goal: >= 5×"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchServeBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--endpoint", "grpc"}, `--endpoint "grpc"`},
		{[]string{"--duration", "0s"}, "--duration 0s"},
		{[]string{"--conns", "0"}, "--conns 0"},
		{[]string{"--rate", "-5"}, "--rate [-5]"},
		{[]string{"--fractions", "0"}, "--fractions [0]"},
		{[]string{"--hidden", "0"}, `--hidden "0"`},
		{[]string{"--hidden", "64", "m.safetensors"}, "do not apply"},
		{[]string{"--kind", "cnn", "m.safetensors"}, "do not apply"},
		{[]string{"--kind", "lstm"}, `model kind "lstm": want mlp or cnn`},
		{[]string{"--max-batch", "0"}, "--max-batch 0"},
		{[]string{"--max-delay", "0s"}, "--max-delay 0s"},
		{[]string{"/no/such/model.safetensors"}, "no such file"},
	} {
		_, stderr, code := cli(t, nil, append([]string{"bench", "serve"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to mention %q", tc.args, code, stderr, tc.want)
		}
	}
}
