package main

// The plan of TestDocumentedCommands: every command of README.md and
// docs/*.md, by its exact documented text, with what the test runs instead
// (and why), or why it is not run. A documented command missing here, or an
// entry whose command the docs no longer hold, fails the test.

import (
	"strconv"
	"strings"
	"time"
)

// docJob is the job.yaml of every group that needs one: 400 steps (about
// 2 s on 2 cores) with a checkpoint every 50, instead of the built-in job's
// 10 epochs (1250 steps).
const docJob = `train: {steps: 400}
checkpoint: {every_epochs: 0, every_steps: 50}
`

// composeOverride gives deploy/compose.yaml's coordinator the test's job
// through the environment (RINGTRAIN_CONFIG), leaving its command as
// documented; the job directory is the test's directory (${PWD}).
const composeOverride = `services:
  coordinator:
    environment: {RINGTRAIN_CONFIG: /job/job.yaml}
    volumes: ["${PWD}:/job:ro"]
`

// composeLongJob keeps the Compose cluster training while `exec ... status`
// asks it; the group's cleanup takes it down.
const composeLongJob = `train: {steps: 1000000}
checkpoint: {every_epochs: 0, every_steps: 1000}
`

const (
	whyMachines = "needs several machines (10.0.0.x); the same verbs and flags run on loopback in TestCoordinatorAndWorkerProcesses and the fault tests"
	whyPeers    = "the peers' harness (../shared/bench: PyTorch, Open MPI, iperf3) lives outside this repository and installs its own toolchain"
	whyK8s      = "needs a Kubernetes cluster (none here); the deploy/k8s module decodes the manifests and runs their commands locally (make test-k8s)"
	whySlurm    = "needs a multi-node Slurm allocation; deploy/slurm_test.go runs the script on a private single-node Slurm when Slurm is installed"
	whyVerbOnly = "a table naming the verb, not a command line (it needs --tls-dir); checked against --help, and run with its flags in the deploy groups"
	tinyJob     = "job.yaml is the test's 400-step job"
	shortLM     = "the example job with 10 steps (a checkpoint every 5) and 16 validation windows instead of 2000 steps and 1024 windows (minutes), in a run directory of its own (short runs started within one second would share the default runs/<timestamp>)"
	whyGPUCI    = "part of make test (gpu-ci, which this test is part of), where the CUDA toolchain is"
	goRun       = "the binary this test built stands for `go run ./cmd/ringtrain` (same code, no second build); " + tinyJob
)

