package export_test

import (
	"slices"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/job"
)

// TestTrainingInputs: a csv job's training rows without the label; at
// most maxN rows evenly spaced; the embedded MNIST as raw pixels 0..255;
// text is an error.
func TestTrainingInputs(t *testing.T) {
	dir := t.TempDir()
	train := writeFile(t, dir, "train.csv", []byte("0.5,-2,1\n3.25,0,0\n1,1,1\n4,5,0\n"))
	var spec job.Spec
	spec.Data.Source, spec.Data.Path, spec.Data.CSV.LabelColumn = "csv", train, -1
	x, dim, err := export.TrainingInputs(spec, 0)
	if err != nil || dim != 2 || !slices.Equal(x, []float32{0.5, -2, 3.25, 0, 1, 1, 4, 5}) {
		t.Errorf("csv: %v, %d, %v", x, dim, err)
	}
	x, _, err = export.TrainingInputs(spec, 2) // rows 0 and 2
	if err != nil || !slices.Equal(x, []float32{0.5, -2, 1, 1}) {
		t.Errorf("csv, 2 rows: %v, %v; want rows 0 and 2", x, err)
	}

	spec = job.Default()
	x, dim, err = export.TrainingInputs(spec, 100)
	if err != nil || dim != 784 || len(x) != 100*784 {
		t.Fatalf("default: %d values of dim %d, %v", len(x), dim, err)
	}
	mnist, _, err := data.Default()
	if err != nil {
		t.Fatal(err)
	}
	step := mnist.N / 100
	for i, v := range x {
		row, col := i/784, i%784
		if want := mnist.X[row*step*784+col] * 255; v != float32(int(want+0.5)) || v < 0 || v > 255 {
			t.Fatalf("default: value %d is %v, want the pixel %v", i, v, want)
		}
	}

	spec.Data.Source = "shakespeare"
	if _, _, err := export.TrainingInputs(spec, 10); err == nil {
		t.Error("text: no error")
	}
}
