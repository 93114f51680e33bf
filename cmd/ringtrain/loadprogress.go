package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// loadProgress shows a data set's loading (images decoded so far).
type loadProgress interface {
	update(done, total int)
	close()
}

// newLoadProgress returns a live bar on a terminal and, otherwise, a line
// at most every second and at the end (logs and CI stay readable).
func newLoadProgress(w io.Writer, what string) loadProgress {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return newLoadBar(f, what)
		}
	}
	return &loadLines{w: w, what: what}
}

// loadLines prints "loading images: done/total" at most once a second,
// and the last count.
type loadLines struct {
	w         io.Writer
	what      string
	last      time.Time
	lastDone  int
	lastTotal int
}

func (l *loadLines) update(done, total int) {
	l.lastDone, l.lastTotal = done, total
	if now := time.Now(); now.Sub(l.last) >= time.Second || done == total {
		l.last = now
		fmt.Fprintf(l.w, "loading %s: %d/%d\n", l.what, done, total)
	}
}

func (l *loadLines) close() {}

// loadBar is an mpb bar of the items loaded.
type loadBar struct {
	once sync.Once
	p    *mpb.Progress
	bar  *mpb.Bar
}

// newLoadBar draws on w (a terminal; more options, e.g.
// mpb.WithAutoRefresh, for another writer).
func newLoadBar(w io.Writer, what string, opts ...mpb.ContainerOption) *loadBar {
	p := mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(100 * time.Millisecond)}, opts...)...)
	bar := p.New(0, mpb.BarStyle(),
		mpb.PrependDecorators(decor.Name("loading "+what+" "), decor.CountersNoUnit("%d/%d ")),
		mpb.AppendDecorators(decor.Percentage(), decor.Name(" "), decor.AverageSpeed(0, "%.0f/s")))
	return &loadBar{p: p, bar: bar}
}

func (b *loadBar) update(done, total int) {
	b.bar.SetTotal(int64(total), false)
	b.bar.SetCurrent(int64(done))
}

func (b *loadBar) close() {
	b.once.Do(func() {
		if !b.bar.Completed() {
			b.bar.Abort(false)
		}
		b.p.Wait()
	})
}