var docPlan = []docGroup{
	{Name: "README/quick-start", Files: map[string]string{"job.yaml": docJob}, Steps: []docStep{
		{File: "README.md", Doc: "go run ./cmd/ringtrain launch", Run: "ringtrain launch --config job.yaml", Note: goRun, Want: "test accuracy"},
		{File: "README.md", Doc: "make test", Skip: "the suite this test is part of: running it here would recurse"},
		{File: "README.md", Doc: "go install ./cmd/ringtrain", Run: "GOBIN=$PWD/gobin go install ./cmd/ringtrain && gobin/ringtrain version",
			Note: "into the test's directory (GOBIN), not this machine's $(go env GOPATH)/bin; the installed binary must run"},
	}},
	{Name: "README/preprocessing", Steps: []docStep{
		{File: "README.md", Doc: "ringtrain launch --config docs/examples/sensors.yaml --run-dir runs/sensors", Want: "validation loss"},
		{File: "README.md", Doc: "ringtrain predict runs/sensors --input docs/examples/sensors-features.csv", Want: "0 0.99"},
	}},
	{Name: "README/checkpoints-and-resume", Files: map[string]string{"job.yaml": docJob}, Steps: []docStep{
		{File: "README.md", Doc: "ringtrain launch --run-dir runs/exp1", Run: "ringtrain launch --run-dir runs/exp1 --config job.yaml",
			Note: tinyJob + "; Ctrl-C (SIGINT to the process group) once step 100 is checkpointed", Interrupt: &interruptAt{"runs/exp1/checkpoints", 100}},
		{File: "README.md", Doc: "ringtrain launch --resume --run-dir runs/exp1", Note: "Ctrl-C again once step 250 is checkpointed, so the next line has steps left",
			Interrupt: &interruptAt{"runs/exp1/checkpoints", 250}, Want: "resuming from checkpoint step"},
		{File: "README.md", Doc: "ringtrain launch --resume --run-dir runs/exp1 --workers 4", Want: "on 4 workers"},
		{File: "README.md", Doc: "ringtrain checkpoint ls runs/exp1/checkpoints", Want: "400"},
		{File: "README.md", Doc: "ringtrain checkpoint inspect runs/exp1/checkpoints/step-000000001250",
			Run: "ringtrain checkpoint inspect runs/exp1/checkpoints/step-000000000400", Note: "the 400-step job's last checkpoint instead of step 1250"},
		{File: "README.md", Doc: "ringtrain checkpoint verify runs/exp1/checkpoints"},
		{File: "README.md", Doc: "ringtrain checkpoint export runs/exp1/checkpoints --out model.safetensors"},
	}},
	{Name: "README/serving", Files: map[string]string{"job.yaml": docJob, "digits.csv": digitsCSV(3), "request.json": predictRequest(2)}, Steps: []docStep{
		{Run: "ringtrain launch --run-dir runs/exp1 --config job.yaml", Note: "a run to serve: " + tinyJob},
		{File: "README.md", Doc: "ringtrain predict runs/exp1 --input digits.csv", Want: "0."},
		{File: "README.md", Doc: "ringtrain predict runs/exp1 --input digits.csv --out predictions.csv",
			Run: "ringtrain predict runs/exp1 --input digits.csv --out predictions.csv && cat predictions.csv", Note: "and shows the file", Want: "row,class,probability,label\n0,"},
		{File: "README.md", Doc: "ringtrain serve runs/exp1 --addr :8080", Run: serveDocRun,
			Note: "on a free loopback port (read from its first line), in the background; sends the curl line below to it, then SIGTERM: it must drain and exit 0", Want: `"model_version":400`},
		{File: "README.md", Doc: "curl -s localhost:8080/predict -d @request.json", Skip: "needs the server of the line above: that line's run sends this request to it (TestServeCommand sends the protocol's others)"},
		{File: "README.md", Doc: "ringtrain certs init --tls-dir serve-tls --hosts localhost", Want: "ca.crt"},
		{File: "README.md", Doc: "ringtrain certs issue --tls-dir serve-tls --name serve --server --hosts localhost,127.0.0.1", Want: "serve.crt"},
		{File: "README.md", Doc: "openssl rand -hex 32 > serve.token"},
		{File: "README.md", Doc: "ringtrain serve runs/exp1 --addr :8443 --tls-cert serve-tls/serve.crt --tls-key serve-tls/serve.key --token-file serve.token", Run: serveTLSDocRun,
			Note: "on a free loopback port (read from its first line), in the background; sends README's curl line below to it, and the same request without the token (it must get 401), then SIGTERM: it must drain and exit 0", Want: `"model_version":400`},
		{File: "README.md", Doc: `curl -s --cacert serve-tls/ca.crt -H "Authorization: Bearer $(cat serve.token)" https://localhost:8443/predict -d @request.json`,
			Skip: "needs the server of the line above: that line's run sends this request to it (on 127.0.0.1, which the certificate names too)"},
	}},
	{Name: "README/commands-table", Files: map[string]string{"job.yaml": docJob}, Steps: []docStep{
		{File: "README.md", Doc: "ringtrain launch --trace", Run: "ringtrain launch --trace --config job.yaml --run-dir runs/trace && test -s runs/trace/trace.json",
			Note: tinyJob + "; a known run directory, to check that trace.json was written"},
		{File: "README.md", Doc: "ringtrain bench allreduce", Run: "ringtrain bench allreduce --sizes 4K,64K --iters 3", Note: "4 KiB and 64 KiB, 3 iterations, instead of up to 256 MiB"},
		{File: "README.md", Doc: "ringtrain bench train", Run: "ringtrain bench train --steps 20 --warmup 5", Note: "20 timed steps after 5 warm-up ones instead of 200 after 20"},
		{File: "README.md", Doc: "ringtrain bench checkpoint", Run: "ringtrain bench checkpoint --params 1M --reps 1 --dir .", Note: "1M parameters, once, in the test's directory, instead of 12M three times in /tmp"},
		{File: "README.md", Doc: "ringtrain bench serve", SameAs: "docs/benchmarks.md"},
		{File: "README.md", Doc: "ringtrain simulate"},
	}},
	{Name: "README/exporting", Files: map[string]string{"job.yaml": docJob}, Steps: []docStep{
		{File: "README.md", Doc: "ringtrain launch --config job.yaml --run-dir runs/mnist", Want: "test accuracy"},
		{File: "README.md", Doc: "ringtrain export runs/mnist --format safetensors --out model.safetensors", Want: "exported step 400"},
		{File: "README.md", Doc: "ringtrain export runs/mnist --format safetensors --layout torch --out model-torch.safetensors", Want: "exported step 400"},
		{File: "README.md", Doc: "ringtrain export runs/mnist --format onnx --out model.onnx", Want: "exported step 400"},
		{File: "README.md", Doc: "ringtrain export runs/mnist --quantize int8 --out model-int8.safetensors", Want: "calibrated on 500 training samples"},
	}},
	{Name: "README/failures-and-multi-node", Steps: []docStep{
		{File: "README.md", Doc: "ringtrain status --coordinator 10.0.0.1:7070 --tls-dir certs", Skip: whyMachines},
		{File: "README.md", Doc: "ringtrain certs init --tls-dir certs --hosts 10.0.0.1", Want: "ca.crt"},
		{File: "README.md", Doc: "export RINGTRAIN_SECRET=$(cat /etc/ringtrain/secret)", Skip: "reads a cluster machine's secret file (/etc/ringtrain/secret); " + whyMachines},
		{File: "README.md", Doc: "ringtrain coordinator --config job.yaml --tls-dir certs --grpc-addr 0.0.0.0:7070 --gossip-port 7946 --run-dir runs/exp1", Skip: whyMachines},
		{File: "README.md", Doc: "ringtrain worker --join 10.0.0.1:7070 --tls-dir certs --data-addr 0.0.0.0:7000 --gossip-port 7947", Skip: whyMachines},
	}},
	{Name: "README/shards", Steps: []docStep{
		{File: "README.md", Doc: "ringtrain data pack --from idx --path data/mnist10k --out mnist-shards --shard-size 1MiB",
			Want: "packed 8000 training samples into 7 shards and 2000 test samples into 2 (uint8 [1 28 28]"},
		{File: "README.md", Doc: "ringtrain launch --config docs/examples/shards.yaml --run-dir runs/shards", Want: "test accuracy"},
		{File: "README.md", Doc: "ringtrain data pack --from images --path docs/examples/digits --image-size 28 --channels 1 --out digits-shards --shard-size 64KiB",
			Want: "packed 180 training samples into 3 shards and 30 test samples into 1 (uint8 [1 28 28]"},
		{File: "README.md", Doc: "ringtrain launch --config docs/examples/digits-shards.yaml --run-dir runs/digits-shards", Want: "test accuracy 100.00%"},
		{File: "README.md", Doc: "ringtrain predict runs/digits-shards --input docs/examples/digit-seven.csv", Want: "1 1.0000 seven"},
	}},
	{Name: "streaming-figure", Steps: []docStep{
		{File: "docs/benchmarks.md", Doc: "RINGTRAIN_MEASURE=1 go test -count=1 -v -timeout 30m -run TestStreamingFigure ./cmd/ringtrain",
			Skip: "a 7-minute measurement (400 MB of shards, 5 runs of 2,400 steps): TestStreamingFigure skips itself without RINGTRAIN_MEASURE; TestDataPackAndTrain runs data pack and a shards job"},
	}},
	{Name: "recovery-figure", Steps: []docStep{
		{File: "docs/benchmarks.md", Doc: "RINGTRAIN_MEASURE=1 RINGTRAIN_REPS=5 go test -count=1 -v -timeout 40m -run TestRecoveryFigure ./cmd/ringtrain",
			Skip: "a 6-minute measurement (40 SIGKILLs in two long runs of 4 workers, 30 training runs): TestRecoveryFigure skips itself without RINGTRAIN_MEASURE; TestKilledWorkerLosesNoSteps and TestAdjacentKilledFallBackToCheckpoint kill workers the same way"},
		{File: "docs/benchmarks.md", Doc: "RINGTRAIN_MEASURE=1 RINGTRAIN_KILL_EVERY=10 go test -count=1 -v -timeout 20m -run TestRecoveryFigure/kills ./cmd/ringtrain",
			Skip: "a measurement (20 SIGKILLs in a long run of 4 workers): TestRecoveryFigure skips itself without RINGTRAIN_MEASURE"},
		{File: "docs/benchmarks.md", Doc: `RINGTRAIN_MEASURE=1 RINGTRAIN_REPS=5 go test -count=1 -v -timeout 40m -run 'TestRecoveryFigure/throughput' ./cmd/ringtrain`,
			Skip: "a 5-minute measurement (50 training runs of 2 workers): TestRecoveryFigure skips itself without RINGTRAIN_MEASURE"},
		{File: "docs/benchmarks.md", Doc: `RINGTRAIN_MEASURE=1 RINGTRAIN_KILL_EVERY=1 go test -count=1 -v -timeout 20m -run 'TestRecoveryFigure/kills' ./cmd/ringtrain`,
			Skip: "a measurement (20 SIGKILLs in a long run of 4 workers, replicas in the arenas): TestRecoveryFigure skips itself without RINGTRAIN_MEASURE; TestKilledWorkerLosesNoSteps/shm=auto kills a worker the same way"},
	}},
	{Name: "README/language-models", Steps: []docStep{
		{File: "README.md", Doc: "ringtrain launch --config docs/examples/shakespeare-gpt.yaml --run-dir runs/gpt",
			Run:  "sed -e 's/steps: 2000/steps: 30/' -e 's/every_steps: 500/every_steps: 15/' -e 's/windows: 1024/windows: 32/' docs/examples/shakespeare-gpt.yaml > gpt.yaml && ringtrain launch --config gpt.yaml --run-dir runs/gpt",
			Note: "the example job with 30 steps (a checkpoint every 15) and 32 validation windows instead of 2000 steps and 1024 windows (minutes)", Want: "validation loss"},
		{File: "README.md", Doc: `ringtrain sample runs/gpt --prompt "ROMEO:" --tokens 300 --seed 1`, Want: "ROMEO:"},
		{File: "README.md", Doc: "ringtrain export runs/gpt --format onnx --out gpt.onnx", Want: "exported step 30 (ONNX opset 13"},
		{File: "README.md", Doc: "ringtrain export runs/gpt --format safetensors --layout torch --out gpt-torch.safetensors", Want: "exported step 30"},
	}},
	{Name: "README/text-shards", Steps: []docStep{
		{File: "README.md", Doc: "ringtrain data pack --from shakespeare --context 64 --out shakespeare-shards --shard-size 256KiB",
			Want: "packed 15685 training windows into 5 shards and 1742 test windows into 1 (uint8 [65] tokens: context 64"},
		{File: "README.md", Doc: "ringtrain launch --config docs/examples/shakespeare-shards.yaml --run-dir runs/gpt-shards", Want: "validation loss 2."},
		{File: "README.md", Doc: `ringtrain sample runs/gpt-shards --prompt "ROMEO:" --tokens 200 --seed 1`, Want: "ROMEO:"},
	}},
	{Name: "README/image-folders", Steps: []docStep{
		{File: "README.md", Doc: "ringtrain data check --config docs/examples/digits.yaml", Want: "classes: 3: one, seven, zero"},
		{File: "README.md", Doc: "ringtrain launch --config docs/examples/digits.yaml --run-dir runs/digits", Want: "test accuracy 100.00%"},
		{File: "README.md", Doc: "ringtrain predict runs/digits --input docs/examples/digit-seven.csv", Want: "1 0.9893 seven"},
	}},
	{Name: "README/gpu-workers", Steps: []docStep{
		{File: "README.md", Doc: "deploy/gpu/toolchain.sh && make build-gpu", Skip: whyGPUCI + " (after .ci/run ran deploy/gpu/toolchain.sh)"},
		{File: "README.md", Doc: "bin/ringtrain-gpu launch --device gpu --workers 2", Skip: "needs a GPU (deploy/gpu/check.sh run launches 2 workers on one)"},
	}},
	{Name: "README/builds-table", Steps: []docStep{
		{File: "README.md", Doc: "make build", SameAs: "docs/benchmarks.md"},
		{File: "README.md", Doc: "ringtrain version", Want: "ringtrain "},
		{File: "README.md", Doc: "make image", SameAs: "docs/deploy.md"},
		{File: "README.md", Doc: "make build-openblas", Needs: "openblas"},
		{File: "README.md", Doc: "make build-gpu", Skip: whyGPUCI},
		{File: "README.md", Doc: "make image-gpu", Skip: "needs the CUDA toolchain and a Docker engine; deploy/gpu_image_test.go runs it (docs/deploy.md's group says more)"},
		{File: "README.md", Doc: "make bench", Skip: "minutes of benchmarks (all-reduces up to 256 MiB); its parts run scaled down in docs/benchmarks.md's group"},
		{File: "README.md", Doc: "make fuzz", Skip: "every fuzz target for 20 s each: minutes; the fuzz targets' seed corpora run in make test"},
		{File: "README.md", Doc: "make proto", Skip: "rewrites proto/ in the working tree; make test's proto-check regenerates it into a temporary directory and compares"},
	}},

	{Name: "deploy/one-machine", Files: map[string]string{"job.yaml": docJob}, Steps: []docStep{
		{File: "docs/deploy.md", Doc: "ringtrain launch", Run: "ringtrain launch --config job.yaml", Note: tinyJob, Want: "test accuracy"},
		{File: "docs/deploy.md", Doc: "ringtrain certs init", Skip: whyVerbOnly},
		{File: "docs/deploy.md", Doc: "go run ./cmd/ringtrain launch", SameAs: "README.md"},
		{File: "docs/deploy.md", Doc: "ringtrain launch --workers 4 --config job.yaml --run-dir runs/exp1",
			Note: tinyJob + "; Ctrl-C once step 200 is checkpointed, so the resume below has steps left", Interrupt: &interruptAt{"runs/exp1/checkpoints", 200}},
		{File: "docs/deploy.md", Doc: "ringtrain launch --resume --run-dir runs/exp1", Want: "resuming from checkpoint step"},
	}},
	{Name: "deploy/machines-you-log-into", Steps: []docStep{
		{File: "docs/deploy.md", Doc: "openssl rand -hex 32 > secret && chmod 600 secret"},
		{File: "docs/deploy.md", Doc: "ringtrain certs init --tls-dir certs --hosts coord.example,10.0.0.1", Want: "ca.crt"},
		{File: "docs/deploy.md", Doc: "ringtrain coordinator --config job.yaml --secret-file secret --tls-dir certs --run-dir runs/exp1 --grpc-addr 0.0.0.0:7070 --gossip-port 7946", Skip: whyMachines},
		{File: "docs/deploy.md", Doc: "ringtrain worker --join 10.0.0.1:7070 --secret-file secret --tls-dir certs --data-addr 0.0.0.0:7000 --gossip-port 7947", Skip: whyMachines},
		{File: "docs/deploy.md", Doc: "ringtrain status --coordinator 10.0.0.1:7070 --secret-file secret --tls-dir certs", Skip: whyMachines},
	}},
	{Name: "deploy/compose-up", Needs: "docker", Files: map[string]string{"job.yaml": docJob, "doccmds-compose.yaml": composeOverride},
		Env:     []string{"COMPOSE_PROJECT_NAME=rtdoc%PID%up"},
		Cleanup: "docker-compose -f deploy/compose.yaml -f doccmds-compose.yaml down -v --remove-orphans -t 1",
		Steps: []docStep{
			{File: "docs/deploy.md", Doc: "make image"},
			{File: "docs/deploy.md", Doc: "export RINGTRAIN_SECRET=$(openssl rand -hex 32)"},
			{File: "docs/deploy.md", Doc: "docker-compose -f deploy/compose.yaml up --exit-code-from coordinator coordinator worker1 worker2 worker3",
				Run:  "docker-compose -f deploy/compose.yaml -f doccmds-compose.yaml up --exit-code-from coordinator coordinator worker1 worker2 worker3",
				Note: "an override file gives the coordinator " + tinyJob + "; the project name comes from COMPOSE_PROJECT_NAME (unique per test run)", Want: "test accuracy"},
			{File: "docs/deploy.md", Doc: "docker-compose -f deploy/compose.yaml down -v", Run: "env -u RINGTRAIN_SECRET docker-compose -f deploy/compose.yaml down -v",
				Note: "without RINGTRAIN_SECRET, as the doc says it needs none"},
		}},
	{Name: "deploy/compose-status", Needs: "docker", Files: map[string]string{"job.yaml": composeLongJob, "doccmds-compose.yaml": composeOverride},
		Env:     []string{"COMPOSE_PROJECT_NAME=rtdoc%PID%st", "RINGTRAIN_SECRET=doccmds-compose-secret-0123456789abcdef"},
		Cleanup: "docker-compose -f deploy/compose.yaml -f doccmds-compose.yaml down -v --remove-orphans -t 1",
		Steps: []docStep{
			{Run: "docker-compose -f deploy/compose.yaml -f doccmds-compose.yaml up -d", Note: "setup: the project running a long job (the image is the one deploy/compose-up made)"},
			{File: "docs/deploy.md", Doc: "docker-compose -f deploy/compose.yaml exec coordinator /ringtrain status --coordinator localhost:7070 --tls-dir /tls",
				Run:  "script -qec 'docker-compose -f deploy/compose.yaml exec coordinator /ringtrain status --coordinator localhost:7070 --tls-dir /tls' /dev/null",
				Note: "under script(1), which gives it the terminal a reader has (docker-compose 1.x refuses exec without one: \"the input device is not a TTY\"); retried while the coordinator starts", Retry: 90 * time.Second, Want: "generation"},
		}},
	{Name: "deploy/compose-serve", Needs: "docker", Files: map[string]string{"job.yaml": docJob, "doccmds-compose.yaml": composeOverride},
		Env:     []string{"COMPOSE_PROJECT_NAME=rtdoc%PID%sv", "RINGTRAIN_SECRET=doccmds-compose-secret-0123456789abcdef"},
		Cleanup: "docker-compose -f deploy/compose.yaml -f doccmds-compose.yaml down -v --remove-orphans -t 1",
		Steps: []docStep{
			{Run: "docker-compose -f deploy/compose.yaml -f doccmds-compose.yaml up --exit-code-from coordinator coordinator worker1 worker2 worker3",
				Note: "setup: a finished run to serve, " + tinyJob + " (the image is the one deploy/compose-up made)", Want: "test accuracy"},
			{File: "docs/deploy.md", Doc: "docker-compose -f deploy/compose.yaml up -d serve"},
			{File: "docs/deploy.md", Doc: "curl -s http://$(docker-compose -f deploy/compose.yaml port serve 8080)/v2/models/mnist-mlp",
				Note: "retried while the server starts", Retry: 60 * time.Second, Want: `"versions":["400"]`},
		}},
	{Name: "deploy/gpu-image", Steps: []docStep{
		{File: "docs/deploy.md", Doc: "make image-gpu", Skip: "needs the CUDA toolchain and a Docker engine; deploy/gpu_image_test.go runs it and starts the image with Debian's libcuda mounted"},
	}},
	{Name: "deploy/kubernetes", Steps: []docStep{
		{File: "docs/deploy.md", Doc: "make image && kind load docker-image ringtrain:latest", Skip: whyK8s},
		{File: "docs/deploy.md", Doc: "kubectl apply -f deploy/k8s/base/namespace.yaml", Skip: whyK8s},
		{File: "docs/deploy.md", Doc: "kubectl -n ringtrain create secret generic ringtrain-secret --from-literal=secret=$(openssl rand -hex 32)", Skip: whyK8s},
		{File: "docs/deploy.md", Doc: "ringtrain certs init --tls-dir certs --hosts ringtrain-coordinator,ringtrain-coordinator.ringtrain.svc,ringtrain-coordinator.ringtrain.svc.cluster.local", Want: "ca.crt"},
		{File: "docs/deploy.md", Doc: "kubectl -n ringtrain create secret generic ringtrain-tls --from-file=certs/ca.crt --from-file=certs/node.crt --from-file=certs/node.key", Skip: whyK8s},
		{File: "docs/deploy.md", Doc: "kubectl apply -k deploy/k8s", Skip: whyK8s},
		{File: "docs/deploy.md", Doc: "kubectl -n ringtrain logs -f statefulset/ringtrain-coordinator", Skip: whyK8s},
		{File: "docs/deploy.md", Doc: "kubectl apply -k deploy/k8s/serve", Skip: whyK8s},
		{File: "docs/deploy.md", Doc: "kubectl -n ringtrain port-forward svc/ringtrain-serve 8080", Skip: whyK8s},
	}},
	{Name: "deploy/slurm", Steps: []docStep{
		{File: "docs/deploy.md", Doc: "export RINGTRAIN_BIN=$HOME/bin/ringtrain", Skip: "only sets the binary path for the sbatch lines below; " + whySlurm},
		{File: "docs/deploy.md", Doc: "RINGTRAIN_SECRET=$(openssl rand -hex 32) sbatch --nodes=4 deploy/slurm/ringtrain.sbatch", Skip: whySlurm},
		{File: "docs/deploy.md", Doc: "RINGTRAIN_BIN=$HOME/bin/ringtrain-gpu RINGTRAIN_CONFIG=gpu-job.yaml RINGTRAIN_WORKER_SRUN_ARGS=--gpus-per-task=1 sbatch --nodes=2 --ntasks-per-node=4 --gres=gpu:4 deploy/slurm/ringtrain.sbatch", Skip: "needs GPU nodes; " + whySlurm},
	}},

	{Name: "architecture-and-security-tables", Steps: []docStep{
		{File: "docs/architecture.md", Doc: "ringtrain bench allreduce", SameAs: "README.md"},
		{File: "docs/architecture.md", Doc: "make build", SameAs: "docs/benchmarks.md"},
		{File: "docs/security.md", Doc: "ringtrain certs init", Skip: whyVerbOnly},
	}},

	{Name: "scaling", Steps: []docStep{
		{File: "docs/scaling.md", Doc: "ringtrain scale --worlds 1,2,4 --config docs/examples/scale.yaml --steps 120 --out out-loopback",
			Run: "ringtrain scale --worlds 1,2,4 --config docs/examples/scale.yaml --steps 30 --warmup 10 --out out-loopback", Note: "30 steps (10 warm-up) per world size instead of 120 (20)"},
		{File: "docs/scaling.md", Doc: "ringtrain scale --worlds 1,2,4 --config docs/examples/scale.yaml --steps 120 --out out-link --link-bandwidth 200 --link-latency 1ms",
			Run: "ringtrain scale --worlds 1,2,4 --config docs/examples/scale.yaml --steps 30 --warmup 10 --out out-link --link-bandwidth 200 --link-latency 1ms", Note: "30 steps (10 warm-up) per world size instead of 120 (20)"},
		{File: "docs/scaling.md", Doc: "ringtrain simulate --params 535818 --batch 64 --compute-per-sample 271us --optimizer-ns 1.6 --link-bandwidth 9600 --link-latency 40us --cores 2"},
		{File: "docs/scaling.md", Doc: "ringtrain simulate --params 535818 --batch 64 --compute-per-sample 271us --optimizer-ns 1.6 --link-bandwidth 200 --link-latency 1040us --cores 2"},
		{File: "docs/scaling.md", Doc: "ringtrain simulate --params 16777216 --worlds 1,2,4,8,16 --ranks-per-node 2 --link-bandwidth 1000 --link-latency 0s --node-bandwidth 9600 --node-latency 40us", Want: "AR chosen"},
		{File: "docs/scaling.md", Doc: "ringtrain simulate --worlds 1,2,4,16,128 --ranks-per-node 8 --link-bandwidth 10000 --link-latency 50us", Want: "hier AR ms"},
		{File: "docs/scaling.md", Doc: "ringtrain simulate --worlds 1,2,4,8,16,1024"},
	}},

	{Name: "hier", Steps: []docStep{
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --workers 4 --nodes 2 --link-mbps 1000 --hier both --sizes 4M,16M,64M",
			Run:  "ringtrain bench allreduce --workers 4 --nodes 2 --link-mbps 1000 --hier both --sizes 64K,1M --iters 3",
			Note: "64 KiB and 1 MiB, 3 iterations, instead of 4 to 64 MiB: that it runs, not its figures", Want: "flat time / this"},
	}},

	{Name: "gpu", Steps: []docStep{
		{File: "docs/gpu.md", Doc: "ringtrain launch --device emu --workers 2 --config docs/examples/emu-mlp.yaml --run-dir runs/emu",
			Note: "Ctrl-C once step 100 is checkpointed, so the resume on the CPU has steps left", Interrupt: &interruptAt{"runs/emu/checkpoints", 100}},
		{File: "docs/gpu.md", Doc: "ringtrain launch --resume --device cpu --run-dir runs/emu", Want: "test accuracy"},
		{File: "docs/gpu.md", Doc: "deploy/gpu/toolchain.sh", Skip: "downloads 819 MB of Debian's CUDA packages where they are not cached; .ci/run runs it before make test, and deploy/gpu_test.go checks the targets that use it"},
		{File: "docs/gpu.md", Doc: "make build-gpu", Skip: whyGPUCI},
		{File: "docs/gpu.md", Doc: "make gpu-ci", Skip: whyGPUCI},
		{File: "docs/gpu.md", Doc: "make vet-gpu", Skip: whyGPUCI},
		{File: "docs/gpu.md", Doc: "make ptx-check", Skip: whyGPUCI},
		{File: "docs/gpu.md", Doc: "deploy/gpu/check.sh", Skip: "builds the GPU machine's binaries with the CUDA toolchain: the same builds as make test's gpu-ci"},
		{File: "docs/gpu.md", Doc: "deploy/gpu/check.sh run", Skip: "needs a GPU"},
	}},

	{Name: "export/int8", Steps: []docStep{
		{File: "docs/export.md", Doc: "go test -run TestExportInt8 -v ./cmd/ringtrain", Covered: "TestExportInt8"},
		{File: "docs/export.md", Doc: "go test -run '^$' -bench Forward ./quant/", Run: "go test -run '^$' -bench Forward -benchtime 1x ./quant/",
			Note: "each benchmark once: that they run, not their figures"},
	}},

	{Name: "benchmarks", Steps: []docStep{
		{File: "docs/benchmarks.md", Doc: "make build"},
		{File: "docs/benchmarks.md", Doc: "cp -r ../shared/bench /tmp/peer-bench && cp bin/ringtrain /tmp/peer-bench/ && cd /tmp/peer-bench", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "./setup.sh", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "REPS=3 ONLY=gloo,mpi,limits EXTRA_ALLREDUCE='./ringtrain bench allreduce --worlds 2,4 --csv' ./run_all.sh", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "go test -run '^$' -bench . -benchmem ./allreduce/", Run: "go test -run '^$' -bench . -benchmem -benchtime 1x ./allreduce/",
			Note: "each benchmark once (-benchtime 1x): that they run, not their figures"},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --workers 4 --sizes 4K,64K,1M,16M,64M,256M", Run: "ringtrain bench allreduce --workers 4 --sizes 4K,64K,1M --iters 3",
			Note: "up to 1 MiB, 3 iterations, instead of up to 256 MiB"},
		{File: "docs/benchmarks.md", Doc: "S=4K,64K,256K,1M,16M,64M,256M", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "SIZES=\"4096 65536 262144 1048576 16777216 67108864 268435456\" REPS=2 ONLY=gloo,mpi EXTRA_ALLREDUCE=\"./ringtrain bench allreduce --worlds 2,4 --sizes $S --csv; ./ringtrain bench allreduce --worlds 2,4 --sizes $S --transport auto --csv; ./ringtrain bench allreduce --worlds 2,4 --sizes 16M,64M --op reduce-scatter --compress none,bf16,fp16 --csv; ./ringtrain bench allreduce --worlds 2,4 --sizes 16M,64M --op reduce-scatter --compress none,bf16,fp16 --link-mbps 2000 --csv; ./ringtrain bench allreduce --workers 4 --nodes 2 --link-mbps 1000 --hier both --sizes 4M,16M,64M --csv; ./ringtrain bench allreduce --workers 4 --nodes 2 --link-mbps 1000 --hier both --transport auto --sizes 4M,16M,64M --csv\" ./run_all.sh", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "go test -run '^$' -bench LinkTimer ./transport/tcp/", Run: "go test -run '^$' -bench LinkTimer -benchtime 3x ./transport/tcp/",
			Note: "three waits each: that it runs, not its figures", Want: "BenchmarkLinkTimer/timerfd"},
		{File: "docs/benchmarks.md", Doc: "REPS=2 ONLY=mpi EXTRA_ALLREDUCE='./ringtrain bench allreduce --worlds 2,4 --sizes 4K,64K,1M,16M,64M --csv; ./ringtrain bench allreduce --worlds 2,4 --sizes 4K,64K,1M,16M,64M --transport shm --csv' ./run_all.sh", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --worlds 2,4 --sizes 4K,64K,1M,16M,64M --transport shm", Run: "ringtrain bench allreduce --worlds 2,4 --sizes 4K,64K,1M --iters 3 --transport shm",
			Note: "up to 1 MiB, 3 iterations, instead of up to 64 MiB"},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --worlds 2,4 --sizes 4K,64K,256K,1M", Run: "ringtrain bench allreduce --worlds 2,4 --sizes 4K,64K,256K,1M --iters 3",
			Note: "3 iterations per size: that it runs, not its figures"},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --worlds 2,4 --sizes 4K,64K,256K,1M --transport shm", Run: "ringtrain bench allreduce --worlds 2,4 --sizes 4K,64K,256K,1M --iters 3 --transport shm",
			Note: "3 iterations per size: that it runs, not its figures"},
		{File: "docs/benchmarks.md", Doc: "SIZES=\"4096 65536 262144 1048576\" REPS=3 ONLY=mpi EXTRA_ALLREDUCE='./ringtrain bench allreduce --worlds 2,4 --sizes 4K,64K,256K,1M --csv; ./ringtrain bench allreduce --worlds 2,4 --sizes 4K,64K,256K,1M --transport shm --csv' ./run_all.sh", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "make build build-openblas", Needs: "openblas"},
		{File: "docs/benchmarks.md", Doc: "cp bin/ringtrain bin/ringtrain-openblas /tmp/peer-bench/ && cd /tmp/peer-bench", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "REPS=2 ONLY=train EXTRA_TRAIN='./ringtrain bench train --worlds 1,2 --csv; OPENBLAS_NUM_THREADS=1 ./ringtrain-openblas bench train --worlds 1,2 --csv' ./run_all.sh", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "PEERS=../shared/bench REPS=3 bench/step_vs_torch.sh", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 CGO_LDFLAGS=-lopenblas go test -tags openblas -run '^$' -bench Step -benchmem ./model/", Needs: "openblas",
			Run: "GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 CGO_LDFLAGS=-lopenblas go test -tags openblas -run '^$' -bench Step -benchmem -benchtime 1x ./model/", Note: "each benchmark once: that they run, not their figures"},
		{File: "docs/benchmarks.md", Doc: "GOMAXPROCS=1 go test -run '^$' -bench Step -benchmem ./model/", Run: "GOMAXPROCS=1 go test -run '^$' -bench Step -benchmem -benchtime 1x ./model/",
			Note: "each benchmark once: that they run, not their figures"},
		{File: "docs/benchmarks.md", Doc: "go test -run '^$' -bench AdamWBandwidth ./optim/", Run: "go test -run '^$' -bench AdamWBandwidth -benchtime 1x ./optim/",
			Note: "once: that it runs, not its figures"},
		{File: "docs/benchmarks.md", Doc: "ringtrain launch --config docs/examples/shakespeare-gpt.yaml --workers 1",
			Run:  "sed -e 's/steps: 2000/steps: 10/' -e 's/every_steps: 500/every_steps: 5/' -e 's/windows: 1024/windows: 16/' docs/examples/shakespeare-gpt.yaml > gpt.yaml && ringtrain launch --config gpt.yaml --workers 1 --run-dir runs/gpt1",
			Note: shortLM, Want: "validation loss"},
		{File: "docs/benchmarks.md", Doc: "ringtrain launch --config docs/examples/shakespeare-gpt.yaml --workers 2",
			Run: "ringtrain launch --config gpt.yaml --workers 2 --run-dir runs/gpt2", Note: shortLM, Want: "on 2 workers"},
		{File: "docs/benchmarks.md", Doc: "ringtrain launch --config docs/examples/shakespeare-lstm.yaml --workers 1",
			Run:  "sed -e 's/steps: 2000/steps: 10/' -e 's/every_steps: 500/every_steps: 5/' -e 's/windows: 1024/windows: 16/' docs/examples/shakespeare-lstm.yaml > lstm.yaml && ringtrain launch --config lstm.yaml --workers 1 --run-dir runs/lstm",
			Note: shortLM, Want: "validation loss"},
		{File: "docs/benchmarks.md", Doc: "PEERS=../shared/bench REPS=2 bench/lm_vs_torch.sh", Skip: whyPeers},
		{File: "docs/benchmarks.md", Doc: "deploy/gpu/check.sh", Skip: "builds the GPU machine's binaries with the CUDA toolchain: the same builds as make test's gpu-ci"},
		{File: "docs/benchmarks.md", Doc: "deploy/gpu/check.sh run", Skip: "needs a GPU"},
		{File: "docs/benchmarks.md", Doc: "go test -count=20 -run TestWorkerCrashRecovers -v ./cmd/ringtrain", Covered: "TestWorkerCrashRecovers"},
		{File: "docs/benchmarks.md", Doc: "go test -count=20 -run TestHungWorkerIsRemovedAndRejoins -v ./cmd/ringtrain", Covered: "TestHungWorkerIsRemovedAndRejoins"},
	}},

	{Name: "compress", Steps: []docStep{
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --worlds 2,4 --sizes 16M,64M --op reduce-scatter --compress none,bf16,fp16",
			Run:  "ringtrain bench allreduce --worlds 2,4 --sizes 64K --iters 3 --op reduce-scatter --compress none,bf16,fp16",
			Note: "64 KiB, 3 iterations, instead of 16 and 64 MiB: that it runs, not its figures", Want: "busbw vs none"},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --worlds 2,4 --sizes 16M,64M --op reduce-scatter --compress none,bf16,fp16 --link-mbps 2000",
			Run:  "ringtrain bench allreduce --worlds 2 --sizes 64K --iters 3 --op reduce-scatter --compress none,bf16 --link-mbps 2000",
			Note: "64 KiB, 3 iterations, one world, two formats: that it runs, not its figures", Want: "busbw vs none"},
		{File: "docs/benchmarks.md", Doc: "ringtrain launch --workers 2 --config bf16.yaml --run-dir runs/bf16",
			Run:  "printf 'cluster: {compress: bf16}\\ntrain: {steps: 40}\\n' > bf16.yaml && ringtrain launch --workers 2 --config bf16.yaml --run-dir runs/bf16",
			Note: "bf16.yaml as documented, with 40 steps instead of the default job's 1250", Want: "test accuracy"},
		{File: "docs/benchmarks.md", Doc: "ringtrain launch --workers 2 --config gpt-bf16.yaml --run-dir runs/gpt-bf16",
			Run:  "sed -e 's/steps: 2000/steps: 10/' -e 's/every_steps: 500/every_steps: 5/' -e 's/windows: 1024/windows: 16/' docs/examples/shakespeare-gpt.yaml > gpt-bf16.yaml && echo 'cluster: {compress: bf16}' >> gpt-bf16.yaml && ringtrain launch --workers 2 --config gpt-bf16.yaml --run-dir runs/gpt-bf16",
			Note: "gpt-bf16.yaml as documented (the example job plus cluster.compress), with 10 steps, checkpoints every 5 steps and 16 validation windows instead of 2000, 500 and 1024", Want: "validation loss"},
		{File: "docs/benchmarks.md", Doc: "go test -run '^$' -bench HalfConvert ./allreduce/", Run: "go test -run '^$' -bench HalfConvert -benchtime 1x ./allreduce/",
			Note: "one iteration per kernel: that it runs, not its figures", Want: "BenchmarkHalfConvert/bf16/1024KiB/combineHalf/simd"},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --worlds 2,4 --sizes 16M,64M --op reduce-scatter --compress none,bf16,fp16 --iters 20",
			Run:  "ringtrain bench allreduce --worlds 2 --sizes 64K --iters 3 --op reduce-scatter --compress none,bf16,fp16",
			Note: "64 KiB, 3 iterations, one world: that it runs, not its figures", Want: "busbw vs none"},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --worlds 2,4 --sizes 16M,64M --op reduce-scatter --compress none,bf16,fp16 --iters 20 --link-mbps 2000",
			Run:  "ringtrain bench allreduce --worlds 2 --sizes 64K --iters 3 --op reduce-scatter --compress none,fp16 --link-mbps 2000",
			Note: "64 KiB, 3 iterations, one world, two formats: that it runs, not its figures", Want: "busbw vs none"},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --worlds 2,4 --sizes 16M,64M --op reduce-scatter --compress none,bf16,fp16 --iters 20 --link-mbps 10000",
			Run:  "ringtrain bench allreduce --worlds 2 --sizes 64K --iters 3 --op reduce-scatter --compress none,bf16 --link-mbps 10000",
			Note: "64 KiB, 3 iterations, one world, two formats: that it runs, not its figures", Want: "busbw vs none"},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench allreduce --worlds 2,4 --sizes 16M,64M --op all-gather --iters 20 --link-mbps 2000",
			Run:  "ringtrain bench allreduce --worlds 2 --sizes 64K --iters 3 --op all-gather --link-mbps 2000",
			Note: "64 KiB, 3 iterations, one world: that it runs, not its figures", Want: "busbw"},
	}},

	{Name: "serve-bench", Steps: []docStep{
		{File: "docs/benchmarks.md", Doc: "ringtrain bench serve", Run: "ringtrain bench serve --duration 300ms --fractions 0.5",
			Note: "300 ms per load run and one open-loop rate instead of 5 s and two: that it runs, not its figures", Want: "saturated throughput"},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench serve --kind cnn", Run: "ringtrain bench serve --kind cnn --duration 300ms --fractions 0.5",
			Note: "300 ms per load run and one open-loop rate instead of 5 s and two", Want: "cnn (LeNet convolutions, then fully connected) 784-120-84-10"},
		{File: "docs/benchmarks.md", Doc: "ringtrain bench serve --hidden 2048,2048 --max-batch 128 --conns 256 --sat-conns 256",
			Run:  "ringtrain bench serve --hidden 2048,2048 --max-batch 128 --conns 256 --sat-conns 256 --duration 300ms --fractions 0.1",
			Note: "300 ms per load run and one open-loop rate (0.1 of saturation) instead of 5 s and two", Want: "mlp 784-2048-2048-10"},
		{File: "docs/benchmarks.md", Doc: "go test -run '^$' -bench 'Flatten784|DecodeV2|InferHandler' ./serve/", Run: "go test -run '^$' -bench 'Flatten784|DecodeV2|InferHandler' -benchtime 1x ./serve/",
			Note: "each benchmark once: that they run, not their figures"},
	}},
}

