package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringtrain/ringtrain/serve"
)

// ServeOptions configure ServeBench.
type ServeOptions struct {
	// Source is the model served (DefaultServeModel writes one).
	Source serve.Source
	// Endpoint is "v2" (POST /v2/models/NAME/infer) or "predict".
	Endpoint string
	// Duration is the length of every load run.
	Duration time.Duration
	// Conns are the connections of the open-loop runs; SatConns those of
	// the closed-loop saturation runs.
	Conns, SatConns int
	// Rate1 and RateBatched are the open-loop rates (requests/s) against
	// the batch-1 and the batching server; without them, Fractions of the
	// saturation throughput measured just before are run.
	Rate1, RateBatched []float64
	Fractions          []float64
	// MaxBatch and MaxDelay configure the batching server.
	MaxBatch int
	MaxDelay time.Duration
	// Log receives the servers' events.
	Log *slog.Logger
}

// Run is one load run with the CPU time the whole process (generator and
// server) used during it.
type Run struct {
	LoadResult
	CPU time.Duration
	// MeanBatch is the mean number of instances per forward pass during
	// the run (the server's ringtrain_serve_batch_size histogram); 0 for
	// the canned-answer server.
	MeanBatch float64
}

// CPUPerRequest is the process CPU time per request sent.
func (r Run) CPUPerRequest() time.Duration {
	if r.Sent == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Sent)
}

// ServeResult is what ServeBench measured.
type ServeResult struct {
	Spec      string // the model's kind and layer sizes
	Endpoint  string
	InputSize int
	MaxBatch  int
	MaxDelay  time.Duration
	// Forward1 is the median in-process Predict time of one instance;
	// ForwardMax of MaxBatch instances (the same Predictor the server
	// runs).
	Forward1, ForwardMax time.Duration
	// Null is the generator against a server answering a canned body of
	// a real answer's size at once (closed loop): the floor of the
	// generator and Go's HTTP stack on this machine.
	Null Run
	// NullOpen is the same canned-answer server open loop at the first
	// batch-1 rate: the latency the machine and HTTP alone give there.
	NullOpen Run
	// Batch1Sat and BatchedSat are closed-loop saturation runs (SatConns
	// connections); Batch1 and Batched the open-loop runs, by rate.
	Batch1Sat, BatchedSat Run
	Batch1, Batched       []Run
}

