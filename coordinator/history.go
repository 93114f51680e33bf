package coordinator

import (
	"sort"
	"sync"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

// history is what the dashboard plots: rank 0's loss and throughput, the
// test accuracy, and each worker's last step-time split. It is a
// reportObserver and owns its lock.
type history struct {
	mu                         sync.Mutex // guards the fields below
	loss, throughput, accuracy []telemetry.Point
	split                      map[string]telemetry.Phases // worker id -> its last window's step split
}

// maxPoints bounds each curve; older points are thinned by half.
const maxPoints = 2000

func appendPoint(s []telemetry.Point, p telemetry.Point) []telemetry.Point {
	if len(s) >= maxPoints {
		thin := s[:0]
		for i := 0; i < len(s); i += 2 {
			thin = append(thin, s[i])
		}
		s = thin
	}
	return append(s, p)
}

func (h *history) observeReport(a accepted) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := a.req
	switch b := r.Body.(type) {
	case *pb.ReportRequest_Progress:
		if b.Progress.Timing != nil {
			if h.split == nil {
				h.split = map[string]telemetry.Phases{}
			}
			h.split[r.WorkerId] = telemetry.PhasesOf(b.Progress.Timing)
		}
		if r.Rank == 0 {
			h.loss = appendPoint(h.loss, telemetry.Point{X: float64(b.Progress.Step), Y: b.Progress.Loss})
			h.throughput = appendPoint(h.throughput, telemetry.Point{X: float64(b.Progress.Step), Y: b.Progress.SamplesPerS})
		}
	case *pb.ReportRequest_Eval:
		h.accuracy = appendPoint(h.accuracy, telemetry.Point{X: float64(b.Eval.Step), Y: 100 * b.Eval.Accuracy})
	}
}

type splitRow struct {
	ID string
	T  telemetry.Phases
}

// curves returns copies of the three curves and the step-time split by
// worker id.
func (h *history) curves() (loss, throughput, accuracy []telemetry.Point, split []splitRow) {
	h.mu.Lock()
	loss = append([]telemetry.Point(nil), h.loss...)
	throughput = append([]telemetry.Point(nil), h.throughput...)
	accuracy = append([]telemetry.Point(nil), h.accuracy...)
	for id, t := range h.split {
		split = append(split, splitRow{id, t})
	}
	h.mu.Unlock()
	sort.Slice(split, func(i, j int) bool { return split[i].ID < split[j].ID })
	return loss, throughput, accuracy, split
}
