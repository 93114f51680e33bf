package job

import "testing"

// A job without name: is named after its data and model, not after the
// built-in job whatever it trains; a name it sets is kept.
func TestNameDefaultsToDataAndModel(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"", "mnist-mlp"},
		{"model: {kind: cnn}", "mnist-cnn"},
		{"data: {source: synthetic}", "synthetic-mlp"},
		{"data: {source: csv, path: train.csv, test_path: test.csv}\nmodel: {kind: mlp}", "csv-mlp"},
		{"data: {source: idx, path: /data/fashion}\nmodel: {kind: cnn}", "idx-cnn"},
		{"name: exp1\nmodel: {kind: cnn}", "exp1"},
		{"name: ''\ndata: {source: synthetic}", "synthetic-mlp"},
	} {
		s, err := Parse([]byte(tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if s.Name != tc.want {
			t.Errorf("%q: name %q, want %q", tc.yaml, s.Name, tc.want)
		}
	}
	if d := Default(); d.Name != DefaultName(d) {
		t.Errorf("the built-in job is called %q, DefaultName says %q", d.Name, DefaultName(d))
	}
}
