package allreduce_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
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
