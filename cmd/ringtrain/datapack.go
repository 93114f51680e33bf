package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/ringtrain/ringtrain/data"
)

// packFlags are the settings of ringtrain data pack.
type packFlags struct {
	from, path, testPath, out, shardSize string
	header                               bool
	labelColumn, classes                 int
	n, testN, dim                        int
	seed                                 uint64
	context                              int
	image                                packImageFlags
}

func newDataPackCmd(g *globals) *cobra.Command {
	var f packFlags
	cmd := &cobra.Command{
		Use:   "pack --from idx|csv|images|synthetic|text|shakespeare --path PATH --out DIR [--shard-size 64MiB]",
		Short: "Convert a data set into shards that workers stream (data.source: shards)",
		Long: `Convert a data set into a shard directory for data.source: shards (docs/data.md): shard files of
about --shard-size each for the training and the test split, and shards.json, the manifest that lists them
with their sample counts and CRC32C, the sample shape, the classes and the input scale. --from idx reads an
MNIST-layout directory (pixels stored as bytes, input_scale 1/255), --from csv a training file (--path) and
a test file (--test-path) as data.source csv does (--header, --label-column, --classes), --from synthetic
generates data.source synthetic's problem (--n training samples and --test-n, default n/4, test samples of --dim features),
--from images an image folder (train/<class>/..., test/<class>/...) decoded as data.source images does with
--image-size, --channels, --resize and --on-error as data.image and data.on_error (the loading shown as by data
check; pixels stored as bytes, or float32 when a resize blends them, with input_scale 1/255, so the shards train
on exactly the values the folder does; the class names kept). The training images are shuffled (seeded by --seed:
a rank reads contiguous runs of the shards, so a folder's class order would make batches of one class).
--from text packs a UTF-8 text file (plain or .gz; --from shakespeare the embedded tiny Shakespeare) as
data.source text reads it, for a language model of --context tokens (model.context): records are windows of
context+1 token ids, one every context tokens, of the first 90% (training) and the last 10% (test); the
manifest holds the vocabulary and the context (docs/data.md).
Every shard is written to a temporary file, fsynced and renamed; the manifest last. --out must not exist or
be empty.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			size, err := parseByteSize(f.shardSize)
			if err != nil {
				return fmt.Errorf("--shard-size: %w", err)
			}
			return runPack(cmd.Context(), g, f, size)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "the input's kind: idx, csv, images, synthetic, text or shakespeare (required)")
	fl.StringVar(&f.path, "path", "", "the input: an IDX directory, the training CSV file, the image folder, or the text file")
	fl.IntVar(&f.context, "context", 64, "text, shakespeare: the language model's context (model.context) the windows are packed for")
	fl.StringVar(&f.testPath, "test-path", "", "csv: the test CSV file")
	fl.StringVar(&f.out, "out", "", "the shard directory to write (required; must not exist or be empty)")
	fl.StringVar(&f.shardSize, "shard-size", "64MiB", "the size of a shard file (B, KiB, MiB, GiB; e.g. 16MiB)")
	fl.BoolVar(&f.header, "header", false, "csv: the first line is a header")
	fl.IntVar(&f.labelColumn, "label-column", -1, "csv: the label's column (-1: the last)")
	fl.IntVar(&f.classes, "classes", 0, "csv: the number of classes (0: the largest training label + 1); synthetic: the classes (default 4)")
	fl.IntVar(&f.n, "n", 8000, "synthetic: training samples")
	fl.IntVar(&f.testN, "test-n", 0, "synthetic: test samples (0: n/4)")
	fl.IntVar(&f.dim, "dim", 32, "synthetic: features per sample")
	fl.Uint64Var(&f.seed, "seed", 1, "synthetic: the generator's seed; images: the training images' shuffle")
	f.image.register(fl)
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// parseByteSize parses "64MiB", "512KiB", "1GiB", "1048576" or "100B".
func parseByteSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if v, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 1 || v > (1<<40)/mult {
		return 0, fmt.Errorf("%q: want a size such as 64MiB (1 B to 1 TiB)", s)
	}
	return v * mult, nil
}

// runPack loads the input and writes the shards.
func runPack(ctx context.Context, g *globals, f packFlags, shardBytes int64) error {
	var (
		train, test *data.Dataset
		err         error
		opt         = data.PackOptions{DType: data.ShardFloat32, InputScale: 1, ShardBytes: shardBytes, Source: f.from}
	)
	if ents, err := os.ReadDir(f.out); err == nil && len(ents) > 0 {
		return fmt.Errorf("--out %s is not empty (%d entries): packing writes a new directory", f.out, len(ents))
	}
	start := time.Now()
	fmt.Fprintf(g.stderr, "loading %s %s\n", f.from, f.path)
	switch f.from {
	case "idx":
		if f.path == "" {
			return fmt.Errorf("--from idx needs --path (an MNIST-layout directory)")
		}
		train, test, err = data.LoadIDXDir(f.path)
		opt.DType, opt.InputScale = data.ShardUint8, 1.0/255
	case "csv":
		if f.path == "" || f.testPath == "" {
			return fmt.Errorf("--from csv needs --path (the training file) and --test-path (the test file)")
		}
		bar := newLoadProgress(g.stderr, "CSV bytes")
		train, test, err = data.LoadCSVPair(f.path, f.testPath, data.CSVOptions{LabelColumn: f.labelColumn, Header: f.header, Classes: f.classes, Progress: bar.update})
		bar.close()
	case "synthetic":
		classes := f.classes
		if classes == 0 {
			classes = 4
		}
		var all *data.Dataset
		testN := f.testN
		if testN <= 0 {
			testN = max(1, f.n/4)
		}
		all, err = data.Synthetic(data.SyntheticSpec{N: f.n + testN, Dim: f.dim, Classes: classes, Seed: f.seed, Noise: 0.1})
		if err == nil {
			train, test = splitAt(all, f.n)
		}
	case "text", "shakespeare":
		return packText(g, f, shardBytes, start)
	case "images":
		train, test, opt, err = loadImagesToPack(ctx, g, f.path, f.image, shardBytes)
		if err == nil {
			train = data.ShuffleSamples(train, f.seed)
		}
	default:
		return fmt.Errorf("--from %q: want idx, csv, images, synthetic, text or shakespeare", f.from)
	}
	if err != nil {
		return err
	}
	total := train.N + test.N
	bar := newPackProgress(g.stderr, total)
	opt.Progress = bar.set
	m, err := data.PackDatasets(f.out, train, test, opt)
	bar.close()
	if err != nil {
		return err
	}
	var bytes int64
	for _, e := range append(append([]data.ShardEntry(nil), m.Train...), m.Test...) {
		bytes += e.Bytes
	}
	fmt.Fprintf(g.stdout, "packed %d training samples into %d shards and %d test samples into %d (%s %v, %d bytes) in %s: %s\n",
		data.Samples(m.Train), len(m.Train), data.Samples(m.Test), len(m.Test), m.DType, m.Shape, bytes,
		time.Since(start).Round(time.Millisecond), f.out)
	return nil
}

// packText packs a text (--from text) or the embedded tiny Shakespeare
// into a token stream.
func packText(g *globals, f packFlags, shardBytes int64, start time.Time) error {
	var (
		t   *data.Text
		err error
	)
	if f.from == "shakespeare" {
		t, err = data.Shakespeare()
	} else if f.path == "" {
		return fmt.Errorf("--from text needs --path (a UTF-8 text file, plain or .gz)")
	} else {
		t, err = data.LoadTextFile(f.path)
	}
	if err != nil {
		return err
	}
	bar := newPackProgress(g.stderr, data.TextWindows(len(t.Train), f.context)+data.TextWindows(len(t.Val), f.context))
	m, err := data.PackText(f.out, t, f.context, data.PackOptions{ShardBytes: shardBytes, Progress: bar.set})
	bar.close()
	if err != nil {
		return err
	}
	var bytes int64
	for _, e := range append(append([]data.ShardEntry(nil), m.Train...), m.Test...) {
		bytes += e.Bytes
	}
	fmt.Fprintf(g.stdout, "packed %d training windows into %d shards and %d test windows into %d (%s [%d] tokens: context %d, %d characters in the vocabulary, %d bytes) in %s: %s\n",
		data.Samples(m.Train), len(m.Train), data.Samples(m.Test), len(m.Test), m.DType, m.Context+1, m.Context, m.Classes, bytes,
		time.Since(start).Round(time.Millisecond), f.out)
	return nil
}

// splitAt cuts a dataset into its first n samples and the rest (views).
func splitAt(d *data.Dataset, n int) (*data.Dataset, *data.Dataset) {
	a, b := *d, *d
	a.X, a.Y, a.N, a.Name = d.X[:n*d.Dim], d.Y[:n], n, d.Name+"/train"
	b.X, b.Y, b.N, b.Name = d.X[n*d.Dim:], d.Y[n:], d.N-n, d.Name+"/test"
	return &a, &b
}

// packProgress shows the samples packed: a bar on a terminal, else a line
// every few seconds.
type packProgress struct {
	w     io.Writer
	total int
	p     *mpb.Progress
	bar   *mpb.Bar
	last  time.Time
}

func newPackProgress(w io.Writer, total int) *packProgress {
	pp := &packProgress{w: w, total: total, last: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			pp.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(200*time.Millisecond))
			pp.bar = pp.p.New(int64(total), mpb.BarStyle(),
				mpb.PrependDecorators(decor.Name("pack "), decor.CountersNoUnit("%d/%d samples ")),
				mpb.AppendDecorators(decor.Percentage(), decor.Name(" "), decor.AverageSpeed(0, "%.0f samples/s")))
		}
	}
	return pp
}

// set records done of total samples packed.
func (pp *packProgress) set(done, total int) {
	if pp.bar != nil {
		pp.bar.SetCurrent(int64(done))
		return
	}
	if now := time.Now(); now.Sub(pp.last) >= 2*time.Second {
		pp.last = now
		fmt.Fprintf(pp.w, "packed %d/%d samples (%.0f%%)\n", done, total, 100*float64(done)/float64(max(total, 1)))
	}
}

func (pp *packProgress) close() {
	if pp.bar != nil {
		pp.bar.SetTotal(-1, true)
		pp.p.Wait()
	}
}
