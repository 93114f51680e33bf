# ringtrain — see README.md. `make test` is what CI runs (.ci/run).
GO      ?= go
BIN     ?= bin/ringtrain
# Packages that start goroutines or touch sockets run under the race detector.
RACE_PKGS := ./allreduce/... ./transport/... ./membership/... ./internal/proc/... ./bench/... ./control/... ./coordinator/... ./worker/... ./checkpoint/... ./telemetry/... ./serve/...
ALL_PKGS   = $(shell $(GO) list ./...)
OTHER_PKGS = $(filter-out $(shell $(GO) list $(RACE_PKGS) 2>/dev/null),$(ALL_PKGS))
FUZZTIME ?= 20s
# Version stamps (ringtrain version): known even with -buildvcs=false or
# without .git in the build context (make image). VERSION only on a tag.
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
MODIFIED ?= $(shell git diff --quiet HEAD -- 2>/dev/null && echo false || echo true)
VERSION  ?= $(shell git describe --tags --exact-match 2>/dev/null)
BUILDINFO = github.com/ringtrain/ringtrain/internal/buildinfo
LDFLAGS  ?= -X $(BUILDINFO).commit=$(COMMIT) -X $(BUILDINFO).modified=$(MODIFIED) $(if $(VERSION),-X $(BUILDINFO).version=$(VERSION))

.PHONY: all build build-openblas build-gpu image image-gpu test test-k8s test-race test-rest lint fmt vet bench bench-go bench-allreduce fuzz proto proto-check clean
.PHONY: gpu-ci vet-gpu ptx-check gpu-link-check gpu-toolchain-present

