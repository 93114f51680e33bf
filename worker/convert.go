package worker

import (
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/optim"
	"github.com/ringtrain/ringtrain/telemetry"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// modelSpec builds the model for the job and the data's shapes.
func modelSpec(s job.Spec, c *Corpus) model.Spec {
	m := s.Model
	if v := c.vocab(); v != nil {
		ms := model.Spec{Kind: m.Kind, Input: []int{m.Context}, Classes: v.Len(), Loss: m.Loss, Embed: m.Embed,
			Vocab: string(v.Runes())}
		if m.Kind == "transformer" { // the keys only a transformer has
			ms.Layers, ms.Heads, ms.Bias, ms.Dropout = m.Blocks, m.Heads, m.Bias, m.Dropout
		} else {
			ms.Hidden = m.Hidden
		}
		return ms
	}
	ms := model.Spec{Kind: m.Kind, Hidden: m.Hidden, Input: c.trainShape(), Classes: max(c.trainClasses(), c.Test.Classes), Loss: m.Loss,
		ClassNames: c.trainClassNames()}
	for _, l := range m.Layers {
		ms.Net = append(ms.Net, model.Layer{Type: l.Type, Out: l.Out, Kernel: l.Kernel, Pad: l.Pad, Stride: l.Stride,
			Size: l.Size, NoBias: !l.HasBias(), P: l.P, Vocab: l.Vocab})
	}
	return ms
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
