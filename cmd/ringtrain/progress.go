package main

import (
	"fmt"
	"io"
	"math"
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
func newProgress(w io.Writer, globalBatch int, names *evalNames) progressView {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return newBarProgress(f, globalBatch, names)
		}
	}
	return newLineProgress(w, globalBatch, names)
}

func progressText(p *pb.Progress) string {
	return fmt.Sprintf("epoch %d  loss %.4f  lr %.2g  %.0f samples/s", p.Epoch, p.Loss, p.Lr, p.SamplesPerS)
}

// evalText is an evaluation's line; lm: a language model's, per
// validation token.
func evalText(e *pb.Eval, lm bool) string {
	if lm {
		return fmt.Sprintf("eval @ step %d (epoch %d): validation loss %.4f nats/token, perplexity %.2f, next-character accuracy %.2f%%",
			e.Step, e.Epoch, e.Loss, math.Exp(e.Loss), 100*e.Accuracy)
	}
	return fmt.Sprintf("eval @ step %d (epoch %d): test loss %.4f, accuracy %.2f%%", e.Step, e.Epoch, e.Loss, 100*e.Accuracy)
}

// lineProgress prints at most one progress line a second, and every eval.
type lineProgress struct {
	mu   sync.Mutex
	w    io.Writer
	last time.Time
	eta  *etaEstimator
	name *evalNames
}

func newLineProgress(w io.Writer, globalBatch int, names *evalNames) *lineProgress {
	return &lineProgress{w: w, eta: newETA(globalBatch), name: names}
}

func (l *lineProgress) report(r *pb.ReportRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch b := r.Body.(type) {
	case *pb.ReportRequest_Progress:
		p := b.Progress
		l.name.progress(p)
		eta := etaText(l.eta.update(r.Generation, p.Step, p.TotalSteps, p.SamplesPerS, time.Now()))
		if time.Since(l.last) < time.Second && p.Step != p.TotalSteps {
			return
		}
		l.last = time.Now()
		fmt.Fprintf(l.w, "step %d/%d  %s  ETA %s\n", p.Step, p.TotalSteps, progressText(p), eta)
	case *pb.ReportRequest_Eval:
		fmt.Fprintln(l.w, l.name.text(b.Eval))
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
	name    *evalNames
}

func newBarProgress(w io.Writer, globalBatch int, names *evalNames) *barProgress {
	b := &barProgress{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(200*time.Millisecond)), out: w,
		eta: newETA(globalBatch), etaText: "?", name: names}
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
		b.name.progress(p)
		b.etaText = etaText(b.eta.update(r.Generation, p.Step, p.TotalSteps, p.SamplesPerS, time.Now()))
		b.mu.Unlock()
		b.bar.SetTotal(p.TotalSteps, false)
		b.bar.SetCurrent(p.Step)
	case *pb.ReportRequest_Eval:
		b.mu.Lock()
		line := b.name.text(x.Eval)
		b.mu.Unlock()
		b.p.Write([]byte(line + "\n"))
	}
}

func (b *barProgress) close() {
	b.bar.Abort(false)
	b.p.Wait()
}
