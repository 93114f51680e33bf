package checkpoint

import (
	"fmt"
	"strconv"
	"strings"
)

// File and directory names inside a store directory.
const (
	// ManifestName is the manifest's file name inside a step directory.
	ManifestName = "MANIFEST.json"
	// LatestName is the pointer file at the root of the store: one line
	// holding the directory name of the newest committed step.
	LatestName = "LATEST"
	stepPrefix = "step-"
	tmpInfix   = ".tmp-"
)

// StepDirName is the directory name of step: "step-" and 12 digits.
func StepDirName(step int64) string { return fmt.Sprintf("%s%012d", stepPrefix, step) }

// ParseStepDirName returns the step of a directory name made by
// StepDirName; ok is false for any other name.
func ParseStepDirName(name string) (step int64, ok bool) {
	digits, found := strings.CutPrefix(name, stepPrefix)
	if !found || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || StepDirName(n) != name {
		return 0, false
	}
	return n, true
}

// ShardFileName is the file name of rank's shard inside a step directory.
func ShardFileName(rank int) string { return fmt.Sprintf("shard-%05d.safetensors", rank) }

// isTemp reports whether name is a temporary file of an atomic write.
func isTemp(name string) bool { return strings.Contains(name, tmpInfix) }
