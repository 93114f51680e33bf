package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LoadOptions configure one run of Load against an HTTP endpoint.
type LoadOptions struct {
	// URL receives every request: a POST of Body (application/json).
	URL  string
	Body []byte
	// Rate is the open-loop request rate per second: request i is due at
	// start + i/Rate, and its latency counts from then (wrk2's intended
	// send time), so a server that falls behind shows its queueing instead
	// of slowing the generator down (coordinated omission). 0 runs closed
	// loop: every connection sends its next request when the previous
	// answer arrived, latency counted from the actual send.
	Rate float64
	// Duration is how long requests are sent (all answers are waited for).
	Duration time.Duration
	// Conns is the number of concurrent connections (and senders).
	Conns int
	// Client sends the requests; nil builds one keeping Conns connections
	// alive.
	Client *http.Client
}

// LoadResult is what one Load run measured.
type LoadResult struct {
	Rate     float64 // requested (0: closed loop)
	Conns    int
	Sent     int           // requests sent
	OK       int           // answered 200
	Status   map[int]int   // answers other than 200, by status
	Failed   int           // requests with no HTTP answer (connection errors)
	Elapsed  time.Duration // from the first due time to the last answer
	Rps      float64       // OK answers per second of Elapsed
	Latency  Percentiles   // of the OK answers
	SendLag  Percentiles   // how late requests were sent after their due time (open loop)
	FirstErr string        // the first failure's text, if any
}

// Errors is the number of requests that did not get a 200.
func (r LoadResult) Errors() int {
	n := r.Failed
	for _, c := range r.Status {
		n += c
	}
	return n
}

// Percentiles summarize a set of durations (exact: from the sorted
// values, nearest rank).
type Percentiles struct {
	N                  int
	Min, P50, P90, P99 time.Duration
	P999, Max, Mean    time.Duration
}

// Summarize returns the percentiles of d (sorted in place).
func Summarize(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Percentiles{
		N: len(d), Min: d[0], Max: d[len(d)-1], Mean: sum / time.Duration(len(d)),
		P50: Quantile(d, 0.5), P90: Quantile(d, 0.9), P99: Quantile(d, 0.99), P999: Quantile(d, 0.999),
	}
}

// Quantile is the nearest-rank q-quantile (0 < q <= 1) of sorted: the
// smallest value with at least q of the values at or below it.
func Quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// sample is one request's outcome.
type sample struct {
	status  int // 0: no answer
	latency time.Duration
	lag     time.Duration
	err     error
}

// Load sends requests to o.URL at o.Rate (or closed loop) for o.Duration
// over o.Conns connections and measures their latency. It returns an
// error only for bad options or when ctx ends.
func Load(ctx context.Context, o LoadOptions) (LoadResult, error) {
	if o.Conns < 1 || o.Duration <= 0 || o.Rate < 0 || math.IsInf(o.Rate, 0) || math.IsNaN(o.Rate) {
		return LoadResult{}, fmt.Errorf("bench: load: want conns >= 1, duration > 0, rate >= 0; got %d, %v, %v", o.Conns, o.Duration, o.Rate)
	}
	client := o.Client
	if client == nil {
		tr := &http.Transport{MaxIdleConns: o.Conns, MaxIdleConnsPerHost: o.Conns, MaxConnsPerHost: o.Conns, DisableCompression: true}
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
	}
	var (
		next    atomic.Int64 // the next open-loop slot
		mu      sync.Mutex
		samples []sample
		wg      sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(o.Duration)
	interval := time.Duration(0)
	if o.Rate > 0 {
		interval = time.Duration(float64(time.Second) / o.Rate)
	}
	for range o.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			for ctx.Err() == nil {
				due := time.Now()
				if interval > 0 {
					due = start.Add(time.Duration(next.Add(1)-1) * interval)
					if !due.Before(end) {
						break
					}
					sleepUntil(ctx, due)
				} else if !due.Before(end) {
					break
				}
				sent := time.Now()
				s := send(ctx, client, o.URL, o.Body)
				s.latency = time.Since(due)
				s.lag = sent.Sub(due)
				mine = append(mine, s)
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return LoadResult{}, fmt.Errorf("bench: load: %w", err)
	}
	return summarizeLoad(o, samples, time.Since(start)), nil
}

// summarizeLoad counts samples by outcome and computes the percentiles.
func summarizeLoad(o LoadOptions, samples []sample, elapsed time.Duration) LoadResult {
	r := LoadResult{Rate: o.Rate, Conns: o.Conns, Sent: len(samples), Status: map[int]int{}, Elapsed: elapsed}
	lat := make([]time.Duration, 0, len(samples))
	lag := make([]time.Duration, 0, len(samples))
	for _, s := range samples {
		lag = append(lag, s.lag)
		switch {
		case s.status == http.StatusOK:
			r.OK++
			lat = append(lat, s.latency)
		case s.status == 0:
			r.Failed++
		default:
			r.Status[s.status]++
		}
		if s.err != nil && r.FirstErr == "" {
			r.FirstErr = s.err.Error()
		}
	}
	r.Latency = Summarize(lat)
	if o.Rate > 0 {
		r.SendLag = Summarize(lag)
	}
	if elapsed > 0 {
		r.Rps = float64(r.OK) / elapsed.Seconds()
	}
	return r
}

// sleepUntil returns at t or when ctx ends.
func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// send POSTs body and reads the whole answer.
func send(ctx context.Context, c *http.Client, url string, body []byte) sample {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return sample{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return sample{err: err}
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return sample{err: fmt.Errorf("reading the answer: %w", err)}
	}
	s := sample{status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		s.err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return s
}
