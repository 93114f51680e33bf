package bench

import (
	"context"
	"io"

	"log/slog"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/proc"
	"go.uber.org/goleak"
)

// The test binary doubles as the rank process: AllReduce starts
// os.Executable() with RINGTRAIN_TEST_BENCH_WORKER=1.
func TestMain(m *testing.M) {
	if os.Getenv("RINGTRAIN_TEST_BENCH_WORKER") == "1" {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		if err := Worker(context.Background(), os.Stdin, os.Stdout, log); err != nil {
			log.Error("worker", "err", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func opts(worlds []int, sizes []int64) Options {
	return Options{Worlds: worlds, Sizes: sizes, Iters: 3, Segment: 64 << 10, SmallBytes: 16 << 10, DirectBytes: 2 << 20, HalvingBytes: 512 << 10,
		Data: "random", Op: "allreduce", WorkerArgs: []string{"-test.run=^$"},
		WorkerEnv: []string{"RINGTRAIN_TEST_BENCH_WORKER=1"}, Stderr: io.Discard}
}

// transports are the ranks' transports every process test runs over.
var transports = []string{"tcp", "shm", "auto"}

func TestAllReduceBenchIsExact(t *testing.T) {
	for _, tr := range transports {
		for _, op := range []string{"allreduce", "reduce-scatter", "all-gather"} {
			t.Run(tr+"/"+op, func(t *testing.T) { benchIsExact(t, tr, op) })
		}
	}
}

func benchIsExact(t *testing.T, transport, op string) {
	o := opts([]int{1, 3}, []int64{4 << 10, 1 << 20})
	o.Op, o.Transport = op, transport
	res, err := AllReduce(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results", len(res))
	}
	for _, r := range res {
		if r.MaxErr > 1e-6 || r.Median <= 0 || r.AlgBW <= 0 {
			t.Fatalf("%s: %+v", op, r)
		}
		if want := r.AlgBW * 2 * float64(r.World-1) / float64(r.World); r.BusBW != want {
			t.Fatalf("busbw %v, want %v", r.BusBW, want)
		}
	}
}

// A rank process killed with SIGKILL mid-collective: every other rank's
// call fails fast (they exit with an error) instead of hanging.
func TestKilledRankProcessFailsOthersFast(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) { killedRankFailsOthersFast(t, tr) })
	}
}

func killedRankFailsOthersFast(t *testing.T, transport string) {
	o := opts([]int{4}, []int64{16 << 20})
	o.Transport = transport
	o.Iters, o.Data = 100_000, "pattern" // cheap checks: the ranks are almost always mid-call
	killed := make(chan time.Time, 1)
	var children []*proc.Child
	o.OnStart = func(cs []*proc.Child) {
		children = cs
		go func() {
			time.Sleep(300 * time.Millisecond) // mid-run
			cs[2].Cmd.Process.Kill()
			killed <- time.Now()
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := AllReduce(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "rank") {
		t.Fatalf("want an error naming a rank, got %v", err)
	}
	at := <-killed
	// Fast means long before the transport's 120 s I/O timeout would end a
	// hang; 10 s leaves room for a machine loaded by -race and other jobs
	// (a 1 s bound failed once in CI that way).
	const fast = 10 * time.Second
	for r, c := range children {
		select {
		case <-c.Done():
		case <-time.After(time.Until(at.Add(fast))):
			t.Fatalf("rank %d still running %v after rank 2 was killed", r, fast)
		}
		if r != 2 && (c.Err() == nil || !strings.Contains(c.Err().Error(), "exit status 1")) {
			t.Fatalf("rank %d: %v, want it to have failed by itself", r, c.Err())
		}
	}
	t.Logf("error: %v", err)
}

func TestParseSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int64
		err  string
	}{
		{"4K,64K,1M", []int64{4096, 65536, 1 << 20}, ""},
		{"8, 1G", []int64{8, 1 << 30}, ""},
		{"", nil, "no sizes"},
		{"3", nil, "float32"},
		{"-4K", nil, "positive"},
		{"8G", nil, "4 GiB"},
		{"1T", nil, "positive"},
	} {
		got, err := ParseSizes(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("%q: %v %v", tc.in, got, err)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: %v", tc.in, got)
			}
		}
	}
}

