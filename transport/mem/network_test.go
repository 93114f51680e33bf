package mem

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var tag = allreduce.Tag{Op: allreduce.OpAllGather, Seq: 1}

func TestDeliversCopiesInOrder(t *testing.T) {
	n := NewNetwork(2, 0)
	a, b := n.Endpoint(0), n.Endpoint(1)
	data := []float32{1, 2, 3}
	for i := range 3 {
		tg := tag
		tg.Chunk = uint32(i)
		if err := a.Send(context.Background(), 1, tg, data); err != nil {
			t.Fatal(err)
		}
		data[0] = 99 // the frame is a copy
	}
	for i := range 3 {
		tg := tag
		tg.Chunk = uint32(i)
		buf := make([]float32, 3)
		want := float32(99) // changed after the first send
		if i == 0 {
			want = 1
		}
		if err := b.Recv(context.Background(), 0, tg, buf); err != nil || buf[0] != want {
			t.Fatalf("frame %d: %v %v", i, err, buf)
		}
	}
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(n *Network)
		want  error
	}{
		{"cut", func(n *Network) { n.Cut(0, 1) }, allreduce.ErrPeerLost},
		{"kill sender", func(n *Network) { n.Kill(0) }, allreduce.ErrPeerLost},
		{"kill receiver", func(n *Network) { n.Kill(1) }, allreduce.ErrAborted},
		{"drop", func(n *Network) { n.Drop(0, 1, true) }, context.DeadlineExceeded},
		{"delay", func(n *Network) { n.Delay(0, 1, time.Second) }, context.DeadlineExceeded},
		{"protocol", func(n *Network) {}, allreduce.ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNetwork(2, 0)
			tc.fault(n)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			go n.Endpoint(0).Send(ctx, 1, tag, []float32{1})
			want := tag
			if tc.name == "protocol" {
				want.Seq = 2
			}
			err := n.Endpoint(1).Recv(ctx, 0, want, make([]float32, 1))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestInvalidPeer(t *testing.T) {
	n := NewNetwork(2, 0)
	for _, p := range []int{-1, 0, 2} {
		if err := n.Endpoint(0).Send(context.Background(), p, tag, nil); !errors.Is(err, allreduce.ErrProtocol) {
			t.Fatalf("peer %d: %v", p, err)
		}
	}
}
