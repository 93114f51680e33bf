package tcp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// A man in the middle on loopback between rank 1 (the dialer) and rank 0
// flips one bit of a frame after the handshake, while both ranks run a
// real all-reduce over real sockets (issue 12, item 4: the frames' CRC32C
// covered the header only, so a changed payload was summed unnoticed). With
// Spec.PayloadChecksum, the rank that receives the changed frame fails the
// collective with ErrChecksum, as on a broken link (allreduce.ErrPeerLost),
// naming the peer, the generation and the collective; no rank ever returns
// a sum other than the exact one. A changed header is caught either way.
func TestCorruptedFrameFailsTheCollective(t *testing.T) {
	const gen = 5
	for _, tc := range []struct {
		name     string
		checksum bool  // Spec.PayloadChecksum on both ranks
		n        int   // float32s per rank
		toDialer bool  // corrupt what rank 0 sends to rank 1, else what rank 1 sends to rank 0
		flipAt   int64 // stream offset after the handshake of the changed byte
		mask     byte
	}{
		{"ring payload toward rank 0", true, 1 << 20, false, HeaderSize + 4*1000 + 1, 0x10},
		{"ring payload toward rank 1, last byte of the first segment", true, 1 << 20, true, HeaderSize + 1<<20 - 1, 0x01},
		{"recursive-doubling payload toward rank 1", true, 1000, true, HeaderSize + 7, 0x80},
		{"recursive-doubling payload toward rank 0, lowest mantissa bit", true, 1000, false, HeaderSize + 4*999, 0x01},
		{"payload checksum toward rank 0", true, 1000, false, 33, 0x02},
		{"checksum flag toward rank 1", true, 1000, true, 28, 0x01},
		{"header toward rank 0 (the generation), payload checksum on", true, 1000, false, 9, 0x04},
		{"header toward rank 0 (the generation), payload checksum off", false, 1000, false, 9, 0x04},
		{"header toward rank 1 (the length), payload checksum off", false, 1 << 20, true, 25, 0x40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := listen(t, testConfig(nil)), listen(t, testConfig(nil))
			mitm := startRelay(t, a.Addr(), tc.toDialer, tc.flipAt, tc.mask)
			ts := connectVia(t, a, b, gen, mitm.addr(), [2]bool{tc.checksum, tc.checksum})
			mitm.armed.Store(true)

			bufs, want := make([][]float32, 2), make([]float32, tc.n)
			for r := range bufs {
				bufs[r] = make([]float32, tc.n)
				for i := range bufs[r] {
					bufs[r][i] = float32(i%4096 + 100*r) // small integers: exact sums
					want[i] += bufs[r][i]
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for r := range 2 {
				wg.Go(func() {
					comm, err := allreduce.New(ts[r], allreduce.DefaultConfig())
					if err != nil {
						errs[r] = err
						return
					}
					defer comm.Close()
					errs[r] = comm.AllReduce(ctx, bufs[r], allreduce.Sum)
				})
			}
			wg.Wait()
			if !mitm.flipped.Load() {
				t.Fatal("the relay changed no byte: the test proves nothing")
			}
			victim, sender := 0, 1
			if tc.toDialer {
				victim, sender = 1, 0
			}
			for r, err := range errs {
				if err == nil {
					if d := testutil.FirstBitDiff(bufs[r], want); d >= 0 {
						t.Fatalf("rank %d returned a wrong sum at [%d]: %v, want %v (corrupted frame accepted)", r, d, bufs[r][d], want[d])
					}
				}
			}
			err := errs[victim]
			if !errors.Is(err, ErrChecksum) {
				t.Fatalf("rank %d (receiving the changed frame): got %v, want ErrChecksum", victim, err)
			}
			for _, s := range []string{fmt.Sprintf("rank %d", sender), fmt.Sprintf("generation %d", gen), "all-reduce"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("rank %d's error %q does not name %q", victim, err, s)
				}
			}
			t.Logf("rank %d: %v; rank %d: %v", victim, err, sender, errs[sender])
		})
	}
}

// The sender decides: a receiver checks the payload of every frame that
// carries a checksum, whatever its own Spec says, and a mismatch is a broken
// link to the executor and the worker (ErrChecksum and ErrPeerLost, naming
// the frame). Without the sender's checksum only the header is checked, so
// a changed payload is received as sent (docs/security.md says so).
func TestReceiverChecksWhatTheSenderChecksummed(t *testing.T) {
	for _, tc := range []struct {
		sender, receiver bool // Spec.PayloadChecksum
		caught           bool
	}{
		{true, true, true},
		{true, false, true},
		{false, true, false},
		{false, false, false},
	} {
		t.Run(fmt.Sprintf("sender %v receiver %v", tc.sender, tc.receiver), func(t *testing.T) {
			a, b := listen(t, testConfig(nil)), listen(t, testConfig(nil))
			mitm := startRelay(t, a.Addr(), false, HeaderSize, 0xff)
			ts := connectVia(t, a, b, 3, mitm.addr(), [2]bool{tc.receiver, tc.sender})
			mitm.armed.Store(true)
			ctx := context.Background()
			tag := allreduce.Tag{Op: allreduce.OpAllGather, Seq: 1, Step: 2, Chunk: 3}
			errc := make(chan error, 1)
			go func() { errc <- ts[1].Send(ctx, 0, tag, []float32{1, 2, 3}) }()
			buf := make([]float32, 3)
			err := ts[0].Recv(ctx, 1, tag, buf)
			if serr := <-errc; serr != nil {
				t.Fatal(serr)
			}
			if !mitm.flipped.Load() {
				t.Fatal("the relay changed no byte")
			}
			if !tc.caught {
				if err != nil || buf[0] == 1 {
					t.Fatalf("got %v and %v, want the changed payload received without error", err, buf)
				}
				return
			}
			if !errors.Is(err, ErrChecksum) || !errors.Is(err, allreduce.ErrPeerLost) {
				t.Fatalf("got %v, want ErrChecksum and allreduce.ErrPeerLost", err)
			}
			if want := "recv from rank 1: generation 3, all-gather call 1 step 2 chunk 3"; !strings.Contains(err.Error(), want) {
				t.Fatalf("%q does not name %q", err, want)
			}
		})
	}
}

// connectVia connects rank 0 (on a) and rank 1 (on b) of a 2-rank
// generation, rank 1 dialing rank 0 at via; checksum is each rank's
// Spec.PayloadChecksum.
func connectVia(t testing.TB, a, b *Listener, gen uint64, via string, checksum [2]bool) [2]*Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ts [2]*Transport
	var errs [2]error
	var wg sync.WaitGroup
	wg.Go(func() {
		ts[0], errs[0] = a.Connect(ctx, Spec{Generation: gen, Rank: 0, Size: 2, Peers: map[int]string{1: b.Addr()}, PayloadChecksum: checksum[0]})
	})
	wg.Go(func() {
		ts[1], errs[1] = b.Connect(ctx, Spec{Generation: gen, Rank: 1, Size: 2, Peers: map[int]string{0: via}, PayloadChecksum: checksum[1]})
	})
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d connect: %v", r, err)
		}
		t.Cleanup(func() { ts[r].Close() })
	}
	return ts
}
