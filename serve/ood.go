package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// The out-of-distribution score of one instance (README "Serving a model"
// documents it):
//
//	score = d + OODConfidenceWeight * (1 - p)
//
// where p is the prediction's largest softmax probability and d is how far
// the instance's own statistics are from the training inputs': with m and s
// the mean and standard deviation of the instance's raw values, and the
// training inputs' per-sample means and standard deviations having means
// Mean.Mean, Std.Mean and standard deviations Mean.Std, Std.Std,
//
//	d = sqrt(((m - Mean.Mean)/Mean.Std)² + ((s - Std.Mean)/Std.Std)²)
//
// An instance is out of distribution when its score is over the model's
// threshold: the OODQuantile quantile of the training samples' scores with
// the same model (so about 1 in 1000 training samples is over it).
const (
	// OODConfidenceWeight weighs low confidence against the input
	// distance: a prediction of probability 0.5 adds 2 standard
	// deviations.
	OODConfidenceWeight = 4.0
	// OODQuantile is the quantile of the training samples' scores taken
	// as the threshold.
	OODQuantile = 0.999
)

// Metadata keys of the score (export/meta.go has the same).
const (
	metaInputStats   = "input_stats"
	metaOODThreshold = "ood_threshold"
)

// Moments are a mean and a standard deviation.
type Moments struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// InputStats describe the training inputs for the score: the distribution
// over the training samples of each sample's mean (Mean) and standard
// deviation (Std) of its raw values. It is the input_stats metadata.
type InputStats struct {
	Mean    Moments `json:"mean"`
	Std     Moments `json:"std"`
	Samples int     `json:"samples"`
}

// FitInputStats computes the statistics of x, rows of dim raw values.
func FitInputStats(x []float32, dim int) (InputStats, error) {
	if dim < 1 || len(x) == 0 || len(x)%dim != 0 {
		return InputStats{}, fmt.Errorf("serve: input statistics of %d values in rows of %d: want whole rows, at least one", len(x), dim)
	}
	n := len(x) / dim
	means, stds := make([]float64, n), make([]float64, n)
	for i := range n {
		means[i], stds[i] = instanceMoments(x[i*dim : (i+1)*dim])
	}
	return InputStats{Mean: moments(means), Std: moments(stds), Samples: n}, nil
}

// instanceMoments are the mean and (population) standard deviation of row.
func instanceMoments(row []float32) (mean, std float64) {
	for _, v := range row {
		mean += float64(v)
	}
	mean /= float64(len(row))
	for _, v := range row {
		d := float64(v) - mean
		std += d * d
	}
	return mean, math.Sqrt(std / float64(len(row)))
}

func moments(v []float64) Moments {
	var m Moments
	for _, x := range v {
		m.Mean += x
	}
	m.Mean /= float64(len(v))
	for _, x := range v {
		m.Std += (x - m.Mean) * (x - m.Mean)
	}
	m.Std = math.Sqrt(m.Std / float64(len(v)))
	return m
}

// z is (v - m.Mean) / m.Std, with the deviation kept away from 0 (training
// data whose statistic does not vary).
func (m Moments) z(v float64) float64 {
	sd := max(m.Std, 1e-6*(1+math.Abs(m.Mean)))
	return (v - m.Mean) / sd
}

// Distance is d of an instance's raw values.
func (st InputStats) Distance(row []float32) float64 {
	m, s := instanceMoments(row)
	return math.Hypot(st.Mean.z(m), st.Std.z(s))
}

// Score is the out-of-distribution score of an instance's raw values and
// its predicted probabilities.
func (st InputStats) Score(row, probs []float32) float64 {
	return st.Distance(row) + OODConfidenceWeight*(1-float64(slices.Max(probs)))
}

func (st InputStats) validate() error {
	for _, v := range []float64{st.Mean.Mean, st.Mean.Std, st.Std.Mean, st.Std.Std} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("a statistic is %v", v)
		}
	}
	if st.Mean.Std < 0 || st.Std.Std < 0 || st.Std.Mean < 0 || st.Samples < 1 {
		return fmt.Errorf("negative deviations or no samples")
	}
	return nil
}

