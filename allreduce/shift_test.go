package allreduce_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/transport/mem"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

// shiftSeg is smallCfg's segment (frame) length in floats.
const shiftSeg = 16 << 10 / 4

// rawBits returns n float32 values of arbitrary bit patterns, as replicas of
// optimizer state carry them: the special patterns first (quiet and
// signalling NaNs with payloads, both zeros, infinities, subnormals), then
// random bits, most of which are ordinary values and some NaNs.
func rawBits(n int, seed uint64) []float32 {
	specials := []uint32{
		0x7fc00000, 0x7f800001, 0x7fbfffff, 0xffc00001, 0xffffffff, // NaNs, two signalling
		0x80000000, 0x00000000, 0x7f800000, 0xff800000, // ±0, ±Inf
		0x00000001, 0x807fffff, 0x7f7fffff, // subnormals, the largest finite
	}
	rng := rand.New(rand.NewPCG(seed, 19))
	out := make([]float32, n)
	for i := range out {
		if i < len(specials) {
			out[i] = math.Float32frombits(specials[i])
		} else {
			out[i] = math.Float32frombits(rng.Uint32())
		}
	}
	return out
}

// filled returns n copies of a NaN pattern no input uses, so that a value
// Shift did not write is seen.
func filled(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(0x7fa5a5a5)
	}
	return out
}

func prevRank(r, size int) int { return (r + size - 1) % size }

// shiftLengths returns per-rank send lengths: every rank's shard of
// buffers of several lengths (ShardRange, zero-length shards included; and
// twice that, an Adam shard's two moments), and lengths around the segment
// length rotated so that neighbours differ, up to one above what a call may
// send sequentially (so that one rank pipelines while its neighbour runs
// send-then-receive).
func shiftLengths(size int) [][]int {
	var out [][]int
	for _, n := range []int{0, 1, size - 1, size + 1, size*shiftSeg - 1, size * shiftSeg, size*shiftSeg + 1, 2*size*shiftSeg + size - 1, 100_003} {
		for _, mul := range []int{1, 2} {
			ls := make([]int, size)
			for r := range size {
				lo, hi := allreduce.ShardRange(n, size, r)
				ls[r] = mul * (hi - lo)
			}
			out = append(out, ls)
		}
	}
	around := []int{0, 1, shiftSeg - 1, shiftSeg, shiftSeg + 1, 2*shiftSeg - 1, 2 * shiftSeg, 2*shiftSeg + 1, 130*shiftSeg + 7}
	for j := range around {
		ls := make([]int, size)
		for r := range size {
			ls[r] = around[(j+r)%len(around)]
		}
		out = append(out, ls)
	}
	return out
}

// checkShift runs one Shift on every rank of g, rank r sending lengths[r]
// values of raw bits, and checks that every rank received its predecessor's
// values bit for bit and its own send is untouched (with one rank: recv is
// untouched too).
func checkShift(t *testing.T, g *group, lengths []int, seed uint64) {
	t.Helper()
	size := len(g.comms)
	send, want, recv := make([][]float32, size), make([][]float32, size), make([][]float32, size)
	for r := range size {
		send[r] = rawBits(lengths[r], seed+uint64(r))
		want[r] = slices.Clone(send[r])
		recv[r] = filled(lengths[prevRank(r, size)])
	}
	mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
		if err := c.Shift(context.Background(), send[r], recv[r]); err != nil {
			return fmt.Errorf("shift of lengths %v: %w", lengths, err)
		}
		return nil
	}))
	for r := range size {
		testutil.RequireBitsEqual(t, fmt.Sprintf("lengths %v: rank %d's send", lengths, r), send[r], want[r])
		if size == 1 {
			testutil.RequireBitsEqual(t, "world 1: recv", recv[r], filled(lengths[r]))
			continue
		}
		testutil.RequireBitsEqual(t, fmt.Sprintf("lengths %v: rank %d's recv", lengths, r), recv[r], want[prevRank(r, size)])
	}
}

