package tcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

func TestSendRecvRoundTrip(t *testing.T) {
	for _, checksum := range []bool{false, true} {
		t.Run(fmt.Sprintf("payload checksum %v", checksum), func(t *testing.T) { roundTrip(t, checksum) })
	}
}

func roundTrip(t *testing.T, checksum bool) {
	a, b := listen(t, testConfig(nil)), listen(t, testConfig(nil))
	ts := connectVia(t, a, b, 7, a.Addr(), [2]bool{checksum, checksum})
	t0, t1 := ts[0], ts[1]
	ctx := context.Background()
	for _, n := range []int{0, 1, 3, 100_000} {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(i) * 0.5
		}
		tag := allreduce.Tag{Op: allreduce.OpAllGather, Seq: 1, Step: 2, Chunk: uint32(n)}
		errc := make(chan error, 1)
		go func() { errc <- t0.Send(ctx, 1, tag, out) }()
		in := make([]float32, n)
		if err := t1.Recv(ctx, 0, tag, in); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		for i := range in {
			if in[i] != out[i] {
				t.Fatalf("n=%d [%d]: %v != %v", n, i, in[i], out[i])
			}
		}
	}
}

func TestRecvRejectsWrongTagAndLength(t *testing.T) {
	for _, tc := range []struct {
		name string
		want allreduce.Tag
		n    int
	}{
		{"tag", allreduce.Tag{Op: allreduce.OpBarrier, Seq: 1}, 4},
		{"length", allreduce.Tag{Op: allreduce.OpAllGather, Seq: 1}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := listen(t, testConfig(nil)), listen(t, testConfig(nil))
			t0, t1 := pair(t, a, b, 1)
			go t0.Send(context.Background(), 1, allreduce.Tag{Op: allreduce.OpAllGather, Seq: 1}, make([]float32, 4))
			err := t1.Recv(context.Background(), 0, tc.want, make([]float32, tc.n))
			if !errors.Is(err, allreduce.ErrProtocol) {
				t.Fatalf("want ErrProtocol, got %v", err)
			}
		})
	}
}

func TestPeerDeathFailsRecvAndSend(t *testing.T) {
	a, b := listen(t, testConfig(nil)), listen(t, testConfig(nil))
	t0, t1 := pair(t, a, b, 1)
	res := make(chan error, 1)
	go func() { res <- t0.Recv(context.Background(), 1, allreduce.Tag{}, make([]float32, 1)) }()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	t1.Abort()
	select {
	case err := <-res:
		if !errors.Is(err, allreduce.ErrPeerLost) {
			t.Fatalf("want ErrPeerLost, got %v", err)
		}
		t.Logf("recv failed %v after the peer dropped", time.Since(start))
	case <-time.After(time.Second):
		t.Fatal("recv did not fail within 1 s of the peer dropping")
	}
	// Writes to a dead peer fail too (the first may land in the socket buffer).
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = t0.Send(context.Background(), 1, allreduce.Tag{}, make([]float32, 1<<16))
	}
	if !errors.Is(err, allreduce.ErrPeerLost) {
		t.Fatalf("send to dead peer: %v", err)
	}
}

