package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ringtrain/ringtrain/internal/testutil"
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
	testutil.TypicalUmask(t)
	dir := initDir(t, Options{Hosts: []string{"coordinator", "10.0.0.7", " ", "coordinator"}})
	if err := Issue(dir, "worker-1", Options{}); err != nil {
		t.Fatal(err)
	}
	tree := testutil.PrivateTree(t, dir) // the directory 0700, every file 0600
	if got := strings.Join(tree.Paths(), " "); got != ". ca.crt ca.key node.crt node.key worker-1.crt worker-1.key" {
		t.Errorf("files %s", got)
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
	if err := b.CanServe(); err != nil {
		t.Errorf("init's node certificate (the coordinator's) cannot serve: %v", err)
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
		name string
		o    Options
		want string
	}{
		{"ca", Options{}, "not ca"},
		{"../x", Options{}, "plain name"},
		{"w1", Options{Server: true, Hosts: []string{"host:7070"}}, `host "host:7070"`},
		{"w2", Options{Server: true, Hosts: []string{" "}}, "needs the host names"},
		{"w3", Options{Hosts: []string{"w3.example"}}, "client-only"},
	} {
		if err := Issue(a, tc.name, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Issue(%q, %+v): %v, want %q", tc.name, tc.o, err, tc.want)
		}
		if _, err := os.Stat(filepath.Join(a, tc.name+".key")); strings.HasPrefix(tc.name, "w") && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Issue(%q) refused, yet left %s.key: %v", tc.name, tc.name, err)
		}
	}
}

// Issue never replaces a file: not init's node certificate (issue --name
// node once replaced the coordinator's key and its host names), not a
// certificate issued before, not a key left alone.
func TestIssueRefusesExistingFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, dir string)
	}{
		{"node", func(*testing.T, string) {}},
		{"worker-1", func(t *testing.T, dir string) {
			if err := Issue(dir, "worker-1", Options{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"worker-2", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "worker-2.key"), []byte("a key kept elsewhere\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := initDir(t, Options{Hosts: []string{"coordinator"}})
			tc.prepare(t, dir)
			before, err := readFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []Options{{}, {Server: true, Hosts: []string{"evil.example"}}} {
				if err := Issue(dir, tc.name, o); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), tc.name+".") {
					t.Fatalf("Issue(%q, %+v) over existing files: %v, want ErrExists naming the file", tc.name, o, err)
				}
			}
			after, err := readFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(before, after, bytes.Equal) {
				t.Fatalf("a refused Issue changed the directory")
			}
			if b, err := Load(dir); err != nil || !slices.Contains(b.Leaf.DNSNames, "coordinator") {
				t.Fatalf("the coordinator's certificate after a refused Issue: %v", err)
			}
		})
	}
}

// readFiles is every file in dir with its contents.
func readFiles(dir string) (map[string][]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if out[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Issue signs a client-only certificate by default: it names no host, joins
// as a client, and clients refuse it as a server on every name (even the
// loopback ones init's node certificate carries). With Server it serves,
// for its Hosts only. Init's node certificate serves, loopback included:
// any node holding it can pose as the coordinator (docs/security.md).
func TestIssuedCertificateUsage(t *testing.T) {
	dir := initDir(t, Options{Hosts: []string{"coordinator"}})
	if err := Issue(dir, "worker-1", Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Issue(dir, "coord-2", Options{Server: true, Hosts: []string{"coord2.example", "10.0.0.9"}}); err != nil {
		t.Fatal(err)
	}
	load := func(name string) *Bundle {
		b, err := LoadFiles(filepath.Join(dir, CACert), filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	node, worker, coord2 := load("node"), load("worker-1"), load("coord-2")
	if len(worker.Leaf.DNSNames)+len(worker.Leaf.IPAddresses) != 0 || !slices.Equal(worker.Leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("worker certificate: names %v %v, usage %v; want none and client only", worker.Leaf.DNSNames, worker.Leaf.IPAddresses, worker.Leaf.ExtKeyUsage)
	}
	if err := worker.CanServe(); err == nil || !strings.Contains(err.Error(), "worker-1.crt is a client-only certificate") {
		t.Errorf("CanServe of a client-only certificate: %v", err)
	}
	// Whatever name a client dials, a client-only certificate does not
	// verify for server use.
	if _, err := worker.Leaf.Verify(x509.VerifyOptions{Roots: node.CA}); err == nil || !strings.Contains(err.Error(), "incompatible key usage") {
		t.Errorf("a client-only certificate verified for server use: %v", err)
	}
	if err := coord2.CanServe(); err != nil || !slices.Equal(coord2.Leaf.DNSNames, []string{"coord2.example"}) || len(coord2.Leaf.IPAddresses) != 1 {
		t.Errorf("serving certificate: %v, names %v %v", err, coord2.Leaf.DNSNames, coord2.Leaf.IPAddresses)
	}
	for _, tc := range []struct {
		name   string
		server *Bundle
		client *Bundle
		dial   string
		want   string // "" for success
	}{
		{"worker joins the coordinator", node, worker, "coordinator", ""},
		{"worker joins on the loopback", node, worker, "127.0.0.1", ""},
		{"worker poses as coordinator", worker, node, "coordinator", "failed to verify certificate"},
		{"worker poses as coordinator on localhost", worker, node, "localhost", "failed to verify certificate"},
		{"worker poses as coordinator on 127.0.0.1", worker, node, "127.0.0.1", "failed to verify certificate"},
		{"worker poses as coordinator on ::1", worker, node, "::1", "failed to verify certificate"},
		{"worker poses as coordinator to a worker", worker, worker, "localhost", "failed to verify certificate"},
		{"issued serving certificate", coord2, worker, "coord2.example", ""},
		{"issued serving certificate, its IP", coord2, worker, "10.0.0.9", ""},
		{"issued serving certificate on localhost", coord2, worker, "localhost", "not localhost"},
		{"shared node certificate serves (documented)", node, node, "localhost", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := handshake(t, tc.server.ServerConfig(), tc.client.ClientConfig(tc.dial))
			if tc.want == "" && err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("handshake: %v, want %q", err, tc.want)
			}
		})
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
