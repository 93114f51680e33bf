package allreduce_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/transport/mem"
)

// optTransport adds the optional methods to a mem endpoint: RecvReduce is
// the dumb reference (Recv into a fresh slice, then Combine) for peers in
// reduces, and every call is recorded.
type optTransport struct {
	allreduce.Transport
	reduces map[int]bool

	mu       sync.Mutex
	hints    []bool
	reducedN int // RecvReduce calls
	recvN    int // Recv calls
}

func (o *optTransport) Recv(ctx context.Context, from int, tag allreduce.Tag, buf []float32) error {
	o.mu.Lock()
	o.recvN++
	o.mu.Unlock()
	return o.Transport.Recv(ctx, from, tag, buf)
}

func (o *optTransport) RecvReduces(from int) bool { return o.reduces[from] }

func (o *optTransport) RecvReduce(ctx context.Context, from int, tag allreduce.Tag, dst []float32, op allreduce.ReduceOp) error {
	if !o.reduces[from] {
		return fmt.Errorf("RecvReduce from %d, which RecvReduces refuses", from)
	}
	o.mu.Lock()
	o.reducedN++
	o.mu.Unlock()
	tmp := make([]float32, len(dst))
	if err := o.Transport.Recv(ctx, from, tag, tmp); err != nil {
		return err
	}
	allreduce.Combine(op, dst, tmp)
	return nil
}

func (o *optTransport) Sequential(on bool) {
	o.mu.Lock()
	o.hints = append(o.hints, on)
	o.mu.Unlock()
}

// TestOptionalTransportMethods: Comm combines through RecvReduce exactly for
// the peers the transport names, with the same bits as its own Recv and
// combine, and brackets sequential calls, and only those, with the hint.
func TestOptionalTransportMethods(t *testing.T) {
	const size = 4
	cfg := allreduce.Config{SegmentBytes: 16 << 10, SmallBytes: 1 << 10, DirectBytes: 1 << 10, HalvingBytes: 1 << 10}
	for _, tc := range []struct {
		name       string
		reduces    map[int]bool // the same map on every rank
		n          int
		sequential bool
	}{
		{"every peer, sequential", map[int]bool{0: true, 1: true, 2: true, 3: true}, 1000, true},
		{"every peer, pipelined", map[int]bool{0: true, 1: true, 2: true, 3: true}, 50_000, false},
		{"no peer, pipelined", map[int]bool{}, 50_000, false},
		{"ranks 1 and 2 only, pipelined", map[int]bool{1: true, 2: true}, 50_000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := randomInputs(size, tc.n, 7)
			for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Mean, allreduce.Max} {
				plain := allReduceOver(t, size, cfg, in, op, nil)
				opts := make([]*optTransport, size)
				got := allReduceOver(t, size, cfg, in, op, func(r int, tr allreduce.Transport) allreduce.Transport {
					opts[r] = &optTransport{Transport: tr, reduces: tc.reduces}
					return opts[r]
				})
				for r := range size {
					if i := testutil.FirstBitDiff(plain[r], got[r]); i >= 0 {
						t.Fatalf("%v rank %d: value %d differs from the plain transport's", op, r, i)
					}
					o := opts[r]
					var wantHints []bool
					if tc.sequential {
						wantHints = []bool{true, false}
					}
					if !slices.Equal(o.hints, wantHints) {
						t.Errorf("%v rank %d: hints %v, sequential call: %v", op, r, o.hints, tc.sequential)
					}
					// The ring (cfg rules out the other algorithms) receives
					// from the previous rank only.
					if tc.reduces[(r+size-1)%size] != (o.reducedN > 0) {
						t.Errorf("%v rank %d: %d RecvReduce calls, peers that reduce: %v", op, r, o.reducedN, tc.reduces)
					}
					if len(tc.reduces) == size && o.recvN > o.reducedN {
						// Reduce-scatter steps reduce, all-gather steps copy:
						// the ring has as many of one as of the other.
						t.Errorf("%v rank %d: %d Recv calls for %d RecvReduce calls", op, r, o.recvN, o.reducedN)
					}
				}
			}
		})
	}
}

