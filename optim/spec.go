package optim

import (
	"fmt"
	"math"
)

// Optimizer names accepted in Spec.Name.
const (
	NameSGD     = "sgd"
	NameAdam    = "adam"
	NameAdamW   = "adamw"
	NameAdagrad = "adagrad"
	NameRMSprop = "rmsprop"
)

// Spec describes an optimizer. It is plain data so that it can be stored in
// a checkpoint manifest. A zero field that has a default means the default
// (see WithDefaults); a field that does not apply to Name must be zero.
type Spec struct {
	// Name selects the optimizer: "sgd", "adam", "adamw", "adagrad", "rmsprop".
	Name string
	// Momentum is SGD's momentum factor in [0, 1); 0 is plain SGD. sgd only.
	Momentum float64
	// Nesterov enables Nesterov momentum; requires Momentum > 0. sgd only.
	Nesterov bool
	// Beta1 and Beta2 are Adam's decay rates for the first and second moment
	// estimates, in (0, 1). Defaults 0.9 and 0.999. adam/adamw only.
	Beta1, Beta2 float64
	// Eps is added to the denominator for numerical stability, > 0.
	// Defaults 1e-8 (adam, adamw, rmsprop) and 1e-10 (adagrad); not sgd.
	Eps float64
	// WeightDecay >= 0. adamw: decoupled, p -= lr*WeightDecay*p before the
	// update; sgd, adam, adagrad, rmsprop: L2, WeightDecay*p is added to the
	// gradient. Default 0 (none), also for adamw.
	WeightDecay float64
	// Alpha is RMSprop's smoothing constant in (0, 1). Default 0.99.
	// rmsprop only.
	Alpha float64
}

// WithDefaults returns s with every zero field that has a default for
// s.Name set to that default. Unknown names are returned unchanged.
func (s Spec) WithDefaults() Spec {
	switch s.Name {
	case NameAdam, NameAdamW:
		s.Beta1 = orDefault(s.Beta1, 0.9)
		s.Beta2 = orDefault(s.Beta2, 0.999)
		s.Eps = orDefault(s.Eps, 1e-8)
	case NameAdagrad:
		s.Eps = orDefault(s.Eps, 1e-10)
	case NameRMSprop:
		s.Alpha = orDefault(s.Alpha, 0.99)
		s.Eps = orDefault(s.Eps, 1e-8)
	}
	return s
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// Validate reports the first invalid field of s (after WithDefaults), naming
// the field and its value.
func (s Spec) Validate() error {
	d := s.WithDefaults()
	switch d.Name {
	case NameSGD, NameAdam, NameAdamW, NameAdagrad, NameRMSprop:
	default:
		return fmt.Errorf("optim: Name %q: want one of sgd, adam, adamw, adagrad, rmsprop", s.Name)
	}
	fields := []struct {
		name string
		v    float64
		ok   func(float64) bool
		want string
	}{
		{"Momentum", d.Momentum, func(v float64) bool { return v >= 0 && v < 1 }, "0 <= Momentum < 1"},
		{"Beta1", d.Beta1, openUnit, "0 < Beta1 < 1"},
		{"Beta2", d.Beta2, openUnit, "0 < Beta2 < 1"},
		{"Eps", d.Eps, func(v float64) bool { return v > 0 }, "Eps > 0"},
		{"WeightDecay", d.WeightDecay, func(v float64) bool { return v >= 0 }, "WeightDecay >= 0"},
		{"Alpha", d.Alpha, openUnit, "0 < Alpha < 1"},
	}
	for _, f := range fields {
		if !applies(d.Name, f.name) {
			if f.v != 0 {
				return fmt.Errorf("optim: %s: %s %v does not apply to %s (want 0)", d.Name, f.name, f.v, d.Name)
			}
			continue
		}
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || !f.ok(f.v) {
			return fmt.Errorf("optim: %s: %s %v: want %s", d.Name, f.name, f.v, f.want)
		}
	}
	if d.Nesterov && !applies(d.Name, "Nesterov") {
		return fmt.Errorf("optim: %s: Nesterov true does not apply to %s (want false)", d.Name, d.Name)
	}
	if d.Nesterov && d.Momentum == 0 {
		return fmt.Errorf("optim: %s: Nesterov true requires Momentum > 0 (got %v)", d.Name, d.Momentum)
	}
	return nil
}

func openUnit(v float64) bool { return v > 0 && v < 1 }

// applies reports whether Spec field field is meaningful for optimizer name.
func applies(name, field string) bool {
	switch field {
	case "WeightDecay":
		return true
	case "Momentum", "Nesterov":
		return name == NameSGD
	case "Beta1", "Beta2":
		return name == NameAdam || name == NameAdamW
	case "Eps":
		return name != NameSGD
	case "Alpha":
		return name == NameRMSprop
	}
	return false
}
