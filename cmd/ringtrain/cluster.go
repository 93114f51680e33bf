package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/buildinfo"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/telemetry"
	"github.com/ringtrain/ringtrain/worker"
)

// loadJob reads --config, or the built-in default job.
func loadJob(path string) (job.Spec, error) {
	if path == "" {
		return job.Default(), nil
	}
	return job.Load(path)
}

// summaryFile is summary.json in the run directory.
type summaryFile struct {
	RunID         string  `json:"run_id"`
	Job           string  `json:"job"`
	JobHash       string  `json:"job_hash"`
	Outcome       string  `json:"outcome"` // done or failed
	Reason        string  `json:"reason,omitempty"`
	Steps         int64   `json:"steps"`
	Epochs        int32   `json:"epochs"`
	TrainLoss     float64 `json:"final_train_loss"`
	TestLoss      float64 `json:"test_loss"`
	TestAccuracy  float64 `json:"test_accuracy"`
	WallSeconds   float64 `json:"wall_seconds"`
	SamplesPerSec float64 `json:"samples_per_second"`
	WorldSize     int32   `json:"world_size"`
	Version       string  `json:"version"`
	// LanguageModel: test_loss is the validation loss in nats per token,
	// test_accuracy the next-character accuracy; perplexity = e^test_loss.
	LanguageModel bool    `json:"language_model,omitempty"`
	Perplexity    float64 `json:"perplexity,omitempty"`
}

func writeSummary(dir string, s summaryFile) (string, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "summary.json")
	return path, writeFileAtomic(path, append(b, '\n'), privateFile)
}

func summarize(res coordinator.Result, spec job.Spec, jobBytes []byte, runID string, wall time.Duration) summaryFile {
	s := summaryFile{RunID: runID, Job: spec.Name, JobHash: job.Hash(jobBytes), Outcome: string(res.Phase),
		WallSeconds: wall.Seconds(), Version: buildinfo.Get().Version}
	if res.Phase != coordinator.PhaseDone {
		s.Reason = res.Reason
	}
	if m := res.Summary; m != nil {
		s.Steps, s.Epochs, s.TrainLoss, s.TestLoss, s.TestAccuracy = m.Steps, m.Epochs, m.TrainLoss, m.TestLoss, m.TestAccuracy
		s.SamplesPerSec, s.WorldSize = m.SamplesPerS, m.WorldSize
		if spec.Model.Sequence() {
			s.LanguageModel, s.Perplexity = true, math.Exp(m.TestLoss)
		}
	}
	return s
}

