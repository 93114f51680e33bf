//go:build linux

package route

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
)

// HostKey identifies the shared-memory domain of this process: two
// processes with the same key run on the same kernel (boot id), in the same
// pid namespace (so /proc shows each other) and as the same user (so each
// may open the other's descriptors). Containers with their own pid
// namespace get keys of their own and talk over TCP.
func HostKey() ([keyBytes]byte, error) {
	var key [keyBytes]byte
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return key, fmt.Errorf("no host identity for shared memory: %w", err)
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return key, fmt.Errorf("no pid namespace identity for shared memory: %w", err)
	}
	sum := sha256.Sum256([]byte("ringtrain host\x00" + string(boot) + "\x00" + ns + "\x00" + strconv.Itoa(os.Getuid())))
	copy(key[:], sum[:])
	return key, nil
}