// CalibrateOOD returns the threshold of the score for p: the OODQuantile
// quantile (nearest rank) of the scores of x, rows of raw training inputs.
func CalibrateOOD(p *Predictor, st InputStats, x []float32) (float64, error) {
	dim, c := p.info.InputSize(), p.info.Classes()
	if len(x) == 0 || len(x)%dim != 0 {
		return 0, fmt.Errorf("serve: calibrating the out-of-distribution score: %d values, want rows of %d", len(x), dim)
	}
	n := len(x) / dim
	scores := make([]float64, 0, n)
	const chunk = 256
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		_, probs, err := p.Predict(x[lo*dim : hi*dim])
		if err != nil {
			return 0, fmt.Errorf("serve: calibrating the out-of-distribution score: %w", err)
		}
		for i := range hi - lo {
			scores = append(scores, st.Score(x[(lo+i)*dim:(lo+i+1)*dim], probs[i*c:(i+1)*c]))
		}
	}
	slices.Sort(scores)
	k := int(math.Ceil(OODQuantile*float64(n))) - 1
	return scores[max(k, 0)], nil
}

// oodScorer scores the instances answered by one model version.
type oodScorer struct {
	stats     InputStats
	threshold float64
	version   int64
}

// scorerFor is the scorer of snap's model p: its metadata's input_stats
// and ood_threshold, or what Options.OODSamples give for those missing
// (calibrated with p before p serves). Nil (and a log line) when neither
// says; malformed metadata is an error.
func (s *Server) scorerFor(snap *Snapshot, p *Predictor) (*oodScorer, error) {
	sc := &oodScorer{version: snap.Step}
	from := "the model's metadata"
	if v, ok := snap.Meta[metaInputStats]; ok {
		if err := json.Unmarshal([]byte(v), &sc.stats); err != nil {
			return nil, fmt.Errorf("serve: metadata %s: %w", metaInputStats, err)
		}
		if err := sc.stats.validate(); err != nil {
			return nil, fmt.Errorf("serve: metadata %s %s: %w", metaInputStats, v, err)
		}
	} else if s.opts.OODSamples != nil {
		st, err := FitInputStats(s.opts.OODSamples, p.info.InputSize())
		if err != nil {
			return nil, err
		}
		sc.stats = st
		from = "the training data"
	} else {
		s.opts.Log.Info("no out-of-distribution score: the model has no input_stats metadata (export it from its run directory, or serve the run directory)", "step", snap.Step)
		return nil, nil
	}
	if v, ok := snap.Meta[metaOODThreshold]; ok {
		t, err := strconv.ParseFloat(v, 64)
		if err != nil || !(t > 0) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("serve: metadata %s %q: want a finite number > 0", metaOODThreshold, v)
		}
		sc.threshold = t
	} else if s.opts.OODSamples != nil {
		t, err := CalibrateOOD(p, sc.stats, s.opts.OODSamples)
		if err != nil {
			return nil, err
		}
		sc.threshold = t
		from = "the training data"
	} else {
		s.opts.Log.Info("no out-of-distribution score: the model has input_stats but no ood_threshold", "step", snap.Step)
		return nil, nil
	}
	s.opts.Log.Info("out-of-distribution score", "step", snap.Step, "threshold", sc.threshold, "from", from, "training_samples", sc.stats.Samples)
	return sc, nil
}

// scoreOOD scores the n instances x of a request answered by res, counting
// and logging the request as abnormal (out_of_distribution) when one is
// over the threshold. It returns the scores and the threshold; nil scores
// when the version that answered has no scorer.
func (s *Server) scoreOOD(x []float32, res result, n int) ([]float64, float64) {
	sc := s.ood.Load()
	if sc == nil || sc.version != res.version || n == 0 {
		return nil, 0
	}
	dim, c := len(x)/n, len(res.probs)/n
	scores := make([]float64, n)
	over, worst := 0, 0.0
	for i := range n {
		scores[i] = sc.stats.Score(x[i*dim:(i+1)*dim], res.probs[i*c:(i+1)*c])
		if scores[i] > sc.threshold {
			over++
			worst = max(worst, scores[i])
		}
	}
	if over > 0 {
		s.ab.record(AbnormalOOD, fmt.Sprintf("%d of %d instances score over the threshold %.3g (highest %.3g)", over, n, sc.threshold, worst))
	}
	return scores, sc.threshold
}
