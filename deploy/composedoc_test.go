package deploy

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// docCompose returns the arguments after "docker-compose -f
// deploy/compose.yaml" of the line of docs/deploy.md that runs verb.
func docCompose(t *testing.T, verb string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^docker-compose -f deploy/compose\.yaml (` + verb + `\b[^#\n]*)`)
	m := re.FindSubmatch(b)
	if m == nil {
		t.Fatalf("docs/deploy.md has no docker-compose -f deploy/compose.yaml %s line", verb)
	}
	return strings.Fields(string(m[1]))
}

// The Compose commands of docs/deploy.md, as written there: `up` runs the
// cluster to the end (the one-shot certs service exiting does not stop it)
// and exits with the coordinator's status 0; `up -d serve` serves the run
// just trained (checkComposeServe); `down -v` works without
// RINGTRAIN_SECRET. Only the project name and a short job are added.
func TestComposeDocumentedCommands(t *testing.T) {
	img := buildImage(t)
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Skip("no docker-compose")
	}
	up, down := docCompose(t, "up"), docCompose(t, "down")
	p := jobProject(t, "rtdoc", img, "train: {steps: 60}\ncheckpoint: {every_epochs: 0, every_steps: 30}\n",
		"compose-doc-secret-0123456789abcdef")
	downEnv := func() []string { // the documented down, without the secret
		var env []string
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "RINGTRAIN_SECRET=") {
				env = append(env, e)
			}
		}
		return append(env, "RINGTRAIN_IMAGE="+img)
	}
	downed := false
	t.Cleanup(func() {
		if downed {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		p.run(ctx, "down", "-v", "--remove-orphans", "-t", "1")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := p.run(ctx, up...)
	if err != nil || !strings.Contains(out, "test accuracy") {
		t.Fatalf("docker-compose %s: %v\n%s", strings.Join(up, " "), err, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "test accuracy") {
			t.Log(strings.TrimSpace(l))
		}
	}

	checkComposeServe(ctx, t, p, docCompose(t, `up -d serve`), "60")

	args := []string{"-p", p.name}
	for _, f := range p.files {
		args = append(args, "-f", f)
	}
	cmd := exec.CommandContext(ctx, "docker-compose", append(args, down...)...)
	cmd.Env = downEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose %s without RINGTRAIN_SECRET: %v\n%s", strings.Join(down, " "), err, b)
	}
	downed = true
	if b, _ := exec.Command("docker", "volume", "ls", "-q", "--filter", "name="+p.name).Output(); strings.TrimSpace(string(b)) != "" {
		t.Fatalf("volumes left after down -v: %s", b)
	}
}

// checkComposeServe runs up (the documented `up -d serve`) in project p,
// whose run has ended at step last: on the port Compose published, the
// server becomes ready, serves the run's last checkpoint under the
// documented name, and applies the run's job.yaml (an instance of 300s is
// counted out_of_range: the default MNIST's inputs are 0-255), from the
// read-only volume with a read-only root file system.
func checkComposeServe(ctx context.Context, t *testing.T, p *composeProject, up []string, last string) {
	t.Helper()
	if out, err := p.run(ctx, up...); err != nil {
		t.Fatalf("docker-compose %s: %v\n%s", strings.Join(up, " "), err, out)
	}
	logs := func() string { out, _ := p.run(context.Background(), "logs", "--no-color", "serve"); return out }
	hostPort, err := p.run(ctx, "port", "serve", "8080")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(hostPort), "127.0.0.1:") {
		t.Fatalf("docker-compose port serve 8080: %v %q\n%s", err, hostPort, logs())
	}
	base := "http://" + strings.TrimSpace(hostPort)
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := get("/v2/health/ready")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready on %s: %d %s\n%s", base, code, body, logs())
		}
		time.Sleep(250 * time.Millisecond)
	}
	if code, body := get("/v2/models/mnist-mlp"); code != http.StatusOK || !strings.Contains(body, `"versions":["`+last+`"]`) {
		t.Fatalf("GET /v2/models/mnist-mlp: %d %s, want version %s\n%s", code, body, last, logs())
	}
	bright := `{"instances": [[` + strings.Repeat("300,", 783) + `300]]}`
	resp, err := http.Post(base+"/predict", "application/json", strings.NewReader(bright))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, body := get("/metrics"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `ringtrain_serve_abnormal_requests_total{kind="out_of_range"} 1`) {
		t.Errorf("an instance of 300s (predict %d) is not counted out_of_range: the run's job.yaml did not reach serve", resp.StatusCode)
	}
	t.Logf("serve: ready on %s, version %s", base, last)
}
