package data

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePNG writes img as a PNG at root/rel, making the directories.
func writePNG(t testing.TB, root, rel string, img image.Image) string {
	t.Helper()
	path := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// greyImage is a w x h grey image with pixel (x, y) = f(x, y).
func greyImage(w, h int, f func(x, y int) uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			g.SetGray(x, y, color.Gray{Y: f(x, y)})
		}
	}
	return g
}

// rgbImage is a w x h RGB image with pixel (x, y) = f(x, y).
func rgbImage(w, h int, f func(x, y int) (r, g, b uint8)) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			r, g, b := f(x, y)
			m.SetNRGBA(x, y, color.NRGBA{R: r, G: g, B: b, A: 255})
		}
	}
	return m
}

// smallTree writes two classes "a" and "b" of 4x4 grey images: 3 training
// and 1 test image each.
func smallTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for k, class := range []string{"a", "b"} {
		for i := range 4 {
			split := "train"
			if i == 3 {
				split = "test"
			}
			writePNG(t, root, filepath.Join(split, class, string(rune('0'+i))+".png"), greyImage(4, 4, func(x, y int) uint8 { return uint8(100*k + 10*i + x + y) }))
		}
	}
	return root
}

func load(t *testing.T, root string, opt ImageOptions) (*Dataset, *Dataset, ImageReport, error) {
	t.Helper()
	return LoadImageFolder(context.Background(), root, opt)
}

func TestImageFolderLayout(t *testing.T) {
	root := smallTree(t)
	// ignored: a text file, a hidden file, a hidden directory, a file
	// directly in train/; a nested directory of a class is walked.
	os.WriteFile(filepath.Join(root, "train", "a", "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, "train", ".DS_Store"), []byte("x"), 0o644)
	writePNG(t, root, "train/a/.hidden/x.png", greyImage(4, 4, func(x, y int) uint8 { return 0 }))
	writePNG(t, root, "train/b/sub/9.PNG", greyImage(4, 4, func(x, y int) uint8 { return 255 }))
	train, test, rep, err := load(t, root, ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 7 || test.N != 2 || rep.Ignored != 1 || train.Classes != 2 || strings.Join(train.ClassNames, ",") != "a,b" || train.Shape[0] != 1 {
		t.Fatalf("train %d test %d ignored %d classes %v shape %v", train.N, test.N, rep.Ignored, train.ClassNames, train.Shape)
	}
	if want := []int32{0, 0, 0, 1, 1, 1, 1}; !equalInt32(train.Y, want) {
		t.Fatalf("labels %v, want %v", train.Y, want)
	}
	if train.X[6*16] != 1 { // train/b/sub/9.PNG sorts after b/2.png
		t.Fatalf("the nested image is not last: %v", train.X[6*16:])
	}
}

func equalInt32(a, b []int32) bool { return string(fmtInts(a)) == string(fmtInts(b)) }

func fmtInts(a []int32) []byte {
	var b []byte
	for _, v := range a {
		b = append(b, byte(v), ',')
	}
	return b
}

func TestImageFolderLayoutErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root string)
		want  []string
	}{
		{"no train dir", func(t *testing.T, root string) { os.RemoveAll(filepath.Join(root, "train")) }, []string{"train", "want", "train/<class>/"}},
		{"test has another class", func(t *testing.T, root string) {
			writePNG(t, root, "test/c/0.png", greyImage(4, 4, func(x, y int) uint8 { return 0 }))
		}, []string{"class directories differ", `test only has ["c"]`}},
		{"train has another class", func(t *testing.T, root string) {
			writePNG(t, root, "train/c/0.png", greyImage(4, 4, func(x, y int) uint8 { return 0 }))
		}, []string{"class directories differ", `train only has ["c"]`}},
		{"empty training class", func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, "train", "c"), 0o755)
			os.MkdirAll(filepath.Join(root, "test", "c"), 0o755)
		}, []string{filepath.Join("train", "c"), "has no images"}},
		{"one class", func(t *testing.T, root string) {
			os.RemoveAll(filepath.Join(root, "train", "b"))
			os.RemoveAll(filepath.Join(root, "test", "b"))
		}, []string{"1 class directories", "want 2.."}},
		{"no test images", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, "test", "a", "3.png"))
			os.Remove(filepath.Join(root, "test", "b", "3.png"))
		}, []string{"test has no images"}},
		{"another size", func(t *testing.T, root string) {
			writePNG(t, root, "train/b/9.png", greyImage(5, 4, func(x, y int) uint8 { return 0 }))
		}, []string{"9.png is 5x4", "first training image 4x4", "data.image.size"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := smallTree(t)
			tc.setup(t, root)
			for _, skip := range []bool{false, true} { // neither is a file to skip
				_, _, _, err := load(t, root, ImageOptions{Skip: skip})
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("skip %v: error %q lacks %q", skip, err, w)
					}
				}
			}
		})
	}
}

