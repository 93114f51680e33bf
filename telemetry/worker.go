package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Worker is a worker process's metrics.
type Worker struct {
	Registry       *prometheus.Registry
	StepPhase      *prometheus.HistogramVec // seconds per step in each phase
	Steps          prometheus.Counter
	SkippedSteps   prometheus.Counter
	Samples        prometheus.Counter
	Loss           prometheus.Gauge
	LearningRate   prometheus.Gauge
	SamplesPerSec  prometheus.Gauge
	TestLoss       prometheus.Gauge
	TestAccuracy   prometheus.Gauge
	AllReduceBytes prometheus.Counter // bytes this rank sent in collectives
	BusBandwidth   prometheus.Gauge   // GB/s of the last step's reduce-scatter + all-gather
	Checkpoint     prometheus.Histogram
	CheckpointSize prometheus.Gauge
	Generation     prometheus.Gauge
	Rank           prometheus.Gauge
	WorldSize      prometheus.Gauge
	SharedPeers    prometheus.Gauge // peers reached through shared memory
	LiveBytes      prometheus.Gauge // memory of the live state and replicas (cluster.replicate_every)

	phase [PhaseCheckpoint + 1]prometheus.Observer // StepPhase by Phase, looked up once
}

// NewWorker registers the worker's metrics (and the Go runtime's) in a new
// registry.
func NewWorker() *Worker {
	r := prometheus.NewRegistry()
	f := factory{r}
	w := &Worker{
		Registry: r,
		StepPhase: f.histVec("ringtrain_step_phase_seconds", "Time of one training step spent in each phase.",
			prometheus.ExponentialBuckets(1e-5, 2.5, 16), "phase"),
		Steps:          f.counter("ringtrain_steps_total", "Training steps completed by this worker."),
		SkippedSteps:   f.counter("ringtrain_skipped_steps_total", "Steps skipped on every rank because some rank's loss or gradient was NaN or infinite."),
		Samples:        f.counter("ringtrain_samples_total", "Training samples processed by this worker."),
		Loss:           f.gauge("ringtrain_loss", "Mean training loss over ranks of the last reporting window."),
		LearningRate:   f.gauge("ringtrain_learning_rate", "Learning rate of the last step."),
		SamplesPerSec:  f.gauge("ringtrain_samples_per_second", "Global training throughput of the last reporting window."),
		TestLoss:       f.gauge("ringtrain_test_loss", "Loss on the held-out split at the last evaluation."),
		TestAccuracy:   f.gauge("ringtrain_test_accuracy", "Accuracy on the held-out split at the last evaluation."),
		AllReduceBytes: f.counter("ringtrain_allreduce_sent_bytes_total", "Bytes this rank sent in gradient and parameter collectives."),
		BusBandwidth:   f.gauge("ringtrain_allreduce_busbw_gbps", "Bus bandwidth (GB/s, nccl-tests definition) of the last step's reduce-scatter plus all-gather."),
		Checkpoint: f.hist("ringtrain_checkpoint_stall_seconds", "Training stall per checkpoint (the snapshot copy and any wait for the previous upload).",
			prometheus.ExponentialBuckets(1e-4, 2.5, 14)),
		CheckpointSize: f.gauge("ringtrain_checkpoint_shard_bytes", "Bytes of this rank's last checkpoint shard (parameters and optimizer state)."),
		Generation:     f.gauge("ringtrain_generation", "Generation this worker trains in."),
		Rank:           f.gauge("ringtrain_rank", "This worker's rank in its generation (-1: none)."),
		WorldSize:      f.gauge("ringtrain_world_size", "World size of this worker's generation."),
		SharedPeers:    f.gauge("ringtrain_shm_peers", "Peers this rank reaches through shared memory in its generation (the others over TCP)."),
		LiveBytes:      f.gauge("ringtrain_live_state_bytes", "Bytes this worker holds for live recovery: its shard and its ring predecessor's replica at the two newest replicated steps (cluster.replicate_every)."),
	}
	for p := range w.phase {
		w.phase[p] = w.StepPhase.WithLabelValues(Phase(p).String())
	}
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return w
}

type factory struct{ r *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.r.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.r.MustRegister(g)
	return g
}

func (f factory) hist(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.r.MustRegister(h)
	return h
}

func (f factory) histVec(name, help string, buckets []float64, label string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, []string{label})
	f.r.MustRegister(h)
	return h
}
