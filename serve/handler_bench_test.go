package serve_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/serve"
)

// BenchmarkInferHandler is the server's own work for one v2 infer request
// of one MNIST-sized instance (raw pixels) to a 784-256-10 MLP, one request at a time
// (the lone-request path: no network, no client): decoding, the batcher,
// the forward pass and encoding the answer.
func BenchmarkInferHandler(b *testing.B) {
	spec := model.Spec{Kind: model.KindMLP, Hidden: []int{256}, Input: []int{784}, Classes: 10, Loss: model.LossXent}
	dir := b.TempDir()
	commit(b, dir, spec, initParams(b, spec, 1), 1)
	srv, err := serve.New(serve.Source{Store: openStore(b, dir)}, serve.Options{Name: "m", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	h := srv.Handler()
	x := randomX(1, 784, 1)
	for i := range x {
		x[i] = float32(int(x[i] * 256)) // raw pixels: integers 0-255, as bench serve sends
	}
	body := inferBody(x, 1, []int{784})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/v2/models/m/infer", strings.NewReader(body)))
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
