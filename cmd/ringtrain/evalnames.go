package main

import (
	"fmt"

	"github.com/ringtrain/ringtrain/job"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// evalNames names a run's evaluations: with data.val_fraction those
// during training are on the validation split and the last one (at the
// last step, which the progress reports give) on the test split. Not safe
// for concurrent use (the views hold their lock).
type evalNames struct {
	lm, val bool
	total   int64 // the run's steps, from the last progress report; 0 until one
}

func newEvalNames(spec job.Spec) *evalNames {
	return &evalNames{lm: spec.Model.Sequence(), val: spec.Data.ValFraction > 0}
}

func (n *evalNames) progress(p *pb.Progress) { n.total = p.TotalSteps }

// text is the evaluation's line.
func (n *evalNames) text(e *pb.Eval) string {
	if n.val && !n.lm && (n.total == 0 || e.Step < n.total) {
		return fmt.Sprintf("eval @ step %d (epoch %d): validation loss %.4f, accuracy %.2f%%", e.Step, e.Epoch, e.Loss, 100*e.Accuracy)
	}
	return evalText(e, n.lm)
}
