package buildinfo

import (
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	i := Get()
	if i.Version == "" || !strings.HasPrefix(i.GoVersion, "go1.") || !strings.Contains(i.Platform, "/") {
		t.Fatalf("%+v", i)
	}
}
