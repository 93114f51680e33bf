package telemetry

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// TraceEvent is one Chrome trace event ("X": a complete span; "M":
// metadata). Times are microseconds since the Unix epoch.
type TraceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  float64        `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// Recorder collects one process's spans until they are taken (a worker
// ships them with its reports).
type Recorder struct {
	mu     sync.Mutex
	pid    int
	events []TraceEvent
}

// NewRecorder records spans for process pid.
func NewRecorder(pid int) *Recorder { return &Recorder{pid: pid} }

// Span records a complete span. Spans of category "ring" (the
// collectives, which run on their own goroutine under the computation) go
// on thread 1, the step and its phases on thread 0, so a viewer draws the
// communication as its own row under the compute.
func (r *Recorder) Span(name, cat string, start, end time.Time, args map[string]any) {
	tid := 0
	if cat == "ring" {
		tid = 1
	}
	r.mu.Lock()
	r.events = append(r.events, TraceEvent{Name: name, Cat: cat, Ph: "X", Pid: r.pid, Tid: tid,
		Ts: float64(start.UnixNano()) / 1e3, Dur: float64(end.Sub(start).Nanoseconds()) / 1e3, Args: args})
	r.mu.Unlock()
}

// Take returns and clears what was recorded.
func (r *Recorder) Take() []TraceEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

// TraceWriter writes a Chrome trace file ({"traceEvents": [...]}) that
// Perfetto and chrome://tracing open, merging the events of many processes.
type TraceWriter struct {
	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	n     int
	named map[int]bool
}

// CreateTrace starts a trace file at path.
func CreateTrace(path string) (*TraceWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // in the run directory: private
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	t := &TraceWriter{f: f, w: bufio.NewWriter(f), named: map[int]bool{}}
	t.w.WriteString(`{"displayTimeUnit":"ms","traceEvents":[`)
	return t, nil
}

// Add appends events; the first events of a pid also name it (process) and
// its two rows (thread_name).
func (t *TraceWriter) Add(process string, events []TraceEvent) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range events {
		if !t.named[e.Pid] {
			t.named[e.Pid] = true
			if err := t.write(TraceEvent{Name: "process_name", Ph: "M", Pid: e.Pid, Args: map[string]any{"name": process}}); err != nil {
				return err
			}
			// The rows: the step and its phases (thread 0), the
			// collectives running under them (thread 1, see Recorder.Span).
			for tid, name := range [...]string{"steps", "communication"} {
				if err := t.write(TraceEvent{Name: "thread_name", Ph: "M", Pid: e.Pid, Tid: tid, Args: map[string]any{"name": name}}); err != nil {
					return err
				}
			}
		}
		if err := t.write(e); err != nil {
			return err
		}
	}
	return nil
}

func (t *TraceWriter) write(e TraceEvent) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if t.n > 0 {
		t.w.WriteByte(',')
	}
	t.w.WriteByte('\n')
	t.n++
	_, err = t.w.Write(b)
	return err
}

// Close ends the JSON document and the file.
func (t *TraceWriter) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.w.WriteString("\n]}\n")
	if err := t.w.Flush(); err != nil {
		t.f.Close()
		return err
	}
	return t.f.Close()
}