// ServeBench measures the in-process forward time, then the served
// latency and throughput of a batch-1 server and of a batching server,
// each started in-process on 127.0.0.1:0 and loaded over real HTTP.
func ServeBench(ctx context.Context, o ServeOptions) (*ServeResult, error) {
	if o.Endpoint != "v2" && o.Endpoint != "predict" {
		return nil, fmt.Errorf("bench: serve: endpoint %q: want v2 or predict", o.Endpoint)
	}
	if o.Duration <= 0 || o.Conns < 1 || o.SatConns < 1 || o.MaxBatch < 1 || o.MaxDelay <= 0 {
		return nil, fmt.Errorf("bench: serve: want duration > 0, conns >= 1, sat-conns >= 1, max-batch >= 1, max-delay > 0")
	}
	for _, r := range slices.Concat(o.Rate1, o.RateBatched, o.Fractions) {
		if !(r > 0) || math.IsInf(r, 0) {
			return nil, fmt.Errorf("bench: serve: rate or fraction %v: want a finite number > 0", r)
		}
	}
	if len(o.Fractions) == 0 && (len(o.Rate1) == 0 || len(o.RateBatched) == 0) {
		return nil, fmt.Errorf("bench: serve: no open-loop rates: give rates or fractions of the saturation throughput")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	snap, err := o.Source.Load()
	if err != nil {
		return nil, err
	}
	res := &ServeResult{Endpoint: o.Endpoint, MaxBatch: o.MaxBatch, MaxDelay: o.MaxDelay, Spec: describeSpec(snap)}
	if res.Forward1, res.ForwardMax, err = forwardTimes(snap, o.MaxBatch); err != nil {
		return nil, err
	}
	res.InputSize = snap.Spec.InputSize()
	body := requestBody(o.Endpoint, res.InputSize)

	// Batch 1: saturation (closed loop), then open loop below it.
	var answer []byte
	err = withServer(ctx, o, 1, func(url string, batches batchCounter) error {
		if answer, err = probe(ctx, url, body); err != nil {
			return err
		}
		if res.Batch1Sat, err = measure(ctx, LoadOptions{URL: url, Body: body, Duration: o.Duration, Conns: o.SatConns}, batches); err != nil {
			return err
		}
		res.Batch1, err = openLoop(ctx, o, url, body, o.Rate1, res.Batch1Sat.Rps, batches)
		return err
	})
	if err != nil {
		return nil, err
	}
	// The generator's own floor: the same requests, a canned answer.
	if res.Null, res.NullOpen, err = nullRuns(ctx, o, body, answer, res.Batch1[0].Rate); err != nil {
		return nil, err
	}
	err = withServer(ctx, o, o.MaxBatch, func(url string, batches batchCounter) error {
		if _, err := probe(ctx, url, body); err != nil {
			return err
		}
		if res.BatchedSat, err = measure(ctx, LoadOptions{URL: url, Body: body, Duration: o.Duration, Conns: o.SatConns}, batches); err != nil {
			return err
		}
		res.Batched, err = openLoop(ctx, o, url, body, o.RateBatched, res.BatchedSat.Rps, batches)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// openLoop runs Load open loop at each of rates, or at o.Fractions of
// saturated requests/s when rates is empty.
func openLoop(ctx context.Context, o ServeOptions, url string, body []byte, rates []float64, saturated float64, batches batchCounter) ([]Run, error) {
	if len(rates) == 0 {
		for _, f := range o.Fractions {
			rates = append(rates, max(math.Round(f*saturated), 1))
		}
	}
	var runs []Run
	for _, rate := range rates {
		r, err := measure(ctx, LoadOptions{URL: url, Body: body, Rate: rate, Duration: o.Duration, Conns: o.Conns}, batches)
		if err != nil {
			return runs, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// batchCounter returns the number of forward passes so far and the
// instances they computed (nil: not a serve.Server).
type batchCounter func() (passes, instances float64)

// measure runs Load and records the process CPU time it took and, with
// batches, the mean batch size.
func measure(ctx context.Context, lo LoadOptions, batches batchCounter) (Run, error) {
	var n0, s0 float64
	if batches != nil {
		n0, s0 = batches()
	}
	c0 := processCPU()
	r, err := Load(ctx, lo)
	run := Run{LoadResult: r, CPU: processCPU() - c0}
	if batches != nil {
		if n1, s1 := batches(); n1 > n0 {
			run.MeanBatch = (s1 - s0) / (n1 - n0)
		}
	}
	return run, err
}

// batchSizes reads the count and sum of the server's batch size
// histogram.
func batchSizes(reg *prometheus.Registry) (count, sum float64) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		if mf.GetName() == "ringtrain_serve_batch_size" {
			for _, m := range mf.GetMetric() {
				if h := m.GetHistogram(); h != nil {
					count += float64(h.GetSampleCount())
					sum += h.GetSampleSum()
				}
			}
		}
	}
	return count, sum
}

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// withServer serves o.Source with the given max batch on 127.0.0.1:0,
// calls f with the inference URL, then drains the server.
func withServer(ctx context.Context, o ServeOptions, maxBatch int, f func(url string, batches batchCounter) error) error {
	srv, err := serve.New(o.Source, serve.Options{Name: "bench", MaxBatch: maxBatch, MaxDelay: o.MaxDelay, Queue: max(256, 2*o.SatConns, 2*o.Conns), Log: o.Log})
	if err != nil {
		return fmt.Errorf("bench: serve: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return fmt.Errorf("bench: serve: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	url := "http://" + ln.Addr().String() + "/predict"
	if o.Endpoint == "v2" {
		url = "http://" + ln.Addr().String() + "/v2/models/bench/infer"
	}
	ferr := f(url, func() (float64, float64) { return batchSizes(srv.Registry()) })
	cancel()
	return errors.Join(ferr, <-done)
}

// probe sends one request and returns the answer, failing unless it is a
// 200.
func probe(ctx context.Context, url string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytesReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: serve: the first request: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("bench: serve: the first answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: serve: the first request got %d: %s", resp.StatusCode, b)
	}
	return b, nil
}

// nullRuns load a server that answers every request with answer at once
// (after reading the body): closed loop like the saturation runs, then
// open loop at rate.
func nullRuns(ctx context.Context, o ServeOptions, body, answer []byte, rate float64) (closed, open Run, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Run{}, Run{}, fmt.Errorf("bench: serve: %w", err)
	}
	hs := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/"
	closed, err = measure(ctx, LoadOptions{URL: url, Body: body, Duration: o.Duration, Conns: o.SatConns}, nil)
	if err == nil {
		open, err = measure(ctx, LoadOptions{URL: url, Body: body, Rate: rate, Duration: o.Duration, Conns: o.Conns}, nil)
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(err, hs.Shutdown(shut))
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return closed, open, err
}
