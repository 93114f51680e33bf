package membership

import (
	"log/slog"

	"github.com/hashicorp/memberlist"
)

// memberlistConfig translates c (already validated) into a fresh
// memberlist.Config derived from DefaultLANConfig. Gossip is encrypted and
// verified both ways with the key derived from c.Secret and c.RunKey.
func memberlistConfig(c Config, log *slog.Logger, d *metaDelegate, ev *eventDelegate) (*memberlist.Config, error) {
	key, err := GossipKey(c.Secret, c.RunKey)
	if err != nil {
		return nil, err
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.NodeName
	mc.BindAddr = c.BindAddr
	mc.BindPort = c.BindPort
	mc.AdvertiseAddr = c.AdvertiseAddr
	mc.AdvertisePort = c.AdvertisePort
	if c.AdvertisePort == 0 {
		mc.AdvertisePort = c.BindPort
	}

	mc.ProbeInterval = c.ProbeInterval
	mc.ProbeTimeout = c.ProbeTimeout
	mc.GossipInterval = c.GossipInterval
	mc.PushPullInterval = c.PushPullInterval
	mc.SuspicionMult = c.SuspicionMult
	mc.RetransmitMult = c.RetransmitMult
	mc.TCPTimeout = c.TCPTimeout
	mc.DeadNodeReclaimTime = c.DeadNodeReclaimTime

	mc.SecretKey = key
	mc.GossipVerifyIncoming = true
	mc.GossipVerifyOutgoing = true

	mc.Delegate = d
	mc.Events = ev
	mc.Logger = newMemberlistLogger(log)
	mc.LogOutput = nil
	return mc, nil
}
