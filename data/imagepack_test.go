package data

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// An image folder packed into shards (loaded Raw, ImagePackOptions, the
// training split shuffled) reads back as exactly the samples, labels,
// class names and (shuffled the same) order that loading the folder for
// training gives, bit for bit: bytes when no resize blends pixels, float32
// when one does, and RGB.
func TestImagePackRoundTrip(t *testing.T) {
	digits := filepath.Join(testutil.RepoRoot(t), "docs", "examples", "digits")
	rgb := t.TempDir()
	for i, rel := range []string{"train/red/a.png", "train/red/b.png", "train/blue/a.png", "test/red/c.png", "test/blue/d.png"} {
		writePNG(t, rgb, rel, rgbImage(7, 5, func(x, y int) (uint8, uint8, uint8) {
			return uint8(31*x + i), uint8(17 * y), uint8(x * y * (i + 1))
		}))
	}
	for _, tc := range []struct {
		name, root string
		opt        ImageOptions
		dtype      int
	}{
		{"digits own size", digits, ImageOptions{}, ShardUint8},
		{"digits 28 fit", digits, ImageOptions{Size: 28, Channels: 1, Resize: "fit"}, ShardUint8},
		{"digits 20 fit", digits, ImageOptions{Size: 20, Channels: 1, Resize: "fit"}, ShardFloat32},
		{"digits 32 stretch rgb", digits, ImageOptions{Size: 32, Channels: 3, Resize: "stretch"}, ShardFloat32},
		{"digits 24 crop", digits, ImageOptions{Size: 24, Resize: "crop"}, ShardUint8},
		{"rgb 4 fit", rgb, ImageOptions{Size: 4}, ShardFloat32},
		{"rgb 3 crop", rgb, ImageOptions{Size: 3, Resize: "crop"}, ShardUint8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			wantTr, wantTe, _, err := LoadImageFolder(ctx, tc.root, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			raw := tc.opt
			raw.Raw = true
			tr, te, _, err := LoadImageFolder(ctx, tc.root, raw)
			if err != nil {
				t.Fatal(err)
			}
			tr, wantTr = ShuffleSamples(tr, 7), ShuffleSamples(wantTr, 7)
			opt := ImagePackOptions(4<<10, tr, te)
			if opt.DType != tc.dtype {
				t.Fatalf("dtype %s, want %s", DTypeName(opt.DType), DTypeName(tc.dtype))
			}
			dir := filepath.Join(t.TempDir(), "shards")
			if _, err := PackDatasets(dir, tr, te, opt); err != nil {
				t.Fatal(err)
			}
			m, err := ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.ClassNames, wantTr.ClassNames) || m.InputScale != 1.0/255 || !slices.Equal(m.Shape, wantTr.Shape) {
				t.Errorf("manifest: classes %q scale %v shape %v; want %q, 1/255, %v", m.ClassNames, m.InputScale, m.Shape, wantTr.ClassNames, wantTr.Shape)
			}
			for _, s := range []struct {
				entries []ShardEntry
				want    *Dataset
			}{{m.Train, wantTr}, {m.Test, wantTe}} {
				got, _, err := LoadShardSplit(dir, m, s.entries, "x", false, nil)
				if err != nil {
					t.Fatal(err)
				}
				if got.N != s.want.N || !slices.Equal(got.Y, s.want.Y) {
					t.Fatalf("%d samples, labels differ: want %d", got.N, s.want.N)
				}
				for i, v := range got.X {
					if math.Float32bits(v) != math.Float32bits(s.want.X[i]) {
						t.Fatalf("value %d (sample %d): %v from the shards, %v from the folder", i, i/got.Dim, v, s.want.X[i])
					}
				}
			}
		})
	}
}

// Packing raw values as bytes refuses one that is not a byte, naming the
// sample; ImagePackOptions never asks for that.
func TestPackRawUint8Refuses(t *testing.T) {
	d := &Dataset{Name: "d", N: 2, Dim: 2, Shape: []int{2}, Classes: 2, X: []float32{1, 2, 3, 2.5}, Y: []int32{0, 1}}
	_, err := PackDatasets(t.TempDir(), d, d, PackOptions{DType: ShardUint8, InputScale: 1.0 / 255, ShardBytes: 1 << 10, Raw: true})
	if err == nil || !strings.Contains(err.Error(), "d sample 1: value 1 is 2.5") {
		t.Fatalf("got %v", err)
	}
	if o := ImagePackOptions(1<<10, d); o.DType != ShardFloat32 {
		t.Fatalf("dtype %s, want float32", DTypeName(o.DType))
	}
}

// ShuffleSamples is a permutation of the samples, the same for a seed,
// another for another seed, and leaves its input alone.
func TestShuffleSamples(t *testing.T) {
	d := &Dataset{Name: "d", N: 50, Dim: 2, Shape: []int{2}, Classes: 50, X: make([]float32, 100), Y: make([]int32, 50)}
	for i := range 50 {
		d.X[2*i], d.X[2*i+1], d.Y[i] = float32(i), float32(-i), int32(i)
	}
	a, b, c := ShuffleSamples(d, 1), ShuffleSamples(d, 1), ShuffleSamples(d, 2)
	if !slices.Equal(a.Y, b.Y) || !slices.Equal(a.X, b.X) || slices.Equal(a.Y, c.Y) || slices.Equal(a.Y, d.Y) {
		t.Fatalf("seed 1 %v, again %v, seed 2 %v", a.Y, b.Y, c.Y)
	}
	seen := make([]bool, 50)
	for i, y := range a.Y {
		if seen[y] || a.X[2*i] != float32(y) || a.X[2*i+1] != -float32(y) {
			t.Fatalf("sample %d: label %d with %v", i, y, a.X[2*i:2*i+2])
		}
		seen[y] = true
	}
	for i, y := range d.Y {
		if y != int32(i) {
			t.Fatal("the input changed")
		}
	}
}
