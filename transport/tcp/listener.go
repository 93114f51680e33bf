package tcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringtrain/ringtrain/internal/connlimit"
)

// Listener is a process's data-plane endpoint. It lives across generations:
// Connect builds one Transport per generation from it.
type Listener struct {
	cfg  Config
	base []byte                 // the handshake key derived from the secret
	key  atomic.Pointer[[]byte] // the handshake key in use (base, or a session's)
	log  *slog.Logger
	// refusals logs refused connections, rate-limited.
	refusals *connlimit.RefusalLog
	ln       net.Listener
	sem      chan struct{}

	mu struct {
		sync.Mutex
		minGen  uint64                   // generations below are refused as stale
		regs    map[uint64]*registration // by generation
		changed chan struct{}            // closed and replaced on every change
		conns   map[net.Conn]struct{}    // connections in handshake
		perHost map[string]int           // handshakes in progress by remote IP
	}
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// registration is one Connect waiting for (and then owning) its inbound
// links.
type registration struct {
	gen        uint64
	rank, size int
	expect     map[int]bool // ranks that dial us
	got        map[int]bool
	conns      chan accepted
}

type accepted struct {
	rank int
	conn net.Conn
}

// Listen opens the data port on addr ("127.0.0.1:0" picks a free port).
func Listen(addr string, cfg Config) (*Listener, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !littleEndian() {
		return nil, errors.New("tcp: ringtrain's wire format needs a little-endian CPU")
	}
	key, err := dataKey(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("tcp: derive key: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: listen on %s: %w", addr, err)
	}
	l := &Listener{
		cfg: cfg, base: key, log: cfg.logger().With("component", "data-plane", "addr", ln.Addr().String()),
		ln: ln, sem: make(chan struct{}, cfg.MaxHandshakes), closed: make(chan struct{}),
	}
	l.key.Store(&key)
	l.refusals = connlimit.NewRefusalLog(l.log, 10)
	l.mu.regs = make(map[uint64]*registration)
	l.mu.changed = make(chan struct{})
	l.mu.conns = make(map[net.Conn]struct{})
	l.mu.perHost = make(map[string]int)
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// SetSessionKey mixes a key handed out by the coordinator into every later
// handshake (in both directions): only peers that hold the cluster secret
// and the same session key link up. Workers set the key they receive when
// they join, so a node that cannot join (another CA) cannot reach the data
// plane even with the secret. An empty key restores the secret's own key.
func (l *Listener) SetSessionKey(session []byte) error {
	if len(session) == 0 {
		l.key.Store(&l.base)
		return nil
	}
	k, err := sessionKey(l.base, session)
	if err != nil {
		return fmt.Errorf("tcp: session key: %w", err)
	}
	l.key.Store(&k)
	return nil
}

// Addr is the address peers dial.
func (l *Listener) Addr() string { return l.ln.Addr().String() }

// Close stops accepting, ends handshakes in progress and waits for the
// Listener's goroutines. Transports already connected keep working until
// closed themselves.
func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closed)
		err = l.ln.Close()
		l.mu.Lock()
		for c := range l.mu.conns {
			c.Close()
		}
		l.mu.Unlock()
		l.wg.Wait()
	})
	return err
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.log.Warn("accept failed", "err", err)
			select {
			case <-time.After(50 * time.Millisecond):
			case <-l.closed:
				return
			}
			continue
		}
		select {
		case l.sem <- struct{}{}:
		default:
			l.refusals.Warn("data-plane connection refused: too many handshakes in progress", "remote", c.RemoteAddr().String(), "limit", l.cfg.MaxHandshakes)
			c.Close()
			continue
		}
		host := remoteHost(c)
		if !l.admitHost(host) {
			<-l.sem
			l.refusals.Warn("data-plane connection refused: too many handshakes in progress from this host", "remote", c.RemoteAddr().String(), "limit", l.cfg.MaxHandshakesPerHost)
			c.Close()
			continue
		}
		if !l.track(c) {
			l.releaseHost(host)
			<-l.sem
			c.Close()
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer func() { <-l.sem }()
			defer l.releaseHost(host)
			l.serve(c)
		}()
	}
}

