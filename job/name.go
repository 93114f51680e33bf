package job

// DefaultName is the name of a job whose spec sets none: its data source
// and model kind, "mnist-mlp" for the built-in job ("default", the
// embedded MNIST-10k, is called mnist), else e.g. "csv-mlp", "idx-cnn",
// "synthetic-mlp". A name labels the run in logs, status and summary.json.
func DefaultName(s Spec) string {
	src := s.Data.Source
	if src == "default" || src == "" {
		src = "mnist"
	}
	return src + "-" + s.Model.Kind
}
