package worker

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
)

// preprocess applies the job's data.val_fraction and data.normalize to a
// classifier corpus just loaded: the validation split is carved from the
// training set first, then the normalization is fitted on what remains
// (the training split only) and applied to every split. The raw splits are
// kept (only when normalizing) so that a resumed run can apply the
// checkpoint's stored map instead (UseNorm).
func preprocess(s job.Spec, c *Corpus) error {
	if c.Train == nil {
		return nil
	}
	if f := s.Data.ValFraction; f > 0 {
		train, val, err := data.SplitValidation(c.Train, f, s.Seed)
		if err != nil {
			return fmt.Errorf("data.val_fraction: %w", err)
		}
		c.Train, c.Val = train, val
		if c.Test == nil {
			c.Test = val
		}
	}
	norm, err := data.FitNorm(c.Train, s.Data.Normalize)
	if err != nil {
		return fmt.Errorf("data.normalize: %w", err)
	}
	if norm == nil {
		return nil
	}
	c.raw = &Corpus{Train: c.Train, Val: c.Val, Test: c.Test}
	c.apply(norm)
	return nil
}

// apply sets c's splits to the raw ones normalized by n, sharing what the
// raw splits share (a validation split that is also the test split).
func (c *Corpus) apply(n *data.Norm) {
	r := c.raw
	c.Norm = n
	c.Train = n.ApplyTo(r.Train)
	c.Val = n.ApplyTo(r.Val)
	c.Test = n.ApplyTo(r.Test)
	if r.Test == r.Val {
		c.Test = c.Val
	}
}

// UseNorm makes c apply stored (a checkpoint's map) instead of the one it
// fitted, rewriting the splits' features in place (a trainer holds them);
// the same map, or none stored, changes nothing. It must not run while a
// trainer reads the corpus.
func (c *Corpus) UseNorm(stored *data.Norm) (changed bool, err error) {
	if stored == nil || stored.Equal(c.Norm) {
		return false, nil
	}
	if c.raw == nil || c.Train == nil {
		return false, fmt.Errorf("the checkpoint's input normalization is %s, but this job (data.normalize: none) normalizes nothing", stored.Kind)
	}
	if err := stored.Validate(c.Train.Dim); err != nil {
		return false, fmt.Errorf("the checkpoint's input normalization: %w", err)
	}
	r := c.raw
	for _, p := range [][2]*data.Dataset{{c.Train, r.Train}, {c.Val, r.Val}, {c.Test, r.Test}} {
		if p[0] == nil || (p[0] == c.Val && p[0] == c.Test && p[1] == r.Test) {
			continue // nothing, or the test split that is the validation split (done once)
		}
		copy(p[0].X, p[1].X)
		stored.Apply(p[0].X)
	}
	c.Norm = stored
	return true, nil
}

// constantColumns describes the features constant on the training
// split as the job's data names them: for csv the CSV columns (1-based, as
// a spreadsheet counts them, the label column skipped) with their header
// names when the file has a header, else 0-based feature indices. "" when
// there are none.
func constantColumns(s job.Spec, constant []int, cols int) string {
	if len(constant) == 0 {
		return ""
	}
	var b strings.Builder
	if s.Data.Source == "csv" {
		label := s.Data.CSV.LabelColumn
		if label < 0 {
			label = cols // the last column: after every feature
		}
		var names []string
		if s.Data.CSV.Header {
			names, _ = data.CSVHeader(s.Data.Path) // names are a courtesy: the numbers say it all
		}
		b.WriteString("CSV column")
		for i, f := range constant {
			c := f + 1
			if f >= label {
				c++
			}
			sep := ", "
			if i == 0 {
				sep = " "
			}
			fmt.Fprintf(&b, "%s%d", sep, c)
			if c-1 < len(names) && names[c-1] != "" {
				fmt.Fprintf(&b, " (%s)", names[c-1])
			}
		}
		return b.String()
	}
	fmt.Fprintf(&b, "feature %v", constant)
	return b.String()
}

// logPreprocessing logs what preprocess did: the splits' sizes, and a
// warning naming the constant columns.
func logPreprocessing(log *slog.Logger, s job.Spec, c *Corpus) {
	if c.Train == nil {
		return
	}
	if c.Val != nil {
		log.Info("validation split", "val_fraction", s.Data.ValFraction, "train", c.Train.N, "validation", c.Val.N, "test", c.Test.N)
	}
	if c.Norm != nil {
		log.Info("input normalization fitted on the training split", "kind", c.Norm.Kind, "features", c.Norm.Dim())
	}
	if s.Data.Source != "csv" && c.Norm == nil {
		return // image borders are constant by nature: worth a word only for tables, or when normalizing
	}
	if cols := constantColumns(s, data.ConstantFeatures(c.Train), c.Train.Dim+1); cols != "" {
		log.Warn("constant features on the training split: they carry no information (standard and minmax normalization leave them at 0)",
			"columns", cols, "file", s.Data.Path, "normalize", s.Data.Normalize)
	}
}
