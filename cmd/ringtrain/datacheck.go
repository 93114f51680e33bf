package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/data"
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
folder decoded in parallel, resized, with data.on_error applied; CSV files parsed; a shard directory's
manifest read and its test split loaded, the training split being streamed), showing the progress on stderr
(images, CSV bytes or test samples: a bar on a terminal, a line a second otherwise), then print the number of
samples, their shape and the classes. A file that fails to load is an error naming it (data.on_error: fail),
or a counted warning (skip).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := loadJob(config)
			if err != nil {
				return err
			}
			bar := newLoadProgress(g.stderr, worker.LoadUnit(spec))
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
	if c.Shards != nil {
		m := c.Shards.Manifest
		if c.TokenVocab != nil {
			_, err := fmt.Fprintf(g.stdout, "token stream %s (streamed): %d training and %d test windows of %d tokens (context %d), %d distinct characters\n",
				c.Shards.Dir, data.Samples(m.Train), c.Test.N, m.Context+1, m.Context, c.TokenVocab.Len())
			return err
		}
		_, err := fmt.Fprintf(g.stdout, "train: %d samples of shape %v (%d shards in %s, streamed)\ntest: %d samples\nclasses: %d: %s\n",
			data.Samples(m.Train), m.Shape, len(m.Train), c.Shards.Dir, c.Test.N, m.Classes, classNames(m.Classes, m.ClassNames))
		return err
	}
	_, err := fmt.Fprintf(g.stdout, "train: %d samples of shape %v (%s)\ntest: %d samples\nclasses: %d: %s\n",
		c.Train.N, c.Train.Shape, c.Train.Name, c.Test.N, c.Train.Classes, classNames(c.Train.Classes, c.Train.ClassNames))
	return err
}

// classNames lists the first class names, or says the ids.
func classNames(classes int, names []string) string {
	if names != nil {
		return strings.Join(clipList(names, 20), ", ")
	}
	return "ids 0.." + fmt.Sprint(classes-1)
}

// clipList keeps the first n items and says how many more there are.
func clipList(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), fmt.Sprintf("... (%d more)", len(s)-n))
}