func TestIOTimeout(t *testing.T) {
	cfg := testConfig(nil)
	cfg.IOTimeout = 100 * time.Millisecond
	a, b := listen(t, cfg), listen(t, cfg)
	t0, _ := pair(t, a, b, 1)
	err := t0.Recv(context.Background(), 1, allreduce.Tag{}, make([]float32, 1))
	if !errors.Is(err, allreduce.ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
}

func TestContextCancelAbortsInFlight(t *testing.T) {
	a, b := listen(t, testConfig(nil)), listen(t, testConfig(nil))
	t0, _ := pair(t, a, b, 1)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- t0.Recv(ctx, 1, allreduce.Tag{}, make([]float32, 1)) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("want context.Canceled, got %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("cancel did not unblock Recv")
	}
	// A context cancelled while nothing is in flight does not abort.
	_, t1b := pair(t, listen(t, testConfig(nil)), listen(t, testConfig(nil)), 2)
	ctx2, cancel2 := context.WithCancel(context.Background())
	t1b.enter(ctx2) // registers the watch
	t1b.leave(t1b.watches[0])
	cancel2()
	time.Sleep(20 * time.Millisecond)
	if t1b.aborted.Load() {
		t.Fatal("an idle transport was aborted by a cancelled context")
	}
}

func TestWrongSecretRefused(t *testing.T) {
	logs := &logBuf{}
	good := listen(t, testConfig(logs))
	badCfg := testConfig(nil)
	badCfg.Secret = []byte("another-secret-of-enough-length")
	bad := listen(t, badCfg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	go good.Connect(ctx, Spec{Generation: 1, Rank: 0, Size: 2, Peers: map[int]string{1: bad.Addr()}})
	_, err := bad.Connect(ctx, Spec{Generation: 1, Rank: 1, Size: 2, Peers: map[int]string{0: good.Addr()}})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("want ErrAuth, got %v", err)
	}
	testutil.Eventually(t, 3*time.Second, "refusal logged", func() bool { return strings.Contains(logs.String(), "authentication failed") })
}

func TestStaleGenerationRefused(t *testing.T) {
	logs := &logBuf{}
	a, b := listen(t, testConfig(logs)), listen(t, testConfig(nil))
	pair(t, a, b, 5) // a is now at generation 5
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := b.Connect(ctx, Spec{Generation: 5, Rank: 1, Size: 2, Peers: map[int]string{0: a.Addr()}})
	if err == nil || !strings.Contains(err.Error(), "already connected") {
		t.Fatalf("reconnecting generation 5 on b: %v", err)
	}
	c := listen(t, testConfig(nil))
	_, err = c.Connect(ctx, Spec{Generation: 4, Rank: 1, Size: 2, Peers: map[int]string{0: a.Addr()}})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "stale generation 4") {
		t.Fatalf("want stale-generation refusal, got %v", err)
	}
	testutil.Eventually(t, 3*time.Second, "refusal logged", func() bool { return strings.Contains(logs.String(), "stale generation 4") })
}

func TestUnexpectedAndDuplicateRanksRefused(t *testing.T) {
	a, b := listen(t, testConfig(nil)), listen(t, testConfig(nil))
	t0, t1 := pair(t, a, b, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// A second "rank 1" for generation 1 is a duplicate.
	c := listen(t, testConfig(nil))
	_, err := c.Connect(ctx, Spec{Generation: 1, Rank: 1, Size: 2, Peers: map[int]string{0: a.Addr()}})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("want duplicate refusal, got %v", err)
	}
	// Wrong world size.
	d := listen(t, testConfig(nil))
	_, err = d.Connect(ctx, Spec{Generation: 1, Rank: 2, Size: 3, Peers: map[int]string{0: a.Addr()}})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "world size") {
		t.Fatalf("want world-size refusal, got %v", err)
	}
	// The established link is undisturbed.
	go t0.Send(context.Background(), 1, allreduce.Tag{Seq: 9}, []float32{42})
	buf := make([]float32, 1)
	if err := t1.Recv(context.Background(), 0, allreduce.Tag{Seq: 9}, buf); err != nil || buf[0] != 42 {
		t.Fatalf("established link disturbed: %v %v", err, buf)
	}
}

// Garbage, silence and half-open connections never disturb a running link
// and never hang the listener.
func TestGarbageConnectionsRefused(t *testing.T) {
	logs := &logBuf{}
	a, b := listen(t, testConfig(logs)), listen(t, testConfig(nil))
	t0, t1 := pair(t, a, b, 1)
	inputs := [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + strings.Repeat("A", 64)),
		make([]byte, helloSize),
		{},
	}
	for _, in := range inputs {
		c, err := net.Dial("tcp", a.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(in)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 256)
		for {
			if _, err := c.Read(buf); err != nil {
				break // the listener closed it
			}
		}
		c.Close()
	}
	testutil.Eventually(t, 3*time.Second, "bad magic logged", func() bool { return strings.Contains(logs.String(), "bad magic") })
	go t0.Send(context.Background(), 1, allreduce.Tag{Seq: 3}, []float32{1, 2})
	buf := make([]float32, 2)
	if err := t1.Recv(context.Background(), 0, allreduce.Tag{Seq: 3}, buf); err != nil {
		t.Fatal(err)
	}
}