func remoteHost(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}

// admitHost counts a handshake from host unless it has its share already.
func (l *Listener) admitHost(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.perHost[host] >= l.cfg.MaxHandshakesPerHost {
		return false
	}
	l.mu.perHost[host]++
	return true
}

func (l *Listener) releaseHost(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.perHost[host]--; l.mu.perHost[host] <= 0 {
		delete(l.mu.perHost, host)
	}
}

func (l *Listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
		return false
	default:
	}
	l.mu.conns[c] = struct{}{}
	return true
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.mu.conns, c)
	l.mu.Unlock()
}

// serve runs one incoming handshake and hands an accepted link to its
// registration.
func (l *Listener) serve(c net.Conn) {
	remote := c.RemoteAddr().String()
	handedOver := false
	defer func() {
		l.untrack(c)
		if !handedOver {
			c.Close()
		}
	}()
	c.SetDeadline(time.Now().Add(l.cfg.HandshakeTimeout))
	sc, err := serverHandshake(c, *l.key.Load())
	if err != nil {
		l.refusals.Warn("data-plane connection refused", "remote", remote, "reason", err.Error())
		return
	}
	h := sc.hello
	reg, code, reason := l.claim(h)
	if code != codeOK {
		l.refusals.Warn("data-plane connection refused", "remote", remote, "rank", h.Rank, "generation", h.Gen, "reason", reason)
		c.SetDeadline(time.Now().Add(l.cfg.HandshakeTimeout))
		_ = sc.finish(code, reason)
		return
	}
	c.SetDeadline(time.Now().Add(l.cfg.HandshakeTimeout))
	if err := sc.finish(codeOK, ""); err != nil {
		l.log.Warn("data-plane handshake failed", "remote", remote, "rank", h.Rank, "err", err)
		return
	}
	c.SetDeadline(time.Time{})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.regs[reg.gen] != reg { // Connect gave up meanwhile
		return
	}
	handedOver = true
	reg.conns <- accepted{rank: int(h.Rank), conn: c} // buffered for every expected rank
}

// claim decides on an authenticated hello, waiting up to HandshakeTimeout
// for its generation to be registered here (a peer may reach Connect first).
func (l *Listener) claim(h hello) (*registration, byte, string) {
	deadline := time.NewTimer(l.cfg.HandshakeTimeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		if h.Gen < l.mu.minGen {
			l.mu.Unlock()
			return nil, codeStale, fmt.Sprintf("stale generation %d: this node is at generation %d", h.Gen, l.mu.minGen)
		}
		if reg := l.mu.regs[h.Gen]; reg != nil {
			defer l.mu.Unlock()
			switch rank := int(h.Rank); {
			case int(h.Peer) != reg.rank:
				return nil, codeRefused, fmt.Sprintf("dialled rank %d, but this node is rank %d in generation %d", h.Peer, reg.rank, h.Gen)
			case int(h.Size) != reg.size:
				return nil, codeRefused, fmt.Sprintf("world size %d, but generation %d has world size %d here", h.Size, h.Gen, reg.size)
			case !reg.expect[rank]:
				return nil, codeRefused, fmt.Sprintf("rank %d is not a peer that dials rank %d in generation %d", rank, reg.rank, h.Gen)
			case reg.got[rank]:
				return nil, codeRefused, fmt.Sprintf("duplicate connection from rank %d in generation %d", rank, h.Gen)
			default:
				reg.got[rank] = true
				return reg, codeOK, ""
			}
		}
		changed := l.mu.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return nil, codeRefused, fmt.Sprintf("generation %d is not active on this node", h.Gen)
		case <-l.closed:
			return nil, codeRefused, "node shutting down"
		}
	}
}

