package worker

import "github.com/ringtrain/ringtrain/telemetry"

// attach makes one generation's trainer report to the process: its steps,
// windows, evaluations and checkpoints go to the metrics m and, when the job
// traces, to a new trace recorder for process pid (with the ring steps); its
// progress and evaluations go to rep (the returned Reporter converts them
// for the wire and ships the recorded spans with each progress report, and
// the rest on flushTrace).
func attach(tr *Trainer, m *telemetry.Worker, rep *reporter, trace bool, pid int) *genReporter {
	g := &genReporter{rep: rep}
	if !trace {
		tr.SetObserver(m)
		return g
	}
	g.trace = telemetry.NewRecorder(pid)
	tr.TraceRing(g.trace)
	tr.SetObserver(telemetry.Observers(m, g.trace))
	return g
}

// genReporter is a generation's Reporter: it converts the trainer's values
// to proto and sends them through the process's reporter.
type genReporter struct {
	rep   *reporter
	trace *telemetry.Recorder // nil: not tracing
}

// Progress sends p, then the spans recorded since the last one.
func (g *genReporter) Progress(p Progress) {
	g.rep.Progress(progressProto(p))
	g.flushTrace()
}

// Eval sends e.
func (g *genReporter) Eval(e Eval) { g.rep.Eval(evalProto(e)) }

// flushTrace sends the spans recorded since the last progress report (after
// the run: the last checkpoint's).
func (g *genReporter) flushTrace() {
	if g.trace != nil {
		g.rep.Trace(g.trace.Take())
	}
}
