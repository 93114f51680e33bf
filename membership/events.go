package membership

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/memberlist"
)

// EventKind says what happened to a node.
type EventKind int

// The kinds of membership events.
const (
	// EventJoin: a node joined (or rejoined after failing or leaving).
	EventJoin EventKind = iota + 1
	// EventLeave: a node left gracefully (Leave).
	EventLeave
	// EventFail: a node was declared dead by failure detection (crash,
	// Close without Leave, host gone, partition).
	EventFail
	// EventUpdate: a node changed its metadata (UpdateMeta).
	EventUpdate
)

// String returns "join", "leave", "fail", "update" or "EventKind(n)".
func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventFail:
		return "fail"
	case EventUpdate:
		return "update"
	default:
		return fmt.Sprintf("EventKind(%d)", int(k))
	}
}

// Node states as reported in Node.State.
const (
	StateAlive   = "alive"
	StateSuspect = "suspect" // never reported by memberlist v0.7.0, see doc.go
	StateDead    = "dead"
	StateLeft    = "left"
)

// Node is a cluster member as this node sees it.
type Node struct {
	// Name is the node's Config.NodeName.
	Name string
	// Addr is the node's gossip address "ip:port" (usable as a Join seed).
	Addr string
	// Meta is the node's metadata (zero if it could not be decoded).
	Meta Meta
	// State is StateAlive, StateDead (after EventFail) or StateLeft (after
	// EventLeave, or for the local node after Leave).
	State string
}

// Event is a change of another node's membership.
type Event struct {
	Kind EventKind
	Node Node
	// At is when this node learned of the change.
	At time.Time
}

// eventDelegate implements memberlist.EventDelegate. memberlist calls it
// with its node lock held, one call at a time: it must not block and must
// not call back into memberlist, so it only converts and enqueues.
type eventDelegate struct {
	self  string
	queue *eventQueue
	log   *slog.Logger
}

var _ memberlist.EventDelegate = (*eventDelegate)(nil)

// NotifyJoin reports a node that joined or came back.
func (d *eventDelegate) NotifyJoin(n *memberlist.Node) {
	d.emit(EventJoin, n, StateAlive)
}

// NotifyUpdate reports changed metadata. The update that announces a
// graceful leave (Leaving flag) is not reported: EventLeave follows.
func (d *eventDelegate) NotifyUpdate(n *memberlist.Node) {
	if _, leaving, _ := decodeMeta(n.Meta); leaving {
		return
	}
	d.emit(EventUpdate, n, StateAlive)
}

// NotifyLeave reports a node that left or failed. memberlist v0.7.0 keeps
// the node's real state in an unexported field that shadows n.State
// (n.State is always StateAlive here; hashicorp/memberlist issues 266, 293),
// so a graceful leave is recognized by the Leaving flag that Leave gossips
// in the node's metadata right before its leave message.
func (d *eventDelegate) NotifyLeave(n *memberlist.Node) {
	if _, leaving, _ := decodeMeta(n.Meta); leaving {
		d.emit(EventLeave, n, StateLeft)
		return
	}
	d.emit(EventFail, n, StateDead)
}

func (d *eventDelegate) emit(kind EventKind, n *memberlist.Node, state string) {
	if n == nil || n.Name == d.self {
		return
	}
	node := toNode(n, state, d.log)
	d.log.Debug("membership event", "kind", kind.String(), "node", node.Name, "addr", node.Addr)
	d.queue.push(Event{Kind: kind, Node: node, At: time.Now()})
}

// toNode copies a memberlist node; undecodable metadata is logged and
// reported as the zero Meta.
func toNode(n *memberlist.Node, state string, log *slog.Logger) Node {
	meta, _, err := decodeMeta(n.Meta)
	if err != nil {
		log.Warn("membership: ignoring undecodable node metadata", "peer", n.Name, "err", err)
	}
	return Node{Name: n.Name, Addr: n.Address(), Meta: meta, State: state}
}
