package coordinator

import (
	"time"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

// metricsMirror mirrors the run into the coordinator's Prometheus metrics:
// it is a reportObserver (rank 0's progress, evaluations) and an
// eventObserver (failures), and the Server tells it the core's state after
// every change, each commit, failed checkpoint, recovery and anomaly. Its
// state is the metrics themselves, which are safe for concurrent use.
type metricsMirror struct {
	*telemetry.Coordinator
}

func newMetricsMirror() *metricsMirror { return &metricsMirror{telemetry.NewCoordinator()} }

func (m *metricsMirror) observeReport(a accepted) {
	switch b := a.req.Body.(type) {
	case *pb.ReportRequest_Progress:
		if a.req.Rank != 0 {
			return
		}
		m.Step.Set(float64(b.Progress.Step))
		if r := b.Progress.Restored; r != nil {
			m.Restores.WithLabelValues(r.Source).Inc()
			m.LostSteps.Add(float64(r.LostSteps))
		}
		m.Loss.Set(b.Progress.Loss)
		m.SamplesPerSec.Set(b.Progress.SamplesPerS)
	case *pb.ReportRequest_Eval:
		m.TestAccuracy.Set(b.Eval.Accuracy)
	}
}

func (m *metricsMirror) observeEvent(e published) {
	if e.Kind == EventFailure {
		m.Failures.Inc()
	}
}

// coreState is what the mirror shows of the core.
type coreState struct {
	generation uint64
	worldSize  int
	latest     int64
	members    map[MemberState]int
}

func (m *metricsMirror) observeCore(c coreState) {
	m.Generation.Set(float64(c.generation))
	m.WorldSize.Set(float64(c.worldSize))
	m.LatestCheckpoint.Set(float64(c.latest))
	for st, n := range c.members {
		m.Members.WithLabelValues(string(st)).Set(float64(n))
	}
}

func (m *metricsMirror) recovered(d time.Duration) {
	m.Recoveries.Inc()
	m.RecoverySeconds.Observe(d.Seconds())
}

func (m *metricsMirror) anomaly(kind anomalyKind) { m.Anomalies.WithLabelValues(string(kind)).Inc() }
