package worker

import (
	"context"
	"sync"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/model"
)

// overlap runs a step's collectives on its own goroutine so that they run
// under the computation: the reduce-scatter of every gradient bucket as
// soon as backward has made it final (model.Hooks.GradReady), the
// all-gather of the updated parameters bucket by bucket after the
// optimizer, each waited for only when the next forward pass reaches that
// bucket (model.Hooks.WaitParams).
//
// Every rank enqueues the same collectives in the same order (backward and
// forward are deterministic), and the trainer calls the Comm itself only
// once the goroutine is idle (settle), so the collectives' order is the
// same on every rank, as allreduce requires.
type overlap struct {
	comm          *allreduce.Comm
	params, grads []float32
	ef            *feedback // nil unless the Comm compresses
	buckets       []model.Range
	jobs          chan ovJob
	quit          chan struct{}
	wg            sync.WaitGroup

	// hooks: the last micro-batch's (both); waitOnly: the others'.
	hooks, waitOnly model.Hooks

	mu       sync.Mutex
	cond     *sync.Cond
	err      error
	gathered []bool // per bucket: its parameters are complete
	queued   int    // jobs enqueued and not finished
	ctx      context.Context
	waited   time.Duration // this step: time the forward pass waited for parameters
}

type ovJob struct {
	ctx    context.Context
	gather bool // all-gather of parameters; else reduce-scatter of gradients
	b      int
	// shift: the replica stream (liveState): pre runs first (if not nil;
	// even after a failure: it copies local state), then send goes to the
	// next rank while the previous rank's arrives in recv, then done runs.
	shift      bool
	exchange   bool // else the shift job only runs pre
	pre, done  func()
	send, recv []float32
}

func newOverlap(comm *allreduce.Comm, m model.Engine) *overlap {
	o := &overlap{comm: comm, params: m.Params(), grads: m.Grads(), buckets: m.Buckets(), quit: make(chan struct{})}
	if c := comm.Compression(); c != allreduce.CompressNone {
		lo, hi := allreduce.ShardRange(len(o.grads), comm.Size(), comm.Rank())
		o.ef = newFeedback(c, len(o.grads), lo, hi)
	}
	o.jobs = make(chan ovJob, 2*len(o.buckets)+2)
	o.cond = sync.NewCond(&o.mu)
	o.gathered = make([]bool, len(o.buckets))
	for b := range o.gathered {
		o.gathered[b] = true
	}
	o.hooks = model.Hooks{WaitParams: o.waitParams, GradReady: o.gradReady}
	o.waitOnly = model.Hooks{WaitParams: o.waitParams}
	o.wg.Add(1)
	go o.loop()
	return o
}

// loop runs the enqueued collectives in order. After a failure (the Comm
// is then broken for good) it only marks the rest done.
func (o *overlap) loop() {
	defer o.wg.Done()
	for {
		var j ovJob
		select {
		case <-o.quit:
			return
		case j = <-o.jobs:
		}
		o.mu.Lock()
		failed := o.err != nil
		o.mu.Unlock()
		var err error
		if j.shift {
			if j.pre != nil {
				j.pre()
			}
			if !failed && j.exchange {
				if err = o.comm.Shift(j.ctx, j.send, j.recv); err == nil && j.done != nil {
					j.done()
				}
			}
		} else if !failed {
			r := o.buckets[j.b]
			if j.gather {
				err = o.comm.AllGatherRange(j.ctx, o.params, r.Lo, r.Hi)
			} else {
				if o.ef != nil {
					o.ef.apply(o.grads, r.Lo, r.Hi)
				}
				err = o.comm.ReduceScatterRange(j.ctx, o.grads, r.Lo, r.Hi, allreduce.Mean)
			}
		}
		o.mu.Lock()
		if err != nil && o.err == nil {
			o.err = err
		}
		if j.gather && !j.shift {
			o.gathered[j.b] = true
		}
		o.queued--
		o.cond.Broadcast()
		o.mu.Unlock()
	}
}

// begin starts a step's bookkeeping; ctx bounds the collectives it
// enqueues.
func (o *overlap) begin(ctx context.Context) {
	o.mu.Lock()
	o.ctx, o.waited = ctx, 0
	o.mu.Unlock()
}

func (o *overlap) enqueue(gather bool, b int) {
	o.mu.Lock()
	o.queued++
	if gather {
		o.gathered[b] = false
	}
	ctx := o.ctx
	o.mu.Unlock()
	o.jobs <- ovJob{ctx: ctx, gather: gather, b: b} // capacity: a step enqueues at most 2 per bucket and one shift
}

// enqueueShift enqueues the replica stream's exchange of a step's state
// (after that step's all-gathers: it runs under the next forward pass).
func (o *overlap) enqueueShift(pre func(), send, recv []float32, done func(), exchange bool) {
	o.mu.Lock()
	o.queued++
	ctx := o.ctx
	o.mu.Unlock()
	o.jobs <- ovJob{ctx: ctx, shift: true, exchange: exchange, pre: pre, send: send, recv: recv, done: done}
}

// gradReady is model.Hooks.GradReady: bucket b's gradients go out.
func (o *overlap) gradReady(b int) { o.enqueue(false, b) }

// waitParams is model.Hooks.WaitParams: it returns once bucket b's
// parameters are complete, or the step has failed (the pass's result is
// then discarded: see failure).
func (o *overlap) waitParams(b int) {
	o.mu.Lock()
	if !o.gathered[b] && o.err == nil {
		t0 := time.Now()
		for !o.gathered[b] && o.err == nil {
			o.cond.Wait()
		}
		o.waited += time.Since(t0)
	}
	o.mu.Unlock()
}

// settle waits until every enqueued collective is done and returns the
// first error; afterwards the caller may use the Comm directly.
func (o *overlap) settle() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.queued > 0 && o.err == nil {
		o.cond.Wait()
	}
	return o.err
}

// failure is the first error of the collectives, if any.
func (o *overlap) failure() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// waitedForParams is how long this step's forward passes waited.
func (o *overlap) waitedForParams() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.waited
}

// gather enqueues the all-gather of every bucket, in the order the next
// forward pass reads them.
func (o *overlap) gather() {
	for b := range o.buckets {
		o.enqueue(true, b)
	}
}

// close waits for the collectives still queued (after a healthy step the
// last all-gather is still running, and the peers are in it too: aborting
// it would fail them), then stops the goroutine. The wait is bounded: a
// collective ends when it completes, when a peer fails or leaves (its links
// close), at the transport's I/O timeout, or when the owner aborts the Comm.
func (o *overlap) close() {
	o.settle()
	close(o.quit)
	o.wg.Wait()
}
