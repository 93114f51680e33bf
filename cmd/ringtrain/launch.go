package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/buildinfo"
	"github.com/ringtrain/ringtrain/internal/proc"
	"github.com/ringtrain/ringtrain/internal/secret"
)

func newLaunchCmd(g *globals) *cobra.Command {
	var (
		workers        int
		config, runDir string
	)
	cmd := &cobra.Command{
		Use:   "launch",
		Short: "Train on this machine: a coordinator and N worker processes on localhost",
		Long: `Starts a coordinator in this process and --workers worker processes (this same binary) on
127.0.0.1, shows live progress, prints the final test accuracy and writes summary.json, job.yaml
and the logs into the run directory. With no flags it trains the MLP on the embedded MNIST-10k
data. Ctrl-C or SIGTERM stops every worker.`,
		Example: `  ringtrain launch
  ringtrain launch --workers 4 --config job.yaml --run-dir runs/exp1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workers < 1 || workers > 64 {
				return fmt.Errorf("--workers %d: want 1..64 on one machine", workers)
			}
			spec, err := loadJob(config)
			if err != nil {
				return err
			}
			if spec.Cluster.MinWorkers > workers {
				return fmt.Errorf("cluster.min_workers is %d but --workers is %d", spec.Cluster.MinWorkers, workers)
			}
			if _, ok := spec.WorldSize(workers); !ok || spec.Train.GlobalBatch%workers != 0 {
				return fmt.Errorf("train.global_batch %d is not divisible by --workers %d", spec.Train.GlobalBatch, workers)
			}
			// All local workers form the first generation as soon as they are in.
			spec.Cluster.MaxWorkers = workers
			b, err := spec.Marshal()
			if err != nil {
				return err
			}
			runID := time.Now().UTC().Format("20060102-150405.000")
			if runDir == "" {
				runDir = filepath.Join("runs", runID)
			}
			if err := os.MkdirAll(runDir, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(runDir, "job.yaml"), b, 0o644); err != nil {
				return err
			}
			logf, err := os.Create(filepath.Join(runDir, "coordinator.log"))
			if err != nil {
				return err
			}
			defer logf.Close()
			sec := secret.New()
			view := newProgress(g.stdout)
			start := time.Now()
			srv, err := coordinator.Start(coordinator.Config{Job: spec, JobBytes: b, GRPCAddr: "127.0.0.1:0",
				GossipAddr: "127.0.0.1", GossipPort: 0, Secret: sec, RunID: runID, Version: buildinfo.Get().Version,
				Logger: slog.New(slog.NewJSONHandler(logf, nil)), OnReport: view.report})
			if err != nil {
				return err
			}
			defer srv.Close(5 * time.Second)
			fmt.Fprintf(g.stdout, "run %s: %s on %d workers (%s), logs in %s\n", runID, spec.Name, workers, spec.Model.Kind, runDir)

			var group proc.Group
			defer group.Stop(5 * time.Second)
			for i := range workers {
				wlog, err := os.Create(filepath.Join(runDir, fmt.Sprintf("worker-%d.log", i)))
				if err != nil {
					return err
				}
				defer wlog.Close()
				_, err = group.Start(proc.Spec{
					Name: fmt.Sprintf("worker %d", i),
					Args: []string{"worker", "--join", srv.Addr(), "--data-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1",
						"--advertise-host", "127.0.0.1", "--log-format", "json", "--log-level", g.logLevel},
					Env:    []string{"RINGTRAIN_SECRET=" + string(sec)},
					Output: wlog, Stderr: wlog,
				})
				if err != nil {
					return err
				}
			}
			if err := writePIDs(runDir, group.Children()); err != nil {
				return err
			}
			res, err := srv.Wait(cmd.Context())
			view.close()
			if err != nil {
				if errors.Is(err, cmd.Context().Err()) {
					return fmt.Errorf("interrupted: stopping %d workers (logs in %s)", workers, runDir)
				}
				return err
			}
			// Workers exit on their STOP plan; give them a moment.
			deadline := time.After(10 * time.Second)
			for _, c := range group.Children() {
				select {
				case <-c.Done():
				case <-deadline:
				}
			}
			return finish(g, runDir, summarize(res, spec, b, runID, time.Since(start)))
		},
	}
	f := cmd.Flags()
	f.IntVar(&workers, "workers", 2, "number of worker processes")
	f.StringVar(&config, "config", "", "job spec YAML (default: the built-in MNIST MLP job)")
	f.StringVar(&runDir, "run-dir", "", "run directory (default runs/<timestamp>)")
	return cmd
}

// writePIDs records the worker processes in the run directory (for tools,
// and for the test that no worker outlives launch).
func writePIDs(dir string, children []*proc.Child) error {
	var pids []int
	for _, c := range children {
		pids = append(pids, c.Cmd.Process.Pid)
	}
	b, err := json.Marshal(map[string][]int{"workers": pids})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "pids.json"), b, 0o644)
}
