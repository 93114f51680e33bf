package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/optim"
	"github.com/ringtrain/ringtrain/telemetry"
)

// Trainer is one rank's data-parallel training over a Comm.
type Trainer struct {
	spec        job.Spec
	comm        *allreduce.Comm
	rank, world int
	corpus      *Corpus
	src         source // the training samples
	evalStarts  []int  // a text's validation windows (all ranks')
	targets     int    // labels per sample
	model       model.Engine
	opt         optim.Optimizer
	sched       optim.Schedule
	cursor      data.Cursor
	step        int // steps completed
	total       int
	lo, hi      int         // this rank's shard of the flat parameters
	accumulate  int         // micro-batches per step
	ov          *overlap    // the collectives under the computation (world > 1)
	pf          *prefetcher // fills the next batches ahead (data.prefetch > 0); nil: the step fills its own
	x           []float32   // the step's batch: inputs...
	y           []int32     // ...and labels
	scalar      []float32
	snap        Snapshot // reused snapshot buffers
	onFirstStep func()   // called once after the first step Run completes
	obs         telemetry.StepObserver
	corrupt     func(step int, x []float32) // tests: damage a batch
	live        *liveState                  // nil: no live state kept (tests)
	lineage     uint64                      // the generation this trainer runs in (liveSlot.lineage)
	every       int                         // cluster.replicate_every
	leaveAt     int                         // > 0: Step returns errLeaving once every rank completed this step
	sharedPeer  func(rank int) bool         // the ranks whose memory this one shares (nil: none); shareArenas
	share       sharing                     // how this generation's replicas travel

	skipped, consecutiveSkips int
}

// skip ends a step whose gradient was not finite on some rank: no update,
// the batch is consumed, the skip counted. Too many in a row is an error,
// before a checkpoint of poisoned state could be written.
func (t *Trainer) skip(loss float32, start time.Time, ph telemetry.Phases) (float32, telemetry.Phases, error) {
	t.skipped++
	t.consecutiveSkips++
	t.obs.StepEnd(t.record(loss, start, ph, true))
	t.cursor = t.cursor.Advance(t.src.stepsPerEpoch())
	t.step++
	if max := t.spec.Train.MaxSkippedSteps; t.consecutiveSkips >= max {
		return loss, ph, fmt.Errorf("%w: %d consecutive steps (up to step %d) had a non-finite loss or gradient on some rank; stopping instead of training on or checkpointing poisoned state (train.max_skipped_steps)",
			ErrNonFinite, t.consecutiveSkips, t.step)
	}
	t.stepDone()
	return loss, ph, nil
}

// SetObserver makes the trainer tell o (telemetry.Observers fans out to
// several) about its steps, windows, evaluations and checkpoints, and tells
// it this trainer's rank and world size. The default observes nothing.
func (t *Trainer) SetObserver(o telemetry.StepObserver) {
	t.obs = o
	o.Start(t.rank, t.world)
}

// TraceRing makes the Comm record a span per ring step into r.
func (t *Trainer) TraceRing(r *telemetry.Recorder) {
	t.comm.SetTracer(func(op allreduce.Op, step int, start, end time.Time) {
		r.RingSpan(op, step, start, end)
	})
}

// Skipped is the number of steps skipped for a non-finite gradient.
func (t *Trainer) Skipped() int { return t.skipped }

// record describes the step being ended for the observer.
func (t *Trainer) record(loss float32, start time.Time, ph telemetry.Phases, skipped bool) telemetry.StepRecord {
	var sent float64
	if t.world > 1 && !skipped {
		// A ring reduce-scatter and all-gather each send (N-1)/N of the
		// parameters' bytes.
		sent = float64(4*len(t.model.Params())) * 2 * float64(t.world-1) / float64(t.world)
	}
	return telemetry.StepRecord{Step: t.step, Epoch: t.cursor.Epoch, Loss: loss, Start: start, Phases: ph,
		Samples: len(t.y) / t.targets, CommBytes: sent, Skipped: skipped}
}

