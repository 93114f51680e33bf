package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/worker"
)

// newDataCmd is "ringtrain data": commands about a job's data.
func newDataCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Commands about a job's data (check, pack into shards)",
	}
	cmd.AddCommand(newDataCheckCmd(g), newDataPackCmd(g))
	return cmd
}

func newDataCheckCmd(g *globals) *cobra.Command {
	var config string
	cmd := &cobra.Command{
		Use:   "check [--config job.yaml]",
		Short: "Load a job's data as a worker would, with a progress bar, and describe it",
		Long: `Load the job's training and test data exactly as every worker does at the start of a run (an image
folder decoded in parallel, resized, with data.on_error applied), showing the progress on stderr (a bar on a
terminal, a line a second otherwise), then print the number of samples, their shape and the classes. A file
that fails to load is an error naming it (data.on_error: fail), or a counted warning (skip).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := loadJob(config)
			if err != nil {
				return err
			}
			bar := newLoadProgress(g.stderr, "images")
			c, err := worker.LoadDataWith(spec, worker.LoadOptions{Ctx: cmd.Context(), Logger: g.logger(), Progress: bar.update})
			bar.close()
			if err != nil {
				return err
			}
			return describeCorpus(g, c)
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "job spec YAML (default: the built-in MNIST MLP job)")
	return cmd
}

// describeCorpus prints what a job's data holds.
func describeCorpus(g *globals, c *worker.Corpus) error {
	if c.Text != nil {
		_, err := fmt.Fprintf(g.stdout, "text %s: %d training and %d validation characters, %d distinct\n",
			c.Text.Name, len(c.Text.Train), len(c.Text.Val), c.Text.Vocab.Len())
		return err
	}
	names := "ids 0.." + fmt.Sprint(c.Train.Classes-1)
	if c.Train.ClassNames != nil {
		names = strings.Join(clipList(c.Train.ClassNames, 20), ", ")
	}
	_, err := fmt.Fprintf(g.stdout, "train: %d samples of shape %v (%s)\ntest: %d samples\nclasses: %d: %s\n",
		c.Train.N, c.Train.Shape, c.Train.Name, c.Test.N, c.Train.Classes, names)
	return err
}

// clipList keeps the first n items and says how many more there are.
func clipList(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), fmt.Sprintf("... (%d more)", len(s)-n))
}
