package main

import (
	"fmt"
	"net"

	"github.com/spf13/pflag"

	"github.com/ringtrain/ringtrain/internal/secret"
)

// The flags several verbs share, each declared once here (the TLS ones in
// tlsflags.go, --resume in resumeflags.go); docs/cli.md is their
// vocabulary.

// secretFlag is --secret-file (launch, coordinator, worker, status).
type secretFlag struct{ file string }

func (s *secretFlag) register(f *pflag.FlagSet) {
	f.StringVar(&s.file, "secret-file", "", "file holding the cluster secret (else RINGTRAIN_SECRET; launch: else a random one kept in RUN_DIR/secret)")
}

// load reads the cluster secret from --secret-file, else RINGTRAIN_SECRET.
func (s *secretFlag) load() ([]byte, error) {
	return secret.Load(s.file, "RINGTRAIN_SECRET")
}

// gossipFlags are where a coordinator's or worker's gossip (memberlist)
// node listens: --gossip-addr and --gossip-port.
type gossipFlags struct {
	addr string
	port int
}

// register declares them; port is the verb's default (the coordinator's is
// fixed so workers' firewalls can name it, a worker's is any free port).
func (g *gossipFlags) register(f *pflag.FlagSet, port int) {
	f.StringVar(&g.addr, "gossip-addr", "0.0.0.0", "gossip (memberlist) bind address, an IP")
	f.IntVar(&g.port, "gossip-port", port, "gossip (memberlist) port, TCP and UDP (0: any free port)")
}

// The two words --metrics-addr takes besides HOST:PORT.
const (
	metricsAuto = "auto"
	metricsOff  = "off"
)

// metricsLoopback is where auto serves: a free port on loopback. The
// endpoint is unauthenticated (loss curves, member addresses), so it is
// reachable from other hosts only when the operator says where.
const metricsLoopback = "127.0.0.1:0"

// metricsAddr is --metrics-addr (coordinator, worker): where the Prometheus
// endpoint (/metrics, and the coordinator's dashboard) listens. HOST:PORT;
// auto (the default): a free port on 127.0.0.1; off: none.
type metricsAddr struct{ v string }

func (m *metricsAddr) register(f *pflag.FlagSet) {
	m.v = metricsAuto
	f.Var(m, "metrics-addr", "Prometheus endpoint (/metrics) listen address HOST:PORT (0.0.0.0:9090 for a scraper on another host); auto: a free port on 127.0.0.1; off: none")
}

func (m *metricsAddr) String() string { return m.v }
func (m *metricsAddr) Type() string   { return "addr" }

func (m *metricsAddr) Set(s string) error {
	if s != metricsAuto && s != metricsOff {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("want HOST:PORT, %s or %s: %w", metricsAuto, metricsOff, err)
		}
	}
	m.v = s
	return nil
}

// coordinator is the coordinator's metrics address as coordinator.Config
// has it: "" is off.
func (m *metricsAddr) coordinator() string {
	switch m.v {
	case metricsOff:
		return ""
	case metricsAuto:
		return metricsLoopback
	}
	return m.v
}

// worker is the worker's metrics address as worker.Config has it: "off" is
// off.
func (m *metricsAddr) worker() string {
	if m.v == metricsAuto {
		return metricsLoopback
	}
	return m.v
}
