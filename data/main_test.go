package data

import (
	"testing"

	"go.uber.org/goleak"
)

// LoadImageFolder starts decoding goroutines: none may outlive a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
