package tcp

import (
	"context"
	"errors"
	"sync"
	"time"
)

// linkEmu is the emulated link (Spec.Link) to one peer, a queue and the
// goroutine that drains it. Send hands it a copy of each frame and returns
// at once unless two frames already wait, as a host's write returns once
// the kernel holds the bytes; the goroutine sends the frames one after the
// other, each written to the peer when its time on the link is over: from
// when it was handed over, or when the link finished the frame before it,
// whichever is later. So the host's work between frames (packing the next
// one, reducing what arrived) overlaps the link's sending, as on a real
// link, while a sender that waited for something else (a frame from
// another rank) gets no credit for the wait.
type linkEmu struct {
	free   chan []byte    // frame buffers not in use (two)
	queue  chan linkFrame // handed over, not yet written
	done   chan struct{}  // closed by stop: drop what waits
	failed chan struct{}  // closed when a write failed; err says why
	err    error
	once   sync.Once
	wg     sync.WaitGroup
	timer  *linkTimer // owned by run; stop may interrupt it
	// scheduled, if set (tests), sees every frame's handing over and the
	// time it is written.
	scheduled func(handed, written time.Time)
}

// linkFrame is one frame on the link queue; a nil b is a flush marker,
// answered on flushed once every frame before it is written.
type linkFrame struct {
	b       []byte
	handed  time.Time
	d       time.Duration
	flushed chan struct{}
}

// linkWrite writes one whole frame to the peer.
type linkWrite func(frame []byte) error

func newLinkEmu(write linkWrite, scheduled func(handed, written time.Time)) *linkEmu {
	e := &linkEmu{free: make(chan []byte, 2), queue: make(chan linkFrame, 3),
		done: make(chan struct{}), failed: make(chan struct{}), scheduled: scheduled, timer: newLinkTimer()}
	e.free <- nil
	e.free <- nil
	e.wg.Add(1)
	go e.run(write)
	return e
}

func (e *linkEmu) run(write linkWrite) {
	defer e.wg.Done()
	var linkFree time.Time
	tm := e.timer
	defer tm.close()
	for {
		var f linkFrame
		select {
		case <-e.done:
			return
		case f = <-e.queue:
		}
		if f.b == nil {
			close(f.flushed)
			continue
		}
		linkFree = later(f.handed, linkFree).Add(f.d)
		if e.scheduled != nil {
			e.scheduled(f.handed, linkFree)
		}
		if wait := time.Until(linkFree); wait > 0 && !tm.wait(wait, e.done) {
			return
		}
		if err := write(f.b); err != nil {
			e.err = err
			close(e.failed)
			return
		}
		e.free <- f.b
	}
}

// send copies the frame (hdr, then payload) onto the link; it waits only
// while two frames are queued, for ctx, a failed write or stop.
func (e *linkEmu) send(ctx context.Context, hdr, payload []byte, d time.Duration) error {
	var b []byte
	select {
	case b = <-e.free:
	case <-e.failed:
		return e.err
	case <-e.done:
		return errLinkStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	b = append(append(b[:0], hdr...), payload...)
	select {
	case e.queue <- linkFrame{b: b, handed: time.Now(), d: d}: // room unless stopped: two frames and a marker
		return nil
	case <-e.done:
		return errLinkStopped
	}
}

// flush waits until every frame handed over is written (or the link
// failed, stopped, or timeout passed).
func (e *linkEmu) flush(timeout time.Duration) {
	m := linkFrame{flushed: make(chan struct{})}
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case e.queue <- m:
	case <-e.failed:
		return
	case <-e.done:
		return
	case <-tm.C:
		return
	}
	select {
	case <-m.flushed:
	case <-e.failed:
	case <-e.done:
	case <-tm.C:
	}
}

// stop drops what is queued and waits for the goroutine.
func (e *linkEmu) stop() {
	e.once.Do(func() {
		close(e.done)
		e.timer.interrupt()
	})
	e.wg.Wait()
}

func stoppedTimer() *time.Timer {
	tm := time.NewTimer(time.Hour)
	tm.Stop()
	return tm
}

// waitTimer waits d on tm; false if done closed first.
func waitTimer(tm *time.Timer, d time.Duration, done <-chan struct{}) bool {
	tm.Reset(d)
	select {
	case <-tm.C:
		return true
	case <-done:
		tm.Stop()
		return false
	}
}

var errLinkStopped = errors.New("tcp: emulated link stopped")
