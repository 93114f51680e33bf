package serve_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/serve"
)

// getPage fetches the status page.
func getPage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

// TestStatusPage serves a model whose name needs escaping, answers
// requests (good and malformed), commits a new checkpoint, and reads the
// page: the name is escaped, the summary names the version and kind, the
// charts are drawn from the sampled history, the tables count the requests
// by status, the batches and the abnormal requests, and the reload is
// listed.
func TestStatusPage(t *testing.T) {
	dir := t.TempDir()
	commit(t, dir, mlpSpec, initParams(t, mlpSpec, 1), 10)
	name := `<b>"m"&x</b>`
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{Name: name, WatchInterval: 10 * time.Millisecond, SampleInterval: 20 * time.Millisecond})
	for i := range 5 {
		code, body, _ := post(t, http.DefaultClient, r.url+"/predict", `{"instances":[[1,2,3,4,5,6],[0,0,0,0,0,0]]}`)
		if code != 200 {
			t.Fatalf("predict %d: %d %s", i, code, body)
		}
	}
	if code, _, _ := post(t, http.DefaultClient, r.url+"/predict", `{"instances":`); code != 400 {
		t.Fatalf("malformed predict: %d, want 400", code)
	}
	commit(t, dir, mlpSpec, initParams(t, mlpSpec, 2), 20)
	deadline := time.Now().Add(5 * time.Second)
	for r.srv.Info().Version != 20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// Wait for a sample after the requests (every 20 ms; longer on a busy machine).
	page := getPage(t, r.url)
	for deadline := time.Now().Add(5 * time.Second); strings.Contains(page, "No samples yet") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		page = getPage(t, r.url)
	}

	if strings.Contains(page, name) || !strings.Contains(page, `&lt;b&gt;&#34;m&#34;&amp;x&lt;/b&gt;`) {
		t.Errorf("the model name is not escaped:\n%.600s", page)
	}
	for _, want := range []string{
		"version (step) <b>20</b>", "kind mlp", "6 inputs, 3 classes", "served since", "ready",
		"<tr><td>predict</td><td>200</td><td>5</td></tr>",
		"<tr><td>predict</td><td>400</td><td>1</td></tr>",
		"<tr><td>2</td><td>5</td></tr>", // five batches of 2 instances
		"<tr><td>malformed</td><td>1</td></tr>",
		"<tr><td>out_of_distribution</td><td>0</td></tr>",
		"loaded at start", "<td>20</td><td>served</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d charts, want 3 (latency, throughput and queue, batch size)", n)
	}
	for _, title := range []string{"Request latency", "Throughput and queue", "Batch size"} {
		if !strings.Contains(page, title) {
			t.Errorf("no chart titled %q", title)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", page)
	}
}

// TestStatusPageCountsRefusals: with a token, the page needs it and lists
// the 401s by reason.
func TestStatusPageCountsRefusals(t *testing.T) {
	dir := t.TempDir()
	commit(t, dir, mlpSpec, initParams(t, mlpSpec, 1), 10)
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{Token: []byte(testToken)})
	for range 2 {
		if code, _, _ := post(t, http.DefaultClient, r.url+"/predict", `{"instances":[[1,2,3,4,5,6]]}`); code != 401 {
			t.Fatalf("predict without the token: %d, want 401", code)
		}
	}
	req, _ := http.NewRequest("GET", r.url+"/", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<tr><td>any (token missing)</td><td>401</td><td>2</td></tr>") {
		t.Errorf("page with the token: %d, want the 2 refusals listed:\n%s", resp.StatusCode, b)
	}
}

// TestStatusPageBeforeSamples: a page asked for before the first sample
// says so instead of drawing empty charts.
func TestStatusPageBeforeSamples(t *testing.T) {
	dir := t.TempDir()
	commit(t, dir, mlpSpec, initParams(t, mlpSpec, 1), 10)
	r := start(t, serve.Source{Store: openStore(t, dir)}, serve.Options{SampleInterval: time.Hour})
	page := getPage(t, r.url)
	if !strings.Contains(page, "No samples yet") || strings.Contains(page, "<svg") {
		t.Errorf("page before any sample:\n%.800s", page)
	}
}
