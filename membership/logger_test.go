package membership

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestParseMemberlistLine(t *testing.T) {
	tests := []struct {
		in    string
		level slog.Level
		msg   string
	}{
		{"[DEBUG] memberlist: Stream connection from=127.0.0.1:1\n", slog.LevelDebug, "Stream connection from=127.0.0.1:1"},
		{"[INFO] memberlist: Suspect b has failed", slog.LevelInfo, "Suspect b has failed"},
		{"[WARN] memberlist: Refuting a dead message (from: a)", slog.LevelWarn, "Refuting a dead message (from: a)"},
		{"[ERR] memberlist: Failed to push local state", slog.LevelError, "Failed to push local state"},
		{"[ERROR] memberlist: x", slog.LevelError, "x"},
		{"no tag at all", slog.LevelInfo, "no tag at all"},
		{"", slog.LevelInfo, ""},
	}
	for _, tt := range tests {
		level, msg := parseMemberlistLine(tt.in)
		if level != tt.level || msg != tt.msg {
			t.Errorf("parse(%q) = %v %q, want %v %q", tt.in, level, msg, tt.level, tt.msg)
		}
	}
}

func TestMemberlistLoggerMapsLevels(t *testing.T) {
	var buf bytes.Buffer
	l := newMemberlistLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Printf("[DEBUG] memberlist: hidden")
	l.Printf("[WARN] memberlist: Was able to connect to b over TCP but UDP probes failed")
	out := buf.String()
	if strings.Contains(out, "hidden") {
		t.Errorf("debug line passed an Info handler: %s", out)
	}
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "component=memberlist") ||
		!strings.Contains(out, `msg="Was able to connect`) {
		t.Errorf("warn line rendered as %s", out)
	}
}
