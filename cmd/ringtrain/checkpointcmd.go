package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/checkpoint"
	mexport "github.com/ringtrain/ringtrain/export"
)

func newCheckpointCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "List, inspect, verify and export checkpoint directories",
		Long: `Works on a checkpoint directory (a run's RUN_DIR/checkpoints) without a running cluster.
A step is addressed as DIR/step-<n> (the step directory) or with --step.`,
	}
	cmd.AddCommand(newCkptLsCmd(g), newCkptInspectCmd(g), newCkptVerifyCmd(g), newCkptExportCmd(g))
	return cmd
}

// splitStep accepts DIR or DIR/step-000000000060.
func splitStep(arg string, step int64) (string, int64) {
	arg = filepath.Clean(arg)
	if s, ok := checkpoint.ParseStepDirName(filepath.Base(arg)); ok {
		return filepath.Dir(arg), s
	}
	return arg, step
}

// loadStep loads step, or with step 0 the checkpoint a resume would pick
// (warning about any it passes over).
func loadStep(g *globals, s *checkpoint.Store, step int64) (checkpoint.Manifest, error) {
	if step > 0 {
		return s.Load(step)
	}
	m, warns, err := s.Latest()
	for _, w := range warns {
		fmt.Fprintln(g.stderr, "warning:", w)
	}
	return m, err
}

// openStore opens a checkpoint directory for the tools, warning about
// files named like a step directory (they are ignored).
func openStore(g *globals, dir string) (*checkpoint.Store, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s: not a checkpoint directory", dir)
	}
	s, err := checkpoint.Open(checkpoint.OSFS{}, dir, checkpoint.DefaultOptions())
	if err != nil {
		return nil, err
	}
	strays, err := s.Strays()
	if err != nil {
		return nil, err
	}
	for _, p := range strays {
		fmt.Fprintf(g.stderr, "warning: %s is named like a step directory but is not one: ignored\n", p)
	}
	return s, nil
}

func newCkptLsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "ls DIR", Short: "List the checkpoints in DIR", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(g, args[0])
			if err != nil {
				return err
			}
			entries, err := s.List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STEP\tSTATE\tLATEST\tEPOCH\tWORLD\tPARAMS\tCREATED\tPROBLEM")
			for _, e := range entries {
				latest, epoch, world, params, created, problem := "", "-", "-", "-", "-", ""
				if e.Latest {
					latest = "*"
				}
				if m := e.Manifest; m != nil {
					epoch, world, params = fmt.Sprint(m.Epoch), fmt.Sprint(m.WorldSize), fmt.Sprint(m.NumParams)
					created = time.UnixMilli(m.CreatedUnixMs).UTC().Format(time.RFC3339)
				}
				if e.Err != nil {
					problem = e.Err.Error()
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Step, e.State, latest, epoch, world, params, created, problem)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			// A LATEST that names no loadable checkpoint is what a strict
			// resume refuses: not a clean listing.
			return s.CheckLatest()
		},
	}
}

func newCkptInspectCmd(g *globals) *cobra.Command {
	var step int64
	cmd := &cobra.Command{
		Use: "inspect DIR[/step-N]", Short: "Show a checkpoint's step, world size, sizes and parameter layout (default: the latest)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, step := splitStep(args[0], step)
			s, err := openStore(g, dir)
			if err != nil {
				return err
			}
			m, err := loadStep(g, s, step)
			if err != nil {
				return err
			}
			w := g.stdout
			fmt.Fprintf(w, "step %d, epoch %d (cursor epoch %d step %d), world size %d, %d parameters, optimizer steps %d\n",
				m.Step, m.Epoch, m.Cursor.Epoch, m.Cursor.Step, m.WorldSize, m.NumParams, m.OptimizerSteps)
			fmt.Fprintf(w, "model %s\noptimizer %s, state %s\njob %s, created %s\n", compactJSON(m.ModelSpec), compactJSON(m.OptimizerSpec),
				strings.Join(m.StateNames, ","), m.JobHash, time.UnixMilli(m.CreatedUnixMs).UTC().Format(time.RFC3339))
			tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TENSOR\tSHAPE\tOFFSET")
			for _, t := range m.Layout {
				fmt.Fprintf(tw, "%s\t%v\t%d\n", t.Name, t.Shape, t.Offset)
			}
			fmt.Fprintln(tw, "SHARD\tRANGE\tBYTES\tCRC32C")
			for _, sh := range m.Shards {
				fmt.Fprintf(tw, "%s\t[%d, %d)\t%d\t%08x\n", sh.File, sh.Lo, sh.Hi, sh.Size, sh.CRC32C)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().Int64Var(&step, "step", 0, "the step (default: the latest)")
	return cmd
}

func newCkptVerifyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "verify DIR[/step-N]", Short: "Check every checksum of every committed checkpoint (or one) and LATEST; non-zero exit naming bad files",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, only := splitStep(args[0], 0)
			s, err := openStore(g, dir)
			if err != nil {
				return err
			}
			entries, err := s.List()
			if err != nil {
				return err
			}
			var bad []error
			checked := 0
			for _, e := range entries {
				if (only > 0 && e.Step != only) || e.State != checkpoint.Committed {
					continue
				}
				checked++
				if err := s.Verify(e.Step); err != nil {
					fmt.Fprintf(g.stdout, "step %d: BAD: %v\n", e.Step, err)
					bad = append(bad, err)
					continue
				}
				fmt.Fprintf(g.stdout, "step %d: ok\n", e.Step)
			}
			var latestErr error
			if only == 0 { // the whole directory: LATEST too, as a strict resume checks it
				if latestErr = s.CheckLatest(); latestErr != nil {
					fmt.Fprintf(g.stdout, "LATEST: BAD: %v\n", latestErr)
				}
			}
			if checked == 0 {
				return errors.Join(fmt.Errorf("%s: no committed checkpoint to verify", args[0]), latestErr)
			}
			if len(bad) > 0 {
				return errors.Join(fmt.Errorf("%d of %d checkpoints failed verification: %w", len(bad), checked, errors.Join(bad...)), latestErr)
			}
			return latestErr
		},
	}
}

func newCkptExportCmd(g *globals) *cobra.Command {
	f := exportFlags{format: formatSafetensors, layout: mexport.LayoutNative}
	cmd := &cobra.Command{
		Use: "export DIR[/step-N] --out model.safetensors", Short: "Write one self-describing safetensors file with the model's named tensors (as ringtrain export --format safetensors)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(g, args[0], f)
		},
	}
	cmd.Flags().StringVar(&f.out, "out", "", "output safetensors file (required)")
	cmd.Flags().Int64Var(&f.step, "step", 0, "the step (default: the latest)")
	return cmd
}

func compactJSON(b []byte) string {
	var x bytes.Buffer
	if json.Compact(&x, b) != nil {
		return string(b)
	}
	return x.String()
}
