package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// applyRun is Coeffs' documented element update, written from its doc
// comment: what a device kernel implements.
func applyRun(c Coeffs, p, g []float32, st [][]float32) {
	for i := range p {
		gi := g[i] + float32(c.WD*p[i])
		switch c.Rule {
		case RuleSGD:
			p[i] -= float32(c.LR * gi)
		case RuleMomentum, RuleNesterov:
			b := float32(c.Mu*st[0][i]) + gi
			st[0][i] = b
			if c.Rule == RuleNesterov {
				b = gi + float32(c.Mu*b)
			}
			p[i] -= float32(c.LR * b)
		case RuleAdam:
			pi := float32(p[i] * c.Decay)
			m := float32(c.B1*st[0][i]) + float32(c.C1*gi)
			v := float32(c.B2*st[1][i]) + float32(float32(gi*gi)*c.C2)
			st[0][i], st[1][i] = m, v
			d := float32(float32(math.Sqrt(float64(v)))*c.InvBC2) + c.Eps
			p[i] = pi - float32(c.StepSize*float32(m/d))
		case RuleAdagrad:
			s := st[0][i] + float32(gi*gi)
			st[0][i] = s
			p[i] -= float32(c.LR*gi) / (float32(math.Sqrt(float64(s))) + c.Eps)
		case RuleRMSprop:
			a := float32(c.Alpha*st[0][i]) + float32(c.C*float32(gi*gi))
			st[0][i] = a
			p[i] -= float32(c.LR*gi) / (float32(math.Sqrt(float64(a))) + c.Eps)
		}
	}
}

// Plan describes Step exactly: applying its runs with the documented
// formulas gives bitwise Step's parameters and state, over steps with a
// changing learning rate and no-decay runs; Plan itself changes nothing.
func TestPlanIsStep(t *testing.T) {
	const n = 203
	for _, c := range specCases {
		t.Run(c.name, func(t *testing.T) {
			host, plan := mustNew(t, c.spec, n), mustNew(t, c.spec, n)
			for _, o := range []Optimizer{host, plan} {
				if err := o.SetNoDecay([][2]int{{0, 5}, {40, 41}, {100, 203}}); err != nil {
					t.Fatal(err)
				}
			}
			p, q := initParams(n, 1), initParams(n, 1)
			g := make([]float32, n)
			rng := rand.New(rand.NewPCG(3, 4))
			var runs []Run
			for step := range 12 {
				for i := range g {
					g[i] = float32(rng.NormFloat64())
				}
				lr := 0.01 * float32(step+1)
				host.Step(p, g, lr)
				runs = plan.(Planner).Plan(lr, runs[:0])
				if plan.Steps() != int64(step) {
					t.Fatalf("Plan changed Steps to %d", plan.Steps())
				}
				at := 0
				st := plan.State()
				for _, r := range runs {
					if r.Lo != at || r.Hi <= r.Lo {
						t.Fatalf("step %d: run [%d, %d) after %d", step, r.Lo, r.Hi, at)
					}
					at = r.Hi
					var views [][]float32
					for _, s := range st {
						views = append(views, s.Data[r.Lo:r.Hi])
					}
					applyRun(r.Coeffs, q[r.Lo:r.Hi], g[r.Lo:r.Hi], views)
				}
				if at != n {
					t.Fatalf("step %d: runs end at %d, want %d", step, at, n)
				}
				plan.SetSteps(plan.Steps() + 1)
				for i := range p {
					if math.Float32bits(p[i]) != math.Float32bits(q[i]) {
						t.Fatalf("step %d: params[%d] %v by Step, %v by Plan", step, i, p[i], q[i])
					}
				}
				for j, s := range host.State() {
					for i, v := range s.Data {
						if math.Float32bits(v) != math.Float32bits(st[j].Data[i]) {
							t.Fatalf("step %d: %s[%d] %v by Step, %v by Plan", step, s.Name, i, v, st[j].Data[i])
						}
					}
				}
			}
		})
	}
}
