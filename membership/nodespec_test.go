package membership

import (
	"strings"
	"testing"
	"time"
)

// NodeSpec.Config: what a spec sets, what it leaves at DefaultConfig's.
func TestNodeSpecConfig(t *testing.T) {
	def := DefaultConfig()
	meta := Meta{Role: RoleWorker, ID: "w1", DataAddr: "10.0.0.2:7000", Version: "v1"}
	for _, tc := range []struct {
		name string
		spec NodeSpec
		want func(*Config)
	}{
		{"zero values keep the defaults", NodeSpec{Name: "w1", Secret: testSecret, RunKey: testRunKey, Meta: meta},
			func(c *Config) { c.BindPort = 0 }},
		{"the job's failure detection", NodeSpec{Name: "w1", Secret: testSecret, RunKey: testRunKey, Meta: meta, ProbeInterval: 2 * time.Second, SuspicionMult: 7},
			func(c *Config) {
				c.BindPort, c.ProbeInterval, c.ProbeTimeout, c.SuspicionMult = 0, 2*time.Second, time.Second, 7
			}},
		{"bind and advertise", NodeSpec{Name: "w1", Secret: testSecret, RunKey: testRunKey, Meta: meta, BindAddr: "127.0.0.1", BindPort: 7947, AdvertiseAddr: "10.0.0.2"},
			func(c *Config) { c.BindAddr, c.BindPort, c.AdvertiseAddr = "127.0.0.1", 7947, "10.0.0.2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := def
			want.NodeName, want.Secret, want.RunKey, want.Meta = "w1", testSecret, testRunKey, meta
			tc.want(&want)
			got := tc.spec.Config()
			if got.String() != want.String() || string(got.Secret) != string(want.Secret) || string(got.RunKey) != string(want.RunKey) || got.TCPTimeout != want.TCPTimeout ||
				got.DeadNodeReclaimTime != want.DeadNodeReclaimTime || got.BroadcastTimeout != want.BroadcastTimeout {
				t.Fatalf("Config()\n got %v\nwant %v", got, want)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

// A node built from a NodeSpec gossips: a worker's spec joins a
// coordinator's (real sockets on loopback) and each sees the other.
func TestNodeSpecNodesJoin(t *testing.T) {
	coord := startNode(t, NodeSpec{Name: "coordinator-r1", BindAddr: "127.0.0.1", Secret: testSecret, RunKey: testRunKey, ProbeInterval: 200 * time.Millisecond,
		SuspicionMult: 2, Meta: Meta{Role: RoleCoordinator, ID: "r1", GRPCAddr: "127.0.0.1:7070"}, Logger: testLogger()}.Config())
	w := startNode(t, NodeSpec{Name: "w1", BindAddr: "127.0.0.1", AdvertiseAddr: "127.0.0.1", Secret: testSecret, RunKey: testRunKey, ProbeInterval: 200 * time.Millisecond,
		SuspicionMult: 2, Meta: Meta{Role: RoleWorker, ID: "w1", DataAddr: "127.0.0.1:7000"}, Logger: testLogger()}.Config())
	if !strings.HasPrefix(coord.Addr(), "127.0.0.1:") || strings.HasSuffix(coord.Addr(), ":0") {
		t.Fatalf("coordinator address %s: want 127.0.0.1 and the port picked", coord.Addr())
	}
	joinNode(t, w, coord)
	ev := waitEvent(t, coord, EventJoin, "w1", 10*time.Second)
	if ev.Node.Meta.DataAddr != "127.0.0.1:7000" {
		t.Fatalf("the coordinator sees w1's meta %+v", ev.Node.Meta)
	}
}
