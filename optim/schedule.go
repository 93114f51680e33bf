package optim

import (
	"fmt"
	"math"
)

// Schedule kinds accepted in Schedule.Kind.
const (
	ScheduleConstant = "constant"
	ScheduleStep     = "step"
	ScheduleCosine   = "cosine"
)

// Schedule is a learning-rate schedule over 0-based global steps. Fields
// that do not apply to Kind must be zero.
type Schedule struct {
	// Kind is "constant", "step" or "cosine".
	Kind string
	// Base is the base learning rate, > 0.
	Base float64
	// WarmupSteps >= 0: for step < WarmupSteps the rate is
	// Base*(step+1)/WarmupSteps (Base/WarmupSteps at step 0, Base at
	// WarmupSteps-1); the kind's own schedule starts after it. All kinds.
	WarmupSteps int
	// StepEvery > 0: "step" multiplies the rate by Gamma every StepEvery
	// steps after warmup. "step" only.
	StepEvery int
	// Gamma in (0, 1]: the "step" decay factor. "step" only.
	Gamma float64
	// TotalSteps > 0: "cosine" decays from Base to Min over this many steps
	// after warmup and stays at Min after. "cosine" only.
	TotalSteps int
	// Min in [0, Base]: the final "cosine" rate. "cosine" only.
	Min float64
}

// Validate reports the first invalid field, naming it and its value.
func (s Schedule) Validate() error {
	switch s.Kind {
	case ScheduleConstant, ScheduleStep, ScheduleCosine:
	default:
		return fmt.Errorf("optim: schedule Kind %q: want constant, step or cosine", s.Kind)
	}
	if !(s.Base > 0) || math.IsInf(s.Base, 0) {
		return fmt.Errorf("optim: %s schedule: Base %v: want a finite rate > 0", s.Kind, s.Base)
	}
	if s.WarmupSteps < 0 {
		return fmt.Errorf("optim: %s schedule: WarmupSteps %d: want >= 0", s.Kind, s.WarmupSteps)
	}
	isStep, isCos := s.Kind == ScheduleStep, s.Kind == ScheduleCosine
	checks := []struct {
		field   string
		value   any
		applies bool
		zero    bool
		ok      bool
		want    string
	}{
		{"StepEvery", s.StepEvery, isStep, s.StepEvery == 0, s.StepEvery > 0, "StepEvery > 0"},
		{"Gamma", s.Gamma, isStep, s.Gamma == 0, s.Gamma > 0 && s.Gamma <= 1, "0 < Gamma <= 1"},
		{"TotalSteps", s.TotalSteps, isCos, s.TotalSteps == 0, s.TotalSteps > 0, "TotalSteps > 0"},
		{"Min", s.Min, isCos, s.Min == 0, s.Min >= 0 && s.Min <= s.Base, "0 <= Min <= Base"},
	}
	for _, c := range checks {
		switch {
		case !c.applies && !c.zero:
			return fmt.Errorf("optim: %s schedule: %s %v does not apply to %s (want 0)", s.Kind, c.field, c.value, s.Kind)
		case c.applies && !c.ok:
			return fmt.Errorf("optim: %s schedule: %s %v: want %s", s.Kind, c.field, c.value, c.want)
		}
	}
	return nil
}

// At returns the learning rate for the 0-based step (negative steps count
// as 0). It assumes Validate passed; fields of an invalid schedule that
// cannot be used are ignored (the rate is then Base).
func (s Schedule) At(step int) float32 {
	step = max(step, 0)
	if step < s.WarmupSteps {
		return float32(s.Base * float64(step+1) / float64(s.WarmupSteps))
	}
	t := step - s.WarmupSteps
	switch {
	case s.Kind == ScheduleStep && s.StepEvery > 0:
		return float32(s.Base * math.Pow(s.Gamma, float64(t/s.StepEvery)))
	case s.Kind == ScheduleCosine && s.TotalSteps > 0:
		if t == 0 {
			return float32(s.Base)
		}
		if t >= s.TotalSteps {
			return float32(s.Min)
		}
		frac := float64(t) / float64(s.TotalSteps)
		return float32(s.Min + (s.Base-s.Min)*(1+math.Cos(math.Pi*frac))/2)
	}
	return float32(s.Base)
}