// Shift hands every rank its predecessor's values bit for bit (NaN payloads
// included), for uneven and empty lengths around the segment length, on
// every fabric; with one rank it does nothing.
func TestShiftDeliversExactly(t *testing.T) {
	for _, f := range fabrics {
		for size := 1; size <= 5; size++ {
			t.Run(fmt.Sprintf("%s/world%d", f.name, size), func(t *testing.T) {
				g := newGroup(t, f, size, smallCfg())
				for i, lengths := range shiftLengths(size) {
					checkShift(t, g, lengths, uint64(100*i))
				}
			})
		}
	}
}

// The trainer's communication goroutine runs, per step, the all-gather of
// the parameters bucket by bucket, the replica Shift every few steps, and
// the reduce-scatter of the gradients bucket by bucket (in reverse). Every
// rank runs that sequence without waiting for the others, so ranks race
// ahead into the next collective: each result must still be exact.
func TestShiftInterleavedWithOtherCollectives(t *testing.T) {
	for _, f := range fabrics {
		for size := 1; size <= 5; size++ {
			for _, n := range []int{1, size + 1, 3*size*shiftSeg + 5, 50_001} {
				t.Run(fmt.Sprintf("%s/world%d/n%d", f.name, size, n), func(t *testing.T) {
					interleaved(t, newGroup(t, f, size, smallCfg()), n)
				})
			}
		}
	}
}

func interleaved(t *testing.T, g *group, n int) {
	size := len(g.comms)
	const steps = 4
	buckets := [][2]int{{0, n / 3}, {n / 3, n / 2}, {n / 2, n}}
	shard := func(r int) (int, int) { return allreduce.ShardRange(n, size, r) }
	shardLen := func(r int) int { lo, hi := shard(r); return hi - lo }

	params := make([][]float32, steps)     // the true parameters of each step
	state := make([][][]float32, steps)    // [step][rank]: the optimizer shard (two moments)
	grads := make([][][]float32, steps)    // [step][rank]: integer-valued, so sums are exact
	gotParams := make([][][]float32, size) // [rank][step]
	gotState := make([][][]float32, size)
	gotGrads := make([][][]float32, size)
	for s := range steps {
		params[s] = rawBits(n, uint64(1000+s))
		state[s] = make([][]float32, size)
		grads[s] = make([][]float32, size)
		for r := range size {
			state[s][r] = rawBits(2*shardLen(r), uint64(2000+10*s+r))
			grads[s][r] = make([]float32, n)
			for i := range grads[s][r] {
				grads[s][r][i] = float32((r+1)*(i%13+1) + s)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
		lo, hi := shard(r)
		for s := range steps {
			p := filled(n)
			copy(p[lo:hi], params[s][lo:hi])
			for _, b := range buckets {
				if err := c.AllGatherRange(ctx, p, b[0], b[1]); err != nil {
					return fmt.Errorf("step %d all-gather %v: %w", s, b, err)
				}
			}
			gotParams[r] = append(gotParams[r], p)
			if s%2 == 1 { // the replica stream, every other step
				recv := filled(2 * shardLen(prevRank(r, size)))
				if err := c.Shift(ctx, state[s][r], recv); err != nil {
					return fmt.Errorf("step %d shift: %w", s, err)
				}
				gotState[r] = append(gotState[r], recv)
			}
			gr := slices.Clone(grads[s][r])
			for i := len(buckets) - 1; i >= 0; i-- {
				b := buckets[i]
				if err := c.ReduceScatterRange(ctx, gr, b[0], b[1], allreduce.Sum); err != nil {
					return fmt.Errorf("step %d reduce-scatter %v: %w", s, b, err)
				}
			}
			gotGrads[r] = append(gotGrads[r], gr)
			if s == steps-1 {
				if err := c.Barrier(ctx); err != nil {
					return fmt.Errorf("step %d barrier: %w", s, err)
				}
			}
		}
		return nil
	}))
	for r := range size {
		lo, hi := shard(r)
		k := 0
		for s := range steps {
			testutil.RequireBitsEqual(t, fmt.Sprintf("step %d rank %d params", s, r), gotParams[r][s], params[s])
			if s%2 == 1 {
				want := state[s][prevRank(r, size)]
				if size == 1 {
					want = filled(len(want))
				}
				testutil.RequireBitsEqual(t, fmt.Sprintf("step %d rank %d replica", s, r), gotState[r][k], want)
				k++
			}
			for i := lo; i < hi; i++ {
				var sum float32
				for q := range size {
					sum += grads[s][q][i]
				}
				if got := gotGrads[r][s][i]; got != sum {
					t.Fatalf("step %d rank %d gradient [%d] = %v, want %v", s, r, i, got, sum)
				}
			}
		}
	}
}

