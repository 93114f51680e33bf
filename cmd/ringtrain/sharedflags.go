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

// metricsAddr is --metrics-addr (coordinator, worker): where the Prometheus
// endpoint (/metrics, and the coordinator's dashboard) listens. HOST:PORT;
// auto (the default): any free port on the process's own host (the
// coordinator's --grpc-addr host, the worker's advertised host); off: none.
type metricsAddr struct{ v string }

func (m *metricsAddr) register(f *pflag.FlagSet) {
	m.v = metricsAuto
	f.Var(m, "metrics-addr", "Prometheus endpoint (/metrics) listen address HOST:PORT; auto: any free port on this process's host (the coordinator's --grpc-addr host, a worker's advertised host); off: none")
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

// coordinator is the coordinator's metrics address: "" is off (as
// coordinator.Config has it); auto is a free port on grpcAddr's host.
func (m *metricsAddr) coordinator(grpcAddr string) (string, error) {
	switch m.v {
	case metricsOff:
		return "", nil
	case metricsAuto:
		host, _, err := net.SplitHostPort(grpcAddr)
		if err != nil {
			return "", fmt.Errorf("--grpc-addr %q: %w", grpcAddr, err)
		}
		return net.JoinHostPort(host, "0"), nil
	}
	return m.v, nil
}

// worker is the worker's metrics address as worker.Config has it: "" is
// auto (the worker knows its advertised host), "off" is off.
func (m *metricsAddr) worker() string {
	if m.v == metricsAuto {
		return ""
	}
	return m.v
}
