package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/bench"
)

func newSimulateCmd(g *globals) *cobra.Command {
	var (
		m                      bench.CostModel
		worlds                 string
		compute, latency       time.Duration
		optimizerNs, bandwidth float64
		nodeLatency            time.Duration
		nodeBandwidth          float64
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
'ringtrain bench allreduce' or the network's specification. docs/scaling.md compares it with 'ringtrain scale'.

With --ranks-per-node R > 1 every node holds R ranks (world = nodes × R), --link-* is the network between
nodes and --node-* the links inside a node; it adds the hierarchical all-reduce (chain reduce inside each node,
ring across one leader per node, chain broadcast inside each node: "hier AR ms") beside the flat ring over all
ranks, and which one AllReduce picks ("AR chosen"). The step's own collectives (reduce-scatter and all-gather)
stay the flat ring.`,
		Example: `  ringtrain simulate --params 535818 --batch 64 --compute-per-sample 440us --optimizer-ns 2.3 --link-bandwidth 10000 --link-latency 50us
  ringtrain simulate --params 16777216 --worlds 2 --ranks-per-node 2 --link-bandwidth 1000 --node-bandwidth 9600`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			ns, err := bench.ParseInts(worlds)
			if err != nil {
				return fmt.Errorf("%s: %w", spelled(fs, "worlds"), err)
			}
			if m.Params < 1 || m.GlobalBatch < 1 || bandwidth <= 0 || compute < 0 || latency < 0 {
				return fmt.Errorf("need --params, --batch, %s > 0 and non-negative times", spelled(fs, "link-bandwidth"))
			}
			if m.RanksPerNode < 1 || nodeBandwidth <= 0 || nodeLatency < 0 {
				return errors.New("need --ranks-per-node >= 1, --node-bandwidth > 0 and a non-negative --node-latency")
			}
			m.ComputePerSample, m.OptimizerPerParam = compute.Seconds(), optimizerNs*1e-9
			m.Alpha, m.Beta = latency.Seconds(), bandwidth*1e6/8
			m.NodeAlpha, m.NodeBeta = nodeLatency.Seconds(), nodeBandwidth*1e6/8
			perNode := m.RanksPerNode
			one := m.Step(1)
			tw := tabwriter.NewWriter(g.stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
			if perNode > 1 {
				fmt.Fprint(tw, "nodes\tranks\t")
			} else {
				fmt.Fprint(tw, "nodes\t")
			}
			fmt.Fprint(tw, "step ms\tcompute ms\toptimizer ms\tcomm ms\thidden ms\tsamples/s\tspeedup\tefficiency\tcomm share\tring AR ms\trec. doubling AR ms\t")
			if perNode > 1 {
				fmt.Fprint(tw, "hier AR ms\tAR chosen\t")
			}
			fmt.Fprintln(tw)
			for _, nodes := range ns {
				if nodes < 1 {
					return fmt.Errorf("%s %d: want world sizes >= 1", spelled(fs, "worlds"), nodes)
				}
				n := nodes * perNode
				b := m.Step(n)
				speedup := one.Total / b.Total
				if perNode > 1 {
					fmt.Fprintf(tw, "%d\t%d\t", nodes, n)
				} else {
					fmt.Fprintf(tw, "%d\t", n)
				}
				fmt.Fprintf(tw, "%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.0f\t%.2f\t%.1f%%\t%.1f%%\t%.3f\t%.3f\t", 1e3*b.Total, 1e3*b.Compute, 1e3*b.Optimizer,
					1e3*b.Comm, 1e3*b.Hidden, float64(m.GlobalBatch)/b.Total, speedup, 100*speedup/float64(n), 100*b.Comm/b.Total, 1e3*b.RingAllReduce, 1e3*b.RDAllReduce)
				if perNode > 1 {
					hier := "-"
					if b.HierAllReduce > 0 {
						hier = fmt.Sprintf("%.3f", 1e3*b.HierAllReduce)
					}
					fmt.Fprintf(tw, "%s\t%s\t", hier, chosenAllReduce(m.Params, nodes, perNode))
				}
				fmt.Fprintln(tw)
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
	f.IntVar(&m.RanksPerNode, "ranks-per-node", 1, "ranks on each node (world = nodes × this); > 1 adds the hierarchical all-reduce")
	f.Float64Var(&nodeBandwidth, "node-bandwidth", 80000, "with --ranks-per-node > 1: link bandwidth inside a node, Mbit/s")
	f.DurationVar(&nodeLatency, "node-latency", 2*time.Microsecond, "with --ranks-per-node > 1: latency per message inside a node")
	return cmd
}

// chosenAllReduce is the algorithm Comm.AllReduce picks for params floats
// with the default Config and a host map of nodes nodes × perNode ranks
// (allreduce.AllReduceAlgorithm; the hierarchical one applies with two or
// more nodes of two or more ranks and a float per node), by its short name.
func chosenAllReduce(params, nodes, perNode int) string {
	hier := nodes >= 2 && perNode >= 2 && params >= nodes
	switch allreduce.AllReduceAlgorithm(allreduce.DefaultConfig(), nodes*perNode, params, hier) {
	case 0:
		return "-"
	case allreduce.OpAllReduceRD:
		return "rd"
	case allreduce.OpAllReduceHier:
		return "hier"
	case allreduce.OpAllReduceHalving:
		return "halving"
	case allreduce.OpAllReduceDirect:
		return "direct"
	}
	return "ring"
}