// A recv whose length differs from the predecessor's send fails on the
// receiving rank with ErrProtocol, promptly, whether the lengths need as
// many frames or not (a segment more: no frame is coming; a segment fewer:
// one would be left unread), and leaves its Comm broken. No rank hangs.
func TestShiftWrongRecvLength(t *testing.T) {
	cases := []struct {
		name       string
		send, recv int // rank 0's send, rank 1's recv
	}{
		{"one more", 10, 11},
		{"one fewer", 10, 9},
		{"empty send", 0, 5},
		{"empty recv", 5, 0},
		{"a segment more", shiftSeg, 2 * shiftSeg},
		{"a segment fewer", 2 * shiftSeg, shiftSeg},
		{"last frame one more", 2*shiftSeg + 1, 2*shiftSeg + 2},
		{"three segments more", shiftSeg, 4 * shiftSeg},
		{"pipelined, a segment fewer", 200 * shiftSeg, 199 * shiftSeg},
		{"pipelined, a segment more", 200 * shiftSeg, 201 * shiftSeg},
	}
	for _, f := range fabrics {
		for _, tc := range cases {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				const size = 3
				g := newGroup(t, f, size, smallCfg())
				send := [][]float32{rawBits(tc.send, 1), rawBits(7, 2), rawBits(shiftSeg+3, 3)}
				recv := [][]float32{make([]float32, shiftSeg+3), make([]float32, tc.recv), make([]float32, 7)}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				start := time.Now()
				errs := g.run(func(r int, c *allreduce.Comm) error { return c.Shift(ctx, send[r], recv[r]) })
				took := time.Since(start)
				t.Logf("returned after %v: %v", took, errs)
				if !errors.Is(errs[1], allreduce.ErrProtocol) {
					t.Fatalf("receiving rank: want ErrProtocol, got %v", errs[1])
				}
				for r, err := range errs {
					if errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("rank %d waited for its deadline: %v", r, err)
					}
				}
				if took > 5*time.Second {
					t.Errorf("the ranks took %v to return", took)
				}
				if err := g.comms[1].Err(); !errors.Is(err, allreduce.ErrProtocol) {
					t.Errorf("receiving rank's Comm afterwards: %v, want broken by ErrProtocol", err)
				}
			})
		}
	}
}

// memShiftGroup is a group over one mem.Network, returned so that a test can
// use its fault hooks.
func memShiftGroup(t *testing.T, size int) (*group, *mem.Network) {
	t.Helper()
	var n *mem.Network
	f := fabric{name: "mem", build: func(t *testing.T, size int) ([]allreduce.Transport, func(int)) {
		n = mem.NewNetwork(size, 0)
		ts := make([]allreduce.Transport, size)
		for r := range size {
			ts[r] = n.Endpoint(r)
		}
		return ts, n.Kill
	}}
	return newGroup(t, f, size, smallCfg()), n
}

// namesLink reports whether a mem transport error is about the link
// between rank and peer (mem writes a send as "rank->peer", a receive as
// "rank<-peer").
func namesLink(err error, rank, peer int) bool {
	s := err.Error()
	return strings.Contains(s, fmt.Sprintf("%d->%d", rank, peer)) || strings.Contains(s, fmt.Sprintf("%d<-%d", rank, peer))
}

