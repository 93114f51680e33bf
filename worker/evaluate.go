package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
)

// newSource is the job's training samples, and for a text the starts of
// its validation windows (eval.windows, evenly spaced; for a token
// stream's shards, the indices of its test records).
func newSource(spec job.Spec, c *Corpus) (source, []int, error) {
	gb := spec.Train.GlobalBatch
	if c.Text != nil {
		src, err := newTextSource(c.Text.Train, spec.Model.Context, gb, spec.Seed)
		if err != nil {
			return nil, nil, err
		}
		starts, err := data.EvalStarts(len(c.Text.Val), spec.Model.Context, spec.Eval.Windows)
		if err != nil {
			return nil, nil, fmt.Errorf("data: validation text: %w", err)
		}
		return src, starts, nil
	}
	if c.Shards != nil {
		src, err := newShardSource(c.Shards, gb, spec.Seed, spec.Data.OnError == "skip", slog.Default())
		if err != nil || c.TokenVocab == nil {
			return src, nil, err
		}
		idx, err := recordEvalIndices(c.Test.N, spec.Eval.Windows)
		if err != nil {
			return nil, nil, err
		}
		return &tokenShardSource{shardSource: src, context: spec.Model.Context, vocab: c.TokenVocab.Len()}, idx, nil
	}
	if gb > c.Train.N {
		return nil, nil, fmt.Errorf("train.global_batch %d is larger than the %d training samples", gb, c.Train.N)
	}
	sampler, err := data.NewSampler(c.Train.N, gb, spec.Seed)
	if err != nil {
		return nil, nil, err
	}
	aug := newAugmenter(spec)
	if err := aug.Check(c.Train.Shape); err != nil {
		return nil, nil, err
	}
	return &datasetSource{ds: c.Train, sampler: sampler, aug: aug}, nil, nil
}

// EvalSamples is the number of samples an evaluation covers: test samples,
// or validation windows.
func (t *Trainer) EvalSamples() int {
	if t.corpus.vocab() != nil {
		return len(t.evalStarts)
	}
	return t.corpus.Test.N
}

// Evaluate computes the loss and accuracy on the held-out data, each rank
// evaluating its contiguous part and the sums all-reduced: per test
// sample for a classifier; for a language model per validation token
// (the loss in nats per token, exp of it the perplexity; the accuracy of
// the most likely next character).
func (t *Trainer) Evaluate(ctx context.Context) (loss, acc float64, err error) {
	return t.evaluate(ctx, t.corpus.Test)
}

// EvaluateValidation is Evaluate on the validation split carved by
// data.val_fraction, or on the test set without one.
func (t *Trainer) EvaluateValidation(ctx context.Context) (loss, acc float64, err error) {
	if t.corpus.Val != nil {
		return t.evaluate(ctx, t.corpus.Val)
	}
	return t.Evaluate(ctx)
}

// evaluate is Evaluate on a classifier's held-out split test (ignored
// for a language model).
func (t *Trainer) evaluate(ctx context.Context, test *data.Dataset) (loss, acc float64, err error) {
	if err := t.settle(); err != nil {
		return 0, 0, err
	}
	var lossSum float64
	var correct, count int
	if text := t.corpus.Text; text != nil {
		mine := data.ShardEval(t.evalStarts, t.rank, t.world)
		lossSum, correct, count, err = evalWindows(t.model, text.Val, mine)
	} else if v := t.corpus.TokenVocab; v != nil {
		mine := data.ShardEval(t.evalStarts, t.rank, t.world)
		lossSum, correct, count, err = evalRecords(t.model, t.corpus.Test, mine, v.Len())
	} else {
		lo, hi := data.EvalRange(test.N, t.rank, t.world)
		if hi > lo {
			d := test.Dim
			lossSum, correct, err = t.model.Evaluate(test.X[lo*d:hi*d], test.Y[lo:hi])
		}
		count = hi - lo
	}
	if err != nil {
		return 0, 0, err
	}
	buf := t.scalar[:3]
	buf[0], buf[1], buf[2] = float32(lossSum), float32(correct), float32(count)
	if err := t.comm.AllReduce(ctx, buf, allreduce.Sum); err != nil {
		return 0, 0, err
	}
	if buf[2] == 0 {
		return 0, 0, errors.New("evaluate: empty test set")
	}
	return float64(buf[0]) / float64(buf[2]), float64(buf[1]) / float64(buf[2]), nil
}

// evalChunkWindows bounds the windows evaluated at once (memory).
const evalChunkWindows = 64

// evalWindows evaluates the windows at starts of tokens: the summed loss
// over their tokens, the tokens predicted right, and the token count.
func evalWindows(m model.Engine, tokens []uint16, starts []int) (lossSum float64, correct, count int, err error) {
	context := m.Spec().Targets()
	x := make([]float32, min(len(starts), evalChunkWindows)*context)
	y := make([]int32, len(x))
	for lo := 0; lo < len(starts); lo += evalChunkWindows {
		part := starts[lo:min(lo+evalChunkWindows, len(starts))]
		xs, ys := x[:len(part)*context], y[:len(part)*context]
		if err := windows(tokens, part, context, xs, ys); err != nil {
			return 0, 0, 0, err
		}
		l, c, err := m.Evaluate(xs, ys)
		if err != nil {
			return 0, 0, 0, err
		}
		lossSum, correct, count = lossSum+l, correct+c, count+len(ys)
	}
	return lossSum, correct, count, nil
}

// noDecay are the ranges of the shard [lo, hi) (shard-relative) that weight
// decay skips: the tensors of fewer than two dimensions (biases,
// LayerNorm gains), as AdamW users expect decay on matrices only.
func noDecay(layout []model.Tensor, lo, hi int) [][2]int {
	var out [][2]int
	for _, t := range layout {
		if len(t.Shape) >= 2 {
			continue
		}
		a, b := max(t.Offset, lo), min(t.Offset+t.Size(), hi)
		if a >= b {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == a-lo {
			out[n-1][1] = b - lo // adjacent: merge
			continue
		}
		out = append(out, [2]int{a - lo, b - lo})
	}
	return out
}

// passSeed is the seed of a pass's random choices (dropout): a function of
// the run's seed, the step, the rank and the micro-batch only, so a run is
// deterministic and resumes exactly.
func passSeed(seed uint64, step, rank, micro int) uint64 {
	x := seed
	for _, v := range []uint64{uint64(step), uint64(rank), uint64(micro)} {
		x ^= v + 0x9e3779b97f4a7c15 + (x << 6) + (x >> 2)
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		x = (x ^ (x >> 27)) * 0x94d049bb133111eb
		x ^= x >> 31
	}
	return x
}
