package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ringtrain/ringtrain/data"
)

// shardSource streams a rank's training samples from a shard directory
// (data.ShardPlan): a goroutine reads the shards of the rank's segment of
// the epoch ahead of the step, into at most shardBuffers buffers of a
// shard each (one the step reads, one read ahead), so the resident data
// is bounded by two shards whatever the data set's size. The stream
// follows the cursor: a cursor it does not expect (a resume, another
// rank or world) restarts it there.
type shardSource struct {
	set     *data.ShardSet
	plan    *data.ShardPlan
	skip    bool // data.on_error: skip
	log     *slog.Logger
	skipped int // damaged records and shards met (counted warnings)

	st *shardStream // nil before the first fill and after close
	// the stream's epoch, rank and world, and the next position it deals
	epoch, rank, world int
	next               int64
	cur                *loadedShard
	// bufs are the shard buffers between streams: a source allocates
	// shardBuffers of them in its life, so a restart (every epoch) leaves
	// no garbage of a shard's size for the collector to catch up with.
	bufs [][]byte
}

// shardBuffers is the number of shard buffers a stream holds.
const shardBuffers = 2

// maxWarningsPerShard bounds the damaged records logged one by one per
// shard read (the rest are counted in one line).
const maxWarningsPerShard = 10

func newShardSource(set *data.ShardSet, globalBatch int, seed uint64, skip bool, log *slog.Logger) (*shardSource, error) {
	plan, err := data.NewShardPlan(set.Counts(), globalBatch, seed)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", set.Dir, err)
	}
	return &shardSource{set: set, plan: plan, skip: skip, log: log}, nil
}

func (s *shardSource) stepsPerEpoch() int { return s.plan.StepsPerEpoch() }

func (s *shardSource) fill(c data.Cursor, rank, world int, x []float32, y []int32) error {
	return s.fillCtx(context.Background(), c, rank, world, x, y)
}

// fillCtx is fill that gives up when ctx is done.
func (s *shardSource) fillCtx(ctx context.Context, c data.Cursor, rank, world int, x []float32, y []int32) error {
	lo, hi, end, err := s.plan.Segment(c, rank, world)
	if err != nil {
		return err
	}
	dim := s.set.Manifest.Dim()
	if len(x) != int(hi-lo)*dim || len(y) != int(hi-lo) {
		return fmt.Errorf("data: shards: %d samples into x %d and y %d", hi-lo, len(x), len(y))
	}
	if s.st == nil || s.epoch != c.Epoch || s.rank != rank || s.world != world || s.next != lo {
		s.restart(c.Epoch, rank, world, lo, end)
	}
	scale := s.set.Manifest.InputScale
	for p := lo; p < hi; p++ {
		for s.cur == nil || p >= s.cur.hi {
			if err := s.advance(ctx); err != nil {
				s.stop() // the batch is half dealt: the next fill restarts at its cursor
				return err
			}
		}
		i := p - lo
		y[i] = s.cur.record(p, scale, x[int(i)*dim:int(i+1)*dim])
	}
	s.next = hi
	if hi == end { // the segment is done: read the next epoch's first shard now
		if nlo, _, nend, err := s.plan.Segment(data.Cursor{Epoch: c.Epoch + 1}, rank, world); err == nil {
			s.restart(c.Epoch+1, rank, world, nlo, nend)
		}
	}
	return nil
}