# The gpu build (docs/gpu.md): build tag gpu, cgo against CUDA's driver API.
# Headers, stub libcuda.so and ptxas come from $CUDA_HOME if set, else from
# the cache deploy/gpu/toolchain.sh fills ($RINGTRAIN_CUDA, laid out like a
# CUDA_HOME: include/, lib64/stubs/, bin/ptxas).
RINGTRAIN_CUDA ?= /work/cache/cuda-11.8
CUDA_DIR  = $(if $(CUDA_HOME),$(CUDA_HOME),$(RINGTRAIN_CUDA))
GPU_BIN  ?= bin/ringtrain-gpu
GPU_ENV   = CGO_ENABLED=1 CGO_CFLAGS="-O2 -g -I$(CUDA_DIR)/include" CGO_LDFLAGS="-L$(CUDA_DIR)/lib64/stubs"
PTXAS     = $(CUDA_DIR)/bin/ptxas
PTX_FILES ?= $(wildcard model/device/kernels/*.ptx)
PTX_ARCHS ?= sm_80 sm_90
# Packages with a file constrained to the gpu tag.
GPU_PKGS  = $(sort $(dir $(shell grep -rlE --include='*.go' --exclude-dir=.git '^//go:build .*\bgpu\b' . 2>/dev/null | grep -v '^./deploy/k8s/')))
GPU_TOOLCHAIN_PRESENT = $(and $(wildcard $(CUDA_DIR)/include/cuda.h),$(wildcard $(CUDA_DIR)/lib64/stubs/libcuda.so),$(wildcard $(PTXAS)))

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ringtrain

## build-openblas: cgo build with OpenBLAS for the model math (apt-get install libopenblas-dev)
build-openblas:
	CGO_LDFLAGS=-lopenblas $(GO) build -tags openblas -ldflags "$(LDFLAGS)" -o $(BIN)-openblas ./cmd/ringtrain

## build-gpu: bin/ringtrain-gpu, the gpu build (cgo; links libcuda.so.1; stripped: it travels to the GPU machine)
build-gpu: gpu-toolchain-present
	$(GPU_ENV) $(GO) build -tags gpu -ldflags "-s -w $(LDFLAGS)" -o $(GPU_BIN) ./cmd/ringtrain

## image: the FROM-scratch container image ringtrain:latest (needs a Docker engine)
image:
	@ctx=$$(mktemp -d); mkdir $$ctx/data; CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $$ctx/ringtrain ./cmd/ringtrain && \
	docker build -t ringtrain:latest -f deploy/docker/Dockerfile $$ctx; rc=$$?; rm -rf $$ctx; exit $$rc

## image-gpu: the FROM-scratch GPU image ringtrain-gpu:latest: bin/ringtrain-gpu, the loader and the glibc
## libraries it and the driver's libcuda.so.1 need (deploy/docker/Dockerfile.gpu); the host's NVIDIA container
## toolkit mounts libcuda.so.1. Needs the CUDA toolchain (deploy/gpu/toolchain.sh) and a Docker engine
GPU_IMAGE ?= ringtrain-gpu:latest
image-gpu: build-gpu
	@ctx=$$(mktemp -d); deploy/docker/gpu-context.sh $$ctx $(GPU_BIN) && \
	docker build -t $(GPU_IMAGE) -f deploy/docker/Dockerfile.gpu $$ctx; rc=$$?; rm -rf $$ctx; exit $$rc

## test: lint, generated code up to date, the gpu build's checks, then every package (the concurrent
## ones with -race), then the Kubernetes manifests (their own module, deploy/k8s)
test: lint proto-check gpu-ci test-race test-rest test-k8s

test-race:
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)

# -timeout is per package binary: a hang's backstop, set above cmd/ringtrain's
# 13 min measured on a 2-core machine busy with other jobs.
test-rest:
	$(GO) test -count=1 -timeout 25m $(OTHER_PKGS)

## test-k8s: strict decoding of deploy/k8s into the Kubernetes API types, cross-checks, a local run of its commands
test-k8s:
	cd deploy/k8s && $(GO) vet ./... && $(GO) test -count=1 ./...

## lint: gofmt and go vet must be clean
lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## bench: Go micro-benchmarks plus the process-level all-reduce table
bench: bench-go bench-allreduce

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./allreduce/... ./transport/...

bench-allreduce: build
	$(BIN) bench allreduce --worlds 2,4 --sizes 4K,64K,1M,16M,64M,256M

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## proto: regenerate proto/ (protoc from apt: protobuf-compiler libprotobuf-dev; plugins pinned in go.mod)
proto:
	proto/gen.sh

proto-check:
	@if ! command -v protoc >/dev/null; then echo "proto-check: protoc not installed, skipped (apt-get install protobuf-compiler)"; exit 0; fi; \
	tmp=$$(mktemp -d); proto/gen.sh "$$tmp" || exit 1; \
	for f in $$(cd "$$tmp" && find . -name '*.go'); do \
	  if ! cmp -s "$$tmp/$$f" "proto/$$f"; then echo "proto/$$f is stale: run make proto"; rm -rf "$$tmp"; exit 1; fi; \
	done; rm -rf "$$tmp"; echo "proto-check: generated code up to date"

## gpu-ci: vet-gpu and ptx-check when the CUDA toolchain is there; a SKIP line otherwise, an error
## with REQUIRE_GPU_TOOLCHAIN=1 (.ci/run sets it after running deploy/gpu/toolchain.sh)
gpu-ci:
	@if [ -n "$(GPU_TOOLCHAIN_PRESENT)" ]; then $(MAKE) --no-print-directory vet-gpu ptx-check; \
	elif [ "$(REQUIRE_GPU_TOOLCHAIN)" = 1 ]; then \
	  echo "gpu-ci: FAIL: no CUDA toolchain in $(CUDA_DIR) (REQUIRE_GPU_TOOLCHAIN=1): run deploy/gpu/toolchain.sh"; exit 1; \
	else echo "*** SKIP gpu-ci (vet-gpu, ptx-check): no CUDA toolchain in $(CUDA_DIR); run deploy/gpu/toolchain.sh (about 1 min, 820 MB download, 20 MB kept) ***"; fi

gpu-toolchain-present:
	@[ -n "$(GPU_TOOLCHAIN_PRESENT)" ] || { echo "no CUDA toolchain in $(CUDA_DIR) (cuda.h, lib64/stubs/libcuda.so, bin/ptxas): run deploy/gpu/toolchain.sh or set CUDA_HOME"; exit 1; }

## vet-gpu: go vet -tags gpu of the packages with gpu files, go build -tags gpu ./..., and bin/ringtrain-gpu
## links libcuda.so.1 and no other CUDA library (the GPU machine has CUDA 13's, other sonames)
vet-gpu: gpu-toolchain-present build-gpu
	$(GPU_ENV) $(GO) vet -tags gpu $(GPU_PKGS)
	$(GPU_ENV) $(GO) build -tags gpu ./...
	@$(MAKE) --no-print-directory gpu-link-check

# gpu-link-check: $(GPU_BIN) needs libcuda.so.1 and no other CUDA library
gpu-link-check:
	@needed=$$(readelf -d $(GPU_BIN) | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' '); \
	echo "gpu-link-check: $(GPU_BIN) ($$(du -m $(GPU_BIN) | cut -f1) MB) needs: $$needed"; \
	case " $$needed " in *" libcuda.so.1 "*) ;; *) echo "gpu-link-check: FAIL: $(GPU_BIN) does not link libcuda.so.1"; exit 1;; esac; \
	other=$$(printf '%s\n' $$needed | grep -E '^lib(cu|nv|npp)' | grep -vx 'libcuda.so.1' | tr '\n' ' '); \
	if [ -n "$$other" ]; then echo "gpu-link-check: FAIL: $(GPU_BIN) links CUDA libraries besides libcuda.so.1: $$other"; exit 1; fi

## ptx-check: ptxas (CUDA 11.8) assembles every kernels/*.ptx for each of PTX_ARCHS
ptx-check: gpu-toolchain-present
	@[ -n "$(strip $(PTX_FILES))" ] || { echo "ptx-check: FAIL: no PTX files"; exit 1; }
	@for f in $(PTX_FILES); do for a in $(PTX_ARCHS); do \
	  $(PTXAS) -arch=$$a -o /dev/null $$f || { echo "ptx-check: FAIL: $$f does not assemble for $$a (ptxas's message above)"; exit 1; }; \
	done; done; echo "ptx-check: $(words $(PTX_FILES)) PTX file(s) assemble for $(PTX_ARCHS) ($$($(PTXAS) --version | tail -1))"

clean:
	rm -rf bin