// A peer that connects before this node registers its generation is held
// until Connect runs.
func TestEarlyPeerIsHeld(t *testing.T) {
	cfg := testConfig(nil)
	cfg.HandshakeTimeout = 2 * time.Second
	a, b := listen(t, cfg), listen(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := make(chan error, 1)
	var t1 *Transport
	go func() {
		var err error
		t1, err = b.Connect(ctx, Spec{Generation: 3, Rank: 1, Size: 2, Peers: map[int]string{0: a.Addr()}})
		res <- err
	}()
	time.Sleep(300 * time.Millisecond)
	t0, err := a.Connect(ctx, Spec{Generation: 3, Rank: 0, Size: 2, Peers: map[int]string{1: b.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer t0.Close()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	t1.Close()
}

func TestConnectTimesOutNamingMissingPeers(t *testing.T) {
	a := listen(t, testConfig(nil))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := a.Connect(ctx, Spec{Generation: 1, Rank: 0, Size: 3, Peers: map[int]string{1: "127.0.0.1:1", 2: "127.0.0.1:1"}})
	if err == nil || !strings.Contains(err.Error(), "[1 2]") {
		t.Fatalf("want error naming ranks [1 2], got %v", err)
	}
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"short secret", func(c *Config) { c.Secret = []byte("short") }, "secret"},
		{"zero handshake", func(c *Config) { c.HandshakeTimeout = 0 }, "HandshakeTimeout"},
		{"tiny frame", func(c *Config) { c.MaxFrameBytes = 10 }, "MaxFrameBytes"},
		{"negative io", func(c *Config) { c.IOTimeout = -1 }, "IOTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig(secret)
			tc.mod(&cfg)
			_, err := Listen("127.0.0.1:0", cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error about %s, got %v", tc.want, err)
			}
		})
	}
}

func TestLinkEmulation(t *testing.T) {
	cfg := testConfig(nil)
	a, b := listen(t, cfg), listen(t, cfg)
	ctx := context.Background()
	link := Link{Bandwidth: 10e6, Latency: 20 * time.Millisecond} // 10 MB/s, 20 ms
	var t0, t1 *Transport
	done := make(chan error, 1)
	go func() {
		var err error
		t1, err = b.Connect(ctx, Spec{Generation: 9, Rank: 1, Size: 2, Peers: map[int]string{0: a.Addr()}, Link: link})
		done <- err
	}()
	t0, err := a.Connect(ctx, Spec{Generation: 9, Rank: 0, Size: 2, Peers: map[int]string{1: b.Addr()}})
	if err != nil || <-done != nil {
		t.Fatal(err)
	}
	defer t0.Close()
	defer t1.Close()
	data := make([]float32, 250_000) // 1 MB: 100 ms at 10 MB/s, + 20 ms
	start := time.Now()
	go t1.Send(ctx, 0, allreduce.Tag{Seq: 1}, data)
	if err := t0.Recv(ctx, 1, allreduce.Tag{Seq: 1}, make([]float32, len(data))); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 120*time.Millisecond {
		t.Fatalf("a 1 MB frame over an emulated 10 MB/s + 20 ms link took %v", d)
	}
	if d := (Link{}).delay(1 << 20); d != 0 {
		t.Fatalf("no link: delay %v", d)
	}
}

// One host holding idle connections gets only its share of the handshake
// slots: a peer on another address still connects.
func TestIdleHostCannotTakeEveryHandshakeSlot(t *testing.T) {
	logs := &logBuf{}
	cfg := testConfig(logs)
	cfg.HandshakeTimeout = 3 * time.Second
	cfg.MaxHandshakes, cfg.MaxHandshakesPerHost = 6, 4
	a := listen(t, cfg)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	var idle []net.Conn
	for range 6 {
		c, err := d.Dial("tcp", a.Addr())
		if err != nil {
			t.Skipf("cannot dial from 127.0.0.2: %v", err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	testutil.Eventually(t, 3*time.Second, "the extra connections from 127.0.0.2 refused", func() bool {
		return strings.Contains(logs.String(), "too many handshakes in progress from this host")
	})
	b := listen(t, testConfig(nil))
	t0, t1 := pair(t, a, b, 1) // b dials a from 127.0.0.1
	go t1.Send(context.Background(), 0, allreduce.Tag{Seq: 1}, []float32{5})
	buf := make([]float32, 1)
	if err := t0.Recv(context.Background(), 1, allreduce.Tag{Seq: 1}, buf); err != nil || buf[0] != 5 {
		t.Fatalf("recv %v %v", buf, err)
	}
}

// Peers with the same secret but another session key (a node that did not
// join through the coordinator) cannot link; the same key links; an empty
// key restores the secret's own.
func TestSessionKeyMustMatch(t *testing.T) {
	a, b := listen(t, testConfig(nil)), listen(t, testConfig(nil))
	a.SetSessionKey([]byte("session-key-of-the-run-0123456789"))
	b.SetSessionKey([]byte("session-key-of-another-0123456789"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Connect(ctx, Spec{Generation: 1, Rank: 0, Size: 2, Peers: map[int]string{1: b.Addr()}})
	}()
	_, err := b.Connect(ctx, Spec{Generation: 1, Rank: 1, Size: 2, Peers: map[int]string{0: a.Addr()}})
	cancel()
	<-done
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("another session key: %v, want ErrAuth", err)
	}
	b.SetSessionKey([]byte("session-key-of-the-run-0123456789"))
	pair(t, a, b, 2)
	a.SetSessionKey(nil)
	b.SetSessionKey(nil)
	pair(t, a, b, 3)
}

// The emulated link sends frames back to back: a frame handed to a busy
// link leaves its time after the previous one's; the host's time writing
// the previous frame counts as spent (it overlaps that frame's sending on a
// real link), so a frame handed over right after that write leaves one
// frame time after the previous departure; after an idle link it takes its
// full time.

// A peer that installs the run's key moments after being dialed (a worker
// rejoining a restarted coordinator) is still linked: an authentication
// failure is retried for authGrace before it is final.
func TestSessionKeyInstalledWhileDialed(t *testing.T) {
	a, b := listen(t, testConfig(nil)), listen(t, testConfig(nil))
	a.SetSessionKey([]byte("session-key-of-the-old-run-012345"))
	b.SetSessionKey([]byte("session-key-of-the-new-run-012345"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type result struct {
		tr  *Transport
		err error
	}
	done := make(chan result, 1)
	go func() {
		tr, err := a.Connect(ctx, Spec{Generation: 1, Rank: 0, Size: 2, Peers: map[int]string{1: b.Addr()}})
		done <- result{tr, err}
	}()
	go func() {
		time.Sleep(200 * time.Millisecond) // within authGrace
		a.SetSessionKey([]byte("session-key-of-the-new-run-012345"))
	}()
	tb, err := b.Connect(ctx, Spec{Generation: 1, Rank: 1, Size: 2, Peers: map[int]string{0: a.Addr()}})
	if err != nil {
		t.Fatalf("dialer: %v", err)
	}
	defer tb.Close()
	ra := <-done
	if ra.err != nil {
		t.Fatalf("acceptor: %v", ra.err)
	}
	defer ra.tr.Close()
	go tb.Send(ctx, 0, allreduce.Tag{Seq: 1}, []float32{7})
	buf := make([]float32, 1)
	if err := ra.tr.Recv(ctx, 1, allreduce.Tag{Seq: 1}, buf); err != nil || buf[0] != 7 {
		t.Fatalf("recv %v %v", buf, err)
	}
}
