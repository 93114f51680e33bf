package job

import "slices"

// normalizeKinds are data.normalize's values (data.NormKinds; job does
// not import data).
var normalizeKinds = []string{"none", "standard", "minmax", "scale"}

// validatePreprocessing checks data.normalize and data.val_fraction: both
// are for classifier data, not for a language model's text.
func (s Spec) validatePreprocessing(bad func(key, format string, args ...any)) {
	d := s.Data
	if !slices.Contains(normalizeKinds, d.Normalize) {
		bad("data.normalize", "%q is not one of %q", d.Normalize, normalizeKinds)
	} else if d.Normalize != "none" && (s.Model.Sequence() || d.Source == "text" || d.Source == "shakespeare") {
		bad("data.normalize", "%s: a language model's inputs are token ids; normalize is for classifier features (none here)", d.Normalize)
	} else if d.Normalize != "none" && d.Source == "shards" {
		bad("data.normalize", "%s: not available for data.source shards yet (the statistics need a pass over the streamed data): normalize before data pack, or use none", d.Normalize)
	}
	if d.ValFraction != 0 && !(d.ValFraction > 0 && d.ValFraction <= 0.5) {
		bad("data.val_fraction", "must be 0 (off) or in (0, 0.5], got %g", d.ValFraction)
	} else if d.ValFraction != 0 && (s.Model.Sequence() || d.Source == "text" || d.Source == "shakespeare") {
		bad("data.val_fraction", "a text's last 10%% already validates; val_fraction is for classifier data")
	} else if d.ValFraction != 0 && d.Source == "shards" {
		bad("data.val_fraction", "not available for data.source shards: the shard directory's test split is evaluated")
	}
}
