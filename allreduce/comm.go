package allreduce

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Comm runs collectives over one Transport. Create it with New, stop it with
// Close. Methods may be called from any goroutine; collectives are
// serialized. See the package documentation for the caller's duties and the
// failure model.
type Comm struct {
	t          Transport
	cfg        Config
	rank, size int
	segLen     int // floats per segment
	smallLen   int // floats at or below which AllReduce uses recursive doubling
	directLen  int // floats at or below which AllReduce runs DirectAllReduce (0: never)
	halvingLen int // floats at or below which AllReduce runs HalvingAllReduce (0: never)
	rd         rdPlan
	hier       *hierPlan // nil: no host map, or the flat ring is the same
	// sendBuffer: the transport's SendBuffer (sequentialAhead); 0: it does
	// not say.
	sendBuffer int
	// reducer, hinter and bulk: the transport's optional methods
	// (transport_opt.go); reduceFrom[p]: frames from p go through reducer.
	reducer    RecvReducer
	reduceFrom []bool
	hinter     SequentialHinter
	bulk       BulkHinter
	shared     SharedReducer // nil: AllReduce moves frames

	mu struct {
		sync.Mutex
		seq     uint32
		scratch []float32
		carrier []float32 // received half-width frames (Config.Compress)
		packSeq []float32 // packed sends of runSequential
		sched   map[schedKey]*compiled
		oneStep [1]Step
	}

	// failure: the first error wins; once set the Comm is broken.
	failMu sync.Mutex
	cause  error
	broken atomic.Bool

	// The persistent sender goroutine and its hand-off (no allocation per
	// call): job is written by the caller before jobs is signalled and read
	// only by the sender until it answers on sendDone.
	job      sendJob
	packSend []float32 // the sender goroutine's packed frames (Config.Compress)
	jobs     chan struct{}
	sendDone chan error
	progress atomic.Int64  // receive segments completed in the running job
	wake     chan struct{} // progress changed (capacity 1)
	stop     chan struct{} // the receiving side failed: stop waiting (capacity 1)
	quit     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once

	// tracer, if set, sees each schedule step's receive side (its duration
	// from the first to the last received segment). Set before use.
	tracer func(op Op, step int, start, end time.Time)
}

// SetTracer makes the Comm report every step of every collective it runs
// (op, step number, when its receive side began and ended) to f, on the
// calling goroutine. Call it before the first collective; nil turns it off.
func (c *Comm) SetTracer(f func(op Op, step int, start, end time.Time)) {
	c.mu.Lock()
	c.tracer = f
	c.mu.Unlock()
}

type sendJob struct {
	ctx       context.Context
	op        Op
	seq       uint32
	steps     []Step
	prefix    []int // receive segments before each step
	buf       []float32
	minFrames int // 1: always send at least one frame per step (recursive doubling)
	half      Compression
}

// schedKey names a compiled schedule: the collective, the buffer length, the
// broadcast root, and the sub-range of the range collectives.
type schedKey struct {
	op     Op
	n      int
	root   int
	lo, hi int
}

// maxSchedules bounds the schedule cache (cleared when it would grow past
// it, so lengths that keep changing cannot grow it without bound). It is
// large enough for every bucket of a bucketed step, both ways, to stay
// cached: a cleared cache recompiles (allocates) on the next calls.
const maxSchedules = 1024

type compiled struct {
	steps  []Step
	prefix []int
}

var errStopped = errors.New("allreduce: sender stopped")

// New returns a Comm over t. It starts one goroutine, stopped by Close.
func New(t Transport, cfg Config) (*Comm, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errors.New("allreduce: nil transport")
	}
	rank, size := t.Rank(), t.Size()
	if size < 1 || rank < 0 || rank >= size {
		return nil, fmt.Errorf("allreduce: transport reports rank %d of world size %d", rank, size)
	}
	if err := validateHosts(cfg.Hosts, size); err != nil {
		return nil, err
	}
	seg, err := segmentBytes(t, cfg)
	if err != nil {
		return nil, err
	}
	c := &Comm{
		t: t, cfg: cfg, hier: newHierPlan(rank, cfg.Hosts), rank: rank, size: size,
		segLen:   seg / 4,
		smallLen: cfg.SmallBytes / 4,
		rd:       newRDPlan(rank, size),
		jobs:     make(chan struct{}),
		sendDone: make(chan error, 1),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
	}
	c.sendBuffer = sendBuffer(t)
	c.reducer, c.reduceFrom = recvReducer(t, size)
	c.hinter = sequentialHinter(t)
	c.bulk = bulkHinter(t)
	if c.hier == nil { // a host map that spans hosts: the hierarchical plan
		c.shared = sharedReducer(t, cfg)
	}
	if DirectApplies(size) {
		c.directLen = cfg.DirectBytes / 4
	}
	if HalvingApplies(size) {
		c.halvingLen = halvingBytes(t, cfg, c.directLen > 0) / 4
	}
	c.mu.sched = make(map[schedKey]*compiled)
	c.mu.scratch = make([]float32, max(c.segLen, c.smallLen))
	if cfg.Compress != CompressNone {
		c.mu.carrier = make([]float32, carriers(c.segLen))
		c.mu.packSeq = make([]float32, carriers(c.segLen))
		c.packSend = make([]float32, carriers(c.segLen))
	}
	c.wg.Add(1)
	go c.sendLoop()
	return c, nil
}

