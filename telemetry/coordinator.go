package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Coordinator is the coordinator's metrics.
type Coordinator struct {
	Registry          *prometheus.Registry
	Generation        prometheus.Gauge
	WorldSize         prometheus.Gauge
	Members           *prometheus.GaugeVec // by state
	Failures          prometheus.Counter
	Recoveries        prometheus.Counter
	RecoverySeconds   prometheus.Histogram
	Checkpoints       prometheus.Counter
	CheckpointFails   prometheus.Counter
	CheckpointSeconds prometheus.Histogram // last shard's arrival to commit
	CheckpointBytes   prometheus.Gauge
	LatestCheckpoint  prometheus.Gauge
	Step              prometheus.Gauge
	Loss              prometheus.Gauge
	SamplesPerSec     prometheus.Gauge
	TestAccuracy      prometheus.Gauge
	Anomalies         *prometheus.CounterVec // by kind: loss_spike, straggler, repeated_failures
	Restores          *prometheus.CounterVec // generations by where their state came from: replicas, checkpoint, start
	LostSteps         prometheus.Counter     // completed steps the restores lost
}

// NewCoordinator registers the coordinator's metrics in a new registry.
func NewCoordinator() *Coordinator {
	r := prometheus.NewRegistry()
	f := factory{r}
	members := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ringtrain_members", Help: "Workers known to the coordinator, by state."}, []string{"state"})
	r.MustRegister(members)
	anomalies := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ringtrain_anomalies_total", Help: "Anomalies detected, by kind (loss_spike, straggler, repeated_failures)."}, []string{"kind"})
	r.MustRegister(anomalies)
	restores := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ringtrain_restores_total",
		Help: "Generations that resumed, by where their state came from (replicas: the previous generation's live state; checkpoint; start)."}, []string{"source"})
	r.MustRegister(restores)
	c := &Coordinator{
		Registry:   r,
		Generation: f.gauge("ringtrain_generation", "Current generation."),
		WorldSize:  f.gauge("ringtrain_world_size", "World size of the current generation."),
		Members:    members,
		Failures:   f.counter("ringtrain_failures_total", "Generations ended by a lost, hung or stalled worker."),
		Recoveries: f.counter("ringtrain_recoveries_total", "Recoveries completed (first progress of the next generation)."),
		RecoverySeconds: f.hist("ringtrain_recovery_seconds", "From a failure to the first progress report of the next generation.",
			prometheus.ExponentialBuckets(0.01, 2, 14)),
		Checkpoints: f.counter("ringtrain_checkpoints_committed_total", "Checkpoints committed."),
		CheckpointFails: f.counter("ringtrain_checkpoint_failures_total",
			"Checkpoints that could not be stored (the coordinator's disk full, read-only or failing); training went on."),
		CheckpointSeconds: f.hist("ringtrain_checkpoint_commit_seconds", "Writing the last shard of a checkpoint and committing it.",
			prometheus.ExponentialBuckets(0.001, 2.5, 14)),
		CheckpointBytes:  f.gauge("ringtrain_checkpoint_bytes", "Bytes of the last committed checkpoint (all shards)."),
		LatestCheckpoint: f.gauge("ringtrain_latest_checkpoint_step", "Step of the newest committed checkpoint."),
		Step:             f.gauge("ringtrain_step", "Global step of the last progress report."),
		Loss:             f.gauge("ringtrain_loss", "Training loss of the last progress report."),
		SamplesPerSec:    f.gauge("ringtrain_samples_per_second", "Global throughput of the last progress report."),
		TestAccuracy:     f.gauge("ringtrain_test_accuracy", "Test accuracy of the last evaluation."),
		Anomalies:        anomalies,
		Restores:         restores,
		LostSteps:        f.counter("ringtrain_lost_steps_total", "Completed steps lost by the generations' restores (a checkpoint restore loses the steps since the checkpoint; a live one, none)."),
	}
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return c
}