// serveDocRun runs README's serve line on a free port in the background,
// sends it README's curl request and SIGTERM, and exits with curl's status
// if serve drained and exited 0.
const serveDocRun = `ringtrain serve runs/exp1 --addr 127.0.0.1:0 2>serve.log & pid=$!; ` +
	`for i in $(seq 200); do addr=$(sed -n 's|.* on http://\([^/]*\)/.*|\1|p' serve.log); [ -n "$addr" ] && break; sleep 0.05; done; ` +
	`curl -sf $addr/predict -d @request.json; rc=$?; kill -TERM $pid; wait $pid && cat serve.log && exit $rc`

// serveTLSDocRun runs README's HTTPS serve line on a free port in the
// background, sends README's request with the token and the same without
// (which must get 401), then SIGTERM; it exits with curl's status if serve
// drained and exited 0.
const serveTLSDocRun = `ringtrain serve runs/exp1 --addr 127.0.0.1:0 --tls-cert serve-tls/serve.crt --tls-key serve-tls/serve.key --token-file serve.token 2>serve.log & pid=$!; ` +
	`for i in $(seq 200); do addr=$(sed -n 's|.* on https://\([^/]*\)/.*|\1|p' serve.log); [ -n "$addr" ] && break; sleep 0.05; done; ` +
	`code=$(curl -s -o /dev/null -w '%{http_code}' --cacert serve-tls/ca.crt https://$addr/predict -d @request.json); echo "without the token: $code"; ` +
	`curl -sf --cacert serve-tls/ca.crt -H "Authorization: Bearer $(cat serve.token)" https://$addr/predict -d @request.json; rc=$?; ` +
	`kill -TERM $pid; wait $pid && cat serve.log && [ "$code" = 401 ] && exit $rc`

// digitsCSV is n rows of 784 raw pixel values (0-255), no label: strokes
// of varying position.
func digitsCSV(n int) string {
	var b strings.Builder
	for r := range n {
		for i := range 784 {
			if i > 0 {
				b.WriteByte(',')
			}
			v := 0
			if x, y := i%28, i/28; y > 4 && y < 24 && (x == 10+3*r || x == 11+3*r) {
				v = 255
			}
			b.WriteString(strconv.Itoa(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// predictRequest is a /predict body of n instances like digitsCSV's rows.
func predictRequest(n int) string {
	rows := strings.Split(strings.TrimSpace(digitsCSV(n)), "\n")
	return `{"instances": [[` + strings.Join(rows, "], [") + `]]}`
}
