package model_test

import (
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/model"
)

func TestLayout(t *testing.T) {
	tests := []struct {
		name   string
		spec   model.Spec
		total  int
		tensor map[string][]int // a few expected shapes
	}{
		{
			name:  "mlp 784-512-256-10",
			spec:  model.Spec{Kind: "mlp", Hidden: []int{512, 256}, Input: []int{1, 28, 28}, Classes: 10, Loss: "xent"},
			total: 535818,
			tensor: map[string][]int{
				"fc0.weight": {784, 512}, "fc0.bias": {512}, "fc2.weight": {256, 10}, "fc2.bias": {10},
			},
		},
		{
			name:  "mlp no hidden",
			spec:  model.Spec{Kind: "mlp", Input: []int{4}, Classes: 3, Loss: "mse"},
			total: 15,
			tensor: map[string][]int{
				"fc0.weight": {4, 3}, "fc0.bias": {3},
			},
		},
		{
			name:  "lenet-5 on 1x28x28, default hidden",
			spec:  model.Spec{Kind: "cnn", Input: []int{1, 28, 28}, Classes: 10, Loss: "xent"},
			total: 61706,
			tensor: map[string][]int{
				"conv0.weight": {6, 1, 5, 5}, "conv0.bias": {6}, "conv1.weight": {16, 6, 5, 5}, "conv1.bias": {16},
				"fc0.weight": {400, 120}, "fc1.weight": {120, 84}, "fc2.weight": {84, 10}, "fc2.bias": {10},
			},
		},
		{
			name:  "cnn 3x32x32, hidden 64",
			spec:  model.Spec{Kind: "cnn", Hidden: []int{64}, Input: []int{3, 32, 32}, Classes: 10, Loss: "xent"},
			total: 6*3*25 + 6 + 16*6*25 + 16 + 16*6*6*64 + 64 + 64*10 + 10,
			tensor: map[string][]int{
				"conv0.weight": {6, 3, 5, 5}, "fc0.weight": {576, 64}, "fc1.weight": {64, 10},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			layout, total, err := model.Layout(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if total != tc.total {
				t.Errorf("total = %d, want %d", total, tc.total)
			}
			off := 0
			seen := map[string]bool{}
			for _, ts := range layout {
				if ts.Offset != off {
					t.Errorf("%s at offset %d, want %d (contiguous)", ts.Name, ts.Offset, off)
				}
				if seen[ts.Name] {
					t.Errorf("duplicate name %s", ts.Name)
				}
				seen[ts.Name] = true
				off += ts.Size()
			}
			if off != total {
				t.Errorf("tensors cover %d values, total %d", off, total)
			}
			for name, shape := range tc.tensor {
				i := slices.IndexFunc(layout, func(ts model.Tensor) bool { return ts.Name == name })
				if i < 0 {
					t.Errorf("no tensor %s", name)
				} else if !slices.Equal(layout[i].Shape, shape) {
					t.Errorf("%s shape %v, want %v", name, layout[i].Shape, shape)
				}
			}
		})
	}
}

// TestModelLayoutMatches checks that New's buffers and Layout agree with
// the pure Layout function and are copies the caller cannot corrupt.
func TestModelLayoutMatches(t *testing.T) {
	for _, spec := range []model.Spec{tinyMLP, tinyCNN} {
		layout, total, err := model.Layout(spec)
		if err != nil {
			t.Fatal(err)
		}
		m := newModel(t, spec, 2, 1)
		if len(m.Params()) != total || len(m.Grads()) != total {
			t.Fatalf("%s: len(Params) %d, len(Grads) %d, Layout total %d", spec.Kind, len(m.Params()), len(m.Grads()), total)
		}
		got := m.Layout()
		if len(got) != len(layout) {
			t.Fatalf("%s: Model.Layout has %d tensors, Layout %d", spec.Kind, len(got), len(layout))
		}
		for i := range got {
			if got[i].Name != layout[i].Name || got[i].Offset != layout[i].Offset || !slices.Equal(got[i].Shape, layout[i].Shape) {
				t.Fatalf("%s: tensor %d: %+v vs %+v", spec.Kind, i, got[i], layout[i])
			}
		}
		got[0].Shape[0] = -1
		if m.Layout()[0].Shape[0] == -1 {
			t.Fatalf("%s: Model.Layout returns the model's own shape slices", spec.Kind)
		}
		s := m.Spec()
		s.Input[0] = 99
		if m.Spec().Input[0] == 99 || m.Batch() != 2 {
			t.Fatalf("%s: Spec() exposes internal slices or Batch wrong", spec.Kind)
		}
	}
}

func TestInitParams(t *testing.T) {
	for _, spec := range []model.Spec{
		tinyMLP,
		tinyCNN,
		{Kind: "mlp", Hidden: []int{512, 256}, Input: []int{784}, Classes: 10, Loss: "xent"},
	} {
		t.Run(spec.Kind, func(t *testing.T) {
			layout, total, err := model.Layout(spec)
			if err != nil {
				t.Fatal(err)
			}
			a, b, c := make([]float32, total), make([]float32, total), make([]float32, total)
			for i := range b {
				b[i] = 42 // InitParams must overwrite everything, biases included
			}
			for _, dst := range [][]float32{a, b} {
				if err := model.InitParams(spec, dst, 7); err != nil {
					t.Fatal(err)
				}
			}
			if err := model.InitParams(spec, c, 8); err != nil {
				t.Fatal(err)
			}
			if !testutil.BitsEqual(a, b) {
				t.Fatal("same seed gave different bits")
			}
			for i, ts := range layout {
				vals := a[ts.Offset : ts.Offset+ts.Size()]
				if strings.HasSuffix(ts.Name, ".bias") {
					if !allZero(vals) {
						t.Errorf("%s not zero", ts.Name)
					}
					continue
				}
				if testutil.BitsEqual(vals, c[ts.Offset:ts.Offset+ts.Size()]) {
					t.Errorf("%s: seeds 7 and 8 gave the same values", ts.Name)
				}
				fanIn := ts.Shape[0]
				if len(ts.Shape) == 4 {
					fanIn = ts.Shape[1] * ts.Shape[2] * ts.Shape[3]
				}
				gain := 6.0
				if i == len(layout)-2 {
					gain = 3.0
				}
				bound := math.Sqrt(gain / float64(fanIn))
				var sum, sq float64
				for _, v := range vals {
					if math.Abs(float64(v)) > bound*(1+1e-6) {
						t.Fatalf("%s: %v outside ±%v", ts.Name, v, bound)
					}
					sum += float64(v)
					sq += float64(v) * float64(v)
				}
				n := float64(len(vals))
				if n >= 1000 {
					// Uniform(-b, b): mean 0, std b/√3.
					if mean, std := sum/n, math.Sqrt(sq/n); math.Abs(mean) > 0.05*bound || math.Abs(std/(bound/math.Sqrt(3))-1) > 0.05 {
						t.Errorf("%s: mean %v std %v, want 0 and %v", ts.Name, mean, std, bound/math.Sqrt(3))
					}
				}
			}
		})
	}
}

// TestInitParamsGolden pins the exact bits of InitParams, so a change of
// the generator (which would silently change every experiment) fails.
func TestInitParamsGolden(t *testing.T) {
	_, total, err := model.Layout(tinyCNN)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float32, total)
	if err := model.InitParams(tinyCNN, p, 2024); err != nil {
		t.Fatal(err)
	}
	h := fnv.New64a()
	for _, v := range p {
		b := math.Float32bits(v)
		h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24)})
	}
	const want = uint64(0x7d2b34d7a67140a7) // first values cross-checked with an independent Python splitmix64
	if got := h.Sum64(); got != want {
		t.Errorf("InitParams(tinyCNN, seed 2024) hash = %#x, want %#x; first values %v", got, want, p[:3])
	}
}
