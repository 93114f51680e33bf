#!/bin/bash
# step_vs_torch.sh: the training-step figures of docs/benchmarks.md in one run,
# PyTorch (the peers' ddp_mlp.py) and ringtrain interleaved, REPS times, then
# the Go micro-benchmarks of the step and the optimizer.
#
#   PEERS=../shared/bench REPS=2 bench/step_vs_torch.sh
#
# Needs: make build build-openblas; the peers' setup.sh (python3-torch);
# prints CSV lines (ddp_mlp.py's columns; ringtrain adds exposed_comm_s).
set -u
cd "$(dirname "$0")/.."
PEERS=${PEERS:-../shared/bench}
REPS=${REPS:-2}
BIN=$PWD/bin
for rep in $(seq 1 "$REPS"); do
  echo "# rep $rep $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  (cd "$PEERS" && /usr/bin/python3 ddp_mlp.py --only mlp-t1,lenet5-t1,mlp-ddp2,mlp-ddp4 --no-header 2>/dev/null)
  OPENBLAS_NUM_THREADS=1 "$BIN/ringtrain-openblas" bench train --worlds 1,2,4 --csv 2>/dev/null | grep -v '^impl'
  OPENBLAS_NUM_THREADS=1 "$BIN/ringtrain-openblas" bench train --worlds 1 --model cnn --hidden 120,84 --csv 2>/dev/null | grep -v '^impl'
  "$BIN/ringtrain" bench train --worlds 1,2 --csv 2>/dev/null | grep -v '^impl'
done
echo "# go benchmarks $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 CGO_LDFLAGS=-lopenblas go test -tags openblas -run '^$' -bench Step -benchmem -benchtime 200x ./model/ | grep ^Bench
GOMAXPROCS=1 go test -run '^$' -bench Step -benchmem -benchtime 50x ./model/ | grep ^Bench
go test -run '^$' -bench AdamWBandwidth -benchtime 20x ./optim/ | grep ^Bench