func newCoordinatorCmd(g *globals) *cobra.Command {
	var config, grpcAddr, runDir, ckptDir string
	var trace bool
	var (
		gf gossipFlags
		mf metricsAddr
		rf resumeFlags
		sf secretFlag
		tf tlsFlags
	)
	cmd := &cobra.Command{
		Use:   "coordinator",
		Short: "Run the coordinator of a multi-node job (workers join it with `ringtrain worker --join`)",
		Long: `Serves the control plane (gRPC) and joins the gossip cluster, forms generations from the
workers that join, and ends when the job is done. The cluster secret comes from --secret-file or
RINGTRAIN_SECRET; every worker needs the same one.`,
		Example: `  export RINGTRAIN_SECRET=$(openssl rand -hex 32)
  ringtrain certs init --tls-dir certs --hosts coordinator.example
  ringtrain coordinator --config job.yaml --tls-dir certs --grpc-addr 0.0.0.0:7070 --gossip-port 7946 --run-dir runs/exp1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rf.plain(); err != nil {
				return err
			}
			spec, err := loadJob(config)
			if err != nil {
				return err
			}
			if trace && runDir == "" {
				return fmt.Errorf("--trace needs --run-dir (the trace goes to RUN_DIR/trace.json)")
			}
			spec.Trace = spec.Trace || trace
			sec, err := sf.load()
			if err != nil {
				return err
			}
			tlsCfg, err := tf.server()
			if err != nil {
				return err
			}
			metricsListen := mf.coordinator()
			b, err := spec.Marshal()
			if err != nil {
				return err
			}
			runID := time.Now().UTC().Format("20060102-150405")
			if ckptDir == "" && runDir != "" {
				ckptDir = filepath.Join(runDir, "checkpoints")
			}
			var store *checkpoint.Store
			var restore int64
			mode, err := rf.mode()
			if err != nil {
				return err
			}
			if ckptDir != "" && (spec.Checkpoint.Enabled() || mode != resumeNo) {
				if store, restore, err = openCheckpoints(ckptDir, spec, mode, rf.strict, g.stderr); err != nil {
					var fe finishedError
					if errors.As(err, &fe) {
						reportFinished(g, runDir, fe)
						return nil
					}
					return err
				}
			} else if mode != resumeNo {
				return fmt.Errorf("--resume and --auto-resume need --checkpoint-dir or --run-dir")
			} else if spec.Checkpoint.Enabled() {
				return fmt.Errorf("job %q asks for checkpoints (%s), but this coordinator has no checkpoint directory: give it --run-dir or --checkpoint-dir, or set the job's checkpoint triggers to 0",
					spec.Name, spec.Checkpoint.Triggers())
			}
			start := time.Now()
			report := newLineProgress(g.stdout, spec.Train.GlobalBatch, newEvalNames(spec)).report
			if runDir != "" {
				if err := os.MkdirAll(runDir, privateDir); err != nil {
					return err
				}
				mfile, err := openMetricsFile(runDir)
				if err != nil {
					return err
				}
				defer mfile.Close()
				// RUN_DIR/job.yaml, as launch keeps it: serve and export
				// read the run's data facts (input scale, range, labels)
				// from it. A resumed run records it once it trains.
				rec := newJobRecord(runDir, b)
				if restore == 0 {
					if err := rec.write(); err != nil {
						return err
					}
				}
				report = both(report, mfile.report, rec.report)
			}
			var tw *telemetry.TraceWriter
			if spec.Trace {
				if tw, err = telemetry.CreateTrace(filepath.Join(runDir, "trace.json")); err != nil {
					return err
				}
				defer tw.Close()
			}
			srv, err := coordinator.Start(coordinator.Config{Job: spec, JobBytes: b, GRPCAddr: grpcAddr,
				GossipAddr: gf.addr, GossipPort: gf.port, Secret: sec, TLS: tlsCfg, Insecure: tlsCfg == nil, RunID: runID,
				Version: buildinfo.Get().Version, Logger: g.logger(), OnReport: report,
				Checkpoints: store, RestoreStep: restore, MetricsAddr: metricsListen, Trace: tw})
			if err != nil {
				return err
			}
			defer srv.Close(10 * time.Second)
			metrics := "off"
			if a := srv.MetricsAddr(); a != "" {
				metrics = "http://" + a + "/metrics"
			}
			join := workerLine{Join: srv.Addr(), TLSDir: tf.dir, Insecure: tf.insecure, SecretFile: sf.file}
			fmt.Fprintf(g.stdout, "coordinator: control plane %s, gossip %s, metrics %s; workers: %s\n",
				srv.Addr(), srv.GossipAddr(), metrics, shellLine(selfCommand(), join.args()))
			res, err := srv.Wait(cmd.Context())
			if err != nil {
				if cmd.Context().Err() != nil {
					// A signal: the workers are told STOP, not failed.
					srv.Stop("interrupted")
					return fmt.Errorf("interrupted: the run is stopped; continue it with --resume")
				}
				return err
			}
			return finish(g, runDir, summarize(res, spec, b, runID, time.Since(start)))
		},
	}
	f := cmd.Flags()
	f.StringVar(&config, "config", "", "job spec YAML (default: the built-in MNIST MLP job)")
	f.StringVar(&grpcAddr, "grpc-addr", "0.0.0.0:7070", "control-plane listen address")
	gf.register(f, 7946)
	sf.register(f)
	mf.register(f)
	f.StringVar(&runDir, "run-dir", "", "run directory: job.yaml, summary.json, metrics.jsonl and checkpoints in RUN_DIR/checkpoints")
	f.StringVar(&ckptDir, "checkpoint-dir", "", "checkpoint directory (default RUN_DIR/checkpoints; none without --run-dir)")
	rf.register(f, true)
	f.BoolVar(&trace, "trace", false, "merge the workers' Chrome trace spans into RUN_DIR/trace.json")
	tf.register(f, false)
	return cmd
}

// finish prints the outcome, writes summary.json if dir is set, and turns a
// failed run into a non-zero exit.
func finish(g *globals, dir string, s summaryFile) error {
	if dir != "" {
		if err := os.MkdirAll(dir, privateDir); err != nil {
			return err
		}
		path, err := writeSummary(dir, s)
		if err != nil {
			return err
		}
		defer fmt.Fprintf(g.stdout, "summary: %s\n", path)
	}
	if s.Outcome != string(coordinator.PhaseDone) {
		return fmt.Errorf("run failed: %s", s.Reason)
	}
	fmt.Fprintln(g.stdout, outcomeLine(s))
	return nil
}

func newWorkerCmd(g *globals) *cobra.Command {
	var cfg worker.Config
	var config string
	var joinTimeout time.Duration
	var (
		gf gossipFlags
		mf metricsAddr
		sf secretFlag
		tf tlsFlags
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker that joins a coordinator and trains",
		Example: `  export RINGTRAIN_SECRET=...   # the coordinator's
  ringtrain worker --tls-dir certs --join coordinator.example:7070`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Join == "" {
				return fmt.Errorf("--join HOST:PORT is required (the coordinator's control-plane address)")
			}
			if cfg.Device != "" {
				if err := job.CheckDevice(cfg.Device); err != nil {
					return fmt.Errorf("--device: %w", err)
				}
			}
			sec, err := sf.load()
			if err != nil {
				return err
			}
			if cfg.TLS, err = tf.client(cfg.Join); err != nil {
				return err
			}
			cfg.Insecure = cfg.TLS == nil
			if config != "" {
				spec, err := job.Load(config)
				if err != nil {
					return err
				}
				b, err := spec.Marshal()
				if err != nil {
					return err
				}
				cfg.JobHash = job.Hash(b)
			}
			cfg.GossipAddr, cfg.GossipPort, cfg.MetricsAddr = gf.addr, gf.port, mf.worker()
			cfg.Secret, cfg.Version, cfg.Logger, cfg.JoinTimeout = sec, buildinfo.Get().Version, g.logger(), joinTimeout
			err = worker.Run(cmd.Context(), cfg)
			if err != nil && errors.Is(err, context.Canceled) && cmd.Context().Err() != nil {
				// SIGTERM or Ctrl-C: the worker left the run (its peers go
				// on from its replica, a planned scale-down): a clean exit,
				// as the coordinator's and serve's.
				cfg.Logger.Info("stopped by a signal: left the run")
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Join, "join", "", "coordinator control-plane address HOST:PORT (required)")
	f.StringVar(&cfg.DataAddr, "data-addr", "0.0.0.0:0", "data-plane (all-reduce) listen address")
	gf.register(f, 0)
	f.StringVar(&cfg.AdvertiseHost, "advertise-host", "", "IP or host name other nodes use to reach this worker; a name is resolved to its first non-loopback IPv4 address (default: the address that routes to the coordinator)")
	sf.register(f)
	f.StringVar(&config, "config", "", "optional job spec: refuse to join a coordinator running another job")
	f.DurationVar(&joinTimeout, "join-timeout", 60*time.Second, "how long to keep trying to reach the coordinator")
	f.StringVar(&cfg.Device, "device", "", "where to compute: cpu, gpu, gpu:N (GPU N; the GPU binary, make build-gpu) or emu (the GPU path emulated); default: the job's model.device")
	f.IntVar(&cfg.LeaveAtStep, "leave-at-step", 0, "leave the run once every rank has completed step N (a planned scale-down at an exact step; 0: never)")
	mf.register(f)
	tf.register(f, true)
	return cmd
}