// The compressed reduce-scatter across real processes: random data shows
// the half-width rounding (non-zero, within (N-1) roundings of partial sums
// of |x| <= 1), small integer patterns stay exact, and compressing any
// other collective is refused.
func TestCompressedReduceScatterBench(t *testing.T) {
	for _, c := range []string{"bf16", "fp16"} {
		o := opts([]int{3}, []int64{1 << 20})
		o.Op, o.Compress = "reduce-scatter", c
		res, err := AllReduce(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if r := res[0]; r.Compress != c || r.MaxErr == 0 || r.MaxErr > 2*3*0x1p-8 {
			t.Fatalf("%s random: %+v", c, r)
		}
		o.Data = "pattern"
		if res, err = AllReduce(context.Background(), o); err != nil || res[0].MaxErr != 0 {
			t.Fatalf("%s pattern: %+v, %v", c, res, err)
		}
		o.Op = "allreduce"
		if _, err := AllReduce(context.Background(), o); err == nil {
			t.Fatalf("%s all-reduce: accepted", c)
		}
	}
}

// Emulated nodes: 2 nodes × 2 ranks, hierarchical and flat, are exact;
// the link emulation covers only the links between nodes; bad layouts are
// refused.
func TestNodesBench(t *testing.T) {
	for _, tc := range []struct {
		flat      bool
		transport string // auto: shared memory inside each node
	}{{false, "tcp"}, {true, "tcp"}, {false, "auto"}, {true, "auto"}} {
		flat := tc.flat
		o := opts([]int{4}, []int64{4 << 10, 1 << 20})
		o.Data, o.Nodes, o.Flat, o.LinkMbps, o.Transport = "pattern", 2, flat, 1000, tc.transport
		res, err := AllReduce(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.MaxErr != 0 || r.Nodes != 2 || r.Hier == flat {
				t.Fatalf("flat=%v: %+v", flat, r)
			}
		}
	}
	for _, tc := range []struct {
		nodes     int
		transport string
	}{{-1, "tcp"}, {5, "tcp"}, {2, "shm"}} {
		o := opts([]int{4}, []int64{4 << 10})
		o.Nodes, o.Transport = tc.nodes, tc.transport
		if _, err := AllReduce(context.Background(), o); err == nil {
			t.Errorf("%d nodes over %s: accepted", tc.nodes, tc.transport)
		}
	}
}

func TestNodeHostsAndOtherNodes(t *testing.T) {
	for _, tc := range []struct {
		world, nodes int
		want         []int
	}{{4, 0, nil}, {4, 1, nil}, {4, 2, []int{0, 0, 1, 1}}, {5, 2, []int{0, 0, 0, 1, 1}}, {3, 3, []int{0, 1, 2}}} {
		if got := NodeHosts(tc.world, tc.nodes); !slices.Equal(got, tc.want) {
			t.Errorf("NodeHosts(%d, %d) = %v, want %v", tc.world, tc.nodes, got, tc.want)
		}
	}
	if got := otherNodes([]int{0, 0, 1, 1}, 1); !maps.Equal(got, map[int]bool{2: true, 3: true}) {
		t.Errorf("otherNodes: %v", got)
	}
	if otherNodes(nil, 0) != nil {
		t.Error("no layout: want nil (emulate every link)")
	}
}

func TestRankProcs(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	for _, tc := range []struct {
		maxProcs          int
		transport         string
		world, cpus, want int
	}{
		{AutoProcs, "tcp", 4, 2, 1},
		{AutoProcs, "", 2, 2, 1},
		{AutoProcs, "tcp", 2, 16, 8},
		{AutoProcs, "tcp", 3, 16, 5},
		{AutoProcs, "shm", 4, 2, 0},
		{AutoProcs, "auto", 4, 2, 0},
		{0, "tcp", 4, 2, 0},
		{3, "shm", 4, 2, 3},
	} {
		if got := rankProcs(tc.maxProcs, tc.transport, tc.world, tc.cpus); got != tc.want {
			t.Errorf("rankProcs(%d, %q, world %d, %d CPUs) = %d, want %d", tc.maxProcs, tc.transport, tc.world, tc.cpus, got, tc.want)
		}
	}
	t.Setenv("GOMAXPROCS", "2")
	if got := rankProcs(AutoProcs, "tcp", 4, 2); got != 0 {
		t.Errorf("with GOMAXPROCS set: %d, want 0 (the environment's)", got)
	}
}

// AutoProcs gives each TCP rank process its share of the cores.
func TestRankProcessesGetTheirShareOfCores(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	o := opts([]int{2}, []int64{4 << 10})
	o.MaxProcs = AutoProcs
	res, err := AllReduce(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if want := max(1, runtime.NumCPU()/2); res[0].Procs != want {
		t.Fatalf("rank GOMAXPROCS %d, want %d", res[0].Procs, want)
	}
}
