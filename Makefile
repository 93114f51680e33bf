# ringtrain — see README.md. `make test` is what CI runs (.ci/run).
GO      ?= go
BIN     ?= bin/ringtrain
# Packages that start goroutines or touch sockets run under the race detector.
RACE_PKGS := ./allreduce/... ./transport/... ./membership/... ./internal/proc/... ./bench/... ./control/... ./coordinator/... ./worker/... ./checkpoint/... ./telemetry/...
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

.PHONY: all build build-openblas image test test-k8s test-race test-rest lint fmt vet bench bench-go bench-allreduce fuzz proto proto-check clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ringtrain

## build-openblas: cgo build with OpenBLAS for the model math (apt-get install libopenblas-dev)
build-openblas:
	CGO_LDFLAGS=-lopenblas $(GO) build -tags openblas -ldflags "$(LDFLAGS)" -o $(BIN)-openblas ./cmd/ringtrain

## image: the FROM-scratch container image ringtrain:latest (needs a Docker engine)
image:
	@ctx=$$(mktemp -d); mkdir $$ctx/data; CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $$ctx/ringtrain ./cmd/ringtrain && \
	docker build -t ringtrain:latest -f deploy/docker/Dockerfile $$ctx; rc=$$?; rm -rf $$ctx; exit $$rc

## test: lint, generated code up to date, then every package (the concurrent ones with -race),
## then the Kubernetes manifests (their own module, deploy/k8s)
test: lint proto-check test-race test-rest test-k8s

test-race:
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)

test-rest:
	$(GO) test -count=1 -timeout 15m $(OTHER_PKGS)

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

clean:
	rm -rf bin
