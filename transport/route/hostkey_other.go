//go:build !linux

package route

import "errors"

// HostKey fails off Linux: shared memory (transport/shm) needs memfd and
// futex.
func HostKey() ([keyBytes]byte, error) {
	return [keyBytes]byte{}, errors.New("shared memory needs Linux")
}
