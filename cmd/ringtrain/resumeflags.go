package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/pflag"
)

// resumeFlags are --resume and --strict-resume (launch, coordinator) and
// the coordinator's --auto-resume. --resume is a bool on both verbs:
// "continue the run from its checkpoints"; the run is --run-dir. The old
// launch form --resume RUN_DIR still works, as --resume --run-dir RUN_DIR
// with a deprecation notice.
type resumeFlags struct {
	resume resumeValue
	strict bool
	auto   bool
}

func (r *resumeFlags) register(f *pflag.FlagSet, withAuto bool) {
	f.Var(&r.resume, "resume", "continue the run from its newest good checkpoint (in RUN_DIR/checkpoints, or the coordinator's --checkpoint-dir); an error when there is none")
	f.Lookup("resume").NoOptDefVal = "true"
	f.BoolVar(&r.strict, "strict-resume", false, "refuse to resume when the latest checkpoint is damaged (default: fall back to the newest good one, with a warning)")
	if withAuto {
		f.BoolVar(&r.auto, "auto-resume", false, "resume when the checkpoint directory holds a checkpoint, else start afresh (for restarted pods and requeued jobs)")
	}
}

// mode is what the flags ask for.
func (r *resumeFlags) mode() (resumeMode, error) {
	switch {
	case r.resume.on && r.auto:
		return resumeNo, errors.New("--resume and --auto-resume exclude each other")
	case r.resume.on:
		return resumeYes, nil
	case r.auto:
		return resumeAuto, nil
	}
	return resumeNo, nil
}

// oldRunDir applies the old form --resume RUN_DIR (or --resume=RUN_DIR) to
// *runDir, telling warn it is deprecated. args are the verb's positional
// arguments: after a bool --resume, pflag leaves RUN_DIR among them.
func (r *resumeFlags) oldRunDir(args []string, runDir *string, warn io.Writer) error {
	dir := r.resume.dir
	switch {
	case len(args) > 1 || (len(args) == 1 && dir != ""):
		return fmt.Errorf("unexpected arguments %q: every setting is a flag", args)
	case len(args) == 1 && !r.resume.on:
		return fmt.Errorf("unexpected argument %q: every setting is a flag (the run directory is --run-dir)", args[0])
	case len(args) == 1:
		dir = args[0]
	}
	if dir == "" {
		return nil
	}
	if *runDir != "" && *runDir != dir {
		return fmt.Errorf("--resume %s continues that run directory; --run-dir %s differs", dir, *runDir)
	}
	fmt.Fprintf(warn, "Flag --resume RUN_DIR has been deprecated, use --resume --run-dir %s\n", dir)
	*runDir = dir
	return nil
}

// plain refuses the old RUN_DIR value, which only launch ever took (on
// the coordinator --resume was always a bool).
func (r *resumeFlags) plain() error {
	if r.resume.dir != "" {
		return fmt.Errorf("--resume %q: want true or false (the run directory is --run-dir)", r.resume.dir)
	}
	return nil
}

// resumeValue is --resume: a bool flag that also takes the old RUN_DIR
// value (kept in dir).
type resumeValue struct {
	on  bool
	dir string
}

func (v *resumeValue) String() string { return strconv.FormatBool(v.on) }
func (v *resumeValue) Type() string   { return "bool" }

func (v *resumeValue) Set(s string) error {
	if b, err := strconv.ParseBool(s); err == nil {
		v.on, v.dir = b, ""
		return nil
	}
	if s == "" {
		return errors.New("want true or false")
	}
	v.on, v.dir = true, s
	return nil
}