func (l *Listener) register(reg *registration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
		return errors.New("tcp: listener closed")
	default:
	}
	if reg.gen < l.mu.minGen {
		return fmt.Errorf("tcp: generation %d is older than generation %d already seen here", reg.gen, l.mu.minGen)
	}
	if l.mu.regs[reg.gen] != nil {
		return fmt.Errorf("tcp: generation %d is already connected on this listener", reg.gen)
	}
	l.mu.minGen = reg.gen
	for g := range l.mu.regs {
		if g < reg.gen {
			delete(l.mu.regs, g)
		}
	}
	l.mu.regs[reg.gen] = reg
	close(l.mu.changed)
	l.mu.changed = make(chan struct{})
	return nil
}

func (l *Listener) unregister(reg *registration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.regs[reg.gen] == reg {
		delete(l.mu.regs, reg.gen)
	}
	// Links handed over but never collected by Connect.
	for {
		select {
		case a := <-reg.conns:
			a.conn.Close()
		default:
			return
		}
	}
}

func missing(want map[int]bool, have map[int]net.Conn) []int {
	var out []int
	for r := range want {
		if have[r] == nil {
			out = append(out, r)
		}
	}
	sort.Ints(out)
	return out
}

// Spec describes one rank's place in a generation.
type Spec struct {
	// Generation numbers the membership epoch; frames and handshakes of
	// other generations are refused.
	Generation uint64
	// Rank and Size place this process in the generation's ring.
	Rank, Size int
	// Peers maps the rank of every peer this rank talks to
	// (allreduce.Peers) to its data address.
	Peers map[int]string
	// IOTimeout, if > 0, overrides Config.IOTimeout for this generation.
	IOTimeout time.Duration
	// Link emulates a slower network on this rank's sends (zero: off).
	Link Link
	// LinkPeers, if non-nil, limits Link to the sends to the peers it maps
	// to true (say, the ranks on other hosts, so that links inside a host
	// stay fast); nil applies Link to every peer. Ranks it names that are
	// not in Peers are ignored.
	LinkPeers map[int]bool
	// PayloadChecksum: this rank's frames carry the CRC32C of their
	// payload, and a receiver whose computed CRC differs fails the
	// collective with ErrChecksum. It costs a pass over every byte sent and
	// received (docs/benchmarks.md); off, only headers are checksummed.
	// Receivers check whatever frames carry, so ranks may differ.
	PayloadChecksum bool
}

