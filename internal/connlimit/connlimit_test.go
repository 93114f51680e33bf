package connlimit

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

func TestLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		lim  Limits
		want string // "" valid, else a part of the error
	}{
		{Limits{Total: 4, PerHost: 2}, ""},
		{Limits{Total: 1, PerHost: 1}, ""},
		{Limits{Total: 0, PerHost: 1}, "Total must be at least 1, got 0"},
		{Limits{Total: 4, PerHost: 0}, "PerHost must be at least 1, got 0"},
		{Limits{Total: 4, PerHost: -1}, "PerHost must be at least 1, got -1"},
		{Limits{Total: 2, PerHost: 3}, "PerHost (3) must not exceed Total (2)"},
	} {
		err := tc.lim.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.lim, err, tc.want)
		}
	}
	if _, err := NewGate("metrics", Limits{}, nil); err == nil || !strings.HasPrefix(err.Error(), "metrics: ") {
		t.Errorf("NewGate with zero limits: %v, want an error naming the endpoint", err)
	}
}

// server is a real TCP listener behind a Gate that holds every connection
// it admits until the test ends.
type server struct {
	ln       *Listener
	admitted chan net.Conn
	wg       sync.WaitGroup
}

func serve(t *testing.T, lim Limits, log *slog.Logger) *server {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGate("test", lim, log)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: Wrap(inner, g), admitted: make(chan net.Conn, 64)}
	s.wg.Go(func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.admitted <- c
		}
	})
	t.Cleanup(func() {
		s.ln.Close()
		s.wg.Wait()
		close(s.admitted)
		for c := range s.admitted {
			c.Close()
		}
	})
	return s
}

// dial connects from the local IP from and says what the server did with
// the connection: "held" (Accept returned it) or "refused" (closed at
// once). The server's side of a held connection is returned.
func (s *server) dial(t *testing.T, from string) (client, held net.Conn, outcome string) {
	t.Helper()
	c := testutil.DialFrom(t, from, s.ln.Addr().String())
	t.Cleanup(func() { c.Close() })
	closed := make(chan struct{})
	go func() {
		if testutil.ClosedWithin(c, 10*time.Second) {
			close(closed)
		}
	}()
	select {
	case sc := <-s.admitted:
		c.SetReadDeadline(time.Now()) // ends the reader above
		if got := sc.RemoteAddr().String(); got != c.LocalAddr().String() {
			t.Fatalf("accepted %s while %s was dialing", got, c.LocalAddr())
		}
		return c, sc, "held"
	case <-closed:
		return c, nil, "refused"
	case <-time.After(10 * time.Second):
		t.Fatalf("connection from %s neither accepted nor closed", from)
	}
	return nil, nil, ""
}

// Connections over the bound of their host, or over the total, are closed
// as they arrive while the others are held; closing a held one makes room
// for its host again.
func TestGateBoundsConnectionsInAllAndPerHost(t *testing.T) {
	var logs bytes.Buffer
	s := serve(t, Limits{Total: 4, PerHost: 2}, slog.New(slog.NewTextHandler(&logs, nil)))
	var heldFrom2 []net.Conn
	for i, step := range []struct{ from, want string }{
		{"127.0.0.2", "held"},
		{"127.0.0.2", "held"},
		{"127.0.0.2", "refused"}, // its host holds 2
		{"127.0.0.2", "refused"},
		{"127.0.0.1", "held"}, // another host still gets in
		{"127.0.0.1", "held"},
		{"127.0.0.3", "refused"}, // 4 in all
	} {
		_, sc, got := s.dial(t, step.from)
		if got != step.want {
			t.Fatalf("connection %d from %s: %s, want %s", i, step.from, got, step.want)
		}
		if sc != nil && step.from == "127.0.0.2" {
			heldFrom2 = append(heldFrom2, sc)
		}
	}
	if total, from2 := s.ln.Gate().Held("127.0.0.2"); total != 4 || from2 != 2 {
		t.Fatalf("Held = %d in all, %d from 127.0.0.2; want 4 and 2", total, from2)
	}
	heldFrom2[0].Close()
	heldFrom2[0].Close() // a second Close frees nothing more
	if total, from2 := s.ln.Gate().Held("127.0.0.2"); total != 3 || from2 != 1 {
		t.Fatalf("after a close: Held = %d in all, %d from 127.0.0.2; want 3 and 1", total, from2)
	}
	if _, _, got := s.dial(t, "127.0.0.2"); got != "held" {
		t.Fatalf("after a close, a connection from 127.0.0.2: %s, want held", got)
	}
	for _, want := range []string{"test connection refused: too many connections from this host", "test connection refused: too many connections ", "remote=127.0.0.2:", "remote=127.0.0.3:"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

func TestRefusalLogIsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	r := NewRefusalLog(slog.New(slog.NewTextHandler(&buf, nil)), 3)
	clock := time.Unix(1000, 0)
	r.now = func() time.Time { return clock }
	for range 10 {
		r.Warn("refused", "remote", "x")
	}
	if got := strings.Count(buf.String(), "refused"); got != 3 {
		t.Fatalf("%d lines in the first second, want 3:\n%s", got, buf.String())
	}
	clock = clock.Add(time.Second)
	buf.Reset()
	r.Warn("refused", "remote", "y")
	if !strings.Contains(buf.String(), "suppressed_since_last=7") {
		t.Fatalf("the next line must count the 7 dropped: %s", buf.String())
	}
}
