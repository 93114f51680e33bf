package deploy

import (
	"context"
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
// and exits with the coordinator's status 0; `down -v` works without
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
