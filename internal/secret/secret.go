// Package secret loads the cluster secret and derives the per-purpose keys
// from it (HKDF-SHA256), so that no key is ever reused across the data
// plane, gossip and the control plane. The secret itself is never logged.
package secret

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// MinLen is the shortest accepted secret, in bytes.
const MinLen = 16

// New returns a fresh random secret (hex, 64 characters).
func New() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return []byte(hex.EncodeToString(b))
}

// Load returns the secret from a file (whitespace trimmed) if path is set,
// else from the environment variable env. It names where it looked when the
// secret is missing or too short.
func Load(path, env string) ([]byte, error) {
	var s []byte
	switch {
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("cluster secret: %w", err)
		}
		s = []byte(strings.TrimSpace(string(b)))
		if len(s) < MinLen {
			return nil, fmt.Errorf("cluster secret in %s is %d bytes, want at least %d", path, len(s), MinLen)
		}
	default:
		s = []byte(os.Getenv(env))
		if len(s) == 0 {
			return nil, fmt.Errorf("no cluster secret: set %s or pass --secret-file", env)
		}
		if len(s) < MinLen {
			return nil, fmt.Errorf("cluster secret in %s is %d bytes, want at least %d", env, len(s), MinLen)
		}
	}
	return s, nil
}

// Derive returns a 32-byte key for purpose.
func Derive(secret []byte, purpose string) ([]byte, error) {
	if len(secret) < MinLen {
		return nil, errors.New("cluster secret too short")
	}
	return hkdf.Key(sha256.New, secret, nil, "ringtrain "+purpose, 32)
}

// ControlToken is the bearer token for the gRPC control plane.
func ControlToken(secret []byte) (string, error) {
	k, err := Derive(secret, "control-plane token v1")
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(k), nil
}

// Equal compares tokens in constant time.
func Equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
