package export

import (
	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
)

// shardFacts are the facts a shard directory's manifest records: its
// input_scale, the raw training values' range and the class names. The
// manifest is read at data.path (relative: from the current directory);
// ok is false when it cannot be (the facts stay unknown).
func shardFacts(spec job.Spec) (f DataFacts, ok bool) {
	m, err := data.ReadManifest(spec.Data.Path)
	if err != nil {
		return DataFacts{}, false
	}
	lo, hi := m.InputMin, m.InputMax
	f = DataFacts{Scale: m.InputScale, Min: &lo, Max: &hi}
	if len(m.ClassNames) > 0 {
		f.ClassNames = append([]string(nil), m.ClassNames...)
	}
	return f, true
}

// shardTrainingInputs are TrainingInputs of a shards job: raw values.
func shardTrainingInputs(spec job.Spec, maxN int) ([]float32, int, error) {
	m, err := data.ReadManifest(spec.Data.Path)
	if err != nil {
		return nil, 0, err
	}
	x, err := data.ShardInputs(spec.Data.Path, m, maxN)
	if err != nil {
		return nil, 0, err
	}
	return x, m.Dim(), nil
}
