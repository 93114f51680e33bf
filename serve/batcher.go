package serve

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
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
// up to maxBatch instances. After taking a request it takes what is
// already queued, then waits for more only while other requests are
// arriving (receiving > 0: handlers reading a body they have not yet
// submitted), and at most maxDelay; a lone request runs at once. Only its
// goroutine touches the predictor; a new one is swapped in between
// batches.
type batcher struct {
	queue    chan *request
	swaps    chan *Predictor
	maxBatch int
	maxDelay time.Duration
	met      *metrics
	log      *slog.Logger

	// receiving counts the handlers between arrive and leave; left wakes
	// a batcher waiting for them when the count drops to 0 (buffered 1:
	// a stale signal costs one more look at the count).
	receiving atomic.Int64
	left      chan struct{}

	mu       sync.RWMutex // guards draining against sends on queue
	draining bool
	stop     chan struct{} // closed after draining: the batcher finishes the queue and exits
	exited   chan struct{}
}

func newBatcher(p *Predictor, queueSize, maxBatch int, maxDelay time.Duration, met *metrics, log *slog.Logger) *batcher {
	b := &batcher{
		queue: make(chan *request, queueSize), swaps: make(chan *Predictor), left: make(chan struct{}, 1),
		maxBatch: maxBatch, maxDelay: maxDelay, met: met, log: log,
		stop: make(chan struct{}), exited: make(chan struct{}),
	}
	go b.run(p)
	return b
}

// arrival is one handler's mark in the batcher's receiving count, from
// arrive (before reading the request body) to leave (after submitting it,
// or failing before).
type arrival struct {
	b    *batcher
	left bool
}

// arrive counts a handler that is about to read a request body: the
// batcher waits for its request (at most maxDelay) until it leaves.
func (b *batcher) arrive() arrival {
	b.receiving.Add(1)
	return arrival{b: b}
}

// leave uncounts the handler (idempotent). Call it after submit, so that
// a batcher that sees the count drop finds the request queued.
func (a *arrival) leave() {
	if a.left {
		return
	}
	a.left = true
	if a.b.receiving.Add(-1) == 0 {
		select {
		case a.b.left <- struct{}{}:
		default:
		}
	}
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
		var batch []*request
		batch, carry = b.fill(first, timer)
		b.runBatch(p, batch)
	}
}

// fill makes a batch of first and the requests that follow it: those
// already queued, then, while other requests are arriving, those that
// come within maxDelay of first being taken. A request that would make
// the batch larger than maxBatch is returned as carry, for the next one.
func (b *batcher) fill(first *request, timer *time.Timer) (batch []*request, carry *request) {
	batch, rows := []*request{first}, first.n
	waiting := false
	for rows < b.maxBatch {
		var r *request
		select {
		case r = <-b.queue:
		default:
		}
		if r == nil {
			if b.receiving.Load() == 0 {
				break // nothing else on the way
			}
			if !waiting {
				waiting = true
				timer.Reset(b.maxDelay)
			}
			select {
			case r = <-b.queue:
			case <-b.left: // look at the count again
				continue
			case <-timer.C:
				waiting = false // fired
			}
			if r == nil {
				break
			}
		}
		if rows+r.n > b.maxBatch {
			carry = r
			break
		}
		batch = append(batch, r)
		rows += r.n
	}
	if waiting {
		timer.Stop()
	}
	return batch, carry
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
