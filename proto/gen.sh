#!/usr/bin/env bash
# Regenerates the Go code from the .proto files with protoc (Debian's
# protobuf-compiler) and the plugins pinned as go.mod tools.
# Usage: proto/gen.sh [OUTDIR]   (default: proto/, i.e. in place)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/proto}"
cd "$root"
gen_go="$(go tool -n protoc-gen-go)"
gen_grpc="$(go tool -n protoc-gen-go-grpc)"
protoc -I proto \
  --plugin=protoc-gen-go="$gen_go" \
  --plugin=protoc-gen-go-grpc="$gen_grpc" \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  ringtrain/v1/control.proto
