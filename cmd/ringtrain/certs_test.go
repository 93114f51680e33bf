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
	if out, stderr, code := cli(t, nil, "certs", "issue", "--dir", dir, "--name", "worker-7", "--hosts", "w7"); code != 0 || !strings.Contains(out, "w7") {
		t.Fatalf("issue: exit %d %s %s", code, out, stderr)
	}
	// The key material never reaches the terminal.
	key, _ := os.ReadFile(filepath.Join(dir, "node.key"))
	if strings.Contains(out, string(key[40:80])) {
		t.Fatal("a private key was printed")
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
