// Package buildinfo reports what binary is running: its version (set at
// link time with -ldflags "-X github.com/ringtrain/ringtrain/internal/buildinfo.version=v1.2.3",
// else derived from the module and VCS information Go embeds), commit and Go
// version. Workers compare versions with the coordinator at join.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// version is set by the linker for release builds.
var version = ""

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
	info := Info{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
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
