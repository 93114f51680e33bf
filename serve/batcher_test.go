package serve_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/serve"
)

// TestLoneRequestNotDelayed: with a max delay of 10s, requests that arrive
// one at a time (nothing else being received) are each computed at once,
// alone, instead of waiting for a batch to fill. This is the batcher's
// rule, not a timing goal: the bound checked is half the max delay.
func TestLoneRequestNotDelayed(t *testing.T) {
	dir := t.TempDir()
	params := initParams(t, mlpSpec, 3)
	commit(t, dir, mlpSpec, params, 1)
	const maxDelay = 10 * time.Second
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{MaxDelay: maxDelay, Timeout: 30 * time.Second})
	for i := range 3 {
		x := randomX(1, 6, uint64(i))
		t0 := time.Now()
		code, body, _ := post(t, http.DefaultClient, r.url+"/v2/models/m/infer", inferBody(x, 1, []int{6}))
		if d := time.Since(t0); d > maxDelay/2 {
			t.Fatalf("request %d answered after %v: a lone request waited for a batch (max delay %v)", i, d, maxDelay)
		}
		if code != 200 {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
		checkLogits(t, body, forward(t, mlpSpec, params, x))
	}
	if n, sum := metric(t, r.url, "ringtrain_serve_batch_size_count"), metric(t, r.url, "ringtrain_serve_batch_size_sum"); n != 3 || sum != 3 {
		t.Fatalf("%v batches of %v instances in all, want 3 batches of 1", n, sum)
	}
}

// TestArrivalsBatched: requests that arrive while others are still being
// received wait for them (max delay 10s) and are computed as one batch:
// five requests are queued while a sixth is half sent; when the sixth
// completes, the six run as one forward pass, at once, and each gets its
// own answer.
func TestArrivalsBatched(t *testing.T) {
	dir := t.TempDir()
	params := initParams(t, mlpSpec, 4)
	commit(t, dir, mlpSpec, params, 1)
	const maxDelay = 10 * time.Second
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{MaxDelay: maxDelay, Timeout: 30 * time.Second})
	const n = 6
	xs := make([][]float32, n)
	clients := make([]*slowClient, n)
	for i := range n {
		xs[i] = randomX(1, 6, uint64(10+i))
		clients[i] = sendPart(t, r.url, "/v2/models/m/infer", inferBody(xs[i], 1, []int{6}))
	}
	waitMetric(t, r.url, "ringtrain_serve_requests_receiving", n)
	type answer struct {
		i, code int
		body    string
		err     error
	}
	answers := make(chan answer, n)
	for i := range n - 1 {
		go func() {
			code, body, err := clients[i].finish()
			answers <- answer{i, code, body, err}
		}()
	}
	// The five are submitted (each leaves the count after queueing); the
	// batcher waits for the sixth.
	waitMetric(t, r.url, "ringtrain_serve_requests_receiving", 1)
	if got := metric(t, r.url, "ringtrain_serve_batch_size_count"); got != 0 {
		t.Fatalf("%v batches ran while a request was still being received, want 0", got)
	}
	t0 := time.Now()
	go func() {
		code, body, err := clients[n-1].finish()
		answers <- answer{n - 1, code, body, err}
	}()
	for range n {
		a := <-answers
		if a.err != nil || a.code != 200 {
			t.Fatalf("request %d: %d %s %v", a.i, a.code, a.body, a.err)
		}
		checkLogits(t, []byte(a.body), forward(t, mlpSpec, params, xs[a.i]))
	}
	if d := time.Since(t0); d > maxDelay/2 {
		t.Fatalf("the batch ran %v after its last request arrived, want at once (max delay %v)", d, maxDelay)
	}
	if got, sum := metric(t, r.url, "ringtrain_serve_batch_size_count"), metric(t, r.url, "ringtrain_serve_batch_size_sum"); got != 1 || sum != n {
		t.Fatalf("%v batches of %v instances in all, want 1 batch of %d", got, sum, n)
	}
}

// checkLogits checks the logits of an infer response body against want.
func checkLogits(t *testing.T, body []byte, want []float32) {
	t.Helper()
	var resp inferResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var logits []float32
	resp.output(t, "logits", &logits)
	if len(logits) != len(want) {
		t.Fatalf("%d logits, want %d", len(logits), len(want))
	}
	for j := range logits {
		if !closeTo(logits[j], want[j]) {
			t.Fatalf("logit %d: served %v, in-process %v", j, logits[j], want[j])
		}
	}
}
