package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// --metrics-addr has one meaning on both verbs: HOST:PORT, auto (a free
// loopback port) or off.
func TestMetricsAddr(t *testing.T) {
	for _, tc := range []struct {
		set              string
		coordinator, wkr string
		wantErr          string
	}{
		{set: "", wantErr: "want HOST:PORT, auto or off"},
		{set: "9090", wantErr: "want HOST:PORT, auto or off"},
		{set: "auto", coordinator: "127.0.0.1:0", wkr: "127.0.0.1:0"},
		{set: "off", coordinator: "", wkr: "off"},
		{set: "0.0.0.0:9090", coordinator: "0.0.0.0:9090", wkr: "0.0.0.0:9090"},
		{set: ":9091", coordinator: ":9091", wkr: ":9091"},
		{set: "10.0.0.5:0", coordinator: "10.0.0.5:0", wkr: "10.0.0.5:0"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			var m metricsAddr
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			fs.SetOutput(&bytes.Buffer{})
			m.register(fs)
			if m.String() != metricsAuto || m.coordinator() != "127.0.0.1:0" || m.worker() != "127.0.0.1:0" {
				t.Fatalf("default %q (coordinator %q, worker %q), want auto on 127.0.0.1:0", m.String(), m.coordinator(), m.worker())
			}
			err := fs.Parse([]string{"--metrics-addr", tc.set})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("--metrics-addr %q: err %v, want %q", tc.set, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := m.coordinator(); c != tc.coordinator || m.worker() != tc.wkr {
				t.Fatalf("coordinator %q, worker %q; want %q, %q", c, m.worker(), tc.coordinator, tc.wkr)
			}
		})
	}
}

// --resume is a bool; the old RUN_DIR value becomes --run-dir.
func TestResumeFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		runDir  string // --run-dir afterwards
		mode    resumeMode
		notice  bool
		wantErr string
	}{
		{args: nil, mode: resumeNo},
		{args: []string{"--resume", "--run-dir", "r"}, runDir: "r", mode: resumeYes},
		{args: []string{"--run-dir", "r", "--resume"}, runDir: "r", mode: resumeYes},
		{args: []string{"--resume=true", "--run-dir", "r"}, runDir: "r", mode: resumeYes},
		{args: []string{"--resume=false", "--run-dir", "r"}, runDir: "r", mode: resumeNo},
		{args: []string{"--resume", "r"}, runDir: "r", mode: resumeYes, notice: true},
		{args: []string{"--resume=r"}, runDir: "r", mode: resumeYes, notice: true},
		{args: []string{"--resume", "r", "--run-dir", "r"}, runDir: "r", mode: resumeYes, notice: true},
		{args: []string{"--resume", "r", "--run-dir", "s"}, wantErr: "--run-dir s differs"},
		{args: []string{"--resume=r", "x"}, wantErr: "unexpected arguments"},
		{args: []string{"--resume", "r", "x"}, wantErr: "unexpected arguments"},
		{args: []string{"r"}, wantErr: `unexpected argument "r"`},
		{args: []string{"--resume", "--auto-resume", "--run-dir", "r"}, wantErr: "exclude each other"},
		{args: []string{"--auto-resume", "--run-dir", "r"}, runDir: "r", mode: resumeAuto},
		{args: []string{"--strict-resume", "--resume", "--run-dir", "r"}, runDir: "r", mode: resumeYes},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var rf resumeFlags
			var runDir string
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			rf.register(fs, true)
			fs.StringVar(&runDir, "run-dir", "", "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			var warn bytes.Buffer
			err := rf.oldRunDir(fs.Args(), &runDir, &warn)
			var mode resumeMode
			if err == nil {
				mode, err = rf.mode()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || runDir != tc.runDir || mode != tc.mode {
				t.Fatalf("run dir %q, mode %d, err %v; want %q, %d", runDir, mode, err, tc.runDir, tc.mode)
			}
			if got := strings.Contains(warn.String(), "has been deprecated, use --resume --run-dir "+tc.runDir); got != tc.notice {
				t.Fatalf("deprecation notice %v, want %v: %q", got, tc.notice, warn.String())
			}
			if strict := slices.Contains(tc.args, "--strict-resume"); rf.strict != strict {
				t.Fatalf("strict %v, want %v", rf.strict, strict)
			}
			// The coordinator's --resume was always a bool (and the verb
			// takes no arguments).
			valued := slices.Contains(tc.args, "--resume=r")
			if err := rf.plain(); (err != nil) != valued || (err != nil && !strings.Contains(err.Error(), "want true or false")) {
				t.Fatalf("plain: %v, want an error only for a RUN_DIR value (%v)", err, valued)
			}
		})
	}
}

