package serve_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/serve"
)

// mnistMLP is a small classifier of the embedded MNIST digits.
var mnistMLP = model.Spec{Kind: model.KindMLP, Hidden: []int{64}, Input: []int{1, 28, 28}, Classes: 10, Loss: model.LossXent}

// trainMNIST trains mnistMLP on the embedded training set with plain SGD
// (two epochs) and returns its parameters and the training and test
// inputs as raw pixels (0..255, what a client sends), with the test labels.
func trainMNIST(t *testing.T) (params, trainRaw, testRaw []float32, testY []int32) {
	t.Helper()
	train, test, err := data.Default()
	if err != nil {
		t.Fatal(err)
	}
	const batch = 64
	m, err := model.New(mnistMLP, batch)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	copy(m.Params(), initParams(t, mnistMLP, 5))
	p, g := m.Params(), m.Grads()
	for epoch := range 2 {
		for lo := 0; lo+batch <= train.N; lo += batch {
			loss, err := m.ForwardBackward(train.X[lo*train.Dim:(lo+batch)*train.Dim], train.Y[lo:lo+batch])
			if err != nil || math.IsNaN(float64(loss)) {
				t.Fatalf("epoch %d step %d: loss %v, %v", epoch, lo/batch, loss, err)
			}
			for i := range p {
				p[i] -= 0.1 * g[i]
			}
		}
	}
	raw := func(x []float32) []float32 {
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = float32(math.Round(float64(v) * 255))
		}
		return out
	}
	return append([]float32(nil), p...), raw(train.X), raw(test.X), test.Y
}

// oodCases are inputs far from MNIST digits, n of each kind, 784 raw
// values each: uniform noise, the test digits inverted, constant images.
func oodCases(testRaw []float32, n int) map[string][]float32 {
	const dim = 784
	cases := map[string][]float32{}
	noise := randomX(n, dim, 99)
	for i := range noise {
		noise[i] *= 255
	}
	cases["noise"] = noise
	inv := make([]float32, n*dim)
	for i := range inv {
		inv[i] = 255 - testRaw[i]
	}
	cases["inverted"] = inv
	var constant []float32
	for i := range n {
		v := float32(255 * i / max(n-1, 1)) // 0 (a blank image) .. 255
		for range dim {
			constant = append(constant, v)
		}
	}
	cases["constant"] = constant
	return cases
}

