package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/serve"
)

// closeTo reports whether a and b agree within 1e-5 (relative to their
// size): the batch a request lands in changes the summation order.
func closeTo(a, b float32) bool {
	return math.Abs(float64(a-b)) <= 1e-5*math.Max(1, math.Abs(float64(b)))
}

// TestConcurrentClients: clients send requests of 1 to 5 instances at once,
// through both endpoints; every answer equals the in-process forward pass,
// every instance is computed once, and the metadata
// and health endpoints describe the model.
func TestConcurrentClients(t *testing.T) {
	for _, spec := range []model.Spec{mlpSpec, cnnSpec} {
		t.Run(spec.Kind, func(t *testing.T) {
			dir := t.TempDir()
			params := initParams(t, spec, 1)
			commit(t, dir, spec, params, 7)
			r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{MaxDelay: 5 * time.Millisecond})
			in, c := spec.InputSize(), spec.Classes
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 10 {
						n := 1 + (g+i)%5
						x := randomX(n, in, uint64(100*g+i))
						want := forward(t, spec, params, x)
						if i%2 == 0 {
							code, body, hdr := post(t, http.DefaultClient, r.url+"/v2/models/m/infer", inferBody(x, n, spec.Input))
							if code != 200 || hdr.Get("X-Model-Version") != "7" {
								errs <- fmt.Errorf("infer: %d %s", code, body)
								return
							}
							var resp inferResponse
							if err := json.Unmarshal(body, &resp); err != nil {
								errs <- err
								return
							}
							var logits, probs []float32
							var class []int
							resp.output(t, "logits", &logits)
							resp.output(t, "probabilities", &probs)
							resp.output(t, "class", &class)
							if resp.ModelVersion != "7" || len(logits) != n*c || len(probs) != n*c || len(class) != n {
								errs <- fmt.Errorf("infer: %s", body)
								return
							}
							for j := range logits {
								if !closeTo(logits[j], want[j]) {
									errs <- fmt.Errorf("logit %d: served %v, in-process %v", j, logits[j], want[j])
									return
								}
							}
							for k := range n {
								if class[k] != serve.Argmax(want[k*c:(k+1)*c]) {
									errs <- fmt.Errorf("instance %d: class %d, in-process %v", k, class[k], want[k*c:(k+1)*c])
									return
								}
							}
						} else {
							inst := make([][]float32, n)
							for k := range n {
								inst[k] = x[k*in : (k+1)*in]
							}
							b, _ := json.Marshal(map[string]any{"instances": inst})
							code, body, _ := post(t, http.DefaultClient, r.url+"/predict", string(b))
							var resp struct {
								Predictions  []serve.Prediction `json:"predictions"`
								ModelVersion int64              `json:"model_version"`
							}
							if code != 200 || json.Unmarshal(body, &resp) != nil || len(resp.Predictions) != n || resp.ModelVersion != 7 {
								errs <- fmt.Errorf("predict: %d %s", code, body)
								return
							}
							probs := serve.Softmax(want, c)
							for k, p := range resp.Predictions {
								wk := serve.Argmax(want[k*c : (k+1)*c])
								if p.Class != wk || !closeTo(p.Probability, probs[k*c+wk]) {
									errs <- fmt.Errorf("instance %d: %+v, in-process class %d p %v", k, p, wk, probs[k*c+wk])
									return
								}
							}
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if got := metric(t, r.url, `ringtrain_serve_requests_total{code="200",endpoint="infer"}`); got != 40 {
				t.Errorf("infer 200s: %v, want 40", got)
			}
			// Whether requests share a batch depends on how they overlap
			// (TestArrivalsBatched makes them); every instance is computed
			// once either way.
			instances := 0
			for g := range 8 {
				for i := range 10 {
					instances += 1 + (g+i)%5
				}
			}
			batches, sum := metric(t, r.url, "ringtrain_serve_batch_size_count"), metric(t, r.url, "ringtrain_serve_batch_size_sum")
			if batches < 1 || batches > 80 || sum != float64(instances) {
				t.Errorf("%v batches of %v instances in all for 80 requests of %d instances", batches, sum, instances)
			}
			if got := metric(t, r.url, "ringtrain_serve_model_version"); got != 7 {
				t.Errorf("model version metric %v, want 7", got)
			}
			resp, err := http.Get(r.url + "/v2/models/m")
			if err != nil {
				t.Fatal(err)
			}
			var meta struct {
				Name     string   `json:"name"`
				Versions []string `json:"versions"`
				Inputs   []struct {
					Datatype string `json:"datatype"`
					Shape    []int  `json:"shape"`
				} `json:"inputs"`
				Outputs []struct {
					Name  string `json:"name"`
					Shape []int  `json:"shape"`
				} `json:"outputs"`
			}
			err = json.NewDecoder(resp.Body).Decode(&meta)
			resp.Body.Close()
			if err != nil || meta.Name != "m" || meta.Versions[0] != "7" || meta.Inputs[0].Datatype != "FP32" ||
				fmt.Sprint(meta.Inputs[0].Shape) != fmt.Sprint(append([]int{-1}, spec.Input...)) ||
				fmt.Sprint(meta.Outputs[1].Shape) != fmt.Sprint([]int{-1, c}) {
				t.Errorf("metadata: %+v %v", meta, err)
			}
			for path, want := range map[string]int{"/v2/health/live": 200, "/v2/health/ready": 200, "/v2/models/m/ready": 200, "/v2/models/other": 404, "/nothing": 404,
				"/v2/models/m/versions/7": 200, "/v2/models/m/versions/7/ready": 200, "/v2/models/m/versions/3": 404} {
				resp, err := http.Get(r.url + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
				}
			}
		})
	}
}

// TestMalformedFlood: a flood of bad requests of every kind is answered
// 4xx with a JSON error, counted by kind and logged (rate-limited); values
// outside the training range are answered and counted; the server stays
// healthy and answers a good request after it.
func TestMalformedFlood(t *testing.T) {
	dir := t.TempDir()
	params := initParams(t, mlpSpec, 2)
	commit(t, dir, mlpSpec, params, 3)
	file := filepath.Join(t.TempDir(), "m.safetensors")
	exportWithMeta(t, dir, file, map[string]string{"input_min": "0", "input_max": "1"})
	r := start(t, serve.Source{File: file}, serve.Options{MaxBody: 4096, LogInterval: time.Hour})
	good := inferBody(randomX(1, 6, 1), 1, []int{6})
	cases := []struct {
		name, path, body string
		code             int
		kind             string
	}{
		{"not json", "/v2/models/m/infer", `{"inputs": [`, 400, serve.AbnormalMalformed},
		{"wrong type", "/v2/models/m/infer", `{"inputs": "x"}`, 400, serve.AbnormalMalformed},
		{"data not numbers", "/v2/models/m/infer", `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,6],"data":["a",1,2,3,4,5]}]}`, 400, serve.AbnormalMalformed},
		{"wrong shape", "/v2/models/m/infer", inferBody(randomX(1, 5, 1), 1, []int{5}), 400, serve.AbnormalShape},
		{"data and shape differ", "/v2/models/m/infer", `{"inputs":[{"name":"input","datatype":"FP32","shape":[2,6],"data":[1,2,3,4,5,6]}]}`, 400, serve.AbnormalShape},
		{"two inputs", "/v2/models/m/infer", `{"inputs":[]}`, 400, serve.AbnormalShape},
		{"datatype", "/v2/models/m/infer", strings.Replace(good, "FP32", "INT8", 1), 400, serve.AbnormalDatatype},
		{"beyond float32", "/v2/models/m/infer", `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,6],"data":[1e39,0,0,0,0,0]}]}`, 400, serve.AbnormalNonFinite},
		{"NaN literal", "/predict", `{"instances":[[NaN,0,0,0,0,0]]}`, 400, serve.AbnormalMalformed},
		{"predict shape", "/predict", `{"instances":[[1,2,3]]}`, 400, serve.AbnormalShape},
		{"too large", "/predict", `{"instances":[[` + strings.Repeat("0,", 5000) + `0]]}`, 413, serve.AbnormalTooLarge},
		{"out of range", "/predict", `{"instances":[[5,0,0,0,0,-3]]}`, 200, serve.AbnormalOutOfRange},
		{"unknown model", "/v2/models/other/infer", good, 404, ""},
	}
	const rounds = 20
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds / 4 {
				for _, c := range cases {
					code, body, _ := post(t, http.DefaultClient, r.url+c.path, c.body)
					var e struct {
						Error string `json:"error"`
					}
					if code != c.code || (code != 200 && (json.Unmarshal(body, &e) != nil || e.Error == "")) {
						t.Errorf("%s: %d %s, want %d and a JSON error", c.name, code, body, c.code)
					}
				}
			}
		}()
	}
	wg.Wait()
	want := map[string]float64{}
	for _, c := range cases {
		if c.kind != "" {
			want[c.kind] += rounds
		}
	}
	for kind, n := range want {
		if got := metric(t, r.url, `ringtrain_serve_abnormal_requests_total{kind="`+kind+`"}`); got != n {
			t.Errorf("abnormal %s: %v, want %v", kind, got, n)
		}
	}
	logs := r.logs.String()
	for kind := range want {
		if n := strings.Count(logs, "kind="+kind+" "); n != 1 {
			t.Errorf("%d log lines of kind %s, want 1 (rate-limited):\n%s", n, kind, logs)
		}
	}
	code, body, _ := post(t, http.DefaultClient, r.url+"/v2/models/m/infer", good)
	if code != 200 {
		t.Fatalf("a good request after the flood: %d %s", code, body)
	}
	resp, err := http.Get(r.url + "/v2/health/ready")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ready after the flood: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestInputScale: an export's input_scale multiplies raw inputs before the