// Rank is this rank. Size is the world size.
func (c *Comm) Rank() int { return c.rank }

// Size is the world size.
func (c *Comm) Size() int { return c.size }

// Abort makes every in-flight collective on this rank return an error
// wrapping ErrAborted promptly, and breaks the Comm (and its Transport) for
// good. Call it on a generation change. Safe from any goroutine, any time.
func (c *Comm) Abort() { c.fail(ErrAborted) }

// Close aborts anything in flight and stops the Comm's goroutine. It does
// not close the Transport, which the caller owns.
func (c *Comm) Close() error {
	c.once.Do(func() {
		c.failNoAbort(ErrClosed)
		close(c.quit)
		c.wg.Wait()
	})
	return nil
}

// Err returns the error that broke the Comm, or nil.
func (c *Comm) Err() error {
	if !c.broken.Load() {
		return nil
	}
	c.failMu.Lock()
	defer c.failMu.Unlock()
	return c.cause
}

// fail records the first cause and aborts the transport so that this rank's
// in-flight calls return and its peers notice.
func (c *Comm) fail(err error) {
	c.failNoAbort(err)
	c.t.Abort()
}

func (c *Comm) failNoAbort(err error) {
	c.failMu.Lock()
	if c.cause == nil {
		c.cause = err
		c.broken.Store(true)
	}
	c.failMu.Unlock()
}

// begin takes the collective lock and checks the Comm is usable.
func (c *Comm) begin(ctx context.Context) error {
	c.mu.Lock()
	if err := c.Err(); err != nil {
		c.mu.Unlock()
		return fmt.Errorf("allreduce: comm unusable after an earlier failure: %w", err)
	}
	if err := ctx.Err(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.mu.seq++
	return nil
}

// failed turns a collective's error into the recorded first cause.
func (c *Comm) failed(err error) error {
	c.fail(err)
	return c.Err()
}

func (c *Comm) schedule(k schedKey) *compiled {
	if s, ok := c.mu.sched[k]; ok {
		return s
	}
	var steps []Step
	switch n := k.n; k.op {
	case OpReduceScatter:
		steps = RingReduceScatter(c.rank, c.size, n)
	case OpAllGather:
		steps = RingAllGather(c.rank, c.size, n)
	case OpAllReduceRing:
		steps = RingAllReduce(c.rank, c.size, n)
	case OpAllReduceHier:
		steps = c.hier.steps(n)
	case OpAllReduceDirect:
		steps = DirectAllReduce(c.rank, c.size, n)
	case OpAllReduceHalving:
		steps = HalvingAllReduce(c.rank, c.size, n)
	case OpBroadcast:
		steps = ChainBroadcast(c.rank, c.size, k.root, n)
	case OpReduceScatterRange:
		steps = RangeReduceScatter(c.rank, c.size, n, k.lo, k.hi)
	case OpAllGatherRange:
		steps = RangeAllGather(c.rank, c.size, n, k.lo, k.hi)
	}
	s := &compiled{steps: steps, prefix: make([]int, len(steps)+1)}
	for i, st := range steps {
		segs := 0
		if st.From >= 0 {
			segs = c.segCount(st.RecvHi-st.RecvLo, 0)
		}
		s.prefix[i+1] = s.prefix[i] + segs
	}
	if len(c.mu.sched) >= maxSchedules {
		clear(c.mu.sched)
	}
	c.mu.sched[k] = s
	return s
}

// compression is the wire width of op's frames: Config.Compress for the
// reduce-scatters (whose every frame is a partial sum), none otherwise.
func (c *Comm) compression(op Op) Compression {
	if op == OpReduceScatter || op == OpReduceScatterRange {
		return c.cfg.Compress
	}
	return CompressNone
}

// segCount is the number of frames that carry n elements.
func (c *Comm) segCount(n, minFrames int) int {
	return max((n+c.segLen-1)/c.segLen, minFrames)
}

func (c *Comm) segBounds(lo, hi, s int) (int, int) {
	a := lo + s*c.segLen
	return a, min(hi, a+c.segLen)
}

// Compression is the width at which this Comm's reduce-scatters send
// (Config.Compress).
func (c *Comm) Compression() Compression { return c.cfg.Compress }
