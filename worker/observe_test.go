package worker

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/telemetry"
)

// stepLog is a StepObserver that keeps what it is told.
type stepLog struct {
	mu          sync.Mutex
	rank, world int
	starts      int
	steps       []telemetry.StepRecord
	windows     []telemetry.WindowRecord
	evals       int
}

func (l *stepLog) Start(rank, world int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rank, l.world, l.starts = rank, world, l.starts+1
}

func (l *stepLog) StepEnd(s telemetry.StepRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, s)
}

func (l *stepLog) WindowEnd(w telemetry.WindowRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.windows = append(l.windows, w)
}

func (l *stepLog) Evaluated(float64, float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evals++
}

func (l *stepLog) CheckpointStall(_ time.Time, _ time.Duration, _ int) {}

// Every step of a run reaches the observer with all its phases, and the
// metrics, the trace and the progress reports see the same durations.
func TestObserverSeesEveryPhase(t *testing.T) {
	spec := testSpec("adamw")
	spec.Train.Steps, spec.Train.ReportEvery = 20, 5
	const world = 2
	logs := make([]*stepLog, world)
	metrics := make([]*telemetry.Worker, world)
	traces := make([]*telemetry.Recorder, world)
	reps := make([]*recorder, world)
	group(t, spec, world, func(r int, tr *Trainer) error {
		logs[r], metrics[r], traces[r], reps[r] = &stepLog{}, telemetry.NewWorker(), telemetry.NewRecorder(r), &recorder{}
		tr.SetObserver(telemetry.Observers(logs[r], metrics[r], traces[r]))
		_, err := tr.Run(context.Background(), reps[r], nil)
		return err
	})
	for r := range world {
		t.Run(fmt.Sprintf("rank%d", r), func(t *testing.T) {
			l := logs[r]
			if l.starts != 1 || l.rank != r || l.world != world {
				t.Fatalf("Start told %d times, rank %d of %d", l.starts, l.rank, l.world)
			}
			if len(l.steps) != spec.Train.Steps {
				t.Fatalf("%d steps observed, want %d", len(l.steps), spec.Train.Steps)
			}
			var total telemetry.Phases
			for i, s := range l.steps {
				if s.Step != i || s.Skipped || s.Samples != spec.Train.GlobalBatch/world || s.CommBytes <= 0 || s.Start.IsZero() {
					t.Fatalf("step %d observed as %+v", i, s)
				}
				for p, d := range s.Phases {
					// The all-gather runs under the next forward pass: the
					// phase is the time that pass waited, which may be none.
					if d < 0 || d == 0 && telemetry.Phase(p) != telemetry.PhaseAllGather {
						t.Fatalf("step %d: phase %s took %v", i, telemetry.Phase(p), d)
					}
				}
				total.Add(s.Phases)
			}

			// Metrics: each phase's histogram holds every step's duration.
			sum, count := phaseSums(t, metrics[r])
			for p := range telemetry.StepPhases {
				if count[p.String()] != uint64(len(l.steps)) || math.Abs(sum[p.String()]-total[p].Seconds()) > 1e-9 {
					t.Errorf("metrics: phase %s: %d observations summing to %vs; the observer saw %d summing to %v",
						p, count[p.String()], sum[p.String()], len(l.steps), total[p])
				}
			}

			// Trace: a step span and its phases' spans, back to back, with the
			// observer's durations.
			var phases, stepsSeen int
			for _, e := range traces[r].Take() {
				switch e.Cat {
				case "step":
					s := l.steps[stepsSeen]
					if e.Name != fmt.Sprintf("step %d", s.Step) || e.Dur != float64(s.Phases.Total().Nanoseconds())/1e3 {
						t.Errorf("trace: span %q of %vµs for step %d of %v", e.Name, e.Dur, s.Step, s.Phases.Total())
					}
					stepsSeen++
				case "phase":
					s, p := l.steps[stepsSeen-1], telemetry.Phase(phases%int(telemetry.StepPhases))
					if e.Name != p.String() || e.Dur != float64(s.Phases[p].Nanoseconds())/1e3 {
						t.Errorf("trace: step %d: span %q of %vµs where phase %s took %v", s.Step, e.Name, e.Dur, p, s.Phases[p])
					}
					phases++
				}
			}
			if stepsSeen != len(l.steps) || phases != len(l.steps)*int(telemetry.StepPhases) {
				t.Errorf("trace: %d step spans and %d phase spans for %d steps", stepsSeen, phases, len(l.steps))
			}

			// Progress: each window's phases are the mean of its steps'.
			rep := reps[r]
			if len(rep.progress) != len(l.windows) || len(rep.progress) != spec.Train.Steps/spec.Train.ReportEvery {
				t.Fatalf("%d progress reports, %d windows observed", len(rep.progress), len(l.windows))
			}
			for i, p := range rep.progress {
				var w telemetry.Phases
				for _, s := range l.steps[i*spec.Train.ReportEvery : (i+1)*spec.Train.ReportEvery] {
					w.Add(s.Phases)
				}
				if want := w.Div(spec.Train.ReportEvery); p.Phases != want || p.Step != (i+1)*spec.Train.ReportEvery {
					t.Errorf("progress at step %d: phases %v, want the window's mean %v", p.Step, p.Phases, want)
				}
				if p.Loss != l.windows[i].Loss || p.LR != l.windows[i].LR || p.SamplesPerS != l.windows[i].SamplesPerS {
					t.Errorf("progress at step %d %+v differs from the observed window %+v", p.Step, p, l.windows[i])
				}
			}
			if l.evals != 1 {
				t.Errorf("%d evaluations observed, want the final one", l.evals)
			}
		})
	}
}

// phaseSums is the sum and count of ringtrain_step_phase_seconds by phase.
func phaseSums(t *testing.T, m *telemetry.Worker) (map[string]float64, map[string]uint64) {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum, count := map[string]float64{}, map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() == "ringtrain_step_phase_seconds" {
			for _, s := range mf.GetMetric() {
				sum[s.GetLabel()[0].GetValue()] = s.GetHistogram().GetSampleSum()
				count[s.GetLabel()[0].GetValue()] = s.GetHistogram().GetSampleCount()
			}
		}
	}
	return sum, count
}
