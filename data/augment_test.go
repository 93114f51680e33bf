package data

import (
	"slices"
	"testing"
)

// refAugment is Apply the dumb way: pad with p zeros into a canvas, cut the
// H x W window at (dy, dx), then reverse each row if flip.
func refAugment(x []float32, c, h, w, p, dy, dx int, flip bool) []float32 {
	H, W := h+2*p, w+2*p
	canvas := make([]float32, c*H*W)
	for ch := range c {
		for y := range h {
			copy(canvas[(ch*H+y+p)*W+p:], x[(ch*h+y)*w:(ch*h+y+1)*w])
		}
	}
	out := make([]float32, c*h*w)
	for ch := range c {
		for y := range h {
			row := out[(ch*h+y)*w : (ch*h+y+1)*w]
			copy(row, canvas[(ch*H+y+dy)*W+dx:])
			if flip {
				slices.Reverse(row)
			}
		}
	}
	return out
}

func TestAugmentAgainstReference(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		a     Augment
	}{
		{[]int{1, 28, 28}, Augment{CropPadding: 4, Flip: true}},
		{[]int{3, 5, 7}, Augment{CropPadding: 2}},
		{[]int{2, 6, 4}, Augment{Flip: true}},
		{[]int{1, 3, 3}, Augment{CropPadding: 5, Flip: true}}, // padding beyond the image
	} {
		c, h, w := tc.shape[0], tc.shape[1], tc.shape[2]
		x := make([]float32, c*h*w)
		for i := range x {
			x[i] = float32(i + 1)
		}
		var scratch []float32
		flips := 0
		for index := range 200 {
			got := slices.Clone(x)
			scratch = tc.a.Apply(got, tc.shape, 7, 3, index, scratch)
			dy, dx, flip := tc.a.draw(7, 3, index)
			if dy < 0 || dy > 2*tc.a.CropPadding || dx < 0 || dx > 2*tc.a.CropPadding || (flip && !tc.a.Flip) {
				t.Fatalf("%+v: draw %d %d %v", tc.a, dy, dx, flip)
			}
			if flip {
				flips++
			}
			if want := refAugment(x, c, h, w, tc.a.CropPadding, dy, dx, flip); !slices.Equal(got, want) {
				t.Fatalf("%+v index %d (dy %d dx %d flip %v):\n got %v\nwant %v", tc.a, index, dy, dx, flip, got, want)
			}
			again := slices.Clone(x)
			tc.a.Apply(again, tc.shape, 7, 3, index, nil)
			if !slices.Equal(got, again) {
				t.Fatalf("%+v index %d: not deterministic", tc.a, index)
			}
		}
		if tc.a.Flip && (flips < 70 || flips > 130) {
			t.Errorf("%+v: %d flips in 200", tc.a, flips)
		}
	}
}

// The draws depend on the seed, the epoch and the index, and on nothing
// else.
func TestAugmentDraws(t *testing.T) {
	a := Augment{CropPadding: 4, Flip: true}
	type d struct {
		dy, dx int
		flip   bool
	}
	at := func(seed uint64, epoch, index int) d {
		dy, dx, f := a.draw(seed, epoch, index)
		return d{dy, dx, f}
	}
	seen := map[d]bool{}
	for i := range 3000 {
		seen[at(1, 0, i)] = true
	}
	if len(seen) != 9*9*2 {
		t.Errorf("%d distinct draws of 162 in 3000 samples", len(seen))
	}
	differ := 0
	for i := range 100 {
		if at(1, 0, i) != at(1, 1, i) || at(1, 0, i) != at(2, 0, i) {
			differ++
		}
	}
	if differ < 90 {
		t.Errorf("only %d of 100 samples draw differently in another epoch or with another seed", differ)
	}
	if (Augment{}).Enabled() || (Augment{}).Check([]int{784}) != nil || a.Check([]int{784}) == nil || a.Check([]int{1, 28, 28}) != nil {
		t.Error("Enabled or Check")
	}
}

// BenchmarkAugment: one 28x28 grey sample cropped and flipped.
func BenchmarkAugment(b *testing.B) {
	a := Augment{CropPadding: 4, Flip: true}
	x := make([]float32, 784)
	var scratch []float32
	i := 0
	for b.Loop() {
		scratch = a.Apply(x, []int{1, 28, 28}, 1, 0, i, scratch)
		i++
	}
}
