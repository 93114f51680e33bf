package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/job"
)

// finishedError: the checkpoint to resume from is at (or past) the end of
// the job, so there is nothing to train. Callers report it and change
// nothing (summary.json keeps the finished run's figures).
type finishedError struct {
	step   int64
	target string // the job's end, as a user reads it
}

func (e finishedError) Error() string {
	return fmt.Sprintf("the run already finished: checkpoint step %d reaches %s; raise train.steps or train.epochs (--config) to train further", e.step, e.target)
}

// checkResumable refuses, before anything in the run directory changes, a
// checkpoint that this job cannot continue: one of another model (the parts
// of the model the job decides: kind, hidden sizes, loss; the workers also
// check the shapes the data decides), or one that already reached the
// job's last step (finishedError).
func checkResumable(m checkpoint.Manifest, spec job.Spec) error {
	var got struct {
		Kind   string `json:"kind"`
		Hidden []int  `json:"hidden"`
		Loss   string `json:"loss"`
	}
	if len(m.ModelSpec) > 0 {
		if err := json.Unmarshal(m.ModelSpec, &got); err != nil {
			return fmt.Errorf("checkpoint step %d: model_spec: %w", m.Step, err)
		}
		want := spec.Model
		if got.Kind != want.Kind || !slices.Equal(got.Hidden, want.Hidden) || got.Loss != want.Loss {
			return fmt.Errorf("checkpoint step %d: the checkpoint is of another model (kind %s, hidden %v, loss %s); this job trains kind %s, hidden %v, loss %s: resume with the run's own job.yaml, or start a new run directory",
				m.Step, got.Kind, got.Hidden, got.Loss, want.Kind, want.Hidden, want.Loss)
		}
	}
	switch t := spec.Train; {
	case t.Steps > 0 && m.Step >= int64(t.Steps):
		return finishedError{step: m.Step, target: fmt.Sprintf("train.steps %d", t.Steps)}
	case t.Steps == 0 && m.Cursor.Epoch >= t.Epochs:
		return finishedError{step: m.Step, target: fmt.Sprintf("train.epochs %d", t.Epochs)}
	}
	return nil
}

// reportFinished tells the user that a resume had nothing left to train,
// with the figures of the run's summary.json when there is one (left as
// it was).
func reportFinished(g *globals, runDir string, fe finishedError) {
	if runDir == "" {
		fmt.Fprintln(g.stdout, fe.Error())
		return
	}
	fmt.Fprintf(g.stdout, "%s: %v\n", runDir, fe)
	if s, err := readSummaryFile(runDir); err == nil && s.Outcome == string(coordinator.PhaseDone) {
		fmt.Fprintln(g.stdout, outcomeLine(s))
		fmt.Fprintf(g.stdout, "summary: %s (unchanged)\n", filepath.Join(runDir, "summary.json"))
	}
}

// outcomeLine is the last line of a finished run.
func outcomeLine(s summaryFile) string {
	if s.LanguageModel {
		return fmt.Sprintf("validation loss %.4f nats/token (perplexity %.2f, next-character accuracy %.2f%%) after %d steps, %s on %s in %.1f s (%.0f samples/s)",
			s.TestLoss, s.Perplexity, 100*s.TestAccuracy, s.Steps, plural(int(s.Epochs), "epoch"), plural(int(s.WorldSize), "worker"), s.WallSeconds, s.SamplesPerSec)
	}
	return fmt.Sprintf("test accuracy %.2f%% (test loss %.4f) after %d steps, %s on %s in %.1f s (%.0f samples/s)",
		100*s.TestAccuracy, s.TestLoss, s.Steps, plural(int(s.Epochs), "epoch"), plural(int(s.WorldSize), "worker"), s.WallSeconds, s.SamplesPerSec)
}
