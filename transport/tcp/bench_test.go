package tcp

import (
	"context"
	"fmt"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
)

// BenchmarkSendRecv moves frames one way between two ranks over loopback,
// with and without the payload checksum (Spec.PayloadChecksum), to show
// what the checksum costs per byte next to the kernel's copies.
func BenchmarkSendRecv(b *testing.B) {
	for _, checksum := range []bool{false, true} {
		for _, bytes := range []int{4 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("checksum=%v/%dB", checksum, bytes), func(b *testing.B) {
				cfg := testConfig(nil)
				l0, l1 := listen(b, cfg), listen(b, cfg)
				ts := connectVia(b, l0, l1, 1, l0.Addr(), [2]bool{checksum, checksum})
				out, in := make([]float32, bytes/4), make([]float32, bytes/4)
				for i := range out {
					out[i] = float32(i)
				}
				ctx := context.Background()
				tag := allreduce.Tag{Op: allreduce.OpAllGather, Seq: 1}
				errc := make(chan error, 1)
				b.SetBytes(int64(bytes))
				b.ResetTimer()
				go func() {
					for range b.N {
						if err := ts[1].Send(ctx, 0, tag, out); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
				for range b.N {
					if err := ts[0].Recv(ctx, 1, tag, in); err != nil {
						b.Fatal(err)
					}
				}
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
