package tcp

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef-cluster-secret")

// logBuf collects a listener's log lines so tests can check refusal reasons.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testConfig(logs *logBuf) Config {
	cfg := DefaultConfig(secret)
	cfg.HandshakeTimeout = 500 * time.Millisecond
	cfg.IOTimeout = 5 * time.Second
	if logs == nil {
		logs = &logBuf{}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	return cfg
}

func listen(t testing.TB, cfg Config) *Listener {
	t.Helper()
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// pair connects rank 0 (on a) and rank 1 (on b) of a 2-rank generation.
func pair(t *testing.T, a, b *Listener, gen uint64) (*Transport, *Transport) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var t0, t1 *Transport
	var e0, e1 error
	var wg sync.WaitGroup
	wg.Go(func() {
		t0, e0 = a.Connect(ctx, Spec{Generation: gen, Rank: 0, Size: 2, Peers: map[int]string{1: b.Addr()}})
	})
	wg.Go(func() {
		t1, e1 = b.Connect(ctx, Spec{Generation: gen, Rank: 1, Size: 2, Peers: map[int]string{0: a.Addr()}})
	})
	wg.Wait()
	if e0 != nil || e1 != nil {
		t.Fatalf("connect: %v / %v", e0, e1)
	}
	t.Cleanup(func() { t0.Close(); t1.Close() })
	return t0, t1
}
