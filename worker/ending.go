package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/fence"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

// ending is why a generation's run returned an error, which decides what
// the worker does about it. Only endFailed is a failure of the run.
type ending int

const (
	// endFailed: a fault of this worker or of its job (bad data, a
	// non-finite loss, another model in the checkpoint): reported as a
	// failure, which ends the run with the worker's reason.
	endFailed ending = iota
	// endPeer: a peer died, hung, refused or never came; the coordinator
	// sees that too (membership, broken streams) and sends the next plan.
	// A timeout is reported as a stall, since maybe nobody died.
	endPeer
	// endStale: the coordinator refused an upload or a report of this
	// generation as stale: it has formed a newer one, whose plan is on the
	// way.
	endStale
	// endControl: the coordinator could not be reached (Unavailable: it
	// died, restarted or its connection was declared dead). If it stays
	// unreachable the plan stream breaks and the session ends; if it was a
	// blip, the stall report makes the coordinator re-form the generation,
	// which this rank has left.
	endControl
)

func (e ending) String() string {
	return [...]string{"failed", "peer", "stale", "control"}[e]
}

// classify says why a generation ended with err.
func classify(err error) ending {
	switch {
	case fence.IsStale(err):
		return endStale
	case brokenLink(err):
		return endPeer
	case status.Code(err) == codes.Unavailable:
		return endControl
	}
	return endFailed
}

// brokenLink reports whether err is a communication failure (a peer lost,
// hung, refused or not coming, or a frame corrupted in transit), as opposed
// to a fault of this worker or its job.
func brokenLink(err error) bool {
	return errors.Is(err, allreduce.ErrPeerLost) || errors.Is(err, allreduce.ErrAborted) ||
		errors.Is(err, allreduce.ErrTimeout) || errors.Is(err, tcp.ErrRefused) ||
		errors.Is(err, tcp.ErrChecksum) || errors.Is(err, context.DeadlineExceeded)
}

// ended handles the end of generation plan's run with err (a run that
// ended because its context did is not handed here). The worker then waits
// for its next plan in every case. ctx is the generation's: it ends when
// the next plan arrives.
func (g *generations) ended(ctx context.Context, plan *pb.Plan, err error) {
	gen, rank := plan.Generation, int(plan.Rank)
	switch classify(err) {
	case endPeer:
		g.log.Warn("generation broken by a peer; waiting for the next plan", "generation", gen, "err", err)
		if errors.Is(err, allreduce.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, tcp.ErrChecksum) {
			// Nothing moved for the step timeout, the links never came up,
			// or a frame arrived corrupted: maybe nobody died (a stuck
			// process, a partition memberlist missed, a faulty link), so
			// nobody else would end the generation. The coordinator
			// re-forms it.
			g.rep.stalled(gen, rank, err.Error())
			return
		}
		// A peer lost or aborted: usually it died, and the coordinator
		// sees that (its control stream, its keepalive, gossip) and sends
		// the next plan. But a link can break between two live processes
		// (a reset on the way): then nobody would end the generation and
		// every rank would wait for a plan forever. Without a new plan
		// within cluster.step_timeout, report the generation stalled.
		g.stallUnlessReplanned(ctx, gen, rank, err)
	case endStale:
		g.log.Warn("generation ended: the coordinator has moved on to a newer one; waiting for the next plan", "generation", gen, "err", err)
	case endControl:
		g.log.Warn("generation ended: the coordinator is unreachable; waiting for the next plan", "generation", gen, "err", err)
		g.rep.stalled(gen, rank, "the coordinator was unreachable: "+err.Error())
	default:
		g.log.Error("generation failed", "generation", gen, "err", err)
		g.rep.failure(gen, rank, err.Error())
	}
}

// stallUnlessReplanned reports generation gen stalled if ctx (the
// generation's) has not ended within cluster.step_timeout: no new plan came
// after its links broke. A stall of a generation the coordinator has
// already left is refused as stale and changes nothing.
func (g *generations) stallUnlessReplanned(ctx context.Context, gen uint64, rank int, err error) {
	wait := g.spec.Cluster.StepTimeout
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		g.log.Warn("no new plan after the generation's links broke; reporting it stalled", "generation", gen, "waited", wait.String())
		g.rep.stalled(gen, rank, fmt.Sprintf("links broken (%v) and no new plan within %v", err, wait))
	}
}
