package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/bench"
)

func newSimulateCmd(g *globals) *cobra.Command {
	var (
		m                      bench.CostModel
		worlds                 string
		compute, latency       time.Duration
		optimizerNs, bandwidth float64
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Predict step time and scaling efficiency from 1 to 1024 nodes (alpha-beta model)",
		Long: `An alpha-beta cost model of a ringtrain step with a fixed global batch: compute and the optimizer
divide over the ranks (time-sharing --cores if set, for one machine), the gradient reduce-scatter and the
parameter all-gather cost 2(N-1) ring steps of latency per message plus bytes/bandwidth; with --bucket-bytes
and a machine per rank they run under backward and the next forward, all but one bucket each ("comm ms" is
what a step waits for, "hidden ms" what ran under the compute). It also shows what
recursive doubling would cost for the same all-reduce. Take --compute-per-sample and --optimizer-ns from
a one-worker 'ringtrain bench train --worlds 1' (compute ms / batch; optimizer ms / parameters), and the link from
'ringtrain bench allreduce' or the network's specification. docs/scaling.md compares it with 'ringtrain scale'.`,
		Example: `  ringtrain simulate --params 535818 --batch 64 --compute-per-sample 440us --optimizer-ns 2.3 --link-bandwidth 10000 --link-latency 50us`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			ns, err := bench.ParseInts(worlds)
			if err != nil {
				return fmt.Errorf("%s: %w", spelled(fs, "worlds"), err)
			}
			if m.Params < 1 || m.GlobalBatch < 1 || bandwidth <= 0 || compute < 0 || latency < 0 {
				return fmt.Errorf("need --params, --batch, %s > 0 and non-negative times", spelled(fs, "link-bandwidth"))
			}
			m.ComputePerSample, m.OptimizerPerParam = compute.Seconds(), optimizerNs*1e-9
			m.Alpha, m.Beta = latency.Seconds(), bandwidth*1e6/8
			one := m.Step(1)
			tw := tabwriter.NewWriter(g.stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "nodes\tstep ms\tcompute ms\toptimizer ms\tcomm ms\thidden ms\tsamples/s\tspeedup\tefficiency\tcomm share\tring AR ms\trec. doubling AR ms\t")
			for _, n := range ns {
				if n < 1 {
					return fmt.Errorf("%s %d: want world sizes >= 1", spelled(fs, "worlds"), n)
				}
				b := m.Step(n)
				speedup := one.Total / b.Total
				fmt.Fprintf(tw, "%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.0f\t%.2f\t%.1f%%\t%.1f%%\t%.3f\t%.3f\t\n", n, 1e3*b.Total, 1e3*b.Compute, 1e3*b.Optimizer,
					1e3*b.Comm, 1e3*b.Hidden, float64(m.GlobalBatch)/b.Total, speedup, 100*speedup/float64(n), 100*b.Comm/b.Total, 1e3*b.RingAllReduce, 1e3*b.RDAllReduce)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.IntVar(&m.Params, "params", 535818, "model parameters")
	f.IntVar(&m.GlobalBatch, "batch", 64, "global batch")
	f.DurationVar(&compute, "compute-per-sample", 440*time.Microsecond, "forward+backward time per sample on one core")
	f.Float64Var(&optimizerNs, "optimizer-ns", 2.3, "optimizer time per parameter, nanoseconds")
	f.Float64Var(&bandwidth, "link-bandwidth", 10000, "link bandwidth per rank, Mbit/s")
	f.DurationVar(&latency, "link-latency", 50*time.Microsecond, "latency per message")
	alias(f, "bandwidth-mbps", "link-bandwidth")
	alias(f, "latency", "link-latency")
	f.IntVar(&m.Segment, "segment", 1<<20, "pipeline segment, bytes")
	f.IntVar(&m.Cores, "cores", 0, "cores shared by all ranks (one machine); 0 = one machine per rank")
	f.IntVar(&m.BucketBytes, "bucket-bytes", 1<<20, "gradient bucket size (cluster.bucket_bytes): the collectives run under the compute; 0 = no overlap")
	f.StringVar(&worlds, "worlds", "1,2,4,8,16,32,64,128,256,512,1024", "world sizes (nodes, one rank each), comma-separated")
	alias(f, "nodes", "worlds")
	return cmd
}
