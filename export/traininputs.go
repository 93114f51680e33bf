package export

import (
	"fmt"
	"math"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
)

// TrainingInputs returns at most maxN of the job's training inputs (all
// with maxN <= 0), evenly spaced over the training set, as the raw values a
// client sends (IDX and the embedded MNIST: pixels 0..255, before the
// input_scale of FactsOf), in rows of dim values. They are what the
// out-of-distribution statistics and threshold are computed from. A csv
// job's relative path is read from the current directory; text sources
// are an error (language models are not scored).
func TrainingInputs(spec job.Spec, maxN int) (x []float32, dim int, err error) {
	d := spec.Data
	var train *data.Dataset
	scale := 1.0
	switch d.Source {
	case "shards":
		return shardTrainingInputs(spec, maxN)
	case "", "default":
		train, _, err = data.Default()
		scale = idxScale
	case "idx":
		train, _, err = data.LoadIDXDir(d.Path)
		scale = idxScale
	case "csv":
		train, err = data.LoadCSV(d.Path, data.CSVOptions{LabelColumn: d.CSV.LabelColumn, Header: d.CSV.Header, Classes: d.CSV.Classes})
	case "synthetic":
		sy := d.Synthetic
		var all *data.Dataset
		all, err = data.Synthetic(data.SyntheticSpec{N: sy.N + max(1, sy.N/4), Dim: sy.Dim, Classes: sy.Classes, Seed: spec.Seed, Noise: sy.Noise})
		if err == nil {
			train = &data.Dataset{X: all.X[:sy.N*all.Dim], N: sy.N, Dim: all.Dim}
		}
	default:
		return nil, 0, fmt.Errorf("export: the training inputs of data.source %q are not classifier inputs", d.Source)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("export: the training inputs: %w", err)
	}
	if train.N < 1 || train.Dim < 1 {
		return nil, 0, fmt.Errorf("export: the training inputs: no samples")
	}
	n := train.N
	if maxN > 0 {
		n = min(n, maxN)
	}
	x = make([]float32, 0, n*train.Dim)
	for i := range n {
		j := i * train.N / n // evenly spaced
		row := train.X[j*train.Dim : (j+1)*train.Dim]
		if scale == 1 {
			x = append(x, row...)
			continue
		}
		for _, v := range row {
			x = append(x, float32(math.Round(float64(v)/scale))) // bytes again
		}
	}
	return x, train.Dim, nil
}
