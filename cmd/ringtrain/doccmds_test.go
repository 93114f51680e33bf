package main

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// docFiles are the documents whose commands are run: README.md and
// docs/*.md, relative to the repository root.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		files = append(files, filepath.Join("docs", filepath.Base(f)))
	}
	sort.Strings(files[1:])
	return files
}

// docStep is one command of a group, as the plan (doccmds_plan_test.go)
// says to treat it. Exactly one of Run-or-as-documented, Skip, SameAs,
// Covered applies.
type docStep struct {
	File string // the document, relative to the repository root
	Doc  string // the command exactly as documented; "" for a setup step of the test's own
	Run  string // the shell line run instead of Doc ("": Doc as documented)
	Note string // why Run differs from Doc, or what a setup step is for
	Skip string // not run: why (its ringtrain and make calls are still checked against --help and the Makefile)
	// SameAs: the identical command is run by the plan of this other
	// document (checked), so it is not run twice.
	SameAs string
	// Covered: a test of this package that runs this command's test (its
	// existence is checked); the command itself measures repetitions.
	Covered   string
	Needs     string        // "docker" or "openblas": run only when this machine has it
	Interrupt *interruptAt  // Ctrl-C the command once a checkpoint is committed
	Want      string        // the output must contain this
	Retry     time.Duration // retry a failure until this has passed (a service coming up)
}

// interruptAt: send SIGINT to the command's process group (what Ctrl-C in a
// terminal does) once Dir/LATEST names a step ≥ Step.
type interruptAt struct {
	Dir  string
	Step int64
}

// docGroup is a sequence of commands that belong together: they run in
// order in one directory, which mirrors the repository root (a symlink per
// top-level entry, so documented paths such as deploy/compose.yaml resolve)
// while whatever the commands write lands in the directory itself.
type docGroup struct {
	Name    string
	Files   map[string]string // written into the directory first (e.g. job.yaml)
	Env     []string          // added to every command's environment; %PID% is this test's pid
	Needs   string            // as docStep.Needs, for the whole group
	Cleanup string            // run at the end whatever happened (e.g. compose down)
	Steps   []docStep
}

// TestDocumentedCommands runs every command a reader would type from
// README.md and docs/*.md (```sh, ```bash, ```shell and ```console blocks,
// and the command lines in tables) as the plan in doccmds_plan_test.go
// says: as documented, or with explicit substitutions that keep it small;
// the rest are skipped by name with the reason. Every ringtrain call, run
// or not, must name verbs and flags that `ringtrain ... --help` lists, and
// every make call targets the Makefile has; table templates with
// placeholders ("ringtrain launch [--workers N]") get only that check. A
// documented command absent from the plan, a plan entry the docs no longer
// hold, and a failing command fail the test, each named with its output.
func TestDocumentedCommands(t *testing.T) {
	root := testutil.RepoRoot(t)
	var cmds []docCommand
	for _, f := range docFiles(t, root) {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, extractCommands(f, string(b))...)
	}
	t.Run("plan-covers-docs", func(t *testing.T) { checkPlanCoversDocs(t, cmds, docPlan) })
	t.Run("flags-and-targets", func(t *testing.T) { checkFlagsAndTargets(t, root, cmds) })
	for _, g := range docPlan {
		t.Run(g.Name, func(t *testing.T) { runGroup(t, root, cmds, g) })
	}
}

// docKey identifies a documented command: its file and exact text.
func docKey(file, text string) string { return file + ": " + text }

// checkPlanCoversDocs: every documented command that is not a table
// template has exactly one plan entry; every plan entry names a documented
// command; SameAs and Covered point at something real.
func checkPlanCoversDocs(t *testing.T, cmds []docCommand, plan []docGroup) {
	documented := map[string]docCommand{}
	for _, c := range cmds {
		if c.InTable && isTemplate(c.Text) {
			continue
		}
		if _, dup := documented[docKey(c.File, c.Text)]; !dup {
			documented[docKey(c.File, c.Text)] = c
		}
	}
	planned := map[string]docStep{}
	for _, g := range plan {
		last := map[string]int{} // file -> line of the group's previous step from it
		for _, s := range g.Steps {
			if c, ok := documented[docKey(s.File, s.Doc)]; ok {
				if c.Line < last[s.File] {
					t.Errorf("group %s: %s:%d comes before line %d in the doc: a sequence runs in the documented order", g.Name, s.File, c.Line, last[s.File])
				}
				last[s.File] = c.Line
			}
			if s.Doc == "" {
				if s.Run == "" || s.Note == "" {
					t.Errorf("group %s: a setup step needs Run and a Note saying what it is for", g.Name)
				}
				continue
			}
			k := docKey(s.File, s.Doc)
			if _, dup := planned[k]; dup {
				t.Errorf("plan: %s is listed twice", k)
			}
			planned[k] = s
			if _, ok := documented[k]; !ok {
				t.Errorf("plan entry for a command the docs no longer hold (update doccmds_plan_test.go): %s", k)
			}
			if s.Run != "" && s.Note == "" {
				t.Errorf("plan: %s runs %q instead without a Note saying why", k, s.Run)
			}
		}
	}
	for k, c := range documented {
		if _, ok := planned[k]; !ok {
			t.Errorf("%s:%d: documented command neither run nor skipped: add it to doccmds_plan_test.go: %s", c.File, c.Line, c.Text)
		}
	}
	for k, s := range planned {
		if s.SameAs != "" {
			other, ok := planned[docKey(s.SameAs, s.Doc)]
			if !ok || other.Skip != "" || other.SameAs != "" || other.Covered != "" {
				t.Errorf("plan: %s is SameAs %s, whose plan does not run %q", k, s.SameAs, s.Doc)
			}
		}
		if s.Covered != "" && !testFuncExists(t, s.Covered) {
			t.Errorf("plan: %s is covered by %s, which is not a test of this package", k, s.Covered)
		}
	}
}
