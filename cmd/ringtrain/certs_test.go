package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCertsInitAndIssue(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	out, stderr, code := cli(t, nil, "certs", "init", "--dir", dir, "--hosts", "coordinator,10.1.2.3")
	if code != 0 || !strings.Contains(out, "valid for localhost, coordinator, 127.0.0.1, ::1, 10.1.2.3") {
		t.Fatalf("certs init: exit %d\n%s%s", code, out, stderr)
	}
	ca, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	// A second init refuses to replace the CA; --if-missing keeps it.
	if _, stderr, code := cli(t, nil, "certs", "init", "--dir", dir); code == 0 || !strings.Contains(stderr, "already exist") {
		t.Fatalf("second init: exit %d %s", code, stderr)
	}
	if out, _, code := cli(t, nil, "certs", "init", "--dir", dir, "--if-missing"); code != 0 || !strings.HasPrefix(out, "kept") {
		t.Fatalf("--if-missing: exit %d %s", code, out)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "ca.crt")); string(again) != string(ca) {
		t.Fatal("the CA was replaced")
	}
	// certs issue: client-only by default; a serving certificate names its
	// --hosts only; an existing name is refused and its files kept (issue
	// --name node once replaced the coordinator's key and host names).
	node, _ := os.ReadFile(filepath.Join(dir, "node.crt"))
	nodeKey, _ := os.ReadFile(filepath.Join(dir, "node.key"))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout on success, stderr on failure
		not  string
	}{
		{"worker", []string{"--name", "worker-7"}, 0, "(client use only, until ", "localhost"},
		{"worker again", []string{"--name", "worker-7"}, 1, "already exist: " + filepath.Join(dir, "worker-7.crt"), ""},
		{"the coordinator's name", []string{"--name", "node"}, 1, "remove node.crt and node.key to reissue", ""},
		{"the coordinator's name, serving", []string{"--name", "node", "--server", "--hosts", "evil.example"}, 1, "already exist", ""},
		{"hosts without --server", []string{"--name", "w8", "--hosts", "w8"}, 1, "add --server", ""},
		{"--server without hosts", []string{"--name", "w8", "--server"}, 1, "--server needs --hosts", ""},
		{"serving", []string{"--name", "coord-2", "--server", "--hosts", "coord2,10.9.9.9"}, 0, "valid for coord2, 10.9.9.9 until", "localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := cli(t, nil, append([]string{"certs", "issue", "--tls-dir", dir}, tc.args...)...)
			got := out
			if tc.code != 0 {
				got = stderr
			}
			if code != tc.code || !strings.Contains(got, tc.want) || (tc.not != "" && strings.Contains(got, tc.not)) {
				t.Fatalf("exit %d, want %d; output %q, want %q and not %q\n%s", code, tc.code, got, tc.want, tc.not, stderr)
			}
			// The key material never reaches the terminal.
			if strings.Contains(out+stderr, string(nodeKey[40:80])) {
				t.Fatal("a private key was printed")
			}
		})
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "node.crt")); string(again) != string(node) {
		t.Fatal("the coordinator's certificate was replaced")
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "node.key")); string(again) != string(nodeKey) {
		t.Fatal("the coordinator's key was replaced")
	}
	if _, err := os.Stat(filepath.Join(dir, "w8.key")); err == nil {
		t.Fatal("a refused issue left w8.key")
	}
}

func TestTLSIsRequiredUnlessInsecure(t *testing.T) {
	sec := []string{"RINGTRAIN_SECRET=tls-flag-tests-0123456789"}
	certs := filepath.Join(t.TempDir(), "certs")
	if _, stderr, code := cli(t, nil, "certs", "init", "--dir", certs); code != 0 {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"coordinator without TLS", []string{"coordinator", "--grpc-addr", "127.0.0.1:0"}, "--tls-dir DIR"},
		{"worker without TLS", []string{"worker", "--join", "127.0.0.1:1"}, "--tls-dir DIR"},
		{"status without TLS", []string{"status", "--coordinator", "127.0.0.1:1"}, "or --insecure"},
		{"both", []string{"status", "--coordinator", "127.0.0.1:1", "--insecure", "--tls-dir", certs}, "exclude each other"},
		{"missing dir", []string{"worker", "--join", "127.0.0.1:1", "--tls-dir", certs + "-nope"}, "ringtrain certs init"},
		{"bad address", []string{"worker", "--join", "nohost", "--tls-dir", certs}, `"nohost"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := cli(t, sec, tc.args...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, stderr, tc.want)
			}
		})
	}
}

// --auto-resume starts afresh on an empty checkpoint directory (a pod's
// first start); --resume insists on a checkpoint.
func TestAutoResumeOnAnEmptyDirectory(t *testing.T) {
	spec, err := loadJob("")
	if err != nil {
		t.Fatal(err)
	}
	var warn strings.Builder
	dir := filepath.Join(t.TempDir(), "checkpoints")
	if _, step, err := openCheckpoints(dir, spec, resumeAuto, false, &warn); err != nil || step != 0 || !strings.Contains(warn.String(), "afresh") {
		t.Fatalf("auto: step %d, %v, %q", step, err, warn.String())
	}
	if _, _, err := openCheckpoints(dir, spec, resumeYes, false, &warn); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Fatalf("--resume on an empty directory: %v", err)
	}
	if _, stderr, code := cli(t, []string{"RINGTRAIN_SECRET=auto-resume-tests-0123456789"}, "coordinator", "--insecure", "--run-dir", t.TempDir(), "--resume", "--auto-resume"); code == 0 || !strings.Contains(stderr, "exclude each other") {
		t.Fatalf("exit %d %s", code, stderr)
	}
}
