package serve_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/serve"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// mlpSpec is a small classifier of 6 inputs and 3 classes.
var mlpSpec = model.Spec{Kind: model.KindMLP, Hidden: []int{16}, Input: []int{6}, Classes: 3, Loss: model.LossXent}

// cnnSpec is a small convolutional classifier.
var cnnSpec = model.Spec{Kind: model.KindCNN, Hidden: []int{12}, Input: []int{1, 12, 12}, Classes: 4, Loss: model.LossXent}

// initParams returns spec's parameters initialized with seed.
func initParams(t testing.TB, spec model.Spec, seed uint64) []float32 {
	t.Helper()
	_, n, err := model.Layout(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float32, n)
	if err := model.InitParams(spec, p, seed); err != nil {
		t.Fatal(err)
	}
	return p
}

// commit writes params as checkpoint step of the checkpoint directory dir
// (created if needed) with the checkpoint package, as training does.
func commit(t testing.TB, dir string, spec model.Spec, params []float32, step int64) {
	t.Helper()
	specJSON, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	store, err := checkpoint.Open(checkpoint.OSFS{}, dir, checkpoint.Options{Retention: checkpoint.Retention{Keep: 2}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := checkpoint.EncodeShard(&b, &checkpoint.Shard{Step: step, Lo: 0, Hi: len(params), Params: params}); err != nil {
		t.Fatal(err)
	}
	info, err := store.WriteShard(step, 0, &b)
	if err != nil {
		t.Fatal(err)
	}
	layout, _, err := model.Layout(spec)
	if err != nil {
		t.Fatal(err)
	}
	var cl []checkpoint.Tensor
	for _, l := range layout {
		cl = append(cl, checkpoint.Tensor{Name: l.Name, Shape: l.Shape, Offset: l.Offset})
	}
	err = store.Commit(checkpoint.Manifest{Step: step, WorldSize: 1, ModelSpec: specJSON, NumParams: len(params),
		Layout: cl, Shards: []checkpoint.ShardInfo{info}, OptimizerSteps: step})
	if err != nil {
		t.Fatal(err)
	}
}

// openStore opens the checkpoint directory dir for reading.
func openStore(t testing.TB, dir string) *checkpoint.Store {
	t.Helper()
	s, err := checkpoint.Open(checkpoint.OSFS{}, dir, checkpoint.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// exportWithMeta exports the latest checkpoint of dir to path with the
// checkpoint package and adds extra __metadata__ entries (the keys the
// export of issue 16 adds: input_scale, input_min, ...), rewriting the
// safetensors header.
func exportWithMeta(t testing.TB, dir, path string, extra map[string]string) {
	t.Helper()
	store := openStore(t, dir)
	m, _, err := store.Latest()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := store.Export(m, &b); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	n := binary.LittleEndian.Uint64(raw[:8])
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	if err := json.Unmarshal(hdr["__metadata__"], &meta); err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		meta[k] = v
	}
	mb, _ := json.Marshal(meta)
	hdr["__metadata__"] = mb
	h, _ := json.Marshal(hdr)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, uint64(len(h)))
	out.Write(h)
	out.Write(raw[8+n:])
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// forward is the in-process reference: spec's logits for x with params.
func forward(t testing.TB, spec model.Spec, params, x []float32) []float32 {
	t.Helper()
	m, err := model.New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	copy(m.Params(), params)
	out, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// running is a Server serving on loopback.
type running struct {
	srv    *serve.Server
	url    string
	cancel context.CancelFunc
	done   chan error
	logs   *lockedWriter
}

// start serves src on a loopback port until the test ends (or stop).
func start(t *testing.T, src serve.Source, opts serve.Options) *running {
	t.Helper()
	logs := &lockedWriter{w: &bytes.Buffer{}}
	opts.Log = slog.New(slog.NewTextHandler(logs, nil))
	if opts.Name == "" {
		opts.Name = "m"
	}
	srv, err := serve.New(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { r.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop drains the server and waits for Serve to return (idempotent).
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if r.done == nil {
		return
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	r.done = nil
	http.DefaultClient.CloseIdleConnections()
}

// lockedWriter serializes writes to a buffer shared with the test.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// post sends body as JSON to path and returns the status and the body.
func post(t testing.TB, client *http.Client, url, body string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading: %v", url, err)
	}
	return resp.StatusCode, b, resp.Header
}

// inferBody is a v2 infer request of the instances x (n rows of shape).
func inferBody(x []float32, n int, shape []int) string {
	b, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{
		"name": "input", "datatype": "FP32", "shape": append([]int{n}, shape...), "data": x,
	}}})
	return string(b)
}

type inferResponse struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	Outputs      []struct {
		Name  string          `json:"name"`
		Shape []int           `json:"shape"`
		Data  json.RawMessage `json:"data"`
	} `json:"outputs"`
}

// output decodes the named output's data.
func (r inferResponse) output(t testing.TB, name string, v any) {
	t.Helper()
	for _, o := range r.Outputs {
		if o.Name == name {
			if err := json.Unmarshal(o.Data, v); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no output %q in %+v", name, r)
}

// metric is the value of the Prometheus sample whose line starts with
// prefix (e.g. `ringtrain_serve_requests_total{code="429",endpoint="infer"}`), or 0.
func metric(t testing.TB, base, prefix string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, prefix+" "); ok {
			var v float64
			if err := json.Unmarshal([]byte(strings.TrimSpace(rest)), &v); err != nil {
				t.Fatalf("metric %s: %q", prefix, rest)
			}
			return v
		}
	}
	return 0
}

// randomX returns n instances of size values in [0, 1).
func randomX(n, size int, seed uint64) []float32 {
	x := make([]float32, n*size)
	s := seed*0x9e3779b97f4a7c15 + 1
	for i := range x {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
		x[i] = float32(s>>40) / float32(1<<24)
	}
	return x
}