// A truncated PNG and a text file named .png: fail names the file and how
// far its decoder read; skip leaves them out and counts them.
func TestImageFolderCorruptFiles(t *testing.T) {
	root := smallTree(t)
	good, err := os.ReadFile(filepath.Join(root, "train", "a", "1.png"))
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(root, "train", "a", "1.png")
	os.WriteFile(truncated, good[:len(good)-20], 0o644)
	text := filepath.Join(root, "train", "b", "0.png")
	os.WriteFile(text, []byte("not an image at all\n"), 0o644)

	_, _, _, err = load(t, root, ImageOptions{})
	if err == nil || !strings.Contains(err.Error(), truncated) || !strings.Contains(err.Error(), "png decoder failed after reading") {
		t.Fatalf("fail: error %v: want the truncated file (the first in load order) and the decoder's position", err)
	}
	train, test, rep, err := load(t, root, ImageOptions{Skip: true})
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 4 || test.N != 2 || rep.Skipped != 2 || len(rep.Errors) != 2 {
		t.Fatalf("skip: train %d test %d report %+v", train.N, test.N, rep)
	}
	if !strings.Contains(rep.Errors[0].Error(), truncated) || !strings.Contains(rep.Errors[1].Error(), text) || !strings.Contains(rep.Errors[1].Error(), "not a PNG, JPEG or GIF") {
		t.Fatalf("skip: errors %v", rep.Errors)
	}
	if err := train.Validate(); err != nil {
		t.Fatal(err)
	}
	// every training image of a class skipped is an error
	for _, f := range []string{"0.png", "2.png"} {
		os.WriteFile(filepath.Join(root, "train", "a", f), []byte("x"), 0o644)
	}
	if _, _, _, err := load(t, root, ImageOptions{Skip: true}); err == nil || !strings.Contains(err.Error(), `class "a" was skipped`) {
		t.Fatalf("error %v", err)
	}
}