// allReduceOver runs one all-reduce of in over a mem network, each endpoint
// wrapped by wrap (nil: as is), and returns every rank's result.
func allReduceOver(t *testing.T, size int, cfg allreduce.Config, in [][]float32, op allreduce.ReduceOp, wrap func(int, allreduce.Transport) allreduce.Transport) [][]float32 {
	t.Helper()
	n := mem.NewNetwork(size, 0)
	comms := make([]*allreduce.Comm, size)
	bufs := make([][]float32, size)
	for r := range size {
		var tr allreduce.Transport = n.Endpoint(r)
		if wrap != nil {
			tr = wrap(r, tr)
		}
		c, err := allreduce.New(tr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		comms[r] = c
		bufs[r] = slices.Clone(in[r])
	}
	errs := make([]error, size)
	var wg sync.WaitGroup
	for r, c := range comms {
		wg.Go(func() { errs[r] = c.AllReduce(context.Background(), bufs[r], op) })
	}
	wg.Wait()
	mustAll(t, errs)
	return bufs
}

// TestFabricsAgreeBitwise: every fabric gives the same bits for the same
// inputs, sequential and pipelined, whether its transport combines frames
// as they arrive (shm: RecvReduce) or Comm does. The schedules are
// compared: shared memory's own all-reduce (NoShared off) adds in another
// order (TestSharedAllReduceMatchesReference).
func TestFabricsAgreeBitwise(t *testing.T) {
	cfg := smallCfg()
	cfg.NoShared = true
	for _, size := range []int{2, 3, 4} {
		for _, n := range []int{3000, 300_007} {
			in := randomInputs(size, n, uint64(size*n))
			for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Mean, allreduce.Max} {
				var want [][]float32
				for _, f := range fabrics {
					g := newGroup(t, f, size, cfg)
					bufs := make([][]float32, size)
					for r := range bufs {
						bufs[r] = slices.Clone(in[r])
					}
					mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
						return c.AllReduce(context.Background(), bufs[r], op)
					}))
					if want == nil {
						want = bufs
						continue
					}
					for r := range bufs {
						if i := testutil.FirstBitDiff(want[r], bufs[r]); i >= 0 {
							t.Fatalf("world %d n %d %v: %s rank %d differs from %s at %d", size, n, op, f.name, r, fabrics[0].name, i)
						}
					}
				}
			}
		}
	}
}

// advised is a mem endpoint that advises a segment size and counts frames.
type advised struct {
	allreduce.Transport
	advice int
	mu     sync.Mutex
	sends  int
}

func (a *advised) SegmentAdvice() int { return a.advice }

func (a *advised) Send(ctx context.Context, to int, tag allreduce.Tag, data []float32) error {
	a.mu.Lock()
	a.sends++
	a.mu.Unlock()
	return a.Transport.Send(ctx, to, tag, data)
}

// Config.SegmentBytes 0 takes the transport's segment advice (else 1 MiB);
// a size of its own overrides the advice; bad advice is refused by New.
func TestSegmentAdvice(t *testing.T) {
	const size, n = 2, 1 << 20 // 4 MiB: ring steps of 2 MiB
	cfg := allreduce.DefaultConfig()
	for _, tc := range []struct {
		name      string
		advice    int
		segment   int
		wantSends int // per rank: 2 steps of 2 MiB
	}{
		{"advice 256 KiB", 256 << 10, 0, 2 * 8},
		{"no advice: 1 MiB", 0, 0, 2 * 2},
		{"own size over advice", 256 << 10, 512 << 10, 2 * 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.SegmentBytes = tc.segment
			in := randomInputs(size, n, 3)
			ads := make([]*advised, size)
			got := allReduceOver(t, size, c, in, allreduce.Sum, func(r int, tr allreduce.Transport) allreduce.Transport {
				ads[r] = &advised{Transport: tr, advice: tc.advice}
				return ads[r]
			})
			plain := allReduceOver(t, size, cfg, in, allreduce.Sum, nil)
			for r := range size {
				if ads[r].sends != tc.wantSends {
					t.Errorf("rank %d sent %d frames, want %d", r, ads[r].sends, tc.wantSends)
				}
				if i := testutil.FirstBitDiff(plain[r], got[r]); i >= 0 {
					t.Errorf("rank %d differs at %d from 1 MiB segments", r, i)
				}
			}
		})
	}
	for _, bad := range []int{100, 128 << 20} {
		n := mem.NewNetwork(1, 0)
		if _, err := allreduce.New(&advised{Transport: n.Endpoint(0), advice: bad}, cfg); err == nil {
			t.Errorf("advice %d accepted", bad)
		}
	}
}

// halvingAdvised is a mem endpoint that advises a halving threshold and
// records the collectives its frames belong to.
type halvingAdvised struct {
	allreduce.Transport
	advice int
	mu     sync.Mutex
	ops    map[allreduce.Op]bool
}

