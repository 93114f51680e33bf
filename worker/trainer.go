package worker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/optim"
	"github.com/ringtrain/ringtrain/telemetry"
)

// Timing is the time one step spent in each phase.
type Timing struct {
	Data, Compute, ReduceScatter, Optimizer, AllGather time.Duration
}

// Total is the sum of the phases.
func (t Timing) Total() time.Duration {
	return t.Data + t.Compute + t.ReduceScatter + t.Optimizer + t.AllGather
}

func (t *Timing) add(o Timing) {
	t.Data += o.Data
	t.Compute += o.Compute
	t.ReduceScatter += o.ReduceScatter
	t.Optimizer += o.Optimizer
	t.AllGather += o.AllGather
}

// Trainer is one rank's data-parallel training over a Comm.
type Trainer struct {
	spec        job.Spec
	comm        *allreduce.Comm
	rank, world int
	train, test *data.Dataset
	model       *model.Model
	opt         optim.Optimizer
	sched       optim.Schedule
	sampler     *data.Sampler
	cursor      data.Cursor
	step        int // steps completed
	total       int
	lo, hi      int // this rank's shard of the flat parameters
	idx         []int
	x           []float32
	y           []int32
	scalar      []float32
	snap        Snapshot // reused snapshot buffers
	onFirstStep func()   // called once after the first step Run completes
	metrics     *telemetry.Worker
	corrupt     func(step int, x []float32) // tests: damage a batch
	trace       *telemetry.Recorder

	skipped, consecutiveSkips int
}

// skip ends a step whose gradient was not finite on some rank: no update,
// the batch is consumed, the skip counted. Too many in a row is an error,
// before a checkpoint of poisoned state could be written.
func (t *Trainer) skip(loss float32, tm Timing) (float32, Timing, error) {
	t.skipped++
	t.consecutiveSkips++
	if t.metrics != nil {
		t.metrics.SkippedSteps.Inc()
	}
	t.cursor = t.cursor.Advance(t.sampler.StepsPerEpoch())
	t.step++
	if max := t.spec.Train.MaxSkippedSteps; t.consecutiveSkips >= max {
		return loss, tm, fmt.Errorf("%w: %d consecutive steps (up to step %d) had a non-finite loss or gradient on some rank; stopping instead of training on or checkpointing poisoned state (train.max_skipped_steps)",
			ErrNonFinite, t.consecutiveSkips, t.step)
	}
	return loss, tm, nil
}

// SetTrace makes the trainer record a span per step, per phase and (through
// the Comm) per ring step into r.
func (t *Trainer) SetTrace(r *telemetry.Recorder) {
	t.trace = r
	t.comm.SetTracer(func(op allreduce.Op, step int, start, end time.Time) {
		r.Span(fmt.Sprintf("%s step %d", op, step), "ring", start, end, nil)
	})
}

// Skipped is the number of steps skipped for a non-finite gradient.
func (t *Trainer) Skipped() int { return t.skipped }

// SetMetrics makes the trainer record its steps, evaluations and
// checkpoints in m.
func (t *Trainer) SetMetrics(m *telemetry.Worker) {
	t.metrics = m
	m.Rank.Set(float64(t.rank))
	m.WorldSize.Set(float64(t.world))
}

func (t *Trainer) observe(tm Timing) {
	m := t.metrics
	if m == nil {
		return
	}
	m.StepPhase.WithLabelValues(telemetry.PhaseData).Observe(tm.Data.Seconds())
	m.StepPhase.WithLabelValues(telemetry.PhaseCompute).Observe(tm.Compute.Seconds())
	m.StepPhase.WithLabelValues(telemetry.PhaseReduceScatter).Observe(tm.ReduceScatter.Seconds())
	m.StepPhase.WithLabelValues(telemetry.PhaseOptimizer).Observe(tm.Optimizer.Seconds())
	m.StepPhase.WithLabelValues(telemetry.PhaseAllGather).Observe(tm.AllGather.Seconds())
	m.Steps.Inc()
	m.Samples.Add(float64(len(t.y)))
	if t.world > 1 {
		bytes := float64(4 * len(t.model.Params()))
		f := 2 * float64(t.world-1) / float64(t.world)
		m.AllReduceBytes.Add(bytes * f)
		if d := (tm.ReduceScatter + tm.AllGather).Seconds(); d > 0 {
			m.BusBandwidth.Set(bytes / d * f / 1e9)
		}
	}
}

