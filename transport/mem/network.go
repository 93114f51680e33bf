package mem

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
)

// DefaultDepth is how many frames a link buffers before Send blocks.
const DefaultDepth = 16

// Network is a set of Endpoints, one per rank, fully connected.
type Network struct {
	size  int
	links [][]*link // links[from][to]
	eps   []*Endpoint
}

type frame struct {
	tag  allreduce.Tag
	data []float32
}

type link struct {
	ch    chan frame
	cut   chan struct{} // closed when the link is cut
	once  sync.Once
	drop  atomic.Bool
	delay atomic.Int64 // nanoseconds
}

func (l *link) sever() { l.once.Do(func() { close(l.cut) }) }

// NewNetwork returns a network of size ranks whose links buffer depth
// frames each (DefaultDepth when depth <= 0).
func NewNetwork(size, depth int) *Network {
	if depth <= 0 {
		depth = DefaultDepth
	}
	n := &Network{size: size, links: make([][]*link, size), eps: make([]*Endpoint, size)}
	for a := range size {
		n.links[a] = make([]*link, size)
		for b := range size {
			n.links[a][b] = &link{ch: make(chan frame, depth), cut: make(chan struct{})}
		}
	}
	for r := range size {
		n.eps[r] = &Endpoint{net: n, rank: r, aborted: make(chan struct{})}
	}
	return n
}

// Endpoint returns rank's transport.
func (n *Network) Endpoint(rank int) *Endpoint { return n.eps[rank] }

// Size is the number of ranks.
func (n *Network) Size() int { return n.size }

// Drop makes the link from → to silently discard frames (on) or deliver them
// again (off): a partition the ends cannot see.
func (n *Network) Drop(from, to int, on bool) { n.links[from][to].drop.Store(on) }

// Delay holds every frame on the link from → to for d before delivering it.
func (n *Network) Delay(from, to int, d time.Duration) { n.links[from][to].delay.Store(int64(d)) }

// Cut breaks the link between a and b in both directions, as a connection
// reset: calls on either end that use it fail with allreduce.ErrPeerLost.
func (n *Network) Cut(a, b int) {
	n.links[a][b].sever()
	n.links[b][a].sever()
}

// Kill simulates rank's process dying: its own calls fail with
// ErrAborted and every link to and from it is cut.
func (n *Network) Kill(rank int) { n.eps[rank].Abort() }

// Endpoint is one rank's allreduce.Transport on a Network.
type Endpoint struct {
	net     *Network
	rank    int
	aborted chan struct{}
	once    sync.Once
}

var _ allreduce.Transport = (*Endpoint)(nil)

// Rank is the endpoint's rank.
func (e *Endpoint) Rank() int { return e.rank }

// Size is the network's size.
func (e *Endpoint) Size() int { return e.net.size }

// Abort fails this endpoint's calls and cuts all its links.
func (e *Endpoint) Abort() {
	e.once.Do(func() {
		close(e.aborted)
		for p := range e.net.size {
			if p != e.rank {
				e.net.Cut(e.rank, p)
			}
		}
	})
}

func (e *Endpoint) check(peer int) error {
	if peer < 0 || peer >= e.net.size || peer == e.rank {
		return fmt.Errorf("mem: rank %d: invalid peer %d: %w", e.rank, peer, allreduce.ErrProtocol)
	}
	select {
	case <-e.aborted:
		return fmt.Errorf("mem: rank %d: %w", e.rank, allreduce.ErrAborted)
	default:
	}
	return nil
}

// Send copies data into a frame and queues it on the link to peer to.
func (e *Endpoint) Send(ctx context.Context, to int, tag allreduce.Tag, data []float32) error {
	if err := e.check(to); err != nil {
		return err
	}
	l := e.net.links[e.rank][to]
	if d := time.Duration(l.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-e.aborted:
			t.Stop()
			return fmt.Errorf("mem: rank %d: %w", e.rank, allreduce.ErrAborted)
		}
	}
	if l.drop.Load() {
		return nil
	}
	f := frame{tag: tag, data: append([]float32(nil), data...)}
	select {
	case <-l.cut:
		return fmt.Errorf("mem: send %d->%d: link cut: %w", e.rank, to, allreduce.ErrPeerLost)
	default:
	}
	select {
	case l.ch <- f:
		return nil
	case <-l.cut:
		return fmt.Errorf("mem: send %d->%d: link cut: %w", e.rank, to, allreduce.ErrPeerLost)
	case <-e.aborted:
		return fmt.Errorf("mem: rank %d: %w", e.rank, allreduce.ErrAborted)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Recv takes the next frame from peer from and checks it.
func (e *Endpoint) Recv(ctx context.Context, from int, tag allreduce.Tag, buf []float32) error {
	if err := e.check(from); err != nil {
		return err
	}
	l := e.net.links[from][e.rank]
	var f frame
	select {
	case f = <-l.ch:
	case <-l.cut:
		return fmt.Errorf("mem: recv %d<-%d: link cut: %w", e.rank, from, allreduce.ErrPeerLost)
	case <-e.aborted:
		return fmt.Errorf("mem: rank %d: %w", e.rank, allreduce.ErrAborted)
	case <-ctx.Done():
		return ctx.Err()
	}
	if f.tag != tag || len(f.data) != len(buf) {
		return fmt.Errorf("mem: recv %d<-%d: got %v with %d values, want %v with %d: %w",
			e.rank, from, f.tag, len(f.data), tag, len(buf), allreduce.ErrProtocol)
	}
	copy(buf, f.data)
	return nil
}
