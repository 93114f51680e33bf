package allreduce_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/transport/mem"
)

// tightTCPFabric is TCP with the smallest socket buffers tcp.Config allows
// (SendBuffer 64 KiB): with shm's 64 KiB rings it makes Comm run steps of
// up to 64 KiB sequentially (send, then receive) with no room to spare.
var tightTCPFabric = fabric{name: "tcp-64KiB-buffers", build: func(t *testing.T, size int) ([]allreduce.Transport, func(int)) {
	cfg := quietTCPConfig()
	cfg.SocketBufferBytes = 64 << 10
	ts := connectTCP(t, size, cfg, false)
	out := make([]allreduce.Transport, size)
	for r, tr := range ts {
		out[r] = tr
	}
	return out, func(r int) { ts[r].Abort() }
}}

// TestSequentialStepsAtTheBufferLimit runs back-to-back collectives whose
// steps just fit the transports' send buffers (run sequentially) between
// others that do not (pipelined), ranks racing ahead of each other: no
// deadlock, and the all-reduces still match the reference.
func TestSequentialStepsAtTheBufferLimit(t *testing.T) {
	cfg := allreduce.Config{SegmentBytes: 16 << 10, SmallBytes: 64 << 10}
	for _, f := range append([]fabric{tightTCPFabric}, platformFabrics...) {
		for _, size := range []int{2, 3, 4} {
			t.Run(fmt.Sprintf("%s/world%d", f.name, size), func(t *testing.T) {
				g := newGroup(t, f, size, cfg)
				fit := (60 << 10) / 4 * size // ring steps of 60 KiB: sequential
				lengths := []int{fit, 1 << 10, (48 << 10) / 4, fit * 2, fit + 3}
				inputs := make([][][]float32, len(lengths))
				want := make([][]float64, len(lengths))
				for i, n := range lengths {
					inputs[i] = randomInputs(size, n, uint64(i+1))
					want[i] = reference(inputs[i], allreduce.Sum)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				got := make([][][]float32, size)
				mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
					got[r] = make([][]float32, len(lengths))
					for it := range 5 {
						for i, n := range lengths {
							buf := slices.Clone(inputs[i][r])
							if err := c.AllReduce(ctx, buf, allreduce.Sum); err != nil {
								return fmt.Errorf("iteration %d all-reduce of %d: %w", it, n, err)
							}
							got[r][i] = slices.Clone(buf)
							if _, _, err := c.ReduceScatter(ctx, slices.Clone(inputs[i][r]), allreduce.Sum); err != nil {
								return fmt.Errorf("iteration %d reduce-scatter of %d: %w", it, n, err)
							}
							if err := c.AllGather(ctx, buf); err != nil {
								return fmt.Errorf("iteration %d all-gather of %d: %w", it, n, err)
							}
							if err := c.Broadcast(ctx, buf, it%size); err != nil {
								return fmt.Errorf("iteration %d broadcast of %d: %w", it, n, err)
							}
						}
					}
					return nil
				}))
				for i := range lengths {
					for r := range size {
						checkClose(t, got[r][i], want[i], size)
						if r > 0 && !slices.Equal(got[r][i], got[0][i]) {
							t.Fatalf("length %d: rank %d differs from rank 0", lengths[i], r)
						}
					}
				}
			})
		}
	}
}

// inFlightSequential is inFlight with 256 KiB all-reduces (the default
// Config): over TCP's 4 MiB send buffers they run sequentially.
func inFlightSequential(g *group) <-chan error {
	ch := make(chan error, len(g.comms))
	for r, c := range g.comms {
		go func() {
			buf := make([]float32, (256<<10)/4)
			var err error
			for i := 0; i < 1_000_000 && err == nil; i++ {
				err = c.AllReduce(context.Background(), buf, allreduce.Sum)
			}
			ch <- fmt.Errorf("rank %d: %w", r, err)
		}()
	}
	return ch
}

// Abort and a killed peer stop sequential calls as promptly as pipelined
// ones.
func TestAbortMidSequentialCall(t *testing.T) {
	abortOneMidCall(t, allreduce.DefaultConfig(), inFlightSequential)
}

func TestKilledRankStopsSequentialCalls(t *testing.T) {
	killedRankFailsFast(t, allreduce.DefaultConfig(), inFlightSequential, 2, 4)
}

// depthEndpoint is a mem endpoint that reports a send buffer of ahead+1
// segment frames (its links hold 4 frames, at least as many), so that Comm
// runs large lockstep calls on the calling goroutine ahead segments ahead,
// or, with ahead 0, pipelined.
type depthEndpoint struct {
	*mem.Endpoint
	buffer int
}

func (e depthEndpoint) SendBuffer() int { return e.buffer }

// TestInterleavedRanksMixAhead runs ring and halving all-reduces,
// reduce-scatters and all-gathers of many segments per step with every rank
// sending a different number of segments ahead (0: the pipeline), over
// links that hold only 4 frames: no deadlock, and the results match the
// reference on every rank. A rank that sends more than its link holds
// before it receives would deadlock here (the direct all-reduce, whose
// rounds only send, must not interleave).
func TestInterleavedRanksMixAhead(t *testing.T) {
	const segBytes = 4 << 10
	frame := segBytes + 64
	for _, tc := range []struct {
		name  string
		algo  string
		size  int
		ahead []int // per rank; 0: pipelined
	}{
		{"ring world 2", "ring", 2, []int{1, 3}},
		{"ring world 3", "ring", 3, []int{0, 1, 3}},
		{"ring world 4", "ring", 4, []int{3, 1, 2, 0}},
		{"ring world 5", "ring", 5, []int{1, 1, 1, 1, 1}},
		{"halving world 4", "halving", 4, []int{1, 3, 0, 2}},
		{"direct world 3", "direct", 3, []int{3, 3, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := mem.NewNetwork(tc.size, 4)
			cfg := allreduce.Config{SegmentBytes: segBytes, SmallBytes: 4 << 10}
			switch tc.algo {
			case "halving":
				cfg.HalvingBytes = 64 << 20
			case "direct":
				cfg.DirectBytes = 64 << 20
			}
			g := &group{}
			for r := range tc.size {
				c, err := allreduce.New(depthEndpoint{n.Endpoint(r), (tc.ahead[r] + 1) * frame}, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				g.comms = append(g.comms, c)
			}
			length := (1 << 20) / 4 // 256 KiB / world per step: dozens of segments
			in := randomInputs(tc.size, length, 5)
			want := reference(in, allreduce.Sum)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			got := make([][]float32, tc.size)
			mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
				for it := range 3 {
					buf := slices.Clone(in[r])
					if err := c.AllReduce(ctx, buf, allreduce.Sum); err != nil {
						return fmt.Errorf("iteration %d all-reduce: %w", it, err)
					}
					got[r] = buf
					if _, _, err := c.ReduceScatter(ctx, slices.Clone(in[r]), allreduce.Sum); err != nil {
						return fmt.Errorf("iteration %d reduce-scatter: %w", it, err)
					}
					if err := c.AllGather(ctx, slices.Clone(buf)); err != nil {
						return fmt.Errorf("iteration %d all-gather: %w", it, err)
					}
				}
				return nil
			}))
			for r := range tc.size {
				checkClose(t, got[r], want, tc.size)
			}
		})
	}
}
