package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// progressView shows a run's progress from the workers' reports.
type progressView interface {
	report(*pb.ReportRequest)
	close()
}

// newProgress returns a live bar on a terminal and plain lines otherwise
// (logs and CI stay readable). globalBatch (the job's train.global_batch)
// turns a report's samples/s into steps/s for the ETA.
func newProgress(w io.Writer, globalBatch int) progressView {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return newBarProgress(f, globalBatch)
		}
	}
	return newLineProgress(w, globalBatch)
}

func progressText(p *pb.Progress) string {
	return fmt.Sprintf("epoch %d  loss %.4f  lr %.2g  %.0f samples/s", p.Epoch, p.Loss, p.Lr, p.SamplesPerS)
}

func evalText(e *pb.Eval) string {
	return fmt.Sprintf("eval @ step %d (epoch %d): test loss %.4f, accuracy %.2f%%", e.Step, e.Epoch, e.Loss, 100*e.Accuracy)
}

// lineProgress prints at most one progress line a second, and every eval.
type lineProgress struct {
	mu   sync.Mutex
	w    io.Writer
	last time.Time
	eta  *etaEstimator
}

func newLineProgress(w io.Writer, globalBatch int) *lineProgress {
	return &lineProgress{w: w, eta: newETA(globalBatch)}
}

func (l *lineProgress) report(r *pb.ReportRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch b := r.Body.(type) {
	case *pb.ReportRequest_Progress:
		p := b.Progress
		eta := etaText(l.eta.update(r.Generation, p.Step, p.TotalSteps, p.SamplesPerS, time.Now()))
		if time.Since(l.last) < time.Second && p.Step != p.TotalSteps {
			return
		}
		l.last = time.Now()
		fmt.Fprintf(l.w, "step %d/%d  %s  ETA %s\n", p.Step, p.TotalSteps, progressText(p), eta)
	case *pb.ReportRequest_Eval:
		fmt.Fprintln(l.w, evalText(b.Eval))
	}
}

func (l *lineProgress) close() {}

// barProgress is a live terminal bar (mpb).
type barProgress struct {
	mu      sync.Mutex
	p       *mpb.Progress
	bar     *mpb.Bar
	info    string
	eta     *etaEstimator
	etaText string
	out     io.Writer
}

func newBarProgress(w io.Writer, globalBatch int) *barProgress {
	b := &barProgress{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(200*time.Millisecond)), out: w,
		eta: newETA(globalBatch), etaText: "?"}
	b.bar = b.p.New(1, mpb.BarStyle(),
		mpb.PrependDecorators(decor.Name("train "), decor.CountersNoUnit("%d/%d steps ")),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			b.mu.Lock()
			defer b.mu.Unlock()
			return " " + b.info
		}), decor.Any(func(decor.Statistics) string {
			b.mu.Lock()
			defer b.mu.Unlock()
			return "  ETA " + b.etaText
		})),
	)
	return b
}

func (b *barProgress) report(r *pb.ReportRequest) {
	switch x := r.Body.(type) {
	case *pb.ReportRequest_Progress:
		p := x.Progress
		b.mu.Lock()
		b.info = progressText(p)
		b.etaText = etaText(b.eta.update(r.Generation, p.Step, p.TotalSteps, p.SamplesPerS, time.Now()))
		b.mu.Unlock()
		b.bar.SetTotal(p.TotalSteps, false)
		b.bar.SetCurrent(p.Step)
	case *pb.ReportRequest_Eval:
		b.p.Write([]byte(evalText(x.Eval) + "\n"))
	}
}

func (b *barProgress) close() {
	b.bar.Abort(false)
	b.p.Wait()
}
