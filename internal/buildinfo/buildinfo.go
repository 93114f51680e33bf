// Package buildinfo reports what binary is running: its version, commit
// and Go version. Workers compare versions with the coordinator at join.
//
// `make build` stamps them at link time (-ldflags "-X
// github.com/ringtrain/ringtrain/internal/buildinfo.commit=<sha> -X
// ...buildinfo.modified=true|false", and ...buildinfo.version=<tag> on a
// tagged commit), so they are known even where Go embeds no VCS
// information (-buildvcs=false, a copy without .git). Otherwise they come
// from the module and VCS information Go embeds. Without a version the
// binary is "dev-<commit[:12]>[-dirty]".
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker (make build); empty otherwise. Not constants: -X
// sets only variables.
var (
	version  = ""
	commit   = ""
	modified = "" // "true" or "false"
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// Get returns the running binary's Info.
func Get() Info {
	info := Info{Version: version, Commit: commit, Modified: modified == "true", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok && commit == "" {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
		if len(info.Commit) >= 12 {
			info.Version += "-" + info.Commit[:12]
		}
		if info.Modified {
			info.Version += "-dirty"
		}
	}
	return info
}
