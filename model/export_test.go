package model

// NewReference builds a model on the reference engine (gorgonia's own ops
// on a TapeMachine) for the tests that check the fused kernels against it.
var NewReference = newReference
