package membership

import (
	"testing"
	"time"
)

func TestEventQueueNeverBlocksAndKeepsOrder(t *testing.T) {
	q := newEventQueue()
	const n = 10000
	pushed := make(chan struct{})
	go func() { // nobody reads yet: push must not block
		defer close(pushed)
		for i := range n {
			q.push(Event{Kind: EventJoin, Node: Node{Name: "n"}, At: time.Unix(int64(i), 0)})
		}
	}()
	select {
	case <-pushed:
	case <-time.After(10 * time.Second):
		t.Fatal("push blocked without a reader")
	}
	if q.len() != n {
		t.Fatalf("len = %d, want %d", q.len(), n)
	}

	out := make(chan Event)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() { defer close(stopped); q.run(out, done) }()
	for i := range n {
		e := <-out
		if e.At.Unix() != int64(i) {
			t.Fatalf("event %d has At %d: out of order", i, e.At.Unix())
		}
	}
	q.push(Event{Kind: EventFail}) // delivered after the queue ran dry
	if e := <-out; e.Kind != EventFail {
		t.Fatalf("got %v", e.Kind)
	}
	q.push(Event{Kind: EventLeave}) // left undelivered: run must still stop
	time.Sleep(10 * time.Millisecond)
	close(done)
	<-stopped
	q.close()
	q.push(Event{Kind: EventJoin})
	if q.len() != 0 {
		t.Errorf("push after close queued an event")
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{
		EventJoin: "join", EventLeave: "leave", EventFail: "fail", EventUpdate: "update", 0: "EventKind(0)", 9: "EventKind(9)",
	} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}
