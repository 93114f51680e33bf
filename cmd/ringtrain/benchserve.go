package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/bench"
	"github.com/ringtrain/ringtrain/serve"
)

func newBenchServeCmd(g *globals) *cobra.Command {
	var (
		o       bench.ServeOptions
		step    int64
		asJSON  bool
		profile string
		hidden  string
		kind    string
	)
	cmd := &cobra.Command{
		Use:   "serve [MODEL_FILE|RUN_DIR]",
		Short: "Served latency and throughput (open-loop load over loopback) against the in-process forward time",
		Long: `Serves a classifier in this process on 127.0.0.1 (the real serve.Server over real HTTP) and loads it
with an open-loop generator like wrk2: request i is due at start + i/rate and its latency counts from then, so
queueing in the server is measured, not hidden (coordinated omission). Without a model it serves the built-in
job's MLP (784-256-10), or with --kind cnn a LeNet-style CNN on the same inputs, with its initial weights (a
forward pass costs the same as a trained one's).
In one run: the median in-process forward time of the server's Predictor at batch 1 and at --max-batch (the
limit); a server with max batch 1: its saturation throughput (closed loop, --sat-conns connections) and
latency percentiles open-loop at --rate (default: half that saturation); a server batching up to --max-batch
waiting at most --max-delay: the same; and, as the generator's floor, a server that answers a canned body at
once. Errors are counted by status. Generator and server share this machine's CPUs: the CPU time per
request of each run is shown.`,
		Example: `  ringtrain bench serve
  ringtrain bench serve --kind cnn
  ringtrain bench serve model.safetensors --endpoint predict --duration 10s --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkBenchServe(o); err != nil {
				return err
			}
			var widths []int
			if len(args) == 1 && (hidden != "" || cmd.Flags().Changed("kind")) {
				return fmt.Errorf("--kind and --hidden choose the built-in model: they do not apply to %s", args[0])
			}
			if hidden != "" {
				var err error
				if widths, err = bench.ParseInts(hidden); err != nil {
					return fmt.Errorf("--hidden: %w", err)
				}
			}
			if _, err := bench.DefaultServeSpec(kind, widths); err != nil {
				return fmt.Errorf("--kind %q --hidden %q: %w", kind, hidden, err)
			}
			if len(args) == 1 {
				src, err := loadSource(g, args[0], step)
				if err != nil {
					return err
				}
				o.Source = src
			} else {
				dir, err := os.MkdirTemp("", "ringtrain-bench-serve")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				path, err := bench.DefaultServeModel(dir, kind, widths)
				if err != nil {
					return err
				}
				o.Source = serve.Source{File: path}
			}
			o.Log = g.logger()
			if profile != "" {
				stop, err := startCPUProfile(profile)
				if err != nil {
					return err
				}
				defer stop()
			}
			res, err := bench.ServeBench(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return printBenchServe(g, res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Endpoint, "endpoint", "v2", "v2 (POST /v2/models/NAME/infer) or predict (POST /predict)")
	f.DurationVar(&o.Duration, "duration", 5*time.Second, "length of each load run")
	f.IntVar(&o.Conns, "conns", 64, "connections of the open-loop runs")
	f.IntVar(&o.SatConns, "sat-conns", 64, "connections of the closed-loop saturation runs")
	f.Float64SliceVar(&o.Rate1, "rate", nil, "open-loop requests/s against the batch-1 server, comma-separated (default: --fractions of its saturation)")
	f.Float64SliceVar(&o.RateBatched, "batch-rate", nil, "open-loop requests/s against the batching server, comma-separated (default: --fractions of its saturation)")
	f.Float64SliceVar(&o.Fractions, "fractions", []float64{0.1, 0.5}, "open-loop rates as fractions of the saturation throughput measured just before")
	f.StringVar(&kind, "kind", "mlp", "without a model: the built-in model's kind, mlp (784-256-10) or cnn (LeNet: two 5x5 convolutions and max pools, then 120-84-10)")
	f.StringVar(&hidden, "hidden", "", "without a model: the built-in model's hidden (fully connected) layer widths, comma-separated (default: mlp 256, cnn 120,84)")
	f.IntVar(&o.MaxBatch, "max-batch", 32, "the batching server's most instances per forward pass")
	f.DurationVar(&o.MaxDelay, "max-delay", 2*time.Millisecond, "the batching server's longest wait for a batch to fill (only while other requests are being received)")
	f.Int64Var(&step, "step", 0, "serve this checkpoint step of a run directory (default: the latest)")
	f.StringVar(&profile, "cpu-profile", "", "write a CPU profile of the whole run (generator and servers) to this file (go tool pprof)")
	f.BoolVar(&asJSON, "json", false, "print the measurements as JSON (durations in nanoseconds)")
	return cmd
}

// startCPUProfile profiles this process into path until stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func checkBenchServe(o bench.ServeOptions) error {
	switch {
	case o.Endpoint != "v2" && o.Endpoint != "predict":
		return fmt.Errorf("--endpoint %q: want v2 or predict", o.Endpoint)
	case o.Duration <= 0:
		return fmt.Errorf("--duration %v: want > 0", o.Duration)
	case o.Conns < 1 || o.SatConns < 1:
		return fmt.Errorf("--conns %d, --sat-conns %d: want >= 1", o.Conns, o.SatConns)
	case slices.ContainsFunc(o.Rate1, notPositive) || slices.ContainsFunc(o.RateBatched, notPositive):
		return fmt.Errorf("--rate %v, --batch-rate %v: want requests/s > 0", o.Rate1, o.RateBatched)
	case slices.ContainsFunc(o.Fractions, notPositive):
		return fmt.Errorf("--fractions %v: want fractions > 0 of the saturation throughput", o.Fractions)
	case len(o.Fractions) == 0 && (len(o.Rate1) == 0 || len(o.RateBatched) == 0):
		return fmt.Errorf("--fractions is empty: give --rate and --batch-rate")
	case o.MaxBatch < 1:
		return fmt.Errorf("--max-batch %d: want >= 1", o.MaxBatch)
	case o.MaxDelay <= 0:
		return fmt.Errorf("--max-delay %v: want > 0", o.MaxDelay)
	}
	return nil
}

func notPositive(v float64) bool { return !(v > 0) || math.IsInf(v, 0) }

func printBenchServe(g *globals, r *bench.ServeResult) error {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }
	fmt.Fprintf(g.stdout, "model %s; endpoint %s; batching server: max batch %d, max delay %v\n", r.Spec, r.Endpoint, r.MaxBatch, r.MaxDelay)
	fmt.Fprintf(g.stdout, "in-process forward (the server's Predictor): batch 1 %s ms; batch %d %s ms (%.1f µs/instance)\n",
		ms(r.Forward1), r.MaxBatch, ms(r.ForwardMax), float64(r.ForwardMax)/1e3/float64(r.MaxBatch))
	tw := tabwriter.NewWriter(g.stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\trate req/s\tconns\tsent\tok/s\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\tsend lag p99 ms\tCPU µs/req\tmean batch\terrors\t")
	row := func(name string, x bench.Run) {
		rate, lag := "closed", "-"
		if x.Rate > 0 {
			rate, lag = fmt.Sprintf("%.0f", x.Rate), ms(x.SendLag.P99)
		}
		batch := "-"
		if x.MeanBatch > 0 {
			batch = fmt.Sprintf("%.1f", x.MeanBatch)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\t%s\t\n", name, rate, x.Conns, x.Sent, x.Rps,
			ms(x.Latency.P50), ms(x.Latency.P99), ms(x.Latency.P999), ms(x.Latency.Max), lag,
			float64(x.CPUPerRequest())/1e3, batch, errorText(x))
	}
	row("generator floor (canned answer)", r.Null)
	row("generator floor (canned answer)", r.NullOpen)
	row("batch 1, saturated", r.Batch1Sat)
	for _, x := range r.Batch1 {
		row("batch 1, open loop", x)
	}
	row(fmt.Sprintf("batch <=%d, saturated", r.MaxBatch), r.BatchedSat)
	for _, x := range r.Batched {
		row(fmt.Sprintf("batch <=%d, open loop", r.MaxBatch), x)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, x := range r.Batch1 {
		fmt.Fprintf(g.stdout, "batch-1 open loop at %.0f req/s: p50 %s ms = forward %s ms + %s ms (goal: + 0.2 ms)\n",
			x.Rate, ms(x.Latency.P50), ms(r.Forward1), ms(x.Latency.P50-r.Forward1))
		if x.Rate == r.NullOpen.Rate {
			fmt.Fprintf(g.stdout, "  the canned-answer server at that rate: p50 %s ms (loopback HTTP, the generator and this machine's scheduling)\n", ms(r.NullOpen.Latency.P50))
		}
	}
	if r.Batch1Sat.Rps > 0 {
		fmt.Fprintf(g.stdout, "saturated throughput: batching %.0f req/s / batch 1 %.0f req/s = %.2f× (goal: >= 5×)\n",
			r.BatchedSat.Rps, r.Batch1Sat.Rps, r.BatchedSat.Rps/r.Batch1Sat.Rps)
	}
	if c1, cb := r.Batch1Sat.CPUPerRequest(), r.BatchedSat.CPUPerRequest(); c1 > 0 && cb > 0 {
		fmt.Fprintf(g.stdout, "process CPU per request, saturated: batch 1 %.0f µs, batching %.0f µs = %.2f× the requests the same CPU time serves (generator floor %.0f µs)\n",
			float64(c1)/1e3, float64(cb)/1e3, float64(c1)/float64(cb), float64(r.Null.CPUPerRequest())/1e3)
	}
	if first := firstError(r); first != "" {
		fmt.Fprintf(g.stdout, "first error: %s\n", first)
	}
	return nil
}

// errorText is a run's errors by status ("0" when none).
func errorText(x bench.Run) string {
	if x.Errors() == 0 {
		return "0"
	}
	codes := make([]int, 0, len(x.Status))
	for c := range x.Status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	s := ""
	for _, c := range codes {
		s += fmt.Sprintf("%d×%d ", x.Status[c], c)
	}
	if x.Failed > 0 {
		s += fmt.Sprintf("%d×no-answer", x.Failed)
	}
	return s
}

func firstError(r *bench.ServeResult) string {
	for _, x := range slices.Concat([]bench.Run{r.Null, r.NullOpen, r.Batch1Sat, r.BatchedSat}, r.Batch1, r.Batched) {
		if x.FirstErr != "" {
			return x.FirstErr
		}
	}
	return ""
}