// errLeaving: the worker is to leave the run now (Config.LeaveAtStep).
var errLeaving = errors.New("worker: leaving the run")

// ErrNonFinite: the loss or the gradient norm is NaN or infinite.
var ErrNonFinite = errors.New("worker: non-finite loss")

// NewTrainer builds the model, optimizer shard and sampler for this rank.
// Every rank must be built from the same spec and data.
func NewTrainer(spec job.Spec, c *Corpus, comm *allreduce.Comm) (*Trainer, error) {
	return NewTrainerOn(spec, c, comm, nil)
}

// NewTrainerOn is NewTrainer with the model on dev (nil: the CPU's
// gorgonia engine). The trainer does not close dev.
func NewTrainerOn(spec job.Spec, c *Corpus, comm *allreduce.Comm, dev device.Device) (*Trainer, error) {
	rank, world := comm.Rank(), comm.Size()
	gb := spec.Train.GlobalBatch
	micro, err := spec.MicroBatch(world)
	if err != nil {
		return nil, err
	}
	src, evalStarts, err := newSource(spec, c)
	if err != nil {
		return nil, err
	}
	var (
		m  model.Engine
		dm *model.DeviceModel
	)
	if dev == nil {
		m, err = model.New(modelSpec(spec, c), micro)
	} else {
		dm, err = model.NewDeviceModel(modelSpec(spec, c), micro, dev)
		m = dm
	}
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
	// On a device the shard's update runs there too (its state lives
	// there; State copies it to the host for checkpoints).
	var opt optim.Optimizer
	if dm != nil {
		d, err := model.NewDeviceOptimizer(dm, ospec, lo, hi)
		if err != nil {
			m.Close()
			return nil, err
		}
		opt = d
	} else if opt, err = optim.New(ospec, hi-lo); err != nil {
		m.Close()
		return nil, err
	}
	if err := opt.SetNoDecay(noDecay(m.Layout(), lo, hi)); err != nil {
		closeOptimizer(opt)
		m.Close()
		return nil, err
	}
	total := spec.Train.Steps
	if total == 0 {
		total = spec.Train.Epochs * src.stepsPerEpoch()
	}
	sched := schedule(spec.Train.LR, total)
	if err := sched.Validate(); err != nil {
		closeOptimizer(opt)
		m.Close()
		return nil, fmt.Errorf("train.lr: %w", err)
	}
	b, ms := gb/world, m.Spec()
	t := &Trainer{
		spec: spec, comm: comm, rank: rank, world: world, corpus: c, src: src, evalStarts: evalStarts, targets: ms.Targets(),
		model: m, opt: opt, sched: sched, total: total, lo: lo, hi: hi, obs: telemetry.NopObserver{},
		x: make([]float32, b*ms.InputSize()), y: make([]int32, b*ms.Targets()), scalar: make([]float32, 3), accumulate: b / micro,
		every: spec.Cluster.ReplicateEvery,
	}
	if world > 1 {
		m.SetBucketBytes(int(spec.Cluster.BucketBytes))
		t.ov = newOverlap(comm, m)
	}
	if d := spec.Data.Prefetch; d > 0 {
		t.pf = newPrefetcher(src, d, t.x, t.y)
	}
	return t, nil
}

// Close stops the trainer's communication goroutine and releases the
// optimizer (its device buffers) and the model.
func (t *Trainer) Close() error {
	if t.ov != nil {
		t.ov.close()
	}
	if t.pf != nil {
		t.pf.close() // before the source: its goroutine may be filling from it
	}
	return errors.Join(closeSource(t.src), closeOptimizer(t.opt), t.model.Close())
}

