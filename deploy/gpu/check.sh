#!/usr/bin/env bash
# deploy/gpu/check.sh: the prepared check of the gpu build on a GPU machine.
#
#   deploy/gpu/check.sh [build]   HERE (Go, the CUDA toolchain of
#       deploy/gpu/toolchain.sh): builds into .gpu/ (ignored by git, see
#       .gitignore) the two stripped binaries the GPU machine runs:
#         .gpu/ringtrain-gpu   make build-gpu (links libcuda.so.1 only)
#         .gpu/cuda.test       go test -c -tags gpu ./model/device/cuda
#       Carry .gpu to the GPU machine (the device tool: carry [".gpu"]).
#   deploy/gpu/check.sh run       THERE (no Go needed): nvidia-smi, the
#       binaries' shared libraries resolved eagerly (LD_BIND_NOW), gpu-info,
#       the device tests (the conformance of every kernel against the
#       emulated device, copies, refusals), the copy bandwidth benchmark,
#       the model on the GPU against the CPU (gradients, step time) and a
#       2-worker launch of the default job. Everything goes to the terminal
#       and to $OUT/gpu-check.log when OUT is set. It runs every step even
#       after a failure and exits 1 if any failed. About a minute; each step
#       has a time limit, all of them together under 5 minutes.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
out_dir=.gpu

build() {
	set -e
	deploy/gpu/toolchain.sh
	mkdir -p "$out_dir"
	make --no-print-directory build-gpu GPU_BIN="$out_dir/ringtrain-gpu"
	make --no-print-directory gpu-link-check GPU_BIN="$out_dir/ringtrain-gpu"
	local cuda_dir=${CUDA_HOME:-${RINGTRAIN_CUDA:-/work/cache/cuda-11.8}}
	CGO_ENABLED=1 CGO_CFLAGS="-O2 -g -I$cuda_dir/include" CGO_LDFLAGS="-L$cuda_dir/lib64/stubs" \
		go test -c -tags gpu -ldflags "-s -w" -o "$out_dir/cuda.test" ./model/device/cuda
	# compressed for the trip (the device tool carries 64 MiB with the working tree)
	gzip -9 -f "$out_dir/ringtrain-gpu" "$out_dir/cuda.test"
	du -ch "$out_dir"/* | sed 's/^/check.sh: /'
	local total
	total=$(du -cm "$out_dir" | awk 'END { print $1 }')
	if [ "$total" -ge 60 ]; then
		echo "check.sh: $out_dir holds $total MB; the device tool carries 64 MiB in all" >&2
		exit 1
	fi
	echo "check.sh: built; on the GPU machine run: deploy/gpu/check.sh run (carry .gpu)"
}

failed=()

# step NAME LIMIT_S CMD...: runs CMD under a time limit, records a failure.
step() {
	local name=$1 limit=$2
	shift 2
	echo
	echo "=== $name ($*)"
	local t0 rc
	t0=$(date +%s)
	timeout --kill-after=10 "$limit" "$@"
	rc=$?
	echo "=== $name: exit $rc after $(($(date +%s) - t0)) s"
	if [ "$rc" -ne 0 ]; then
		failed+=("$name (exit $rc)")
	fi
}

# The model on the GPU against the CPU engine: the mlp's loss, gradients
# and evaluation (tolerance 1e-5), then the step time GPU vs CPU.
check_model_gradients() {
	step "model gradients GPU vs CPU" 120 "$out_dir/cuda.test" -test.v -test.run TestDeviceModelMatchesCPU -test.timeout 110s
	step "step time GPU vs CPU" 120 "$out_dir/cuda.test" -test.run '^$' -test.bench BenchmarkStep -test.benchtime 2s -test.timeout 110s
	# the peer: PyTorch eager, the same MLP on the same GPU
	step "step time PyTorch eager (peer)" 120 python3 deploy/gpu/torch_step.py
}

# Two workers on GPU 0 (the machine may have one) train the default job
# through the ring over loopback; the run must end with a test accuracy
# like the CPU's (about 96%). Then the same on the CPU, timed alike.
check_two_workers() {
	local bin=$out_dir/ringtrain-gpu
	step "2-worker launch on the GPU" 240 "$bin" launch --workers 2 --device gpu:0 --run-dir /tmp/ringtrain-gpu-run
	step "2-worker launch on the CPU" 240 "$bin" launch --workers 2 --device cpu --run-dir /tmp/ringtrain-cpu-run
	# samples/s at 1 and 2 workers (both on GPU 0), the MNIST-shaped MLP
	step "bench train on the GPU" 240 "$bin" bench train --device gpu:0 --worlds 1,2 --steps 200 --warmup 20 --batch-per-worker 64 --csv
}

run() {
	local bin=$out_dir/ringtrain-gpu test=$out_dir/cuda.test
	for f in "$bin" "$test"; do
		if [ -f "$f.gz" ]; then
			gunzip -f "$f.gz" && chmod +x "$f"
		fi
	done
	for f in "$bin" "$test"; do
		if [ ! -x "$f" ]; then
			echo "check.sh: $f missing: run deploy/gpu/check.sh build where Go is, and carry .gpu" >&2
			return 1
		fi
	done
	echo "check.sh run: $(date -u +%FT%TZ) on $(hostname)"
	step nvidia-smi 30 nvidia-smi
	# every library and symbol the binary needs is there (ldd -r binds all)
	# shellcheck disable=SC2016 # $1 and $out belong to the inner bash
	step "shared libraries resolve" 30 bash -c 'out=$(ldd -r "$1" 2>&1); echo "$out"; ! grep -E "not found|undefined symbol" <<<"$out"' _ "$bin"
	step "ringtrain-gpu version" 30 env LD_BIND_NOW=1 "$bin" version
	step "ringtrain-gpu gpu-info" 60 "$bin" gpu-info
	step "device tests" 120 "$test" -test.v -test.run . -test.timeout 110s
	step "copy bandwidth" 90 "$test" -test.run '^$' -test.bench BenchmarkCopy -test.benchtime 0.5s -test.timeout 80s
	check_model_gradients
	check_two_workers
	echo
	if [ ${#failed[@]} -gt 0 ]; then
		printf 'check.sh run: FAILED: %s\n' "${failed[@]}"
		return 1
	fi
	echo "check.sh run: all steps passed"
}

case ${1:-build} in
build) build ;;
run)
	if [ -n "${OUT:-}" ]; then
		mkdir -p "$OUT"
		run 2>&1 | tee "$OUT/gpu-check.log"
		exit "${PIPESTATUS[0]}"
	fi
	run
	;;
*)
	echo "usage: deploy/gpu/check.sh [build|run]" >&2
	exit 2
	;;
esac
