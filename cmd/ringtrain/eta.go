package main

import "time"

// etaEstimator estimates the time left of a run from the steps trained in
// the current generation, as seen in this process: never from step 0, which
// would count the steps that a resumed run or a generation restoring a
// checkpoint did not train here, nor from the process start, which would
// count the wait for workers. The first report of a generation gives the
// rate of its reporting window; later ones the mean rate since that first
// report.
type etaEstimator struct {
	batch  int       // global batch: samples per step
	gen    uint64    // generation of the last report
	seen   bool      // a report was seen
	last   int64     // step of the last report
	base   int64     // step at baseAt
	baseAt time.Time // when the current generation's first report came
}

func newETA(globalBatch int) *etaEstimator { return &etaEstimator{batch: globalBatch} }

// update takes a progress report (generation gen at step of total, its
// window's samples per second, seen at now) and returns the estimated time
// left; false when there is no rate to go by.
func (e *etaEstimator) update(gen uint64, step, total int64, samplesPerS float64, now time.Time) (time.Duration, bool) {
	if step > total || step < 0 {
		return 0, false
	}
	if !e.seen || gen != e.gen || step < e.last {
		e.seen, e.gen, e.last, e.base, e.baseAt = true, gen, step, step, now
		if samplesPerS <= 0 || e.batch <= 0 {
			return 0, false
		}
		return time.Duration(float64(total-step) * float64(e.batch) / samplesPerS * float64(time.Second)), true
	}
	e.last = step
	done := step - e.base
	if done <= 0 {
		return 0, false
	}
	return time.Duration(float64(now.Sub(e.baseAt)) * float64(total-step) / float64(done)), true
}

// etaText formats an estimate for the progress line.
func etaText(d time.Duration, ok bool) string {
	if !ok {
		return "?"
	}
	return d.Round(time.Second).String()
}
