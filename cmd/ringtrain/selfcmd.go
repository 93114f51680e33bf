package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// selfCommand is how the user can run this same binary again from the
// current directory, for the commands launch and coordinator print (status,
// worker --join): "ringtrain" when that name on PATH is this binary; "go
// run ./cmd/ringtrain" when this is a `go run` build (its binary is
// deleted when it exits); else the path it was started by.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "ringtrain"
	}
	if onPath, err := exec.LookPath("ringtrain"); err == nil && sameFile(onPath, exe) {
		return "ringtrain"
	}
	if isGoRunBuild(exe) {
		if st, err := os.Stat(filepath.Join("cmd", "ringtrain")); err == nil && st.IsDir() {
			return "go run ./cmd/ringtrain"
		}
		return "go run github.com/ringtrain/ringtrain/cmd/ringtrain"
	}
	if arg0 := os.Args[0]; strings.ContainsRune(arg0, os.PathSeparator) {
		return arg0 // ./bin/ringtrain, bin/ringtrain, /opt/ringtrain
	}
	return exe
}

// isGoRunBuild: `go run` links the binary as go-build<N>/b001/exe/<name>
// under GOTMPDIR (default: the system's temporary directory), or, since Go
// 1.24, runs one cached in the build cache as
// <GOCACHE>/<2 hex>/<64 hex>-d/<name>.
func isGoRunBuild(exe string) bool {
	dir := filepath.Dir(exe)
	work := filepath.Dir(filepath.Dir(dir))
	if filepath.Base(dir) == "exe" && strings.HasPrefix(filepath.Base(work), "go-build") {
		return true
	}
	entry, shard := filepath.Base(dir), filepath.Base(filepath.Dir(dir))
	hash, ok := strings.CutSuffix(entry, "-d")
	return ok && len(shard) == 2 && len(hash) == 64 && strings.HasPrefix(hash, shard) && isHex(hash)
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
