package model

import (
	"slices"
	"testing"
)

func TestPlanBuckets(t *testing.T) {
	mlp := Spec{Kind: KindMLP, Hidden: []int{512, 256}, Input: []int{784}, Classes: 10, Loss: LossXent}
	cnn := Spec{Kind: KindCNN, Input: []int{1, 28, 28}, Classes: 10, Loss: LossXent}
	fc := func(t Tensor) bool { return len(t.Shape) == 2 }
	for _, tc := range []struct {
		name      string
		spec      Spec
		maxFloats int
		want      []int
	}{
		{"one bucket", mlp, 0, []int{0, 535818}},
		{"larger than the model", mlp, 1 << 20, []int{0, 535818}},
		// fc2, fc1 and fc0.b together; fc0.w (784 rows of 512) in 512 rows
		// from its end and the short piece of 272 rows at its start.
		{"1 MiB", mlp, 262144, []int{0, 139264, 401408, 535818}},
		{"rows larger than a bucket", mlp, 100, nil}, // checked by the properties below
		{"cnn 1 MiB", cnn, 262144, []int{0, 61706}},
		// The conv weights may not be split; fc0.w (400 rows of 120) is.
		{"cnn small", cnn, 5000, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layout, total, err := Layout(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := planBuckets(layout, fc, tc.maxFloats)
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if got[0] != 0 || got[len(got)-1] != total || !slices.IsSorted(got) {
				t.Fatalf("%v is not a partition of [0, %d)", got, total)
			}
			// Every bucket fits, unless it is one unsplittable tensor or one row.
			for i := 1; i < len(got); i++ {
				lo, hi := got[i-1], got[i]
				if lo == hi {
					t.Fatalf("empty bucket in %v", got)
				}
				if tc.maxFloats <= 0 || hi-lo <= tc.maxFloats {
					continue
				}
				ok := false
				for _, tn := range layout {
					end := tn.Offset + tn.Size()
					row := tn.Size() / tn.Shape[0]
					if lo >= tn.Offset && hi <= end && (!fc(tn) || hi-lo == row) {
						ok = true
					}
				}
				if !ok {
					t.Fatalf("bucket [%d, %d) of %d values > %d", lo, hi, hi-lo, tc.maxFloats)
				}
			}
		})
	}
}
