package membership

import (
	"context"
	"errors"
	"testing"
	"time"
)

// UpdateMeta reaches the other nodes as EventUpdate and shows in Members.
func TestUpdateMetaPropagates(t *testing.T) {
	a := startNode(t, testConfig("a", RoleCoordinator))
	b := startNode(t, testConfig("b", RoleWorker))
	joinNode(t, b, a)
	waitEvent(t, a, EventJoin, "b", 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next := b.Local().Meta
	next.DataAddr = "127.0.0.1:49999"
	next.Version = "v2"
	start := time.Now()
	if err := b.UpdateMeta(ctx, next); err != nil {
		t.Fatalf("UpdateMeta: %v", err)
	}
	if got := b.Local().Meta; got != next {
		t.Errorf("b.Local().Meta = %+v, want %+v", got, next)
	}
	ev := waitEvent(t, a, EventUpdate, "b", 10*time.Second)
	t.Logf("update seen after %v", ev.At.Sub(start).Round(time.Millisecond))
	if ev.Node.Meta != next {
		t.Errorf("update event meta %+v, want %+v", ev.Node.Meta, next)
	}
	if got := a.Members()[1].Meta; got != next {
		t.Errorf("a sees b's meta %+v, want %+v", got, next)
	}

	bad := next
	bad.Role = "janitor"
	if err := b.UpdateMeta(ctx, bad); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("UpdateMeta(bad role) = %v, want ErrInvalidConfig", err)
	}
	if got := b.Local().Meta; got != next {
		t.Errorf("a rejected update changed the meta to %+v", got)
	}
}
