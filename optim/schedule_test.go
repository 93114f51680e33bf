package optim

import (
	"math"
	"strings"
	"testing"
)

func TestScheduleAt(t *testing.T) {
	cos := Schedule{Kind: "cosine", Base: 0.1, WarmupSteps: 10, TotalSteps: 100, Min: 0.001}
	tests := []struct {
		name string
		s    Schedule
		step int
		want float64
	}{
		{"constant", Schedule{Kind: "constant", Base: 0.5}, 0, 0.5},
		{"constant late", Schedule{Kind: "constant", Base: 0.5}, 1 << 30, 0.5},
		{"constant negative step", Schedule{Kind: "constant", Base: 0.5}, -3, 0.5},
		{"warmup first", Schedule{Kind: "constant", Base: 0.4, WarmupSteps: 4}, 0, 0.1},
		{"warmup middle", Schedule{Kind: "constant", Base: 0.4, WarmupSteps: 4}, 1, 0.2},
		{"warmup last", Schedule{Kind: "constant", Base: 0.4, WarmupSteps: 4}, 3, 0.4},
		{"warmup done", Schedule{Kind: "constant", Base: 0.4, WarmupSteps: 4}, 4, 0.4},
		{"step before first decay", Schedule{Kind: "step", Base: 1, StepEvery: 10, Gamma: 0.5}, 9, 1},
		{"step first decay", Schedule{Kind: "step", Base: 1, StepEvery: 10, Gamma: 0.5}, 10, 0.5},
		{"step third decay", Schedule{Kind: "step", Base: 1, StepEvery: 10, Gamma: 0.5}, 35, 0.125},
		{"step counts after warmup", Schedule{Kind: "step", Base: 1, WarmupSteps: 5, StepEvery: 10, Gamma: 0.1}, 14, 1},
		{"step after warmup decays", Schedule{Kind: "step", Base: 1, WarmupSteps: 5, StepEvery: 10, Gamma: 0.1}, 15, 0.1},
		{"step warmup", Schedule{Kind: "step", Base: 1, WarmupSteps: 5, StepEvery: 10, Gamma: 0.1}, 0, 0.2},
		{"cosine warmup first", cos, 0, 0.01},
		{"cosine start", cos, 10, 0.1},
		{"cosine middle", cos, 60, (0.1 + 0.001) / 2},
		{"cosine quarter", cos, 35, 0.001 + 0.099*(1+math.Cos(math.Pi/4))/2},
		{"cosine end", cos, 110, 0.001},
		{"cosine after end", cos, 1000, 0.001},
		{"cosine to zero", Schedule{Kind: "cosine", Base: 1, TotalSteps: 2}, 1, 0.5},
	}
	for _, tt := range tests {
		if err := tt.s.Validate(); err != nil {
			t.Fatalf("%s: Validate: %v", tt.name, err)
		}
		got := tt.s.At(tt.step)
		if got != float32(tt.want) {
			t.Errorf("%s: At(%d) = %v, want %v", tt.name, tt.step, got, float32(tt.want))
		}
	}
}

// TestCosineMonotone: after warmup the cosine rate never increases.
func TestCosineMonotone(t *testing.T) {
	s := Schedule{Kind: "cosine", Base: 0.3, WarmupSteps: 7, TotalSteps: 500, Min: 0.01}
	prev := s.At(7)
	for step := 8; step < 600; step++ {
		lr := s.At(step)
		if lr > prev {
			t.Fatalf("At(%d) = %v > At(%d) = %v", step, lr, step-1, prev)
		}
		prev = lr
	}
}

func TestScheduleValidateRejects(t *testing.T) {
	tests := []struct {
		s    Schedule
		want string
	}{
		{Schedule{Base: 1}, `Kind ""`},
		{Schedule{Kind: "linear", Base: 1}, `Kind "linear"`},
		{Schedule{Kind: "constant"}, "Base 0"},
		{Schedule{Kind: "constant", Base: -1}, "Base -1"},
		{Schedule{Kind: "constant", Base: math.NaN()}, "Base NaN"},
		{Schedule{Kind: "constant", Base: math.Inf(1)}, "Base +Inf"},
		{Schedule{Kind: "constant", Base: 1, WarmupSteps: -1}, "WarmupSteps -1"},
		{Schedule{Kind: "constant", Base: 1, Gamma: 0.5}, "Gamma 0.5 does not apply to constant"},
		{Schedule{Kind: "step", Base: 1, Gamma: 0.5}, "StepEvery 0"},
		{Schedule{Kind: "step", Base: 1, StepEvery: 3}, "Gamma 0"},
		{Schedule{Kind: "step", Base: 1, StepEvery: 3, Gamma: 1.5}, "Gamma 1.5"},
		{Schedule{Kind: "step", Base: 1, StepEvery: 3, Gamma: 0.5, TotalSteps: 9}, "TotalSteps 9 does not apply to step"},
		{Schedule{Kind: "cosine", Base: 1}, "TotalSteps 0"},
		{Schedule{Kind: "cosine", Base: 1, TotalSteps: 10, Min: 2}, "Min 2"},
		{Schedule{Kind: "cosine", Base: 1, TotalSteps: 10, Min: -1}, "Min -1"},
		{Schedule{Kind: "cosine", Base: 1, TotalSteps: 10, StepEvery: 2}, "StepEvery 2 does not apply to cosine"},
	}
	for _, tt := range tests {
		err := tt.s.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v.Validate() = %v, want an error containing %q", tt.s, err, tt.want)
		}
	}
}
