package device

// The typed launches of the optimizers' kernels (kernels/optim.ptx): one
// step of an optimizer over n elements, one thread per element in 1-D
// blocks of elemBlock threads. The scalars are those of package optim's
// Coeffs for the step (the device package does not import optim); a run
// of the shard exempt from weight decay is another launch over its range
// with wd 0 (Adam: and decay 1).

// SGDRule selects optim_sgd's update.
type SGDRule int32

// SGD rules.
const (
	SGDPlain    SGDRule = 0 // p -= lr·g'; no momentum buffer
	SGDMomentum SGDRule = 1 // b = mu·b + g'; p -= lr·b
	SGDNesterov SGDRule = 2 // b = mu·b + g'; p -= lr·(g' + mu·b)
)

// AdamCoeffs are optim_adam's scalars: the L2 decay WD added to the
// gradient, AdamW's factor Decay = 1 - lr·WeightDecay (else 1), B1, C1 =
// Beta1, 1-Beta1, B2, C2 = Beta2, 1-Beta2, InvBC2 = 1/sqrt(1-Beta2^t),
// Eps and StepSize = lr/(1-Beta1^t).
type AdamCoeffs struct {
	WD, Decay, B1, C1, B2, C2, InvBC2, Eps, StepSize float32
}

// optimLaunch launches kernel over n elements (nothing for n < 1).
func optimLaunch(d Device, kernel string, n int, args ...Arg) error {
	if err := fit32(kernel, n); err != nil {
		return err
	}
	if n < 1 {
		return nil
	}
	return d.Launch(kernel, D1(ceilDiv(n, elemBlock)), D1(elemBlock), args...)
}

// OptimSGD runs one SGD step (dampening 0) over the n elements of p given
// the gradient g: g' = g + wd·p, then per rule. b is the momentum buffer;
// for SGDPlain it is not read and may be the zero Buffer.
func OptimSGD(d Device, n int, rule SGDRule, wd, lr, mu float32, p, g, b Buffer) error {
	if b.Bytes == 0 && rule == SGDPlain {
		b = p // never read
	}
	return optimLaunch(d, "optim_sgd", n, I32(n), I32(rule), F32(wd), F32(lr), F32(mu), p, g, b)
}

// OptimAdam runs one Adam (AdamW) step over the n elements of p given the
// gradient g, updating the moments m and v.
func OptimAdam(d Device, n int, k AdamCoeffs, p, g, m, v Buffer) error {
	return optimLaunch(d, "optim_adam", n, I32(n), F32(k.WD), F32(k.Decay), F32(k.B1), F32(k.C1), F32(k.B2), F32(k.C2),
		F32(k.InvBC2), F32(k.Eps), F32(k.StepSize), p, g, m, v)
}

// OptimAdagrad runs one Adagrad step over the n elements of p given the
// gradient g, updating the sum of squares s.
func OptimAdagrad(d Device, n int, wd, lr, eps float32, p, g, s Buffer) error {
	return optimLaunch(d, "optim_adagrad", n, I32(n), F32(wd), F32(lr), F32(eps), p, g, s)
}

// OptimRMSprop runs one RMSprop step over the n elements of p given the
// gradient g, updating the running mean of squares a (c = 1 - alpha).
func OptimRMSprop(d Device, n int, wd, lr, eps, alpha, c float32, p, g, a Buffer) error {
	return optimLaunch(d, "optim_rmsprop", n, I32(n), F32(wd), F32(lr), F32(eps), F32(alpha), F32(c), p, g, a)
}