// TestOODScoreOnMNIST calibrates the score of a trained MNIST classifier
// on its training digits, then scores the test digits (mostly under the
// threshold) and inputs far from them (all over it).
func TestOODScoreOnMNIST(t *testing.T) {
	params, trainRaw, testRaw, testY := trainMNIST(t)
	st, err := serve.FitInputStats(trainRaw, 784)
	if err != nil {
		t.Fatal(err)
	}
	p, err := serve.NewPredictor(&serve.Snapshot{Spec: mnistMLP, Params: params, Step: 1, Meta: map[string]string{"input_scale": strconv.FormatFloat(1.0/255, 'g', -1, 64)}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	threshold, err := serve.CalibrateOOD(p, st, trainRaw)
	if err != nil {
		t.Fatal(err)
	}
	score := func(x []float32) []float64 {
		_, probs, err := p.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		n := len(x) / 784
		out := make([]float64, n)
		for i := range n {
			out[i] = st.Score(x[i*784:(i+1)*784], probs[i*10:(i+1)*10])
		}
		return out
	}
	// The threshold is the training scores' 99.9th percentile: about 8 of
	// the 8,000 training digits are over it.
	over := 0
	for _, s := range score(trainRaw) {
		if s > threshold {
			over++
		}
	}
	if over < 1 || over > 9 {
		t.Errorf("%d of 8000 training digits over the threshold %.3f, want about 8", over, threshold)
	}
	_, probs, err := p.Predict(testRaw)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, y := range testY {
		if serve.Argmax(probs[i*10:(i+1)*10]) == int(y) {
			correct++
		}
	}
	flagged := 0
	for _, s := range score(testRaw) {
		if s > threshold {
			flagged++
		}
	}
	t.Logf("threshold %.3f; test accuracy %.3f; %d of %d test digits flagged", threshold, float64(correct)/float64(len(testY)), flagged, len(testY))
	if float64(correct) < 0.85*float64(len(testY)) {
		t.Fatalf("the classifier is not trained: test accuracy %d/%d", correct, len(testY))
	}
	if flagged > len(testY)/50 {
		t.Errorf("%d of %d MNIST test digits flagged out of distribution, want at most 2%%", flagged, len(testY))
	}
	for name, x := range oodCases(testRaw, 50) {
		lowest := math.Inf(1)
		for i, s := range score(x) {
			lowest = min(lowest, s)
			if !(s > threshold) {
				t.Errorf("%s image %d: score %.3f, not over the threshold %.3f", name, i, s, threshold)
			}
		}
		t.Logf("%s images: lowest score %.3f", name, lowest)
	}
}

// TestOODOverHTTP serves an export whose metadata holds the statistics and
// threshold: /predict returns each instance's score and flag, the v2 infer
// its ood_score output when asked, and the far requests are counted.
func TestOODOverHTTP(t *testing.T) {
	params, trainRaw, testRaw, _ := trainMNIST(t)
	st, err := serve.FitInputStats(trainRaw, 784)
	if err != nil {
		t.Fatal(err)
	}
	p, err := serve.NewPredictor(&serve.Snapshot{Spec: mnistMLP, Params: params, Step: 1, Meta: map[string]string{"input_scale": "0.00392156862745098"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	threshold, err := serve.CalibrateOOD(p, st, trainRaw)
	p.Close()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	commit(t, filepath.Join(dir, "ck"), mnistMLP, params, 40)
	stats, _ := json.Marshal(st)
	file := filepath.Join(dir, "mnist.safetensors")
	exportWithMeta(t, filepath.Join(dir, "ck"), file, map[string]string{
		"input_scale": "0.00392156862745098", "input_stats": string(stats), "ood_threshold": strconv.FormatFloat(threshold, 'g', -1, 64)})
	r := start(t, serve.Source{File: file}, serve.Options{})

	digit, noise := testRaw[:784], oodCases(testRaw, 1)["noise"]
	instances, _ := json.Marshal(map[string]any{"instances": [][]float32{digit, noise}})
	code, body, _ := post(t, http.DefaultClient, r.url+"/predict", string(instances))
	if code != 200 {
		t.Fatalf("/predict: %d %s", code, body)
	}
	var pr struct {
		Predictions []serve.Prediction `json:"predictions"`
	}
	if err := json.Unmarshal(body, &pr); err != nil {
		t.Fatal(err)
	}
	if len(pr.Predictions) != 2 || pr.Predictions[0].OODScore == nil || pr.Predictions[1].OODScore == nil {
		t.Fatalf("/predict: want two predictions with ood_score: %s", body)
	}
	if pr.Predictions[0].OutOfDistribution || !pr.Predictions[1].OutOfDistribution || *pr.Predictions[1].OODScore <= threshold {
		t.Errorf("/predict: digit %+v, noise %+v (threshold %.3f): want the noise flagged only", pr.Predictions[0], pr.Predictions[1], threshold)
	}
	if got := metric(t, r.url, `ringtrain_serve_abnormal_requests_total{kind="out_of_distribution"}`); got != 1 {
		t.Errorf("out_of_distribution requests: %v, want 1", got)
	}
	if !strings.Contains(r.logs.String(), "out_of_distribution") {
		t.Errorf("no log line of the out_of_distribution request:\n%s", r.logs)
	}

	// v2: ood_score only when asked for.
	req := strings.Replace(inferBody(noise, 1, mnistMLP.Input), `"inputs"`, `"outputs":[{"name":"ood_score"},{"name":"class"}],"inputs"`, 1)
	code, body, _ = post(t, http.DefaultClient, r.url+"/v2/models/m/infer", req)
	if code != 200 {
		t.Fatalf("infer: %d %s", code, body)
	}
	var ir inferResponse
	if err := json.Unmarshal(body, &ir); err != nil {
		t.Fatal(err)
	}
	var scores []float64
	ir.output(t, "ood_score", &scores)
	if len(scores) != 1 || math.Abs(scores[0]-*pr.Predictions[1].OODScore) > 1e-9 {
		t.Errorf("infer ood_score %v, /predict's %v", scores, *pr.Predictions[1].OODScore)
	}
	code, body, _ = post(t, http.DefaultClient, r.url+"/v2/models/m/infer", inferBody(digit, 1, mnistMLP.Input))
	if code != 200 || strings.Contains(string(body), "ood_score") {
		t.Errorf("infer without outputs: %d %s: want no ood_score", code, body)
	}
	if got := metric(t, r.url, `ringtrain_serve_abnormal_requests_total{kind="out_of_distribution"}`); got != 2 {
		t.Errorf("out_of_distribution requests: %v, want 2", got)
	}
}

// TestOODCalibratedFromSamples: a model without the metadata is scored
// when the server is given training samples (a run directory's), and not
// scored without them (ood_score asked for is then a 400).
func TestOODCalibratedFromSamples(t *testing.T) {
	dir := t.TempDir()
	params := initParams(t, mlpSpec, 3)
	commit(t, dir, mlpSpec, params, 10)
	train := randomX(500, 6, 1)
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{OODSamples: train})
	far := []float32{50, -40, 60, -70, 80, 90}
	instances, _ := json.Marshal(map[string]any{"instances": [][]float32{train[:6], far}})
	code, body, _ := post(t, http.DefaultClient, r.url+"/predict", string(instances))
	if code != 200 || !strings.Contains(string(body), `"ood_score"`) {
		t.Fatalf("/predict: %d %s: want ood_score", code, body)
	}
	var pr struct {
		Predictions []serve.Prediction `json:"predictions"`
	}
	if err := json.Unmarshal(body, &pr); err != nil {
		t.Fatal(err)
	}
	if !pr.Predictions[1].OutOfDistribution {
		t.Errorf("an instance of values 50 times the training range is not flagged: %s", body)
	}

	bare := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{})
	req := strings.Replace(inferBody(far, 1, mlpSpec.Input), `"inputs"`, `"outputs":[{"name":"ood_score"}],"inputs"`, 1)
	code, body, _ = post(t, http.DefaultClient, bare.url+"/v2/models/m/infer", req)
	if code != 400 || !strings.Contains(string(body), "no out-of-distribution score") {
		t.Errorf("ood_score of a model without statistics: %d %s, want 400 naming it", code, body)
	}
	code, body, _ = post(t, http.DefaultClient, bare.url+"/predict", string(instances))
	if code != 200 || strings.Contains(string(body), "ood_score") {
		t.Errorf("/predict without statistics: %d %s: want no ood_score", code, body)
	}
}

// TestBadOODMetadata: malformed input_stats or ood_threshold are refused at
// load with the key named.
func TestBadOODMetadata(t *testing.T) {
	dir := t.TempDir()
	commit(t, filepath.Join(dir, "ck"), mlpSpec, initParams(t, mlpSpec, 3), 10)
	good := `{"mean":{"mean":0.5,"std":0.1},"std":{"mean":0.3,"std":0.05},"samples":100}`
	for i, meta := range []map[string]string{
		{"input_stats": "{not json", "ood_threshold": "3"},
		{"input_stats": `{"mean":{"mean":0.5,"std":-1},"std":{"mean":0.3,"std":0.05},"samples":100}`, "ood_threshold": "3"},
		{"input_stats": good, "ood_threshold": "-2"},
		{"input_stats": good, "ood_threshold": "NaN"},
	} {
		file := filepath.Join(dir, fmt.Sprintf("m%d.safetensors", i))
		exportWithMeta(t, filepath.Join(dir, "ck"), file, meta)
		_, err := serve.New(serve.Source{File: file}, serve.Options{})
		if err == nil || !(strings.Contains(err.Error(), "input_stats") || strings.Contains(err.Error(), "ood_threshold")) {
			t.Errorf("metadata %v: err %v, want one naming the key", meta, err)
		}
	}
}

// TestFitInputStats checks the statistics against a hand computation.
func TestFitInputStats(t *testing.T) {
	// rows: [0 2] (mean 1, std 1), [4 4] (mean 4, std 0)
	st, err := serve.FitInputStats([]float32{0, 2, 4, 4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := serve.InputStats{Mean: serve.Moments{Mean: 2.5, Std: 1.5}, Std: serve.Moments{Mean: 0.5, Std: 0.5}, Samples: 2}
	if st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
	// [1 3]: mean 2 (z -1/3), std 1 (z 1): d = sqrt(1/9 + 1)
	if d := st.Distance([]float32{1, 3}); math.Abs(d-math.Sqrt(1.0/9+1)) > 1e-12 {
		t.Errorf("distance %v, want %v", d, math.Sqrt(1.0/9+1))
	}
	if s := st.Score([]float32{1, 3}, []float32{0.25, 0.75}); math.Abs(s-(math.Sqrt(1.0/9+1)+serve.OODConfidenceWeight*0.25)) > 1e-12 {
		t.Errorf("score %v", s)
	}
	for _, bad := range [][]float32{nil, {1, 2, 3}} {
		if _, err := serve.FitInputStats(bad, 2); err == nil {
			t.Errorf("FitInputStats(%v, 2): no error", bad)
		}
	}
}
