package allreduce

// SendBufferer is implemented by a Transport that can say how many bytes a
// sender may have outstanding on one link (sent, not yet received by the
// peer) and still have Send return without the peer receiving: the kernel's
// socket send buffer for transport/tcp, the ring for transport/shm. Comm
// uses it to run collectives on the calling goroutine, each rank sending a
// step before receiving it (runSequential), whenever that cannot deadlock
// (see inlineFits); the conservative inlineBytes rule applies to every
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

// inlineFits says whether steps may run on the calling goroutine
// (runSequential): each rank sends a step's frames before receiving that
// step's.
func (c *Comm) inlineFits(steps []Step, minFrames int) bool {
	if maxSendBytes(steps) <= inlineBytes {
		return true
	}
	if c.sendBuffer == 0 {
		return false
	}
	total := 0
	for _, st := range steps {
		if st.To < 0 {
			continue
		}
		b := (st.SendHi-st.SendLo)*4 + c.segCount(st.SendHi-st.SendLo, minFrames)*frameOverhead
		if b > c.sendBuffer {
			return false
		}
		total += b
	}
	return total <= inlineMaxBytes
}

func maxSendBytes(steps []Step) int {
	m := 0
	for _, st := range steps {
		if st.To >= 0 {
			m = max(m, (st.SendHi-st.SendLo)*4)
		}
	}
	return m
}
