package route

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

var secret = []byte("0123456789abcdef-route-secret")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func tcpConfig() tcp.Config {
	cfg := tcp.DefaultConfig(secret)
	cfg.IOTimeout = 10 * time.Second
	cfg.Logger = quiet()
	return cfg
}

// connectAll makes a real loopback TCP generation of len(opts) ranks and
// runs Establish on every rank with its options.
func connectAll(t *testing.T, gen uint64, opts []Options) ([]*Transport, []Info) {
	t.Helper()
	n := len(opts)
	lns := make([]*tcp.Listener, n)
	for r := range lns {
		l, err := tcp.Listen("127.0.0.1:0", tcpConfig())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		lns[r] = l
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ts := make([]*Transport, n)
	infos := make([]Info, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r := range n {
		wg.Go(func() {
			peers := map[int]string{}
			for _, p := range allreduce.Peers(r, n) {
				peers[p] = lns[p].Addr()
			}
			nt, err := lns[r].Connect(ctx, tcp.Spec{Generation: gen, Rank: r, Size: n, Peers: peers})
			if err != nil {
				errs[r] = err
				return
			}
			o := opts[r]
			o.Logger = quiet()
			ts[r], infos[r], errs[r] = Establish(ctx, nt, o)
			if errs[r] != nil {
				nt.Close()
			}
		})
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	t.Cleanup(func() {
		for _, tr := range ts {
			tr.Close()
		}
	})
	return ts, infos
}

// allReduceAll runs one all-reduce of n values on every rank (rank r
// contributes r+1+i/n at i) and checks every rank got the exact sum.
func allReduceAll(t *testing.T, ts []*Transport, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bufs := make([][]float32, len(ts))
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for r, tr := range ts {
		bufs[r] = make([]float32, n)
		for i := range n {
			bufs[r][i] = float32(r+1) + float32(i%7)
		}
		wg.Go(func() {
			c, err := allreduce.New(tr, allreduce.DefaultConfig())
			if err != nil {
				errs[r] = err
				return
			}
			defer c.Close()
			errs[r] = c.AllReduce(ctx, bufs[r], allreduce.Sum)
		})
	}
	wg.Wait()
	w := len(ts)
	for r := range ts {
		if errs[r] != nil {
			t.Fatalf("rank %d: %v", r, errs[r])
		}
		for i, v := range bufs[r] {
			if want := float32(w*(w+1)/2 + w*(i%7)); v != want {
				t.Fatalf("rank %d [%d] = %v, want %v", r, i, v, want)
			}
		}
	}
}

func TestEstablishGroupsByHost(t *testing.T) {
	cases := []struct {
		name   string
		hosts  []string
		off    []bool
		shared [][]int // per rank
	}{
		{"one host", []string{"a", "a", "a"}, nil, [][]int{{1, 2}, {0, 2}, {0, 1}}},
		{"two hosts", []string{"a", "a", "b", "b"}, nil, [][]int{{1}, {0}, {3}, {2}}},
		{"interleaved", []string{"a", "b", "a", "b"}, nil, [][]int{{2}, {3}, {0}, {1}}},
		{"all apart", []string{"a", "b", "c"}, nil, [][]int{nil, nil, nil}},
		{"one rank off", []string{"a", "a", "a"}, []bool{false, true, false}, [][]int{{2}, nil, {0}}},
		{"all off", []string{"a", "a"}, []bool{true, true}, [][]int{nil, nil}},
		{"world of one", []string{"a"}, nil, [][]int{nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := make([]Options, len(tc.hosts))
			for r, h := range tc.hosts {
				opts[r] = Options{HostKey: h}
				if tc.off != nil {
					opts[r].Off = tc.off[r]
				}
			}
			ts, infos := connectAll(t, 7, opts)
			for r, tr := range ts {
				if len(ts) > 1 && !slices.Equal(infos[r].Hosts, infos[0].Hosts) {
					t.Errorf("rank %d's host map %v differs from rank 0's %v", r, infos[r].Hosts, infos[0].Hosts)
				}
				if !slices.Equal(infos[r].Shared, tc.shared[r]) {
					t.Errorf("rank %d shares with %v, want %v (info %+v)", r, infos[r].Shared, tc.shared[r], infos[r])
				}
				for p := range ts {
					if got, want := tr.Shared(p), slices.Contains(tc.shared[r], p); got != want {
						t.Errorf("rank %d: Shared(%d) = %v, want %v", r, p, got, want)
					}
				}
				if len(tc.shared[r]) == 0 && len(ts) > 1 && infos[r].Fallback == "" {
					t.Errorf("rank %d stays on TCP without saying why", r)
				}
			}
			for _, n := range []int{0, 5, 1000, 300_000} {
				allReduceAll(t, ts, n)
			}
		})
	}
}

// This host's real key: every rank of this test process shares it.
func TestEstablishWithTheRealHostKey(t *testing.T) {
	if _, err := HostKey(); err != nil {
		t.Skipf("no host key here: %v", err)
	}
	ts, infos := connectAll(t, 3, make([]Options, 3))
	for r := range ts {
		if len(infos[r].Shared) != 2 {
			t.Fatalf("rank %d: %+v", r, infos[r])
		}
	}
	allReduceAll(t, ts, 100_000)
}

// A member that cannot attach keeps its whole host group on TCP, and every
// member says so; the other host is not affected.
func TestFailedAttachKeepsTheGroupOnTCP(t *testing.T) {
	opts := []Options{{HostKey: "a"}, {HostKey: "a"}, {HostKey: "a", attachErr: errors.New("injected")}, {HostKey: "b"}, {HostKey: "b"}}
	ts, infos := connectAll(t, 9, opts)
	for r := range 3 {
		if len(infos[r].Shared) != 0 || infos[r].Fallback == "" {
			t.Fatalf("rank %d: %+v", r, infos[r])
		}
	}
	if infos[2].Fallback != "injected" {
		t.Fatalf("rank 2's reason: %q", infos[2].Fallback)
	}
	if !slices.Equal(infos[3].Shared, []int{4}) {
		t.Fatalf("rank 3: %+v", infos[3])
	}
	allReduceAll(t, ts, 50_000)
}

// Abort on one rank makes the others' calls over shared memory and over TCP
// fail promptly instead of waiting.
func TestAbortReachesPeersOnBothPaths(t *testing.T) {
	ts, _ := connectAll(t, 4, []Options{{HostKey: "a"}, {HostKey: "a"}, {HostKey: "b"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	tag := allreduce.Tag{Op: allreduce.OpBarrier, Seq: 1}
	go func() { errs <- ts[1].Recv(ctx, 0, tag, make([]float32, 4)) }() // shared memory
	go func() { errs <- ts[2].Recv(ctx, 0, tag, make([]float32, 4)) }() // TCP
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	ts[0].Abort()
	for range 2 {
		if err := <-errs; err == nil {
			t.Fatal("a receive from an aborted rank succeeded")
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("peers noticed the abort after %v", d)
	}
}

func TestErrorsNameTheWorldRank(t *testing.T) {
	ts, _ := connectAll(t, 5, []Options{{HostKey: "a"}, {HostKey: "b"}, {HostKey: "a"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tag := allreduce.Tag{Op: allreduce.OpBarrier, Seq: 1}
	if err := ts[2].Send(ctx, 0, tag, []float32{1}); err != nil {
		t.Fatal(err)
	}
	err := ts[0].Recv(ctx, 2, tag, make([]float32, 2)) // wrong length
	if !errors.Is(err, allreduce.ErrProtocol) || !containsAll(err.Error(), "rank 2", "shared memory") {
		t.Fatalf("got %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func TestHostMapNumbersHostsByFirstRank(t *testing.T) {
	_, infos := connectAll(t, 8, []Options{{HostKey: "x"}, {HostKey: "y"}, {HostKey: "x", Off: true}, {HostKey: "z"}, {HostKey: "y"}})
	for r := range infos {
		if want := []int{0, 1, 0, 2, 1}; !slices.Equal(infos[r].Hosts, want) {
			t.Fatalf("rank %d: host map %v, want %v", r, infos[r].Hosts, want)
		}
	}
}

// SendBuffer is the figure of the transports in use: shared memory's ring
// when every peer shares memory, TCP's when none does, the smaller when
// both are used.
func TestSendBufferOfTheTransportsInUse(t *testing.T) {
	ts, _ := connectAll(t, 12, []Options{{HostKey: "a"}, {HostKey: "a"}, {HostKey: "b"}})
	ring := ts[0].local.(allreduce.SendBufferer).SendBuffer()
	tcpBuf := ts[2].net.(allreduce.SendBufferer).SendBuffer()
	if ring <= 0 || tcpBuf <= 0 {
		t.Fatalf("ring %d, tcp %d", ring, tcpBuf)
	}
	if got, want := ts[0].SendBuffer(), min(ring, ts[0].net.(allreduce.SendBufferer).SendBuffer()); got != want {
		t.Errorf("mixed rank: %d, want %d", got, want)
	}
	if got := ts[2].SendBuffer(); got != tcpBuf {
		t.Errorf("TCP-only rank: %d, want %d", got, tcpBuf)
	}
	shared, _ := connectAll(t, 13, []Options{{HostKey: "a"}, {HostKey: "a"}})
	if got, want := shared[0].SendBuffer(), shared[0].local.(allreduce.SendBufferer).SendBuffer(); got != want {
		t.Errorf("all-shared rank: %d, want %d", got, want)
	}
}

// RecvReduce goes to shared memory for the peers reached that way and is
// refused for the others (RecvReduces says which); a mixed world's
// all-reduces, pipelined, sequential and bulk, stay exact with it; the
// sequential and bulk hints reach the shared-memory transport.
func TestRecvReduceAndHintFollowTheRoutes(t *testing.T) {
	ts, _ := connectAll(t, 14, []Options{{HostKey: "a"}, {HostKey: "a"}, {HostKey: "b"}})
	if !ts[0].RecvReduces(1) || ts[0].RecvReduces(2) || ts[0].RecvReduces(0) || ts[0].RecvReduces(-1) || ts[0].RecvReduces(3) {
		t.Fatalf("rank 0 RecvReduces: 1 %v, 2 %v, 0 %v", ts[0].RecvReduces(1), ts[0].RecvReduces(2), ts[0].RecvReduces(0))
	}
	if ts[2].RecvReduces(0) || ts[2].RecvReduces(1) {
		t.Fatal("TCP-only rank 2 claims to combine as frames arrive")
	}
	err := ts[0].RecvReduce(context.Background(), 2, allreduce.Tag{Op: allreduce.OpAllReduceRing, Seq: 1}, make([]float32, 4), allreduce.Sum)
	if !errors.Is(err, allreduce.ErrProtocol) {
		t.Fatalf("RecvReduce from a TCP peer: %v, want ErrProtocol", err)
	}
	allReduceAll(t, ts, 3_000_001) // pipelined
	allReduceAll(t, ts, 1000)      // sequential
	allReduceAll(t, ts, 4<<20)     // bulk: shared memory copies out non-temporally
	if _, ok := ts[0].local.(allreduce.BulkHinter); !ok {
		t.Fatal("the shared-memory transport takes no bulk hint")
	}
	type hinted interface{ Sequential(bool) }
	ts[0].Sequential(true)
	ts[0].Sequential(false)
	if _, ok := ts[0].local.(hinted); !ok {
		t.Fatal("the shared-memory transport takes no sequential hint")
	}
}

// The segment and halving advice are shared memory's exactly when every rank
// is reached through it, on every rank alike, and none otherwise; so is
// shared memory's all-reduce.
func TestSegmentAdviceOnlyWhenAllShared(t *testing.T) {
	type advisor interface{ SegmentAdvice() int }
	local := func(tr *Transport) int { return tr.local.(advisor).SegmentAdvice() }
	for _, tc := range []struct {
		name   string
		opts   []Options
		shared bool
	}{
		{"one host", []Options{{HostKey: "a"}, {HostKey: "a"}, {HostKey: "a"}}, true},
		{"two hosts", []Options{{HostKey: "a"}, {HostKey: "a"}, {HostKey: "b"}}, false},
		{"shared memory off", []Options{{HostKey: "a", Off: true}, {HostKey: "a"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := connectAll(t, 15, tc.opts)
			for r, tr := range ts {
				want := 0
				if tc.shared {
					want = local(tr)
				}
				if got := tr.SegmentAdvice(); got != want || (tc.shared && got == 0) {
					t.Errorf("rank %d: advice %d, want %d", r, got, want)
				}
				wantHalving := 0
				if tc.shared {
					wantHalving = tr.local.(interface{ HalvingAdvice() int }).HalvingAdvice()
				}
				if got := tr.HalvingAdvice(); got != wantHalving || (tc.shared && got == 0) {
					t.Errorf("rank %d: halving advice %d, want %d", r, got, wantHalving)
				}
				if got := tr.SharedAllReduces(); got != tc.shared {
					t.Errorf("rank %d: shared all-reduce %v, want %v", r, got, tc.shared)
				}
				if !tc.shared {
					err := tr.SharedAllReduce(context.Background(), allreduce.Tag{Op: allreduce.OpAllReduceShared, Seq: 1}, make([]float32, 10), allreduce.Sum)
					if !errors.Is(err, allreduce.ErrProtocol) {
						t.Errorf("rank %d: SharedAllReduce where it does not apply: %v", r, err)
					}
				}
			}
			// Through shared memory's all-reduce or the frames: exact sums.
			allReduceAll(t, ts, 300_001)
		})
	}
}
