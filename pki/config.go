package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// Bundle is a node's TLS material: the cluster CA and its own certificate.
type Bundle struct {
	Dir  string
	CA   *x509.CertPool
	Cert tls.Certificate
	// Leaf is the node certificate, parsed.
	Leaf *x509.Certificate
	// CertFile is the node certificate's file.
	CertFile string
}

// Load reads ca.crt, node.crt and node.key from dir and checks that they
// belong together: the key matches the certificate, the CA signed it, and it
// is valid now.
func Load(dir string) (*Bundle, error) {
	return LoadFiles(filepath.Join(dir, CACert), filepath.Join(dir, NodeCert), filepath.Join(dir, NodeKey))
}

// LoadFiles is Load with explicit file names.
func LoadFiles(caFile, certFile, keyFile string) (*Bundle, error) {
	ca, err := readCert(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w (create the cluster's TLS files with: ringtrain certs init)", err)
	}
	if !ca.IsCA {
		return nil, fmt.Errorf("pki: %s is not a CA certificate", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("pki: %s with %s: %w", certFile, keyFile, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("pki: %s: %w", certFile, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("pki: %s does not verify against %s (certificates of another cluster, or expired): %w", certFile, caFile, err)
	}
	if time.Until(leaf.NotAfter) < 0 {
		return nil, fmt.Errorf("pki: %s expired on %s", certFile, leaf.NotAfter.Format(time.DateOnly))
	}
	return &Bundle{Dir: filepath.Dir(certFile), CA: pool, Cert: cert, Leaf: leaf, CertFile: certFile}, nil
}

// CanServe reports whether the node certificate may serve the control
// plane (extended key usage serverAuth): init's node certificate and those
// of certs issue --server do; a client-only certificate (certs issue
// without --server) does not, and clients would refuse it.
func (b *Bundle) CanServe() error {
	if slices.Contains(b.Leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || slices.Contains(b.Leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return nil
	}
	return fmt.Errorf("pki: %s is a client-only certificate (certs issue without --server): it cannot serve the control plane; give the coordinator the node certificate of certs init or one of certs issue --server --hosts HOST,...", b.CertFile)
}

// ServerConfig is the coordinator's: TLS 1.3, and a client certificate
// signed by the cluster CA is required.
func (b *Bundle) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{b.Cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    b.CA,
	}
}

// ClientConfig is a worker's or a tool's: TLS 1.3, the server's certificate
// must be signed by the cluster CA and name serverName (the host the client
// dials, unless overridden), and this node's certificate is presented.
func (b *Bundle) ClientConfig(serverName string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{b.Cert},
		RootCAs:      b.CA,
		ServerName:   serverName,
	}
}
