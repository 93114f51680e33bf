package allreduce

import (
	"context"
	"fmt"
)

// Optional Transport methods (besides SendBufferer, in inline.go) that let a
// transport move frames with less work. Comm looks for them once, in New;
// a transport without them gets the plain Send and Recv.

// RecvReducer is implemented by a Transport that can combine a frame into
// the caller's values straight from where the frame arrived (transport/shm:
// the shared ring), instead of Comm receiving it into a scratch slice and
// combining from there: one pass over the values instead of two.
type RecvReducer interface {
	// RecvReduces says whether frames from peer go through RecvReduce. It
	// must not change while the Transport is in use.
	RecvReduces(from int) bool
	// RecvReduce is Recv (the same tag and length checks and failures),
	// except that it sets dst[i] = dst[i] ⊕ frame[i] with Combine. On an
	// error dst may be partly combined: the collective fails with it.
	RecvReduce(ctx context.Context, from int, tag Tag, dst []float32, op ReduceOp) error
}

// SequentialHinter is implemented by a Transport whose waits can use the
// CPU differently when this rank has no sender goroutine at work. Comm calls
// Sequential(true) before it runs a collective's steps on the calling
// goroutine (runSequential: sends and receives of a step in turn), and
// Sequential(false) once they are done: while it is on, a receive may yield
// the CPU to the peers' processes instead of sleeping, whatever its frame's
// size, since no sender goroutine of this rank needs the CPU. It changes no
// frame.
type SequentialHinter interface {
	Sequential(on bool)
}

// BulkHinter is implemented by a Transport that can move a large
// collective's frames with less memory traffic when told the call is large.
// Comm calls Bulk(true) before a collective whose buffer holds at least
// bulkBytes and Bulk(false) once it is done: while it is on, transport/shm
// copies frames out of its rings with non-temporal stores (the destination
// is not read again soon, and the stores spare it a read for ownership). It
// changes no frame.
type BulkHinter interface {
	Bulk(on bool)
}

// bulkBytes: collectives of at least this many bytes are bulk (BulkHinter).
// Below it, non-temporal copies out of shared memory were as fast or slower
// (4 and 8 MiB, worlds 2 and 4); from 16 MiB on they were faster (world 2
// 16 MiB 4.31 → 3.86 ms, world 4 256 MiB 289 → 245 ms; docs/benchmarks.md,
// "Runs J, K and L").
const bulkBytes = 16 << 20

// SegmentAdvisor is implemented by a Transport that knows the pipeline
// segment size its frames move best at. Comm takes the advice when
// Config.SegmentBytes is 0. The segmentation is part of the protocol, so
// the advice must be the same on every rank of the generation: the
// transport gives it only from what every rank knows alike (transport/shm:
// every peer is in the segment; transport/route: every rank is on this
// rank's host and reached through shared memory).
type SegmentAdvisor interface {
	// SegmentAdvice is a multiple of 4 in [4 KiB, 64 MiB], or 0: no advice.
	SegmentAdvice() int
}

// HalvingAdvisor is implemented by a Transport on which, in worlds where
// both apply (4 ranks), the direct all-reduce beats recursive halving and
// doubling above some size: its fewer rounds wait less for peers to be
// scheduled (transport/shm: above 256 KiB on 4 ranks sharing 2 cores,
// docs/benchmarks.md). Comm then runs halving only up to the smaller of
// Config.HalvingBytes and the advice, and direct above it up to
// Config.DirectBytes. Like SegmentAdvice, the advice must be the same on
// every rank of the generation, as every rank must choose the same
// algorithm.
type HalvingAdvisor interface {
	// HalvingAdvice is a byte count, or 0: no advice.
	HalvingAdvice() int
}

// SharedReducer is implemented by a Transport whose ranks all map the same
// memory and can all-reduce through it without frames (transport/shm:
// every rank stages the chunks the others own, each rank reduces its own
// chunk from the others' staging areas and every rank copies the results
// out: fewer bytes written than into rings, and three points per block
// where a rank waits for its peers instead of waits per segment and step). Comm runs AllReduce through
// it at every length unless Config.NoShared is set. Like
// SegmentAdvice, SharedAllReduces must be the same on every rank of the
// generation.
type SharedReducer interface {
	// SharedAllReduces says whether SharedAllReduce may be used: every rank
	// of the generation shares the memory. It must not change while the
	// Transport is in use.
	SharedAllReduces() bool
	// SharedAllReduce combines buf with op across the ranks (Mean as Sum:
	// the caller divides), leaving every rank's buf bitwise the same. Every
	// rank must make the same call: the same tag, length and op, or it
	// fails with ErrProtocol. Its failures are those of Recv.
	SharedAllReduce(ctx context.Context, tag Tag, buf []float32, op ReduceOp) error
}

// sharedReducer is the transport's SharedReducer when it has one and it
// applies (nil otherwise, or when cfg turns it off).
func sharedReducer(t Transport, cfg Config) SharedReducer {
	if s, ok := t.(SharedReducer); ok && !cfg.NoShared && s.SharedAllReduces() {
		return s
	}
	return nil
}

// halvingBytes is cfg's halving threshold, lowered to t's advice where the
// direct all-reduce applies too.
func halvingBytes(t Transport, cfg Config, direct bool) int {
	a, ok := t.(HalvingAdvisor)
	if !ok || !direct {
		return cfg.HalvingBytes
	}
	if b := a.HalvingAdvice(); b > 0 {
		return min(cfg.HalvingBytes, b)
	}
	return cfg.HalvingBytes
}

// segmentBytes is cfg's segment size: its own, else t's advice, else
// DefaultSegmentBytes.
func segmentBytes(t Transport, cfg Config) (int, error) {
	if cfg.SegmentBytes != 0 {
		return cfg.SegmentBytes, nil
	}
	a, ok := t.(SegmentAdvisor)
	if !ok {
		return DefaultSegmentBytes, nil
	}
	b := a.SegmentAdvice()
	if b == 0 {
		return DefaultSegmentBytes, nil
	}
	if err := (Config{SegmentBytes: b}).Validate(); err != nil {
		return 0, fmt.Errorf("allreduce: the transport's segment advice: %w", err)
	}
	return b, nil
}

// Combine sets dst[i] = dst[i] ⊕ src[i] over len(dst) values (src at least
// as long): exactly the kernel Comm reduces with, so a transport that
// reduces (RecvReducer) gives the same bits.
func Combine(op ReduceOp, dst, src []float32) { combine(op, dst, src) }

// recvReducer is the transport's RecvReducer, when it has one, and which of
// the size peers it serves (RecvReduces does not change, so it is asked once).
func recvReducer(t Transport, size int) (RecvReducer, []bool) {
	r, ok := t.(RecvReducer)
	if !ok {
		return nil, nil
	}
	from := make([]bool, size)
	for p := range from {
		from[p] = p != t.Rank() && r.RecvReduces(p)
	}
	return r, from
}

// bulkHinter is the transport's BulkHinter, when it has one.
func bulkHinter(t Transport) BulkHinter {
	if h, ok := t.(BulkHinter); ok {
		return h
	}
	return nil
}

// sequentialHinter is the transport's SequentialHinter, when it has one.
func sequentialHinter(t Transport) SequentialHinter {
	if h, ok := t.(SequentialHinter); ok {
		return h
	}
	return nil
}
