package allreduce

import (
	"context"
	"strconv"
)

// Op names the collective a frame belongs to. It travels in every frame
// header so that frames of different collectives can never be mixed up.
type Op uint8

// Collective kinds carried in Tag.Op.
const (
	OpReduceScatter Op = 1 + iota
	OpAllGather
	OpAllReduceRing
	OpAllReduceRD
	OpBroadcast
	OpBarrier
	OpReduceScatterRange
	OpAllGatherRange
	OpAllReduceHier
	OpShift
	OpAllReduceDirect
	OpAllReduceHalving
	// OpAllReduceShared is AllReduce through the transport's shared memory
	// (SharedReducer): it moves no frames, but its calls are numbered and
	// checked like the others.
	OpAllReduceShared
)

// String returns the collective's name.
func (o Op) String() string {
	switch o {
	case OpReduceScatter:
		return "reduce-scatter"
	case OpAllGather:
		return "all-gather"
	case OpAllReduceRing:
		return "all-reduce/ring"
	case OpAllReduceRD:
		return "all-reduce/rd"
	case OpBroadcast:
		return "broadcast"
	case OpBarrier:
		return "barrier"
	case OpReduceScatterRange:
		return "reduce-scatter/range"
	case OpAllGatherRange:
		return "all-gather/range"
	case OpAllReduceHier:
		return "all-reduce/hier"
	case OpShift:
		return "shift"
	case OpAllReduceDirect:
		return "all-reduce/direct"
	case OpAllReduceHalving:
		return "all-reduce/halving"
	case OpAllReduceShared:
		return "all-reduce/shared"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Tag identifies one frame within a generation. A receiver states the tag it
// expects; a frame carrying any other tag is a protocol error (ErrProtocol),
// never silently accepted.
type Tag struct {
	Op    Op     // collective kind
	Seq   uint32 // collective call number on this Comm, from 1
	Step  uint32 // step of the schedule (Shift: the sender's frame count)
	Chunk uint32 // segment index within the step
}

// Transport moves float32 frames between the ranks of one generation.
//
// Concurrency contract (Comm honours it): Send and Recv may run at the same
// time from different goroutines, but there is at most one Send in flight per
// destination and at most one Recv in flight per source. Frames between two
// ranks arrive in the order they were sent.
//
// Every method that blocks honours ctx. Once Abort has been called, or once
// the context of an in-flight call is done, the transport may be unusable;
// Comm never reuses a transport after an error.
type Transport interface {
	// Rank is this process's rank, in [0, Size()).
	Rank() int
	// Size is the world size of the generation.
	Size() int
	// Send writes one frame with the given tag and payload to peer to. It
	// returns when data may be reused. len(data) may be 0.
	Send(ctx context.Context, to int, tag Tag, data []float32) error
	// Recv reads the next frame from peer from into buf. The frame must carry
	// exactly tag and exactly len(buf) values, or Recv returns an error
	// wrapping ErrProtocol.
	Recv(ctx context.Context, from int, tag Tag, buf []float32) error
	// Abort makes every in-flight and later Send and Recv return an error
	// wrapping ErrAborted, and drops this rank's links so that peers notice.
	// It is safe to call at any time, more than once, from any goroutine.
	Abort()
}
