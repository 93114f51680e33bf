package optim

// Rule is the element update of an optimizer (the loops of kernels.go).
type Rule int

// Rules: one per element loop.
const (
	RuleSGD      Rule = iota + 1 // p -= LR·(g + WD·p)
	RuleMomentum                 // SGD with momentum (state "momentum")
	RuleNesterov                 // SGD with Nesterov momentum (state "momentum")
	RuleAdam                     // Adam and AdamW (states "m", "v")
	RuleAdagrad                  // state "sum_sq"
	RuleRMSprop                  // state "sq_avg"
)

// Coeffs are the float32 scalars of one step over one run of the shard,
// exactly as Step computes them (in float64 once per step, each rounded
// to float32 once), for an implementation of the same element update
// elsewhere (a GPU kernel) that must agree with this package's. Each
// element then goes through the operations that kernels.go lists, in
// that order, each rounded to float32, none fused:
//
//	RuleSGD       g' = g + WD·p;  p' = p - LR·g'
//	RuleMomentum  g' = g + WD·p;  b' = Mu·b + g';  p' = p - LR·b'
//	RuleNesterov  g' = g + WD·p;  b' = Mu·b + g';  p' = p - LR·(g' + Mu·b')
//	RuleAdam      g' = g + WD·p;  p' = p·Decay;  m' = B1·m + C1·g';  v' = B2·v + (g'·g')·C2
//	              p'' = p' - StepSize·(m' / (sqrt(v')·InvBC2 + Eps))
//	RuleAdagrad   g' = g + WD·p;  s' = s + g'·g';  p' = p - (LR·g') / (sqrt(s') + Eps)
//	RuleRMSprop   g' = g + WD·p;  a' = Alpha·a + C·(g'·g');  p' = p - (LR·g') / (sqrt(a') + Eps)
//
// Fields a rule does not use are zero.
type Coeffs struct {
	Rule Rule
	// WD is the L2 weight decay added to the gradient (0 on a run
	// exempt from decay, and for adamw, whose decay is Decay).
	WD float32
	// LR is the learning rate (SGD, Adagrad, RMSprop).
	LR float32
	// Mu is SGD's momentum.
	Mu float32
	// Adam: Decay is 1 - lr·WeightDecay (adamw; 1 otherwise and on a run
	// exempt from decay), B1, C1 = Beta1, 1-Beta1, B2, C2 = Beta2,
	// 1-Beta2, InvBC2 = 1/sqrt(1-Beta2^t), StepSize = lr/(1-Beta1^t).
	Decay, B1, C1, B2, C2, InvBC2, StepSize float32
	// Eps is added to the denominator (Adam, Adagrad, RMSprop).
	Eps float32
	// Alpha and C are RMSprop's Alpha and 1-Alpha.
	Alpha, C float32
}

// Run is a run [Lo, Hi) of the shard (shard-relative) and the
// coefficients of its update.
type Run struct {
	Lo, Hi int
	Coeffs Coeffs
}

// Planner is implemented by every optimizer New returns.
type Planner interface {
	// Plan appends to dst the runs of the shard (SetNoDecay's segments,
	// in order, covering [0, Len())) with the coefficients the next Step
	// (step number Steps()+1) with learning rate lr would use, and
	// returns the extended slice. It changes nothing: an implementation
	// of the update elsewhere applies the runs and then calls
	// SetSteps(Steps()+1), as Step would have counted the step.
	Plan(lr float32, dst []Run) []Run
}

func (o *sgd) Plan(lr float32, dst []Run) []Run {
	rule := RuleSGD
	switch {
	case o.mu > 0 && o.nesterov:
		rule = RuleNesterov
	case o.mu > 0:
		rule = RuleMomentum
	}
	for _, sg := range o.segments() {
		k := o.coeffs(lr, sg.decay)
		dst = append(dst, Run{sg.lo, sg.hi, Coeffs{Rule: rule, WD: k.wd, LR: k.lr, Mu: k.mu}})
	}
	return dst
}

func (o *adam) Plan(lr float32, dst []Run) []Run {
	k := o.coeffsAt(lr, o.steps+1)
	for _, sg := range o.segments() {
		kk := k
		if !sg.decay {
			kk = noDecay(k)
		}
		dst = append(dst, Run{sg.lo, sg.hi, Coeffs{Rule: RuleAdam, WD: kk.l2, Decay: kk.decay, B1: kk.b1, C1: kk.c1,
			B2: kk.b2, C2: kk.c2, InvBC2: kk.invBC2, Eps: kk.eps, StepSize: kk.stepSize}})
	}
	return dst
}

func (o *adagrad) Plan(lr float32, dst []Run) []Run {
	for _, sg := range o.segments() {
		k := o.coeffs(lr, sg.decay)
		dst = append(dst, Run{sg.lo, sg.hi, Coeffs{Rule: RuleAdagrad, WD: k.wd, LR: k.lr, Eps: k.eps}})
	}
	return dst
}

func (o *rmsprop) Plan(lr float32, dst []Run) []Run {
	for _, sg := range o.segments() {
		k := o.coeffs(lr, sg.decay)
		dst = append(dst, Run{sg.lo, sg.hi, Coeffs{Rule: RuleRMSprop, WD: k.wd, LR: k.lr, Eps: k.eps, Alpha: k.alpha, C: k.c}})
	}
	return dst
}
