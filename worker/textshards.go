package worker

import (
	"context"
	"fmt"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
)

// checkTextShards checks that a token-stream shard directory (data pack
// --from text) and the job go together: a language model of the context
// the windows were packed for; and that other shards do not feed one.
func checkTextShards(s job.Spec, set *data.ShardSet) (*data.Vocab, error) {
	m := set.Manifest
	if !m.IsText() {
		if s.Model.Sequence() {
			return nil, fmt.Errorf("data: shards: %s holds labelled samples (source %q), not a token stream: model.kind %s is a language model (pack a text with ringtrain data pack --from text)",
				set.Dir, m.Source, s.Model.Kind)
		}
		return nil, nil
	}
	if !s.Model.Sequence() {
		return nil, fmt.Errorf("data: shards: %s is a token stream packed from a text (source text): it trains a language model (model.kind transformer, lstm or gru), not %s",
			set.Dir, s.Model.Kind)
	}
	if m.Context != s.Model.Context {
		return nil, fmt.Errorf("data: shards: %s was packed for model.context %d, but the job's model.context is %d: set model.context: %d, or pack the text again with --context %d",
			set.Dir, m.Context, s.Model.Context, m.Context, s.Model.Context)
	}
	v, err := m.TextVocab()
	if err != nil {
		return nil, fmt.Errorf("data: shards: %s: %w", set.Dir, err)
	}
	return v, nil
}

// tokenShardSource deals a token stream's windows: the shard stream's
// records (context+1 token ids each) split into inputs, record[0:context],
// and targets, record[1:context+1].
type tokenShardSource struct {
	*shardSource
	context, vocab int
	rec            []float32
	labels         []int32
}

func (s *tokenShardSource) fill(c data.Cursor, rank, world int, x []float32, y []int32) error {
	return s.fillCtx(context.Background(), c, rank, world, x, y)
}

func (s *tokenShardSource) fillCtx(ctx context.Context, c data.Cursor, rank, world int, x []float32, y []int32) error {
	k := s.context
	n := len(x) / k
	if len(x) != n*k || len(y) != len(x) {
		return fmt.Errorf("data: token shards: x %d and y %d: want whole windows of %d tokens", len(x), len(y), k)
	}
	if cap(s.rec) < n*(k+1) {
		s.rec, s.labels = make([]float32, n*(k+1)), make([]int32, n)
	}
	rec, labels := s.rec[:n*(k+1)], s.labels[:n]
	if err := s.shardSource.fillCtx(ctx, c, rank, world, rec, labels); err != nil {
		return err
	}
	for i := range n {
		if err := data.RecordTokens(rec[i*(k+1):(i+1)*(k+1)], s.vocab, x[i*k:(i+1)*k], y[i*k:(i+1)*k]); err != nil {
			return fmt.Errorf("data: shards %s: epoch %d step %d window %d: %w", s.set.Dir, c.Epoch, c.Step, i, err)
		}
	}
	return nil
}

// recordEvalIndices are the test records a token stream's evaluation
// covers: min(windows, n) of the n records, evenly spread from the first
// to the last (as a text's validation windows are over its positions).
func recordEvalIndices(n, windows int) ([]int, error) {
	if n < 1 {
		return nil, fmt.Errorf("data: shards: no test windows")
	}
	idx, err := data.EvalStarts(n+1, 1, windows)
	if err != nil {
		return nil, fmt.Errorf("data: shards: test windows: %w", err)
	}
	return idx, nil
}

// evalRecords evaluates the test records idx of a token stream (rows of
// context+1 token ids): the summed loss over their targets, the targets
// predicted right, and their count.
func evalRecords(m model.Engine, test *data.Dataset, idx []int, vocab int) (lossSum float64, correct, count int, err error) {
	k := m.Spec().Targets()
	if test.Dim != k+1 {
		return 0, 0, 0, fmt.Errorf("evaluate: test records of %d tokens for a context of %d", test.Dim, k)
	}
	x := make([]float32, min(len(idx), evalChunkWindows)*k)
	y := make([]int32, len(x))
	for lo := 0; lo < len(idx); lo += evalChunkWindows {
		part := idx[lo:min(lo+evalChunkWindows, len(idx))]
		xs, ys := x[:len(part)*k], y[:len(part)*k]
		for i, r := range part {
			if err := data.RecordTokens(test.X[r*test.Dim:(r+1)*test.Dim], vocab, xs[i*k:(i+1)*k], ys[i*k:(i+1)*k]); err != nil {
				return 0, 0, 0, fmt.Errorf("evaluate: %s record %d: %w", test.Name, r, err)
			}
		}
		l, c, err := m.Evaluate(xs, ys)
		if err != nil {
			return 0, 0, 0, err
		}
		lossSum, correct, count = lossSum+l, correct+c, count+len(ys)
	}
	return lossSum, correct, count, nil
}
