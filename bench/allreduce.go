package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/proc"
)

// Options configures an all-reduce benchmark run.
type Options struct {
	Worlds       []int   // world sizes, each run with fresh processes
	Sizes        []int64 // message sizes in bytes (multiples of 4)
	IterScale    float64 // multiplies the default iteration counts (min 3)
	Iters        int     // fixed timed iterations per size (0 = defaults)
	Segment      int     // allreduce.Config.SegmentBytes
	SmallBytes   int     // allreduce.Config.SmallBytes
	DirectBytes  int     // allreduce.Config.DirectBytes
	HalvingBytes int     // allreduce.Config.HalvingBytes
	NoShared     bool    // allreduce.Config.NoShared
	Data         string  // "pattern" (exact sums) or "random"
	Op           string  // "allreduce" (default), "reduce-scatter", "all-gather"
	// ReadSpin is tcp.Config.ReadSpin for the ranks (negative: the default).
	ReadSpin time.Duration
	// FrameChecksum is tcp.Spec.PayloadChecksum for the ranks (job spec:
	// cluster.frame_checksum).
	FrameChecksum bool
	// Transport is how the ranks move frames: "tcp" (default: loopback
	// TCP), "shm" (transport/shm: this process creates each world's shared
	// segment and hands it to its ranks as fd 3) or "auto" (as training:
	// TCP links, then transport/route's rendezvous puts the ranks of one
	// host, or of one emulated node, on shared memory).
	Transport string
	// Compress is allreduce.Config.Compress by name ("" or "none", "bf16",
	// "fp16"); only the reduce-scatter compresses, so it needs Op
	// "reduce-scatter".
	Compress string
	// LinkMbps emulates a link of this many Mbit/s on every rank's sends
	// (tcp.Link; the job spec's cluster.link_mbps); 0: off.
	LinkMbps float64
	// Nodes splits each world's ranks into this many emulated nodes,
	// contiguous blocks of ranks (allreduce.ShardRange): the ranks' Comms
	// get the host map (allreduce.Config.Hosts, so AllReduce runs the
	// hierarchical algorithm) unless Flat is set, and LinkMbps applies only
	// to the links between nodes (tcp.Spec.LinkPeers). Links inside a node
	// are loopback TCP. 0 or 1: one node, LinkMbps on every link.
	Nodes int
	// Flat runs the flat ring on the Nodes layout (no Config.Hosts): the
	// comparison for the hierarchical all-reduce.
	Flat bool
	// WorkerArgs are the arguments that make this binary run Worker
	// (e.g. []string{"bench", "worker"}).
	WorkerArgs []string
	WorkerEnv  []string // extra environment for the children
	// MaxProcs is GOMAXPROCS for each rank process: > 0 that many, 0 the
	// Go runtime's default (or the environment's GOMAXPROCS), AutoProcs
	// rankProcs' choice.
	MaxProcs int
	Stderr   io.Writer // children's stderr
	// OnStart, if set, is called with the rank processes of each world once
	// they are all connected (tests use it to kill one).
	OnStart func(children []*proc.Child)
}

// Result is one (world, size) measurement.
type Result struct {
	World   int
	Bytes   int64
	Iters   int
	Median  time.Duration // median over iterations of the max over ranks
	Min     time.Duration
	AlgBW   float64 // GB/s (1e9 bytes)
	BusBW   float64 // GB/s
	MaxErr  float64
	Segment int
	Procs   int // GOMAXPROCS of the rank processes (rank 0's)
	// Compress: the reduce-scatter's wire format ("none", "bf16", "fp16");
	// Bytes and the bandwidths count float32 bytes (effective bandwidth).
	Compress string
	// Nodes is Options.Nodes (at least 1); Hier is true when the ranks
	// had the host map (Nodes >= 2 and not Options.Flat).
	Nodes int
	Hier  bool
}

// DefaultIters mirrors ../shared/bench: 100 timed iterations up to 64 KiB,
// 50 up to 1 MiB, 10 up to 16 MiB, 5 up to 64 MiB, 3 above; warm-up 5 up to
// 1 MiB, 1 above.
func DefaultIters(bytes int64) (warmup, iters int) {
	switch {
	case bytes <= 64<<10:
		return 5, 100
	case bytes <= 1<<20:
		return 5, 50
	case bytes <= 16<<20:
		return 1, 10
	case bytes <= 64<<20:
		return 1, 5
	}
	return 1, 3
}