func (a *halvingAdvised) HalvingAdvice() int { return a.advice }

func (a *halvingAdvised) Send(ctx context.Context, to int, tag allreduce.Tag, data []float32) error {
	a.mu.Lock()
	a.ops[tag.Op] = true
	a.mu.Unlock()
	return a.Transport.Send(ctx, to, tag, data)
}

// A transport's halving advice moves all-reduces above it from recursive
// halving to the direct algorithm where both apply (4 ranks); it never
// raises Config.HalvingBytes, and is ignored where direct is off. The
// result is the reference's either way.
func TestHalvingAdvice(t *testing.T) {
	const size = 4
	for _, tc := range []struct {
		name    string
		advice  int
		halving int // Config.HalvingBytes
		direct  int // Config.DirectBytes
		bytes   int
		want    allreduce.Op
	}{
		{"no advice", 0, 1 << 20, 2 << 20, 512 << 10, allreduce.OpAllReduceHalving},
		{"above the advice", 256 << 10, 1 << 20, 2 << 20, 512 << 10, allreduce.OpAllReduceDirect},
		{"at the advice", 256 << 10, 1 << 20, 2 << 20, 256 << 10, allreduce.OpAllReduceHalving},
		{"advice above the config", 4 << 20, 1 << 20, 2 << 20, 2 << 20, allreduce.OpAllReduceDirect},
		{"direct off", 256 << 10, 1 << 20, 0, 512 << 10, allreduce.OpAllReduceHalving},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := allreduce.DefaultConfig()
			cfg.HalvingBytes, cfg.DirectBytes = tc.halving, tc.direct
			in := randomInputs(size, tc.bytes/4, 9)
			ads := make([]*halvingAdvised, size)
			got := allReduceOver(t, size, cfg, in, allreduce.Sum, func(r int, tr allreduce.Transport) allreduce.Transport {
				ads[r] = &halvingAdvised{Transport: tr, advice: tc.advice, ops: map[allreduce.Op]bool{}}
				return ads[r]
			})
			want := reference(in, allreduce.Sum)
			for r := range size {
				if len(ads[r].ops) != 1 || !ads[r].ops[tc.want] {
					t.Errorf("rank %d sent frames of %v, want only %v", r, ads[r].ops, tc.want)
				}
				checkClose(t, got[r], want, size)
			}
		})
	}
}

// bulkRecorder is a mem endpoint that records its bulk hints and whether
// frames moved while the hint was on.
type bulkRecorder struct {
	allreduce.Transport
	mu     sync.Mutex
	on     bool
	hints  []bool
	bulkRx int // frames received with the hint on
	rx     int
}

func (b *bulkRecorder) Bulk(on bool) {
	b.mu.Lock()
	b.on = on
	b.hints = append(b.hints, on)
	b.mu.Unlock()
}

func (b *bulkRecorder) Recv(ctx context.Context, from int, tag allreduce.Tag, buf []float32) error {
	b.mu.Lock()
	b.rx++
	if b.on {
		b.bulkRx++
	}
	b.mu.Unlock()
	return b.Transport.Recv(ctx, from, tag, buf)
}

// Comm turns the bulk hint on for exactly the collectives of at least
// 16 MiB, around all of their frames, and off again after; the results do
// not change.
func TestBulkHint(t *testing.T) {
	const size = 2
	for _, tc := range []struct {
		name  string
		bytes int
		bulk  bool
	}{
		{"1 MiB", 1 << 20, false},
		{"just under 16 MiB", 16<<20 - 4, false},
		{"16 MiB", 16 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := randomInputs(size, tc.bytes/4, 11)
			recs := make([]*bulkRecorder, size)
			got := allReduceOver(t, size, allreduce.DefaultConfig(), in, allreduce.Sum, func(r int, tr allreduce.Transport) allreduce.Transport {
				recs[r] = &bulkRecorder{Transport: tr}
				return recs[r]
			})
			want := reference(in, allreduce.Sum)
			for r, rec := range recs {
				checkClose(t, got[r], want, size)
				wantHints, wantBulkRx := []bool(nil), 0
				if tc.bulk {
					wantHints, wantBulkRx = []bool{true, false}, rec.rx
				}
				if !slices.Equal(rec.hints, wantHints) || rec.bulkRx != wantBulkRx || rec.rx == 0 {
					t.Errorf("rank %d: hints %v, %d of %d frames received in bulk; want hints %v, %d in bulk", r, rec.hints, rec.bulkRx, rec.rx, wantHints, wantBulkRx)
				}
			}
		})
	}
}
