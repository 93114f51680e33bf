package main

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/model"
)

// sampleFlags are the settings of ringtrain sample.
type sampleFlags struct {
	prompt      string
	tokens      int
	temperature float64
	topK        int
	seed        uint64
	step        int64
}

func newSampleCmd(g *globals) *cobra.Command {
	var f sampleFlags
	cmd := &cobra.Command{
		Use:   "sample RUN_DIR|CHECKPOINT_DIR|EXPORTED_FILE [--prompt TEXT] [--tokens N]",
		Short: "Generate text from a trained language model (a run's or a checkpoint directory's latest checkpoint, or an exported file)",
		Long: `Generate text from a character-level language model (model.kind transformer, lstm or gru), streaming
each character as it is drawn. The argument is a run directory (its checkpoints/), a checkpoint directory
(its latest checkpoint, or DIR/step-N, or --step), or a file written by "ringtrain export". The
prompt is encoded with the model's vocabulary (a character it does not know is an error); the model sees at
most its context, the last tokens. Each next character is drawn from the softmax of the logits divided by
--temperature, restricted to the --top-k most likely (0: all); the same --seed gives the same text.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			spec, params, err := loadLanguageModel(g, args[0], f.step)
			if err != nil {
				return err
			}
			return sample(g, spec, params, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.prompt, "prompt", "\n", "text to continue")
	fl.IntVar(&f.tokens, "tokens", 300, "characters to generate (1..1000000)")
	fl.Float64Var(&f.temperature, "temperature", 0.8, "softmax temperature (> 0; lower is more conservative)")
	fl.IntVar(&f.topK, "top-k", 40, "draw only among the K most likely characters (0: all)")
	fl.Uint64Var(&f.seed, "seed", 1, "random seed: the same seed, model and prompt give the same text")
	fl.Int64Var(&f.step, "step", 0, "the checkpoint step (default: the latest)")
	return cmd
}

func (f sampleFlags) validate() error {
	switch {
	case f.tokens < 1 || f.tokens > 1_000_000:
		return fmt.Errorf("--tokens %d: want 1..1000000", f.tokens)
	case !(f.temperature > 0) || math.IsInf(f.temperature, 0):
		return fmt.Errorf("--temperature %v: want a finite number > 0", f.temperature)
	case f.topK < 0:
		return fmt.Errorf("--top-k %d: want >= 0 (0: all characters)", f.topK)
	case f.prompt == "":
		return fmt.Errorf("--prompt is empty: give at least one character (the default is a newline)")
	case !utf8.ValidString(f.prompt):
		return fmt.Errorf("--prompt is not valid UTF-8")
	}
	return nil
}

// loadLanguageModel reads a character-level language model from a run
// directory, a checkpoint directory or an exported file (loadSource).
func loadLanguageModel(g *globals, arg string, step int64) (model.Spec, []float32, error) {
	src, err := loadSource(g, arg, step)
	if err != nil {
		return model.Spec{}, nil, err
	}
	snap, err := src.Load()
	if err != nil {
		return model.Spec{}, nil, err
	}
	if spec := snap.Spec; !spec.Sequence() || spec.Vocab == "" {
		return model.Spec{}, nil, fmt.Errorf("%s: a %s model, not a character-level language model (transformer, lstm or gru trained on a text)", arg, spec.Kind)
	}
	return snap.Spec, snap.Params, nil
}

// sample generates f.tokens characters after f.prompt and streams them.
func sample(g *globals, spec model.Spec, params []float32, f sampleFlags) error {
	m, err := model.New(spec, 1)
	if err != nil {
		return err
	}
	defer m.Close()
	copy(m.Params(), params)
	vocab := []rune(spec.Vocab)
	var ctx []int32
	for i, r := range []rune(f.prompt) {
		tok, ok := slices.BinarySearch(vocab, r)
		if !ok {
			return fmt.Errorf("--prompt character %d, %q, is not in the model's vocabulary of %d characters", i, r, len(vocab))
		}
		ctx = append(ctx, int32(tok))
	}
	w := bufio.NewWriter(g.stdout)
	defer w.Flush()
	rng := rand.New(rand.NewPCG(f.seed, 0x5eed))
	context := spec.Targets()
	probs := make([]float64, len(vocab))
	order := make([]int, len(vocab))
	fmt.Fprint(w, f.prompt)
	for range f.tokens {
		logits, err := m.NextLogits(ctx[max(0, len(ctx)-context):])
		if err != nil {
			return err
		}
		tok := drawToken(logits, f.temperature, f.topK, rng, probs, order)
		ctx = append(ctx, int32(tok))
		if len(ctx) > 4*context { // keep only what the model can see
			ctx = append(ctx[:0], ctx[len(ctx)-context:]...)
		}
		fmt.Fprint(w, string(vocab[tok]))
		if vocab[tok] == '\n' {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(w)
	return w.Flush()
}

// drawToken draws from softmax(logits/temperature) over the topK most
// likely tokens (0: all), ties broken by the lower index. probs and order
// are scratch of len(logits).
func drawToken(logits []float32, temperature float64, topK int, rng *rand.Rand, probs []float64, order []int) int {
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case logits[a] > logits[b]:
			return -1
		case logits[a] < logits[b]:
			return 1
		}
		return 0
	})
	k := len(order)
	if topK > 0 && topK < k {
		k = topK
	}
	top := float64(logits[order[0]])
	var sum float64
	for j := range k {
		p := math.Exp((float64(logits[order[j]]) - top) / temperature)
		probs[j] = p
		sum += p
	}
	u := rng.Float64() * sum
	for j := range k {
		u -= probs[j]
		if u < 0 {
			return order[j]
		}
	}
	return order[k-1]
}