// model; class_names label the predictions.
func TestInputScale(t *testing.T) {
	dir := t.TempDir()
	params := initParams(t, mlpSpec, 3)
	commit(t, dir, mlpSpec, params, 5)
	file := filepath.Join(t.TempDir(), "m.safetensors")
	exportWithMeta(t, dir, file, map[string]string{"input_scale": "0.00392156862745098", "class_names": `["a","b","c"]`, "metrics": `{"test_accuracy":0.5}`})
	snap, err := serve.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := serve.NewPredictor(snap, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	raw := randomX(3, 6, 9)
	scaled := make([]float32, len(raw))
	for i := range raw {
		raw[i] *= 255
		scaled[i] = raw[i] * float32(1.0/255)
	}
	logits, _, err := p.Predict(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := forward(t, mlpSpec, params, scaled)
	for i := range want {
		if !closeTo(logits[i], want[i]) {
			t.Fatalf("logit %d: %v, want %v (inputs scaled by 1/255)", i, logits[i], want[i])
		}
	}
	unscaled := forward(t, mlpSpec, params, raw)
	if closeTo(logits[0], unscaled[0]) && closeTo(logits[1], unscaled[1]) {
		t.Fatalf("the scale was not applied")
	}
	if string(p.Info().Metrics) != `{"test_accuracy":0.5}` {
		t.Fatalf("metrics %s", p.Info().Metrics)
	}
	preds := serve.Predictions(serve.Softmax(logits, 3), p.Info())
	if l := preds[0].Label; l != []string{"a", "b", "c"}[preds[0].Class] {
		t.Fatalf("label %q for class %d", l, preds[0].Class)
	}
}

// TestClientDisconnect: a client that gives up while its request waits for
// a batch (for a request still being received) is dropped from it (not
// computed, counted as 499); the server answers the next client.
func TestClientDisconnect(t *testing.T) {
	dir := t.TempDir()
	commit(t, dir, mlpSpec, initParams(t, mlpSpec, 4), 1)
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{MaxDelay: 300 * time.Millisecond})
	body := inferBody(randomX(1, 6, 1), 1, []int{6})
	slow := sendPart(t, r.url, "/v2/models/m/infer", body)
	waitMetric(t, r.url, "ringtrain_serve_requests_receiving", 1)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", r.url+"/v2/models/m/infer", strings.NewReader(body))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("a request cancelled after 50ms was answered %d (the batch waits 300ms)", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, r.url, `ringtrain_serve_requests_total{code="499",endpoint="infer"}`) != 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := metric(t, r.url, `ringtrain_serve_requests_total{code="499",endpoint="infer"}`); got != 3 {
		t.Fatalf("499s: %v, want 3", got)
	}
	time.Sleep(400 * time.Millisecond) // the batch they were in has run
	if got := metric(t, r.url, "ringtrain_serve_batch_size_count"); got != 0 {
		t.Fatalf("%v batches computed for clients that left, want 0", got)
	}
	slow.abort()
	waitMetric(t, r.url, "ringtrain_serve_requests_receiving", 0)
	if code, b, _ := post(t, http.DefaultClient, r.url+"/v2/models/m/infer", body); code != 200 {
		t.Fatalf("next client: %d %s", code, b)
	}
}

