package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slurmScript is the sbatch script under test, relative to this package.
const slurmScript = "slurm/ringtrain.sbatch"

// The script parses (bash -n) and is shellcheck clean.
func TestSlurmScriptLint(t *testing.T) {
	t.Run("bash-n", func(t *testing.T) {
		if _, err := exec.LookPath("bash"); err != nil {
			t.Skip("no bash")
		}
		if out, err := exec.Command("bash", "-n", slurmScript).CombinedOutput(); err != nil {
			t.Fatalf("bash -n %s: %v\n%s", slurmScript, err, out)
		}
	})
	t.Run("shellcheck", func(t *testing.T) {
		if _, err := exec.LookPath("shellcheck"); err != nil {
			t.Skip("shellcheck not installed (deploy/slurm/ci-install.sh installs it)")
		}
		for _, f := range []string{slurmScript, "slurm/ci-install.sh"} {
			if out, err := exec.Command("shellcheck", f).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", f, err, out)
			}
		}
	})
}

// A real single-node Slurm cluster (munged, slurmctld and slurmd started by
// the test, everything under its temp dir) runs the script with two workers on
// the node, TLS and a generated secret; then the same run directory is
// submitted again, as a requeued job would be, and resumes from its
// checkpoint; a job whose coordinator fails fails, without waiting for its
// workers; and a job cancelled while it trains leaves no process behind.
func TestSlurmEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the Slurm end-to-end test")
	}
	var missing []string
	for _, tool := range []string{"munged", "slurmctld", "slurmd", "sbatch", "srun", "sinfo", "scontrol", "scancel", "getent"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Skipf("Slurm is not installed (no %s): deploy/slurm/ci-install.sh installs slurmctld, slurmd, slurm-client and munge", strings.Join(missing, ", "))
	}
	if os.Geteuid() != 0 {
		t.Skip("the private Slurm cluster runs as root (SlurmUser=root; slurmd launches the job steps)")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 170*time.Second)
	defer cancel()

	// Build the static binary while the cluster comes up.
	bin := filepath.Join(t.TempDir(), "ringtrain")
	var buildErr error
	built := make(chan struct{})
	go func() {
		defer close(built)
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "../cmd/ringtrain")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("static build: %v\n%s", err, out)
		}
	}()
	t.Cleanup(func() { cancel(); <-built })
	c := slurmStartCluster(ctx, t)
	t.Logf("Slurm node idle at %.1f s", time.Since(start).Seconds())
	<-built
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	t.Logf("binary built at %.1f s", time.Since(start).Seconds())

	jobYAML := filepath.Join(c.dir, "job.yaml")
	if err := os.WriteFile(jobYAML, []byte("name: slurm-e2e\ntrain: {epochs: 2}\ncluster: {min_workers: 2, max_workers: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ports := slurmFreePorts(t, 3)
	run := filepath.Join(c.dir, "run")
	env := append(c.env(),
		"RINGTRAIN_BIN="+bin,
		"RINGTRAIN_CONFIG="+jobYAML,
		"RINGTRAIN_RUN_DIR="+run,
		"RINGTRAIN_PORT="+strconv.Itoa(ports[0]),
		"RINGTRAIN_GOSSIP_PORT="+strconv.Itoa(ports[1]),
		"RINGTRAIN_METRICS_PORT="+strconv.Itoa(ports[2]),
	)

	// First submission: a fresh run directory, a generated secret, new certificates.
	out := c.submit(ctx, t, env, "first", false)
	if !strings.Contains(out, "test accuracy") {
		t.Fatalf("no \"test accuracy\" in the job output:\n%s", out)
	}
	sum := slurmSummary(t, run)
	if sum.Outcome != "done" || sum.WorldSize != 2 || sum.Epochs != 2 {
		t.Fatalf("summary.json: outcome %q, world size %d, epochs %d; want done, 2, 2", sum.Outcome, sum.WorldSize, sum.Epochs)
	}
	for _, f := range []string{"ca.crt", "node.crt", "node.key"} {
		if _, err := os.Stat(filepath.Join(run, "tls", f)); err != nil {
			t.Errorf("TLS: %v", err)
		}
	}
	fi, err := os.Stat(filepath.Join(run, "secret"))
	if err != nil {
		t.Fatalf("generated secret: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	sec, _ := os.ReadFile(filepath.Join(run, "secret"))
	if s := strings.TrimSpace(string(sec)); len(s) < 16 || strings.Contains(out, s) {
		t.Errorf("the secret (%d bytes) is too short or appears in the job output", len(s))
	}
	t.Logf("first job done at %.1f s: test accuracy %.2f%% on %d workers", time.Since(start).Seconds(), 100*sum.TestAccuracy, sum.WorldSize)

	// Second submission on the same run directory (what a requeue does),
	// with one more epoch: same secret and certificates, and
	// RINGTRAIN_RESUME=auto resumes from the first job's last checkpoint.
	moreYAML := filepath.Join(c.dir, "job3.yaml")
	if err := os.WriteFile(moreYAML, []byte("name: slurm-e2e\ntrain: {epochs: 3}\ncluster: {min_workers: 2, max_workers: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env = append(env, "RINGTRAIN_CONFIG="+moreYAML)
	out = c.submit(ctx, t, env, "again", false)
	if !strings.Contains(out, "resuming from checkpoint") || !strings.Contains(out, "test accuracy") {
		t.Fatalf("the second job did not resume and finish:\n%s", out)
	}
	if sum := slurmSummary(t, run); sum.Outcome != "done" || sum.Epochs != 3 {
		t.Fatalf("summary.json after the resumed job: outcome %q, epochs %d; want done, 3", sum.Outcome, sum.Epochs)
	}
	t.Logf("resumed job done at %.1f s", time.Since(start).Seconds())

	// A requeue of the finished run trains nothing, says so, and leaves its
	// summary as it was.
	before, err := os.ReadFile(filepath.Join(run, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	out = c.submit(ctx, t, env, "finished", false)
	if !strings.Contains(out, "the run already finished") {
		t.Fatalf("the requeue of a finished run:\n%s", out)
	}
	if after, err := os.ReadFile(filepath.Join(run, "summary.json")); err != nil || !bytes.Equal(before, after) {
		t.Fatalf("summary.json changed by the requeue of a finished run (%v)", err)
	}
	t.Logf("requeue of the finished run done at %.1f s", time.Since(start).Seconds())

	// The coordinator fails (--resume with no checkpoint): the job fails with
	// it, and the script stops the workers, which would retry joining for a
	// minute.
	failStart := time.Now()
	out = c.submit(ctx, t, append(env, "RINGTRAIN_RUN_DIR="+filepath.Join(c.dir, "run-fail"), "RINGTRAIN_RESUME=1"), "fail", true)
	if !strings.Contains(out, "coordinator exited with status 1") || !strings.Contains(out, "stopping the workers") {
		t.Fatalf("the failing job's output:\n%s", out)
	}
	if d := time.Since(failStart); d > 40*time.Second {
		t.Errorf("the failing job took %v: the workers were not stopped", d)
	}
	t.Logf("failing job done at %.1f s", time.Since(start).Seconds())

	// A long job without TLS and with the secret in RINGTRAIN_SECRET,
	// cancelled while it trains: the script's trap stops the steps, and
	// nothing of the job is left.
	long := filepath.Join(c.dir, "long.yaml")
	if err := os.WriteFile(long, []byte("name: slurm-cancel\ntrain: {epochs: 500}\ncluster: {min_workers: 2, max_workers: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := fmt.Sprintf("slurm-test-secret-%x", slurmRandom16())
	runCancel := filepath.Join(c.dir, "run-cancel")
	env = append(env, "RINGTRAIN_CONFIG="+long, "RINGTRAIN_RUN_DIR="+runCancel, "RINGTRAIN_SECRET="+secret, "RINGTRAIN_INSECURE=1")
	id, output := c.submitNoWait(ctx, t, env, "cancel")
	c.waitFor(ctx, t, "the cancel job to train", 45*time.Second, func() bool {
		b, _ := os.ReadFile(output)
		return bytes.Count(b, []byte("generation starting")) >= 2
	})
	ringtrains := 0
	for _, pid := range slurmProcessesWithEnv("SLURM_JOB_ID=" + id) {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe == bin {
			ringtrains++
		}
	}
	if ringtrains != 3 {
		t.Fatalf("job %s runs %d ringtrain processes, want 3 (the coordinator and 2 workers)", id, ringtrains)
	}
	scancel := exec.CommandContext(ctx, "scancel", id)
	scancel.Env = env
	if out, err := scancel.CombinedOutput(); err != nil {
		t.Fatalf("scancel %s: %v\n%s", id, err, out)
	}
	c.waitFor(ctx, t, "the cancelled job's processes to end", 30*time.Second, func() bool {
		return len(slurmProcessesWithEnv("SLURM_JOB_ID="+id)) == 0
	})
	b, _ := os.ReadFile(output)
	if !bytes.Contains(b, []byte("caught SIGTERM")) {
		t.Errorf("the script did not trap the cancellation:\n%s", b)
	}
	if bytes.Contains(b, []byte(secret)) {
		t.Errorf("RINGTRAIN_SECRET appears in the job output")
	}
	if _, err := os.Stat(filepath.Join(runCancel, "secret")); err == nil {
		t.Errorf("the script generated a secret although RINGTRAIN_SECRET was set")
	}
	if _, err := os.Stat(filepath.Join(runCancel, "tls")); err == nil || !bytes.Contains(b, []byte("--insecure")) {
		t.Errorf("RINGTRAIN_INSECURE=1: want no RUN_DIR/tls and --insecure (err %v):\n%s", err, b)
	}
	t.Logf("cancelled job gone at %.1f s", time.Since(start).Seconds())
}

// slurmCluster is a private single-node Slurm: its daemons are children of
// the test and its state lives in dir.
type slurmCluster struct {
	dir, conf, node string
	daemons         []*slurmDaemon
}

type slurmDaemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// env is the environment of the Slurm client commands and of the daemons:
// the test's, without Slurm's and ringtrain's variables (the test may run
// inside a Slurm job, or where RINGTRAIN_SECRET is set), plus SLURM_CONF.
func (c *slurmCluster) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "RINGTRAIN_"), strings.HasPrefix(kv, "SLURM_"), strings.HasPrefix(kv, "SBATCH_"),
			strings.HasPrefix(kv, "SRUN_"), strings.HasPrefix(kv, "SALLOC_"):
		default:
			env = append(env, kv)
		}
	}
	return append(env, "SLURM_CONF="+c.conf)
}

func slurmStartCluster(ctx context.Context, t *testing.T) *slurmCluster {
	t.Helper()
	dir := t.TempDir()
	// munged wants every directory above its socket searchable by everyone
	// (t.TempDir makes both levels 0700).
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"munge", "state", "spool", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	node := "localhost"
	if h, err := os.Hostname(); err == nil {
		h, _, _ = strings.Cut(h, ".")
		if addrs, err := net.LookupHost(h); err == nil && len(addrs) > 0 {
			node = h
		}
	}
	c := &slurmCluster{dir: dir, conf: filepath.Join(dir, "slurm.conf"), node: node}
	t.Cleanup(func() { c.stop(t) })

	key := make([]byte, 128)
	rand.Read(key)
	munge := filepath.Join(dir, "munge")
	if err := os.WriteFile(filepath.Join(munge, "munge.key"), key, 0o400); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(munge, "munge.socket")
	c.startDaemon(t, "munged", "munged", "--foreground", "--socket="+socket,
		"--key-file="+filepath.Join(munge, "munge.key"), "--pid-file="+filepath.Join(munge, "munged.pid"),
		"--seed-file="+filepath.Join(munge, "munged.seed"), "--log-file="+filepath.Join(dir, "log", "munged.log"))
	c.waitFor(ctx, t, "the munge socket", 10*time.Second, func() bool {
		_, err := os.Stat(socket)
		return err == nil
	})

	ports := slurmFreePorts(t, 2)
	plugstack := filepath.Join(dir, "plugstack.conf")
	if err := os.WriteFile(plugstack, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`# written by TestSlurmEndToEnd
ClusterName=ringtrain-test
SlurmctldHost=%[2]s(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=%[3]d
SlurmdPort=%[4]d
AuthType=auth/munge
AuthInfo=socket=%[5]s
CredType=cred/munge
StateSaveLocation=%[1]s/state
SlurmdSpoolDir=%[1]s/spool
SlurmctldPidFile=%[1]s/slurmctld.pid
SlurmdPidFile=%[1]s/slurmd.pid
SlurmctldLogFile=%[1]s/log/slurmctld.log
SlurmdLogFile=%[1]s/log/slurmd.log
PlugStackConfig=%[6]s
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=5
MailProg=/bin/true
NodeName=%[2]s NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=%[2]s Default=YES MaxTime=10 State=UP
`, dir, node, ports[0], ports[1], socket, plugstack)
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c.startDaemon(t, "slurmctld", "slurmctld", "-D", "-f", c.conf)
	c.startDaemon(t, "slurmd", "slurmd", "-D", "-f", c.conf, "-N", node)
	c.waitFor(ctx, t, "sinfo to show the node idle", 45*time.Second, func() bool {
		sinfo := exec.CommandContext(ctx, "sinfo", "-h", "-N", "-o", "%T")
		sinfo.Env = c.env()
		out, _ := sinfo.Output()
		return strings.TrimSpace(string(out)) == "idle"
	})
	return c
}

func (c *slurmCluster) startDaemon(t *testing.T, name string, args ...string) {
	t.Helper()
	log := filepath.Join(c.dir, "log", name+".out")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = c.env(), f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	d := &slurmDaemon{name: name, cmd: cmd, done: make(chan struct{}), log: log}
	go func() { cmd.Wait(); close(d.done) }()
	c.daemons = append(c.daemons, d)
}

// waitFor polls cond until it holds, failing with the daemons' logs if one
// exits or the time is up.
func (c *slurmCluster) waitFor(ctx context.Context, t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		for _, d := range c.daemons {
			select {
			case <-d.done:
				t.Fatalf("waiting for %s: %s exited (%v)\n%s", what, d.name, d.cmd.ProcessState, c.logs())
			default:
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("no %s after %v\n%s", what, limit, c.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// submit runs the script with sbatch --wait (one node, two tasks on it) and
// returns the job's output. The job must exit 0, or non-zero if wantFail.
func (c *slurmCluster) submit(ctx context.Context, t *testing.T, env []string, name string, wantFail bool) string {
	t.Helper()
	output := filepath.Join(c.dir, "log", "job-"+name+".out")
	cmd := exec.CommandContext(ctx, "sbatch", "--wait", "--parsable", "--export=ALL",
		"--job-name=ringtrain-"+name, "--nodes=1", "--ntasks-per-node=2", "--cpus-per-task=1",
		"--time=3", "--output="+output, slurmScript)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	jobOut, _ := os.ReadFile(output)
	if ctx.Err() != nil {
		if id, _, _ := strings.Cut(strings.TrimSpace(stdout.String()), ";"); id != "" {
			scancel := exec.Command("scancel", id)
			scancel.Env = env
			scancel.Run()
		}
		t.Fatalf("sbatch --wait (%s job): timed out\n%s\njob output:\n%s\n%s", name, stderr.String(), jobOut, c.logs())
	}
	if (err != nil) != wantFail {
		t.Fatalf("sbatch --wait (%s job): %v, want failure %v\n%s\njob output:\n%s\n%s", name, err, wantFail, stderr.String(), jobOut, c.logs())
	}
	return string(jobOut)
}

// submitNoWait submits the script like submit and returns the job id and
// the path of its output.
func (c *slurmCluster) submitNoWait(ctx context.Context, t *testing.T, env []string, name string) (id, output string) {
	t.Helper()
	output = filepath.Join(c.dir, "log", "job-"+name+".out")
	cmd := exec.CommandContext(ctx, "sbatch", "--parsable", "--export=ALL",
		"--job-name=ringtrain-"+name, "--nodes=1", "--ntasks-per-node=2", "--cpus-per-task=1",
		"--time=3", "--output="+output, slurmScript)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sbatch (%s job): %v", name, err)
	}
	id, _, _ = strings.Cut(strings.TrimSpace(string(out)), ";")
	return id, output
}

// stop ends the daemons (SIGTERM, then SIGKILL after 10 s), then makes sure
// that nothing this cluster ran is left: every process whose environment
// names this cluster's slurm.conf (slurmstepd, the job's steps) must be gone.
func (c *slurmCluster) stop(t *testing.T) {
	for i := len(c.daemons) - 1; i >= 0; i-- {
		d := c.daemons[i]
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s ignored SIGTERM for 10 s: killing it", d.name)
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	var left []int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if left = slurmProcessesWithEnv("SLURM_CONF=" + c.conf); len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		var desc []string
		for _, pid := range left {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			desc = append(desc, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
			syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Errorf("processes of the test cluster were still running 10 s after its daemons stopped (killed):\n%s", strings.Join(desc, "\n"))
	}
}

// logs is the tail of every daemon log, for failure messages.
func (c *slurmCluster) logs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(c.dir, "log", "*"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "== %s\n%s\n", filepath.Base(f), strings.Join(lines, "\n"))
	}
	return b.String()
}

// slurmProcessesWithEnv lists the processes whose environment holds kv.
func slurmProcessesWithEnv(kv string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, v := range bytes.Split(env, []byte{0}) {
			if string(v) == kv {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// slurmFreePorts returns n distinct TCP ports that were free a moment ago.
func slurmFreePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func slurmRandom16() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	return b
}

type slurmSummaryFile struct {
	Outcome      string  `json:"outcome"`
	Epochs       int     `json:"epochs"`
	WorldSize    int     `json:"world_size"`
	TestAccuracy float64 `json:"test_accuracy"`
}

func slurmSummary(t *testing.T, run string) slurmSummaryFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(run, "summary.json"))
	if err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	var s slurmSummaryFile
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary.json: %v\n%s", err, b)
	}
	return s
}
