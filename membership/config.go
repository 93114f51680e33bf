package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
	"unicode"
	"unicode/utf8"
)

// Config configures one membership node. Start with DefaultConfig, set
// NodeName, Secret, RunKey and Meta, and adjust the rest only with a reason. The
// timing fields are derived from memberlist.DefaultLANConfig and tuned for
// fast failure detection on a LAN (see doc.go for measured figures).
type Config struct {
	// NodeName is the node's unique name in the cluster (required; at most
	// 128 bytes of UTF-8 without spaces or control characters). A restarted
	// process may reuse its name: peers accept the new address once the old
	// incarnation has been dead for DeadNodeReclaimTime.
	NodeName string
	// BindAddr is the IP address the gossip UDP and TCP listeners bind to.
	// Default "0.0.0.0" (all interfaces); tests use "127.0.0.1".
	BindAddr string
	// BindPort is the gossip port (UDP and TCP). 0 picks a free port (read it
	// back with Membership.Addr). Default 7946, memberlist's port.
	BindPort int
	// AdvertiseAddr is the IP address peers should use to reach this node.
	// Default "": BindAddr if it is a specific address, otherwise the first
	// private IP of the host.
	AdvertiseAddr string
	// AdvertisePort is the port peers should use. Default 0: the bound port.
	AdvertisePort int
	// Secret is the cluster secret (required, at least 16 bytes) and RunKey
	// the run's key (required, at least 16 bytes: the coordinator's random
	// per-run key, which it hands only to the workers it admits, at Join).
	// The gossip encryption key (AES-256-GCM) is derived from both with
	// HKDF-SHA256 (GossipKey), so every node of a run needs the same secret
	// and run key, and a node without both can neither join nor inject
	// gossip. Neither is ever logged.
	Secret []byte
	RunKey []byte
	// Meta is gossiped with this node (see Meta). Required: Meta.Validate.
	Meta Meta

	// ProbeInterval is the time between failure-detection probes of a random
	// peer. Lower detects failures sooner at the cost of bandwidth.
	// Default 500ms (memberlist LAN default: 1s).
	ProbeInterval time.Duration
	// ProbeTimeout is how long to wait for a probe's ack before trying
	// indirect and TCP probes; about the 99th percentile RTT, at most
	// ProbeInterval. Default 250ms (LAN default: 500ms).
	ProbeTimeout time.Duration
	// GossipInterval is the time between gossip rounds that spread state
	// changes (joins, failures, metadata) to 3 random peers.
	// Default 100ms (LAN default: 200ms).
	GossipInterval time.Duration
	// PushPullInterval is the time between full state syncs with one random
	// peer over TCP (repairs anything gossip missed); 0 disables them.
	// Default 15s (LAN default: 30s).
	PushPullInterval time.Duration
	// SuspicionMult scales how long a suspected node has to refute before it
	// is declared failed: SuspicionMult * max(1, log10(N)) * ProbeInterval
	// once a second peer confirms the suspicion (up to 6 times longer if none
	// does). Default 3 (LAN default: 4), i.e. 1.5s for clusters under 10.
	SuspicionMult int
	// RetransmitMult: each gossiped message is retransmitted
	// RetransmitMult * ceil(log10(N+1)) times. Default 4 (as LAN).
	RetransmitMult int
	// TCPTimeout bounds each TCP operation (join and push/pull state syncs).
	// It also bounds how long Close may wait for a Join attempt in flight.
	// Default 5s (LAN default: 10s).
	TCPTimeout time.Duration
	// BroadcastTimeout bounds UpdateMeta and Leave when their context has no
	// earlier deadline: they wait until the change has been gossiped. Close
	// may wait this long for one in flight. Default 5s.
	BroadcastTimeout time.Duration
	// DeadNodeReclaimTime is how long after a node failed its name may be
	// reused from a different address (a restarted process on a new port).
	// Default 2s (memberlist default: never, until the dead node is reaped).
	DeadNodeReclaimTime time.Duration

	// Logger receives this package's and memberlist's logs (memberlist's
	// [DEBUG]/[INFO]/[WARN]/[ERR] lines are mapped to slog levels).
	// Default nil: slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the tuned defaults; NodeName, Secret, RunKey and
// Meta are left for the caller.
func DefaultConfig() Config {
	return Config{
		BindAddr:            "0.0.0.0",
		BindPort:            7946,
		ProbeInterval:       500 * time.Millisecond,
		ProbeTimeout:        250 * time.Millisecond,
		GossipInterval:      100 * time.Millisecond,
		PushPullInterval:    15 * time.Second,
		SuspicionMult:       3,
		RetransmitMult:      4,
		TCPTimeout:          5 * time.Second,
		BroadcastTimeout:    5 * time.Second,
		DeadNodeReclaimTime: 2 * time.Second,
	}
}

// minSecretLen is the shortest cluster secret accepted, in bytes.
const minSecretLen = 16

// minRunKeyLen is the shortest run key accepted, in bytes.
const minRunKeyLen = 16

// maxNodeNameLen is the longest node name accepted, in bytes.
const maxNodeNameLen = 128

// Validate reports every invalid field of c, each wrapping ErrInvalidConfig.
// It never mentions the secret's content.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if err := validateNodeName(c.NodeName); err != nil {
		bad("NodeName: %w", err)
	}
	if net.ParseIP(c.BindAddr) == nil {
		bad("BindAddr %q: want an IP address", c.BindAddr)
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		bad("AdvertiseAddr %q: want an IP address or empty", c.AdvertiseAddr)
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		bad("BindPort %d: want 0..65535", c.BindPort)
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		bad("AdvertisePort %d: want 0..65535", c.AdvertisePort)
	}
	if len(c.Secret) < minSecretLen {
		bad("Secret is %d bytes: want at least %d", len(c.Secret), minSecretLen)
	}
	if len(c.RunKey) < minRunKeyLen {
		bad("RunKey is %d bytes: want at least %d (the coordinator's per-run key)", len(c.RunKey), minRunKeyLen)
	}
	if err := c.Meta.Validate(); err != nil {
		errs = append(errs, err)
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"ProbeInterval", c.ProbeInterval}, {"ProbeTimeout", c.ProbeTimeout},
		{"GossipInterval", c.GossipInterval}, {"TCPTimeout", c.TCPTimeout},
		{"BroadcastTimeout", c.BroadcastTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			bad("%s %v: want > 0", p.name, p.d)
		}
	}
	if c.ProbeTimeout > c.ProbeInterval {
		bad("ProbeTimeout %v: want at most ProbeInterval (%v)", c.ProbeTimeout, c.ProbeInterval)
	}
	if c.PushPullInterval < 0 {
		bad("PushPullInterval %v: want >= 0 (0 disables)", c.PushPullInterval)
	}
	if c.DeadNodeReclaimTime < 0 {
		bad("DeadNodeReclaimTime %v: want >= 0 (0 never reclaims)", c.DeadNodeReclaimTime)
	}
	if c.SuspicionMult < 1 {
		bad("SuspicionMult %d: want >= 1", c.SuspicionMult)
	}
	if c.RetransmitMult < 1 {
		bad("RetransmitMult %d: want >= 1", c.RetransmitMult)
	}
	return errors.Join(errs...)
}