// RGB images to 3 channels exactly, and to grey against the ITU-R 601
// luma formula.
func TestImageFolderChannels(t *testing.T) {
	root := t.TempDir()
	pix := func(k int) func(x, y int) (uint8, uint8, uint8) {
		return func(x, y int) (uint8, uint8, uint8) { return uint8(40*x + k), uint8(30*y + 7), uint8(200 - 10*x - 5*y) }
	}
	for k, class := range []string{"x", "y"} {
		writePNG(t, root, "train/"+class+"/0.png", rgbImage(5, 3, pix(k)))
		writePNG(t, root, "train/"+class+"/1.png", rgbImage(5, 3, pix(k+1)))
		writePNG(t, root, "test/"+class+"/0.png", rgbImage(5, 3, pix(k)))
	}
	auto, _, _, err := load(t, root, ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{3, 3, 5}; auto.Shape[0] != 3 || auto.Shape[1] != 3 || auto.Shape[2] != 5 {
		t.Fatalf("auto channels: shape %v, want %v", auto.Shape, want)
	}
	for y := range 3 {
		for x := range 5 {
			r, g, b := pix(0)(x, y)
			for c, v := range []uint8{r, g, b} {
				if got := auto.X[c*15+y*5+x]; got != float32(v)/255 {
					t.Fatalf("channel %d (%d,%d) = %v, want %v", c, x, y, got, float32(v)/255)
				}
			}
		}
	}
	grey, _, _, err := load(t, root, ImageOptions{Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	for y := range 3 {
		for x := range 5 {
			r, g, b := pix(0)(x, y)
			luma := math.Round(0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b))
			if got := float64(grey.X[y*5+x]) * 255; math.Abs(got-luma) > 1 {
				t.Fatalf("grey (%d,%d) = %v, luma %v", x, y, got, luma)
			}
		}
	}
}

// refTap is the triangle filter's weight of source pixel j for output
// pixel i, the dumb way: no range cut, normalized over every source pixel.
func refWeights(in, out, i int) []float64 {
	scale := float64(in) / float64(out)
	support := math.Max(scale, 1)
	center := (float64(i) + 0.5) * scale
	w := make([]float64, in)
	var sum float64
	for j := range in {
		w[j] = math.Max(0, 1-math.Abs(float64(j)+0.5-center)/support)
		sum += w[j]
	}
	for j := range w {
		w[j] /= sum
	}
	return w
}

// refResize is resize's dumb reference: each output pixel the 2-D sum
// over every source pixel of the product of the two axes' weights.
func refResize(src []float32, c, h, w, oh, ow int) []float64 {
	out := make([]float64, c*oh*ow)
	for ch := range c {
		for y := range oh {
			wy := refWeights(h, oh, y)
			for x := range ow {
				wx := refWeights(w, ow, x)
				var acc float64
				for sy := range h {
					for sx := range w {
						acc += wy[sy] * wx[sx] * float64(src[(ch*h+sy)*w+sx])
					}
				}
				out[(ch*oh+y)*ow+x] = acc
			}
		}
	}
	return out
}

func TestResizeAgainstReference(t *testing.T) {
	for _, tc := range []struct{ c, h, w, oh, ow int }{
		{1, 28, 28, 14, 14}, {1, 28, 28, 56, 56}, {3, 17, 23, 8, 11}, {1, 5, 7, 12, 3}, {2, 1, 9, 4, 4}, {1, 100, 60, 28, 28},
	} {
		src := make([]float32, tc.c*tc.h*tc.w)
		for i := range src {
			src[i] = float32((i * 37) % 256) // a busy pattern
		}
		got := resize(src, tc.c, tc.h, tc.w, tc.oh, tc.ow)
		want := refResize(src, tc.c, tc.h, tc.w, tc.oh, tc.ow)
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-3 {
				t.Fatalf("%+v: [%d] = %v, reference %v", tc, i, got[i], want[i])
			}
		}
	}
	// a constant stays constant, the same size is the identity
	flat := make([]float32, 3*10*13)
	for i := range flat {
		flat[i] = 77
	}
	for _, v := range resize(flat, 3, 10, 13, 7, 29) {
		if math.Abs(float64(v)-77) > 1e-4 {
			t.Fatalf("constant image resized to %v", v)
		}
	}
	if got := resize(flat, 3, 10, 13, 10, 13); &got[0] != &flat[0] {
		t.Fatal("same size is not the identity")
	}
}

// refCrop is centerCrop the dumb way: the source pasted into a zero canvas
// large enough for both, then cut.
func refCrop(src []float32, c, h, w, oh, ow int) []float32 {
	H, W := max(h, oh)+abs(h-oh), max(w, ow)+abs(w-ow)
	canvas := make([]float32, c*H*W)
	py, px := (H-h)/2, (W-w)/2
	for ch := range c {
		for y := range h {
			for x := range w {
				canvas[(ch*H+py+y)*W+px+x] = src[(ch*h+y)*w+x]
			}
		}
	}
	// the crop's top left in source coordinates is floor((h-oh)/2)
	cy, cx := py+floorHalf(h-oh), px+floorHalf(w-ow)
	out := make([]float32, c*oh*ow)
	for ch := range c {
		for y := range oh {
			for x := range ow {
				out[(ch*oh+y)*ow+x] = canvas[(ch*H+cy+y)*W+cx+x]
			}
		}
	}
	return out
}

func abs(v int) int { return max(v, -v) }

func floorHalf(v int) int { return int(math.Floor(float64(v) / 2)) }

func TestCenterCropAgainstReference(t *testing.T) {
	for _, tc := range []struct{ c, h, w, oh, ow int }{
		{1, 28, 28, 20, 20}, {1, 27, 31, 20, 20}, {3, 10, 10, 15, 14}, {1, 9, 30, 12, 12}, {2, 5, 5, 5, 5},
	} {
		src := make([]float32, tc.c*tc.h*tc.w)
		for i := range src {
			src[i] = float32(i + 1)
		}
		got, want := centerCrop(src, tc.c, tc.h, tc.w, tc.oh, tc.ow), refCrop(src, tc.c, tc.h, tc.w, tc.oh, tc.ow)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: [%d] = %v, reference %v", tc, i, got[i], want[i])
			}
		}
	}
}

