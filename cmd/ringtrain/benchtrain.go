package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/bench"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

// trainRow is one world size's measurement.
type trainRow struct {
	world, batch    int
	samplesPerS     float64
	median, minimum float64          // seconds per step (window means)
	split           telemetry.Phases // mean time per step in each phase
}

func newBenchTrainCmd(g *globals) *cobra.Command {
	var (
		worlds, hidden, modelKind, runDir string
		device                            string
		batch, steps, warmup, threads     int
		bucketBytes                       int64
		asCSV                             bool
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Training throughput and step-time split across real worker processes",
		Long: `Runs a synthetic 784-feature, 10-class job (the model and batch of ../shared/bench's ddp_mlp.py:
MLP 784-512-256-10, SGD with momentum, batch 64 per worker; --model cnn trains LeNet-5 on the
embedded MNIST-10k, like ddp_mlp.py's lenet5; --model transformer, lstm or gru the character-level
models of char_gpt.py on the embedded tiny Shakespeare, samples being windows of 64 characters) on each world size with real worker
processes, and reports global and per-worker samples/s and where a step's time goes: data,
compute (forward+backward), reduce-scatter, optimizer, all-gather. The collectives run under the
computation (gradient buckets of --bucket-bytes reduce-scattered during backward, parameters
all-gathered during the next forward), so their phases are the EXPOSED time a step waited for them;
"exposed comm" is their sum per step. Step times are the means of 10-step reporting windows after
the warm-up; median and fastest window are shown. --threads sets OPENBLAS_NUM_THREADS of the
workers and their GOMAXPROCS to one more (a P for the communication goroutine). --csv prints ddp_mlp.py's line format plus exposed_comm_s.
Checkpoints are off (bench checkpoint measures them).`,
		Example: `  ringtrain bench train --worlds 1,2 --threads 1`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flag := spelled(cmd.Flags(), "worlds")
			sizes, err := bench.ParseInts(worlds)
			if err != nil {
				return fmt.Errorf("%s: %w", flag, err)
			}
			hs, err := bench.ParseInts(hidden)
			if err != nil {
				return fmt.Errorf("--hidden: %w", err)
			}
			if steps < 10 || warmup < 0 || batch < 1 || threads < 1 {
				return fmt.Errorf("need --steps >= 10, --warmup >= 0, %s >= 1, --threads >= 1", spelled(cmd.Flags(), "batch-per-worker"))
			}
			for _, w := range sizes { // every world size before any runs
				if w < 1 || w > 64 {
					return fmt.Errorf("%s %d: want 1..64", flag, w)
				}
			}
			if runDir == "" {
				runDir, err = os.MkdirTemp("", "ringtrain-bench-train")
				if err != nil {
					return err
				}
				defer os.RemoveAll(runDir)
			}
			var rows []trainRow
			for _, w := range sizes {
				spec := job.Default()
				spec.Name = "bench-train"
				spec.Model = job.Model{Kind: modelKind, Hidden: hs, Loss: "xent"}
				switch modelKind {
				case "cnn": // a cnn needs images: the embedded MNIST-10k (1x28x28), as LeNet in ddp_mlp.py
				case "transformer", "lstm", "gru":
					// char_gpt.py's models and optimizer on the embedded tiny Shakespeare.
					spec.Data.Source = "shakespeare"
					spec.Model = job.Model{Kind: modelKind, Loss: "xent", Context: 64, Embed: 128}
					if modelKind == "transformer" {
						spec.Model.Blocks, spec.Model.Heads = 4, 4
					} else {
						spec.Model.Hidden = []int{256, 256}
						if cmd.Flags().Changed("hidden") {
							spec.Model.Hidden = hs
						}
					}
				default:
					spec.Data.Source = "synthetic"
					spec.Data.Synthetic = job.Synthetic{N: 16 * batch * w, Dim: 784, Classes: 10, Noise: 0.1}
				}
				spec.Train.GlobalBatch, spec.Train.Steps, spec.Train.ReportEvery = batch*w, warmup+steps, 10
				spec.Train.Optimizer = job.Optimizer{Name: "sgd", Momentum: 0.9}
				spec.Train.LR = job.LRSchedule{Kind: "constant", Base: 0.01}
				spec.Model.Device = device
				if spec.Model.Sequence() {
					spec.Train.Optimizer = job.Optimizer{Name: "adamw", Beta1: 0.9, Beta2: 0.99, WeightDecay: 0.1}
					spec.Train.LR, spec.Train.ClipNorm = job.LRSchedule{Kind: "constant", Base: 1e-3}, 1
				}
				spec.Eval.EveryEpochs = 0
				spec.Cluster.BucketBytes = bucketBytes
				// It measures the step: no checkpoints (and so no store).
				spec.Checkpoint.EveryEpochs, spec.Checkpoint.EverySteps, spec.Checkpoint.Every = 0, 0, 0
				if err := spec.Validate(); err != nil {
					return err
				}
				var mu sync.Mutex
				var windows []*pb.Progress
				lc := localCluster{spec: spec, workers: w, runDir: filepath.Join(runDir, fmt.Sprintf("world%d", w)), logLevel: g.logLevel,
					env: []string{"GOMAXPROCS=" + strconv.Itoa(threads+1), "OPENBLAS_NUM_THREADS=" + strconv.Itoa(threads)},
					onReport: func(r *pb.ReportRequest) {
						if p := r.GetProgress(); p != nil && p.Step > int64(warmup) {
							mu.Lock()
							windows = append(windows, p)
							mu.Unlock()
						}
					}}
				out, err := lc.run(cmd.Context())
				if err != nil {
					return err
				}
				if out.res.Phase != "done" {
					return fmt.Errorf("world %d: %s", w, out.res.Reason)
				}
				rows = append(rows, summarizeTrain(w, batch, windows))
			}
			printTrain(g, rows, modelKind, threads, asCSV)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&worlds, "worlds", "1,2", "world sizes (numbers of worker processes), comma-separated, each run in turn")
	alias(f, "workers", "worlds")
	f.StringVar(&device, "device", "cpu", "where the workers compute: cpu, gpu (worker i on GPU i; the GPU binary), gpu:N, or emu (the GPU path emulated)")
	f.StringVar(&modelKind, "model", "mlp", "mlp, cnn, or a language model on tiny Shakespeare like ../shared/bench's char_gpt.py (context 64, embed 128, AdamW, clipping): transformer (4 layers, 4 heads), lstm or gru (--hidden, default 256,256); use --batch-per-worker 12 as char_gpt.py")
	f.StringVar(&hidden, "hidden", "512,256", "hidden sizes (lstm, gru: the recurrent widths, default 256,256)")
	f.IntVar(&batch, "batch-per-worker", 64, "batch per worker (the global batch grows with the world)")
	alias(f, "batch", "batch-per-worker")
	f.IntVar(&steps, "steps", 200, "timed steps")
	f.IntVar(&warmup, "warmup", 20, "untimed steps first")
	f.IntVar(&threads, "threads", 1, "OPENBLAS_NUM_THREADS per worker (GOMAXPROCS is one more)")
	f.Int64Var(&bucketBytes, "bucket-bytes", job.DefaultBucketBytes, "gradient bucket size in bytes (cluster.bucket_bytes; 0: one bucket, no overlap)")
	f.StringVar(&runDir, "run-dir", "", "keep the runs' logs here (default: a temporary directory)")
	f.BoolVar(&asCSV, "csv", false, "print impl,model,world,threads,batch_per_worker,median_step_s,min_step_s,samples_per_s,exposed_comm_s")
	return cmd
}

