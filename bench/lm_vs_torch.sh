#!/bin/bash
# lm_vs_torch.sh: the language-model step figures of docs/benchmarks.md in one
# run: PyTorch (the peers' char_gpt.py: GPT and LSTM on tiny Shakespeare, one
# thread) and ringtrain's bench train on the same models, batch and optimizer,
# interleaved, REPS times; then where ringtrain's step goes, kernel by kernel.
#
#   PEERS=../shared/bench REPS=2 bench/lm_vs_torch.sh
#
# Needs: make build build-openblas; the peers' setup.sh (python3-torch).
# Prints CSV lines: char_gpt.py's and bench train's (the two headers come first;
# median_step_s is the step time of both).
set -u
cd "$(dirname "$0")/.."
PEERS=${PEERS:-../shared/bench}
REPS=${REPS:-2}
ITERS=${ITERS:-150}
BIN=$PWD/bin
echo "# char_gpt.py: impl,model,world,threads,batch,iters,median_step_s,min_step_s,tokens_per_s,val_loss,train_loss,wall_s"
echo "# bench train: impl,model,world,threads,batch_per_worker,median_step_s,min_step_s,samples_per_s,exposed_comm_s"
for rep in $(seq 1 "$REPS"); do
  echo "# rep $rep $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  for m in gpt lstm; do
    kind=transformer
    [ "$m" = lstm ] && kind=lstm
    (cd "$PEERS" && /usr/bin/python3 char_gpt.py --model "$m" --iters "$ITERS" --eval-iters 2 --no-header 2>/dev/null)
    OPENBLAS_NUM_THREADS=1 "$BIN/ringtrain-openblas" bench train --model "$kind" --batch-per-worker 12 --worlds 1 \
      --steps "$ITERS" --warmup 20 --csv 2>/dev/null | grep -v '^impl'
    "$BIN/ringtrain" bench train --model "$kind" --batch-per-worker 12 --worlds 1 --steps 40 --warmup 5 --csv 2>/dev/null | grep -v '^impl'
  done
done
echo "# kernels $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 CGO_LDFLAGS=-lopenblas go test -tags openblas -run '^$' \
  -bench 'TransformerKernels|RNNKernels/lstm' -benchtime 20x ./model/ | grep ^Bench
