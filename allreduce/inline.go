package allreduce

// SendBufferer is implemented by a Transport that can say how many bytes a
// sender may have outstanding on one link (sent, not yet received by the
// peer) and still have Send return without the peer receiving: the kernel's
// socket send buffer for transport/tcp, the ring for transport/shm. Comm
// uses it to run collectives on the calling goroutine, each rank sending a
// step before receiving it (runSequential), whenever that cannot deadlock
// (see sequentialAhead); the conservative inlineBytes rule applies to every
// transport.
type SendBufferer interface {
	// SendBuffer is the smallest such byte count over this rank's links,
	// frame headers included. It must not change while the Transport is in
	// use.
	SendBuffer() int
}

// inlineBytes: whatever the transport, steps that send at most this much run
// on the calling goroutine, send then receive, without the hand-off to the
// sender goroutine (two scheduler wake-ups per step, which dominate small
// collectives). This cannot deadlock: every rank's send of a step fits in
// the kernel's socket buffers (transport/tcp refuses buffers under 64 KiB)
// and completes without the peer reading.
const inlineBytes = 16 << 10

// frameOverhead bounds a frame's header and padding on any transport
// (transport/tcp's header is 40 bytes, transport/shm's 32 plus up to 31 of
// padding).
const frameOverhead = 64

// Sequential calls cannot deadlock when every step's frames to a peer fit
// in what the transport buffers (SendBuffer; transport/tcp reports half of
// the kernel's send buffer, the other half being what the kernel reserves
// for its bookkeeping, so the bound has a margin). Why: order each rank's
// position by (collective, step, phase), the send phase of a step before
// its receive phase. A rank blocked in Send on a full link has frames of an
// earlier step unread there, since this step's frames alone fit: the peer
// is at an earlier position. A rank blocked in Recv waits for a frame its
// peer sends before receiving that step: the peer is at an earlier
// position. A pipelined rank's receiving goroutine never waits for its
// sends, and waits for them only once it has received everything of the
// call, a later position than any of its peers' frames of that call. So
// every wait points to a strictly earlier position and waits cannot form a
// cycle, whatever mix of sequential and pipelined calls the ranks run (the
// choice is local: it changes no frame).

// inlineMaxBytes caps what one sequential call sends in all: up to 1 MiB
// all-reduces (1–1.5 MiB sent per rank at world 2–4) sequential beats or
// ties the pipelined path on this repository's machine; beyond it the two
// are within noise (docs/benchmarks.md, "Small and medium messages (issue
// 17)").
const inlineMaxBytes = 2 << 20

// sendBuffer is t's SendBuffer, or 0 when t does not say.
func sendBuffer(t Transport) int {
	if b, ok := t.(SendBufferer); ok {
		return max(b.SendBuffer(), 0)
	}
	return 0
}

// allAhead: runSequential sends all of a step before receiving any of it.
const allAhead = 1 << 30

// sequentialAhead says whether steps may run on the calling goroutine
// (runSequential) and, if so, how many segments of a step each rank sends
// before it receives the step's first one: all of them (allAhead) when every
// step's frames fit the send buffer and the call sends at most
// inlineMaxBytes in all; else, when the buffer holds at least two frames of
// a segment (transport/shm: 2 MiB rings, 256 KiB segments), as many as fit
// but one, alternating one send and one receive after that (see
// interleaving, below).
func (c *Comm) sequentialAhead(steps []Step, minFrames int) (int, bool) {
	if maxSendBytes(steps) <= inlineBytes {
		return allAhead, true
	}
	if c.sendBuffer == 0 {
		return 0, false
	}
	total, whole := 0, true
	for _, st := range steps {
		if st.To < 0 {
			continue
		}
		b := (st.SendHi-st.SendLo)*4 + c.segCount(st.SendHi-st.SendLo, minFrames)*frameOverhead
		whole = whole && b <= c.sendBuffer
		total += b
	}
	if whole && total <= inlineMaxBytes {
		return allAhead, true
	}
	if !lockstep(steps) {
		return 0, false
	}
	if ahead := c.sendBuffer/(c.segLen*4+frameOverhead) - 1; ahead >= 1 {
		return ahead, true
	}
	return 0, false
}

// lockstep says whether every step both sends and receives and the steps'
// wire numbers rise with the step, the same on both sides: the ring's
// reduce-scatter and all-gather and recursive halving are so; the direct
// all-reduce (rounds of sends only), chain broadcasts and the hierarchical
// schedules are not, and interleave only when all their frames fit.
func lockstep(steps []Step) bool {
	for k, st := range steps {
		if st.To < 0 || st.From < 0 || st.SendWire != st.RecvWire || (k > 0 && st.SendWire <= steps[k-1].SendWire) {
			return false
		}
	}
	return true
}

// Interleaving (a lockstep schedule that does not fit whole): with ahead =
// L, a step's program on a rank is send(0) … send(L-1), then send(i)
// followed by receive(i-L) for i = L, L+1, …, then the receives left; each
// step ends before the next begins, so a step's sends find the earlier
// steps' receives done (SendAfterRecv, SendAfterAll). Measure a blocked rank
// by its step and the count of that step's segments it has received. A rank
// blocked sending segment i of step w has at least L+1 frames unread on the
// link (the buffer holds L+1 and lacks room for another), so the peer it
// sends to is at an earlier step, or at step w having received at most i-L-1
// of them: fewer than the i-L that the sender has. A rank blocked receiving
// segment j of step w (j received) waits for a peer that has not sent
// segment j of step w: the peer is at an earlier step, or blocked sending
// segment i ≤ j having received i-L ≤ j-1, or blocked receiving j' < j.
// Every wait points to a rank strictly lower in (step, received), so waits
// form no cycle, whatever L each rank has, and a rank running the pipeline
// instead fits the same order, its receiving goroutine never waiting for its
// sends. One goroutine per rank instead of the pipeline's two and no
// hand-off between them: most of a large shared-memory all-reduce's context
// switches when ranks outnumber cores.

func maxSendBytes(steps []Step) int {
	m := 0
	for _, st := range steps {
		if st.To >= 0 {
			m = max(m, (st.SendHi-st.SendLo)*4)
		}
	}
	return m
}
