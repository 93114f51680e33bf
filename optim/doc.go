// Package optim holds the optimizers, learning-rate schedules and gradient
// clipping helpers that a worker applies to its shard of the flat parameter
// buffer (ZeRO-1: each rank owns 1/N of the optimizer state).
//
// # Contract
//
//   - Element-wise: every optimizer updates element i of params from element
//     i of grads and element i of each state slice only, plus a per-step
//     scalar (the step count for Adam's bias correction). Updating [0:k) and
//     [k:n) with two optimizers is therefore bitwise identical to updating
//     [0:n) with one, which is what makes sharding exact.
//   - State is plain []float32 slices (State returns views in a stable
//     order) plus the step count (Steps/SetSteps). Writing saved values into
//     the views and calling SetSteps restores a checkpoint exactly: the
//     continued run is bitwise identical to an uninterrupted one.
//   - New allocates all state once; Step allocates nothing.
//   - Arithmetic is float32. A step's scalars (bias corrections, 1-Beta,
//     1-Alpha, the decoupled decay factor) are computed once in float64 and
//     rounded to float32; each element then goes through a fixed sequence
//     of correctly rounded float32 operations (kernels.go). No product is
//     fused into a multiply-add, so the SSE kernels on amd64
//     (kernels_amd64.s, four elements at a time) and the portable Go loops
//     (which finish the last len%4 elements, and do all of them on other
//     architectures or with the purego build tag) give an element bitwise
//     the same value: where a shard starts or ends changes nothing. Results
//     are bitwise reproducible on one architecture; across architectures
//     they should be too, but that is not tested.
//   - Against the previous float64 arithmetic (kept as the reference in
//     f64ref_test.go; it rounded only when storing), with u = 2^-24: one
//     step from the same inputs leaves every stored value within
//     16u*(|old| + |new-old|) of the float64 result, and after N steps on
//     separate trajectories the parameters are within 2*N*u relative to
//     max(|p|, 1) (3.6e-5 for the 300 steps tested; up to 1.1e-5 seen).
//     drift_test.go gives the reasoning and the figures.
//   - Every optimizer New returns is a Planner: Plan gives the runs of the
//     shard and each run's float32 coefficients (Coeffs) for the next step
//     without taking it, so that another implementation of the element
//     update (model.DeviceOptimizer's GPU kernels) uses exactly Step's
//     scalars and, with the operations Coeffs lists, gets Step's results.
//   - Step requires len(params) == len(grads) == Len(). That is a
//     programming invariant of the caller (the shard range is fixed when the
//     optimizer is built), not input: a mismatch panics with a message that
//     names both lengths, as an out-of-range slice index would. Everything
//     that comes from configuration (Spec, Schedule) is checked by Validate
//     and New, which return errors naming the field and value at fault.
//
// # Semantics (PyTorch torch.optim, maximize=False)
//
// With g the gradient, p the parameter, t the 1-based step and lr the
// learning rate passed to Step:
//
//	sgd      g += wd*p (L2); if Momentum > 0: b = Momentum*b + g (dampening 0;
//	         b starts at 0, so the first step gives b = g as in torch);
//	         g = Nesterov ? g + Momentum*b : b;  p -= lr*g.
//	         State: "momentum" (absent for plain SGD).
//	adam     g += wd*p (L2, as torch.optim.Adam's weight_decay);
//	         m = Beta1*m + (1-Beta1)*g;  v = Beta2*v + (1-Beta2)*g*g;
//	         p -= (lr/(1-Beta1^t)) * m / (sqrt(v)/sqrt(1-Beta2^t) + Eps).
//	         State: "m", "v" (torch: exp_avg, exp_avg_sq).
//	adamw    p *= 1 - lr*wd (decoupled), then the adam update without L2.
//	         Unlike torch.optim.AdamW (default weight_decay 0.01), a zero
//	         WeightDecay means none: "adamw" with 0 is exactly "adam".
//	adagrad  g += wd*p (L2);  s += g*g;  p -= lr * g / (sqrt(s) + Eps)
//	         (lr_decay 0, initial_accumulator_value 0). State: "sum_sq".
//	rmsprop  g += wd*p (L2);  a = Alpha*a + (1-Alpha)*g*g;
//	         p -= lr * g / (sqrt(a) + Eps) (centered=False, momentum 0).
//	         State: "sq_avg" (torch: square_avg).
//
// Defaults (Spec.WithDefaults fills zero fields): Beta1 0.9, Beta2 0.999,
// Eps 1e-8 (adam, adamw, rmsprop) or 1e-10 (adagrad), Alpha 0.99. Because a
// zero field means "default", Beta1 = 0 or Eps = 0 cannot be expressed.
// Fields that do not apply to the named optimizer must be zero; Validate
// rejects them so that a misspelt configuration does not silently train with
// different settings.
//
// # Schedules
//
// Schedule.At(step) gives the learning rate of the 0-based step: a linear
// warmup Base*(step+1)/WarmupSteps for step < WarmupSteps, then, with
// t = step - WarmupSteps, "constant" Base; "step" Base*Gamma^floor(t/StepEvery);
// "cosine" Min + (Base-Min)*(1+cos(pi*t/TotalSteps))/2 for t < TotalSteps and
// Min after.
//
// # Clipping
//
// Global-norm clipping over sharded gradients: each rank computes
// SumSquares of its shard, the caller all-reduces the sums, and every rank
// scales its shard by ClipFactor(sqrt(total), maxNorm) with Scale. Unlike
// torch.nn.utils.clip_grad_norm_, no 1e-6 is added to the norm.
//
// The package imports only the standard library and holds no global mutable
// state. Optimizers are not safe for concurrent use.
//
// # Speed
//
// BenchmarkStep on the 2-core development machine, one Step over the MLP's
// 535,818 parameters: Adam/AdamW 0.5-0.8 ms (3.9-5.2 ms with the previous
// float64 loops, 1.6 ms with the float32 Go loops alone, go test -tags
// purego), Adagrad and RMSprop about 0.4 ms (2.2-2.8; 1.2-1.4), SGD 0.2-0.4
// ms (0.8-2.1; 0.56-0.98). BenchmarkAdamWBandwidth: an AdamW step moves its
// 28 bytes per element at 1.2-1.4 times the rate copy() moves 8 (0.46 for
// the Go loops, 0.19 for the float64 loops). At 64 Mi elements, out of that
// machine's cache, the update still moves about 23-25 GB/s while copy()
// drops to 12-14 GB/s: the SSE update is bound by its divisions and square
// roots more than by memory there, and copy() is the slower stream.
package optim
