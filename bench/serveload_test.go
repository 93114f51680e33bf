package bench

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// referenceQuantile is the definition, by counting: the smallest value v
// of d such that at least q·n values are <= v.
func referenceQuantile(d []time.Duration, q float64) time.Duration {
	best := time.Duration(-1)
	for _, v := range d {
		atOrBelow := 0
		for _, w := range d {
			if w <= v {
				atOrBelow++
			}
		}
		if float64(atOrBelow) >= q*float64(len(d)) && (best < 0 || v < best) {
			best = v
		}
	}
	return best
}

func TestPercentilesAgainstCounting(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 10, 99, 100, 101, 999, 1000, 1001, 2500} {
		d := make([]time.Duration, n)
		var sum time.Duration
		for i := range d {
			d[i] = time.Duration(r.IntN(50)) * time.Microsecond // ties on purpose
			sum += d[i]
		}
		orig := slices.Clone(d)
		p := Summarize(d)
		want := Percentiles{N: n, Min: slices.Min(orig), Max: slices.Max(orig), Mean: sum / time.Duration(n),
			P50: referenceQuantile(orig, 0.5), P90: referenceQuantile(orig, 0.9), P99: referenceQuantile(orig, 0.99), P999: referenceQuantile(orig, 0.999)}
		if p != want {
			t.Errorf("n=%d: got %+v, want %+v", n, p, want)
		}
	}
	if p := Summarize(nil); p != (Percentiles{}) {
		t.Errorf("no values: %+v", p)
	}
}

// delayServer answers 200 after delay; serial makes it answer one request
// at a time. It records when each request arrived.
type delayServer struct {
	delay  time.Duration
	serial bool
	mu     sync.Mutex // held while answering when serial
	amu    sync.Mutex
	arrive []time.Time
}

