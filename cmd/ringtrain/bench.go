package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/bench"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure ringtrain with real processes on this machine",
	}
	cmd.AddCommand(newBenchAllReduceCmd(g), newBenchTrainCmd(g), newBenchCheckpointCmd(g), newBenchServeCmd(g), newBenchWorkerCmd(g))
	return cmd
}

func newBenchAllReduceCmd(g *globals) *cobra.Command {
	var (
		worlds, sizes, algo, data, op                   string
		transport, compress, hier                       string
		iterScale, linkMbps                             float64
		workers, iters, segment, small, direct, halving int
		maxProcs                                        string
		nodes                                           int
		asCSV, frameChecksum                            bool
		readSpin                                        time.Duration
	)
	def := allreduce.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "allreduce",
		Short: "All-reduce bandwidth and latency across real worker processes on loopback",
		Long: `Starts one worker process per rank on 127.0.0.1, runs float32 SUM all-reduces of each size
and prints a table like nccl-tests: procs (the ranks' GOMAXPROCS, --gomaxprocs), bytes, iterations,
median time (max over ranks per iteration),
algbw = bytes/time and busbw = algbw*2(N-1)/N in GB/s (1e9), and the largest relative error of
any element against a float64 reference. --csv prints the line format of ../shared/bench
(impl,world,bytes,median_s,algbw_GBps,busbw_GBps) so its harness can run it beside Gloo and MPI;
impl is ringtrain, ringtrain-shm with --transport shm (this process hands one shared-memory segment,
transport/shm, to its ranks), or ringtrain-auto with --transport auto (as training does: TCP links, then
the ranks of one host, or of one emulated node with --nodes, move frames through shared memory found by
transport/route's rendezvous); then -reduce-scatter or -all-gather for --op other than allreduce,
-<N>mbps with --link-mbps N, -bf16 or -fp16 when compressed, -hier or -flat with --nodes.

--nodes N splits the ranks into N emulated nodes (contiguous blocks of ranks): the ranks get the
host map, so all-reduces above --small-threshold run the hierarchical algorithm (reduce inside
each node, ring across one leader per node, broadcast inside each node), and --link-mbps applies
only to links between nodes. --hier off runs the flat ring on the same layout; --hier both runs
both and adds the flat time divided by the hierarchical one (impl ringtrain-hier, ringtrain-flat
in --csv).`,
		Example: `  ringtrain bench allreduce --workers 4 --sizes 4K,64K,1M,16M,64M,256M
  ringtrain bench allreduce --worlds 2,4 --csv
  ringtrain bench allreduce --workers 4 --nodes 2 --link-mbps 1000 --hier both --sizes 4M,16M,64M`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			wl := []int{workers}
			if fs := cmd.Flags(); given(fs, "worlds") {
				if fs.Changed("workers") {
					return fmt.Errorf("--workers and %s exclude each other: --workers N runs one world size, --worlds a list", spelled(fs, "worlds"))
				}
				var err error
				if wl, err = bench.ParseInts(worlds); err != nil {
					return fmt.Errorf("%s: %w", spelled(fs, "worlds"), err)
				}
			}
			sz, err := bench.ParseSizes(sizes)
			if err != nil {
				return fmt.Errorf("--sizes: %w", err)
			}
			noShared := algo != "auto"
			switch algo {
			case "auto", "frames":
			case "ring":
				small, direct, halving = 0, 0, 0
			case "rd":
				small = 64 << 20
			case "direct":
				small, direct, halving = 0, 64<<20, 0
			case "halving":
				small, direct, halving = 0, 0, 64<<20 // direct off: no transport lowers halving's threshold
			default:
				return fmt.Errorf("--algo %q: want auto, frames, ring, rd, direct or halving", algo)
			}
			procs := bench.AutoProcs
			if maxProcs != "auto" {
				if procs, err = strconv.Atoi(maxProcs); err != nil || procs < 0 {
					return fmt.Errorf("--gomaxprocs %q: want auto, 0 (the Go runtime's default) or a number of threads", maxProcs)
				}
			}
			if data != "pattern" && data != "random" {
				return fmt.Errorf("--data %q: want pattern or random", data)
			}
			if op != "allreduce" && op != "reduce-scatter" && op != "all-gather" {
				return fmt.Errorf("--op %q: want allreduce, reduce-scatter or all-gather", op)
			}
			if transport != "tcp" && transport != "shm" && transport != "auto" {
				return fmt.Errorf("--transport %q: want tcp, shm or auto", transport)
			}
			if transport == "auto" && linkMbps > 0 && nodes < 2 {
				return errors.New("--link-mbps with --transport auto needs --nodes 2 or more: the ranks of one node share memory, only links between nodes are emulated")
			}
			if transport == "shm" && frameChecksum {
				return errors.New("--frame-checksum applies to --transport tcp only (shared memory has no wire to corrupt)")
			}
			if transport == "shm" && linkMbps > 0 {
				return errors.New("--link-mbps applies to --transport tcp only")
			}
			var flats []bool
			switch hier {
			case "on":
				flats = []bool{false}
			case "off":
				flats = []bool{true}
			case "both":
				flats = []bool{false, true}
			default:
				return fmt.Errorf("--hier %q: want on, off or both", hier)
			}
			if nodes < 1 {
				return fmt.Errorf("--nodes %d: want 1 or more", nodes)
			}
			if nodes > 1 && transport == "shm" {
				return errors.New("--nodes applies to --transport tcp or auto (links between nodes are TCP)")
			}
			if nodes == 1 && cmd.Flags().Changed("hier") {
				return errors.New("--hier needs --nodes 2 or more (with one node the all-reduce is the flat ring)")
			}
			comps := strings.Split(compress, ",")
			for _, c := range comps {
				if _, err := allreduce.ParseCompression(c); err != nil {
					return fmt.Errorf("--compress: %w", err)
				}
				if c != "none" && op != "reduce-scatter" {
					return fmt.Errorf("--compress %s: only the reduce-scatter is compressed (all-reduce and all-gather stay float32): add --op reduce-scatter", c)
				}
			}
			if len(comps) > 1 && len(flats) > 1 {
				return errors.New("--hier both and a --compress list exclude each other: compare one at a time")
			}
			var res []bench.Result
		runs:
			for _, c := range comps {
				for _, flat := range flats {
					var rs []bench.Result
					rs, err = bench.AllReduce(cmd.Context(), bench.Options{Transport: transport,
						Worlds: wl, Sizes: sz, IterScale: iterScale, Iters: iters,
						Segment: segment, SmallBytes: small, DirectBytes: direct, HalvingBytes: halving, NoShared: noShared, MaxProcs: procs, Data: data, Op: op, ReadSpin: readSpin, FrameChecksum: frameChecksum,
						Compress: c, LinkMbps: linkMbps, Nodes: nodes, Flat: flat,
						WorkerArgs: []string{"bench", "worker", "--log-level", g.logLevel},
						Stderr:     g.stderr,
					})
					res = append(res, rs...)
					if err != nil {
						break runs
					}
				}
			}
			printBench(g, res, asCSV, cmd.Flags().Changed("compress"), transport, op, linkMbps, nodes > 1)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&workers, "workers", 4, "number of worker processes")
	f.StringVar(&worlds, "worlds", "", "world sizes (numbers of worker processes), comma-separated, each run in turn (instead of --workers)")
	alias(f, "world", "worlds")
	f.StringVar(&sizes, "sizes", "4K,64K,1M,16M,64M,256M", "message sizes in bytes (K, M, G = 1024^n)")
	f.Float64Var(&iterScale, "iter-scale", 1, "multiply the default iteration counts (at least 3 remain)")
	f.IntVar(&iters, "iters", 0, "timed iterations per size (0 = the ../shared/bench defaults)")
	f.IntVar(&segment, "segment", def.SegmentBytes, "pipeline segment size in bytes; 0: automatic (256 KiB when every rank is reached through shared memory, else 1 MiB)")
	f.IntVar(&small, "small-threshold", def.SmallBytes, "all-reduces up to this many bytes use recursive doubling")
	f.IntVar(&direct, "direct-threshold", def.DirectBytes, "with 3 or 4 ranks, all-reduces above --small-threshold and up to this many bytes use the direct two-round algorithm")
	f.IntVar(&halving, "halving-threshold", def.HalvingBytes, "with 4, 8, 16, ... ranks, all-reduces above --small-threshold and up to this many bytes use recursive halving and doubling (on 4 ranks over shared memory at most 256 KiB: above it the direct algorithm)")
	f.StringVar(&algo, "algo", "auto", "auto (when every rank shares memory, with --transport shm or auto on one node: the shared-memory all-reduce at every size; otherwise recursive doubling up to --small-threshold, then by --halving-threshold and --direct-threshold), frames (auto without the shared-memory all-reduce), ring, rd (recursive doubling up to 64 MiB), direct (3 or 4 ranks, up to 64 MiB) or halving (4, 8, 16, ... ranks, up to 64 MiB)")
	f.StringVar(&data, "data", "pattern", "input: pattern (exact integer sums, as ../shared/bench) or random")
	f.StringVar(&op, "op", "allreduce", "collective: allreduce, reduce-scatter or all-gather")
	f.BoolVar(&asCSV, "csv", false, "print CSV lines impl,world,bytes,median_s,algbw_GBps,busbw_GBps")
	f.StringVar(&maxProcs, "gomaxprocs", "auto", "GOMAXPROCS of each rank process: auto (over TCP each rank's share of the cores, at least 1; otherwise, or when GOMAXPROCS is set, the runtime's default), 0 (the runtime's default) or a number")
	f.DurationVar(&readSpin, "read-spin", tcp.DefaultConfig(nil).ReadSpin, "yield the CPU up to this long before parking a receive (0: park at once)")
	f.StringVar(&transport, "transport", "tcp", "how the ranks move frames: tcp (loopback TCP), shm (one shared segment handed to the ranks) or auto (as training: shared memory within a host or emulated node, TCP between)")
	f.StringVar(&compress, "compress", "none", "reduce-scatter wire format: none, bf16 or fp16, or a comma-separated list run in turn (the job spec's cluster.compress; needs --op reduce-scatter; bandwidths count float32 bytes)")
	f.Float64Var(&linkMbps, "link-mbps", 0, "> 0: emulate a link of this many Mbit/s on every rank's sends (the job spec's cluster.link_mbps); with --nodes, only between nodes")
	f.IntVar(&nodes, "nodes", 1, "split the ranks into this many emulated nodes (contiguous blocks): hierarchical all-reduce, --link-mbps between nodes only")
	f.StringVar(&hier, "hier", "on", "with --nodes 2 or more: on (hierarchical all-reduce), off (flat ring on the same layout) or both")
	f.BoolVar(&frameChecksum, "frame-checksum", false, "frames carry a CRC32C of their payload, checked by the receiver (the job spec's cluster.frame_checksum)")
	return cmd
}

