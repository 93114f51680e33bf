package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/pki"
)

func newCertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Create the cluster's TLS material: a private CA and node certificates",
		Long: `The control plane (gRPC) runs over mutual TLS: the coordinator and every worker present a
certificate signed by the cluster CA and accept only peers with one. ` + "`certs init`" + ` creates the CA
and the coordinator's node certificate, which every node may share; copy ca.crt, node.crt and node.key to
every node (ca.key only where you issue more certificates) and pass --tls-dir. A shared node certificate
can serve, so any node holding it can pose as the coordinator: give each worker its own client-only
certificate (` + "`certs issue --name worker-3`" + `) and keep node.key on the coordinator.`,
	}
	cmd.AddCommand(newCertsInitCmd(g), newCertsIssueCmd(g))
	return cmd
}

func newCertsInitCmd(g *globals) *cobra.Command {
	var dir string
	var hosts []string
	var validity time.Duration
	var ifMissing bool
	cmd := &cobra.Command{
		Use:   "init --tls-dir DIR --hosts COORDINATOR-HOST[,...]",
		Short: "Create a cluster CA and a node certificate in DIR",
		Example: `  ringtrain certs init --tls-dir certs --hosts coordinator.example,10.0.0.5
  ringtrain coordinator --tls-dir certs ...; ringtrain worker --tls-dir certs --join coordinator.example:7070`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return fmt.Errorf("%s DIR is required", spelled(cmd.Flags(), "tls-dir"))
			}
			err := pki.Init(dir, pki.Options{Hosts: hosts, Validity: validity})
			if errors.Is(err, pki.ErrExists) && ifMissing {
				b, lerr := pki.Load(dir)
				if lerr != nil {
					return fmt.Errorf("--if-missing: %s holds TLS files that do not load: %w", dir, lerr)
				}
				fmt.Fprintf(g.stdout, "kept the TLS files in %s (%s)\n", dir, describe(b))
				return nil
			}
			if err != nil {
				return fmt.Errorf("%w (--if-missing keeps them)", err)
			}
			b, err := pki.Load(dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "created %s, %s (keep private), %s, %s in %s (%s)\n", pki.CACert, pki.CAKey, pki.NodeCert, pki.NodeKey, dir, describe(b))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "tls-dir", "", "directory for the TLS files (created 0700, files 0600): the --tls-dir of the coordinator, workers and status")
	alias(f, "dir", "tls-dir")
	f.StringSliceVar(&hosts, "hosts", nil, "DNS names and IPs the coordinator is reached by (localhost, 127.0.0.1 and ::1 are always in)")
	f.DurationVar(&validity, "validity", 365*24*time.Hour, "node certificate lifetime (the CA's is ten times longer)")
	f.BoolVar(&ifMissing, "if-missing", false, "keep the TLS files already in DIR instead of failing")
	return cmd
}

func newCertsIssueCmd(g *globals) *cobra.Command {
	var dir, name string
	var hosts []string
	var validity time.Duration
	var server bool
	cmd := &cobra.Command{
		Use:   "issue --tls-dir DIR --name NAME [--server --hosts HOST,...]",
		Short: "Sign another node certificate (NAME.crt, NAME.key) with the CA in DIR: client-only unless --server",
		Example: `  ringtrain certs issue --tls-dir certs --name worker-3                    # a worker's: client use only
  ringtrain certs issue --tls-dir certs --name coord-2 --server --hosts coord2.example   # a coordinator's`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" || name == "" {
				return fmt.Errorf("%s and --name are required", spelled(cmd.Flags(), "tls-dir"))
			}
			if server && len(hosts) == 0 {
				return fmt.Errorf("--server needs --hosts: the DNS names and IPs the coordinator is reached by")
			}
			if !server && len(hosts) > 0 {
				return fmt.Errorf("--hosts names where a server is reached: add --server for a coordinator's certificate (a worker's is client-only and names no host)")
			}
			if err := pki.Issue(dir, name, pki.Options{Hosts: hosts, Validity: validity, Server: server}); err != nil {
				if errors.Is(err, pki.ErrExists) {
					return fmt.Errorf("%w: another certificate of that name is kept; pick another --name, or remove %s.crt and %s.key to reissue", err, name, name)
				}
				return err
			}
			b, err := pki.LoadFiles(filepath.Join(dir, pki.CACert), filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"))
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "created %s.crt and %s.key in %s (%s); use them as node.crt/node.key in that node's --tls-dir\n", name, name, dir, describe(b))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "tls-dir", "", "directory with ca.crt and ca.key (made by certs init)")
	alias(f, "dir", "tls-dir")
	f.StringVar(&name, "name", "", "certificate name, e.g. worker-3 (an existing NAME.crt or NAME.key is refused)")
	f.BoolVar(&server, "server", false, "a serving certificate (a coordinator's), valid for --hosts only; default: client use only (a worker's, status's)")
	f.StringSliceVar(&hosts, "hosts", nil, "with --server: the DNS names and IPs the coordinator is reached by")
	f.DurationVar(&validity, "validity", 365*24*time.Hour, "certificate lifetime")
	return cmd
}

func describe(b *pki.Bundle) string {
	if b.CanServe() != nil {
		return fmt.Sprintf("client use only, until %s", b.Leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	names := append([]string(nil), b.Leaf.DNSNames...)
	for _, ip := range b.Leaf.IPAddresses {
		names = append(names, ip.String())
	}
	return fmt.Sprintf("valid for %s until %s", strings.Join(names, ", "), b.Leaf.NotAfter.UTC().Format(time.DateOnly))
}
