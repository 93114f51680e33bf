package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names inside a TLS directory.
const (
	CACert   = "ca.crt"
	CAKey    = "ca.key"
	NodeCert = "node.crt"
	NodeKey  = "node.key"
)

// loopbackHosts are always in Init's node certificate (the coordinator's),
// so that local tools (status, probes) and launch reach the coordinator on
// the loopback.
func loopbackHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// Options for Init and Issue.
type Options struct {
	// Hosts are the DNS names or IP addresses a serving certificate is
	// valid for (the coordinator's address as the workers dial it): for
	// Init, in addition to localhost, 127.0.0.1 and ::1; for Issue, the only
	// names, and only with Server.
	Hosts []string
	// Server makes Issue sign a serving certificate (server and client
	// use, valid for Hosts); without it Issue signs a client-only
	// certificate that names no host and cannot serve the control plane.
	// Init's node certificate always serves.
	Server bool
	// Validity of the certificates. Default one year (the CA: ten).
	Validity time.Duration
	// Cluster names the cluster in the certificates' subjects.
	Cluster string
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Validity <= 0 {
		o.Validity = 365 * 24 * time.Hour
	}
	if o.Cluster == "" {
		o.Cluster = "ringtrain"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// ErrExists: Init or Issue found a file it would write already in the
// directory; it wrote nothing.
var ErrExists = errors.New("pki: TLS files already exist")

// refuseExisting returns ErrExists naming the first of names present in dir.
func refuseExisting(dir string, names ...string) error {
	for _, n := range names {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			return fmt.Errorf("%w: %s", ErrExists, filepath.Join(dir, n))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("pki: %w", err)
		}
	}
	return nil
}

// Init creates a cluster CA and a node certificate in dir. If any of the
// four files exists it returns ErrExists and writes nothing, so that a
// running cluster's CA is never replaced by accident. The node certificate
// serves (it is the coordinator's; launch and a shared-certificate cluster
// use it on every node) and names localhost, 127.0.0.1, ::1 and o.Hosts.
func Init(dir string, o Options) error {
	o.defaults()
	if err := refuseExisting(dir, CACert, CAKey, NodeCert, NodeKey); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	now := o.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{o.Cluster}, CommonName: o.Cluster + " cluster CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * o.Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("pki: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	// Keys first, certificates last: a half-written directory fails to load
	// rather than loading a certificate without its key.
	if err := writeKey(filepath.Join(dir, CAKey), caKey); err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, CACert), "CERTIFICATE", der); err != nil {
		return err
	}
	o.Server, o.Hosts = true, append(loopbackHosts(), o.Hosts...)
	return issue(dir, "node", ca, caKey, o)
}

// Issue signs another node certificate, NAME.crt and NAME.key, with the CA
// in dir (for clusters that want one certificate per node): client-only
// unless o.Server, then valid for o.Hosts alone. If NAME.crt or NAME.key
// exists it returns ErrExists and writes nothing.
func Issue(dir, name string, o Options) error {
	o.defaults()
	if name == "" || strings.ContainsAny(name, `/\.`) || name == "ca" {
		return fmt.Errorf("pki: certificate name %q: want a plain name such as worker-3 (not ca)", name)
	}
	switch hosts := slices.DeleteFunc(slices.Clone(o.Hosts), func(h string) bool { return strings.TrimSpace(h) == "" }); {
	case o.Server && len(hosts) == 0:
		return fmt.Errorf("pki: a serving certificate needs the host names or IPs it is reached by (Hosts)")
	case !o.Server && len(hosts) > 0:
		return fmt.Errorf("pki: hosts %v given for a client-only certificate: host names are for a serving certificate (the coordinator's)", hosts)
	}
	if err := refuseExisting(dir, name+".crt", name+".key"); err != nil {
		return err
	}
	ca, err := readCert(filepath.Join(dir, CACert))
	if err != nil {
		return err
	}
	key, err := readKey(filepath.Join(dir, CAKey))
	if err != nil {
		return err
	}
	return issue(dir, name, ca, key, o)
}

func issue(dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, o Options) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	now := o.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{o.Cluster}, CommonName: o.Cluster + " " + name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(o.Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if o.Server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	for _, h := range o.Hosts {
		h = strings.TrimSpace(h)
		switch ip := net.ParseIP(h); {
		case h == "":
		case ip != nil:
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		default:
			if strings.ContainsAny(h, " :/") {
				return fmt.Errorf("pki: host %q: want a DNS name or an IP address", h)
			}
			if !slices.Contains(tmpl.DNSNames, h) {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("pki: node certificate: %w", err)
	}
	if err := writeKey(filepath.Join(dir, name+".key"), key); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, name+".crt"), "CERTIFICATE", der)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func writeKey(path string, k *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return writePEM(path, "PRIVATE KEY", der)
}

// writePEM writes the file durably (temp file, fsync, rename, fsync dir),
// 0600 like every file ringtrain writes: certificates are not secret, but
// nobody else needs to read them where they are made.
func writePEM(path, typ string, der []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: typ, Bytes: der}); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	defer d.Close()
	return d.Sync()
}

func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != typ {
		return nil, fmt.Errorf("pki: %s: no PEM %s block", path, typ)
	}
	return blk.Bytes, nil
}

func readCert(path string) (*x509.Certificate, error) {
	der, err := readPEM(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	return c, nil
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("pki: %s: not an ECDSA key", path)
	}
	return ek, nil
}
