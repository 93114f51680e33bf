package membership

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// gossipKeyInfo is the HKDF "info" string: it binds the derived key to this
// use, so the same cluster secret can safely feed other derivations.
const gossipKeyInfo = "ringtrain memberlist gossip v1"

// gossipKeyLen selects AES-256 in memberlist's keyring.
const gossipKeyLen = 32

// gossipKey derives memberlist's encryption key from the cluster secret with
// HKDF-SHA256 (no salt). The same secret always gives the same key.
func gossipKey(secret []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, gossipKeyInfo, gossipKeyLen)
	if err != nil {
		return nil, fmt.Errorf("membership: derive gossip key: %w", err)
	}
	return k, nil
}
