package membership

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// A node with another cluster secret, or with the cluster's secret but
// another run key (the secret alone, without the key the coordinator hands
// to the workers it admits), cannot join, and the cluster never lists it.
func TestWrongSecretCannotJoin(t *testing.T) {
	a := startNode(t, testConfig("a", RoleCoordinator))
	b := startNode(t, testConfig("b", RoleWorker))
	joinNode(t, b, a)

	for _, tc := range []struct {
		name           string
		secret, runKey []byte
	}{
		{"another secret", []byte("some other cluster's secret!!"), testRunKey},
		{"the secret, another run key", testSecret, []byte("the run key of another run!!")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			intruderCfg := testConfig("intruder", RoleWorker)
			intruderCfg.Secret, intruderCfg.RunKey = tc.secret, tc.runKey
			intruder := startNode(t, intruderCfg)

			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			n, err := intruder.Join(ctx, []string{a.Addr(), b.Addr()})
			if err == nil || n != 0 {
				t.Fatalf("intruder.Join = %d, %v; want 0 and an error", n, err)
			}
			if !errors.Is(err, ErrJoinFailed) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("intruder.Join error %v: want ErrJoinFailed and DeadlineExceeded", err)
			}
			t.Logf("intruder.Join: %v", err)

			// Nor can it be pulled in by a member dialing it.
			ctx2, cancel2 := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel2()
			if _, err := b.Join(ctx2, []string{intruder.Addr()}); !errors.Is(err, ErrJoinFailed) {
				t.Errorf("b.Join(intruder) = %v, want ErrJoinFailed", err)
			}

			noEvent(t, a, EventJoin, "intruder", time.Second)
			for _, m := range []*Membership{a, b} {
				if got := memberNames(m); !slices.Equal(got, []string{"a", "b"}) {
					t.Errorf("%s lists %v", m.Local().Name, got)
				}
			}
			if got := memberNames(intruder); !slices.Equal(got, []string{"intruder"}) {
				t.Errorf("intruder lists %v", got)
			}
		})
	}
}
