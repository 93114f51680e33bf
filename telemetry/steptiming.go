package telemetry

import (
	"time"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// The wire keeps one field per phase (StepTiming, seconds per step); these
// two functions are the only place the fields meet Phases.

// StepTimingProto is p as the wire's StepTiming.
func StepTimingProto(p Phases) *pb.StepTiming {
	return &pb.StepTiming{
		DataS: p[PhaseData].Seconds(), ComputeS: p[PhaseCompute].Seconds(),
		ReduceScatterS: p[PhaseReduceScatter].Seconds(), OptimizerS: p[PhaseOptimizer].Seconds(),
		AllGatherS: p[PhaseAllGather].Seconds(),
	}
}

// PhasesOf is a StepTiming from the wire as Phases; nil is all zero.
// Negative or non-finite seconds (a broken peer) count as zero.
func PhasesOf(t *pb.StepTiming) Phases {
	var p Phases
	if t == nil {
		return p
	}
	for ph, s := range [StepPhases]float64{
		PhaseData: t.DataS, PhaseCompute: t.ComputeS, PhaseReduceScatter: t.ReduceScatterS,
		PhaseOptimizer: t.OptimizerS, PhaseAllGather: t.AllGatherS,
	} {
		if s > 0 && s < 1e9 { // NaN and +Inf fail both; 1e9 s is longer than any step
			p[ph] = time.Duration(s * 1e9)
		}
	}
	return p
}
