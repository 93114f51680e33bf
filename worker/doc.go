// Package worker is the training process: it joins the coordinator, follows
// its plans, and runs the step loop of each generation.
//
// Trainer (trainer.go) is one rank's training over an allreduce.Comm — no
// control plane, no processes — so tests can run N ranks in one process
// over the in-memory transport and compare them with one rank. One step:
//
//	sampler cursor → this rank's B/N samples → model.ForwardBackward (flat
//	gradients) → ReduceScatter(mean) → [global-norm clip] → optimizer step
//	on this rank's shard of parameters and optimizer state only (ZeRO-1) →
//	AllGather of the parameter shards.
//
// N ranks therefore compute the update one rank would compute on the whole
// global batch. Every rank initializes the same parameters from the seed.
// A step measures its phases into a telemetry.Phases and tells the
// trainer's telemetry.StepObserver (metrics, trace; a no-op by default);
// Trainer.Run reports plain values (Progress, Eval, Summary: progress.go).
// The trainer imports no proto: the process (observe.go, convert.go) wires
// the observers and converts the values for the wire.
//
// Run (worker.go) is the process: it listens for the data plane, joins the
// coordinator (with the job spec and the run key in the answer), joins
// memberlist (its gossip keyed with the secret and that run key),
// watches its plan, trains when told to (restoring the plan's checkpoint
// first: restore.go), checkpoints by streaming snapshots to the coordinator
// (upload.go), reports progress asynchronously and exits when the plan says
// STOP. A generation broken by a peer, or refused by the coordinator as
// stale (it formed a newer one), or cut off from an unreachable coordinator
// is not a failure: the worker waits for the next plan (ending.go
// classifies). When removed from the run, or when the coordinator is lost —
// its plan stream broke, its control connection's keepalive went
// unanswered, or gossip declared its node dead (liveness.go: a frozen
// coordinator keeps its sockets open) — it joins again as a new member (a
// new session), and after Config.JoinTimeout of failed joins exits with an
// error naming how the coordinator was lost.
//
// The worker reaches the coordinator only through Control (control.go),
// the interface of the calls it makes, in its own terms (messages,
// manifests, shards, float32 ranges: no streams). Run dials the gRPC
// implementation, control.Client; tests run the worker's logic against
// a coordinator in the same process through it. The worker does not
// import the coordinator.
package worker
