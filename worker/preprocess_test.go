package worker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
)

// writeBadlyScaledCSV writes train.csv and test.csv into dir: nTrain
// and nTest rows of one learnable 3-class problem (the synthetic linear
// teacher of seed) whose 8 features are multiplied by 1e3·(j+1) and offset
// by 1e6·(j+1), a constant column inserted as feature 5 (9 in all), the label
// last.
func writeBadlyScaledCSV(t testing.TB, dir string, nTrain, nTest int, seed uint64) {
	t.Helper()
	d, err := data.Synthetic(data.SyntheticSpec{N: nTrain + nTest, Dim: 8, Classes: 3, Seed: seed, Noise: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for i := range d.N {
		if i == nTrain {
			if err := os.WriteFile(filepath.Join(dir, "train.csv"), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
		for j := range d.Dim {
			if j == 5 {
				b.WriteString("42,")
			}
			fmt.Fprintf(&b, "%.6g,", float64(d.X[i*d.Dim+j])*1e3*float64(j+1)+1e6*float64(j+1))
		}
		fmt.Fprintf(&b, "%d\n", d.Y[i])
	}
	if err := os.WriteFile(filepath.Join(dir, "test.csv"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func csvSpec(dir, normalize string, valFraction float64) job.Spec {
	s := job.Default()
	s.Data = job.Data{Source: "csv", Path: filepath.Join(dir, "train.csv"), TestPath: filepath.Join(dir, "test.csv"),
		CSV: job.CSV{LabelColumn: -1}, Normalize: normalize, ValFraction: valFraction}
	s.Model.Hidden = []int{32}
	s.Train.GlobalBatch = 32
	s.Train.Epochs = 10
	s.Train.ReportEvery = 20
	s.Train.LR = job.LRSchedule{Kind: "cosine", Base: 0.01}
	s.Checkpoint = job.Checkpoint{}
	return s
}

// On features scaled by 1e3 and more on offsets of 1e6 and more, the same MLP reaches a
// clearly better test accuracy with data.normalize standard (and minmax)
// than with none; two workers agree bitwise (train checks).
func TestNormalizeBeatsRawFeatures(t *testing.T) {
	dir := t.TempDir()
	writeBadlyScaledCSV(t, dir, 2000, 500, 1)
	acc := map[string]float64{}
	for _, kind := range []string{"none", "standard", "minmax"} {
		spec := csvSpec(dir, kind, 0)
		c, err := LoadData(spec)
		if err != nil {
			t.Fatal(err)
		}
		groupOn(t, spec, c, 2, func(r int, tr *Trainer) error {
			sum, err := tr.Run(context.Background(), nil, nil)
			if r == 0 {
				acc[kind] = sum.TestAccuracy
			}
			return err
		})
	}
	t.Logf("test accuracy: none %.3f, standard %.3f, minmax %.3f", acc["none"], acc["standard"], acc["minmax"])
	if acc["standard"] < 0.9 || acc["standard"] < acc["none"]+0.1 || acc["minmax"] < acc["none"]+0.1 {
		t.Fatalf("test accuracy: none %.3f, standard %.3f, minmax %.3f: want normalize clearly better", acc["none"], acc["standard"], acc["minmax"])
	}
}

// LoadData fits the map on the training split only: the test and
// validation splits are normalized with the training statistics, and the
// validation split is carved before fitting.
func TestLoadDataFitsOnTrainingSplitOnly(t *testing.T) {
	dir := t.TempDir()
	writeBadlyScaledCSV(t, dir, 400, 100, 1)
	spec := csvSpec(dir, "standard", 0.25)
	c, err := LoadData(spec)
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.N != 300 || c.Val.N != 100 || c.Test.N != 100 || c.Test == c.Val {
		t.Fatalf("splits train %d val %d test %d", c.Train.N, c.Val.N, c.Test.N)
	}
	want, _ := data.FitNorm(c.raw.Train, "standard")
	if !c.Norm.Equal(want) {
		t.Fatal("the map is not the raw training split's")
	}
	for name, p := range map[string][2]*data.Dataset{"train": {c.Train, c.raw.Train}, "val": {c.Val, c.raw.Val}, "test": {c.Test, c.raw.Test}} {
		x := slices.Clone(p[1].X)
		want.Apply(x)
		if !slices.Equal(x, p[0].X) {
			t.Errorf("%s split: not the raw split under the training map", name)
		}
	}
	if !slices.Equal(c.Norm.Constant, []int{5}) {
		t.Errorf("constant features %v, want [5]", c.Norm.Constant)
	}
	if got := constantColumns(spec, data.ConstantFeatures(c.Train), c.Train.Dim+1); got != "CSV column 6" {
		t.Errorf("constant columns %q", got)
	}
	// Without a test file the validation split is the test split.
	spec.Data.TestPath = ""
	c, err = LoadData(spec)
	if err != nil {
		t.Fatal(err)
	}
	if c.Test != c.Val || c.Val.N != 100 {
		t.Fatalf("without test_path: test %p val %p", c.Test, c.Val)
	}
}

// A CSV cell that is NaN or infinite fails the load naming the file,
// line and column.
func TestLoadDataNonFinite(t *testing.T) {
	dir := t.TempDir()
	writeBadlyScaledCSV(t, dir, 50, 20, 1)
	b, _ := os.ReadFile(filepath.Join(dir, "train.csv"))
	lines := strings.Split(string(b), "\n")
	for _, bad := range []string{"NaN", "inf", "-Inf"} {
		cells := strings.Split(lines[6], ",")
		cells[3] = bad
		l2 := slices.Clone(lines)
		l2[6] = strings.Join(cells, ",")
		if err := os.WriteFile(filepath.Join(dir, "train.csv"), []byte(strings.Join(l2, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadData(csvSpec(dir, "standard", 0))
		want := filepath.Join(dir, "train.csv") + ": line 7, column 4:"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", bad, err, want)
		}
	}
}

// The manifest draft carries the fitted map; a resumed run whose training
// data now fit another map applies the stored one (restoreNorm), to the
// bit, on every split; an invalid stored map is refused.
func TestResumeUsesStoredNormalization(t *testing.T) {
	dir := t.TempDir()
	writeBadlyScaledCSV(t, dir, 400, 100, 1)
	spec := csvSpec(dir, "standard", 0.1)
	first, err := LoadData(spec)
	if err != nil {
		t.Fatal(err)
	}
	var stored []byte
	groupOn(t, spec, first, 1, func(_ int, tr *Trainer) error {
		m, err := tr.Manifest(0, data.Cursor{})
		stored = m.InputNormalization
		return err
	})
	if n, err := data.ParseNorm(stored, 9); err != nil || !n.Equal(first.Norm) {
		t.Fatalf("the manifest's input_normalization %s: %v", stored, err)
	}

	writeBadlyScaledCSV(t, dir, 400, 100, 7) // the data changed since
	second, err := LoadData(spec)
	if err != nil {
		t.Fatal(err)
	}
	if second.Norm.Equal(first.Norm) {
		t.Fatal("other data fitted the same map")
	}
	g := &generations{corpus: second, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := g.restoreNorm(10, stored); err != nil {
		t.Fatal(err)
	}
	if !second.Norm.Equal(first.Norm) {
		t.Fatal("the stored map is not the one in use")
	}
	for name, p := range map[string][2]*data.Dataset{"train": {second.Train, second.raw.Train}, "val": {second.Val, second.raw.Val}, "test": {second.Test, second.raw.Test}} {
		x := slices.Clone(p[1].X)
		first.Norm.Apply(x)
		if !slices.Equal(x, p[0].X) {
			t.Errorf("%s split: not normalized by the stored map", name)
		}
	}
	if err := g.restoreNorm(10, []byte(`{"kind":"standard","shift":[0],"factor":[1]}`)); err == nil || !strings.Contains(err.Error(), "restore step 10") {
		t.Errorf("a map of 1 feature for 9: %v", err)
	}
	none := &generations{corpus: mnistCorpus(t), log: g.log}
	if err := none.restoreNorm(3, stored); err == nil {
		t.Error("a stored map on a job that normalizes nothing was accepted")
	}
}

// Evaluations during training use the validation split, the last one the
// test split.
func TestValidationDuringTrainingTestAtEnd(t *testing.T) {
	dir := t.TempDir()
	writeBadlyScaledCSV(t, dir, 640, 96, 1)
	spec := csvSpec(dir, "standard", 0.25)
	spec.Train.Epochs = 2
	c, err := LoadData(spec)
	if err != nil {
		t.Fatal(err)
	}
	rep := &evalRecorder{}
	groupOn(t, spec, c, 1, func(_ int, tr *Trainer) error {
		_, err := tr.Run(context.Background(), rep, nil)
		return err
	})
	if len(rep.samples) != 2 || rep.samples[0] != 160 || rep.samples[1] != 96 {
		t.Fatalf("evaluations of %v samples, want [160 96] (validation, then test)", rep.samples)
	}
	if math.IsNaN(rep.acc[1]) {
		t.Fatal("NaN accuracy")
	}
}

type evalRecorder struct {
	samples []int
	acc     []float64
}

func (r *evalRecorder) Progress(Progress) {}
func (r *evalRecorder) Eval(e Eval) {
	r.samples, r.acc = append(r.samples, e.Samples), append(r.acc, e.Accuracy)
}

// Every classifier source takes both keys: the validation split is carved
// from the training set (its seed the job's), the test set stays.
func TestPreprocessingOnEverySource(t *testing.T) {
	for _, tc := range []struct {
		source            string
		train, val, test  int
		normalize         string
		wantConstantFound bool
	}{
		{"synthetic", 1800, 200, 500, "minmax", false},
		{"default", 7200, 800, 2000, "standard", true}, // MNIST's border pixels are constant
	} {
		t.Run(tc.source, func(t *testing.T) {
			s := job.Default()
			s.Data.Source, s.Data.Normalize, s.Data.ValFraction = tc.source, tc.normalize, 0.1
			s.Data.Synthetic.N = 2000
			c, err := LoadData(s)
			if err != nil {
				t.Fatal(err)
			}
			if c.Train.N != tc.train || c.Val.N != tc.val || c.Test.N != tc.test {
				t.Fatalf("train %d val %d test %d, want %d %d %d", c.Train.N, c.Val.N, c.Test.N, tc.train, tc.val, tc.test)
			}
			if c.Norm == nil || c.Norm.Kind != tc.normalize || c.Norm.Dim() != c.Train.Dim || (len(c.Norm.Constant) > 0) != tc.wantConstantFound {
				t.Fatalf("map %+v", c.Norm)
			}
			again, _ := LoadData(s)
			if !again.Norm.Equal(c.Norm) || !slices.Equal(again.Val.Y, c.Val.Y) {
				t.Fatal("a second load carved or fitted differently")
			}
		})
	}
}

// The warning names CSV columns as a spreadsheet counts them, with the
// header's name when there is one.
func TestConstantColumnsNamed(t *testing.T) {
	s := job.Default()
	s.Data = job.Data{Source: "csv", Path: "../docs/examples/sensors-train.csv.gz", CSV: job.CSV{LabelColumn: -1, Header: true}}
	if got := constantColumns(s, []int{7}, 9); got != "CSV column 8 (firmware)" {
		t.Errorf("header file: %q", got)
	}
	s.Data.CSV = job.CSV{LabelColumn: 0}
	if got := constantColumns(s, []int{0, 3}, 9); got != "CSV column 2, 5" {
		t.Errorf("label first, no header: %q", got)
	}
	s.Data.Source = "idx"
	if got := constantColumns(s, []int{0, 27}, 785); got != "feature [0 27]" {
		t.Errorf("idx: %q", got)
	}
	if got := constantColumns(s, nil, 785); got != "" {
		t.Errorf("none: %q", got)
	}
}