// ErrNonFinite: the loss or the gradient norm is NaN or infinite.
var ErrNonFinite = errors.New("worker: non-finite loss")

// NewTrainer builds the model, optimizer shard and sampler for this rank.
// Every rank must be built from the same spec and data.
func NewTrainer(spec job.Spec, train, test *data.Dataset, comm *allreduce.Comm) (*Trainer, error) {
	rank, world := comm.Rank(), comm.Size()
	gb := spec.Train.GlobalBatch
	if gb%world != 0 {
		return nil, fmt.Errorf("train.global_batch %d is not divisible by the world size %d", gb, world)
	}
	if gb > train.N {
		return nil, fmt.Errorf("train.global_batch %d is larger than the %d training samples", gb, train.N)
	}
	classes := max(train.Classes, test.Classes)
	m, err := model.New(modelSpec(spec, train, classes), gb/world)
	if err != nil {
		return nil, err
	}
	if err := model.InitParams(m.Spec(), m.Params(), spec.Seed); err != nil {
		m.Close()
		return nil, err
	}
	n := len(m.Params())
	lo, hi := allreduce.ShardRange(n, world, rank)
	ospec := optimSpec(spec.Train.Optimizer)
	if err := ospec.Validate(); err != nil {
		m.Close()
		return nil, fmt.Errorf("train.optimizer: %w", err)
	}
	opt, err := optim.New(ospec, hi-lo)
	if err != nil {
		m.Close()
		return nil, err
	}
	sampler, err := data.NewSampler(train.N, gb, spec.Seed)
	if err != nil {
		m.Close()
		return nil, err
	}
	total := spec.Train.Steps
	if total == 0 {
		total = spec.Train.Epochs * sampler.StepsPerEpoch()
	}
	sched := schedule(spec.Train.LR, total)
	if err := sched.Validate(); err != nil {
		m.Close()
		return nil, fmt.Errorf("train.lr: %w", err)
	}
	b := gb / world
	return &Trainer{
		spec: spec, comm: comm, rank: rank, world: world, train: train, test: test,
		model: m, opt: opt, sched: sched, sampler: sampler, total: total, lo: lo, hi: hi,
		x: make([]float32, b*train.Dim), y: make([]int32, b), scalar: make([]float32, 3),
	}, nil
}

// Close releases the model.
func (t *Trainer) Close() error { return t.model.Close() }

// Params are the full current parameters (identical on every rank).
func (t *Trainer) Params() []float32 { return t.model.Params() }

// Steps is the number of steps completed; TotalSteps the planned number.
func (t *Trainer) Steps() int      { return t.step }
func (t *Trainer) TotalSteps() int { return t.total }

// Epoch is the epoch of the next batch.
func (t *Trainer) Epoch() int { return t.cursor.Epoch }

// StepsPerEpoch of the training set at the global batch.
func (t *Trainer) StepsPerEpoch() int { return t.sampler.StepsPerEpoch() }

// LR is the learning rate of the next step.
func (t *Trainer) LR() float32 { return t.sched.At(t.step) }