// advance moves to the stream's next shard.
func (s *shardSource) advance(ctx context.Context) error {
	if s.cur != nil {
		s.st.release(s.cur)
		s.cur = nil
	}
	select {
	case l, ok := <-s.st.ready:
		if !ok {
			return errors.New("data: shards: the stream ended before the segment (bug)")
		}
		if l.err != nil {
			return l.err
		}
		for i, w := range l.warnings {
			s.skipped++
			if i < maxWarningsPerShard {
				s.log.Warn("data.on_error skip: damaged data skipped", "err", w, "skipped", s.skipped)
			}
		}
		if n := len(l.warnings); n > maxWarningsPerShard {
			s.log.Warn("data.on_error skip: more damaged records in this shard", "more", n-maxWarningsPerShard, "skipped", s.skipped)
		}
		s.cur = l
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// restart stops the stream and starts one at position lo of epoch.
func (s *shardSource) restart(epoch, rank, world int, lo, end int64) {
	s.stop()
	s.epoch, s.rank, s.world, s.next = epoch, rank, world, lo
	order, prefix := s.plan.Order(epoch)
	job := streamJob{set: s.set, plan: s.plan, epoch: epoch, skip: s.skip,
		order: append([]int(nil), order...), prefix: append([]int64(nil), prefix...), lo: lo, end: end}
	s.st = startStream(job, s.bufs)
	s.bufs = nil
}

// stop ends the stream's goroutine.
func (s *shardSource) stop() {
	if s.st != nil {
		if s.cur != nil {
			s.st.release(s.cur)
		}
		s.bufs = s.st.stop()
		s.st, s.cur = nil, nil
	}
}

// Close stops the read-ahead goroutine.
func (s *shardSource) Close() error {
	s.stop()
	return nil
}

// loadedShard is a shard of the stream: stream positions [lo, hi) map to
// its records in the epoch's order.
type loadedShard struct {
	shard    data.Shard
	perm     []int
	valid    []bool // nil: every record is valid
	lo, hi   int64
	err      error
	warnings []error
}

// record writes the record at stream position p into x and returns its
// label. A damaged record (skip) is replaced by the next valid one in the
// shard's order, so a position always means the same sample.
func (l *loadedShard) record(p int64, scale float64, x []float32) int32 {
	j := int((p - l.lo) % int64(len(l.perm))) // a substitute shard may be smaller
	if l.valid != nil {
		for !l.valid[l.perm[j]] {
			j = (j + 1) % len(l.perm)
		}
	}
	return l.shard.Record(l.perm[j], scale, x)
}

// streamJob is what a stream reads: the shards of epoch's order that
// overlap positions [lo, end).
type streamJob struct {
	set     *data.ShardSet
	plan    *data.ShardPlan
	epoch   int
	skip    bool
	order   []int
	prefix  []int64
	lo, end int64
}

// shardStream is the goroutine that reads a job's shards ahead.
type shardStream struct {
	ready  chan *loadedShard
	free   chan []byte
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startStream starts reading j's shards into bufs (nil ones are
// allocated as needed).
func startStream(j streamJob, bufs [][]byte) *shardStream {
	ctx, cancel := context.WithCancel(context.Background())
	st := &shardStream{ready: make(chan *loadedShard), free: make(chan []byte, shardBuffers), cancel: cancel}
	for i := range shardBuffers {
		var b []byte
		if i < len(bufs) {
			b = bufs[i]
		}
		st.free <- b
	}
	st.wg.Go(func() { st.run(ctx, j) })
	return st
}

// stop ends the goroutine and returns the buffers it had free or
// ready (the caller released the one it held).
func (st *shardStream) stop() [][]byte {
	st.cancel()
	st.wg.Wait()
	var bufs [][]byte
	for l := range st.ready { // closed by run
		if l.shard.Bytes != nil {
			bufs = append(bufs, l.shard.Bytes[:0])
		}
	}
	for {
		select {
		case b := <-st.free:
			if b != nil {
				bufs = append(bufs, b)
			}
		default:
			return bufs
		}
	}
}

// release hands a consumed shard's buffer back to the reader.
func (st *shardStream) release(l *loadedShard) {
	select {
	case st.free <- l.shard.Bytes[:0]:
	default:
	}
}

func (st *shardStream) run(ctx context.Context, j streamJob) {
	defer close(st.ready)
	m := j.set.Manifest
	for k := data.Locate(j.prefix, j.lo); k < len(j.order) && j.prefix[k] < j.end; k++ {
		var buf []byte
		select {
		case buf = <-st.free:
		case <-ctx.Done():
			return
		}
		l := &loadedShard{lo: j.prefix[k], hi: j.prefix[k+1]}
		// A shard that cannot be used is replaced (skip) by the next one
		// of the order that can.
		for try := range len(j.order) {
			idx := j.order[(k+try)%len(j.order)]
			s, bad, err := data.ReadShard(j.set.Dir, m, m.Train[idx], buf)
			if err == nil && len(bad) == s.Header.Count {
				err = fmt.Errorf("%w (and every other record of the shard)", bad[0])
			}
			if err != nil {
				if !j.skip {
					l.err = fmt.Errorf("data: %w (data.on_error: skip would skip it)", err)
					break
				}
				l.warnings = append(l.warnings, err)
				continue
			}
			if len(bad) > 0 {
				if !j.skip {
					l.err = fmt.Errorf("data: %w (data.on_error: skip would skip it)", bad[0])
					break
				}
				l.warnings = append(l.warnings, bad...)
				l.valid = make([]bool, s.Header.Count)
				for i := range l.valid {
					l.valid[i] = true
				}
				for _, b := range bad {
					var se *data.ShardError
					if errors.As(b, &se) {
						l.valid[int((se.Offset-data.ShardHeaderSize)/int64(s.Header.RecordSize()))] = false
					}
				}
			}
			l.shard = s
			l.perm = make([]int, s.Header.Count)
			j.plan.RecordOrder(j.epoch, idx, l.perm)
			break
		}
		if l.err == nil && l.perm == nil {
			l.err = fmt.Errorf("data: shards: %s: no shard of the training split can be read", j.set.Dir)
		}
		select {
		case st.ready <- l:
		case <-ctx.Done():
			if l.shard.Bytes != nil {
				st.free <- l.shard.Bytes[:0] // room: the other buffer is held or free
			}
			return
		}
		if l.err != nil {
			return
		}
	}
}
