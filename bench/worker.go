package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/transport/route"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

// Worker is one benchmark rank: it listens on loopback, prints its address,
// reads its plan from in, runs it and prints one result line per size. It
// returns when done, or with an error when in closes early (the parent
// died) or anything fails.
func Worker(ctx context.Context, in io.Reader, out io.Writer, log *slog.Logger) error {
	// First line: the secret (the listener needs it); then we announce our
	// address; then the plan, which holds everyone's addresses.
	r := bufio.NewReader(in)
	var boot struct {
		Secret   []byte        `json:"secret"`
		ReadSpin time.Duration `json:"read_spin"`
	}
	if err := readJSON(r, &boot); err != nil {
		return fmt.Errorf("bench worker: read bootstrap: %w", err)
	}
	cfg := tcp.DefaultConfig(boot.Secret)
	cfg.Logger = log
	if boot.ReadSpin >= 0 {
		cfg.ReadSpin = boot.ReadSpin
	}
	ln, err := tcp.Listen("127.0.0.1:0", cfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	enc := json.NewEncoder(out)
	if err := enc.Encode(hello{Addr: ln.Addr()}); err != nil {
		return err
	}
	var p plan
	if err := readJSON(r, &p); err != nil {
		return fmt.Errorf("bench worker: read plan: %w", err)
	}
	// The parent going away (stdin closed) cancels everything.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		io.Copy(io.Discard, r)
		cancel()
	}()
	t, err := connect(ctx, ln, &p)
	if err != nil {
		return err
	}
	defer t.Close()
	if err := enc.Encode(ready{Ready: true}); err != nil {
		return err
	}
	comp, err := allreduce.ParseCompression(p.Compress)
	if err != nil {
		return err
	}
	acfg := allreduce.Config{SegmentBytes: p.Segment, SmallBytes: p.SmallBytes, DirectBytes: p.DirectBytes, HalvingBytes: p.HalvingBytes, NoShared: p.NoShared, Compress: comp}
	if p.Hier {
		acfg.Hosts = p.Hosts
	}
	comm, err := allreduce.New(t, acfg)
	if err != nil {
		return err
	}
	defer comm.Close()
	var maxBytes int64
	for _, s := range p.Sizes {
		maxBytes = max(maxBytes, s)
	}
	// Allocate and touch the largest buffers once (first-touch page faults
	// are slow here and must not be timed).
	buf := make([]float32, maxBytes/4)
	pristine := make([]float32, maxBytes/4)
	for i, size := range p.Sizes {
		res := runSize(ctx, comm, &p, buf[:size/4], pristine[:size/4], p.Warmup[i], p.Iters[i])
		res.Bytes, res.Procs = size, runtime.GOMAXPROCS(0)
		if err := enc.Encode(res); err != nil {
			return err
		}
		if res.Error != "" {
			return fmt.Errorf("bench worker rank %d: %s", p.Rank, res.Error)
		}
	}
	return nil
}

func runSize(ctx context.Context, comm *allreduce.Comm, p *plan, buf, pristine []float32, warmup, iters int) sizeResult {
	fillInput(pristine, p.Rank, p.Data)
	var res sizeResult
	lo, hi := 0, len(buf)
	check := func() {
		res.MaxErr = max(res.MaxErr, maxError(buf, lo, hi, p.World, p.Data))
	}
	for it := 0; it < warmup+iters; it++ {
		// An emulated link's goroutine writes a call's last frames after
		// the call returned, on this process's Ps, and resetting buf is a
		// long copy that would hold them back and bill a peer's time. A
		// barrier first: every frame of the last call (of this size or the
		// one before) has arrived once it returns.
		if p.LinkMbps > 0 {
			if err := comm.Barrier(ctx); err != nil {
				res.Error = err.Error()
				return res
			}
		}
		copy(buf, pristine)
		if err := comm.Barrier(ctx); err != nil {
			res.Error = err.Error()
			return res
		}
		t0 := time.Now()
		var err error
		switch p.Op {
		case "reduce-scatter":
			lo, hi, err = comm.ReduceScatter(ctx, buf, allreduce.Sum)
		case "all-gather":
			err = comm.AllGather(ctx, buf)
		default:
			err = comm.AllReduce(ctx, buf, allreduce.Sum)
		}
		d := time.Since(t0)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		if it >= warmup {
			res.Times = append(res.Times, d.Seconds())
		}
		if p.Op != "all-gather" && (it == 0 || it == warmup+iters-1) {
			check()
		}
	}
	return res
}

func readJSON(r *bufio.Reader, v any) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

// rankTransport is what connect returns: either transport, closed at the end.
type rankTransport interface {
	allreduce.Transport
	Close() error
}

// connect builds the rank's transport the plan names. With emulated nodes
// (plan.Hosts) every link is TCP and only those between nodes carry the
// emulated link; a per-peer transport (shared memory inside a node) would
// be chosen here from plan.Hosts.
func connect(ctx context.Context, ln *tcp.Listener, p *plan) (rankTransport, error) {
	switch p.Transport {
	case "", "tcp":
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		return ln.Connect(cctx, tcp.Spec{Generation: 1, Rank: p.Rank, Size: p.World, Peers: p.Peers, PayloadChecksum: p.FrameChecksum,
			Link: tcp.Link{Bandwidth: p.LinkMbps * 1e6 / 8}, LinkPeers: otherNodes(p.Hosts, p.Rank)})
	case "shm":
		return attachShm(p)
	case "auto":
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		t, err := ln.Connect(cctx, tcp.Spec{Generation: 1, Rank: p.Rank, Size: p.World, Peers: p.Peers, PayloadChecksum: p.FrameChecksum,
			Link: tcp.Link{Bandwidth: p.LinkMbps * 1e6 / 8}, LinkPeers: otherNodes(p.Hosts, p.Rank)})
		if err != nil {
			return nil, err
		}
		// As training does: shared memory with the ranks of this (emulated)
		// node, found by the rendezvous over the TCP links.
		var host string
		if p.Hosts != nil {
			host = fmt.Sprintf("bench-node-%d", p.Hosts[p.Rank])
		}
		rt, _, err := route.Establish(cctx, t, route.Options{HostKey: host, IOTimeout: 60 * time.Second})
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("bench worker rank %d: %w", p.Rank, err)
		}
		return rt, nil
	}
	return nil, fmt.Errorf("bench worker: transport %q: want tcp, shm or auto", p.Transport)
}

// otherNodes is the set of ranks on another node than rank (nil when there
// is no node layout: the emulated link applies to every peer).
func otherNodes(hosts []int, rank int) map[int]bool {
	if hosts == nil {
		return nil
	}
	out := map[int]bool{}
	for r, h := range hosts {
		if h != hosts[rank] {
			out[r] = true
		}
	}
	return out
}
