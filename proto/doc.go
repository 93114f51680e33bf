// Package proto holds ringtrain's wire schemas: ringtrain/v1/control.proto,
// the coordinator–worker control plane (gRPC), and the Go code generated
// from it (package ringtrainv1). Generated code is committed; `make proto`
// regenerates it with protoc and the plugin versions pinned in go.mod.
// Nothing else lives here, and it imports no package of ours.
package proto