// TestDeadline: a request still queued at its deadline (its batch waits for
// a request being received) gets 504 and is not computed.
func TestDeadline(t *testing.T) {
	dir := t.TempDir()
	commit(t, dir, mlpSpec, initParams(t, mlpSpec, 5), 1)
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{MaxDelay: 500 * time.Millisecond, Timeout: 50 * time.Millisecond})
	slow := sendPart(t, r.url, "/predict", `{"instances":[[0,0,0,0,0,0]]}`)
	defer slow.abort()
	waitMetric(t, r.url, "ringtrain_serve_requests_receiving", 1)
	t0 := time.Now()
	code, body, _ := post(t, http.DefaultClient, r.url+"/predict", `{"instances":[[0,0,0,0,0,0]]}`)
	if code != 504 || !strings.Contains(string(body), "deadline") {
		t.Fatalf("a request waiting longer than its deadline: %d %s, want 504", code, body)
	}
	if d := time.Since(t0); d > 400*time.Millisecond {
		t.Fatalf("504 after %v, want it at the 50ms deadline", d)
	}
	time.Sleep(600 * time.Millisecond)
	if got := metric(t, r.url, "ringtrain_serve_batch_size_count"); got != 0 {
		t.Fatalf("%v batches computed for a request past its deadline, want 0", got)
	}
}

