package coordinator

import (
	"fmt"
	"time"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

// anomalyState is what the driver remembers to detect anomalies in the
// workers' reports. Guarded by Server.mu.
type anomalyState struct {
	spike telemetry.SpikeDetector
	// ready[step][rank]: seconds per step until the rank's gradient was
	// ready (data + compute) in the reporting window ending at step.
	ready        map[int64]map[int]float64
	lastStraggle map[string]int64 // worker id -> step of its last straggler event
	failures     map[string]int   // data address -> failures (ids change when a worker rejoins)
}

// stragglerFactor: a rank whose gradient takes this many times the median
// rank's time is a straggler.
const stragglerFactor = 1.5

// repeatedFailures is how many failures of one worker make an anomaly.
const repeatedFailures = 3

// observeProgress runs the detectors on a progress report (rank 0's is the
// run's; every rank's timing feeds straggler detection). Called under s.mu.
func (s *Server) observeProgress(c *Core, r *pb.ReportRequest) {
	a := &s.mu.anomalies
	p := r.GetProgress()
	if r.Rank == 0 {
		if spike, mean := a.spike.Observe(p.Loss); spike {
			s.anomaly(c, "loss_spike", fmt.Sprintf("loss spike at step %d: %.4f against a recent mean of %.4f", p.Step, p.Loss, mean))
		}
	}
	if p.Timing == nil || c.WorldSize() < 2 {
		return
	}
	if a.ready == nil {
		a.ready, a.lastStraggle = map[int64]map[int]float64{}, map[string]int64{}
	}
	w := a.ready[p.Step]
	if w == nil {
		w = map[int]float64{}
		a.ready[p.Step] = w
	}
	ph := telemetry.PhasesOf(p.Timing)
	w[int(r.Rank)] = (ph[telemetry.PhaseData] + ph[telemetry.PhaseCompute]).Seconds()
	if len(w) < c.WorldSize() {
		return
	}
	delete(a.ready, p.Step)
	for step := range a.ready { // windows some rank never reported
		if step < p.Step {
			delete(a.ready, step)
		}
	}
	times := make([]float64, c.WorldSize())
	for rank, t := range w {
		if rank < len(times) {
			times[rank] = t
		}
	}
	slow, median := telemetry.Stragglers(times, stragglerFactor)
	for _, rank := range slow {
		id, _ := c.RankOf(rank)
		if last, ok := a.lastStraggle[id]; ok && p.Step-last < 100 {
			continue // at most one event per worker per 100 steps
		}
		a.lastStraggle[id] = p.Step
		s.anomaly(c, "straggler", fmt.Sprintf("straggler at step %d: rank %d (%s) needs %v per step to produce its gradient, the median rank %v",
			p.Step, rank, id, secs(times[rank]), secs(median)))
	}
}

// observeFailure counts a worker's failures by its data address (which
// stays the same when it rejoins under a new id). Called under s.mu.
func (s *Server) observeFailure(c *Core, id string) {
	a := &s.mu.anomalies
	if a.failures == nil {
		a.failures = map[string]int{}
	}
	var addr string
	for _, m := range c.Members() {
		if m.ID == id {
			addr = m.DataAddr
		}
	}
	if addr == "" {
		return
	}
	a.failures[addr]++
	if n := a.failures[addr]; n == repeatedFailures {
		s.anomaly(c, "repeated_failures", fmt.Sprintf("the worker at %s (now %s) has failed %d times", addr, id, n))
	}
}

func (s *Server) anomaly(c *Core, kind, msg string) {
	s.metrics.Anomalies.WithLabelValues(kind).Inc()
	c.logf("anomaly", "%s", msg)
}

func secs(v float64) time.Duration { return time.Duration(v * 1e9).Round(100 * time.Microsecond) }

// failWorker records a worker's failure in the core and counts it once per
// failure (several signals often report the same one).
func (s *Server) failWorker(id, reason string) {
	s.update(func(c *Core) {
		before, ok := c.State(id)
		c.Fail(id, reason)
		if after, _ := c.State(id); ok && before != StateFailed && before != StateLeft && after == StateFailed {
			s.observeFailure(c, id)
		}
	})
}
