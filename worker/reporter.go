package worker

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/ringtrain/ringtrain/internal/fence"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

// reporter sends reports to the coordinator from its own goroutine, so the
// step loop never waits for the control plane. Progress reports are dropped
// when the queue is full (the next one supersedes them); evaluations,
// summaries and failures are not.
type reporter struct {
	client Control
	id     string
	log    *slog.Logger
	queue  chan *pb.ReportRequest
	wg     sync.WaitGroup
	// ctx bounds every delivery; close cancels it after its grace.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	gen      uint64
	rank     int
	restored *pb.Restored // rides on the generation's first progress report
}

func newReporter(c Control, id string, log *slog.Logger) *reporter {
	r := &reporter{client: c, id: id, log: log, queue: make(chan *pb.ReportRequest, 64)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wg.Add(1)
	go r.loop()
	return r
}

func (r *reporter) loop() {
	defer r.wg.Done()
	dropped := 0
	for req := range r.queue {
		if r.ctx.Err() != nil {
			dropped++
			continue
		}
		ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
		err := r.client.Report(ctx, req)
		cancel()
		switch {
		case err == nil:
		case fence.IsStale(err):
			// The generation it speaks of is over: nothing to deliver.
			r.log.Info("report of an ended generation refused", "generation", req.Generation, "err", err)
		default:
			r.log.Warn("report not delivered", "err", err)
		}
	}
	if dropped > 0 {
		r.log.Warn("reports dropped: the session ended before they could be delivered", "reports", dropped)
	}
}

// close delivers what is queued for up to grace (0: drops it at once) and
// stops the goroutine.
func (r *reporter) close(grace time.Duration) {
	close(r.queue)
	if grace <= 0 {
		r.cancel()
	}
	stop := time.AfterFunc(grace, r.cancel)
	r.wg.Wait()
	stop.Stop()
	r.cancel()
}

func (r *reporter) setGeneration(gen uint64, rank int) {
	r.mu.Lock()
	r.gen, r.rank, r.restored = gen, rank, nil
	r.mu.Unlock()
}

// setRestored makes the generation's next progress report (rank 0's reach
// the coordinator's status and events) say where its state came from.
func (r *reporter) setRestored(x *pb.Restored) {
	r.mu.Lock()
	r.restored = x
	r.mu.Unlock()
}

func (r *reporter) request() *pb.ReportRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &pb.ReportRequest{WorkerId: r.id, Generation: r.gen, Rank: int32(r.rank)}
}

// Progress sends p (dropped if the queue is full; the generation's
// restore information then rides on the next one).
func (r *reporter) Progress(p *pb.Progress) {
	req := r.request()
	r.mu.Lock()
	restored := r.restored
	r.mu.Unlock()
	if restored != nil {
		p.Restored = restored
	}
	req.Body = &pb.ReportRequest_Progress{Progress: p}
	select {
	case r.queue <- req:
		if restored != nil {
			r.mu.Lock()
			if r.restored == restored {
				r.restored = nil
			}
			r.mu.Unlock()
		}
	default:
	}
}

// Eval sends e.
func (r *reporter) Eval(e *pb.Eval) {
	req := r.request()
	req.Body = &pb.ReportRequest_Eval{Eval: e}
	r.queue <- req
}

func (r *reporter) done(s *pb.Summary) {
	req := r.request()
	req.Body = &pb.ReportRequest_Done{Done: s}
	r.queue <- req
}

func (r *reporter) failure(gen uint64, rank int, msg string) {
	r.queue <- &pb.ReportRequest{WorkerId: r.id, Generation: gen, Rank: int32(rank), Body: &pb.ReportRequest_Failure{Failure: msg}}
}

func (r *reporter) stalled(gen uint64, rank int, msg string) {
	r.queue <- &pb.ReportRequest{WorkerId: r.id, Generation: gen, Rank: int32(rank), Body: &pb.ReportRequest_Stalled{Stalled: msg}}
}

// Trace sends events as one JSON array.
func (r *reporter) Trace(events []telemetry.TraceEvent) {
	if len(events) == 0 {
		return
	}
	b, err := json.Marshal(events)
	if err != nil {
		r.log.Warn("trace not encoded", "err", err)
		return
	}
	req := r.request()
	req.Body = &pb.ReportRequest_Trace{Trace: b}
	r.queue <- req
}
