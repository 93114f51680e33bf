package optim

import (
	"math"
	"strings"
	"testing"
)

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		in, want Spec
	}{
		{Spec{Name: "sgd"}, Spec{Name: "sgd"}},
		{Spec{Name: "adam"}, Spec{Name: "adam", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{Spec{Name: "adamw", Beta2: 0.95}, Spec{Name: "adamw", Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}},
		{Spec{Name: "adagrad"}, Spec{Name: "adagrad", Eps: 1e-10}},
		{Spec{Name: "rmsprop"}, Spec{Name: "rmsprop", Alpha: 0.99, Eps: 1e-8}},
		{Spec{Name: "bogus"}, Spec{Name: "bogus"}},
	}
	for _, tt := range tests {
		if got := tt.in.WithDefaults(); got != tt.want {
			t.Errorf("%+v.WithDefaults() = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, tc := range specCases {
		if err := tc.spec.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		spec Spec
		want string // substring naming the field and value
	}{
		{Spec{}, `Name ""`},
		{Spec{Name: "Adam"}, `Name "Adam"`},
		{Spec{Name: "sgd", Momentum: -0.1}, "Momentum -0.1"},
		{Spec{Name: "sgd", Momentum: 1}, "Momentum 1"},
		{Spec{Name: "sgd", Momentum: math.NaN()}, "Momentum NaN"},
		{Spec{Name: "sgd", Nesterov: true}, "Nesterov true requires Momentum > 0"},
		{Spec{Name: "sgd", Beta1: 0.9}, "Beta1 0.9 does not apply to sgd"},
		{Spec{Name: "sgd", Eps: 1e-8}, "Eps 1e-08 does not apply to sgd"},
		{Spec{Name: "sgd", WeightDecay: -1}, "WeightDecay -1"},
		{Spec{Name: "sgd", WeightDecay: math.Inf(1)}, "WeightDecay +Inf"},
		{Spec{Name: "adam", Beta1: 1}, "Beta1 1"},
		{Spec{Name: "adam", Beta2: -0.5}, "Beta2 -0.5"},
		{Spec{Name: "adam", Eps: -1}, "Eps -1"},
		{Spec{Name: "adam", Momentum: 0.9}, "Momentum 0.9 does not apply to adam"},
		{Spec{Name: "adamw", Nesterov: true}, "Nesterov true does not apply to adamw"},
		{Spec{Name: "adamw", Alpha: 0.9}, "Alpha 0.9 does not apply to adamw"},
		{Spec{Name: "adagrad", Beta2: 0.9}, "Beta2 0.9 does not apply to adagrad"},
		{Spec{Name: "rmsprop", Alpha: 1.5}, "Alpha 1.5"},
		{Spec{Name: "rmsprop", Eps: math.NaN()}, "Eps NaN"},
	}
	for _, tt := range tests {
		err := tt.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v.Validate() = %v, want an error containing %q", tt.spec, err, tt.want)
		}
		if _, nerr := New(tt.spec, 3); nerr == nil {
			t.Errorf("New(%+v) accepted an invalid spec", tt.spec)
		}
	}
}

func TestNewRejectsNegativeLength(t *testing.T) {
	if _, err := New(Spec{Name: "sgd"}, -1); err == nil || !strings.Contains(err.Error(), "shard length -1") {
		t.Errorf("New(sgd, -1) = %v, want an error naming the length", err)
	}
}

// FuzzNew: no configuration makes New or Step panic, and a Step from a
// finite state with small finite inputs stays finite.
func FuzzNew(f *testing.F) {
	f.Add("sgd", 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, true, 3)
	f.Add("adam", 0.0, 0.9, 0.999, 1e-8, 0.01, 0.0, false, 5)
	f.Add("rmsprop", 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, false, 1)
	f.Fuzz(func(t *testing.T, name string, mom, b1, b2, eps, wd, alpha float64, nesterov bool, n int) {
		s := Spec{Name: name, Momentum: mom, Nesterov: nesterov, Beta1: b1, Beta2: b2, Eps: eps, WeightDecay: wd, Alpha: alpha}
		n = n % 64
		o, err := New(s, n)
		if err != nil {
			return
		}
		if verr := s.Validate(); verr != nil {
			t.Fatalf("New accepted %+v but Validate says %v", s, verr)
		}
		p, g := make([]float32, n), make([]float32, n)
		for i := range p {
			p[i], g[i] = float32(i%7)-3, float32(i%5)-2
		}
		for range 3 {
			o.Step(p, g, 0.01)
		}
		if wd <= 1e6 {
			for i, v := range p {
				if math.IsNaN(float64(v)) {
					t.Fatalf("%+v: p[%d] is NaN", s, i)
				}
			}
		}
	})
}