// Step runs one training step and returns this rank's local loss.
func (t *Trainer) Step(ctx context.Context) (float32, Timing, error) {
	var tm Timing
	t0 := time.Now()
	idx, err := t.sampler.Indices(t.cursor, t.rank, t.world, t.idx)
	if err != nil {
		return 0, tm, err
	}
	t.idx = idx
	if err := t.train.Gather(idx, t.x, t.y); err != nil {
		return 0, tm, err
	}
	t1 := time.Now()
	if t.corrupt != nil {
		t.corrupt(t.step, t.x)
	}
	loss, err := t.model.ForwardBackward(t.x, t.y)
	if err != nil {
		return 0, tm, err
	}
	t2 := time.Now()
	grads := t.model.Grads()
	if !finite(float64(loss)) || !finite(optim.SumSquares(grads)) {
		// The flag travels inside the reduce-scatter: a NaN in every element
		// makes every rank's shard NaN, so all ranks skip this step together.
		for i := range grads {
			grads[i] = float32(math.NaN())
		}
	}
	if _, _, err := t.comm.ReduceScatter(ctx, grads, allreduce.Mean); err != nil {
		return loss, tm, err
	}
	t3 := time.Now()
	shard := grads[t.lo:t.hi]
	if len(shard) > 0 && shard[0] != shard[0] {
		return t.skip(loss, Timing{Data: t1.Sub(t0), Compute: t2.Sub(t1), ReduceScatter: t3.Sub(t2)})
	}
	t.consecutiveSkips = 0
	if c := t.spec.Train.ClipNorm; c > 0 {
		t.scalar[0] = float32(optim.SumSquares(shard))
		if err := t.comm.AllReduce(ctx, t.scalar[:1], allreduce.Sum); err != nil {
			return loss, tm, err
		}
		norm := math.Sqrt(float64(t.scalar[0]))
		if !finite(norm) {
			return loss, tm, fmt.Errorf("%w: gradient norm %v at step %d", ErrNonFinite, norm, t.step)
		}
		optim.Scale(shard, optim.ClipFactor(norm, c))
	}
	t.opt.Step(t.model.Params()[t.lo:t.hi], shard, t.sched.At(t.step))
	t4 := time.Now()
	if err := t.comm.AllGather(ctx, t.model.Params()); err != nil {
		return loss, tm, err
	}
	t5 := time.Now()
	tm = Timing{Data: t1.Sub(t0), Compute: t2.Sub(t1), ReduceScatter: t3.Sub(t2), Optimizer: t4.Sub(t3), AllGather: t5.Sub(t4)}
	t.observe(tm)
	if r := t.trace; r != nil {
		r.Span(fmt.Sprintf("step %d", t.step), "step", t0, t5, map[string]any{"loss": loss, "epoch": t.cursor.Epoch})
		r.Span(telemetry.PhaseData, "phase", t0, t1, nil)
		r.Span(telemetry.PhaseCompute, "phase", t1, t2, nil)
		r.Span(telemetry.PhaseReduceScatter, "phase", t2, t3, nil)
		r.Span(telemetry.PhaseOptimizer, "phase", t3, t4, nil)
		r.Span(telemetry.PhaseAllGather, "phase", t4, t5, nil)
	}
	t.cursor = t.cursor.Advance(t.sampler.StepsPerEpoch())
	t.step++
	return loss, tm, nil
}

// windowStats all-reduces this rank's mean loss to the mean over ranks, and
// a flag that is true on every rank if it is true on any.
func (t *Trainer) windowStats(ctx context.Context, loss float64, flag bool) (float64, bool, error) {
	t.scalar[0], t.scalar[1] = float32(loss), 0
	if flag {
		t.scalar[1] = 1
	}
	if err := t.comm.AllReduce(ctx, t.scalar[:2], allreduce.Mean); err != nil {
		return 0, false, err
	}
	return float64(t.scalar[0]), t.scalar[1] > 0, nil // the flag's mean is > 0 when any rank set it
}

// Evaluate computes the loss and accuracy on the test set, each rank
// evaluating its contiguous part and the sums all-reduced.
func (t *Trainer) Evaluate(ctx context.Context) (loss, acc float64, err error) {
	lo, hi := data.EvalRange(t.test.N, t.rank, t.world)
	var lossSum float64
	var correct int
	if hi > lo {
		d := t.test.Dim
		lossSum, correct, err = t.model.Evaluate(t.test.X[lo*d:hi*d], t.test.Y[lo:hi])
		if err != nil {
			return 0, 0, err
		}
	}
	buf := t.scalar[:3]
	buf[0], buf[1], buf[2] = float32(lossSum), float32(correct), float32(hi-lo)
	if err := t.comm.AllReduce(ctx, buf, allreduce.Sum); err != nil {
		return 0, 0, err
	}
	if buf[2] == 0 {
		return 0, 0, errors.New("evaluate: empty test set")
	}
	return float64(buf[0]) / float64(buf[2]), float64(buf[1]) / float64(buf[2]), nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