// ParseSizes parses "4K,64K,1M,256M" (K/M/G are powers of 1024; plain
// numbers are bytes).
func ParseSizes(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		mult := int64(1)
		switch strings.ToUpper(f[len(f)-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		}
		num := f
		if mult > 1 {
			num = f[:len(f)-1]
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("size %q: want a positive number of bytes with an optional K, M or G suffix", f)
		}
		b := v * mult
		if b%4 != 0 {
			return nil, fmt.Errorf("size %q: %d bytes is not a whole number of float32 values", f, b)
		}
		if b > 4<<30 {
			return nil, fmt.Errorf("size %q: larger than 4 GiB", f)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, errors.New("no sizes given")
	}
	return out, nil
}

// ParseInts parses "2,4".
func ParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// AllReduce runs the benchmark for every world size.
func AllReduce(ctx context.Context, o Options) ([]Result, error) {
	if len(o.Worlds) == 0 || len(o.Sizes) == 0 {
		return nil, errors.New("bench: need at least one world size and one message size")
	}
	for _, w := range o.Worlds {
		if w < 1 || w > 64 {
			return nil, fmt.Errorf("bench: world size %d: want 1..64 processes on this machine", w)
		}
	}
	comp, err := allreduce.ParseCompression(o.Compress)
	if err != nil {
		return nil, err
	}
	if comp != allreduce.CompressNone && o.Op != "reduce-scatter" {
		return nil, fmt.Errorf("bench: compression %v applies to the reduce-scatter only (all-reduce and all-gather stay float32): want op reduce-scatter, got %q", comp, o.Op)
	}
	o.Compress = comp.String()
	if o.LinkMbps < 0 {
		return nil, fmt.Errorf("bench: link bandwidth %g Mbit/s: want 0 (off) or more", o.LinkMbps)
	}
	if err := (allreduce.Config{SegmentBytes: o.Segment, SmallBytes: o.SmallBytes, DirectBytes: o.DirectBytes, HalvingBytes: o.HalvingBytes}).Validate(); err != nil {
		return nil, err
	}
	if o.Nodes < 0 {
		return nil, fmt.Errorf("bench: %d nodes: want 0 or 1 (one node) or more", o.Nodes)
	}
	if o.Nodes > 1 && o.Transport == "shm" {
		return nil, errors.New("bench: emulated nodes need transport tcp or auto (links between nodes are TCP)")
	}
	var out []Result
	for _, w := range o.Worlds {
		if o.Nodes > w {
			return out, fmt.Errorf("bench: world %d split into %d nodes: want at least one rank per node", w, o.Nodes)
		}
		rs, err := runWorld(ctx, o, w)
		if err != nil {
			return out, fmt.Errorf("bench: world %d: %w", w, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

func runWorld(ctx context.Context, o Options, world int) ([]Result, error) {
	var g proc.Group
	defer func() {
		// Ranks fail fast on their own when one dies; give them a moment to
		// report before stopping whatever is left.
		deadline := time.After(2 * time.Second)
		for _, c := range g.Children() {
			select {
			case <-c.Done():
			case <-deadline:
			case <-ctx.Done():
			}
		}
		g.Stop(2 * time.Second)
	}()
	secret := make([]byte, 32)
	rand.Read(secret)
	type rank struct {
		c   *proc.Child
		out *bufio.Reader
		enc *json.Encoder
	}
	var extra []*os.File
	switch o.Transport {
	case "", "tcp", "auto":
	case "shm":
		f, closeSeg, err := shmSegment(world)
		if err != nil {
			return nil, err
		}
		// The ranks hold their own copies once started.
		defer closeSeg()
		extra = []*os.File{f}
	default:
		return nil, fmt.Errorf("bench: transport %q: want tcp, shm or auto", o.Transport)
	}
	env := o.WorkerEnv
	if n := rankProcs(o.MaxProcs, o.Transport, world, runtime.NumCPU()); n > 0 {
		env = append(slices.Clip(env), "GOMAXPROCS="+strconv.Itoa(n))
	}
	ranks := make([]rank, world)
	for r := range world {
		c, err := g.Start(proc.Spec{Name: fmt.Sprintf("rank %d", r), Args: o.WorkerArgs, Env: env, Pipes: true, Stderr: o.Stderr, ExtraFiles: extra})
		if err != nil {
			return nil, err
		}
		ranks[r] = rank{c: c, out: bufio.NewReader(c.Stdout), enc: json.NewEncoder(c.Stdin)}
		boot := struct {
			Secret   []byte        `json:"secret"`
			ReadSpin time.Duration `json:"read_spin"`
		}{secret, o.ReadSpin}
		if err := ranks[r].enc.Encode(boot); err != nil {
			return nil, fmt.Errorf("rank %d: %w", r, err)
		}
	}
	addrs := make([]string, world)
	for r := range ranks {
		var h hello
		if err := readLine(ctx, ranks[r].c, ranks[r].out, &h); err != nil {
			return nil, err
		}
		addrs[r] = h.Addr
	}
	p := plan{Transport: o.Transport, World: world, Sizes: o.Sizes, Segment: o.Segment, SmallBytes: o.SmallBytes, DirectBytes: o.DirectBytes, HalvingBytes: o.HalvingBytes, NoShared: o.NoShared, Data: o.Data, Op: o.Op, FrameChecksum: o.FrameChecksum, Compress: o.Compress, LinkMbps: o.LinkMbps,
		Hosts: NodeHosts(world, o.Nodes)}
	p.Hier = p.Hosts != nil && !o.Flat
	for _, b := range o.Sizes {
		w, it := DefaultIters(b)
		if o.IterScale > 0 {
			it = max(3, int(float64(it)*o.IterScale))
		}
		if o.Iters > 0 {
			it = o.Iters
		}
		p.Warmup, p.Iters = append(p.Warmup, w), append(p.Iters, it)
	}
	for r := range ranks {
		p.Rank = r
		p.Peers = map[int]string{}
		peers, err := allreduce.PeersHosts(r, world, p.Hosts)
		if err != nil {
			return nil, err
		}
		for _, q := range peers {
			p.Peers[q] = addrs[q]
		}
		if err := ranks[r].enc.Encode(p); err != nil {
			return nil, fmt.Errorf("rank %d: %w", r, err)
		}
	}
	for r := range ranks {
		var rd ready
		if err := readLine(ctx, ranks[r].c, ranks[r].out, &rd); err != nil {
			return nil, err
		}
	}
	if o.OnStart != nil {
		o.OnStart(g.Children())
	}
	var out []Result
	for i, b := range o.Sizes {
		per := make([]sizeResult, world)
		for r := range ranks {
			if err := readLine(ctx, ranks[r].c, ranks[r].out, &per[r]); err != nil {
				return out, err
			}
			if per[r].Error != "" {
				return out, fmt.Errorf("rank %d at %d bytes: %s", r, b, per[r].Error)
			}
		}
		r := summarize(world, b, p.Iters[i], o.Segment, per)
		r.Compress = p.Compress
		r.Nodes, r.Hier = max(o.Nodes, 1), p.Hier
		out = append(out, r)
	}
	for r := range ranks {
		ranks[r].c.Stdin.Close()
		if err := ranks[r].c.Wait(ctx); err != nil {
			return out, err
		}
	}
	return out, nil
}

// NodeHosts is the host map of world ranks split into nodes emulated
// nodes, contiguous blocks of ranks (allreduce.ShardRange), or nil for one
// node.
func NodeHosts(world, nodes int) []int {
	if nodes <= 1 {
		return nil
	}
	hosts := make([]int, world)
	for n := range nodes {
		lo, hi := allreduce.ShardRange(world, nodes, n)
		for r := lo; r < hi; r++ {
			hosts[r] = n
		}
	}
	return hosts
}

func summarize(world int, bytes int64, iters, segment int, per []sizeResult) Result {
	times := make([]float64, iters)
	res := Result{World: world, Bytes: bytes, Iters: iters, Segment: segment}
	for _, pr := range per {
		for i, t := range pr.Times {
			times[i] = max(times[i], t)
		}
		res.MaxErr = max(res.MaxErr, pr.MaxErr)
	}
	if len(per) > 0 {
		res.Procs = per[0].Procs
	}
	slices.Sort(times)
	med := times[len(times)/2]
	if len(times)%2 == 0 {
		med = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	res.Median = time.Duration(med * 1e9)
	res.Min = time.Duration(times[0] * 1e9)
	res.AlgBW = float64(bytes) / med / 1e9
	res.BusBW = res.AlgBW * 2 * float64(world-1) / float64(world)
	return res
}

// readLine reads one JSON line from a child, failing clearly if the child
// exits or ctx ends first.
func readLine(ctx context.Context, c *proc.Child, r *bufio.Reader, v any) error {
	type line struct {
		b   []byte
		err error
	}
	ch := make(chan line, 1)
	go func() {
		b, err := r.ReadBytes('\n')
		ch <- line{b, err}
	}()
	select {
	case l := <-ch:
		if l.err != nil {
			<-c.Done()
			return fmt.Errorf("%s exited before answering: %v (read: %w)", c.Name, c.Err(), l.err)
		}
		if err := json.Unmarshal(l.b, v); err != nil {
			return fmt.Errorf("%s: bad line %q: %w", c.Name, l.b, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AutoProcs as Options.MaxProcs: rankProcs chooses.
const AutoProcs = -1

// rankProcs is the GOMAXPROCS to give each rank process (0: leave the
// runtime's default). AutoProcs over TCP gives each rank its share of the
// cores, at least one: a rank's goroutine woken by the netpoller then runs
// on the thread that polled for it, where with a second P idle the Go
// scheduler also wakes another thread to look for work, a thread to
// schedule per receive that parks; with more ranks than cores that made
// collectives of every size slower (docs/benchmarks.md, "Runs E,
// F and G"). Over shared memory, whose waits sleep in futex_wait, not in
// the netpoller, AutoProcs keeps the default: one P made small messages
// slower there. An explicit GOMAXPROCS in the environment wins over
// AutoProcs.
func rankProcs(maxProcs int, transport string, world, cpus int) int {
	switch {
	case maxProcs >= 0:
		return maxProcs
	case os.Getenv("GOMAXPROCS") != "", transport != "" && transport != "tcp":
		return 0
	}
	return max(1, cpus/max(world, 1))
}
