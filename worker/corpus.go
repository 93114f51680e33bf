package worker

import (
	"fmt"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
)

// Corpus is a job's data: a labelled training and test set (classifiers),
// or a text split into training and validation tokens (language models).
type Corpus struct {
	Train, Test *data.Dataset
	Text        *data.Text
	// Val is the validation split carved by data.val_fraction (nil
	// without); evaluations during training use it, the last one Test.
	Val *data.Dataset
	// Norm is the data.normalize map applied to Train, Val and Test (nil
	// for none), fitted on Train (preprocess) or a checkpoint's (UseNorm).
	Norm *data.Norm
	raw  *Corpus // the splits before normalization; nil without one
	// Shards: the training split streamed from a shard directory (Train
	// is nil; Test is the directory's test split, loaded whole).
	Shards *data.ShardSet
	// TokenVocab is the vocabulary of a token stream's shards (data pack
	// --from text; nil otherwise): Shards deals windows of context+1
	// token ids and Test holds the test windows, one per sample.
	TokenVocab *data.Vocab
}

// vocab is a language model's vocabulary (nil for a classifier).
func (c *Corpus) vocab() *data.Vocab {
	if c.Text != nil {
		return c.Text.Vocab
	}
	return c.TokenVocab
}

// source deals each step's samples to a rank: the sample order of a
// dataset, or the windows of a text.
type source interface {
	// stepsPerEpoch is the number of global batches per epoch.
	stepsPerEpoch() int
	// fill writes rank's share of the global batch at cursor c into x
	// (dim values per sample) and y (targets labels per sample).
	fill(c data.Cursor, rank, world int, x []float32, y []int32) error
}

// datasetSource deals a dataset's samples in a seeded order per epoch.
type datasetSource struct {
	ds      *data.Dataset
	sampler *data.Sampler
	idx     []int
	aug     augmenter
}

func (s *datasetSource) stepsPerEpoch() int { return s.sampler.StepsPerEpoch() }

func (s *datasetSource) fill(c data.Cursor, rank, world int, x []float32, y []int32) error {
	idx, err := s.sampler.Indices(c, rank, world, s.idx)
	if err != nil {
		return err
	}
	s.idx = idx
	if err := s.ds.Gather(idx, x, y); err != nil {
		return err
	}
	s.aug.apply(c, idx, x, s.ds)
	return nil
}

// textSource deals windows of the training tokens: the starts of global
// step k are drawn from the seed and k alone (data.WindowSampler), so any
// step can be dealt again on resume. An epoch is as many steps as it takes
// to draw as many tokens as the text has (at least one).
type textSource struct {
	tokens  []uint16
	ws      *data.WindowSampler
	spe     int
	context int
	starts  []int
}

func newTextSource(tokens []uint16, context, globalBatch int, seed uint64) (*textSource, error) {
	ws, err := data.NewWindowSampler(len(tokens), context, globalBatch, seed)
	if err != nil {
		return nil, fmt.Errorf("data: training text: %w", err)
	}
	return &textSource{tokens: tokens, ws: ws, spe: max(1, len(tokens)/(globalBatch*context)), context: context}, nil
}

func (s *textSource) stepsPerEpoch() int { return s.spe }

func (s *textSource) fill(c data.Cursor, rank, world int, x []float32, y []int32) error {
	starts, err := s.ws.Starts(int64(c.Epoch)*int64(s.spe)+int64(c.Step), rank, world, s.starts)
	if err != nil {
		return err
	}
	s.starts = starts
	return windows(s.tokens, starts, s.context, x, y)
}

// windows writes the windows at starts: inputs x as token ids, targets y
// the tokens one position later.
func windows(tokens []uint16, starts []int, context int, x []float32, y []int32) error {
	if len(x) != len(starts)*context || len(y) != len(x) {
		return fmt.Errorf("windows: %d starts of %d tokens into x %d and y %d", len(starts), context, len(x), len(y))
	}
	for i, st := range starts {
		if st < 0 || st+context >= len(tokens) {
			return fmt.Errorf("windows: start %d: want 0..%d", st, len(tokens)-context-1)
		}
		w := tokens[st : st+context+1]
		xs, ys := x[i*context:(i+1)*context], y[i*context:(i+1)*context]
		for j := range context {
			xs[j], ys[j] = float32(w[j]), int32(w[j+1])
		}
	}
	return nil
}

// LoadData loads the job's data.
func LoadData(s job.Spec) (*Corpus, error) { return LoadDataWith(s, LoadOptions{}) }

// LoadDataWith loads the job's data with o's context, log and progress.
func LoadDataWith(s job.Spec, o LoadOptions) (*Corpus, error) {
	d := s.Data
	c := &Corpus{}
	var err error
	switch d.Source {
	case "default":
		c.Train, c.Test, err = data.Default()
	case "idx":
		c.Train, c.Test, err = data.LoadIDXDir(d.Path)
	case "csv":
		opt := data.CSVOptions{LabelColumn: d.CSV.LabelColumn, Header: d.CSV.Header, Classes: d.CSV.Classes, Progress: o.progress("CSV bytes")}
		if d.TestPath == "" { // data.val_fraction carves the test split
			c.Train, err = data.LoadCSVChecked(d.Path, opt)
		} else {
			c.Train, c.Test, err = data.LoadCSVPair(d.Path, d.TestPath, opt)
		}
	case "synthetic":
		sy := d.Synthetic
		var all *data.Dataset
		all, err = data.Synthetic(data.SyntheticSpec{N: sy.N + max(1, sy.N/4), Dim: sy.Dim, Classes: sy.Classes, Seed: s.Seed, Noise: sy.Noise})
		if err == nil {
			c.Train, c.Test = split(all, sy.N)
		}
	case "images":
		c.Train, c.Test, err = loadImages(s, o)
	case "text":
		c.Text, err = data.LoadTextFile(d.Path)
	case "shakespeare":
		c.Text, err = data.Shakespeare()
	case "shards":
		c.Shards, c.Test, err = loadShards(d.Path, d.OnError == "skip", o.progress("test samples"), o.log())
		if err == nil {
			c.TokenVocab, err = checkTextShards(s, c.Shards)
		}
	default:
		err = fmt.Errorf("data.source %q unknown", d.Source)
	}
	if err != nil {
		return nil, fmt.Errorf("load data: %w", err)
	}
	if c.Text != nil {
		if err := checkText(c.Text, s.Model.Context); err != nil {
			return nil, fmt.Errorf("load data: %w", err)
		}
	}
	if err := preprocess(s, c); err != nil {
		return nil, fmt.Errorf("load data: %w", err)
	}
	return c, nil
}

// checkText checks that both parts of the text hold a window and its
// targets.
func checkText(t *data.Text, context int) error {
	if len(t.Train) < context+1 || len(t.Val) < context+1 {
		return fmt.Errorf("%s: %d training and %d validation characters: model.context %d needs at least %d in each (the first 90%% of the text trains, the rest validates)",
			t.Name, len(t.Train), len(t.Val), context, context+1)
	}
	return nil
}

// split cuts a dataset into its first n samples and the rest (views).
func split(d *data.Dataset, n int) (*data.Dataset, *data.Dataset) {
	a := *d
	a.X, a.Y, a.N = d.X[:n*d.Dim], d.Y[:n], n
	b := *d
	b.X, b.Y, b.N = d.X[n*d.Dim:], d.Y[n:], d.N-n
	return &a, &b
}
