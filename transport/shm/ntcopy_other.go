//go:build linux && !amd64

package shm

// copyTo copies p into d: non-temporal stores are amd64 only (ntcopy_amd64.go).
func copyTo(d, p []byte) { copy(d, p) }
