package route

import (
	"context"
	"fmt"

	"github.com/ringtrain/ringtrain/allreduce"
)

// Transport routes each peer to the transport that reaches it: the shared
// segment of this rank's host group, or TCP.
type Transport struct {
	net   closer
	local closer // nil when this rank shares no memory with a peer
	// slot[p] is peer p's rank within the local group, or -1 for peers
	// reached over the network.
	slot       []int
	rank, size int
	sendBuf    int  // SendBuffer, fixed by Establish
	shared     bool // SharedAllReduces, fixed by Establish
}

// closer is an allreduce.Transport that can also be closed.
type closer interface {
	allreduce.Transport
	Close() error
}

var (
	_ allreduce.Transport        = (*Transport)(nil)
	_ allreduce.RecvReducer      = (*Transport)(nil)
	_ allreduce.SequentialHinter = (*Transport)(nil)
	_ allreduce.SegmentAdvisor   = (*Transport)(nil)
	_ allreduce.HalvingAdvisor   = (*Transport)(nil)
	_ allreduce.BulkHinter       = (*Transport)(nil)
	_ allreduce.SharedReducer    = (*Transport)(nil)
)

// Rank is this rank.
func (t *Transport) Rank() int { return t.rank }

// Size is the world size.
func (t *Transport) Size() int { return t.size }

// SendBuffer is what a sender may leave outstanding on any one link this
// rank uses (allreduce.SendBufferer): the smaller of the two transports'
// figures, or the one transport's when every peer is reached the same way;
// 0 when a transport in use does not say.
func (t *Transport) SendBuffer() int { return t.sendBuf }

// sendBuffer computes SendBuffer once the routes are fixed.
func (t *Transport) sendBuffer() int {
	viaNet, viaLocal := false, false
	for p, s := range t.slot {
		if p == t.rank {
			continue
		}
		viaNet = viaNet || s < 0
		viaLocal = viaLocal || s >= 0
	}
	b := -1
	for _, used := range []struct {
		on bool
		t  allreduce.Transport
	}{{viaNet, t.net}, {viaLocal, t.local}} {
		if !used.on {
			continue
		}
		sb, ok := used.t.(allreduce.SendBufferer)
		if !ok {
			return 0
		}
		if v := sb.SendBuffer(); b < 0 || v < b {
			b = v
		}
	}
	return max(b, 0)
}

// Shared reports whether peer p is reached through shared memory.
func (t *Transport) Shared(p int) bool { return p >= 0 && p < t.size && t.slot[p] >= 0 }

// Send writes one frame to peer to over the transport that reaches it.
func (t *Transport) Send(ctx context.Context, to int, tag allreduce.Tag, data []float32) error {
	if to >= 0 && to < t.size && t.slot[to] >= 0 {
		if err := t.local.Send(ctx, t.slot[to], tag, data); err != nil {
			return t.localErr("send to", to, err)
		}
		return nil
	}
	return t.net.Send(ctx, to, tag, data)
}

// Recv reads the next frame from peer from over the transport that reaches
// it.
func (t *Transport) Recv(ctx context.Context, from int, tag allreduce.Tag, buf []float32) error {
	if from >= 0 && from < t.size && t.slot[from] >= 0 {
		if err := t.local.Recv(ctx, t.slot[from], tag, buf); err != nil {
			return t.localErr("recv from", from, err)
		}
		return nil
	}
	return t.net.Recv(ctx, from, tag, buf)
}

// RecvReduces implements allreduce.RecvReducer: frames of peers reached
// through shared memory are combined straight from the ring when the local
// transport can.
func (t *Transport) RecvReduces(from int) bool {
	if from < 0 || from >= t.size || t.slot[from] < 0 {
		return false
	}
	r, ok := t.local.(allreduce.RecvReducer)
	return ok && r.RecvReduces(t.slot[from])
}

// RecvReduce implements allreduce.RecvReducer for peers for which
// RecvReduces holds.
func (t *Transport) RecvReduce(ctx context.Context, from int, tag allreduce.Tag, dst []float32, op allreduce.ReduceOp) error {
	if !t.RecvReduces(from) {
		return fmt.Errorf("route: rank %d: frames of rank %d cannot be combined as they arrive: %w", t.rank, from, allreduce.ErrProtocol)
	}
	if err := t.local.(allreduce.RecvReducer).RecvReduce(ctx, t.slot[from], tag, dst, op); err != nil {
		return t.localErr("recv from", from, err)
	}
	return nil
}

