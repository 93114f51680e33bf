package export

import (
	"fmt"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
)

// TrainingRange returns the smallest and largest raw value of the job's
// training inputs, loading them as the workers do: a csv job's training
// file (a relative path is read from the current directory, as launch's
// workers read it), a synthetic job's samples generated again from its
// seed (the first data.synthetic.n of them train). Other sources are an
// error: IDX's range is its format's (FactsOf), text is token ids.
func TrainingRange(spec job.Spec) (lo, hi float64, err error) {
	d := spec.Data
	var train *data.Dataset
	switch d.Source {
	case "csv":
		opt := data.CSVOptions{LabelColumn: d.CSV.LabelColumn, Header: d.CSV.Header, Classes: d.CSV.Classes}
		if train, err = data.LoadCSV(d.Path, opt); err != nil {
			return 0, 0, fmt.Errorf("export: the training inputs' range: %w", err)
		}
	case "synthetic":
		sy := d.Synthetic
		all, err := data.Synthetic(data.SyntheticSpec{N: sy.N + max(1, sy.N/4), Dim: sy.Dim, Classes: sy.Classes, Seed: spec.Seed, Noise: sy.Noise})
		if err != nil {
			return 0, 0, fmt.Errorf("export: the training inputs' range: %w", err)
		}
		train = &data.Dataset{X: all.X[:sy.N*all.Dim]}
	default:
		return 0, 0, fmt.Errorf("export: the training inputs' range of data.source %q is not computed", d.Source)
	}
	if len(train.X) == 0 {
		return 0, 0, fmt.Errorf("export: the training inputs' range: no samples")
	}
	lo, hi = float64(train.X[0]), float64(train.X[0])
	for _, v := range train.X {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	return lo, hi, nil
}
