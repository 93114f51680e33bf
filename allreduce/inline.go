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

// frameOverhead bounds a frame header on any transport (transport/tcp's is
// 48 bytes with its checksum, transport/shm's 32 padded to 32).
const frameOverhead = 64

// inlineSafety: a sequential call may send, on one link, at most
// 1/inlineSafety of what the transport buffers. Why this is enough: a rank
// blocks in Send only when its link to the peer holds unreceived frames of
// the current call and of earlier ones. Every collective's completion on
// any rank depends on every rank having started it (ring and recursive
// doubling schedules connect every rank; a broadcast root that races ahead
// only ever blocks on a peer that is receiving), so a link holds frames of
// at most two consecutive collectives, recursive doubling's fold peer gets
// two exchanges per collective, and 2·2 calls' worth always fits: no send
// blocks on a peer that is itself blocked sending.
const inlineSafety = 4

// inlineMaxBytes caps what one sequential call sends per link, whatever the
// buffering: beyond it the pipelined path (send and receive overlapped on
// two goroutines) is faster on this repository's measurements
// (docs/benchmarks.md, "Small and medium messages (issue 17)").
const inlineMaxBytes = 512 << 10

// inlineLimit is the largest per-call, per-link byte count a Comm over t
// runs sequentially, or 0 when t does not say how much it buffers.
func inlineLimit(t Transport) int {
	b, ok := t.(SendBufferer)
	if !ok {
		return 0
	}
	return min(b.SendBuffer()/inlineSafety, inlineMaxBytes)
}

// inlineFits says whether steps may run on the calling goroutine
// (runSequential): each rank sends a step's frames before receiving that
// step's.
func (c *Comm) inlineFits(steps []Step, minFrames int) bool {
	if maxSendBytes(steps) <= inlineBytes {
		return true
	}
	if c.inlineLimit == 0 {
		return false
	}
	// Bytes per destination: the schedules here send to at most two peers
	// per call; count per link by summing per destination.
	var to [2]int
	var sum [2]int
	links := 0
	for _, st := range steps {
		if st.To < 0 {
			continue
		}
		b := (st.SendHi-st.SendLo)*4 + c.segCount(st.SendHi-st.SendLo, minFrames)*frameOverhead
		i := 0
		for i < links && to[i] != st.To {
			i++
		}
		if i == links {
			if links == len(to) {
				return false // more destinations than this check tracks
			}
			to[i] = st.To
			links++
		}
		sum[i] += b
		if sum[i] > c.inlineLimit {
			return false
		}
	}
	return true
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
