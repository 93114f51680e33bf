// Package telemetry holds ringtrain's Prometheus metrics: one registry per
// process (no global registry), the worker's and the coordinator's metric
// sets, and an HTTP endpoint serving them (/metrics, Prometheus text
// format). Metric names start with ringtrain_; the worker's carry no labels
// but the phase of a step, so a scrape of N workers is N series each.
//
// The endpoint is unauthenticated, so it bounds what a client can hold
// (HTTPLimits; Serve uses DefaultHTTPLimits): at most 64 connections at
// once, 16 from one IP address, extras closed as they arrive
// (internal/connlimit); 5 s to send the headers, 10 s for a request, 30 s
// for a response, 10 s for a kept-alive connection to ask again.
//
// Phase names a step's phases (its String is the "phase" label) and Phases
// holds one duration per phase; StepTimingProto and PhasesOf are the only
// conversions to and from the wire's StepTiming. A worker's trainer tells a
// StepObserver what it does: the metrics (Worker) and the trace (Recorder)
// each implement it, Observers fans out, NopObserver ignores.
package telemetry
