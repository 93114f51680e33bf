package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func docker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker client: the container tests need a Docker engine")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine, container tests skipped: %s", out)
	}
}

const testImage = "ringtrain:deploy-test"

var imageOnce struct {
	sync.Once
	err error
	out []byte
}

// buildImage builds the FROM-scratch image around a static binary of this
// tree, once per test binary, as testImage.
func buildImage(t *testing.T) string {
	t.Helper()
	docker(t)
	imageOnce.Do(func() {
		ctx, err := os.MkdirTemp("", "ringtrain-image")
		if err != nil {
			imageOnce.err = err
			return
		}
		defer os.RemoveAll(ctx)
		os.Mkdir(filepath.Join(ctx, "data"), 0o755)
		build := exec.Command("go", "build", "-o", filepath.Join(ctx, "ringtrain"), "../cmd/ringtrain")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if imageOnce.out, imageOnce.err = build.CombinedOutput(); imageOnce.err != nil {
			return
		}
		imageOnce.out, imageOnce.err = exec.Command("docker", "build", "-q", "-t", testImage, "-f", "docker/Dockerfile", ctx).CombinedOutput()
	})
	if imageOnce.err != nil {
		t.Fatalf("image: %v\n%s", imageOnce.err, imageOnce.out)
	}
	return testImage
}

// The image builds FROM scratch around the static binary, and runs.
func TestImageBuildsAndRuns(t *testing.T) {
	img := buildImage(t)
	out, err := exec.Command("docker", "run", "--rm", img, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ringtrain ") {
		t.Fatalf("docker run version: %v\n%s", err, out)
	}
	// Nothing but the binary and the two empty directories.
	out, err = exec.Command("docker", "image", "inspect", "--format", "{{.Config.User}} {{.Size}}", img).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "65534:65534 ") {
		t.Fatalf("image user: %v %s", err, out)
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
