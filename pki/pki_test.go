package pki

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func initDir(t *testing.T, o Options) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tls")
	if err := Init(dir, o); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestInitWritesLoadableMaterial(t *testing.T) {
	dir := initDir(t, Options{Hosts: []string{"coordinator", "10.0.0.7", " ", "coordinator"}})
	for name, mode := range map[string]os.FileMode{CACert: 0o644, CAKey: 0o600, NodeCert: 0o644, NodeKey: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.Leaf.DNSNames, []string{"localhost", "coordinator"}) {
		t.Errorf("DNS names %v", b.Leaf.DNSNames)
	}
	var ips []string
	for _, ip := range b.Leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, []string{"127.0.0.1", "::1", "10.0.0.7"}) {
		t.Errorf("IPs %v", ips)
	}
	if err := Init(dir, Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: %v, want ErrExists", err)
	}
}

func TestBadInputIsNamed(t *testing.T) {
	a := initDir(t, Options{})
	b := initDir(t, Options{})
	mixed := t.TempDir()
	cp := func(from, name string) {
		data, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(mixed, name), data, 0o600)
	}
	cp(a, CACert)
	cp(b, NodeCert)
	cp(b, NodeKey)
	garbage := t.TempDir()
	for _, n := range []string{CACert, NodeCert, NodeKey} {
		os.WriteFile(filepath.Join(garbage, n), []byte("not pem\n"), 0o600)
	}
	wrongKey := t.TempDir()
	cp2 := func(from, name, to string) {
		data, _ := os.ReadFile(filepath.Join(from, name))
		os.WriteFile(filepath.Join(wrongKey, to), data, 0o600)
	}
	cp2(a, CACert, CACert)
	cp2(a, NodeCert, NodeCert)
	cp2(b, NodeKey, NodeKey)
	notCA := t.TempDir()
	cp3 := func(name, to string) {
		data, _ := os.ReadFile(filepath.Join(a, name))
		os.WriteFile(filepath.Join(notCA, to), data, 0o600)
	}
	cp3(NodeCert, CACert)
	cp3(NodeCert, NodeCert)
	cp3(NodeKey, NodeKey)
	expired := filepath.Join(t.TempDir(), "x")
	if err := Init(expired, Options{Validity: time.Hour, Now: func() time.Time { return time.Now().Add(-48 * time.Hour) }}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, dir, want string }{
		{"missing", t.TempDir(), "ringtrain certs init"},
		{"another cluster's node certificate", mixed, "does not verify against"},
		{"garbage", garbage, "no PEM CERTIFICATE block"},
		{"key of another certificate", wrongKey, "private key does not match"},
		{"node certificate as CA", notCA, "not a CA certificate"},
		{"expired", expired, "does not verify against"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name  string
		hosts []string
		want  string
	}{
		{"ca", nil, "not ca"},
		{"../x", nil, "plain name"},
		{"w1", []string{"host:7070"}, `host "host:7070"`},
	} {
		if err := Issue(a, tc.name, Options{Hosts: tc.hosts}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Issue(%q, %v): %v, want %q", tc.name, tc.hosts, err, tc.want)
		}
	}
}

func TestIssueSignsWithTheSameCA(t *testing.T) {
	dir := initDir(t, Options{})
	if err := Issue(dir, "worker-3", Options{Hosts: []string{"w3.example"}}); err != nil {
		t.Fatal(err)
	}
	b, err := LoadFiles(filepath.Join(dir, CACert), filepath.Join(dir, "worker-3.crt"), filepath.Join(dir, "worker-3.key"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(b.Leaf.DNSNames, "w3.example") {
		t.Fatalf("names %v", b.Leaf.DNSNames)
	}
	srv, _ := Load(dir)
	if err := handshake(t, srv.ServerConfig(), b.ClientConfig("localhost")); err != nil {
		t.Fatalf("a certificate issued by the same CA must be accepted: %v", err)
	}
}

// handshake runs a real TLS handshake over loopback TCP and returns the
// client's error, or the server's when the client saw none.
func handshake(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(c, server)
		if err := tc.Handshake(); err != nil {
			srvErr <- err
			return
		}
		// TLS 1.3: the client learns of a rejected client certificate only
		// when it reads; answer one byte on success.
		_, err = tc.Write([]byte{1})
		srvErr <- err
	}()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), client)
	if err == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadFull(c, make([]byte, 1))
		c.Close()
	}
	if serr := <-srvErr; err == nil {
		err = serr
	}
	return err
}

func TestMutualTLS(t *testing.T) {
	dir := initDir(t, Options{Hosts: []string{"coordinator"}})
	other := initDir(t, Options{Hosts: []string{"coordinator"}})
	a, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(other)
	if err != nil {
		t.Fatal(err)
	}
	noCert := a.ClientConfig("coordinator")
	noCert.Certificates = nil
	for _, tc := range []struct {
		name   string
		server *tls.Config
		client *tls.Config
		ok     bool
	}{
		{"same cluster", a.ServerConfig(), a.ClientConfig("coordinator"), true},
		{"same cluster, loopback IP", a.ServerConfig(), a.ClientConfig("127.0.0.1"), true},
		{"client of another CA", a.ServerConfig(), b.ClientConfig("coordinator"), false},
		{"server of another CA", b.ServerConfig(), a.ClientConfig("coordinator"), false},
		{"client without a certificate", a.ServerConfig(), noCert, false},
		{"name not in the certificate", a.ServerConfig(), a.ClientConfig("evil.example"), false},
		{"TLS 1.2 client", a.ServerConfig(), func() *tls.Config {
			c := a.ClientConfig("coordinator")
			c.MinVersion, c.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
			return c
		}(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := handshake(t, tc.server, tc.client)
			if (err == nil) != tc.ok {
				t.Fatalf("handshake error %v, want success %v", err, tc.ok)
			}
		})
	}
}
