package serve_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/pki"
	"github.com/ringtrain/ringtrain/serve"
)

const testToken = "0123456789abcdef-serve-token"

// certDir makes a CA and a serving certificate for 127.0.0.1 with the pki
// package, as ringtrain certs init and certs issue --server do.
func certDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := pki.Init(dir, pki.Options{Hosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	if err := pki.Issue(dir, "serve", pki.Options{Server: true, Hosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startTLS serves a small model over HTTPS with opts until the test ends;
// it returns the base URL.
func startTLS(t *testing.T, opts serve.Options) string {
	t.Helper()
	dir := t.TempDir()
	commit(t, dir, mlpSpec, initParams(t, mlpSpec, 1), 10)
	r := start(t, serve.Source{Store: openStore(t, dir), Step: 10}, opts)
	return "https://" + strings.TrimPrefix(r.url, "http://")
}

// client trusts the CA of dir and presents cert (NAME.crt/NAME.key of
// dir) when cert is not "".
func client(t *testing.T, dir, cert string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(dir, pki.CACert))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != "" {
		c, err := tls.LoadX509KeyPair(filepath.Join(dir, cert+".crt"), filepath.Join(dir, cert+".key"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// do sends method url with body and the bearer token (none if ""); it
// returns the status, the body and the headers, or the transport error.
func do(c *http.Client, method, url, body, token string) (int, string, http.Header, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header, err
}

// TestTLSAndToken serves HTTPS with a certificate of certs issue --server
// and a bearer token: a client of another CA is refused at the handshake;
// the health probes need no token; every other endpoint answers 401 with
// WWW-Authenticate without the token or with another, and 200 with it; the
// refusals are counted by reason.
func TestTLSAndToken(t *testing.T) {
	dir := certDir(t)
	cfg, err := serve.TLSConfig(filepath.Join(dir, "serve.crt"), filepath.Join(dir, "serve.key"), "")
	if err != nil {
		t.Fatal(err)
	}
	base := startTLS(t, serve.Options{TLS: cfg, Token: []byte(testToken)})
	good := client(t, dir, "")

	if _, _, _, err := do(client(t, certDir(t), ""), "GET", base+"/v2/health/ready", "", ""); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client trusting another CA: err %v, want a certificate error", err)
	}
	for _, path := range []string{"/v2/health/live", "/v2/health/ready"} {
		if code, body, _, err := do(good, "GET", base+path, "", ""); err != nil || code != 200 {
			t.Errorf("GET %s without a token: %d %s %v, want 200", path, code, body, err)
		}
	}
	infer := inferBody(randomX(1, 6, 1), 1, mlpSpec.Input)
	cases := []struct{ method, path, body string }{
		{"POST", "/v2/models/m/infer", infer},
		{"POST", "/predict", `{"instances":[[1,2,3,4,5,6]]}`},
		{"GET", "/v2/models/m", ""},
		{"GET", "/v2/models/m/ready", ""},
		{"GET", "/metrics", ""},
		{"GET", "/", ""},
	}
	for _, c := range cases {
		for _, tok := range []string{"", "0123456789abcdef-wrong-token"} {
			code, body, hdr, err := do(good, c.method, base+c.path, c.body, tok)
			if err != nil || code != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("%s %s with token %q: %d %q WWW-Authenticate %q %v, want 401 with a Bearer challenge", c.method, c.path, tok, code, body, hdr.Get("WWW-Authenticate"), err)
			}
		}
		if code, body, _, err := do(good, c.method, base+c.path, c.body, testToken); err != nil || code != 200 {
			t.Errorf("%s %s with the token: %d %s %v, want 200", c.method, c.path, code, body, err)
		}
	}
	_, metrics, _, err := do(good, "GET", base+"/metrics", "", testToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{"missing", "invalid"} {
		want := `ringtrain_serve_unauthorized_requests_total{reason="` + reason + `"} 6`
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Other schemes and a token sent without a scheme are refused.
	for _, h := range []string{"Basic " + testToken, testToken, "Bearer"} {
		req, _ := http.NewRequest("GET", base+"/v2/models/m", nil)
		req.Header.Set("Authorization", h)
		resp, err := good.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("Authorization %q: %d, want 401", h, resp.StatusCode)
		}
	}
}

// TestMutualTLS requires client certificates of the cluster CA: a client
// without one is refused, one with the node certificate of certs init is
// served.
func TestMutualTLS(t *testing.T) {
	dir := certDir(t)
	cfg, err := serve.TLSConfig(filepath.Join(dir, "serve.crt"), filepath.Join(dir, "serve.key"), filepath.Join(dir, pki.CACert))
	if err != nil {
		t.Fatal(err)
	}
	base := startTLS(t, serve.Options{TLS: cfg})
	if _, _, _, err := do(client(t, dir, ""), "GET", base+"/v2/health/live", "", ""); err == nil {
		t.Error("a client without a certificate was served")
	}
	other := certDir(t) // a client certificate of another CA
	c := client(t, dir, "")
	cert, err := tls.LoadX509KeyPair(filepath.Join(other, "node.crt"), filepath.Join(other, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	c.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
	if _, _, _, err := do(c, "GET", base+"/v2/health/live", "", ""); err == nil {
		t.Error("a client certificate of another CA was accepted")
	}
	if code, body, _, err := do(client(t, dir, "node"), "POST", base+"/predict", `{"instances":[[1,2,3,4,5,6]]}`, ""); err != nil || code != 200 {
		t.Errorf("a client with the cluster's certificate: %d %s %v, want 200", code, body, err)
	}
}

// TestSecurityBadInput: TLS files that do not serve and short tokens are
// refused with the reason.
func TestSecurityBadInput(t *testing.T) {
	dir := certDir(t)
	if err := pki.Issue(dir, "client", pki.Options{}); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ cert, key, ca, want string }{
		{"client.crt", "client.key", "", "client use only"},
		{"serve.crt", "node.key", "", "serve.crt with key"},
		{"missing.crt", "serve.key", "", "missing.crt"},
		{"serve.crt", "serve.key", notPEM, "no PEM certificate"},
		{"serve.crt", "serve.key", filepath.Join(dir, "absent.crt"), "client CA"},
	} {
		ca := c.ca
		_, err := serve.TLSConfig(filepath.Join(dir, c.cert), filepath.Join(dir, c.key), ca)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("TLSConfig(%s, %s, %s): %v, want an error with %q", c.cert, c.key, ca, err, c.want)
		}
	}
	cdir := t.TempDir()
	commit(t, cdir, mlpSpec, initParams(t, mlpSpec, 1), 10)
	if _, err := serve.New(serve.Source{Store: openStore(t, cdir)}, serve.Options{Token: []byte("short")}); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Errorf("a 5-byte token: %v, want refused", err)
	}
}