// Delayed links slow Shift down but change no bit.
func TestShiftDelayedLinksStillExact(t *testing.T) {
	const size = 4
	g, n := memShiftGroup(t, size)
	for r := range size {
		n.Delay(r, (r+1)%size, time.Millisecond)
	}
	const slow = 40 * time.Millisecond
	n.Delay(2, 3, slow)
	for i, lengths := range [][]int{{5, 0, 3*shiftSeg + 1, shiftSeg}, {2 * shiftSeg, 2*shiftSeg - 1, 1, 2*shiftSeg + 1}} {
		start := time.Now()
		checkShift(t, g, lengths, uint64(i))
		if took := time.Since(start); took < slow {
			t.Fatalf("lengths %v: Shift returned after %v, before the %v delay on 2->3 could pass", lengths, took, slow)
		}
	}
}

// A link that silently drops frames stalls only its receiver, which fails
// with the context's deadline (the mem transport has no I/O timeout of its
// own) instead of hanging; the other ranks' Shift completes exactly.
func TestShiftDroppedLinkFailsAtDeadline(t *testing.T) {
	const size = 4
	g, n := memShiftGroup(t, size)
	n.Drop(0, 1, true)
	lengths := []int{shiftSeg + 1, 7, 0, 3 * shiftSeg}
	send, recv := make([][]float32, size), make([][]float32, size)
	for r := range size {
		send[r] = rawBits(lengths[r], uint64(r))
		recv[r] = filled(lengths[prevRank(r, size)])
	}
	const timeout = 300 * time.Millisecond
	start := time.Now() // before the deadline is set: it counts from there
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	errs := g.run(func(r int, c *allreduce.Comm) error { return c.Shift(ctx, send[r], recv[r]) })
	took := time.Since(start)
	if !errors.Is(errs[1], context.DeadlineExceeded) {
		t.Fatalf("rank 1 (its predecessor's frames dropped): want the deadline, got %v", errs[1])
	}
	if took < timeout || took > timeout+time.Second {
		t.Fatalf("rank 1 returned after %v, want its %v deadline", took, timeout)
	}
	for _, r := range []int{0, 2, 3} {
		if errs[r] != nil {
			t.Fatalf("rank %d: %v", r, errs[r])
		}
		testutil.RequireBitsEqual(t, fmt.Sprintf("rank %d's recv", r), recv[r], send[prevRank(r, size)])
	}
}

// A cut link or a killed rank: the rank that sends to it fails at once with
// ErrPeerLost naming that peer, and every other survivor fails within a
// second with ErrPeerLost naming one of its ring neighbours (the failure
// spreads along the ring). Small sends run send-then-receive, so the
// sender's first operation is the one on the broken link.
func TestShiftBrokenSuccessorFailsFast(t *testing.T) {
	cases := []struct {
		name  string
		fault func(n *mem.Network)
		dead  int // the killed rank, or -1
		recv  int // the survivor that receives over the broken link
	}{
		{"cut 1-2", func(n *mem.Network) { n.Cut(1, 2) }, -1, 2},
		{"kill 2", func(n *mem.Network) { n.Kill(2) }, 2, 3},
	}
	for _, tc := range cases {
		for _, lengths := range [][]int{{3, 5, 0, 9, 1}, {shiftSeg, shiftSeg + 1, shiftSeg, shiftSeg - 1, 0}} {
			t.Run(fmt.Sprintf("%s/%v", tc.name, lengths), func(t *testing.T) {
				size := len(lengths)
				g, n := memShiftGroup(t, size)
				tc.fault(n)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				start := time.Now()
				errs := g.run(func(r int, c *allreduce.Comm) error {
					return c.Shift(ctx, rawBits(lengths[r], 1), make([]float32, lengths[prevRank(r, size)]))
				})
				took := time.Since(start)
				t.Logf("returned after %v: %v", took, errs)
				if took > time.Second {
					t.Errorf("the ranks took %v to return", took)
				}
				if err := errs[1]; !errors.Is(err, allreduce.ErrPeerLost) || !namesLink(err, 1, 2) {
					t.Errorf("rank 1 (sending to rank 2): want ErrPeerLost naming 1->2, got %v", err)
				}
				for r, err := range errs {
					switch {
					case r == tc.dead:
						if !errors.Is(err, allreduce.ErrAborted) {
							t.Errorf("killed rank %d: want ErrAborted, got %v", r, err)
						}
					case err == nil:
						// A rank away from the break may finish before it reaches it.
					case !errors.Is(err, allreduce.ErrPeerLost):
						t.Errorf("rank %d: want ErrPeerLost, got %v", r, err)
					case !namesLink(err, r, (r+1)%size) && !namesLink(err, r, prevRank(r, size)):
						t.Errorf("rank %d: the error names neither ring neighbour: %v", r, err)
					}
				}
				if errs[tc.recv] == nil {
					t.Errorf("rank %d (receiving over the broken link) succeeded", tc.recv)
				}
			})
		}
	}
}

