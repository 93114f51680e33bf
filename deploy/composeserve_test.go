package deploy

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ringtrain/ringtrain/job"
)

// composeService is the part of a Compose service these checks read.
type composeService struct {
	Command         []string          `yaml:"command"`
	Ports           []string          `yaml:"ports"`
	Volumes         []string          `yaml:"volumes"`
	Environment     map[string]string `yaml:"environment"`
	ReadOnly        bool              `yaml:"read_only"`
	Restart         string            `yaml:"restart"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	DependsOn       map[string]any    `yaml:"depends_on"`
}

// argOf returns the value of --name in a command, or "".
func argOf(cmd []string, name string) string {
	if i := slices.Index(cmd, name); i >= 0 && i+1 < len(cmd) {
		return cmd[i+1]
	}
	return ""
}

// serveDrainSlack is what serve's drain waits beyond --timeout for the
// requests in flight (serve.Server.Serve: Shutdown gets Timeout + 5 s).
const serveDrainSlack = 5 * time.Second

// TestComposeServeService: compose.yaml's serve service serves the
// coordinator's run directory from the checkpoints volume, read-only and
// following LATEST, under the default job's name, published on the
// loopback interface at the port it listens on, with a read-only root file
// system, a stop grace period that covers the drain, no cluster secret and
// nothing it waits for (so `up -d serve` starts it alone). The real run is
// TestComposeDocumentedCommands.
func TestComposeServeService(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	s, ok := f.Services["serve"]
	if !ok {
		t.Fatal("compose.yaml: no serve service")
	}
	coord := f.Services["coordinator"]
	if len(s.Command) < 2 || s.Command[0] != "serve" {
		t.Fatalf("serve command %q: want serve MODEL ...", s.Command)
	}
	model, runDir := s.Command[1], argOf(coord.Command, "--run-dir")
	if model != runDir || runDir == "" {
		t.Errorf("serves %q, the coordinator's run directory is %q", model, runDir)
	}
	if argOf(s.Command, "--step") != "" {
		t.Error("--step pins one checkpoint: the server would not follow LATEST")
	}
	// The coordinator's volume holding the run, mounted read-only.
	vol := ""
	for _, v := range coord.Volumes {
		if p := strings.Split(v, ":"); len(p) >= 2 && strings.HasPrefix(runDir, strings.TrimSuffix(p[1], "/")+"/") {
			vol = p[0] + ":" + p[1]
		}
	}
	if vol == "" || !slices.Contains(s.Volumes, vol+":ro") {
		t.Errorf("serve volumes %q: want the coordinator's run volume %q read-only (%s:ro)", s.Volumes, vol, vol)
	}
	if name := argOf(s.Command, "--name"); name != job.Default().Name {
		t.Errorf("--name %q, want the default job's name %q", name, job.Default().Name)
	}
	addr := argOf(s.Command, "--addr")
	_, port, _ := strings.Cut(addr, ":")
	if !strings.HasPrefix(addr, "0.0.0.0:") || !slices.Contains(s.Ports, "127.0.0.1::"+port) {
		t.Errorf("--addr %q, ports %q: want 0.0.0.0:PORT published as 127.0.0.1::PORT (loopback, a port Docker picks)", addr, s.Ports)
	}
	timeout := 5 * time.Second // serve's default
	if v := argOf(s.Command, "--timeout"); v != "" {
		if timeout, err = time.ParseDuration(v); err != nil {
			t.Fatalf("--timeout %q: %v", v, err)
		}
	}
	if g, err := time.ParseDuration(s.StopGracePeriod); err != nil || g <= timeout+serveDrainSlack {
		t.Errorf("stop_grace_period %q: want more than --timeout %v + serve's %v of drain (Docker's default is 10s)", s.StopGracePeriod, timeout, serveDrainSlack)
	}
	if !s.ReadOnly {
		t.Error("read_only: want a read-only root file system (serve writes nothing)")
	}
	if s.Restart != "on-failure" {
		t.Errorf("restart %q: want on-failure (serve exits until the run's first checkpoint)", s.Restart)
	}
	if _, ok := s.Environment["RINGTRAIN_SECRET"]; ok {
		t.Error("environment RINGTRAIN_SECRET: serving needs no cluster secret")
	}
	if len(s.DependsOn) > 0 {
		t.Errorf("depends_on %v: `up -d serve` would start those too", s.DependsOn)
	}
}
