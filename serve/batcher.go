package serve

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Errors of Submit; the HTTP layer maps them to status codes.
var (
	ErrQueueFull = errors.New("the request queue is full")
	ErrDraining  = errors.New("the server is shutting down")
)

// request is one client's instances waiting for the batcher.
type request struct {
	ctx  context.Context
	x    []float32 // n*InputSize raw values
	n    int
	enq  time.Time
	done chan result // buffered: the batcher never blocks on it
}

// result is the batcher's answer to one request.
type result struct {
	logits, probs []float32
	version       int64
	err           error
}

// batcher runs queued requests through the current predictor in batches of
// up to maxBatch instances, waiting at most maxDelay for a batch to fill.
// Only its goroutine touches the predictor; a new one is swapped in
// between batches.
type batcher struct {
	queue    chan *request
	swaps    chan *Predictor
	maxBatch int
	maxDelay time.Duration
	met      *metrics
	log      *slog.Logger

	mu       sync.RWMutex // guards draining against sends on queue
	draining bool
	stop     chan struct{} // closed after draining: the batcher finishes the queue and exits
	exited   chan struct{}
}

func newBatcher(p *Predictor, queueSize, maxBatch int, maxDelay time.Duration, met *metrics, log *slog.Logger) *batcher {
	b := &batcher{
		queue: make(chan *request, queueSize), swaps: make(chan *Predictor),
		maxBatch: maxBatch, maxDelay: maxDelay, met: met, log: log,
		stop: make(chan struct{}), exited: make(chan struct{}),
	}
	go b.run(p)
	return b
}

// submit queues r, or fails at once with ErrQueueFull or ErrDraining.
func (b *batcher) submit(r *request) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.draining {
		return ErrDraining
	}
	select {
	case b.queue <- r:
		return nil
	default:
		return ErrQueueFull
	}
}

// drain refuses new requests; the batcher computes what is queued, then
// exits. wait for that with <-b.exited.
func (b *batcher) drain() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.draining {
		b.draining = true
		close(b.stop)
	}
}

// swap hands p to the batcher, which installs it between two batches and
// closes the old one; it returns false (p not taken) if ctx ends first or
// the batcher has exited.
func (b *batcher) swap(ctx context.Context, p *Predictor) bool {
	select {
	case b.swaps <- p:
		return true
	case <-ctx.Done():
		return false
	case <-b.exited:
		return false
	}
}

func (b *batcher) run(p *Predictor) {
	defer close(b.exited)
	defer p.Close()
	var carry *request // taken from the queue, did not fit the last batch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-b.queue:
			case np := <-b.swaps:
				p.Close()
				p = np
				b.met.version.Set(float64(p.info.Version))
				continue
			case <-b.stop:
				select {
				case first = <-b.queue:
				default:
					return
				}
			}
		}
		batch := []*request{first}
		rows := first.n
		timer.Reset(b.maxDelay)
	fill:
		for rows < b.maxBatch {
			select {
			case r := <-b.queue:
				if rows+r.n > b.maxBatch {
					carry = r
					break fill
				}
				batch = append(batch, r)
				rows += r.n
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		b.runBatch(p, batch)
	}
}

// runBatch drops the requests whose client is gone or whose deadline
// passed, runs the rest as one forward pass and answers each.
func (b *batcher) runBatch(p *Predictor, batch []*request) {
	now := time.Now()
	live := batch[:0]
	var x []float32
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- result{err: err} // not computed
			continue
		}
		b.met.queue.Observe(now.Sub(r.enq).Seconds())
		live = append(live, r)
		x = append(x, r.x...)
	}
	if len(live) == 0 {
		return
	}
	rows := len(x) / p.info.InputSize()
	b.met.batch.Observe(float64(rows))
	logits, probs, err := p.Predict(x)
	if err != nil {
		b.log.Error("forward pass failed", "instances", rows, "err", err)
		for _, r := range live {
			r.done <- result{err: err}
		}
		return
	}
	c := p.info.Classes()
	off := 0
	for _, r := range live {
		k := r.n * c
		r.done <- result{logits: logits[off : off+k], probs: probs[off : off+k], version: p.info.Version}
		off += k
	}
}
