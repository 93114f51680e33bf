package worker

import (
	"fmt"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/optim"
	"github.com/ringtrain/ringtrain/telemetry"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// modelSpec builds the model for the job and the data's shapes.
func modelSpec(s job.Spec, train *data.Dataset, classes int) model.Spec {
	return model.Spec{Kind: s.Model.Kind, Hidden: s.Model.Hidden, Input: train.Shape, Classes: classes, Loss: s.Model.Loss}
}

// optimSpec passes only the settings that apply to the chosen optimizer
// (optim refuses the others).
func optimSpec(o job.Optimizer) optim.Spec {
	s := optim.Spec{Name: o.Name, WeightDecay: o.WeightDecay, Eps: o.Eps}
	switch o.Name {
	case "sgd":
		s.Momentum, s.Nesterov = o.Momentum, o.Nesterov
	case "adam", "adamw":
		s.Beta1, s.Beta2 = o.Beta1, o.Beta2
	case "rmsprop":
		s.Alpha = o.Alpha
	}
	return s.WithDefaults()
}

// schedule builds the learning-rate schedule over totalSteps.
func schedule(l job.LRSchedule, totalSteps int) optim.Schedule {
	s := optim.Schedule{Kind: l.Kind, Base: l.Base, WarmupSteps: l.WarmupSteps}
	switch l.Kind {
	case "step":
		s.StepEvery, s.Gamma = l.StepEvery, l.Gamma
	case "cosine":
		s.TotalSteps, s.Min = max(1, totalSteps-l.WarmupSteps), l.Min
	}
	return s
}

// LoadData loads the job's training and test sets.
func LoadData(s job.Spec) (train, test *data.Dataset, err error) {
	d := s.Data
	switch d.Source {
	case "default":
		train, test, err = data.Default()
	case "idx":
		train, test, err = data.LoadIDXDir(d.Path)
	case "csv":
		opt := data.CSVOptions{LabelColumn: d.CSV.LabelColumn, Header: d.CSV.Header, Classes: d.CSV.Classes}
		train, test, err = data.LoadCSVPair(d.Path, d.TestPath, opt)
	case "synthetic":
		sy := d.Synthetic
		var all *data.Dataset
		all, err = data.Synthetic(data.SyntheticSpec{N: sy.N + max(1, sy.N/4), Dim: sy.Dim, Classes: sy.Classes, Seed: s.Seed, Noise: sy.Noise})
		if err == nil {
			train, test = split(all, sy.N)
		}
	default:
		err = fmt.Errorf("data.source %q unknown", d.Source)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load data: %w", err)
	}
	return train, test, nil
}

// split cuts a dataset into its first n samples and the rest (views).
func split(d *data.Dataset, n int) (*data.Dataset, *data.Dataset) {
	a := *d
	a.X, a.Y, a.N = d.X[:n*d.Dim], d.Y[:n], n
	b := *d
	b.X, b.Y, b.N = d.X[n*d.Dim:], d.Y[n:], d.N-n
	return &a, &b
}

// progressProto is p for the wire.
func progressProto(p Progress) *pb.Progress {
	return &pb.Progress{Step: int64(p.Step), TotalSteps: int64(p.TotalSteps), Epoch: int32(p.Epoch), Loss: p.Loss,
		SkippedSteps: int32(p.SkippedSteps), SamplesPerS: p.SamplesPerS, Lr: p.LR, Timing: telemetry.StepTimingProto(p.Phases)}
}

// evalProto is e for the wire.
func evalProto(e Eval) *pb.Eval {
	return &pb.Eval{Step: int64(e.Step), Epoch: int32(e.Epoch), Loss: e.Loss, Accuracy: e.Accuracy, Samples: int64(e.Samples)}
}

// summaryProto is s for the wire.
func summaryProto(s Summary) *pb.Summary {
	return &pb.Summary{Steps: int64(s.Steps), Epochs: int32(s.Epochs), TrainLoss: s.TrainLoss, TestLoss: s.TestLoss,
		TestAccuracy: s.TestAccuracy, WallS: s.Wall.Seconds(), SamplesPerS: s.SamplesPerS, WorldSize: int32(s.WorldSize)}
}
