package main

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The worker command line that launch, scale and bench train start and the
// coordinator prints: every field becomes its flag, and the real worker
// verb parses it back to the same values.
func TestWorkerLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		line workerLine
		want []string
	}{
		{"join only", workerLine{Join: "10.0.0.1:7070"}, []string{"worker", "--join", "10.0.0.1:7070"}},
		{"local child", workerLine{Join: "127.0.0.1:4000", DataAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1", AdvertiseHost: "127.0.0.1",
			TLSDir: "runs/x/tls", LogLevel: "debug", LogFormat: "json"},
			[]string{"worker", "--join", "127.0.0.1:4000", "--data-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1", "--advertise-host", "127.0.0.1",
				"--tls-dir", "runs/x/tls", "--log-level", "debug", "--log-format", "json"}},
		{"insecure", workerLine{Join: "h:1", Insecure: true, GossipPort: 7947, SecretFile: "s", Config: "job.yaml"},
			[]string{"worker", "--join", "h:1", "--gossip-port", "7947", "--insecure", "--secret-file", "s", "--config", "job.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.line.args()
			if !slices.Equal(got, tc.want) {
				t.Fatalf("args %q\nwant %q", got, tc.want)
			}
			g := &globals{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, logLevel: "info", logFormat: "text"}
			root := newRoot(g)
			cmd, rest, err := root.Find(got)
			if err != nil || cmd.Name() != "worker" {
				t.Fatalf("find %q: %v, %v", got, cmd, err)
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Fatalf("the worker verb refuses its own command line: %v", err)
			}
			fs := cmd.Flags()
			for flag, want := range map[string]string{"join": tc.line.Join, "data-addr": tc.line.DataAddr, "gossip-addr": tc.line.GossipAddr,
				"advertise-host": tc.line.AdvertiseHost, "tls-dir": tc.line.TLSDir, "secret-file": tc.line.SecretFile, "config": tc.line.Config,
				"log-level": tc.line.LogLevel, "log-format": tc.line.LogFormat} {
				if want == "" {
					if fs.Changed(flag) {
						t.Errorf("--%s set, want the default", flag)
					}
					continue
				}
				if v := fs.Lookup(flag).Value.String(); v != want {
					t.Errorf("--%s parsed as %q, want %q", flag, v, want)
				}
			}
			if v, _ := fs.GetBool("insecure"); v != tc.line.Insecure {
				t.Errorf("--insecure %v, want %v", v, tc.line.Insecure)
			}
			if p, _ := fs.GetInt("gossip-port"); tc.line.GossipPort != 0 && p != tc.line.GossipPort {
				t.Errorf("--gossip-port %d, want %d", p, tc.line.GossipPort)
			}
		})
	}
}

// A printed command line survives a POSIX shell: sh splits it back into
// the same words.
func TestShellLine(t *testing.T) {
	args := []string{"worker", "--join", "10.0.0.1:7070", "--tls-dir", "my certs", "--secret-file", "it's", "--config", "", "--x", "a$b`c`\"d\""}
	line := shellLine("ringtrain", args)
	if !strings.HasPrefix(line, "ringtrain worker --join 10.0.0.1:7070 --tls-dir 'my certs' ") {
		t.Fatalf("line %s", line)
	}
	out, err := exec.Command("sh", "-c", `f() { for a in "$@"; do printf '%s\n' "[$a]"; done; }; f `+strings.TrimPrefix(line, "ringtrain ")).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, a := range args {
		want.WriteString("[" + a + "]\n")
	}
	if string(out) != want.String() {
		t.Fatalf("sh split %s into\n%s\nwant\n%s", line, out, want.String())
	}
}