// The shared flags are declared once: every verb that has one describes
// it in the same words and with the same default (certs writes the TLS
// directory the others read, so its --tls-dir is its own).
func TestSharedFlagsAreDeclaredOnce(t *testing.T) {
	g := &globals{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, logLevel: "info", logFormat: "text"}
	type decl struct{ usage, def, typ string }
	seen := map[string]map[decl][]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Parent() == nil || c.Parent().Name() != "certs" {
			c.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if canonical(f) != f.Name {
					return // an old spelling (TestDeprecatedAliases)
				}
				if seen[f.Name] == nil {
					seen[f.Name] = map[decl][]string{}
				}
				d := decl{f.Usage, f.DefValue, f.Value.Type()}
				if f.Name == "gossip-port" {
					d.def = "" // the coordinator's fixed port, a worker's any
				}
				seen[f.Name][d] = append(seen[f.Name][d], c.CommandPath())
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(g))
	for _, tc := range []struct {
		flag  string
		verbs int // at least this many verbs declare it
	}{
		{"secret-file", 4}, {"tls-dir", 3}, {"insecure", 4}, {"tls-server-name", 2}, {"metrics-addr", 2},
		{"gossip-addr", 2}, {"gossip-port", 2}, {"resume", 2}, {"strict-resume", 2}, {"run-dir", 3},
		{"config", 4}, {"workers", 3}, {"worlds", 4},
	} {
		decls := seen[tc.flag]
		n := 0
		for _, verbs := range decls {
			n += len(verbs)
		}
		if n < tc.verbs {
			t.Errorf("--%s: declared by %d verbs, want at least %d: %v", tc.flag, n, tc.verbs, decls)
		}
		if tc.flag == "run-dir" || tc.flag == "config" || tc.flag == "workers" || tc.flag == "worlds" {
			// One meaning, worded per verb; the type is the same.
			types := map[string]bool{}
			for d := range decls {
				types[d.typ] = true
			}
			if len(types) != 1 {
				t.Errorf("--%s has several types: %v", tc.flag, decls)
			}
			continue
		}
		if len(decls) != 1 {
			t.Errorf("--%s is declared in %d ways: %v", tc.flag, len(decls), decls)
		}
	}
}

// The coordinator's --metrics-addr: auto serves on loopback even when the
// control plane listens on every interface, an address given serves there,
// off serves nothing, and the line it prints says which (with the worker
// command line to run, as workerLine builds it).
func TestCoordinatorMetricsAddr(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(cfg, []byte("checkpoint: {every_epochs: 0}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		grpc  string
		flags []string
		want  *regexp.Regexp
	}{
		{"127.0.0.1:0", []string{}, regexp.MustCompile(`metrics http://127\.0\.0\.1:\d+/metrics; workers: \S+ worker --join 127\.0\.0\.1:\d+ --insecure\n`)},
		{"0.0.0.0:0", []string{}, regexp.MustCompile(`control plane (0\.0\.0\.0|\[::\]):\d+, .*metrics http://127\.0\.0\.1:\d+/metrics; `)},
		{"0.0.0.0:0", []string{"--metrics-addr", "auto"}, regexp.MustCompile(`metrics http://127\.0\.0\.1:\d+/metrics; `)},
		{"127.0.0.1:0", []string{"--metrics-addr", "0.0.0.0:0"}, regexp.MustCompile(`metrics http://(0\.0\.0\.0|\[::\]):\d+/metrics; `)},
		{"127.0.0.1:0", []string{"--metrics-addr", "off"}, regexp.MustCompile(`metrics off; workers: `)},
	} {
		t.Run("grpc "+tc.grpc+" flags "+strings.Join(tc.flags, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, append([]string{"coordinator", "--insecure", "--config", cfg, "--grpc-addr", tc.grpc,
				"--gossip-addr", "127.0.0.1", "--gossip-port", "0"}, tc.flags...)...)
			cmd.Env = append(os.Environ(), "RINGTRAIN_SECRET=metrics-addr-test-0123456789")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer cmd.Process.Kill()
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil || !tc.want.MatchString(line) {
				t.Fatalf("first line %q (%v), want %v", line, err, tc.want)
			}
		})
	}
}
