package export_test

import (
	"testing"

	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
)

func TestFactsOf(t *testing.T) {
	tests := []struct {
		source, kind string
		want         map[string]string // the keys AddFacts writes; absent: not written
	}{
		{"default", "mlp", map[string]string{"input_scale": "0.00392156862745098", "input_min": "0", "input_max": "255", "class_names": `["0","1","2"]`}},
		{"idx", "cnn", map[string]string{"input_scale": "0.00392156862745098", "input_min": "0", "input_max": "255", "class_names": `["0","1","2"]`}},
		{"csv", "mlp", map[string]string{"input_scale": "1", "class_names": `["0","1","2"]`}},
		{"synthetic", "mlp", map[string]string{"input_scale": "1", "class_names": `["0","1","2"]`}},
		{"text", "lstm", map[string]string{}},
	}
	for _, tc := range tests {
		var spec job.Spec
		spec.Data.Source, spec.Model.Kind = tc.source, tc.kind
		meta := map[string]string{}
		if err := export.AddFacts(meta, export.FactsOf(spec, 3)); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"input_scale", "input_min", "input_max", "class_names"} {
			if meta[k] != tc.want[k] {
				t.Errorf("%s %s: %s = %q, want %q", tc.source, tc.kind, k, meta[k], tc.want[k])
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		spec   model.Spec
		layers string
	}{
		{testSpecs[0].spec, `[{"name":"fc0","op":"linear","in":36,"out":12,"activation":"relu"},{"name":"fc1","op":"linear","in":12,"out":8,"activation":"relu"},{"name":"fc2","op":"linear","in":8,"out":5,"activation":"none"}]`},
		{testSpecs[2].spec, `[{"name":"conv0","op":"conv2d","in":1,"out":6,"kernel":5,"pad":2,"activation":"relu","pool":"max2x2"},{"name":"conv1","op":"conv2d","in":6,"out":16,"kernel":5,"activation":"relu","pool":"max2x2"},{"name":"fc0","op":"linear","in":16,"out":20,"activation":"relu"},{"name":"fc1","op":"linear","in":20,"out":4,"activation":"none"}]`},
		{model.Spec{Kind: model.KindGRU, Input: []int{8}, Classes: 5, Embed: 4, Hidden: []int{6}, Loss: model.LossXent},
			`[{"name":"embed","op":"params"},{"name":"gru0","op":"params"},{"name":"head","op":"params"}]`},
	}
	for _, tc := range tests {
		meta := map[string]string{}
		if err := export.Describe(meta, tc.spec); err != nil {
			t.Fatal(err)
		}
		if meta["layers"] != tc.layers || meta["architecture"] != tc.spec.Kind {
			t.Errorf("%s: architecture %q, layers %s\nwant %s", tc.spec.Kind, meta["architecture"], meta["layers"], tc.layers)
		}
	}
}

// TestTrainingRange: a csv job's range is its training file's (not the
// test file's, not the label column), a synthetic job's that of the
// samples that train; other sources are errors.
func TestTrainingRange(t *testing.T) {
	dir := t.TempDir()
	train := writeFile(t, dir, "train.csv", []byte("0.5,-2,1\n3.25,0,0\n1,1,7\n"))
	test := writeFile(t, dir, "test.csv", []byte("100,-100,1\n"))
	var spec job.Spec
	spec.Data.Source, spec.Data.Path, spec.Data.TestPath, spec.Data.CSV.LabelColumn = "csv", train, test, -1
	lo, hi, err := export.TrainingRange(spec)
	if err != nil || lo != -2 || hi != 3.25 {
		t.Errorf("csv: %v, %v, %v; want -2, 3.25", lo, hi, err)
	}

	spec = job.Default()
	spec.Data.Source, spec.Seed = "synthetic", 3
	spec.Data.Synthetic.N, spec.Data.Synthetic.Dim = 40, 3
	lo, hi, err = export.TrainingRange(spec)
	if err != nil || !(lo < hi) {
		t.Fatalf("synthetic: %v, %v, %v", lo, hi, err)
	}
	spec.Data.Synthetic.N = 400 // more samples from the same stream: a range at least as wide
	lo2, hi2, err := export.TrainingRange(spec)
	if err != nil || lo2 > lo || hi2 < hi {
		t.Errorf("synthetic of 400: [%v, %v], of 40: [%v, %v]", lo2, hi2, lo, hi)
	}

	spec.Data.Source = "default"
	if _, _, err := export.TrainingRange(spec); err == nil {
		t.Error("default data: no error")
	}
}
