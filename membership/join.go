package membership

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Backoff between join attempts while no seed answers.
const (
	joinBackoffMin = 100 * time.Millisecond
	joinBackoffMax = 2 * time.Second
)

// Join enters the cluster through seeds ("host:port" gossip addresses of
// existing members, see Addr). It contacts every seed, and returns how many
// answered as soon as at least one did. While none answers it retries with
// backoff (100ms doubling to 2s) until ctx is done, then returns an error
// wrapping ErrJoinFailed, the context's error and the last attempt's error.
// A node with a different cluster secret is never answered.
//
// If ctx ends while an attempt is in flight, Join returns at once; the
// attempt finishes in the background (within Config.TCPTimeout) and may
// still take effect.
func (m *Membership) Join(ctx context.Context, seeds []string) (int, error) {
	if len(seeds) == 0 {
		return 0, fmt.Errorf("%w: no seeds given", ErrJoinFailed)
	}
	for i, s := range seeds {
		if strings.TrimSpace(s) == "" {
			return 0, fmt.Errorf("%w: seed %d is empty", ErrJoinFailed, i)
		}
	}
	seeds = slices.Clone(seeds)
	backoff := joinBackoffMin
	var lastErr error
	for attempt := 1; ; attempt++ {
		if err := m.usable(); err != nil {
			return 0, err
		}
		n, err := m.joinOnce(ctx, seeds)
		switch {
		case err == nil && n > 0:
			m.log.Info("membership: joined", "seeds_reached", n, "attempts", attempt)
			return n, nil
		case errors.Is(err, ErrClosed):
			return 0, err
		case err == nil:
			err = errors.New("no seed reached")
		}
		if lastErr == nil || ctx.Err() == nil { // keep the cause, not the cancellation
			lastErr = err
		}
		m.log.Debug("membership: join attempt failed", "attempt", attempt, "seeds", seeds, "err", err)

		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("%w: %d attempt(s) to reach %v, stopped: %w; last error: %w",
				ErrJoinFailed, attempt, seeds, ctx.Err(), lastErr)
		case <-m.done:
			t.Stop()
			return 0, ErrClosed
		}
		backoff = min(2*backoff, joinBackoffMax)
	}
}

// joinOnce runs one memberlist.Join in a tracked goroutine and waits for it,
// ctx or Close.
func (m *Membership) joinOnce(ctx context.Context, seeds []string) (int, error) {
	type result struct {
		n   int
		err error
	}
	res := make(chan result, 1)
	if !m.goTracked(func() {
		n, err := m.ml.Join(seeds)
		res <- result{n, err}
	}) {
		return 0, ErrClosed
	}
	select {
	case r := <-res:
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-m.done:
		return 0, ErrClosed
	}
}
