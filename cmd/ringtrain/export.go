package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/checkpoint"
	mexport "github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/job"
)

// Export formats.
const (
	formatSafetensors = "safetensors"
	formatONNX        = "onnx"
)

// exportFlags are the settings of ringtrain export.
type exportFlags struct {
	format, out, layout string
	step                int64
	quantize            string // "" or int8 (exportquant.go)
	calibration         int
}

func newExportCmd(g *globals) *cobra.Command {
	f := exportFlags{format: formatSafetensors, layout: mexport.LayoutNative, calibration: defaultCalibrationSamples}
	cmd := &cobra.Command{
		Use:   "export RUN_DIR|CHECKPOINT_DIR|EXPORTED_FILE --format safetensors|onnx --out FILE [--step N] [--layout torch] [--quantize int8]",
		Short: "Write a trained model as one self-describing safetensors or ONNX file",
		Long: `Write the model of a run directory (its latest checkpoint), a checkpoint directory (its latest, DIR/step-N
or --step) or an exported safetensors file as one file other tools load. The file's metadata describes the
model: its architecture, layers, input shape, the training data's input normalization (input_scale: raw
inputs times it are what the model saw) and range, class names, the step, and the run's final metrics when
the run directory's summary.json is of that step. --layout torch (safetensors; every kind: mlp, cnn, layers,
lstm, gru, transformer) writes the tensor names and orientations of a PyTorch module's state_dict (the
module is in the torch_module metadata, the class of lstm, gru and transformer in torch_class; a model trained
with data.normalize loads into RingtrainNormalized, which normalizes its input with two buffers of the file).
--format onnx (every kind) writes an ONNX opset 13 graph: mlp, cnn, layers take raw inputs (a layers net
that starts with an embedding: int64 token ids) and return logits; lstm, gru, transformer take int64 token
ids [batch, sequence] and return every position's logits.
--quantize int8 (from a run or checkpoint directory; mlp, cnn, layers; ONNX: mlp, cnn) writes
int8 weights (per output channel, symmetric) and static activation scales calibrated on
--calibration-samples of the run's training inputs; serve and predict run the safetensors file, the ONNX
one is a QDQ graph (QuantizeLinear/DequantizeLinear around each Conv and Gemm).
docs/export.md describes the formats.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(g, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", f.format, "safetensors or onnx")
	fl.StringVar(&f.out, "out", "", "output file (required)")
	fl.StringVar(&f.layout, "layout", f.layout, "safetensors tensor layout: ringtrain (fc weights [in, out]) or torch (a PyTorch state_dict)")
	fl.Int64Var(&f.step, "step", 0, "the checkpoint step (default: the latest)")
	fl.StringVar(&f.quantize, "quantize", "", "int8: post-training int8 quantization (from a run or checkpoint directory)")
	fl.IntVar(&f.calibration, "calibration-samples", f.calibration, "--quantize: training inputs the activation scales are calibrated on")
	return cmd
}

func (f exportFlags) validate() error {
	switch {
	case f.out == "":
		return fmt.Errorf("--out FILE is required")
	case f.format != formatSafetensors && f.format != formatONNX:
		return fmt.Errorf("--format %q: want %s or %s", f.format, formatSafetensors, formatONNX)
	case f.layout != mexport.LayoutNative && f.layout != mexport.LayoutTorch:
		return fmt.Errorf("--layout %q: want %s or %s", f.layout, mexport.LayoutNative, mexport.LayoutTorch)
	case f.format == formatONNX && f.layout != mexport.LayoutNative:
		return fmt.Errorf("--layout is for --format %s", formatSafetensors)
	}
	return f.validateQuantize()
}

// runExport loads the model at arg and writes it as f says.
func runExport(g *globals, arg string, f exportFlags) error {
	if err := f.validate(); err != nil {
		return err
	}
	lm, err := loadModel(g, arg, f.step)
	if err != nil {
		return err
	}
	if err := describeExport(g, &lm); err != nil {
		return err
	}
	if f.quantize != "" {
		return exportInt8(g, lm, f)
	}
	m := mexport.Model{Spec: lm.spec, Params: lm.params}
	var body bytes.Buffer
	if f.format == formatONNX {
		scale := 1.0
		if s, ok := lm.meta[mexport.KeyInputScale]; ok {
			if scale, err = strconv.ParseFloat(s, 64); err != nil {
				return fmt.Errorf("%s: input_scale %q: %w", arg, s, err)
			}
		}
		// the safetensors layout keys of a re-exported file say nothing of a graph
		delete(lm.meta, mexport.KeyLayout)
		delete(lm.meta, mexport.KeyTorchModule)
		delete(lm.meta, mexport.KeyTorchClass)
		mp, err := mexport.ONNX(m, scale, lm.meta)
		if err != nil {
			return err
		}
		if err := mexport.WriteONNX(&body, mp); err != nil {
			return err
		}
		if err := writeFileAtomic(f.out, body.Bytes(), privateFile); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "exported step %s (ONNX opset %d, %d nodes, %d parameters) to %s\n", lm.meta["step"], mexport.OpsetVersion, len(mp.Graph.Node), len(lm.params), f.out)
		return nil
	}
	ts, err := exportTensors(m, f.layout, lm.meta)
	if err != nil {
		return err
	}
	if err := checkpoint.WriteExport(&body, ts, lm.meta); err != nil {
		return err
	}
	if err := writeFileAtomic(f.out, body.Bytes(), privateFile); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "exported step %s (%d tensors, %d parameters) to %s\n", lm.meta["step"], len(ts), len(lm.params), f.out)
	return nil
}

// exportTensors returns m's tensors in layout, recording it in meta.
func exportTensors(m mexport.Model, layout string, meta map[string]string) ([]checkpoint.ExportTensor, error) {
	meta[mexport.KeyLayout] = layout
	if layout != mexport.LayoutTorch {
		return mexport.Native(m)
	}
	ts, mod, class, err := mexport.TorchLayout(m, meta)
	if err != nil {
		return nil, err
	}
	meta[mexport.KeyTorchModule] = mod
	if class != "" {
		meta[mexport.KeyTorchClass] = class
	}
	return ts, nil
}

// describeExport adds the self-describing metadata to lm.meta: the
// architecture, the data facts of the job that trained (trainingJob: the
// checkpoint's record, else the run directory's job.yaml if it is that
// job) and from the run directory the metrics (summary.json, if of the
// same job and step). An exported file keeps the facts it carries.
func describeExport(g *globals, lm *loadedModel) error {
	if err := mexport.Describe(lm.meta, lm.spec); err != nil {
		return err
	}
	b, from, err := trainingJob(lm.runDir, lm.job, lm.meta["job_hash"])
	if err != nil {
		// an exported file keeps the facts it carries
		if _, ok := lm.meta[mexport.KeyInputScale]; !ok {
			fmt.Fprintf(g.stderr, "warning: %v: the input normalization and class names are not recorded\n", err)
		}
	} else {
		spec, err := job.Parse(b)
		if err != nil {
			return fmt.Errorf("%s: %w", from, err)
		}
		facts := mexport.WithClassNames(jobFacts(spec, lm.spec.Classes, func(err error) { fmt.Fprintln(g.stderr, "warning:", err) }), lm.spec)
		if err := mexport.AddFacts(lm.meta, facts); err != nil {
			return err
		}
		if err := addOODFacts(lm, spec); err != nil {
			fmt.Fprintf(g.stderr, "warning: %v: input_stats and ood_threshold are not recorded\n", err)
		}
	}
	if lm.runDir == "" {
		return nil
	}
	return addMetrics(g, lm)
}

// addMetrics adds summary.json's final metrics when it is of the exported
// step and job.
func addMetrics(g *globals, lm *loadedModel) error {
	b, err := os.ReadFile(filepath.Join(lm.runDir, "summary.json"))
	if err != nil {
		return nil // a run still going or stopped: no final metrics
	}
	var s summaryFile
	if err := json.Unmarshal(b, &s); err != nil {
		fmt.Fprintf(g.stderr, "warning: %s: %v: no metrics recorded\n", filepath.Join(lm.runDir, "summary.json"), err)
		return nil
	}
	if strconv.FormatInt(s.Steps, 10) != lm.meta["step"] || (lm.meta["job_hash"] != "" && s.JobHash != lm.meta["job_hash"]) || s.Outcome != "done" {
		fmt.Fprintf(g.stderr, "note: summary.json is of step %d (%s), the export of step %s: no metrics recorded\n", s.Steps, s.Outcome, lm.meta["step"])
		return nil
	}
	metrics := map[string]float64{"test_accuracy": s.TestAccuracy, "test_loss": s.TestLoss, "final_train_loss": s.TrainLoss}
	if s.LanguageModel {
		metrics["perplexity"] = s.Perplexity
	}
	mb, err := json.Marshal(metrics)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	lm.meta[mexport.KeyMetrics] = string(mb)
	return nil
}