func summarizeTrain(world, batch int, windows []*pb.Progress) trainRow {
	r := trainRow{world: world, batch: batch}
	var steps []float64
	for _, p := range windows {
		ph := telemetry.PhasesOf(p.Timing)
		steps = append(steps, ph.Total().Seconds())
		r.samplesPerS += p.SamplesPerS
		r.split.Add(ph)
	}
	if n := len(windows); n > 0 {
		r.samplesPerS /= float64(n)
		r.split = r.split.Div(n)
		slices.Sort(steps)
		r.median, r.minimum = steps[len(steps)/2], steps[0]
	}
	return r
}

func printTrain(g *globals, rows []trainRow, kind string, threads int, asCSV bool) {
	impl := "ringtrain"
	if model.BLAS != "gonum" {
		impl += "-" + model.BLAS
	}
	if asCSV {
		w := csv.NewWriter(g.stdout)
		w.Write([]string{"impl", "model", "world", "threads", "batch_per_worker", "median_step_s", "min_step_s", "samples_per_s", "exposed_comm_s"})
		for _, r := range rows {
			w.Write([]string{impl, kind, strconv.Itoa(r.world), strconv.Itoa(threads), strconv.Itoa(r.batch),
				strconv.FormatFloat(r.median, 'g', 6, 64), strconv.FormatFloat(r.minimum, 'g', 6, 64), strconv.FormatFloat(r.samplesPerS, 'f', 1, 64),
				strconv.FormatFloat(r.split.Comm().Seconds(), 'g', 6, 64)})
		}
		w.Flush()
		return
	}
	fmt.Fprintf(g.stdout, "%s (%s BLAS), %s, %d thread(s) per worker; ms per step (share of the step)\n", impl, model.BLAS, kind, threads)
	tw := tabwriter.NewWriter(g.stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "world\tbatch/worker\tsamples/s\tper worker\tstep ms\t")
	for p := range telemetry.StepPhases {
		fmt.Fprintf(tw, "%s\t", p.Heading())
	}
	fmt.Fprintln(tw, "exposed comm\t")
	for _, r := range rows {
		s := r.split
		tot := s.Total().Seconds()
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.0f\t%.2f\t", r.world, r.batch, r.samplesPerS, r.samplesPerS/float64(r.world), 1e3*r.median)
		for _, d := range s {
			fmt.Fprintf(tw, "%.2f (%.0f%%)\t", 1e3*d.Seconds(), 100*d.Seconds()/tot)
		}
		fmt.Fprintf(tw, "%.2f (%.1f%%)\t\n", 1e3*s.Comm().Seconds(), 100*s.Comm().Seconds()/tot)
	}
	tw.Flush()
}
