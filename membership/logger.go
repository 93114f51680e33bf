package membership

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// newMemberlistLogger returns a *log.Logger for memberlist.Config.Logger
// that forwards every line to l at the level of its "[DEBUG]", "[INFO]",
// "[WARN]" or "[ERR]" tag (Info when untagged).
func newMemberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{l: l.With("component", "memberlist")}, "", 0)
}

// slogWriter adapts slog to an io.Writer; log.Logger calls Write once per
// line.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	level, msg := parseMemberlistLine(string(p))
	w.l.Log(context.Background(), level, msg)
	return len(p), nil
}

// parseMemberlistLine splits "[WARN] memberlist: text" into (Warn, "text").
func parseMemberlistLine(line string) (slog.Level, string) {
	line = strings.TrimSpace(line)
	levelTags := [...]struct {
		tag   string
		level slog.Level
	}{
		{"[DEBUG]", slog.LevelDebug},
		{"[TRACE]", slog.LevelDebug},
		{"[INFO]", slog.LevelInfo},
		{"[WARN]", slog.LevelWarn},
		{"[ERR]", slog.LevelError},
		{"[ERROR]", slog.LevelError},
	}
	level := slog.LevelInfo
	for _, t := range levelTags {
		if rest, ok := strings.CutPrefix(line, t.tag); ok {
			level, line = t.level, strings.TrimSpace(rest)
			break
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	return level, line
}
