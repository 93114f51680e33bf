package membership

import (
	"log/slog"
	"time"
)

// NodeSpec is how a ringtrain process (the coordinator, each worker)
// describes its gossip node: where it listens (their --gossip-addr and
// --gossip-port flags; a worker also advertises its host), the cluster
// secret and the run's key (the coordinator's per-run key, which a worker
// gets at Join), the job's failure detection (cluster.probe_interval and
// cluster.suspicion_mult) and what it gossips. Config turns it into a
// Config, so that both build their node the same way.
type NodeSpec struct {
	Name          string
	BindAddr      string // "": DefaultConfig's ("0.0.0.0")
	BindPort      int    // 0: any free port
	AdvertiseAddr string // "": as Config.AdvertiseAddr
	Secret        []byte
	RunKey        []byte
	ProbeInterval time.Duration // 0: DefaultConfig's; the probe timeout is half of it
	SuspicionMult int           // 0: DefaultConfig's
	Meta          Meta
	Logger        *slog.Logger
}

// Config is DefaultConfig with s applied. Start validates it.
func (s NodeSpec) Config() Config {
	c := DefaultConfig()
	c.NodeName, c.BindPort, c.AdvertiseAddr = s.Name, s.BindPort, s.AdvertiseAddr
	if s.BindAddr != "" {
		c.BindAddr = s.BindAddr
	}
	if s.ProbeInterval > 0 {
		c.ProbeInterval, c.ProbeTimeout = s.ProbeInterval, s.ProbeInterval/2
	}
	if s.SuspicionMult > 0 {
		c.SuspicionMult = s.SuspicionMult
	}
	c.Secret, c.RunKey, c.Meta, c.Logger = s.Secret, s.RunKey, s.Meta, s.Logger
	return c
}
