package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/buildinfo"
	"github.com/ringtrain/ringtrain/internal/proc"
	"github.com/ringtrain/ringtrain/internal/secret"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/pki"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

// localCluster is a coordinator in this process and worker processes of
// this binary on 127.0.0.1: what launch and bench train run.
type localCluster struct {
	spec     job.Spec
	workers  int
	runDir   string
	env      []string // extra environment for the workers
	logLevel string
	onReport func(*pb.ReportRequest)
	onStart  func(runID, addr, metrics string) // after the workers are started
	// checkpoints, if set, stores the run's checkpoints; restore > 0
	// resumes from that step.
	checkpoints *checkpoint.Store
	restore     int64
	// secret is the cluster secret (default: a fresh random one).
	secret []byte
	// insecure runs the control plane in plaintext; otherwise the TLS
	// material lives in RUN_DIR/tls (created when missing).
	insecure bool
}

// tlsDir is where a local run keeps its CA and node certificate.
func tlsDir(runDir string) string { return filepath.Join(runDir, "tls") }

// ensureTLS creates the run's TLS material unless it exists, and loads it.
func ensureTLS(dir string) (*pki.Bundle, error) {
	if err := pki.Init(dir, pki.Options{}); err != nil && !errors.Is(err, pki.ErrExists) {
		return nil, err
	}
	return pki.Load(dir)
}

type localResult struct {
	res      coordinator.Result
	spec     job.Spec
	jobBytes []byte
	runID    string
	wall     time.Duration
	trained  bool // the workers trained at least one step (a progress report came)
}

// run trains the job and returns the coordinator's outcome.
func (lc localCluster) run(ctx context.Context) (localResult, error) {
	spec := lc.spec
	if spec.Cluster.MinWorkers > lc.workers {
		return localResult{}, fmt.Errorf("cluster.min_workers is %d but --workers is %d", spec.Cluster.MinWorkers, lc.workers)
	}
	if _, err := spec.MicroBatch(lc.workers); err != nil {
		return localResult{}, fmt.Errorf("--workers %d: %w", lc.workers, err)
	}
	// All local workers form the first generation as soon as they are in.
	spec.Cluster.MaxWorkers = lc.workers
	b, err := spec.Marshal()
	if err != nil {
		return localResult{}, err
	}
	runID := time.Now().UTC().Format("20060102-150405.000")
	out := localResult{spec: spec, jobBytes: b, runID: runID}
	if err := os.MkdirAll(lc.runDir, privateDir); err != nil {
		return out, err
	}
	// A resumed run records its job once it trains (jobRecord).
	rec := newJobRecord(lc.runDir, b)
	if lc.restore == 0 {
		if err := rec.write(); err != nil {
			return out, err
		}
	}
	logf, err := os.OpenFile(filepath.Join(lc.runDir, "coordinator.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, privateFile)
	if err != nil {
		return out, err
	}
	defer logf.Close()
	sec := lc.secret
	if sec == nil {
		sec = secret.New()
	}
	var tlsCfg *tls.Config
	if !lc.insecure {
		b, err := ensureTLS(tlsDir(lc.runDir))
		if err != nil {
			return out, err
		}
		tlsCfg = b.ServerConfig()
	}
	start := time.Now()
	mf, err := openMetricsFile(lc.runDir)
	if err != nil {
		return out, err
	}
	defer mf.Close()
	var trace *telemetry.TraceWriter
	if spec.Trace {
		if trace, err = telemetry.CreateTrace(filepath.Join(lc.runDir, "trace.json")); err != nil {
			return out, err
		}
		defer trace.Close() // after the coordinator stopped (defers run last-in first-out)
	}
	srv, err := coordinator.Start(coordinator.Config{Job: spec, JobBytes: b, GRPCAddr: "127.0.0.1:0",
		GossipAddr: "127.0.0.1", GossipPort: 0, Secret: sec, TLS: tlsCfg, Insecure: tlsCfg == nil, RunID: runID, Version: buildinfo.Get().Version,
		Logger: slog.New(slog.NewJSONHandler(logf, nil)), OnReport: both(lc.onReport, mf.report, rec.report),
		Checkpoints: lc.checkpoints, RestoreStep: lc.restore, MetricsAddr: "127.0.0.1:0", Trace: trace})
	if err != nil {
		return out, err
	}
	defer srv.Close(5 * time.Second)

	var group proc.Group
	defer group.Stop(5 * time.Second)
	line := workerLine{Join: srv.Addr(), DataAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1", AdvertiseHost: "127.0.0.1",
		Insecure: lc.insecure, LogLevel: lc.logLevel, LogFormat: "json"}
	if !lc.insecure {
		line.TLSDir = tlsDir(lc.runDir)
	}
	for i := range lc.workers {
		wlog, err := os.OpenFile(filepath.Join(lc.runDir, fmt.Sprintf("worker-%d.log", i)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, privateFile)
		if err != nil {
			return out, err
		}
		defer wlog.Close()
		wl := line
		if lc.spec.Model.Device == "gpu" { // one GPU per local worker
			wl.Device = fmt.Sprintf("gpu:%d", i)
		}
		_, err = group.Start(proc.Spec{
			Name:   fmt.Sprintf("worker %d", i),
			Args:   wl.args(),
			Env:    append([]string{"RINGTRAIN_SECRET=" + string(sec)}, lc.env...),
			Output: wlog, Stderr: wlog,
		})
		if err != nil {
			return out, err
		}
	}
	if err := writePIDs(lc.runDir, group.Children()); err != nil {
		return out, err
	}
	if lc.onStart != nil {
		lc.onStart(runID, srv.Addr(), srv.MetricsAddr())
	}
	res, err := srv.Wait(ctx)
	if err != nil {
		if errors.Is(err, ctx.Err()) {
			// Tell the workers STOP and give them a moment to leave
			// before they are signalled, so that neither side logs the
			// other as a failure.
			srv.Stop("interrupted")
			waitChildren(group.Children(), 3*time.Second)
			return out, fmt.Errorf("interrupted: stopping %s (logs in %s)", plural(lc.workers, "worker"), lc.runDir)
		}
		return out, err
	}
	// Workers exit on their STOP plan; give them a moment.
	waitChildren(group.Children(), 10*time.Second)
	out.res, out.wall = res, time.Since(start)
	trained, err := rec.result()
	out.trained = trained
	return out, err
}

// waitChildren waits until every child has exited or d has passed.
func waitChildren(children []*proc.Child, d time.Duration) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for _, c := range children {
		select {
		case <-c.Done():
		case <-deadline.C:
			return
		}
	}
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
	return os.WriteFile(filepath.Join(dir, "pids.json"), b, privateFile)
}
