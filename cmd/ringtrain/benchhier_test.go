package main

import (
	"strings"
	"testing"
)

// bench allreduce --nodes / --hier and simulate --ranks-per-node: bad
// input is a clear error before any process starts.
func TestHierFlagsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"zero nodes", []string{"bench", "allreduce", "--nodes", "0"}, "--nodes 0"},
		{"more nodes than ranks", []string{"bench", "allreduce", "--workers", "2", "--nodes", "3", "--sizes", "4K"}, "at least one rank per node"},
		{"bad hier", []string{"bench", "allreduce", "--nodes", "2", "--hier", "maybe"}, `--hier "maybe"`},
		{"hier without nodes", []string{"bench", "allreduce", "--hier", "off"}, "--hier needs --nodes"},
		{"nodes over shm", []string{"bench", "allreduce", "--nodes", "2", "--transport", "shm"}, "--transport tcp or auto"},
		{"auto link without nodes", []string{"bench", "allreduce", "--transport", "auto", "--link-mbps", "100"}, "needs --nodes 2 or more"},
		{"unknown transport", []string{"bench", "allreduce", "--transport", "rdma"}, `--transport "rdma": want tcp, shm or auto`},
		{"hier both and compress list", []string{"bench", "allreduce", "--nodes", "2", "--hier", "both", "--op", "reduce-scatter", "--compress", "none,bf16"}, "exclude each other"},
		{"zero ranks per node", []string{"simulate", "--ranks-per-node", "0"}, "--ranks-per-node >= 1"},
		{"zero node bandwidth", []string{"simulate", "--ranks-per-node", "2", "--node-bandwidth", "0"}, "--node-bandwidth > 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := cli(t, nil, tc.args...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want it to mention %q", code, stderr, tc.want)
			}
		})
	}
}

// The CSV names the algorithm with emulated nodes.
func TestBenchNodesCSV(t *testing.T) {
	out, stderr, code := cli(t, nil, "bench", "allreduce", "--workers", "4", "--nodes", "2", "--hier", "both", "--sizes", "64K", "--iters", "3", "--csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, impl := range []string{"ringtrain-hier,4,65536,", "ringtrain-flat,4,65536,"} {
		if !strings.Contains(out, impl) {
			t.Fatalf("no %q line in\n%s", impl, out)
		}
	}
}

// The table shows the ranks' GOMAXPROCS (--gomaxprocs) in its procs column.
func TestBenchTableProcs(t *testing.T) {
	out, stderr, code := cli(t, nil, "bench", "allreduce", "--worlds", "2", "--sizes", "4K", "--iters", "3", "--gomaxprocs", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row, got\n%s", out)
	}
	head, row := strings.Fields(lines[0]), strings.Fields(lines[1])
	if len(head) < 3 || head[1] != "procs" || len(row) < 3 || row[0] != "2" || row[1] != "3" || row[2] != "4096" {
		t.Fatalf("want world 2, procs 3, bytes 4096 in\n%s", out)
	}
}