func validateNodeName(name string) error {
	switch {
	case name == "":
		return errors.New("required")
	case len(name) > maxNodeNameLen:
		return fmt.Errorf("%d bytes: want at most %d", len(name), maxNodeNameLen)
	case !utf8.ValidString(name):
		return errors.New("not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("%q contains a space or control character", name)
		}
	}
	return nil
}

// String describes c without the secret and the run key.
func (c Config) String() string {
	return fmt.Sprintf("membership.Config{NodeName:%q Bind:%s Advertise:%s Secret:<%d bytes redacted> RunKey:<%d bytes redacted> Meta:%+v "+
		"ProbeInterval:%v ProbeTimeout:%v GossipInterval:%v PushPullInterval:%v SuspicionMult:%d RetransmitMult:%d}",
		c.NodeName, net.JoinHostPort(c.BindAddr, fmt.Sprint(c.BindPort)),
		net.JoinHostPort(c.AdvertiseAddr, fmt.Sprint(c.AdvertisePort)), len(c.Secret), len(c.RunKey), c.Meta,
		c.ProbeInterval, c.ProbeTimeout, c.GossipInterval, c.PushPullInterval, c.SuspicionMult, c.RetransmitMult)
}

// LogValue makes slog print c without the secret and the run key.
func (c Config) LogValue() slog.Value {
	return slog.StringValue(c.String())
}

// GoString makes %#v print c without the secret and the run key.
func (c Config) GoString() string { return c.String() }
