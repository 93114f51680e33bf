package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/membership"
	"github.com/ringtrain/ringtrain/pki"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

const otherSecret = "another-cluster-secret-0123456789abcdef"

// A node with another CA or another secret cannot join, call an RPC, enter
// the gossip or connect to the data plane; then a flood of garbage
// connections to every port of every process of the cluster leaves the run
// training: no worker is lost and the run completes.
func TestIntrudersAndGarbageLeaveTrainingRunning(t *testing.T) {
	// A long run, stopped by the test once it has seen what it checks: a
	// short one could finish during the flood on a fast or idle machine.
	c := newCluster(t, strings.Replace(faultJob, "steps: 500", "steps: 1000000", 1))
	otherTLS := filepath.Join(c.dir, "other-tls")
	if err := pki.Init(otherTLS, pki.Options{}); err != nil {
		t.Fatal(err)
	}
	st := c.startTraining(2)
	gen := st.Generation

	env := func(tlsDir, sec string) []string {
		return append(os.Environ(), "RINGTRAIN_SECRET="+sec, "RINGTRAIN_TLS_DIR="+tlsDir)
	}
	ownTLS := filepath.Join(c.dir, "tls")
	for _, tc := range []struct{ name, tls, secret, want string }{
		{"another CA", otherTLS, faultSecret[len("RINGTRAIN_SECRET="):], "Unavailable"},
		{"another secret", ownTLS, otherSecret, "wrong cluster credentials"},
		{"plaintext", "", faultSecret[len("RINGTRAIN_SECRET="):], "Unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := env(tc.tls, tc.secret)
			insecure := []string{}
			if tc.tls == "" {
				insecure = []string{"--insecure"}
			}
			sc := exec.Command(binary, append([]string{"status", "--coordinator", c.addr}, insecure...)...)
			sc.Env = e
			out, err := sc.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("status: %v, want %s\n%s", err, tc.want, out)
			}
			w := exec.Command(binary, append([]string{"worker", "--join", c.addr, "--data-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1",
				"--advertise-host", "127.0.0.1", "--join-timeout", "2s"}, insecure...)...)
			w.Env = e
			out, err = w.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("worker joined or failed for another reason: %v, want %s\n%s", err, tc.want, out)
			}
		})
	}
	// Gossip: a memberlist node keyed with another secret cannot join (nor
	// can one keyed with the secret alone: TestForgedGossipCannotEndTheRun).
	ml, err := membership.Start(membership.Config{NodeName: "intruder", BindAddr: "127.0.0.1", Secret: []byte(otherSecret),
		RunKey:        []byte("another run's key, 32 bytes long"),
		ProbeInterval: 500 * time.Millisecond, ProbeTimeout: 250 * time.Millisecond, GossipInterval: 100 * time.Millisecond,
		PushPullInterval: 15 * time.Second, SuspicionMult: 3, RetransmitMult: 4, TCPTimeout: 2 * time.Second,
		BroadcastTimeout: time.Second, DeadNodeReclaimTime: time.Second, Meta: membership.Meta{Role: membership.RoleWorker, ID: "intruder"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if n, err := ml.Join(ctx, []string{fmt.Sprintf("127.0.0.1:%d", c.gossip)}); err == nil {
		t.Errorf("gossip node with another secret joined (%d nodes)", n)
	}
	cancel()
	ml.Close()
	// Data plane: a rank with another secret, or with the secret but without
	// the key the coordinator gives the workers it admitted (a node of another
	// CA, which cannot join), is refused by every worker.
	st, _ = c.status()
	var g uint64
	fmt.Sscan(gen, &g)
	for _, in := range []struct{ name, secret string }{
		{"another secret", otherSecret},
		{"the secret, but not admitted by the coordinator", faultSecret[len("RINGTRAIN_SECRET="):]},
	} {
		for _, m := range st.Members {
			ln, err := tcp.Listen("127.0.0.1:0", tcp.DefaultConfig([]byte(in.secret)))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = ln.Connect(ctx, tcp.Spec{Generation: g, Rank: 1, Size: 2, Peers: map[int]string{0: m.DataAddr}})
			cancel()
			ln.Close()
			if !errors.Is(err, tcp.ErrAuth) {
				t.Errorf("data plane of %s (%s), %s: %v, want %v", m.WorkerID, m.DataAddr, in.name, err, tcp.ErrAuth)
			}
		}
	}

	// The flood: every TCP port each process listens on, every UDP port it
	// has bound, for 6 s, loopback only, a bounded number of connections.
	procs := []*exec.Cmd{c.coord}
	procs = append(procs, c.workers...)
	var tcpAddrs, udpAddrs []string
	for _, p := range procs {
		tp, up, err := boundPorts(p.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		for _, port := range tp {
			tcpAddrs = append(tcpAddrs, fmt.Sprintf("127.0.0.1:%d", port))
		}
		for _, port := range up {
			udpAddrs = append(udpAddrs, fmt.Sprintf("127.0.0.1:%d", port))
		}
	}
	// Coordinator: gRPC, gossip, metrics; each worker: data, gossip, metrics.
	if len(tcpAddrs) < 9 || len(udpAddrs) < 3 {
		t.Fatalf("found TCP %v and UDP %v, want at least 9 and 3", tcpAddrs, udpAddrs)
	}
	fs := flood(t, tcpAddrs, udpAddrs, 6*time.Second)
	t.Logf("flood: %d TCP connections (%d garbage bytes) to %v, %d UDP datagrams to %v", fs.conns.Load(), fs.bytes.Load(), tcpAddrs, fs.datagrams.Load(), udpAddrs)
	after, err := c.status()
	if err != nil {
		t.Fatalf("status after the flood: %v", err)
	}
	if after.Generation != gen {
		t.Errorf("the generation changed during the flood (%s -> %s): a worker was lost\n%s", gen, after.Generation, c.coordOut.String())
	}
	for _, p := range procs {
		if p.ProcessState != nil {
			t.Fatalf("process %d exited during the flood", p.Process.Pid)
		}
	}
	// Stop the run cleanly (SIGTERM): the coordinator tells every worker to
	// stop and exits naming the interruption; every process is gone after.
	c.coord.Process.Signal(syscall.SIGTERM)
	stopped := make(chan error, 1)
	go func() { stopped <- c.coord.Wait() }()
	select {
	case <-stopped:
		c.coord = nil
	case <-time.After(60 * time.Second):
		t.Fatalf("coordinator did not stop after SIGTERM\n%s", c.coordOut.String())
	}
	if !strings.Contains(c.coordOut.String(), "interrupted: the run is stopped") {
		t.Errorf("coordinator did not stop cleanly after SIGTERM:\n%s", c.coordOut.String())
	}
	// The secret was never logged, by the coordinator or any worker.
	sec := faultSecret[len("RINGTRAIN_SECRET="):]
	logs := []string{c.coordOut.String()}
	for i := range c.workers {
		b, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("worker-%d.log", i)))
		logs = append(logs, string(b))
	}
	for i, l := range logs {
		if strings.Contains(l, sec) {
			t.Errorf("log %d contains the cluster secret", i)
		}
	}
}

type floodStats struct{ conns, bytes, datagrams atomic.Int64 }

// flood opens garbage connections to every TCP address (4 at a time per
// address: random bytes then close, connect and close, or connect and sit
// idle for a second) and sends random datagrams to every UDP address (one
// every 2 ms), until d has passed.
func flood(t *testing.T, tcpAddrs, udpAddrs []string, d time.Duration) *floodStats {
	var s floodStats
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for _, a := range tcpAddrs {
		for i := range 4 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(i), uint64(len(a))))
				buf := make([]byte, 8192)
				for time.Now().Before(deadline) {
					c, err := net.DialTimeout("tcp", a, time.Second)
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					s.conns.Add(1)
					switch r.IntN(4) {
					case 0, 1:
						n := 1 + r.IntN(len(buf))
						for j := range n {
							buf[j] = byte(r.Uint32())
						}
						c.SetWriteDeadline(time.Now().Add(time.Second))
						w, _ := c.Write(buf[:n])
						s.bytes.Add(int64(w))
					case 2:
					case 3:
						time.Sleep(time.Second)
					}
					c.Close()
				}
			})
		}
	}
	for _, a := range udpAddrs {
		wg.Go(func() {
			c, err := net.Dial("udp", a)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			r := rand.New(rand.NewPCG(7, uint64(len(a))))
			buf := make([]byte, 1400)
			for time.Now().Before(deadline) {
				n := 1 + r.IntN(len(buf))
				for j := range n {
					buf[j] = byte(r.Uint32())
				}
				c.Write(buf[:n])
				s.datagrams.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	return &s
}
