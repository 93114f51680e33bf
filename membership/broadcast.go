package membership

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// UpdateMeta replaces this node's metadata and gossips it; the others
// report EventUpdate. It returns once the change has been gossiped (or at
// once when this node is alone), when ctx ends, or after
// Config.BroadcastTimeout. The new metadata is in effect locally (Local,
// Members) as soon as UpdateMeta is called, and keeps spreading even if it
// returns an error. Errors: Meta.Validate's, ErrClosed, ErrLeft, a context
// error, or memberlist's broadcast timeout.
func (m *Membership) UpdateMeta(ctx context.Context, meta Meta) error {
	if err := meta.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("membership: update meta: %w", err)
	}
	m.mu.Lock()
	err := m.usableLocked()
	if err == nil {
		err = m.meta.set(meta, false)
	}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	return m.broadcast(ctx, "update meta", func(timeout time.Duration) error {
		return m.ml.UpdateNode(timeout)
	})
}

// Leave leaves the cluster gracefully: the others report EventLeave (not
// EventFail) for this node. It first gossips the metadata flag that marks
// the leave as graceful, then memberlist's leave message, and returns when
// both went out (at once when this node is alone), when ctx ends, or after
// Config.BroadcastTimeout. The node keeps answering gossip until Close,
// which should follow. A node that left cannot Join or UpdateMeta again
// (ErrLeft). A second Leave returns nil; Leave after Close returns ErrClosed.
func (m *Membership) Leave(ctx context.Context) error {
	m.mu.Lock()
	if m.mu.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if m.mu.left {
		m.mu.Unlock()
		return nil
	}
	m.mu.left = true
	meta, _ := m.meta.get()
	err := m.meta.set(meta, true)
	m.mu.Unlock()
	if err != nil {
		return err
	}
	m.log.Info("membership: leaving")
	return m.broadcast(ctx, "leave", func(timeout time.Duration) error {
		deadline := time.Now().Add(timeout)
		errUpdate := m.ml.UpdateNode(timeout)
		// Send the leave message even if the flag's broadcast timed out:
		// leaving matters more than how the others label it.
		errLeave := m.ml.Leave(max(time.Until(deadline), minBroadcastTimeout))
		return errors.Join(errUpdate, errLeave)
	})
}

// minBroadcastTimeout keeps memberlist timeouts positive (0 means "wait
// forever" to memberlist).
const minBroadcastTimeout = 10 * time.Millisecond

// broadcast runs f (a memberlist call that waits for a broadcast, given a
// timeout) in a tracked goroutine that Shutdown cannot race, and waits for
// it, ctx or Close. The timeout is Config.BroadcastTimeout or ctx's
// deadline, whichever is sooner.
func (m *Membership) broadcast(ctx context.Context, what string, f func(timeout time.Duration) error) error {
	timeout := m.cfg.BroadcastTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return fmt.Errorf("membership: %s: %w", what, context.DeadlineExceeded)
	}
	timeout = max(timeout, minBroadcastTimeout)
	res := make(chan error, 1)
	if !m.goTracked(func() {
		m.opMu.RLock()
		defer m.opMu.RUnlock()
		if m.shut {
			res <- ErrClosed
			return
		}
		res <- f(timeout)
	}) {
		return ErrClosed
	}
	select {
	case err := <-res:
		if err != nil {
			return fmt.Errorf("membership: %s: %w", what, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("membership: %s: %w", what, ctx.Err())
	case <-m.done:
		return ErrClosed
	}
}
