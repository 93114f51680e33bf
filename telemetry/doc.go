// Package telemetry holds ringtrain's Prometheus metrics: one registry per
// process (no global registry), the worker's and the coordinator's metric
// sets, and an HTTP endpoint serving them (/metrics, Prometheus text
// format). Metric names start with ringtrain_; the worker's carry no labels
// but the phase of a step, so a scrape of N workers is N series each.
package telemetry
