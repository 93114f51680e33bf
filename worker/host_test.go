package worker

import (
	"context"
	"strings"
	"testing"
)

func TestResolveHost(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"10.1.2.3", "10.1.2.3", ""},
		{"::1", "::1", ""},
		{"localhost", "127.0.0.1", ""},
		{"no-such-host.invalid", "", `--advertise-host "no-such-host.invalid"`},
	} {
		got, err := resolveHost(context.Background(), tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || (got != tc.want && !(tc.in == "localhost" && got == "::1")) {
			t.Errorf("%s: %q %v, want %q", tc.in, got, err, tc.want)
		}
	}
}
