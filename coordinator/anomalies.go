package coordinator

import (
	"fmt"
	"sync"
	"time"

	"github.com/ringtrain/ringtrain/telemetry"
)

// anomalyKind is the label of ringtrain_anomalies_total.
type anomalyKind string

// The anomalies detected.
const (
	anomalyLossSpike        anomalyKind = "loss_spike"
	anomalyStraggler        anomalyKind = "straggler"
	anomalyRepeatedFailures anomalyKind = "repeated_failures"
)

// anomaly is one finding: the Server counts it and publishes an
// EventAnomaly with the message.
type anomaly struct {
	kind    anomalyKind
	message string
}

// stragglerFactor: a rank whose gradient takes this many times the median
// rank's time is a straggler.
const stragglerFactor = 1.5

// repeatedFailures is how many failures of one worker make an anomaly.
const repeatedFailures = 3

// detectors runs the anomaly detectors on what the workers report (a
// reportObserver) and on their failures. It owns its state behind its
// lock and hands each finding to raise after releasing it.
type detectors struct {
	raise func(anomaly)

	mu    sync.Mutex // guards the fields below
	spike telemetry.SpikeDetector
	// ready[step][rank]: seconds per step until the rank's gradient was
	// ready (data + compute) in the reporting window ending at step.
	ready        map[int64]map[int]float64
	lastStraggle map[string]int64 // worker id -> step of its last straggler event
	failures     map[string]int   // data address -> failures (ids change when a worker rejoins)
}

func newDetectors(raise func(anomaly)) *detectors {
	return &detectors{raise: raise, ready: map[int64]map[int]float64{}, lastStraggle: map[string]int64{}, failures: map[string]int{}}
}

// observeReport runs the detectors on a progress report: rank 0's loss is
// the run's; every rank's timing feeds straggler detection.
func (d *detectors) observeReport(a accepted) {
	if a.req.GetProgress() == nil {
		return
	}
	for _, x := range d.progress(a) {
		d.raise(x)
	}
}

func (d *detectors) progress(a accepted) []anomaly {
	d.mu.Lock()
	defer d.mu.Unlock()
	var found []anomaly
	r, p := a.req, a.req.GetProgress()
	if r.Rank == 0 {
		if spike, mean := d.spike.Observe(p.Loss); spike {
			found = append(found, anomaly{anomalyLossSpike, fmt.Sprintf("loss spike at step %d: %.4f against a recent mean of %.4f", p.Step, p.Loss, mean)})
		}
	}
	world := a.worldSize()
	if p.Timing == nil || world < 2 {
		return found
	}
	w := d.ready[p.Step]
	if w == nil {
		w = map[int]float64{}
		d.ready[p.Step] = w
	}
	ph := telemetry.PhasesOf(p.Timing)
	w[int(r.Rank)] = (ph[telemetry.PhaseData] + ph[telemetry.PhaseCompute]).Seconds()
	if len(w) < world {
		return found
	}
	delete(d.ready, p.Step)
	for step := range d.ready { // windows some rank never reported
		if step < p.Step {
			delete(d.ready, step)
		}
	}
	times := make([]float64, world)
	for rank, t := range w {
		if rank < len(times) {
			times[rank] = t
		}
	}
	slow, median := telemetry.Stragglers(times, stragglerFactor)
	for _, rank := range slow {
		id := a.ranks[rank]
		if last, ok := d.lastStraggle[id]; ok && p.Step-last < 100 {
			continue // at most one event per worker per 100 steps
		}
		d.lastStraggle[id] = p.Step
		found = append(found, anomaly{anomalyStraggler, fmt.Sprintf("straggler at step %d: rank %d (%s) needs %v per step to produce its gradient, the median rank %v",
			p.Step, rank, id, secs(times[rank]), secs(median))})
	}
	return found
}

// failed counts a failure of worker id by its data address addr (which
// stays the same when it rejoins under a new id).
func (d *detectors) failed(id, addr string) {
	d.mu.Lock()
	d.failures[addr]++
	n := d.failures[addr]
	d.mu.Unlock()
	if n == repeatedFailures {
		d.raise(anomaly{anomalyRepeatedFailures, fmt.Sprintf("the worker at %s (now %s) has failed %d times", addr, id, n)})
	}
}

func secs(v float64) time.Duration { return time.Duration(v * 1e9).Round(100 * time.Microsecond) }
