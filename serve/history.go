package serve

import (
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The status page's history: a ring buffer of per-interval samples of the
// server's metrics, and the last reloads.
const (
	historyLen = 300 // samples kept: five minutes at one a second
	reloadsLen = 20  // reloads kept
)

// histSample is one interval's figures; NaN where the interval had no
// request (or no batch).
type histSample struct {
	t              time.Time
	p50, p99, p999 float64 // request latency, seconds
	rate           float64 // requests answered per second
	batch          float64 // mean instances per forward pass
	queue          float64 // requests waiting at the sample
}

// reloadEvent is one checkpoint loaded (or that failed to load).
type reloadEvent struct {
	t    time.Time
	step int64
	err  string
}

// counts are the cumulative figures a sample is the difference of.
type counts struct {
	bounds   []float64 // latency bucket upper bounds
	cum      []uint64  // cumulative latency counts per bound, summed over endpoints
	latN     uint64    // latency observations
	batchSum float64
	batchN   uint64
	queue    float64
}

type history struct {
	mu      sync.Mutex
	started time.Time
	first   int64 // the version served at start
	ring    []histSample
	next    int // where the next sample goes
	reloads []reloadEvent
	prev    counts
	prevT   time.Time
}

func newHistory(now time.Time, version int64) *history {
	return &history{started: now, first: version, ring: make([]histSample, 0, historyLen), prevT: now}
}

// add appends a sample, overwriting the oldest once full.
func (h *history) add(s histSample) {
	if len(h.ring) < historyLen {
		h.ring = append(h.ring, s)
		return
	}
	h.ring[h.next] = s
	h.next = (h.next + 1) % historyLen
}

// samples are the kept samples, oldest first.
func (h *history) samples() []histSample {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]histSample, 0, len(h.ring))
	out = append(out, h.ring[h.next:]...)
	return append(out, h.ring[:h.next]...)
}

func (h *history) reloaded(t time.Time, step int64, err error) {
	ev := reloadEvent{t: t, step: step}
	if err != nil {
		ev.err = err.Error()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reloads = append(h.reloads, ev)
	if len(h.reloads) > reloadsLen {
		h.reloads = h.reloads[len(h.reloads)-reloadsLen:]
	}
}

func (h *history) reloadList() []reloadEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]reloadEvent(nil), h.reloads...)
}

// observe turns the cumulative figures c at t into a sample of the
// interval since the last call.
func (h *history) observe(t time.Time, c counts) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := histSample{t: t, p50: math.NaN(), p99: math.NaN(), p999: math.NaN(), batch: math.NaN(), queue: c.queue}
	p := h.prev
	if len(p.cum) != len(c.cum) {
		p = counts{cum: make([]uint64, len(c.cum))}
	}
	if dn := c.latN - p.latN; dn > 0 {
		delta := make([]uint64, len(c.cum))
		for i := range c.cum {
			delta[i] = c.cum[i] - p.cum[i]
		}
		s.p50 = bucketQuantile(0.5, c.bounds, delta, dn)
		s.p99 = bucketQuantile(0.99, c.bounds, delta, dn)
		s.p999 = bucketQuantile(0.999, c.bounds, delta, dn)
		if dt := t.Sub(h.prevT).Seconds(); dt > 0 {
			s.rate = float64(dn) / dt
		}
	}
	if dn := c.batchN - p.batchN; dn > 0 {
		s.batch = (c.batchSum - p.batchSum) / float64(dn)
	}
	h.prev, h.prevT = c, t
	h.add(s)
}

// bucketQuantile estimates the q quantile of n observations from their
// cumulative counts per upper bound (the last bound's count may be below
// n: the rest are beyond it), interpolating linearly within the bucket as
// Prometheus's histogram_quantile does; beyond the last bound it is that
// bound.
func bucketQuantile(q float64, bounds []float64, cum []uint64, n uint64) float64 {
	rank := q * float64(n)
	lo, below := 0.0, uint64(0)
	for i, ub := range bounds {
		if float64(cum[i]) >= rank && cum[i] > below {
			return lo + (ub-lo)*(rank-float64(below))/float64(cum[i]-below)
		}
		lo, below = ub, cum[i]
	}
	return lo
}

// gatherCounts reads the cumulative figures from the registry.
func gatherCounts(reg *prometheus.Registry) counts {
	var c counts
	fams, err := reg.Gather()
	if err != nil {
		return c
	}
	for _, f := range fams {
		switch f.GetName() {
		case "ringtrain_serve_request_duration_seconds":
			for _, m := range f.GetMetric() {
				h := m.GetHistogram()
				b := h.GetBucket()
				if c.bounds == nil {
					c.bounds, c.cum = make([]float64, len(b)), make([]uint64, len(b))
					for i, x := range b {
						c.bounds[i] = x.GetUpperBound()
					}
				}
				for i, x := range b {
					if i < len(c.cum) {
						c.cum[i] += x.GetCumulativeCount()
					}
				}
				c.latN += h.GetSampleCount()
			}
		case "ringtrain_serve_batch_size":
			for _, m := range f.GetMetric() {
				c.batchSum += m.GetHistogram().GetSampleSum()
				c.batchN += m.GetHistogram().GetSampleCount()
			}
		case "ringtrain_serve_queue_length":
			for _, m := range f.GetMetric() {
				c.queue = m.GetGauge().GetValue()
			}
		}
	}
	return c
}

// sampleHistory samples the metrics every interval in a goroutine until
// the returned stop is called (stop waits for it; calling it again does
// nothing).
func (s *Server) sampleHistory(interval time.Duration) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				s.hist.observe(now, gatherCounts(s.met.reg))
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-exited
	}
}
