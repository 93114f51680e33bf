package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/secret"
)

func newLaunchCmd(g *globals) *cobra.Command {
	var (
		workers        int
		config, runDir string
		device         string
		trace          bool
		rf             resumeFlags
		tf             tlsFlags
		sf             secretFlag
	)
	cmd := &cobra.Command{
		Use:   "launch",
		Short: "Train on this machine: a coordinator and N worker processes on localhost",
		Long: `Starts a coordinator in this process and --workers worker processes (this same binary) on
127.0.0.1, shows live progress, prints the final test accuracy and writes summary.json, job.yaml
and the logs into the run directory. With no flags it trains the MLP on the embedded MNIST-10k
data. Ctrl-C or SIGTERM stops every worker.`,
		Example: `  ringtrain launch
  ringtrain launch --workers 4 --config job.yaml --run-dir runs/exp1
  ringtrain launch --resume --run-dir runs/exp1 --workers 2`,
		Args: cobra.ArbitraryArgs, // only the old form --resume RUN_DIR (oldRunDir)
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rf.oldRunDir(args, &runDir, g.stderr); err != nil {
				return err
			}
			if workers < 1 || workers > 64 {
				return fmt.Errorf("--workers %d: want 1..64 on one machine", workers)
			}
			mode, err := rf.mode()
			if err != nil {
				return err
			}
			if mode == resumeYes {
				if runDir == "" {
					return errors.New("--resume needs --run-dir RUN_DIR: the run to continue")
				}
				if st, err := os.Stat(runDir); err != nil || !st.IsDir() {
					return fmt.Errorf("--resume --run-dir %s: no such run directory", runDir)
				}
				if config == "" {
					config = filepath.Join(runDir, "job.yaml")
				}
			}
			spec, err := loadJob(config)
			if err != nil {
				return err
			}
			spec.Trace = spec.Trace || trace
			if device != "" {
				spec.Model.Device = device
				if err := spec.Validate(); err != nil {
					return fmt.Errorf("--device: %w", err)
				}
			}
			if runDir == "" {
				runDir = filepath.Join("runs", time.Now().UTC().Format("20060102-150405"))
			}
			var store *checkpoint.Store
			var restore int64
			if spec.Checkpoint.Enabled() || mode == resumeYes {
				if store, restore, err = openCheckpoints(filepath.Join(runDir, "checkpoints"), spec, mode, rf.strict, g.stderr); err != nil {
					var fe finishedError
					if errors.As(err, &fe) {
						reportFinished(g, runDir, fe)
						return nil
					}
					return err
				}
			}
			sec, secretHint, err := runSecret(runDir, sf.file)
			if err != nil {
				return err
			}
			tlsHint := "--tls-dir " + tlsDir(runDir)
			if tf.insecure {
				tlsHint = "--insecure"
			}
			view := newProgress(g.stdout, spec.Train.GlobalBatch, newEvalNames(spec))
			lc := localCluster{spec: spec, workers: workers, runDir: runDir, logLevel: g.logLevel, onReport: view.report,
				checkpoints: store, restore: restore, secret: sec, insecure: tf.insecure,
				onStart: func(runID, addr, metrics string) {
					fmt.Fprintf(g.stdout, "run %s: %s on %s (%s), logs in %s\n", runID, spec.Name, plural(workers, "worker"), spec.Model.Kind, runDir)
					fmt.Fprintf(g.stdout, "dashboard http://%s/  metrics http://%s/metrics\nstatus: %s status --coordinator %s %s %s\n", metrics, metrics, selfCommand(), addr, tlsHint, secretHint)
				}}
			out, err := lc.run(cmd.Context())
			view.close()
			if err != nil {
				return err
			}
			s := summarize(out.res, out.spec, out.jobBytes, out.runID, out.wall)
			if mode == resumeYes && !out.trained && s.Outcome != string(coordinator.PhaseDone) {
				// Refused before training (e.g. by a worker at restore):
				// job.yaml and summary.json stay as they were.
				return fmt.Errorf("resume refused: %s (%s is unchanged)", s.Reason, runDir)
			}
			return finish(g, runDir, s)
		},
	}
	f := cmd.Flags()
	f.IntVar(&workers, "workers", 2, "number of worker processes")
	f.StringVar(&config, "config", "", "job spec YAML (default: the built-in MNIST MLP job)")
	f.StringVar(&runDir, "run-dir", "", "run directory (default runs/<timestamp>): job.yaml, logs, summary.json, checkpoints in RUN_DIR/checkpoints; with --resume, the run to continue (its job.yaml unless --config)")
	rf.register(f, false)
	f.StringVar(&device, "device", "", "where the workers compute, overriding the job's model.device: cpu, gpu (worker i on GPU i; the GPU binary, make build-gpu), gpu:N, or emu (the GPU path emulated)")
	f.BoolVar(&trace, "trace", false, "record a Chrome trace of every step phase and ring step into RUN_DIR/trace.json (open in Perfetto)")
	tf.registerInsecure(f)
	sf.register(f)
	return cmd
}

// runSecret is a local run's cluster secret: from --secret-file or
// RINGTRAIN_SECRET when given, else the run directory's own (RUN_DIR/secret,
// made on the first launch, 0600). hint tells status how to find it.
func runSecret(runDir, file string) (sec []byte, hint string, err error) {
	if _, ok := os.LookupEnv("RINGTRAIN_SECRET"); ok || file != "" {
		sec, err = secret.Load(file, "RINGTRAIN_SECRET")
		if file != "" {
			hint = "--secret-file " + file
		}
		return sec, hint, err
	}
	path := filepath.Join(runDir, "secret")
	hint = "--secret-file " + path
	if _, err := os.Stat(path); err == nil {
		sec, err = secret.Load(path, "")
		return sec, hint, err
	}
	if err := os.MkdirAll(runDir, privateDir); err != nil {
		return nil, "", err
	}
	sec = secret.New()
	if err := os.WriteFile(path, append(sec, '\n'), 0o600); err != nil {
		return nil, "", fmt.Errorf("cluster secret: %w", err)
	}
	return sec, hint, nil
}
