package worker

import (
	"context"
	"fmt"

	"github.com/ringtrain/ringtrain/transport/route"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

// links turns the generation's TCP links into the data plane the Comm
// runs on: shared memory to the ranks on this host (cluster.shm: auto, no
// link emulation), TCP to the rest (transport/route). Every rank runs the
// rendezvous, whatever its setting.
func (g *generations) links(ctx context.Context, t *tcp.Transport, rank int) (*route.Transport, error) {
	c := g.spec.Cluster
	off := c.SharedMemory == "off" || c.LinkMbps > 0 || c.LinkLatency > 0
	rt, info, err := route.Establish(ctx, t, route.Options{Off: off, IOTimeout: c.StepTimeout, Logger: g.log})
	if err != nil {
		return nil, fmt.Errorf("data-plane links of rank %d: %w", rank, err)
	}
	if g.metrics != nil {
		g.metrics.SharedPeers.Set(float64(len(info.Shared)))
	}
	if len(info.Shared) > 0 {
		g.log.Info("shared memory with the ranks on this host", "rank", rank, "peers", info.Shared)
	} else if t.Size() > 1 {
		g.log.Info("every data-plane link on TCP", "rank", rank, "why", info.Fallback)
	}
	return rt, nil
}
