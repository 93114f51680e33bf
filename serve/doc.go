// Package serve answers prediction requests with a trained classifier: it
// loads a model from an exported file or a checkpoint directory (following
// LATEST to swap in newly committed checkpoints), batches concurrent
// requests dynamically behind a bounded queue, and serves them over HTTP
// with the KServe v2 / Triton open inference protocol, a simple JSON
// predict endpoint, health endpoints and Prometheus metrics, counting and
// logging abnormal requests by kind (inputs far from the training data
// among them: an out-of-distribution score, ood.go). TLS and a bearer
// token are optional (tls.go, auth.go); GET / is a status page drawn from
// a history the server samples (page.go, history.go). It also reads the
// CSV inputs of batch scoring (ringtrain predict). An int8 export
// (ringtrain export --quantize int8) is run by package quant's int8
// forward pass instead of a model.Model (int8.go).
//
// It depends on model, checkpoint, quant and telemetry (the page's
// charts).
package serve
