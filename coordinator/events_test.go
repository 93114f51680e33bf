package coordinator

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Every kind keeps the string that Status, `ringtrain status`, the
// dashboard, the logs and the docs show, and its log level.
func TestEventKindStrings(t *testing.T) {
	for _, tc := range []struct {
		kind  EventKind
		wire  string
		level slog.Level
	}{
		{EventJoin, "join", slog.LevelInfo},
		{EventRendezvous, "rendezvous", slog.LevelInfo},
		{EventGeneration, "generation", slog.LevelInfo},
		{EventLeave, "leave", slog.LevelInfo},
		{EventFailure, "failure", slog.LevelWarn},
		{EventPaused, "paused", slog.LevelWarn},
		{EventScaleUp, "scale-up", slog.LevelInfo},
		{EventCheckpointFailed, "checkpoint-failed", slog.LevelError},
		{EventDone, "done", slog.LevelInfo},
		{EventFailed, "failed", slog.LevelError},
		{EventStopped, "stopped", slog.LevelInfo},
		{EventCheckpoint, "checkpoint", slog.LevelInfo},
		{EventRecovered, "recovered", slog.LevelInfo},
		{EventAnomaly, "anomaly", slog.LevelInfo},
		{EventGossip, "gossip", slog.LevelWarn},
	} {
		t.Run(tc.wire, func(t *testing.T) {
			if tc.kind.String() != tc.wire || tc.kind.Level() != tc.level {
				t.Fatalf("%q at %v, want %q at %v", tc.kind.String(), tc.kind.Level(), tc.wire, tc.level)
			}
			if !slices.Contains(EventKinds(), tc.kind) {
				t.Fatalf("%q is not in EventKinds()", tc.kind)
			}
			// Through the event log and the wire type and back.
			log := newEventLog(slog.New(slog.DiscardHandler))
			log.observeEvent(published{Event: Event{Kind: tc.kind, Message: "m"}, Generation: 1, At: time.UnixMilli(5)})
			got := log.recent()
			if len(got) != 1 || got[0].Kind != tc.wire || EventKind(got[0].Kind) != tc.kind || got[0].UnixMs != 5 {
				t.Fatalf("in Status: %v", got)
			}
		})
	}
}

// EventKinds lists every EventKind constant declared in the package, once.
func TestEventKindsListsEveryConstant(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "events.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, sp := range g.Specs {
			v := sp.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); ok && id.Name == "EventKind" {
				for _, val := range v.Values {
					declared = append(declared, strings.Trim(val.(*ast.BasicLit).Value, `"`))
				}
			}
		}
	}
	var listed []string
	for _, k := range EventKinds() {
		listed = append(listed, k.String())
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if len(declared) == 0 || !slices.Equal(declared, listed) || len(slices.Compact(slices.Clone(listed))) != len(listed) {
		t.Fatalf("declared %q, EventKinds() %q", declared, listed)
	}
}

// docs/architecture.md's events table lists every kind with its level, and
// nothing else.
func TestEventKindsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\| (Core|Server) \\| [^|]+ \\| (INFO|WARN|ERROR) \\|$").FindAllSubmatch(doc, -1)
	documented := map[string]string{}
	for _, r := range rows {
		documented[string(r[1])] = string(r[3])
	}
	for _, k := range EventKinds() {
		level, ok := documented[k.String()]
		if !ok {
			t.Errorf("event kind %q is not in docs/architecture.md's events table", k)
		} else if level != k.Level().String() {
			t.Errorf("event kind %q is documented at %s, logged at %s", k, level, k.Level())
		}
		delete(documented, k.String())
	}
	for k := range documented {
		t.Errorf("docs/architecture.md documents an event kind %q that does not exist", k)
	}
}

// The event log logs each event at its kind's level with the generation,
// and keeps the newest maxEvents in order.
func TestEventLog(t *testing.T) {
	var buf bytes.Buffer
	l := newEventLog(slog.New(slog.NewTextHandler(&buf, nil)))
	kinds := EventKinds()
	for i := range maxEvents + 50 {
		l.observeEvent(published{Event: Event{Kind: kinds[i%len(kinds)], Message: "event " + string(rune('a'+i%26))}, Generation: uint64(i), At: time.UnixMilli(int64(i))})
	}
	got := l.recent()
	if len(got) != maxEvents || got[0].UnixMs != 50 || got[maxEvents-1].UnixMs != maxEvents+49 {
		t.Fatalf("kept %d events from %d to %d, want %d from 50", len(got), got[0].GetUnixMs(), got[len(got)-1].GetUnixMs(), maxEvents)
	}
	for i, e := range got {
		if want := kinds[(i+50)%len(kinds)].String(); e.Kind != want {
			t.Fatalf("event %d is %q, want %q", i, e.Kind, want)
		}
	}
	got[0] = &pb.Event{Kind: "changed"}
	if l.recent()[0].Kind == "changed" {
		t.Fatal("recent returned the log's own slice")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != maxEvents+50 {
		t.Fatalf("%d log lines, want %d", len(lines), maxEvents+50)
	}
	for i, line := range lines[:len(kinds)] {
		k := kinds[i]
		if !strings.Contains(line, "level="+k.Level().String()) || !strings.Contains(line, "event="+k.String()+" ") ||
			!strings.Contains(line, "generation="+strconv.Itoa(i)) {
			t.Errorf("log line %q: want level %s, event %s, generation %d", line, k.Level(), k, i)
		}
	}
}

// Every event the core logs is of a listed kind.
func TestCoreEventsHaveListedKinds(t *testing.T) {
	c := testCore(2, 3, 1)
	c.cfg.Elastic, c.cfg.MaxCheckpointFailures = true, 5
	c.Join("a", "a:1")
	c.Join("b", "b:1")
	c.Tick()
	c.Join("c", "c:1")
	c.Checkpointed(10) // scale-up
	c.CheckpointFailed(20, "disk full")
	c.Fail("a", "gone")
	c.Fail("b", "gone") // paused
	c.Join("d", "d:1")
	c.Tick()
	c.Checkpointed(30)
	c.Done()
	seen := map[EventKind]bool{}
	for _, e := range c.TakeEvents() {
		if !slices.Contains(EventKinds(), e.Kind) {
			t.Errorf("event %q of unlisted kind %q", e.Message, e.Kind)
		}
		seen[e.Kind] = true
	}
	for _, k := range []EventKind{EventJoin, EventRendezvous, EventGeneration, EventScaleUp, EventCheckpointFailed, EventFailure, EventPaused, EventDone} {
		if !seen[k] {
			t.Errorf("no %q event in the sequence (it should produce one)", k)
		}
	}
}
