package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// globals are the flags every verb shares.
type globals struct {
	logLevel  string
	logFormat string
	stdout    io.Writer
	stderr    io.Writer
}

func (g *globals) logger() *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(g.logLevel)) // validated in PersistentPreRunE
	opts := &slog.HandlerOptions{Level: lvl}
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string) int {
	g := &globals{stdout: os.Stdout, stderr: os.Stderr}
	root := newRoot(g)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(g.stderr, "ringtrain:", err)
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "ringtrain",
		Short: "Data-parallel training across machines: one static binary",
		Long: `ringtrain trains models data-parallel across processes and machines: workers compute
gradients, a ring all-reduce over TCP keeps them in sync, and a coordinator assigns ranks.

Every flag can also be set with an environment variable RINGTRAIN_<FLAG>, upper case with
dashes as underscores (RINGTRAIN_LOG_LEVEL=debug). A flag on the command line wins.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkAliases(cmd); err != nil {
				return err
			}
			if err := bindEnv(cmd); err != nil {
				return err
			}
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
			}
			if g.logFormat != "text" && g.logFormat != "json" {
				return fmt.Errorf("--log-format %q: want text or json", g.logFormat)
			}
			slog.SetDefault(g.logger())
			return nil
		},
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(newLaunchCmd(g), newCoordinatorCmd(g), newWorkerCmd(g), newStatusCmd(g), newCheckpointCmd(g), newScaleCmd(g), newSimulateCmd(g), newVersionCmd(g), newBenchCmd(g), newCertsCmd(g), newSampleCmd(g), newExportCmd(g), newServeCmd(g), newPredictCmd(g), newDataCmd(g))
	root.AddCommand(gpuCmds(g)...)
	flagsToStderr(root, g.stderr)
	return root
}

// envName is the environment variable of a flag: RINGTRAIN_<NAME>.
func envName(flag string) string {
	return "RINGTRAIN_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv sets every flag of cmd (and its parents') that was not given on
// the command line from RINGTRAIN_<NAME>, if that variable is set. An old
// spelling's variable (RINGTRAIN_DIR for --tls-dir) counts only when the
// flag was given neither way, and says it is deprecated.
func bindEnv(cmd *cobra.Command) error {
	var errs []error
	fs := cmd.Flags()
	apply := func(aliases bool) func(f *pflag.Flag) {
		return func(f *pflag.Flag) {
			isAlias := canonical(f) != f.Name
			if isAlias != aliases || f.Changed || (isAlias && given(fs, canonical(f))) {
				return
			}
			name := envName(f.Name)
			v, ok := os.LookupEnv(name)
			if !ok {
				return
			}
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
			f.Changed = true
			if isAlias {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s has been deprecated, use %s\n", name, envName(canonical(f)))
			}
		}
	}
	fs.VisitAll(apply(false))
	cmd.InheritedFlags().VisitAll(apply(false))
	fs.VisitAll(apply(true))
	return errors.Join(errs...)
}
