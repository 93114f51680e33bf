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

// batcher runs requests through the current predictor in batches of up to
// maxBatch instances. A batch starts with one request and takes what is
// already queued, then waits for more only while other requests are
// arriving (receiving > 0: handlers reading a body they have not yet
// submitted), and at most maxDelay: a lone request runs at once.
//
// One batch runs at a time, by whoever holds run: the batcher's goroutine
// for queued requests, or a handler whose request finds the queue empty
// and run free, which computes its batch in its own goroutine instead of
// handing the request over and back (submit). A new predictor is swapped
// in between batches.
type batcher struct {
	queue    chan *request
	swaps    chan *Predictor
	maxBatch int
	maxDelay time.Duration
	met      *metrics
	log      *slog.Logger

	// run (capacity 1) is held while a batch is formed and computed; p
	// and timer belong to its holder.
	run   chan struct{}
	p     *Predictor
	timer *time.Timer

	// receiving counts the handlers between arrive and leave; left wakes
	// a batch waiting for them when the count drops to 0 (buffered 1: a
	// stale signal costs one more look at the count).
	receiving atomic.Int64
	left      chan struct{}

	// kick (buffered 1) tells the loop that requests were queued.
	kick chan struct{}

	mu       sync.RWMutex // guards draining against submits
	draining bool
	stop     chan struct{} // closed after draining: the batcher finishes the queue and exits
	exited   chan struct{}
}

func newBatcher(p *Predictor, queueSize, maxBatch int, maxDelay time.Duration, met *metrics, log *slog.Logger) *batcher {
	b := &batcher{
		queue: make(chan *request, queueSize), swaps: make(chan *Predictor), left: make(chan struct{}, 1), kick: make(chan struct{}, 1),
		maxBatch: maxBatch, maxDelay: maxDelay, met: met, log: log,
		run: make(chan struct{}, 1), p: p, timer: time.NewTimer(time.Hour),
		stop: make(chan struct{}), exited: make(chan struct{}),
	}
	b.timer.Stop()
	go b.loop()
	return b
}

// submit hands r to the batcher, or fails at once with ErrQueueFull or
// ErrDraining, and leaves a (the request's arrival). A lone request (no
// batch running, none queued, no other being received) is computed in
// this goroutine before submit returns, in a batch with whatever was
// queued meanwhile; else r is queued for the batcher's goroutine. Either
// way r.done receives the result.
func (b *batcher) submit(r *request, a *arrival) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.draining {
		a.leave()
		return ErrDraining
	}
	if len(b.queue) == 0 && b.receiving.Load() == 1 { // only r's handler
		select {
		case b.run <- struct{}{}:
			a.leave()
			// Without waiting: waits for arrivals happen in loop, where
			// the handler still watches its deadline.
			batch, carry := b.fill(r, false)
			b.runBatch(batch)
			if carry != nil {
				b.runBatch([]*request{carry}) // not left for a next request to pick up
			}
			<-b.run
			return nil
		default:
		}
	}
	select {
	case b.queue <- r:
		a.leave()
		select {
		case b.kick <- struct{}{}:
		default: // the loop has a kick pending: it looks at the queue after this
		}
		return nil
	default:
		a.leave()
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

// loop computes the queued requests (woken by kick) and installs
// swapped-in predictors until the batcher is drained; then it computes
// what is left in the queue, closes the predictor and holds run for good.
// It takes requests from the queue only while it holds run, so that none
// waits for run outside the queue, where a batch being formed cannot
// take it.
func (b *batcher) loop() {
	defer close(b.exited)
	for {
		select {
		case <-b.kick:
			b.run <- struct{}{}
			b.runQueued()
			<-b.run
		case np := <-b.swaps:
			b.run <- struct{}{}
			b.p.Close()
			b.p = np
			b.met.version.Set(float64(np.info.Version))
			<-b.run
		case <-b.stop:
			b.run <- struct{}{} // a handler's batch may still be running
			b.runQueued()
			b.p.Close()
			return
		}
	}
}

// runQueued computes batches until the queue is empty. The caller holds
// run.
func (b *batcher) runQueued() {
	var carry *request // taken from the queue, did not fit the last batch
	for {
		first := carry
		if first == nil {
			select {
			case first = <-b.queue:
			default:
				return
			}
		}
		var batch []*request
		batch, carry = b.fill(first, true)
		b.runBatch(batch)
	}
}

// fill makes a batch of first and the requests that follow it: those
// already queued, then, if wait, while other requests are arriving, those
// that come within maxDelay of first being taken. A request that would
// make the batch larger than maxBatch is returned as carry, for the next
// one. The caller holds run.
func (b *batcher) fill(first *request, wait bool) (batch []*request, carry *request) {
	batch, rows := []*request{first}, first.n
	waiting := false
	for rows < b.maxBatch {
		var r *request
		select {
		case r = <-b.queue:
		default:
		}
		if r == nil {
			if !wait || b.receiving.Load() == 0 {
				break // nothing else on the way
			}
			if !waiting {
				waiting = true
				b.timer.Reset(b.maxDelay)
			}
			select {
			case r = <-b.queue:
			case <-b.left: // look at the count again
				continue
			case <-b.timer.C:
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
		b.timer.Stop()
	}
	return batch, carry
}

// runBatch drops the requests whose client is gone or whose deadline
// passed, runs the rest as one forward pass and answers each. The caller
// holds run.
func (b *batcher) runBatch(batch []*request) {
	p := b.p
	now := time.Now()
	live := batch[:0]
	size := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- result{err: err} // not computed
			continue
		}
		b.met.queue.Observe(now.Sub(r.enq).Seconds())
		live = append(live, r)
		size += len(r.x)
	}
	if len(live) == 0 {
		return
	}
	x := live[0].x // one request: its own inputs, not copied (Predict does not write them)
	if len(live) > 1 {
		x = make([]float32, 0, size)
		for _, r := range live {
			x = append(x, r.x...)
		}
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
