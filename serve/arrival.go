package serve

// arrival is one handler's mark in the batcher's receiving count, from
// arrive (before reading the request body) to leave (after submitting it,
// or failing before).
type arrival struct {
	b    *batcher
	left bool
}

// arrive counts a handler that is about to read a request body: the
// batcher waits for its request (at most maxDelay) until it leaves.
func (b *batcher) arrive() arrival {
	b.receiving.Add(1)
	return arrival{b: b}
}

// leave uncounts the handler (idempotent). Call it after submit, so that
// a batcher that sees the count drop finds the request queued.
func (a *arrival) leave() {
	if a.left {
		return
	}
	a.left = true
	if a.b.receiving.Add(-1) == 0 {
		select {
		case a.b.left <- struct{}{}:
		default:
		}
	}
}
