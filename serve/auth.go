package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Reasons a request was refused 401 (the "reason" label of
// ringtrain_serve_unauthorized_requests_total).
const (
	authMissing = "missing" // no Authorization: Bearer header
	authInvalid = "invalid" // a bearer token other than the server's
)

// MinTokenLen is the shortest bearer token Options.Token accepts.
const MinTokenLen = 16

// openPaths are answered without a token: the health probes.
var openPaths = map[string]bool{"/v2/health/live": true, "/v2/health/ready": true}

// requireToken wraps next so that every request but the health probes must
// carry "Authorization: Bearer TOKEN" with the server's token. Tokens are
// compared as SHA-256 digests in constant time (neither the token's bytes
// nor its length leak through timing). A refusal is 401 with
// WWW-Authenticate and counted by reason.
func (s *Server) requireToken(next http.Handler) http.Handler {
	want := sha256.Sum256(s.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if openPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			s.unauthorized(w, r, authMissing, `realm="ringtrain"`)
			return
		}
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			s.unauthorized(w, r, authInvalid, `realm="ringtrain", error="invalid_token"`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, reason, challenge string) {
	s.met.unauthorized.WithLabelValues(reason).Inc()
	s.ab.limited("unauthorized:"+reason, "request refused: bearer token "+reason, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	w.Header().Set("WWW-Authenticate", "Bearer "+challenge)
	writeError(w, http.StatusUnauthorized, "bearer token "+reason+": send Authorization: Bearer TOKEN (the server's --token-file)")
}
