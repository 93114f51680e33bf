package job

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Validate reports every invalid field, each naming its key, at most one
// error per key. Every float key must be finite (checked by reflection over
// the whole spec, see nonFiniteKeys); comparisons with NaN are false, so
// the range checks below would let it through.
func (s Spec) Validate() error {
	var errs []error
	reported := map[string]bool{}
	bad := func(key, format string, args ...any) {
		if reported[key] {
			return
		}
		reported[key] = true
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for _, nf := range nonFiniteKeys(s) {
		bad(nf.key, "must be a finite number, got %v", nf.val)
	}
	oneOf := func(key, v string, allowed ...string) {
		if !slices.Contains(allowed, v) {
			bad(key, "%q is not one of %q", v, allowed)
		}
	}
	oneOf("model.kind", s.Model.Kind, "mlp", "cnn", "layers", "transformer", "lstm", "gru")
	oneOf("model.loss", s.Model.Loss, "xent", "mse")
	if err := CheckDevice(s.Model.Device); err != nil {
		bad("model.device", "%v", err)
	} else if s.Model.Device != "cpu" && s.Model.Kind == "layers" { // every other kind runs on a device
		for i, l := range s.Model.Layers {
			if !slices.Contains(deviceLayerTypes(), l.Type) {
				bad(fmt.Sprintf("model.layers[%d].type", i), "%s has no kernels on %q (a device runs %v layers); use device cpu", l.Type, s.Model.Device, deviceLayerTypes())
			}
		}
	}
	s.validateSequence(bad)
	s.validateLayers(bad)
	for i, h := range s.Model.Hidden {
		if h <= 0 || h > 1<<16 {
			bad(fmt.Sprintf("model.hidden[%d]", i), "must be in 1..65536, got %d", h)
		}
	}
	if s.Model.Kind == "mlp" && len(s.Model.Hidden) > 16 {
		bad("model.hidden", "at most 16 layers, got %d", len(s.Model.Hidden))
	}
	oneOf("data.source", s.Data.Source, "default", "idx", "csv", "synthetic", "images", "text", "shakespeare", "shards")
	s.validateImages(bad)
	switch s.Data.Source {
	case "text":
		if s.Data.Path == "" {
			bad("data.path", "required for source text (a UTF-8 file, plain or .gz)")
		}
	case "shards":
		if s.Data.Path == "" {
			bad("data.path", "required for source shards (a directory written by ringtrain data pack)")
		}
	case "idx":
		if s.Data.Path == "" {
			bad("data.path", "required for source idx (a directory in MNIST layout)")
		}
	case "csv":
		if s.Data.Path == "" {
			bad("data.path", "required for source csv")
		}
		if s.Data.TestPath == "" && s.Data.ValFraction == 0 {
			bad("data.test_path", "required for source csv (or set data.val_fraction to evaluate on a validation split of data.path)")
		}
		if s.Data.CSV.LabelColumn < -1 {
			bad("data.csv.label_column", "must be -1 (last) or a column index, got %d", s.Data.CSV.LabelColumn)
		}
		if c := s.Data.CSV.Classes; c != 0 && (c < 2 || c > 1<<16) {
			bad("data.csv.classes", "must be 0 (largest training label + 1) or in 2..65536, got %d", c)
		}
	case "synthetic":
		sy := s.Data.Synthetic
		if sy.N < 1 || sy.N > 10_000_000 {
			bad("data.synthetic.n", "must be in 1..10000000, got %d", sy.N)
		}
		if sy.Dim < 1 || sy.Dim > 1<<20 {
			bad("data.synthetic.dim", "must be in 1..1048576, got %d", sy.Dim)
		}
		if sy.Classes < 2 || sy.Classes > 1<<16 {
			bad("data.synthetic.classes", "must be in 2..65536, got %d", sy.Classes)
		}
		if sy.Noise < 0 {
			bad("data.synthetic.noise", "must not be negative, got %g", sy.Noise)
		}
	}
	s.validatePreprocessing(bad)
	if s.Model.Kind == "cnn" && (s.Data.Source == "csv" || s.Data.Source == "synthetic") {
		bad("model.kind", "cnn needs image data (source default, idx or images), not %s", s.Data.Source)
	}
	t := s.Train
	if t.GlobalBatch < 1 || t.GlobalBatch > 1<<20 {
		bad("train.global_batch", "must be in 1..1048576, got %d", t.GlobalBatch)
	}
	if t.Steps < 0 {
		bad("train.steps", "must not be negative, got %d", t.Steps)
	}
	if t.Steps == 0 && t.Epochs < 1 {
		bad("train.epochs", "must be positive when train.steps is 0, got %d", t.Epochs)
	}
	accOK := t.Accumulate >= 1 && t.Accumulate <= MaxAccumulate
	if !accOK {
		bad("train.accumulate", "must be in 1..%d (micro-batches per optimizer step), got %d", MaxAccumulate, t.Accumulate)
	}
	if accOK && t.GlobalBatch >= 1 && t.GlobalBatch%t.Accumulate != 0 {
		bad("train.accumulate", "%s", s.accumulateDividesHint())
	}
	if t.ReportEvery < 1 {
		bad("train.report_every", "must be positive, got %d", t.ReportEvery)
	}
	if t.MaxSkippedSteps < 1 {
		bad("train.max_skipped_steps", "must be at least 1, got %d", t.MaxSkippedSteps)
	}
	if t.ClipNorm < 0 {
		bad("train.clip_norm", "must not be negative, got %g", t.ClipNorm)
	}
	o := t.Optimizer
	oneOf("train.optimizer.name", o.Name, "sgd", "adam", "adamw", "adagrad", "rmsprop")
	if o.Momentum < 0 || o.Momentum >= 1 {
		bad("train.optimizer.momentum", "must be in [0, 1), got %g", o.Momentum)
	}
	if o.Nesterov && (o.Name != "sgd" || o.Momentum == 0) {
		bad("train.optimizer.nesterov", "needs name sgd and momentum > 0")
	}
	if o.Beta1 < 0 || o.Beta1 >= 1 {
		bad("train.optimizer.beta1", "must be in [0, 1), got %g", o.Beta1)
	}
	if o.Beta2 < 0 || o.Beta2 >= 1 {
		bad("train.optimizer.beta2", "must be in [0, 1), got %g", o.Beta2)
	}
	if o.Eps < 0 {
		bad("train.optimizer.eps", "must not be negative, got %g", o.Eps)
	}
	if o.WeightDecay < 0 {
		bad("train.optimizer.weight_decay", "must not be negative, got %g", o.WeightDecay)
	}
	if o.Alpha < 0 || o.Alpha >= 1 {
		bad("train.optimizer.alpha", "must be in [0, 1), got %g", o.Alpha)
	}
	l := t.LR
	oneOf("train.lr.kind", l.Kind, "constant", "step", "cosine")
	baseOK := l.Base > 0 && l.Base <= 10
	if !baseOK {
		bad("train.lr.base", "must be in (0, 10], got %g", l.Base)
	}
	if l.WarmupSteps < 0 {
		bad("train.lr.warmup_steps", "must not be negative, got %d", l.WarmupSteps)
	}
	if l.Kind == "step" && l.StepEvery < 1 {
		bad("train.lr.step_every", "must be at least 1 for kind step, got %d", l.StepEvery)
	}
	if l.Kind == "step" && (l.Gamma <= 0 || l.Gamma > 1) {
		bad("train.lr.gamma", "must be in (0, 1] for kind step, got %g", l.Gamma)
	}
	// Against the base only when the base is valid: a bad base is one error.
	if l.Min < 0 || (baseOK && l.Min > l.Base) {
		bad("train.lr.min", "must be in [0, train.lr.base], got %g (base %g)", l.Min, l.Base)
	}
	c := s.Cluster
	if c.MinWorkers < 1 {
		bad("cluster.min_workers", "must be at least 1, got %d", c.MinWorkers)
	}
	if c.MaxWorkers < c.MinWorkers || c.MaxWorkers > 1024 {
		bad("cluster.max_workers", "must be in min_workers..1024, got %d", c.MaxWorkers)
	}
	if c.ProbeInterval < 10*time.Millisecond || c.ProbeInterval > time.Minute {
		bad("cluster.probe_interval", "must be in 10ms..1m, got %v", c.ProbeInterval)
	}
	if c.SuspicionMult < 1 || c.SuspicionMult > 100 {
		bad("cluster.suspicion_mult", "must be in 1..100, got %d", c.SuspicionMult)
	}
	if c.StepTimeout < 100*time.Millisecond {
		bad("cluster.step_timeout", "must be at least 100ms, got %v", c.StepTimeout)
	}
	if c.LinkMbps < 0 {
		bad("cluster.link_mbps", "must not be negative (0 = no emulation), got %g", c.LinkMbps)
	}
	if c.LinkLatency < 0 {
		bad("cluster.link_latency", "must not be negative (0 = no emulation), got %v", c.LinkLatency)
	}
	if c.Settle < 0 {
		bad("cluster.settle", "must not be negative, got %v", c.Settle)
	}
	if t.GlobalBatch >= 1 && c.MinWorkers >= 1 && t.GlobalBatch < c.MinWorkers {
		bad("train.global_batch", "%d is smaller than cluster.min_workers %d: every worker needs at least one sample", t.GlobalBatch, c.MinWorkers)
	}
	if accOK && t.GlobalBatch >= c.MinWorkers && c.MinWorkers >= 1 && t.GlobalBatch/t.Accumulate < c.MinWorkers {
		bad("train.accumulate", "train.global_batch %d / train.accumulate %d = %d samples per micro-batch over all workers, fewer than cluster.min_workers %d: every worker needs at least one sample per micro-batch",
			t.GlobalBatch, t.Accumulate, t.GlobalBatch/t.Accumulate, c.MinWorkers)
	}
	if b := c.BucketBytes; b != 0 && (b < MinBucketBytes || b > MaxBucketBytes) {
		bad("cluster.bucket_bytes", "must be 0 (one bucket for the whole model, no overlap) or in %d..%d bytes, got %d", MinBucketBytes, MaxBucketBytes, b)
	}
	switch c.Compress {
	case "none", "bf16", "fp16":
	default:
		bad("cluster.compress", "must be none, bf16 or fp16, got %q", c.Compress)
	}
	switch c.SharedMemory {
	case "auto", "off":
	default:
		bad("cluster.shm", "must be auto or off, got %q", c.SharedMemory)
	}
	if c.ReplicateEvery < 0 || c.ReplicateEvery > 1<<20 {
		bad("cluster.replicate_every", "must be 0 (off) or a number of steps in 1..1048576, got %d", c.ReplicateEvery)
	}
	if s.Eval.Windows < 1 || s.Eval.Windows > 1<<20 {
		bad("eval.windows", "must be in 1..1048576, got %d", s.Eval.Windows)
	}
	if s.Eval.EveryEpochs < 0 {
		bad("eval.every_epochs", "must not be negative, got %d", s.Eval.EveryEpochs)
	}
	cp := s.Checkpoint
	if cp.EverySteps < 0 {
		bad("checkpoint.every_steps", "must not be negative, got %d", cp.EverySteps)
	}
	if cp.Every < 0 {
		bad("checkpoint.every", "must not be negative, got %v", cp.Every)
	}
	if cp.EveryEpochs < 0 {
		bad("checkpoint.every_epochs", "must not be negative, got %d", cp.EveryEpochs)
	}
	if cp.KeepEvery < 0 {
		bad("checkpoint.keep_every", "must not be negative, got %d", cp.KeepEvery)
	}
	if cp.Keep < 1 {
		bad("checkpoint.keep", "must be at least 1, got %d", cp.Keep)
	}
	if cp.MaxFailures < 1 {
		bad("checkpoint.max_failures", "must be at least 1 (failed checkpoints in a row that stop the run), got %d", cp.MaxFailures)
	}
	if len(errs) > 0 {
		return fmt.Errorf("job spec: %w", errors.Join(errs...))
	}
	return nil
}

// WorldSize picks the world size for available workers: the largest n with
// MinWorkers <= n <= min(available, MaxWorkers) such that n · accumulate
// divides the global batch (every micro-batch splits evenly, see
// MicroBatch). ok is false when there is none.
func (s Spec) WorldSize(available int) (int, bool) {
	k := s.Train.accumulate()
	for n := min(available, s.Cluster.MaxWorkers); n >= max(s.Cluster.MinWorkers, 1); n-- {
		if s.Train.GlobalBatch%(n*k) == 0 {
			return n, true
		}
	}
	return 0, false
}
