package worker

import (
	"time"

	"github.com/ringtrain/ringtrain/telemetry"
)

// The trainer reports in these plain values; the process converts them for
// the wire (convert.go).

// Progress is the end of a reporting window.
type Progress struct {
	Step, TotalSteps int // steps completed; planned
	Epoch            int // epoch of the next batch
	Loss             float64
	SkippedSteps     int // steps skipped so far for a non-finite gradient
	SamplesPerS      float64
	LR               float64          // learning rate of the window's last step
	Phases           telemetry.Phases // mean time per step in each phase over the window
}

// Eval is an evaluation on the held-out split.
type Eval struct {
	Step, Epoch    int
	Loss, Accuracy float64
	Samples        int
}

// Summary is a finished run as one generation's trainer saw it.
type Summary struct {
	Steps, Epochs          int
	TrainLoss              float64 // mean over ranks of the last reporting window
	TestLoss, TestAccuracy float64
	Wall                   time.Duration
	SamplesPerS            float64 // over the steps this generation trained
	WorldSize              int
}
