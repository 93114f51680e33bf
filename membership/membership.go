package membership

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/hashicorp/memberlist"
)

// Membership is one node of the memberlist cluster. Its methods are safe
// for concurrent use.
type Membership struct {
	name string
	log  *slog.Logger
	cfg  Config // Secret and RunKey cleared

	ml     *memberlist.Memberlist
	meta   *metaDelegate
	queue  *eventQueue
	events chan Event

	done      chan struct{} // closed by Close: stops every goroutine below
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	mu struct {
		sync.Mutex
		closed bool // set by Close before done is closed
		left   bool // set by Leave
	}

	// opMu serializes memberlist calls that must not race Shutdown
	// (memberlist.Leave panics after Shutdown): they hold it for reading,
	// Close holds it for writing around Shutdown.
	opMu sync.RWMutex
	shut bool // guarded by opMu
}

// Start validates cfg, creates the memberlist node (listening, but alone:
// call Join to enter a cluster) and starts the event pump.
func Start(cfg Config) (*Membership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("node", cfg.NodeName)

	m := &Membership{
		name:   cfg.NodeName,
		cfg:    cfg,
		log:    log,
		meta:   &metaDelegate{},
		queue:  newEventQueue(),
		events: make(chan Event),
		done:   make(chan struct{}),
	}
	if err := m.meta.set(cfg.Meta, false); err != nil {
		return nil, err
	}
	m.cfg.Secret, m.cfg.RunKey = nil, nil // the derived key lives in memberlist's keyring only
	ev := &eventDelegate{self: cfg.NodeName, queue: m.queue, log: log}
	mc, err := memberlistConfig(cfg, log, m.meta, ev)
	if err != nil {
		return nil, err
	}
	tr, err := listenGossip(mc, log) // streamlimit.go: incoming streams bounded
	if err != nil {
		return nil, fmt.Errorf("membership: start node %q on %s:%d: %w", cfg.NodeName, cfg.BindAddr, cfg.BindPort, err)
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		tr.Shutdown()
		return nil, fmt.Errorf("membership: start node %q on %s:%d: %w", cfg.NodeName, cfg.BindAddr, cfg.BindPort, err)
	}
	m.ml = ml
	m.wg.Go(func() { m.queue.run(m.events, m.done) })
	log.Info("membership: started", "addr", m.Addr(), "role", string(cfg.Meta.Role))
	return m, nil
}

// Events returns the channel of join, leave, fail and update events of
// other nodes, in the order memberlist reported them. Delivery never blocks
// memberlist: events wait in an unbounded queue until read. Close closes
// the channel (events still queued then are dropped).
func (m *Membership) Events() <-chan Event { return m.events }

// Members returns the live members (memberlist's alive and suspect nodes),
// including this node, sorted by name.
func (m *Membership) Members() []Node {
	ns := m.ml.Members()
	out := make([]Node, 0, len(ns))
	for _, n := range ns {
		if n.Name == m.name {
			out = append(out, m.Local())
			continue
		}
		out = append(out, toNode(n, StateAlive, m.log))
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Local returns this node, with its current metadata.
func (m *Membership) Local() Node {
	meta, _ := m.meta.get()
	state := StateAlive
	if m.left() {
		state = StateLeft
	}
	return Node{Name: m.name, Addr: m.Addr(), Meta: meta, State: state}
}

// Addr returns the gossip address "ip:port" peers use to reach this node
// (the one to give other nodes as a Join seed).
func (m *Membership) Addr() string { return m.ml.LocalNode().Address() }

// Close shuts the node down without leaving: to the others it looks like a
// crash and they report EventFail after failure detection. It stops every
// goroutine of this package (waiting up to Config.BroadcastTimeout for an
// UpdateMeta or Leave in flight and Config.TCPTimeout for a Join attempt)
// and closes Events. Idempotent.
func (m *Membership) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.mu.closed = true
		m.mu.Unlock()
		close(m.done)

		m.opMu.Lock()
		m.shut = true
		if err := m.ml.Shutdown(); err != nil {
			m.closeErr = fmt.Errorf("membership: shutdown: %w", err)
		}
		m.opMu.Unlock()

		m.wg.Wait()
		m.queue.close()
		close(m.events)
		m.log.Info("membership: closed")
	})
	return m.closeErr
}

// goTracked runs f in a goroutine that Close waits for; it returns false
// (and does not run f) once Close has begun.
func (m *Membership) goTracked(f func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.closed {
		return false
	}
	m.wg.Go(f)
	return true
}

// usable returns ErrClosed or ErrLeft when the node can no longer join or
// advertise.
func (m *Membership) usable() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.usableLocked()
}

func (m *Membership) usableLocked() error {
	switch {
	case m.mu.closed:
		return ErrClosed
	case m.mu.left:
		return ErrLeft
	}
	return nil
}

func (m *Membership) left() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.left
}
