package worker

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/transport/mem"
)

func testSpec(opt string) job.Spec {
	s := job.Default()
	s.Model.Hidden = []int{32}
	s.Train.GlobalBatch = 24 // divisible by 1, 2, 3 and 4
	s.Train.Steps = 20
	s.Train.ReportEvery = 5
	s.Train.LR = job.LRSchedule{Kind: "constant", Base: 0.01}
	switch opt {
	case "sgd-momentum":
		s.Train.Optimizer = job.Optimizer{Name: "sgd", Momentum: 0.9}
	case "adamw":
		s.Train.Optimizer = job.Optimizer{Name: "adamw", Beta1: 0.9, Beta2: 0.999, WeightDecay: 0.01}
	}
	return s
}

var (
	dataOnce        sync.Once
	trainDS, testDS *data.Dataset
	dataErr         error
)

func mnist(t testing.TB) (*data.Dataset, *data.Dataset) {
	dataOnce.Do(func() { trainDS, testDS, dataErr = data.Default() })
	if dataErr != nil {
		t.Fatal(dataErr)
	}
	return trainDS, testDS
}

// mnistCorpus is the embedded MNIST-10k as a job's data.
func mnistCorpus(t testing.TB) *Corpus {
	tr, te := mnist(t)
	return &Corpus{Train: tr, Test: te}
}

// train runs steps on world in-process ranks over the mem transport and
// returns rank 0's parameters (after checking all ranks agree bitwise).
func train(t *testing.T, spec job.Spec, world int, run func(ctx context.Context, tr *Trainer) error) []float32 {
	t.Helper()
	params := make([][]float32, world)
	group(t, spec, world, func(r int, tr *Trainer) error {
		if err := run(context.Background(), tr); err != nil {
			return err
		}
		params[r] = append([]float32(nil), tr.Params()...)
		return nil
	})
	for r := 1; r < world; r++ {
		if !testutil.BitsEqual(params[r], params[0]) {
			t.Fatalf("world %d: rank %d's parameters differ from rank 0's", world, r)
		}
	}
	return params[0]
}

func steps(n int) func(context.Context, *Trainer) error {
	return func(ctx context.Context, tr *Trainer) error {
		for range n {
			if _, _, err := tr.Step(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}

func relDiff(a, b []float32) float64 {
	var d, n float64
	for i := range a {
		d += (float64(a[i]) - float64(b[i])) * (float64(a[i]) - float64(b[i]))
		n += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(d / n)
}

// N workers with the same global batch compute the update one worker
// computes on the whole batch.
func TestWorldSizeEquivalence(t *testing.T) {
	for _, opt := range []string{"sgd-momentum", "adamw"} {
		spec := testSpec(opt)
		one := train(t, spec, 1, steps(20))
		init := train(t, spec, 1, steps(0))
		if relDiff(one, init) < 1e-3 {
			t.Fatalf("%s: 20 steps barely moved the parameters", opt)
		}
		for _, world := range []int{2, 3, 4} {
			t.Run(fmt.Sprintf("%s/world%d", opt, world), func(t *testing.T) {
				got := train(t, spec, world, steps(20))
				d := relDiff(got, one)
				t.Logf("relative difference to 1 worker: %.2e", d)
				if d > 1e-5 {
					t.Fatalf("relative difference %.2e > 1e-5", d)
				}
			})
		}
	}
}

func TestDeterministic(t *testing.T) {
	spec := testSpec("adamw")
	a := train(t, spec, 3, steps(15))
	b := train(t, spec, 3, steps(15))
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("parameter %d differs between two identical runs", i)
		}
	}
}

type recorder struct {
	progress []Progress
	evals    []float64
}

func (r *recorder) Progress(p Progress) { r.progress = append(r.progress, p) }
func (r *recorder) Eval(e Eval)         { r.evals = append(r.evals, e.Accuracy) }

func TestRunLearnsAndReports(t *testing.T) {
	spec := testSpec("adamw")
	spec.Train.Steps = 0
	spec.Train.Epochs = 2
	spec.Train.GlobalBatch = 64
	spec.Train.LR = job.LRSchedule{Kind: "cosine", Base: 0.003}
	rep := &recorder{}
	var acc float64
	train(t, spec, 2, func(ctx context.Context, tr *Trainer) error {
		var r Reporter
		if tr.rank == 0 {
			r = rep
		}
		sum, err := tr.Run(ctx, r, nil)
		if err == nil && tr.rank == 0 {
			acc = sum.TestAccuracy
			if sum.Steps != 2*tr.StepsPerEpoch() || sum.Epochs != 2 || sum.WorldSize != 2 {
				return fmt.Errorf("summary %v", sum)
			}
		}
		return err
	})
	if acc < 0.85 {
		t.Fatalf("test accuracy %.3f after 2 epochs", acc)
	}
	if len(rep.progress) == 0 || len(rep.evals) != 2 {
		t.Fatalf("%d progress reports, %d evaluations (want one per epoch)", len(rep.progress), len(rep.evals))
	}
}

func TestBadBatchForWorld(t *testing.T) {
	spec := testSpec("adamw")
	spec.Train.GlobalBatch = 25
	if err := newTrainerErr(t, spec, 2); err == nil {
		t.Fatal("global batch 25 on 2 workers accepted")
	}
}

// newTrainerErr is the error of NewTrainer for rank 0 of world (nil if it
// builds; the trainer is closed).
func newTrainerErr(t *testing.T, spec job.Spec, world int) error {
	net := mem.NewNetwork(world, 0)
	comm, _ := allreduce.New(net.Endpoint(0), allreduce.DefaultConfig())
	defer comm.Close()
	trainer, err := NewTrainer(spec, mnistCorpus(t), comm)
	if err == nil {
		trainer.Close()
	}
	return err
}
