package worker

import (
	"context"
	"sync"

	"github.com/ringtrain/ringtrain/data"
)

// batchKey is what a training batch is a function of: every source deals
// the same samples for the same cursor, rank and world, whatever it dealt
// before (its state is a cache: a shard stream, scratch buffers).
type batchKey struct {
	cursor      data.Cursor
	rank, world int
}

// batch is one rank's training batch at key, or the error filling it.
type batch struct {
	key batchKey
	x   []float32
	y   []int32
	err error
}

// prefetcher fills the next training batches ahead of the step (job key
// data.prefetch), like a data loader's prefetch: while step k computes, a
// goroutine of its own fills batch k+1 (and k+2 with depth 2) into spare
// buffers. Once started it is the only caller of the source's fill, so a
// source needs no locking: the trainer fills directly only when nothing is
// in flight. A batch in flight for a key the step does not ask for (a
// restore to another cursor, a failed step asked again) is discarded and
// the step's batch filled then; an error filling a batch is returned by the
// step that asks for that batch. The shard source's read-ahead goroutine
// stays the only reader of the disk: the prefetcher copies samples out of
// the shards it has read.
type prefetcher struct {
	src    source
	spe    int // steps per epoch
	depth  int // batches in flight at most
	bx, by int // a batch's inputs and labels

	reqs    chan *batch // to the goroutine; capacity depth
	done    chan *batch // filled, in the order asked; capacity depth
	pending []*batch    // asked for and not yet taken, in order
	free    []*batch
	cur     *batch // the batch the last step used
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	// what get did: batches taken as prefetched, stale ones
	// discarded, batches filled by get itself
	hits, discarded, filled int
}

// newPrefetcher starts the goroutine that fills src's batches depth
// ahead, into buffers the size of x and y (one rank's batch; x and y are
// the first of them).
func newPrefetcher(src source, depth int, x []float32, y []int32) *prefetcher {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prefetcher{src: src, spe: src.stepsPerEpoch(), depth: depth, bx: len(x), by: len(y),
		reqs: make(chan *batch, depth), done: make(chan *batch, depth), cancel: cancel, free: []*batch{{x: x, y: y}}}
	p.wg.Go(func() { p.run(ctx) })
	return p
}

// run fills the batches asked for, in order, until the prefetcher closes.
func (p *prefetcher) run(ctx context.Context) {
	for {
		select {
		case b := <-p.reqs:
			b.err = fillSource(ctx, p.src, b.key.cursor, b.key.rank, b.key.world, b.x, b.y)
			p.done <- b // room: at most depth are asked for
		case <-ctx.Done():
			return
		}
	}
}

// close stops the goroutine (a fill in progress ends with its context);
// the source can then be closed.
func (p *prefetcher) close() {
	p.cancel()
	p.wg.Wait()
}

// alloc is a free batch buffer.
func (p *prefetcher) alloc() *batch {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		b.err = nil
		return b
	}
	return &batch{x: make([]float32, p.bx), y: make([]int32, p.by)}
}

// get returns the batch at key: the prefetched one if it is in flight
// (waiting for it to be filled), else filled now. The batch stays valid
// until the next get; the one before it is reused. Batches in flight
// before it, for other keys, are discarded.
func (p *prefetcher) get(ctx context.Context, key batchKey) (*batch, error) {
	if p.cur != nil {
		p.free = append(p.free, p.cur)
		p.cur = nil
	}
	for len(p.pending) > 0 {
		var b *batch
		select {
		case b = <-p.done:
		case <-ctx.Done():
			return nil, ctx.Err() // what is in flight stays there, for the next get
		}
		p.pending = p.pending[1:] // b: the goroutine fills in the order asked
		if b.key != key {
			// stale: another cursor, rank or world
			p.free = append(p.free, b)
			p.discarded++
			continue
		}
		if b.err != nil {
			p.free = append(p.free, b)
			return nil, b.err
		}
		p.cur = b
		p.hits++
		return b, nil
	}
	// Nothing in flight: the goroutine is idle and the source is ours.
	b := p.alloc()
	b.key = key
	if err := fillSource(ctx, p.src, key.cursor, key.rank, key.world, b.x, b.y); err != nil {
		p.free = append(p.free, b)
		return nil, err
	}
	p.filled++
	p.cur = b
	return b, nil
}

// ahead asks for the batches that follow key (the step's own: the same
// rank and world, the next cursors) to be filled, up to depth in flight.
func (p *prefetcher) ahead(key batchKey) {
	if n := len(p.pending); n > 0 {
		key = p.pending[n-1].key
	}
	for len(p.pending) < p.depth {
		key.cursor = key.cursor.Advance(p.spe)
		b := p.alloc()
		b.key = key
		p.pending = append(p.pending, b)
		p.reqs <- b // room: at most depth are asked for
	}
}
