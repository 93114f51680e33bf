package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/serve"
)

// predictFlags are the settings of ringtrain predict.
type predictFlags struct {
	input      string
	out        string
	header     bool
	step       int64
	inputScale float64
}

// predictChunk is the number of rows one forward pass scores.
const predictChunk = 256

func newPredictCmd(g *globals) *cobra.Command {
	var f predictFlags
	cmd := &cobra.Command{
		Use:   "predict MODEL_FILE|RUN_DIR --input FILE.csv [--out FILE.csv]",
		Short: "Score the rows of a CSV file with a trained classifier",
		Long: `Score a CSV file with a classifier (model.kind mlp, cnn or layers) from a file written by "ringtrain checkpoint
export", a run directory or a checkpoint directory (its latest checkpoint, or DIR/step-N, or --step). Each
row holds one instance's raw inputs: a data.source csv file's format without its label column (gzipped or
not; --header skips a header line). Inputs are scaled as in training (the export's input_scale, or the
run's job.yaml: 1/255 for IDX images), then normalized by the map of the job's data.normalize
(input_normalization) when it has one. Prints one line per row: the predicted class, its probability and,
when the model has class names, the name; --out writes a CSV file instead (row,class,probability,label).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.inputScale < 0 {
				return fmt.Errorf("--input-scale %v: want > 0", f.inputScale)
			}
			src, err := loadSource(g, args[0], f.step)
			if err != nil {
				return err
			}
			snap, err := src.Load()
			if err != nil {
				return err
			}
			p, err := serve.NewPredictor(snap, f.inputScale)
			if err != nil {
				return err
			}
			defer p.Close()
			return predict(g, p, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.input, "input", "", "the CSV file of instances (required; - is standard input)")
	fl.StringVar(&f.out, "out", "", "write a CSV file (row,class,probability,label) instead of lines on standard output")
	fl.BoolVar(&f.header, "header", false, "the input's first line is a header")
	fl.Int64Var(&f.step, "step", 0, "the checkpoint step (default: the latest)")
	fl.Float64Var(&f.inputScale, "input-scale", 0, "multiply raw inputs by this before the model (default: the export's input_scale, else 1)")
	_ = cmd.MarkFlagRequired("input")
	return cmd
}

// predict scores f.input with p and writes the predictions.
func predict(g *globals, p *serve.Predictor, f predictFlags) error {
	var in io.Reader = os.Stdin
	if f.input != "-" {
		file, err := os.Open(f.input)
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	info := p.Info()
	x, n, err := serve.ReadCSV(in, info.InputSize(), f.header)
	if err != nil {
		return fmt.Errorf("%s: %w", f.input, err)
	}
	var preds []serve.Prediction
	w := info.InputSize()
	for start := 0; start < n; start += predictChunk {
		k := min(predictChunk, n-start)
		_, probs, err := p.Predict(x[start*w : (start+k)*w])
		if err != nil {
			return err
		}
		preds = append(preds, serve.Predictions(probs, info)...)
	}
	if f.out == "" {
		bw := bufio.NewWriter(g.stdout)
		for _, pr := range preds {
			fmt.Fprintf(bw, "%d %.4f", pr.Class, pr.Probability)
			if pr.Label != "" {
				fmt.Fprintf(bw, " %s", pr.Label)
			}
			fmt.Fprintln(bw)
		}
		return bw.Flush()
	}
	return writePredictionsCSV(f.out, preds)
}

// writePredictionsCSV writes preds to path atomically.
func writePredictionsCSV(path string, preds []serve.Prediction) error {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"row", "class", "probability", "label"})
	for i, pr := range preds {
		_ = cw.Write([]string{strconv.Itoa(i), strconv.Itoa(pr.Class), strconv.FormatFloat(float64(pr.Probability), 'g', -1, 32), pr.Label})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return writeFileAtomic(path, b.Bytes(), 0o644)
}
