package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func docker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker client")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine: %s", out)
	}
}

// The image builds FROM scratch around the static binary, and runs.
func TestImageBuildsAndRuns(t *testing.T) {
	docker(t)
	ctx := t.TempDir()
	os.Mkdir(filepath.Join(ctx, "data"), 0o755)
	build := exec.Command("go", "build", "-o", filepath.Join(ctx, "ringtrain"), "../cmd/ringtrain")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	tag := "ringtrain:deploy-test"
	if out, err := exec.Command("docker", "build", "-q", "-t", tag, "-f", "docker/Dockerfile", ctx).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	out, err := exec.Command("docker", "run", "--rm", tag, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ringtrain ") {
		t.Fatalf("docker run version: %v\n%s", err, out)
	}
}

// compose.yaml is valid for the installed Compose.
func TestComposeFileIsValid(t *testing.T) {
	docker(t)
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Skip("no docker-compose")
	}
	cmd := exec.Command("docker-compose", "-f", "compose.yaml", "config", "-q")
	cmd.Env = append(os.Environ(), "RINGTRAIN_SECRET=compose-config-check-0123456789")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
}