// closeOptimizer releases an optimizer that holds device memory
// (model.DeviceOptimizer); the host's need nothing.
func closeOptimizer(o optim.Optimizer) error {
	if c, ok := o.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// optErr is the first device failure of the optimizer's Step or State
// (model.DeviceOptimizer.Err), which have no error result; nil for the
// host's optimizers.
func (t *Trainer) optErr() error {
	if e, ok := t.opt.(interface{ Err() error }); ok {
		return e.Err()
	}
	return nil
}

// settle waits for the collectives still running under the computation
// (the last step's all-gather): afterwards the parameters are complete and
// the Comm is free for a collective of the caller.
func (t *Trainer) settle() error {
	if t.ov == nil {
		return nil
	}
	return t.ov.settle()
}

// Params are the full current parameters (identical on every rank). It
// waits for the last step's all-gather; nil if that failed.
func (t *Trainer) Params() []float32 {
	if t.settle() != nil {
		return nil
	}
	return t.model.Params()
}

// Steps is the number of steps completed; TotalSteps the planned number.
func (t *Trainer) Steps() int      { return t.step }
func (t *Trainer) TotalSteps() int { return t.total }

// Epoch is the epoch of the next batch.
func (t *Trainer) Epoch() int { return t.cursor.Epoch }

// StepsPerEpoch of the training set at the global batch.
func (t *Trainer) StepsPerEpoch() int { return t.src.stepsPerEpoch() }

// LR is the learning rate of the next step.
func (t *Trainer) LR() float32 { return t.sched.At(t.step) }

// Step runs one training step and returns this rank's local loss (the
// mean over its micro-batches) and the time of each phase (those it
// reached, on an error). With several workers the reduce-scatter and
// all-gather phases are the time the step waited for them: the
// collectives themselves run under the computation (see overlap).
func (t *Trainer) Step(ctx context.Context) (float32, telemetry.Phases, error) {
	var ph telemetry.Phases
	start := time.Now()
	last := start
	lap := func(p telemetry.Phase) { // ends phase p
		now := time.Now()
		ph[p] = now.Sub(last)
		last = now
	}
	if err := t.batch(ctx); err != nil {
		return 0, ph, err
	}
	lap(telemetry.PhaseData)
	if t.corrupt != nil {
		t.corrupt(t.step, t.x)
	}
	loss, err := t.forwardBackward(ctx)
	if err != nil {
		return loss, ph, err
	}
	lap(telemetry.PhaseCompute)
	grads := t.model.Grads()
	shard := grads[t.lo:t.hi]
	nonFinite := !finite(float64(loss))
	if t.ov != nil {
		waited := t.ov.waitedForParams() // the forward pass's wait for the last all-gather
		ph[telemetry.PhaseCompute] -= waited
		ph[telemetry.PhaseAllGather] = waited
		if err := t.ov.settle(); err != nil { // every bucket's reduce-scatter
			return loss, ph, err
		}
		if t.live != nil {
			// Every rank took part in this step's reduce-scatter, so every
			// rank completed (and replicated) the steps before it.
			t.live.setConfirmed(int64(t.step))
		}
		if t.leaveAt > 0 && t.step >= t.leaveAt {
			return loss, ph, errLeaving
		}
	}
	sumSq := optim.SumSquares(shard)
	if t.ov != nil {
		// One small all-reduce: whether any rank saw a non-finite loss or
		// gradient shard (all ranks then skip the step together), and the
		// squared norm of the gradient for clipping.
		t.scalar[0], t.scalar[1] = 0, float32(sumSq)
		if nonFinite || !finite(sumSq) {
			t.scalar[0] = 1
		}
		if err := t.comm.AllReduce(ctx, t.scalar[:2], allreduce.Sum); err != nil {
			return loss, ph, err
		}
		nonFinite, sumSq = t.scalar[0] > 0, float64(t.scalar[1])
		lap(telemetry.PhaseReduceScatter)
	}
	if nonFinite || !finite(sumSq) {
		return t.skip(loss, start, ph)
	}
	t.consecutiveSkips = 0
	if c := t.spec.Train.ClipNorm; c > 0 {
		optim.Scale(shard, optim.ClipFactor(math.Sqrt(sumSq), c))
	}
	t.opt.Step(t.model.Params()[t.lo:t.hi], shard, t.sched.At(t.step))
	if err := t.optErr(); err != nil {
		return loss, ph, err
	}
	lap(telemetry.PhaseOptimizer)
	if t.ov != nil {
		t.ov.gather() // waited for by the next forward pass, bucket by bucket
	}
	t.obs.StepEnd(t.record(loss, start, ph, false))
	t.cursor = t.cursor.Advance(t.src.stepsPerEpoch())
	t.step++
	t.stepDone()
	return loss, ph, nil
}

// batch makes t.x and t.y the batch at the cursor: the one prefetched
// while the last step computed, and it asks for the next to be filled
// while this one computes (data.prefetch); or filled now.
func (t *Trainer) batch(ctx context.Context) error {
	if t.pf == nil {
		return fillSource(ctx, t.src, t.cursor, t.rank, t.world, t.x, t.y)
	}
	key := batchKey{cursor: t.cursor, rank: t.rank, world: t.world}
	b, err := t.pf.get(ctx, key)
	if err != nil {
		return err
	}
	t.x, t.y = b.x, b.y
	t.pf.ahead(key)
	return nil
}

// stepDone replicates the state of the step just completed (every
// cluster.replicate_every steps); with one rank the step is also confirmed
// (no other rank to wait for).
func (t *Trainer) stepDone() {
	if t.live == nil {
		return
	}
	if t.ov == nil {
		t.live.setConfirmed(int64(t.step))
	}
	t.replicate()
}

// SetLive makes the trainer keep its unique state in l as it trains
// (cluster.replicate_every), in generation lineage.
func (t *Trainer) SetLive(l *liveState, lineage uint64) { t.live, t.lineage = l, lineage }

// forwardBackward runs the step's micro-batches: their gradients
// accumulate (each scaled by 1/K, so Grads is the gradient of the mean
// loss over the rank's whole batch), and the last pass hands every bucket
// to the reduce-scatter as soon as backward has finished it. It returns
// the mean of the micro-batches' losses.
func (t *Trainer) forwardBackward(ctx context.Context) (float32, error) {
	k := t.accumulate
	xs, ys := len(t.x)/k, len(t.y)/k // one micro-batch's inputs and labels
	if t.ov != nil {
		t.ov.begin(ctx)
	}
	var sum float64
	for j := range k {
		p := model.Pass{Accumulate: j > 0, GradScale: 1 / float32(k), Seed: passSeed(t.spec.Seed, t.step, t.rank, j)}
		if t.ov != nil {
			p.Hooks = t.ov.waitOnly
			if j == k-1 {
				p.Hooks = t.ov.hooks
			}
		}
		l, err := t.model.ForwardBackwardWith(t.x[j*xs:(j+1)*xs], t.y[j*ys:(j+1)*ys], p)
		if err != nil {
			return 0, err
		}
		sum += float64(l)
	}
	if t.ov != nil {
		if err := t.ov.failure(); err != nil {
			return 0, err
		}
	}
	return float32(sum / float64(k)), nil
}

// windowStats all-reduces this rank's mean loss to the mean over ranks, and
// a flag that is true on every rank if it is true on any.
func (t *Trainer) windowStats(ctx context.Context, loss float64, flag bool) (float64, bool, error) {
	if err := t.settle(); err != nil {
		return 0, false, err
	}
	t.scalar[0], t.scalar[1] = float32(loss), 0
	if flag {
		t.scalar[1] = 1
	}
	if err := t.comm.AllReduce(ctx, t.scalar[:2], allreduce.Mean); err != nil {
		return 0, false, err
	}
	return float64(t.scalar[0]), t.scalar[1] > 0, nil // the flag's mean is > 0 when any rank set it
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
