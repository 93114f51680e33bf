package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/bench"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

func newScaleCmd(g *globals) *cobra.Command {
	var (
		worlds, config, out string
		steps, warmup       int
		linkMbps            float64
		linkLatency         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "scale --worlds 1,2,4 --config job.yaml --steps N --out DIR",
		Short: "Run a job at several world sizes and write throughput, efficiency and communication share (CSV + PNG)",
		Long: `Runs the job (same global batch) for --steps steps at each world size with real worker processes
on this machine and writes DIR/scale.csv (world, samples/s, speedup, efficiency, step time and its split,
communication share) and DIR/throughput.png, DIR/efficiency.png, DIR/comm_share.png. --link-bandwidth
(Mbit/s) and --link-latency emulate a slower network on the data plane. Step figures are the means of the reporting
windows after --warmup steps.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flag := spelled(cmd.Flags(), "worlds")
			sizes, err := bench.ParseInts(worlds)
			if err != nil {
				return fmt.Errorf("%s: %w", flag, err)
			}
			if out == "" {
				return fmt.Errorf("--out DIR is required")
			}
			if steps < 20 || warmup < 0 || warmup >= steps {
				return fmt.Errorf("want --steps >= 20 and 0 <= --warmup < --steps")
			}
			spec, err := loadJob(config)
			if err != nil {
				return err
			}
			// Every world size is checked before any runs.
			for _, w := range sizes {
				if w < 1 || w > 64 {
					return fmt.Errorf("%s %d: want 1..64", flag, w)
				}
				if _, err := spec.MicroBatch(w); err != nil {
					return fmt.Errorf("%s %d: %w", flag, w, err)
				}
			}
			spec.Train.Steps, spec.Eval.EveryEpochs = steps, 0
			spec.Checkpoint.EveryEpochs, spec.Checkpoint.EverySteps, spec.Checkpoint.Every = 0, 0, 0
			spec.Cluster.LinkMbps, spec.Cluster.LinkLatency = linkMbps, linkLatency
			spec.Cluster.MinWorkers = 1
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			var rows []trainRow
			for _, w := range sizes {
				var mu sync.Mutex
				var windows []*pb.Progress
				lc := localCluster{spec: spec, workers: w, runDir: filepath.Join(out, fmt.Sprintf("world%d", w)), logLevel: g.logLevel,
					onReport: func(r *pb.ReportRequest) {
						if p := r.GetProgress(); p != nil && p.Step > int64(warmup) {
							mu.Lock()
							windows = append(windows, p)
							mu.Unlock()
						}
					}}
				res, err := lc.run(cmd.Context())
				if err != nil {
					return err
				}
				if res.res.Phase != "done" {
					return fmt.Errorf("world %d: %s", w, res.res.Reason)
				}
				rows = append(rows, summarizeTrain(w, spec.Train.GlobalBatch/w, windows))
				fmt.Fprintf(g.stdout, "world %d: %.0f samples/s\n", w, rows[len(rows)-1].samplesPerS)
			}
			return writeScale(out, rows)
		},
	}
	f := cmd.Flags()
	f.StringVar(&worlds, "worlds", "1,2,4", "world sizes (numbers of workers), comma-separated, each run in turn")
	alias(f, "workers", "worlds")
	f.StringVar(&config, "config", "", "job spec (default: the built-in job)")
	f.IntVar(&steps, "steps", 200, "steps per world size")
	f.IntVar(&warmup, "warmup", 20, "steps left out of the figures")
	f.StringVar(&out, "out", "", "output directory (required)")
	f.Float64Var(&linkMbps, "link-bandwidth", 0, "emulate a link of this many Mbit/s per rank on the data plane (0: off)")
	f.DurationVar(&linkLatency, "link-latency", 0, "emulate this latency per data-plane frame")
	return cmd
}

func writeScale(out string, rows []trainRow) error {
	f, err := os.Create(filepath.Join(out, "scale.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	head := []string{"world", "batch_per_worker", "samples_per_s", "speedup", "efficiency", "step_s"}
	for p := range telemetry.StepPhases {
		head = append(head, p.String()+"_s") // data_s, compute_s, reduce_scatter_s, optimizer_s, all_gather_s
	}
	w.Write(append(head, "comm_share"))
	var thr, eff, comm, idealThr, idealEff []telemetry.Point
	base := rows[0].samplesPerS / float64(rows[0].world)
	for _, r := range rows {
		s := r.split
		tot := s.Total().Seconds()
		share := s.Comm().Seconds() / tot
		speedup := r.samplesPerS / base
		e := speedup / float64(r.world)
		g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
		row := []string{strconv.Itoa(r.world), strconv.Itoa(r.batch), g(r.samplesPerS), g(speedup), g(e), g(tot)}
		for _, d := range s {
			row = append(row, g(d.Seconds()))
		}
		w.Write(append(row, g(share)))
		x := float64(r.world)
		thr, eff, comm = append(thr, telemetry.Point{X: x, Y: r.samplesPerS}), append(eff, telemetry.Point{X: x, Y: 100 * e}), append(comm, telemetry.Point{X: x, Y: 100 * share})
		idealThr, idealEff = append(idealThr, telemetry.Point{X: x, Y: base * x}), append(idealEff, telemetry.Point{X: x, Y: 100})
	}
	w.Flush()
	if err := f.Close(); err != nil {
		return err
	}
	for file, c := range map[string]telemetry.ScalingChart{
		"throughput.png": {Title: "Throughput", YLabel: "samples/s", Points: thr, Ideal: idealThr},
		"efficiency.png": {Title: "Scaling efficiency", YLabel: "%", Points: eff, Ideal: idealEff},
		"comm_share.png": {Title: "Communication share of a step", YLabel: "%", Points: comm},
	} {
		if err := c.WritePNG(filepath.Join(out, file)); err != nil {
			return err
		}
	}
	return nil
}
