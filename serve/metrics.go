package serve

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of abnormal requests (the "kind" label of
// ringtrain_serve_abnormal_requests_total).
const (
	AbnormalMalformed  = "malformed"    // not JSON, or not the protocol's shape of JSON
	AbnormalShape      = "shape"        // a shape or value count the model does not take
	AbnormalDatatype   = "datatype"     // a datatype other than FP32
	AbnormalNonFinite  = "nonfinite"    // NaN or ±Inf (also a number beyond float32)
	AbnormalOutOfRange = "out_of_range" // values outside the training inputs' range (still answered)
	AbnormalTooLarge   = "too_large"    // a body over the size limit
	// AbnormalOOD: an instance whose out-of-distribution score (ood.go)
	// is over the model's threshold (still answered).
	AbnormalOOD = "out_of_distribution"
)

// metrics are the server's Prometheus series, on its own registry.
type metrics struct {
	reg      *prometheus.Registry
	latency  *prometheus.HistogramVec
	queue    prometheus.Histogram
	batch    prometheus.Histogram
	requests *prometheus.CounterVec
	abnormal *prometheus.CounterVec
	version  prometheus.Gauge
	reloads  *prometheus.CounterVec
	// unauthorized counts 401s by reason (auth.go).
	unauthorized *prometheus.CounterVec
}

// newMetrics registers the server's series; queueLen and receiving read
// the batcher's queue length and its count of requests being received.
func newMetrics(queueLen, receiving func() float64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ringtrain_serve_request_duration_seconds",
			Help:    "Time from a request's arrival to its response, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 18),
		}, []string{"endpoint"}),
		queue: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ringtrain_serve_queue_seconds",
			Help:    "Time a request waited in the queue before its batch ran.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 2, 20),
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ringtrain_serve_batch_size",
			Help:    "Instances per forward pass of the dynamic batcher.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringtrain_serve_requests_total",
			Help: "Requests answered, by endpoint and HTTP status code.",
		}, []string{"endpoint", "code"}),
		abnormal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringtrain_serve_abnormal_requests_total",
			Help: "Abnormal requests by kind: malformed, shape, datatype, nonfinite, out_of_range, too_large, out_of_distribution.",
		}, []string{"kind"}),
		version: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ringtrain_serve_model_version",
			Help: "The training step of the model being served.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringtrain_serve_model_reloads_total",
			Help: "Newly committed checkpoints loaded (ok) or not (error).",
		}, []string{"result"}),
		unauthorized: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringtrain_serve_unauthorized_requests_total",
			Help: "Requests refused 401 for want of the bearer token, by reason: missing or invalid.",
		}, []string{"reason"}),
	}
	m.unauthorized.WithLabelValues(authMissing)
	m.unauthorized.WithLabelValues(authInvalid)
	for _, k := range []string{AbnormalMalformed, AbnormalShape, AbnormalDatatype, AbnormalNonFinite, AbnormalOutOfRange, AbnormalTooLarge, AbnormalOOD} {
		m.abnormal.WithLabelValues(k)
	}
	m.reg.MustRegister(m.latency, m.queue, m.batch, m.requests, m.abnormal, m.version, m.reloads, m.unauthorized,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ringtrain_serve_queue_length",
			Help: "Requests waiting for the batcher.",
		}, queueLen),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ringtrain_serve_requests_receiving",
			Help: "Inference requests whose body is being read: the batcher waits for them (at most the max delay) before running a batch.",
		}, receiving))
	return m
}

func (m *metrics) observe(endpoint string, code int, d time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(endpoint).Observe(d.Seconds())
}

// abnormalLog counts abnormal requests and logs them, at most one line per
// kind per interval (with the number suppressed since the last line).
type abnormalLog struct {
	log      *slog.Logger
	m        *metrics
	interval time.Duration
	mu       sync.Mutex
	last     map[string]time.Time
	dropped  map[string]int
}

func newAbnormalLog(log *slog.Logger, m *metrics, interval time.Duration) *abnormalLog {
	return &abnormalLog{log: log, m: m, interval: interval, last: map[string]time.Time{}, dropped: map[string]int{}}
}

// record counts one abnormal request of kind and logs msg unless a line of
// this kind was logged less than interval ago.
func (a *abnormalLog) record(kind, msg string) {
	a.m.abnormal.WithLabelValues(kind).Inc()
	a.limited(kind, "abnormal request", "kind", kind, "detail", msg)
}

// limited logs msg with args at Warn unless a line of this key was logged
// less than interval ago; the line says how many were suppressed since.
func (a *abnormalLog) limited(key, msg string, args ...any) {
	now := time.Now()
	a.mu.Lock()
	if now.Sub(a.last[key]) < a.interval {
		a.dropped[key]++
		a.mu.Unlock()
		return
	}
	a.last[key] = now
	suppressed := a.dropped[key]
	a.dropped[key] = 0
	a.mu.Unlock()
	a.log.Warn(msg, append(args, "suppressed_since_last", suppressed)...)
}