// TestOverload: with a queue of 1 and a batcher busy with a large request,
// extra requests are refused at once with 429 and Retry-After instead of
// waiting; the large request still succeeds.
func TestOverload(t *testing.T) {
	dir := t.TempDir()
	commit(t, dir, cnnSpec, initParams(t, cnnSpec, 6), 1)
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{MaxBatch: 1, Queue: 1, Timeout: 20 * time.Second})
	in := cnnSpec.InputSize()
	const big = 3000
	bigBody := inferBody(randomX(big, in, 1), big, cnnSpec.Input)
	small := inferBody(randomX(1, in, 2), 1, cnnSpec.Input)
	var saw429, answered, bigRefused atomic.Int32
	done := make(chan int, 1)
	go func() {
		// The small clients may fill the one-slot queue first: the large
		// request is refused like any other then, and tries again.
		for {
			code, _, _ := post(t, http.DefaultClient, r.url+"/v2/models/m/infer", bigBody)
			if code != 429 {
				done <- code
				return
			}
			bigRefused.Add(1)
		}
	}()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, _, hdr := post(t, http.DefaultClient, r.url+"/v2/models/m/infer", small)
				switch code {
				case 429:
					if hdr.Get("Retry-After") == "" {
						t.Errorf("429 without Retry-After")
					}
					saw429.Add(1)
				case 200:
					answered.Add(1)
				default:
					t.Errorf("small request under overload: %d", code)
				}
			}
		}()
	}
	code := <-done
	close(stop)
	wg.Wait()
	if code != 200 {
		t.Fatalf("the large request: %d", code)
	}
	if saw429.Load() == 0 {
		t.Fatalf("no 429 while the batcher was busy (%d small requests answered)", answered.Load())
	}
	if got := metric(t, r.url, `ringtrain_serve_requests_total{code="429",endpoint="infer"}`); got != float64(saw429.Load()+bigRefused.Load()) {
		t.Fatalf("429 metric %v, clients saw %d", got, saw429.Load()+bigRefused.Load())
	}
}

