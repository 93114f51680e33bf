package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"time"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// metricsFile appends rank 0's progress and evaluation reports to
// RUN_DIR/metrics.jsonl, one JSON object per line, so a finished run can be
// plotted without a running cluster.
type metricsFile struct {
	mu  sync.Mutex
	f   *os.File
	enc *json.Encoder
}

// metricsLine is one line of metrics.jsonl.
type metricsLine struct {
	Time       time.Time      `json:"time"`
	Kind       string         `json:"kind"` // progress or eval
	Generation uint64         `json:"generation"`
	Step       int64          `json:"step"`
	Epoch      int32          `json:"epoch"`
	Loss       float64        `json:"loss"`
	Accuracy   *float64       `json:"accuracy,omitempty"`
	LR         *float64       `json:"lr,omitempty"`
	SamplesPS  *float64       `json:"samples_per_s,omitempty"`
	Timing     *pb.StepTiming `json:"timing_s,omitempty"`
}

func openMetricsFile(dir string) (*metricsFile, error) {
	f, err := os.OpenFile(filepath.Join(dir, "metrics.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, privateFile)
	if err != nil {
		return nil, err
	}
	return &metricsFile{f: f, enc: json.NewEncoder(f)}, nil
}

func (m *metricsFile) report(r *pb.ReportRequest) {
	l := metricsLine{Time: time.Now().UTC(), Generation: r.Generation}
	switch b := r.Body.(type) {
	case *pb.ReportRequest_Progress:
		p := b.Progress
		l.Kind, l.Step, l.Epoch, l.Loss, l.LR, l.SamplesPS, l.Timing = "progress", p.Step, p.Epoch, p.Loss, &p.Lr, &p.SamplesPerS, p.Timing
	case *pb.ReportRequest_Eval:
		e := b.Eval
		l.Kind, l.Step, l.Epoch, l.Loss, l.Accuracy = "eval", e.Step, e.Epoch, e.Loss, &e.Accuracy
	default:
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.enc.Encode(l)
}

func (m *metricsFile) Close() error { return m.f.Close() }

// both calls every non-nil report function.
func both(fs ...func(*pb.ReportRequest)) func(*pb.ReportRequest) {
	return func(r *pb.ReportRequest) {
		for _, f := range fs {
			if f != nil {
				f(r)
			}
		}
	}
}
