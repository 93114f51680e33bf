package tcp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
)

// SendBuffer is the promise allreduce relies on to send before receiving:
// that many bytes of frames (headers included) go out to a peer that reads
// none of them, and every Send returns.
func TestSendBufferHoldsWhatItSays(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config int // Config.SocketBufferBytes
	}{
		{"default", 0},
		{"64 KiB", 64 << 10},
		{"256 KiB", 256 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(nil)
			cfg.SocketBufferBytes = tc.config
			t0, t1 := pair(t, listen(t, cfg), listen(t, cfg), 3)
			got := t0.SendBuffer()
			if got <= 0 {
				t.Fatalf("SendBuffer = %d, want > 0", got)
			}
			if tc.config > 0 && got > tc.config {
				t.Errorf("SendBuffer = %d, more than the %d asked for", got, tc.config)
			}
			frame := min(64<<10, (got/2-HeaderSize)&^3)
			n := got / (frame + HeaderSize)
			data := make([]float32, frame/4)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for i := range n {
				tag := allreduce.Tag{Op: allreduce.OpAllGather, Seq: 1, Chunk: uint32(i)}
				if err := t0.Send(ctx, 1, tag, data); err != nil {
					t.Fatalf("send %d of %d (%d bytes, SendBuffer %d) while the peer reads nothing: %v", i+1, n, frame, got, err)
				}
			}
			// The peer can still read them all, in order.
			for i := range n {
				tag := allreduce.Tag{Op: allreduce.OpAllGather, Seq: 1, Chunk: uint32(i)}
				if err := t1.Recv(ctx, 0, tag, data); err != nil {
					t.Fatal(fmt.Errorf("recv %d: %w", i, err))
				}
			}
		})
	}
}