func (s *delayServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.amu.Lock()
	s.arrive = append(s.arrive, time.Now())
	s.amu.Unlock()
	if s.serial {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	time.Sleep(s.delay)
	w.Write([]byte(`{"ok":true}`))
}

func TestLoadOpenLoopPacing(t *testing.T) {
	const rate, delay = 200.0, 2 * time.Millisecond
	ds := &delayServer{delay: delay}
	ts := httptest.NewServer(ds)
	defer ts.Close()
	t0 := time.Now()
	res, err := Load(context.Background(), LoadOptions{URL: ts.URL, Body: []byte(`{}`), Rate: rate, Duration: 300 * time.Millisecond, Conns: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Request i is due at start + i·5ms, i < 60: exactly 60 requests.
	if res.Sent != 60 || res.OK != 60 || res.Errors() != 0 || res.Latency.N != 60 {
		t.Fatalf("sent %d, ok %d, errors %d, latencies %d: want 60, 60, 0, 60", res.Sent, res.OK, res.Errors(), res.Latency.N)
	}
	// None is sent before it is due: the k-th arrival is at least k
	// intervals after the run began.
	interval := time.Duration(float64(time.Second) / rate)
	slices.SortFunc(ds.arrive, func(a, b time.Time) int { return a.Compare(b) })
	for k, a := range ds.arrive {
		if a.Before(t0.Add(time.Duration(k) * interval)) {
			t.Fatalf("request %d arrived %v after the start, before its due time %v", k, a.Sub(t0), time.Duration(k)*interval)
		}
	}
	if res.Latency.Min < delay || res.SendLag.Min < 0 || res.Elapsed < 59*interval+delay {
		t.Fatalf("min latency %v (server delay %v), min send lag %v, elapsed %v", res.Latency.Min, delay, res.SendLag.Min, res.Elapsed)
	}
	if res.Rps <= 0 || res.Rps > float64(res.OK)/res.Elapsed.Seconds()+1e-9 {
		t.Fatalf("rps %v for %d answers in %v", res.Rps, res.OK, res.Elapsed)
	}
}

// A server slower than the rate: open-loop latency counts the queueing
// from each request's due time (what a closed loop would hide).
func TestLoadCountsQueueingFromTheDueTime(t *testing.T) {
	const delay, rate, n = 10 * time.Millisecond, 500.0, 50 // capacity 100/s, 5× over it
	ts := httptest.NewServer(&delayServer{delay: delay, serial: true})
	defer ts.Close()
	res, err := Load(context.Background(), LoadOptions{URL: ts.URL, Rate: rate, Duration: 100 * time.Millisecond, Conns: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != n {
		t.Fatalf("ok %d, want %d", res.OK, n)
	}
	// The server answers one at a time: the last answer comes at least
	// n·delay after the start, and the request it answers was due at most
	// (n-1) intervals after it.
	interval := time.Duration(float64(time.Second) / rate)
	if floor := n*delay - (n-1)*interval; res.Latency.Max < floor {
		t.Fatalf("max latency %v: the queue alone makes it at least %v", res.Latency.Max, floor)
	}
	// Closed loop over one connection: each latency is one service time,
	// counted from the actual send.
	closed, err := Load(context.Background(), LoadOptions{URL: ts.URL, Duration: 100 * time.Millisecond, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	if closed.OK < 1 || closed.Latency.Min < delay || closed.SendLag != (Percentiles{}) {
		t.Fatalf("closed loop: ok %d, min latency %v, send lag %+v", closed.OK, closed.Latency.Min, closed.SendLag)
	}
}

func TestLoadCountsErrorsByStatus(t *testing.T) {
	var k atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch k.Add(1) % 4 {
		case 1:
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusGatewayTimeout)
		case 3:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer ts.Close()
	res, err := Load(context.Background(), LoadOptions{URL: ts.URL, Rate: 1000, Duration: 40 * time.Millisecond, Conns: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]int{429: 10, 504: 10, 500: 10}
	if res.Sent != 40 || res.OK != 10 || res.Failed != 0 || len(res.Status) != 3 || res.Errors() != 30 || res.Latency.N != 10 {
		t.Fatalf("sent %d ok %d failed %d status %v: want 40, 10, 0, %v", res.Sent, res.OK, res.Failed, res.Status, want)
	}
	for c, n := range want {
		if res.Status[c] != n {
			t.Fatalf("status %v, want %v", res.Status, want)
		}
	}
	if res.FirstErr == "" {
		t.Fatal("no first error recorded")
	}
}

func TestLoadWithoutAServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	res, err := Load(context.Background(), LoadOptions{URL: url, Rate: 100, Duration: 50 * time.Millisecond, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 5 || res.Failed != 5 || res.OK != 0 || res.FirstErr == "" {
		t.Fatalf("sent %d failed %d ok %d first error %q: want 5 failed with a reason", res.Sent, res.Failed, res.OK, res.FirstErr)
	}
}

func TestLoadBadOptions(t *testing.T) {
	for _, o := range []LoadOptions{
		{URL: "http://127.0.0.1:1", Duration: time.Second, Conns: 0},
		{URL: "http://127.0.0.1:1", Duration: 0, Conns: 1},
		{URL: "http://127.0.0.1:1", Duration: time.Second, Conns: 1, Rate: -1},
	} {
		if _, err := Load(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestServeBenchBadOptions(t *testing.T) {
	good := ServeOptions{Endpoint: "v2", Duration: time.Second, Conns: 1, SatConns: 1, MaxBatch: 1, MaxDelay: time.Millisecond, Fractions: []float64{0.5}}
	for name, mod := range map[string]func(o *ServeOptions){
		"endpoint":     func(o *ServeOptions) { o.Endpoint = "grpc" },
		"duration":     func(o *ServeOptions) { o.Duration = 0 },
		"conns":        func(o *ServeOptions) { o.Conns = 0 },
		"max delay":    func(o *ServeOptions) { o.MaxDelay = 0 },
		"fraction":     func(o *ServeOptions) { o.Fractions = []float64{0} },
		"rate":         func(o *ServeOptions) { o.Rate1 = []float64{-1} },
		"no rates":     func(o *ServeOptions) { o.Fractions = nil },
		"no model yet": func(o *ServeOptions) {},
	} {
		o := good
		mod(&o)
		if _, err := ServeBench(context.Background(), o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