// printBench prints the results; with compressed set it adds the wire
// format and the speed relative to float32 (none) at the same world and
// size, measured in the same run; with nodes set, the number of nodes, the
// algorithm (hier or flat) and, where both ran, the flat time divided by the
// hierarchical one. The CSV impl: ringtrain (tcp), ringtrain-shm or
// ringtrain-auto by transport, then -reduce-scatter or -all-gather for
// those ops, -<N>mbps with an emulated link, -bf16 or -fp16 when
// compressed, -hier or -flat with nodes.
func printBench(g *globals, res []bench.Result, asCSV, compressed bool, transport, op string, linkMbps float64, nodes bool) {
	if asCSV {
		w := csv.NewWriter(g.stdout)
		w.Write([]string{"impl", "world", "bytes", "median_s", "algbw_GBps", "busbw_GBps"})
		for _, r := range res {
			impl := "ringtrain"
			if transport != "tcp" {
				impl += "-" + transport
			}
			if op != "allreduce" {
				impl += "-" + op // not an all-reduce: a column of its own in the harness's tables
			}
			if linkMbps > 0 {
				impl += "-" + strconv.FormatFloat(linkMbps, 'g', -1, 64) + "mbps"
			}
			if r.Compress != "" && r.Compress != "none" {
				impl += "-" + r.Compress
			}
			if nodes {
				impl += "-" + algoName(r)
			}
			w.Write([]string{impl, strconv.Itoa(r.World), strconv.FormatInt(r.Bytes, 10),
				strconv.FormatFloat(r.Median.Seconds(), 'g', 6, 64),
				strconv.FormatFloat(r.AlgBW, 'g', 6, 64), strconv.FormatFloat(r.BusBW, 'g', 6, 64)})
		}
		w.Flush()
		return
	}
	tw := tabwriter.NewWriter(g.stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
	if compressed {
		fmt.Fprint(tw, "compress\t")
	}
	if nodes {
		fmt.Fprint(tw, "nodes\talgo\t")
	}
	fmt.Fprint(tw, "world\tprocs\tbytes\titers\ttime\tmin time\talgbw GB/s\tbusbw GB/s\tmax rel err\t")
	if compressed {
		fmt.Fprint(tw, "busbw vs none\t")
	}
	if nodes {
		fmt.Fprint(tw, "flat time / this\t")
	}
	fmt.Fprintln(tw)
	for _, r := range res {
		if compressed {
			fmt.Fprintf(tw, "%s\t", r.Compress)
		}
		if nodes {
			fmt.Fprintf(tw, "%d\t%s\t", r.Nodes, algoName(r))
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%v\t%v\t%.3f\t%.3f\t%.1e\t", r.World, r.Procs, r.Bytes, r.Iters,
			r.Median.Round(100), r.Min.Round(100), r.AlgBW, r.BusBW, r.MaxErr)
		if compressed {
			ratio := "-"
			for _, b := range res {
				if b.Compress == "none" && b.World == r.World && b.Bytes == r.Bytes && b.BusBW > 0 {
					ratio = fmt.Sprintf("%.2fx", r.BusBW/b.BusBW)
				}
			}
			fmt.Fprintf(tw, "%s\t", ratio)
		}
		if nodes {
			ratio := "-"
			for _, b := range res {
				if !b.Hier && b.World == r.World && b.Bytes == r.Bytes && b.Compress == r.Compress && r.Median > 0 {
					ratio = fmt.Sprintf("%.2fx", b.Median.Seconds()/r.Median.Seconds())
				}
			}
			fmt.Fprintf(tw, "%s\t", ratio)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// algoName is how a multi-node result names its all-reduce.
func algoName(r bench.Result) string {
	if r.Hier {
		return "hier"
	}
	return "flat"
}

func newBenchWorkerCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "worker",
		Short:  "One rank of `bench allreduce` (started by it; speaks JSON lines on stdin/stdout)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.Worker(cmd.Context(), os.Stdin, g.stdout, g.logger())
		},
	}
}

func newBenchCheckpointCmd(g *globals) *cobra.Command {
	var (
		dir, params, states string
		workers, reps       int
	)
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Checkpoint write throughput against dd conv=fsync, training stall, and resume time",
		Long: `Writes a checkpoint of --params parameters plus the optimizer state (--states, Adam's m and v by
default) from --workers ranks through the checkpoint store on the disk holding --dir: every rank encodes its
safetensors shard, the shards are written durably in parallel (temp file, fsync, rename, fsync dir), the
manifest is committed. Beside it, in the same run, dd writes the same bytes with conv=fsync. Also reported:
one rank's in-memory snapshot copy (what training waits for), and resume (open, verify every checksum of
LATEST, read all parameters and one rank's state). The gRPC transfer is not included.`,
		Example: `  ringtrain bench checkpoint --params 12M --workers 2 --dir /var/tmp`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := bench.ParseSizes(params)
			if err != nil || len(n) != 1 {
				return fmt.Errorf("--params %q: want one count like 12M", params)
			}
			var st []string
			if states != "" {
				st = strings.Split(states, ",")
			}
			res, err := bench.Checkpoint(bench.CheckpointOptions{Dir: dir, Params: int(n[0]), World: workers, States: st, Reps: reps})
			if err != nil {
				return err
			}
			gb := func(d time.Duration) float64 { return float64(res.Bytes) / d.Seconds() / 1e9 }
			tw := tabwriter.NewWriter(g.stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "checkpoint\t%d bytes (%d params + %d state slices, %d shards)\t\n", res.Bytes, n[0], len(st), workers)
			fmt.Fprintf(tw, "dd conv=fsync\t%v\t%.3f GB/s\t\n", res.DD.Round(time.Millisecond), gb(res.DD))
			fmt.Fprintf(tw, "write+commit\t%v\t%.3f GB/s\t%.2f× dd\t\n", res.Write.Round(time.Millisecond), gb(res.Write), res.DD.Seconds()/res.Write.Seconds())
			fmt.Fprintf(tw, "snapshot (training stall, one rank)\t%v\t\n", res.Snapshot.Round(time.Microsecond))
			fmt.Fprintf(tw, "resume (verify + read)\t%v\t%.3f GB/s\t\n", res.Resume.Round(time.Millisecond), gb(res.Resume))
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", os.TempDir(), "directory on the disk to measure (a temporary subdirectory in it is written, then removed)")
	f.StringVar(&params, "params", "12M", "parameters (K, M = 1024^n)")
	f.StringVar(&states, "states", "m,v", "optimizer state slices per parameter, comma-separated (empty: none)")
	f.IntVar(&workers, "workers", 2, "ranks (workers) writing shards")
	alias(f, "world", "workers")
	f.IntVar(&reps, "reps", 3, "repetitions (medians reported)")
	return cmd
}
