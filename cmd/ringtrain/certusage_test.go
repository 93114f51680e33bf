package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/pki"
)

const certSecret = "RINGTRAIN_SECRET=cert-usage-tests-secret-0123456789"

// nodeDir makes a --tls-dir for one node: the cluster's ca.crt and the
// certificate NAME.crt/NAME.key of certs as node.crt/node.key.
func nodeDir(t *testing.T, certs, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{pki.CACert: pki.CACert, name + ".crt": pki.NodeCert, name + ".key": pki.NodeKey} {
		b, err := os.ReadFile(filepath.Join(certs, from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeCoordinator is an intruder's control-plane listener on loopback that
// serves TLS with a stolen certificate and counts the handshakes that
// completed: a client that accepts the certificate completes one.
type fakeCoordinator struct {
	ln        net.Listener
	completed atomic.Int32
	refused   atomic.Int32
	lastErr   atomic.Value // string
	wg        sync.WaitGroup
	// handshook gets a token when a handshake ends either way: the client
	// process can exit (having refused the certificate) before this side
	// has read its alert.
	handshook chan struct{}
}

// waitHandshake waits until a handshake has ended on the fake's side, at
// most timeout.
func (f *fakeCoordinator) waitHandshake(timeout time.Duration) {
	select {
	case <-f.handshook:
	case <-time.After(timeout):
	}
}

func startFakeCoordinator(t *testing.T, b *pki.Bundle) *fakeCoordinator {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCoordinator{ln: ln, handshook: make(chan struct{}, 64)}
	cfg := b.ServerConfig()
	cfg.NextProtos = []string{"h2"} // as gRPC's server offers, so a gRPC client gets as far as it would
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if err := tls.Server(c, cfg).Handshake(); err != nil {
				f.refused.Add(1)
				f.lastErr.Store(err.Error())
			} else {
				f.completed.Add(1)
			}
			select {
			case f.handshook <- struct{}{}:
			default:
			}
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.wg.Wait()
	})
	return f
}

// A worker's certificate from certs issue is client-only: a worker holding
// it joins the coordinator over mutual TLS and trains, but neither a real
// coordinator process nor an intruder's TLS listener can serve the control
// plane with it: status and workers refuse it on the loopback names that
// init's node certificate carries (before, every issued certificate served
// and named localhost, 127.0.0.1 and ::1). The coordinator's run directory
// is private (0700 directories, 0600 files).
func TestWorkerCertificateCannotPoseAsCoordinator(t *testing.T) {
	testutil.TypicalUmask(t)
	tmp := t.TempDir()
	certs := filepath.Join(tmp, "certs")
	for _, args := range [][]string{
		{"certs", "init", "--tls-dir", certs},
		{"certs", "issue", "--tls-dir", certs, "--name", "worker-1"},
		{"certs", "issue", "--tls-dir", certs, "--name", "worker-2"},
	} {
		if out, stderr, code := cli(t, nil, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, stderr)
		}
	}
	w1, w2 := nodeDir(t, certs, "worker-1"), nodeDir(t, certs, "worker-2")
	env := func(tlsDir string) []string { return append(os.Environ(), certSecret, "RINGTRAIN_TLS_DIR="+tlsDir) }
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("a worker with a client-only certificate joins and trains", func(t *testing.T) {
		cfg := testutil.WriteFile(t, tmp, "job.yaml", []byte("cluster: {min_workers: 1, max_workers: 1}\ntrain: {steps: 20}\ncheckpoint: {every_epochs: 0, every_steps: 10}\n"))
		run := filepath.Join(tmp, "runs", "coord")
		addr := testutil.FreeAddr(t)
		coord := exec.CommandContext(ctx, binary, "coordinator", "--config", cfg, "--grpc-addr", addr, "--gossip-addr", "127.0.0.1",
			"--gossip-port", fmt.Sprint(testutil.FreePort(t)), "--run-dir", run, "--trace")
		coord.Env = env(certs)
		var coordOut strings.Builder
		coord.Stdout, coord.Stderr = &coordOut, &coordOut
		if err := coord.Start(); err != nil {
			t.Fatal(err)
		}
		worker := exec.CommandContext(ctx, binary, "worker", "--join", addr, "--data-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1",
			"--advertise-host", "127.0.0.1")
		worker.Env = env(w1)
		wout, werr := worker.CombinedOutput()
		if err := coord.Wait(); err != nil || werr != nil {
			t.Fatalf("coordinator: %v\n%s\nworker: %v\n%s", err, coordOut.String(), werr, wout)
		}
		if s := readSummary(t, run); s.Outcome != "done" || s.Steps != 20 {
			t.Fatalf("summary %+v", s)
		}
		tree := testutil.PrivateTree(t, filepath.Join(tmp, "runs"))
		for _, want := range []string{"coord/summary.json", "coord/metrics.jsonl", "coord/trace.json", "coord/checkpoints/LATEST",
			"coord/checkpoints/step-000000000020/shard-00000.safetensors"} {
			if _, ok := tree[filepath.FromSlash(want)]; !ok {
				t.Errorf("%s missing from the run directory: %v", want, tree.Paths())
			}
		}
	})

	t.Run("a coordinator refuses a client-only certificate", func(t *testing.T) {
		// Otherwise it would start and wait for workers: bounded here.
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, binary, "coordinator", "--grpc-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1", "--gossip-port", "0",
			"--run-dir", filepath.Join(tmp, "refused"))
		cmd.Env = env(w1)
		out, err := cmd.CombinedOutput()
		if cctx.Err() != nil {
			t.Fatalf("a coordinator with a worker's certificate started and served:\n%s", out)
		}
		if err == nil || !strings.Contains(string(out), "node.crt is a client-only certificate") {
			t.Fatalf("coordinator with a worker's certificate: %v, want a refusal naming the client-only certificate\n%s", err, out)
		}
	})

	b, err := pki.Load(w1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		tlsDir string
		args   func(addr string) []string
	}{
		{"status with the shared node certificate", certs, func(addr string) []string { return []string{"status", "--coordinator", addr} }},
		{"another worker", w2, func(addr string) []string {
			return []string{"worker", "--join", addr, "--data-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1", "--join-timeout", "2s"}
		}},
	} {
		for _, host := range []string{"127.0.0.1", "localhost"} {
			t.Run(tc.name+" refuses the stolen certificate on "+host, func(t *testing.T) {
				fake := startFakeCoordinator(t, b)
				_, port, _ := net.SplitHostPort(fake.ln.Addr().String())
				cmd := exec.CommandContext(ctx, binary, tc.args(net.JoinHostPort(host, port))...)
				cmd.Env = env(tc.tlsDir)
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatalf("%v: %v, want a non-zero exit\n%s", cmd.Args, err, out)
				}
				fake.waitHandshake(5 * time.Second)
				if n := fake.completed.Load(); n > 0 {
					t.Fatalf("%d TLS handshakes completed with a worker's certificate serving the control plane\n%s", n, out)
				}
				if fake.refused.Load() == 0 || !strings.Contains(string(out), "certificate") {
					t.Fatalf("no handshake was refused (%d), or the output does not say why:\n%s", fake.refused.Load(), out)
				}
				t.Logf("server saw: %v; client said: %s", fake.lastErr.Load(), lastLine(string(out)))
			})
		}
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
