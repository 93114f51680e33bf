package membership

import "sync"

// eventQueue is an unbounded FIFO between memberlist's callbacks (which
// must never block) and the Events channel (whose reader may be slow). push
// never blocks; run, the pump goroutine, moves events into out in order.
type eventQueue struct {
	signal chan struct{} // capacity 1: "the queue may be non-empty"
	mu     struct {
		sync.Mutex
		items  []Event
		closed bool
	}
}

func newEventQueue() *eventQueue {
	return &eventQueue{signal: make(chan struct{}, 1)}
}

// push appends e; after close it drops e.
func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	if q.mu.closed {
		q.mu.Unlock()
		return
	}
	q.mu.items = append(q.mu.items, e)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pop removes and returns the oldest event, if any.
func (q *eventQueue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.mu.items) == 0 {
		return Event{}, false
	}
	e := q.mu.items[0]
	q.mu.items[0] = Event{}
	q.mu.items = q.mu.items[1:]
	if len(q.mu.items) == 0 {
		q.mu.items = nil // let the backing array go
	}
	return e, true
}

// len returns the number of queued events.
func (q *eventQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.mu.items)
}

// close drops queued events and makes push a no-op.
func (q *eventQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.mu.closed = true
	q.mu.items = nil
}

// run delivers queued events to out until done is closed. It does not close
// out (the owner does, after run returned).
func (q *eventQueue) run(out chan<- Event, done <-chan struct{}) {
	for {
		e, ok := q.pop()
		if !ok {
			select {
			case <-q.signal:
				continue
			case <-done:
				return
			}
		}
		select {
		case out <- e:
		case <-done:
			return
		}
	}
}