// Link emulates a network link on the sending side: every frame occupies
// the link to its peer for Latency plus its size divided by Bandwidth and
// is written to the peer when that time is over, so that one machine can
// show how a slower network changes scaling. As on a real link, Send hands
// the frame over and returns (a copy waits on the link's queue, up to two
// frames; linkEmu), and a frame's time on the link starts when it is
// handed over or when the link finishes the frame before it, whichever is
// later: the host's work between frames overlaps the link's sending.
type Link struct {
	Bandwidth float64       // bytes per second; 0 = unlimited
	Latency   time.Duration // per frame
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (l Link) delay(bytes int) time.Duration {
	d := l.Latency
	if l.Bandwidth > 0 {
		d += time.Duration(float64(bytes) / l.Bandwidth * 1e9)
	}
	return d
}

// Connect links this rank to its peers for spec's generation: it dials
// the lower-ranked peers (retrying while they come up) and waits for the
// higher-ranked ones to dial in, within ctx and Config.ConnectTimeout.
func (l *Listener) Connect(ctx context.Context, spec Spec) (*Transport, error) {
	if spec.Size < 1 || spec.Rank < 0 || spec.Rank >= spec.Size {
		return nil, fmt.Errorf("tcp: rank %d of world size %d", spec.Rank, spec.Size)
	}
	for p, addr := range spec.Peers {
		if p < 0 || p >= spec.Size || p == spec.Rank || addr == "" {
			return nil, fmt.Errorf("tcp: invalid peer %d at %q for rank %d of %d", p, addr, spec.Rank, spec.Size)
		}
	}
	for p := range spec.LinkPeers {
		if p < 0 || p >= spec.Size || p == spec.Rank {
			return nil, fmt.Errorf("tcp: LinkPeers names rank %d: want a peer of rank %d in [0, %d)", p, spec.Rank, spec.Size)
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.cfg.ConnectTimeout)
		defer cancel()
	}
	reg := &registration{gen: spec.Generation, rank: spec.Rank, size: spec.Size,
		expect: map[int]bool{}, got: map[int]bool{}}
	var dial []int
	for p := range spec.Peers {
		if p > spec.Rank {
			reg.expect[p] = true
		} else {
			dial = append(dial, p)
		}
	}
	reg.conns = make(chan accepted, len(reg.expect))
	if err := l.register(reg); err != nil {
		return nil, err
	}
	conns := make(map[int]net.Conn, len(spec.Peers))
	fail := func(err error) (*Transport, error) {
		for _, c := range conns {
			c.Close()
		}
		l.unregister(reg)
		return nil, err
	}

	type dialed struct {
		rank int
		conn net.Conn
		err  error
	}
	results := make(chan dialed, len(dial))
	var wg sync.WaitGroup
	for _, p := range dial {
		wg.Go(func() {
			c, err := l.dial(ctx, spec, p, spec.Peers[p])
			results <- dialed{p, c, err}
		})
	}
	var firstErr error
	for range dial {
		d := <-results
		if d.err != nil {
			if firstErr == nil {
				firstErr = d.err
			}
			continue
		}
		conns[d.rank] = d.conn
	}
	wg.Wait()
	if firstErr != nil {
		return fail(firstErr)
	}
	for len(conns) < len(spec.Peers) {
		select {
		case a := <-reg.conns:
			conns[a.rank] = a.conn
		case <-ctx.Done():
			return fail(fmt.Errorf("tcp: rank %d generation %d: waiting for ranks %v to connect: %w",
				spec.Rank, spec.Generation, missing(reg.expect, conns), ctx.Err()))
		case <-l.closed:
			return fail(errors.New("tcp: listener closed"))
		}
	}
	return newTransport(l, reg, spec, conns), nil
}

// authGrace is how long a dialer keeps trying a peer that fails
// authentication before that failure is final. A worker that rejoins a
// restarted coordinator installs the run's new key (SetSessionKey) moments
// after the coordinator admitted it, and a faster peer handed the same plan
// may dial it in between (seen under load in TestChaos); a peer with another
// secret fails after this grace.
const authGrace = time.Second

// dial connects to peer p and runs the client handshake, retrying while the
// peer is not reachable yet. A refusal is final; so is an authentication
// failure that lasts authGrace.
func (l *Listener) dial(ctx context.Context, spec Spec, p int, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: l.cfg.DialTimeout}
	backoff := 20 * time.Millisecond
	var authFailed time.Time // first authentication failure; zero: none yet
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			err = l.handshakeOut(c, spec, p)
			if err == nil {
				return c, nil
			}
			c.Close()
			if errors.Is(err, ErrAuth) && authFailed.IsZero() {
				authFailed = time.Now()
			}
			if errors.Is(err, ErrRefused) || (errors.Is(err, ErrAuth) && time.Since(authFailed) >= authGrace) {
				return nil, fmt.Errorf("tcp: rank %d -> rank %d at %s: %w", spec.Rank, p, addr, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("tcp: rank %d -> rank %d at %s: %w (last error: %w)", spec.Rank, p, addr, ctx.Err(), err)
		case <-l.closed:
			return nil, errors.New("tcp: listener closed")
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

func (l *Listener) handshakeOut(c net.Conn, spec Spec, p int) error {
	n, err := nonce()
	if err != nil {
		return err
	}
	// The acceptor may hold an early link for up to HandshakeTimeout.
	c.SetDeadline(time.Now().Add(2*l.cfg.HandshakeTimeout + time.Second))
	defer c.SetDeadline(time.Time{})
	h := hello{Gen: spec.Generation, Rank: uint32(spec.Rank), Size: uint32(spec.Size), Peer: uint32(p), Nonce: n}
	return clientHandshake(c, *l.key.Load(), h)
}