// shiftInFlight starts every rank looping Shifts large enough to pipeline
// on every transport, of uneven lengths, until one fails.
func shiftInFlight(g *group) <-chan error {
	size := len(g.comms)
	ch := make(chan error, size)
	for r, c := range g.comms {
		go func() {
			const n = 600_000
			send, recv := make([]float32, n+r), make([]float32, n+prevRank(r, size))
			var err error
			for i := 0; i < 10_000 && err == nil; i++ {
				err = c.Shift(context.Background(), send, recv)
			}
			ch <- fmt.Errorf("rank %d: %w", r, err)
		}()
	}
	return ch
}

func TestShiftAbortMidCallOnEveryRank(t *testing.T) {
	abortOneMidCall(t, smallCfg(), shiftInFlight)
}

func TestShiftAbortAllRanksMidCall(t *testing.T) { abortAllMidCall(t, shiftInFlight) }

func TestShiftKilledRankMakesOthersFailFast(t *testing.T) {
	killedRankFailsFast(t, smallCfg(), shiftInFlight, 2, 3, 5)
}

// A Shift whose predecessor never calls it returns context.Canceled
// promptly when its context is cancelled.
func TestShiftContextCancelMidCall(t *testing.T) {
	cancelMidCall(t, func(ctx context.Context, c *allreduce.Comm) error {
		return c.Shift(ctx, make([]float32, 600_000), make([]float32, 600_000))
	})
}

// Over TCP, a predecessor that never sends makes the receiving rank fail
// with ErrTimeout after the transport's IOTimeout, naming that peer; its
// successor, whose predecessor did send, completes exactly.
func TestShiftSilentPredecessorTimesOutOverTCP(t *testing.T) {
	cfg := tcp.DefaultConfig(testSecret)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	const timeout = 300 * time.Millisecond
	cfg.IOTimeout = timeout
	ts := connectTCP(t, 3, cfg, false)
	comms := make([]*allreduce.Comm, 3)
	for r, tr := range ts {
		c, err := allreduce.New(tr, smallCfg())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		comms[r] = c
	}
	send := [][]float32{nil, rawBits(2*shiftSeg+1, 1), rawBits(5, 2)}
	recv := [][]float32{nil, filled(5), filled(2*shiftSeg + 1)}
	g := &group{comms: comms[1:]} // rank 0 stays silent
	start := time.Now()
	errs := g.run(func(i int, c *allreduce.Comm) error { return c.Shift(context.Background(), send[i+1], recv[i+1]) })
	took := time.Since(start)
	if err := errs[0]; !errors.Is(err, allreduce.ErrTimeout) || !strings.Contains(err.Error(), "rank 0") {
		t.Fatalf("rank 1: want ErrTimeout naming rank 0, got %v", err)
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Fatalf("rank 1 returned after %v, want about its %v I/O timeout", took, timeout)
	}
	if errs[1] != nil {
		t.Fatalf("rank 2: %v", errs[1])
	}
	testutil.RequireBitsEqual(t, "rank 2's recv", recv[2], send[1])
}
