package main

import "testing"

// Both places `go run` runs a binary from are recognised: a fresh link in
// its work directory, and (Go 1.24+) a cached one in the build cache.
func TestIsGoRunBuild(t *testing.T) {
	h := "56c8f6f74414f719941d5bef7b5a616ce6b205534ac4d0e86dc52402871eb5ef"
	for _, tc := range []struct {
		exe  string
		want bool
	}{
		{"/tmp/go-build1234/b001/exe/ringtrain", true},
		{"/root/.cache/go-build/56/" + h + "-d/ringtrain", true},
		{"/home/u/.cache/go-build/56/" + h + "-d/ringtrain", true},
		{"/root/.cache/go-build/57/" + h + "-d/ringtrain", false}, // shard is not the hash's prefix
		{"/root/.cache/go-build/56/" + h + "/ringtrain", false},   // no -d
		{"/root/.cache/go-build/56/" + h[:60] + "-d/ringtrain", false},
		{"/usr/local/bin/ringtrain", false},
		{"/work/bin/exe/ringtrain", false},
		{"ringtrain", false},
	} {
		if got := isGoRunBuild(tc.exe); got != tc.want {
			t.Errorf("isGoRunBuild(%q) = %v, want %v", tc.exe, got, tc.want)
		}
	}
}