// Sequential implements allreduce.SequentialHinter, passing the hint to the
// transport that has waits to tune.
func (t *Transport) Sequential(on bool) {
	for _, tr := range []allreduce.Transport{t.local, t.net} {
		if h, ok := tr.(allreduce.SequentialHinter); ok {
			h.Sequential(on)
		}
	}
}

// Bulk implements allreduce.BulkHinter, passing the hint to the transport
// that copies frames out of shared memory.
func (t *Transport) Bulk(on bool) {
	if h, ok := t.local.(allreduce.BulkHinter); ok {
		h.Bulk(on)
	}
}

// SegmentAdvice implements allreduce.SegmentAdvisor: the shared-memory
// transport's advice when every peer is reached through it (allShared), 0
// (no advice) otherwise.
func (t *Transport) SegmentAdvice() int {
	if a, ok := t.local.(allreduce.SegmentAdvisor); ok && t.allShared() {
		return a.SegmentAdvice()
	}
	return 0
}

// HalvingAdvice implements allreduce.HalvingAdvisor as SegmentAdvice does.
func (t *Transport) HalvingAdvice() int {
	if a, ok := t.local.(allreduce.HalvingAdvisor); ok && t.allShared() {
		return a.HalvingAdvice()
	}
	return 0
}

// SharedAllReduces implements allreduce.SharedReducer: the shared-memory
// transport's all-reduce applies when every peer is reached through it and
// the group's ranks are the world's (so its chunks are the world's).
func (t *Transport) SharedAllReduces() bool { return t.shared }

// sharedAllReduces computes SharedAllReduces once the routes are fixed.
func (t *Transport) sharedAllReduces() bool {
	s, ok := t.local.(allreduce.SharedReducer)
	if !ok || !t.allShared() || !s.SharedAllReduces() {
		return false
	}
	for p, g := range t.slot {
		if p != t.rank && g != p {
			return false
		}
	}
	return true
}

// SharedAllReduce implements allreduce.SharedReducer where SharedAllReduces
// holds.
func (t *Transport) SharedAllReduce(ctx context.Context, tag allreduce.Tag, buf []float32, op allreduce.ReduceOp) error {
	if !t.shared {
		return fmt.Errorf("route: rank %d: not every rank shares memory with this one: %w", t.rank, allreduce.ErrProtocol)
	}
	if err := t.local.(allreduce.SharedReducer).SharedAllReduce(ctx, tag, buf, op); err != nil {
		return fmt.Errorf("shared memory: %w", err)
	}
	return nil
}

// allShared says whether every peer is reached through shared memory, which
// is then so on every rank (they all share this host, and the host's vote
// put them all on shared memory).
func (t *Transport) allShared() bool {
	if t.local == nil {
		return false
	}
	for p, s := range t.slot {
		if p != t.rank && s < 0 {
			return false
		}
	}
	return true
}

// localErr names the peer by its rank in the world (the shared-memory
// transport knows only group ranks).
func (t *Transport) localErr(what string, peer int, err error) error {
	return fmt.Errorf("shared memory: %s rank %d: %w", what, peer, err)
}

// Abort aborts both transports: every in-flight and later call fails, and
// every peer notices.
func (t *Transport) Abort() {
	if t.local != nil {
		t.local.Abort()
	}
	t.net.Abort()
}

// Close closes both transports.
func (t *Transport) Close() error {
	var err error
	if t.local != nil {
		err = t.local.Close()
	}
	if e := t.net.Close(); err == nil {
		err = e
	}
	return err
}

// Info says what Establish chose.
type Info struct {
	// Host is this rank's host key (hex), HostKey() or the override.
	Host string
	// Group is the ranks of this host, in rank order, this one included
	// (nil when shared memory was off here).
	Group []int
	// Shared is the ranks reached through shared memory (empty: none).
	Shared []int
	// Fallback, when non-empty, is why this host's group stayed on TCP.
	Fallback string
	// Hosts is the host map of the generation, the same on every rank:
	// Hosts[p] numbers rank p's host (0 for rank 0's, then in order of
	// first appearance). Nil for a world of one.
	Hosts []int
}