// TestHotReload: clients hammer a server that follows a checkpoint
// directory while training commits a new checkpoint: no request fails,
// the version changes, and answers after it are the new model's.
func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	old, next := initParams(t, mlpSpec, 7), initParams(t, mlpSpec, 8)
	commit(t, dir, mlpSpec, old, 10)
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{WatchInterval: 10 * time.Millisecond})
	x := randomX(2, 6, 3)
	wantOld, wantNew := forward(t, mlpSpec, old, x), forward(t, mlpSpec, next, x)
	body := inferBody(x, 2, []int{6})
	var failed atomic.Int32
	var sawOld, sawNew atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, b, _ := post(t, http.DefaultClient, r.url+"/v2/models/m/infer", body)
				var resp inferResponse
				if code != 200 || json.Unmarshal(b, &resp) != nil {
					failed.Add(1)
					continue
				}
				var logits []float32
				resp.output(t, "logits", &logits)
				want := wantOld
				if resp.ModelVersion == "20" {
					want, _ = wantNew, sawNew.Swap(true)
				} else {
					sawOld.Store(true)
				}
				for i := range want {
					if !closeTo(logits[i], want[i]) {
						t.Errorf("version %s: logit %d = %v, want %v", resp.ModelVersion, i, logits[i], want[i])
						failed.Add(1)
						break
					}
				}
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	commit(t, dir, mlpSpec, next, 20)
	deadline := time.Now().Add(5 * time.Second)
	for !sawNew.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || !sawOld.Load() || !sawNew.Load() {
		t.Fatalf("failed %d, saw step 10: %v, saw step 20: %v", failed.Load(), sawOld.Load(), sawNew.Load())
	}
	if got := metric(t, r.url, "ringtrain_serve_model_version"); got != 20 {
		t.Fatalf("model version metric %v, want 20", got)
	}
	if got := metric(t, r.url, `ringtrain_serve_model_reloads_total{result="ok"}`); got != 1 {
		t.Fatalf("reloads %v, want 1", got)
	}
	if v := r.srv.Info().Version; v != 20 {
		t.Fatalf("Info().Version %d, want 20", v)
	}
}

// TestDrain: when the server's context ends, the requests in flight (here
// waiting for their batch to fill, for a request still being received)
// are answered, then Serve returns and the port is closed.
func TestDrain(t *testing.T) {
	dir := t.TempDir()
	commit(t, dir, mlpSpec, initParams(t, mlpSpec, 9), 4)
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{MaxDelay: 300 * time.Millisecond})
	slow := sendPart(t, r.url, "/predict", `{"instances":[[9,0,0,0,0,0]]}`)
	waitMetric(t, r.url, "ringtrain_serve_requests_receiving", 1)
	codes := make(chan int, 5)
	for i := range 5 {
		go func() {
			code, _, _ := post(t, &http.Client{}, r.url+"/predict", `{"instances":[[`+strconv.Itoa(i)+`,0,0,0,0,0]]}`)
			codes <- code
		}()
	}
	time.Sleep(100 * time.Millisecond) // all five wait in the batcher
	r.cancel()
	time.Sleep(20 * time.Millisecond)
	// While it drains, the server (called in-process: its port is
	// closed) is not ready and refuses new work with 503.
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v2/health/ready", ""},
		{"POST", "/predict", `{"instances":[[0,0,0,0,0,0]]}`},
	} {
		rec := httptest.NewRecorder()
		r.srv.Handler().ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s while draining: %d %s, want 503 with Retry-After", c.method, c.path, rec.Code, rec.Body)
		}
	}
	// The request still being received when the drain began is refused
	// once complete; the batch then runs without it.
	if code, body, err := slow.finish(); err != nil || code != 503 {
		t.Errorf("a request completed during the drain: %d %s %v, want 503", code, body, err)
	}
	r.stop(t)
	for range 5 {
		if c := <-codes; c != 200 {
			t.Fatalf("a request in flight at the drain: %d, want 200", c)
		}
	}
	if resp, err := http.Get(r.url + "/v2/health/live"); err == nil {
		resp.Body.Close()
		t.Fatalf("the server still answers after draining: %d", resp.StatusCode)
	}
}

