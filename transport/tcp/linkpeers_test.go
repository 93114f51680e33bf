package tcp

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
)

// Spec.LinkPeers limits the emulated link to the peers it names: rank 0
// links to 1 and 2 and emulates only the link to 2.
func TestLinkEmulationPerPeer(t *testing.T) {
	cfg := testConfig(nil)
	lns := []*Listener{listen(t, cfg), listen(t, cfg), listen(t, cfg)}
	link := Link{Bandwidth: 10e6, Latency: 20 * time.Millisecond}
	ctx := context.Background()
	ts := make([]*Transport, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for r := range 3 {
		peers := map[int]string{}
		for p := range 3 {
			if p != r {
				peers[p] = lns[p].Addr()
			}
		}
		spec := Spec{Generation: 4, Rank: r, Size: 3, Peers: peers}
		if r == 0 {
			spec.Link, spec.LinkPeers = link, map[int]bool{2: true}
		}
		wg.Go(func() { ts[r], errs[r] = lns[r].Connect(ctx, spec) })
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
		defer ts[r].Close()
	}
	if ts[0].peers[1].emulate || !ts[0].peers[2].emulate || !ts[1].peers[0].emulate {
		t.Fatalf("emulated links: 0→1 %v, 0→2 %v, 1→0 %v; want false, true, true (1 has a zero Link)",
			ts[0].peers[1].emulate, ts[0].peers[2].emulate, ts[1].peers[0].emulate)
	}
	data := make([]float32, 250_000) // 1 MB: 100 ms at 10 MB/s, + 20 ms
	start := time.Now()
	go ts[0].Send(ctx, 2, allreduce.Tag{Seq: 1}, data)
	if err := ts[2].Recv(ctx, 0, allreduce.Tag{Seq: 1}, make([]float32, len(data))); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 120*time.Millisecond {
		t.Fatalf("a 1 MB frame over the emulated link took %v", d)
	}
	go ts[0].Send(ctx, 1, allreduce.Tag{Seq: 2}, data)
	if err := ts[1].Recv(ctx, 0, allreduce.Tag{Seq: 2}, make([]float32, len(data))); err != nil {
		t.Fatal(err)
	}
}

func TestLinkPeersRejectsNonPeers(t *testing.T) {
	ln := listen(t, testConfig(nil))
	for _, bad := range []int{-1, 0, 2} {
		_, err := ln.Connect(context.Background(), Spec{Generation: 1, Rank: 0, Size: 2, Peers: map[int]string{1: "127.0.0.1:1"}, LinkPeers: map[int]bool{bad: true}})
		if err == nil || !strings.Contains(err.Error(), "LinkPeers") {
			t.Errorf("LinkPeers {%d}: want an error naming LinkPeers, got %v", bad, err)
		}
	}
}
