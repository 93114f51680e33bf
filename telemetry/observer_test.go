package telemetry

import (
	"math"
	"testing"
	"time"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

func TestPhaseNames(t *testing.T) {
	for _, c := range []struct {
		p              Phase
		label, heading string
	}{
		{PhaseData, "data", "data"},
		{PhaseCompute, "compute", "compute"},
		{PhaseReduceScatter, "reduce_scatter", "reduce-scatter"},
		{PhaseOptimizer, "optimizer", "optimizer"},
		{PhaseAllGather, "all_gather", "all-gather"},
		{PhaseCheckpoint, "checkpoint", "checkpoint"},
		{Phase(9), "phase(9)", "phase(9)"},
	} {
		if got := c.p.String(); got != c.label {
			t.Errorf("Phase(%d).String() = %q, want %q", c.p, got, c.label)
		}
		if got := c.p.Heading(); got != c.heading {
			t.Errorf("Phase(%d).Heading() = %q, want %q", c.p, got, c.heading)
		}
	}
	if StepPhases != 5 || PhaseCheckpoint != StepPhases {
		t.Fatalf("StepPhases %d, PhaseCheckpoint %d: want 5 step phases and the checkpoint after them", StepPhases, PhaseCheckpoint)
	}
}

func TestPhasesArithmetic(t *testing.T) {
	a := Phases{1, 2, 3, 4, 5}
	b := Phases{10, 20, 30, 40, 50}
	a.Add(b)
	if a != (Phases{11, 22, 33, 44, 55}) || a.Total() != 165 || a.Comm() != 33+55 {
		t.Fatalf("sum %v, total %v, comm %v", a, a.Total(), a.Comm())
	}
	for _, c := range []struct {
		n    int
		want Phases
	}{{1, a}, {0, a}, {-3, a}, {11, Phases{1, 2, 3, 4, 5}}} {
		if got := a.Div(c.n); got != c.want {
			t.Errorf("Div(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}

func TestStepTimingConversion(t *testing.T) {
	ms := time.Millisecond
	for _, p := range []Phases{{}, {1 * ms, 2 * ms, 3 * ms, 4 * ms, 5 * ms}, {7 * time.Second, 0, 0, 0, time.Nanosecond}} {
		if got := PhasesOf(StepTimingProto(p)); got != p {
			t.Errorf("round trip of %v gave %v", p, got)
		}
	}
	w := StepTimingProto(Phases{PhaseReduceScatter: 3 * ms})
	if w.ReduceScatterS != 0.003 || w.DataS != 0 || w.AllGatherS != 0 {
		t.Fatalf("reduce-scatter landed in the wrong field: %v", w)
	}
	for _, c := range []struct {
		name string
		in   *pb.StepTiming
		want Phases
	}{
		{"nil", nil, Phases{}},
		{"fields", &pb.StepTiming{DataS: 0.001, ComputeS: 0.002, ReduceScatterS: 0.003, OptimizerS: 0.004, AllGatherS: 0.005},
			Phases{1 * ms, 2 * ms, 3 * ms, 4 * ms, 5 * ms}},
		{"negative", &pb.StepTiming{DataS: -1, ComputeS: 0.002}, Phases{PhaseCompute: 2 * ms}},
		{"nan", &pb.StepTiming{ComputeS: math.NaN(), OptimizerS: 0.004}, Phases{PhaseOptimizer: 4 * ms}},
		{"inf", &pb.StepTiming{AllGatherS: math.Inf(1), DataS: 0.001}, Phases{PhaseData: ms}},
		{"huge", &pb.StepTiming{ReduceScatterS: 1e300}, Phases{}},
	} {
		if got := PhasesOf(c.in); got != c.want {
			t.Errorf("%s: PhasesOf = %v, want %v", c.name, got, c.want)
		}
	}
}

// phaseHistograms gathers w's registry: the sum and count of
// ringtrain_step_phase_seconds by phase label, and the value of every
// unlabelled gauge and counter by name.
func phaseHistograms(t *testing.T, w *Worker) (sum map[string]float64, count map[string]uint64, value map[string]float64) {
	t.Helper()
	mfs, err := w.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum, count, value = map[string]float64{}, map[string]uint64{}, map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case mf.GetName() == "ringtrain_step_phase_seconds":
				label := m.GetLabel()[0].GetValue()
				sum[label], count[label] = m.GetHistogram().GetSampleSum(), m.GetHistogram().GetSampleCount()
			case m.GetGauge() != nil:
				value[mf.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				value[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return sum, count, value
}

// The metrics and the trace, told through one fanned-out observer, see the
// same phases with the same durations.
func TestObserversSeeTheSamePhases(t *testing.T) {
	w, r := NewWorker(), NewRecorder(7)
	obs := Observers(w, nil, r)
	obs.Start(1, 2)
	start := time.Unix(1000, 0)
	ms := time.Millisecond
	step := StepRecord{Step: 3, Epoch: 1, Loss: 0.5, Start: start, Phases: Phases{1 * ms, 2 * ms, 3 * ms, 4 * ms, 5 * ms}, Samples: 12, CommBytes: 8e6}
	obs.StepEnd(step)
	obs.StepEnd(StepRecord{Step: 4, Start: start.Add(time.Second), Phases: Phases{1 * ms, 2 * ms, 3 * ms}, Skipped: true})
	obs.CheckpointStall(start.Add(2*time.Second), 40*ms, 1024)
	obs.WindowEnd(WindowRecord{Loss: 0.25, LR: 0.01, SamplesPerS: 300})
	obs.Evaluated(0.3, 0.9)

	sum, count, v := phaseHistograms(t, w)
	for p := range StepPhases {
		if got, want := sum[p.String()], step.Phases[p].Seconds(); count[p.String()] != 1 || math.Abs(got-want) > 1e-12 {
			t.Errorf("metrics: phase %s observed %d times, sum %v; want once, %v", p, count[p.String()], got, want)
		}
	}
	if count["checkpoint"] != 1 || math.Abs(sum["checkpoint"]-0.040) > 1e-12 {
		t.Errorf("metrics: checkpoint phase %d times, sum %v", count["checkpoint"], sum["checkpoint"])
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"rank", v["ringtrain_rank"], 1}, {"world", v["ringtrain_world_size"], 2},
		{"steps", v["ringtrain_steps_total"], 1}, {"skipped", v["ringtrain_skipped_steps_total"], 1}, {"samples", v["ringtrain_samples_total"], 12},
		{"bytes", v["ringtrain_allreduce_sent_bytes_total"], 8e6}, {"busbw", v["ringtrain_allreduce_busbw_gbps"], 8e6 / 0.008 / 1e9},
		{"shard bytes", v["ringtrain_checkpoint_shard_bytes"], 1024}, {"loss", v["ringtrain_loss"], 0.25}, {"lr", v["ringtrain_learning_rate"], 0.01},
		{"samples/s", v["ringtrain_samples_per_second"], 300}, {"test loss", v["ringtrain_test_loss"], 0.3}, {"test accuracy", v["ringtrain_test_accuracy"], 0.9},
	} {
		if math.Abs(c.got-c.want) > 1e-9*max(1, c.want) {
			t.Errorf("metrics: %s = %v, want %v", c.name, c.got, c.want)
		}
	}

	events := r.Take()
	if len(events) != 1+int(StepPhases)+1 {
		t.Fatalf("trace: %d events, want the step, its %d phases and the checkpoint (the skipped step records none): %v", len(events), StepPhases, events)
	}
	us := func(tm time.Time) float64 { return float64(tm.UnixNano()) / 1e3 }
	if e := events[0]; e.Name != "step 3" || e.Cat != "step" || e.Ts != us(start) || e.Dur != 15e3 || e.Pid != 7 {
		t.Errorf("trace: step span %+v", e)
	}
	at := start
	for p := range StepPhases {
		e, d := events[1+int(p)], step.Phases[p]
		if e.Name != p.String() || e.Cat != "phase" || e.Ts != us(at) || e.Dur != float64(d.Microseconds()) {
			t.Errorf("trace: phase %s span %+v, want from %v for %v", p, e, at, d)
		}
		at = at.Add(d)
	}
	if e := events[len(events)-1]; e.Name != "checkpoint" || e.Cat != "checkpoint" || e.Ts != us(start.Add(2*time.Second)) || e.Dur != 40e3 {
		t.Errorf("trace: checkpoint span %+v", e)
	}
}

// The trainer tells its observer every step: the metrics, alone or fanned
// out, allocate nothing.
func TestStepEndAllocatesNothing(t *testing.T) {
	w := NewWorker()
	s := StepRecord{Start: time.Now(), Phases: Phases{1, 2, 3, 4, 5}, Samples: 8, CommBytes: 1e6}
	for _, c := range []struct {
		name string
		obs  StepObserver
	}{{"metrics", w}, {"fan-out", Observers(w, NopObserver{})}, {"none", Observers()}} {
		if a := testing.AllocsPerRun(100, func() { c.obs.StepEnd(s) }); a != 0 {
			t.Errorf("%s: %v allocations per StepEnd", c.name, a)
		}
	}
}
