package connlimit

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
)

// Limits bound the connections held at once.
type Limits struct {
	Total   int // in all
	PerHost int // from one remote IP address
}

// Validate reports a bound below 1, or PerHost above Total.
func (l Limits) Validate() error {
	var errs []error
	if l.Total < 1 {
		errs = append(errs, fmt.Errorf("connlimit: Total must be at least 1, got %d", l.Total))
	}
	if l.PerHost < 1 {
		errs = append(errs, fmt.Errorf("connlimit: PerHost must be at least 1, got %d", l.PerHost))
	}
	if l.PerHost > l.Total && l.Total >= 1 {
		errs = append(errs, fmt.Errorf("connlimit: PerHost (%d) must not exceed Total (%d)", l.PerHost, l.Total))
	}
	return errors.Join(errs...)
}

// Gate counts the connections it admitted, in all and by remote IP
// address, until they are closed. Safe for concurrent use.
type Gate struct {
	what     string
	lim      Limits
	refusals *RefusalLog

	mu      sync.Mutex
	total   int
	perHost map[string]int
}

// NewGate returns a Gate enforcing lim. what names the endpoint in the
// refusals it logs to log ("metrics", "control plane"); a nil log is
// slog.Default().
func NewGate(what string, lim Limits, log *slog.Logger) (*Gate, error) {
	if err := lim.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Gate{what: what, lim: lim, refusals: NewRefusalLog(log, 10), perHost: map[string]int{}}, nil
}

// Limits are the bounds the Gate enforces.
func (g *Gate) Limits() Limits { return g.lim }

// Admit returns c wrapped so that closing it frees its place, or closes c
// and returns false when c's host, or the Gate, holds as many connections
// as allowed.
func (g *Gate) Admit(c net.Conn) (net.Conn, bool) {
	host := Host(c.RemoteAddr())
	g.mu.Lock()
	reason, limit := "", 0
	switch {
	case g.total >= g.lim.Total:
		reason, limit = "too many connections", g.lim.Total
	case g.perHost[host] >= g.lim.PerHost:
		reason, limit = "too many connections from this host", g.lim.PerHost
	default:
		g.total++
		g.perHost[host]++
	}
	g.mu.Unlock()
	if reason != "" {
		c.Close()
		g.refusals.Warn(g.what+" connection refused: "+reason, "remote", c.RemoteAddr().String(), "limit", limit)
		return nil, false
	}
	return &conn{Conn: c, release: func() { g.release(host) }}, true
}

// Held is how many admitted connections are open, in all and from host.
func (g *Gate) Held(host string) (total, fromHost int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total, g.perHost[host]
}

func (g *Gate) release(host string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if g.perHost[host]--; g.perHost[host] <= 0 {
		delete(g.perHost, host)
	}
}

// Host is the key a connection from addr is counted under: its IP address
// for TCP, else the whole address.
func Host(addr net.Addr) string {
	if a, ok := addr.(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return addr.String()
}

// conn is an admitted connection: its first Close frees its place.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