// Each resize mode through the loader, on a 40x30 image to 16x16.
func TestImageFolderResizeModes(t *testing.T) {
	root := t.TempDir()
	f := func(x, y int) uint8 { return uint8(3*x + 5*y) }
	for _, class := range []string{"p", "q"} {
		writePNG(t, root, "train/"+class+"/0.png", greyImage(40, 30, f))
		writePNG(t, root, "train/"+class+"/1.png", greyImage(40, 30, f))
		writePNG(t, root, "test/"+class+"/0.png", greyImage(40, 30, f))
	}
	src := make([]float32, 30*40)
	for y := range 30 {
		for x := range 40 {
			src[y*40+x] = float32(f(x, y))
		}
	}
	// fit: scale 30 -> 16 (40 -> 21), then the centre 16 columns
	fit := refResize(src, 1, 30, 40, 16, 21)
	fitCrop := make([]float64, 16*16)
	for y := range 16 {
		for x := range 16 {
			fitCrop[y*16+x] = fit[y*21+x+2]
		}
	}
	crop := refCrop(src, 1, 30, 40, 16, 16)
	for _, tc := range []struct {
		mode string
		want func(i int) float64
	}{
		{"fit", func(i int) float64 { return fitCrop[i] }},
		{"stretch", func(i int) float64 { return refResize(src, 1, 30, 40, 16, 16)[i] }},
		{"crop", func(i int) float64 { return float64(crop[i]) }},
	} {
		train, _, _, err := load(t, root, ImageOptions{Size: 16, Resize: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		if train.Dim != 256 || train.Shape[1] != 16 || train.Shape[2] != 16 {
			t.Fatalf("%s: shape %v", tc.mode, train.Shape)
		}
		for i := range 256 {
			if got := float64(train.X[i]) * 255; math.Abs(got-tc.want(i)) > 1e-3 {
				t.Fatalf("%s: [%d] = %v, reference %v", tc.mode, i, got, tc.want(i))
			}
		}
	}
}

func TestDecodeImageLimits(t *testing.T) {
	// a PNG header claiming 1,000,000 x 1,000,000 pixels
	var b bytes.Buffer
	png.Encode(&b, greyImage(1, 1, func(x, y int) uint8 { return 0 }))
	huge := bytes.Clone(b.Bytes())
	copy(huge[16:24], []byte{0, 0x0f, 0x42, 0x40, 0, 0x0f, 0x42, 0x40})
	if _, err := decodeImageBytes("huge.png", huge); err == nil || !strings.Contains(err.Error(), "huge.png") {
		t.Fatalf("error %v", err)
	}
	if _, err := decodeImage(filepath.Join(t.TempDir(), "missing.png")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v", err)
	}
}

// FuzzDecodeImage: the image folder's decoding of outside bytes (Go's
// decoders behind our size checks) never panics, and what it accepts
// becomes finite samples.
func FuzzDecodeImage(f *testing.F) {
	var b bytes.Buffer
	png.Encode(&b, greyImage(3, 2, func(x, y int) uint8 { return uint8(x * y) }))
	f.Add(b.Bytes())
	b.Reset()
	png.Encode(&b, rgbImage(2, 2, func(x, y int) (uint8, uint8, uint8) { return 1, 2, 3 }))
	f.Add(b.Bytes())
	f.Add([]byte("GIF89a"))
	f.Add([]byte("\xff\xd8\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := decodeImageBytes("fuzz", b)
		if err != nil {
			return
		}
		if sz := img.Bounds().Size(); sz.X*sz.Y > 1<<16 {
			return
		}
		g := imageGeom{channels: 3, h: 4, w: 4, resize: "fit"}
		dst := make([]float32, 48)
		if err := g.sample("fuzz", img, dst); err != nil {
			t.Fatal(err)
		}
		for _, v := range dst {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("value %v", v)
			}
		}
	})
}
