package model

import "errors"

// Sentinel errors callers branch on. Every error the package returns wraps
// one of them (errors.Is) and adds detail naming the offending field or
// argument.
var (
	// ErrSpec: the Spec is invalid (unknown kind or loss, non-positive or
	// too large sizes, an input shape the network cannot consume).
	ErrSpec = errors.New("model: invalid spec")
	// ErrInput: an argument does not fit the model (batch size, slice
	// length, label out of range).
	ErrInput = errors.New("model: invalid input")
	// ErrClosed: the Model was used after Close.
	ErrClosed = errors.New("model: closed")
	// ErrBackend: gorgonia failed (graph construction, execution, or a
	// panic inside gorgonia that was recovered).
	ErrBackend = errors.New("model: backend failure")
)
