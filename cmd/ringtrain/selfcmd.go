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
// under GOTMPDIR (default: the system's temporary directory).
func isGoRunBuild(exe string) bool {
	dir := filepath.Dir(exe)
	work := filepath.Dir(filepath.Dir(dir))
	return filepath.Base(dir) == "exe" && strings.HasPrefix(filepath.Base(work), "go-build")
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
