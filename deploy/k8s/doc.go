// Package k8s holds ringtrain's Kubernetes manifests (the YAML files in
// this directory, applied with kubectl apply -k) and the tests that
// validate them without a cluster: every document is decoded strictly into
// its official Kubernetes type, the objects are cross-checked against each
// other, the job spec in the ConfigMap is parsed by ringtrain's own job
// parser, every flag in the container commands is checked against the real
// binary's --help, and the containers' command lines are run locally until
// the coordinator and two workers form a generation over TLS, and the
// server of serve/ answers its probes and follows their run's checkpoints. It is a
// separate Go module so that the main module does not depend on
// k8s.io/api.
package k8s
