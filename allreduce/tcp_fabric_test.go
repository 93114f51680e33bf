package allreduce_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

var testSecret = []byte("0123456789abcdef-test-secret")

func quietTCPConfig() tcp.Config {
	cfg := tcp.DefaultConfig(testSecret)
	cfg.IOTimeout = 10 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

// connectTCP starts size listeners on loopback and connects generation 1;
// checksum is every rank's tcp.Spec.PayloadChecksum.
func connectTCP(t testing.TB, size int, cfg tcp.Config, checksum bool) []*tcp.Transport {
	t.Helper()
	peers := make([][]int, size)
	for r := range size {
		peers[r] = allreduce.Peers(r, size)
	}
	return connectTCPPeers(t, peers, cfg, checksum)
}

// connectTCPPeers links rank r to the ranks peers[r] over real loopback
// TCP, one listener per rank.
func connectTCPPeers(t testing.TB, peers [][]int, cfg tcp.Config, checksum bool) []*tcp.Transport {
	t.Helper()
	size := len(peers)
	lns := make([]*tcp.Listener, size)
	for r := range size {
		ln, err := tcp.Listen("127.0.0.1:0", cfg)
		if err != nil {
			t.Fatal(err)
		}
		lns[r] = ln
		t.Cleanup(func() { ln.Close() })
	}
	ts := make([]*tcp.Transport, size)
	errs := make([]error, size)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for r := range size {
		addrs := map[int]string{}
		for _, p := range peers[r] {
			addrs[p] = lns[p].Addr()
		}
		wg.Go(func() {
			ts[r], errs[r] = lns[r].Connect(ctx, tcp.Spec{Generation: 1, Rank: r, Size: size, Peers: addrs, PayloadChecksum: checksum})
		})
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d connect: %v", r, err)
		}
		tr := ts[r]
		t.Cleanup(func() { tr.Close() })
	}
	return ts
}

var (
	tcpFabric         = fabric{name: "tcp", build: buildTCP(false)}
	tcpChecksumFabric = fabric{name: "tcp+checksum", build: buildTCP(true)}
)

func buildTCP(checksum bool) func(t *testing.T, size int) ([]allreduce.Transport, func(int)) {
	return func(t *testing.T, size int) ([]allreduce.Transport, func(int)) {
		ts := connectTCP(t, size, quietTCPConfig(), checksum)
		out := make([]allreduce.Transport, size)
		for r, tr := range ts {
			out[r] = tr
		}
		// A dying process's sockets are closed by the kernel: Abort does the same.
		return out, func(r int) { ts[r].Abort() }
	}
}
