package membership

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// gossipKeyInfo is the HKDF "info" string: it binds the derived key to this
// use, so the same cluster secret and run key can safely feed other
// derivations (the data plane's handshake key, the control-plane token).
// v2: the run key became part of the derivation (v1 used the secret only).
const gossipKeyInfo = "ringtrain memberlist gossip v2"

// gossipKeyLen selects AES-256 in memberlist's keyring.
const gossipKeyLen = 32

// GossipKey is memberlist's encryption key for a cluster with this secret
// in the run whose coordinator handed out runKey: HKDF-SHA256 with the
// secret as input keying material and the run key as salt. Both are needed:
// a host that holds only the cluster secret (no certificate, so never
// admitted by the coordinator) cannot compute it, and a new run (a new
// coordinator process) has a new key.
func GossipKey(secret, runKey []byte) ([]byte, error) {
	if len(secret) < minSecretLen || len(runKey) < minRunKeyLen {
		return nil, fmt.Errorf("%w: gossip key from a %d-byte secret and a %d-byte run key: want at least %d and %d",
			ErrInvalidConfig, len(secret), len(runKey), minSecretLen, minRunKeyLen)
	}
	k, err := hkdf.Key(sha256.New, secret, runKey, gossipKeyInfo, gossipKeyLen)
	if err != nil {
		return nil, fmt.Errorf("membership: derive gossip key: %w", err)
	}
	return k, nil
}
