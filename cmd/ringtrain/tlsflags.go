package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/spf13/pflag"

	"github.com/ringtrain/ringtrain/pki"
)

// tlsFlags are the control plane's transport-security flags, shared by the
// coordinator, worker and status verbs.
type tlsFlags struct {
	dir        string
	serverName string
	insecure   bool
}

func (t *tlsFlags) register(f *pflag.FlagSet, client bool) {
	f.StringVar(&t.dir, "tls-dir", "", "directory with ca.crt, node.crt and node.key (ringtrain certs init --tls-dir DIR): mutual TLS on the control plane")
	t.registerInsecure(f)
	if client {
		f.StringVar(&t.serverName, "tls-server-name", "", "name the coordinator's certificate must carry (default: the host of the coordinator address)")
	}
}

// registerInsecure declares --insecure alone: launch makes its own TLS
// files, so it has no --tls-dir.
func (t *tlsFlags) registerInsecure(f *pflag.FlagSet) {
	f.BoolVar(&t.insecure, "insecure", false, "plaintext gRPC on the control plane, no TLS (launch's default is mutual TLS with a CA it makes in RUN_DIR/tls): only on a network you trust")
}

var errNoTLS = errors.New("no TLS material for the control plane: pass --tls-dir DIR (create it with `ringtrain certs init --tls-dir DIR --hosts COORDINATOR-HOST`) or --insecure for plaintext")

func (t *tlsFlags) bundle() (*pki.Bundle, error) {
	switch {
	case t.dir != "" && t.insecure:
		return nil, errors.New("--tls-dir and --insecure exclude each other")
	case t.insecure:
		return nil, nil
	case t.dir == "":
		return nil, errNoTLS
	}
	return pki.Load(t.dir)
}

// server is the coordinator's TLS configuration; nil means plaintext
// (--insecure).
func (t *tlsFlags) server() (*tls.Config, error) {
	b, err := t.bundle()
	if b == nil || err != nil {
		return nil, err
	}
	if err := b.CanServe(); err != nil {
		return nil, err
	}
	return b.ServerConfig(), nil
}

// client is the configuration for dialing the coordinator at addr; nil
// means plaintext (--insecure).
func (t *tlsFlags) client(addr string) (*tls.Config, error) {
	b, err := t.bundle()
	if b == nil || err != nil {
		return nil, err
	}
	name := t.serverName
	if name == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("coordinator address %q: %w", addr, err)
		}
		name = host
	}
	return b.ClientConfig(name), nil
}