// TestRefusesLanguageModels: a language model is refused, pointing to
// ringtrain sample.
func TestRefusesLanguageModels(t *testing.T) {
	spec := model.Spec{Kind: model.KindLSTM, Input: []int{8}, Classes: 5, Loss: model.LossXent, Embed: 4, Hidden: []int{6}, Vocab: "abcde"}
	dir := t.TempDir()
	commit(t, dir, spec, initParams(t, spec, 1), 1)
	_, err := serve.New(serve.Source{Store: openStore(t, dir)}, serve.Options{})
	if err == nil || !strings.Contains(err.Error(), "ringtrain sample") {
		t.Fatalf("serving an lstm: %v, want an error naming ringtrain sample", err)
	}
}

// TestReloadRefusesAnotherShape: a new checkpoint whose model takes other
// inputs or gives other classes is not swapped in: the old one is still
// served, the failure counted and logged.
func TestReloadRefusesAnotherShape(t *testing.T) {
	dir := t.TempDir()
	commit(t, dir, mlpSpec, initParams(t, mlpSpec, 1), 10)
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{WatchInterval: 5 * time.Millisecond})
	other := mlpSpec
	other.Classes = 5
	commit(t, dir, other, initParams(t, other, 2), 20)
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, r.url, `ringtrain_serve_model_reloads_total{result="error"}`) != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := metric(t, r.url, `ringtrain_serve_model_reloads_total{result="error"}`); got != 1 {
		t.Fatalf("failed reloads: %v, want 1", got)
	}
	code, body, hdr := post(t, http.DefaultClient, r.url+"/predict", `{"instances":[[0,0,0,0,0,0]]}`)
	if code != 200 || hdr.Get("X-Model-Version") != "10" {
		t.Fatalf("after a refused reload: %d %s version %q, want step 10", code, body, hdr.Get("X-Model-Version"))
	}
	if !strings.Contains(r.logs.String(), "restart the server to change the model's shape") {
		t.Fatalf("the refusal was not logged:\n%s", r.logs.String())
	}
}

// TestBadMetadata: metadata that cannot be right is refused, naming the key.
func TestBadMetadata(t *testing.T) {
	dir := t.TempDir()
	params := initParams(t, mlpSpec, 1)
	commit(t, dir, mlpSpec, params, 1)
	for _, c := range []struct {
		meta map[string]string
		want string
	}{
		{map[string]string{"input_scale": "abc"}, "input_scale"},
		{map[string]string{"input_scale": "-1"}, "input_scale"},
		{map[string]string{"input_min": "5", "input_max": "1"}, "input_min"},
		{map[string]string{"class_names": `["a"]`}, "class_names: 1 names, the model has 3 classes"},
		{map[string]string{"metrics": `[1]`}, "metrics"},
	} {
		snap := &serve.Snapshot{Spec: mlpSpec, Params: params, Meta: c.meta, Step: 1}
		if p, err := serve.NewPredictor(snap, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			if p != nil {
				p.Close()
			}
			t.Errorf("%v: %v, want an error naming %q", c.meta, err, c.want)
		}
	}
}
