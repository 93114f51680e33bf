package main

import (
	"strconv"
	"strings"
)

// workerLine is a worker's command line: what launch, scale and bench
// train start on this machine and what the coordinator prints for the
// user to run. One builder, so that every worker started or suggested gets
// the flags by the same names. An empty field leaves the worker's default
// (or its RINGTRAIN_<FLAG> variable).
type workerLine struct {
	Join          string // the coordinator's control-plane address
	DataAddr      string
	GossipAddr    string
	GossipPort    int // 0: the worker's default (any free port)
	AdvertiseHost string
	TLSDir        string
	Insecure      bool
	SecretFile    string
	Config        string
	LogLevel      string
	LogFormat     string
	Device        string // --device: cpu, emu, gpu:N ("": the job's model.device)
}

// args is the command line after the binary: "worker --join ...".
func (w workerLine) args() []string {
	a := []string{"worker", "--join", w.Join}
	opt := func(flag, v string) {
		if v != "" {
			a = append(a, flag, v)
		}
	}
	opt("--data-addr", w.DataAddr)
	opt("--gossip-addr", w.GossipAddr)
	if w.GossipPort != 0 {
		a = append(a, "--gossip-port", strconv.Itoa(w.GossipPort))
	}
	opt("--advertise-host", w.AdvertiseHost)
	opt("--tls-dir", w.TLSDir)
	if w.Insecure {
		a = append(a, "--insecure")
	}
	opt("--secret-file", w.SecretFile)
	opt("--config", w.Config)
	opt("--log-level", w.LogLevel)
	opt("--log-format", w.LogFormat)
	opt("--device", w.Device)
	return a
}

// shellLine is self followed by args, each quoted for a POSIX shell when it
// needs to be, for a command printed to paste.
func shellLine(self string, args []string) string {
	parts := []string{self}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=@+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
