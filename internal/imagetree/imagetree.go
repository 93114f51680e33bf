package imagetree

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ringtrain/ringtrain/data"
)

// Options of Write.
type Options struct {
	// JPEGEvery: every k-th sample (index % k == k-1) is written as a
	// JPEG (quality 95) instead of a PNG; 0 = all PNG.
	JPEGEvery int
	// Limit writes only the first Limit samples of each split; 0 = all.
	Limit int
}

// Write writes each split's samples (shape [1, H, W] grey or [3, H, W]
// RGB, values in [0, 1]) as root/<split>/<class>/<index>.png, the class
// the dataset's class name or else its label, the index the sample's,
// zero-padded so that path order is sample order within a class. Every
// class directory is made, even one without samples.
func Write(root string, splits map[string]*data.Dataset, opt Options) error {
	for split, d := range splits {
		if len(d.Shape) != 3 || (d.Shape[0] != 1 && d.Shape[0] != 3) {
			return fmt.Errorf("imagetree: %s: shape %v: want [1 or 3, H, W]", split, d.Shape)
		}
		name := func(k int) string {
			if d.ClassNames != nil {
				return d.ClassNames[k]
			}
			return strconv.Itoa(k)
		}
		for k := range d.Classes {
			if err := os.MkdirAll(filepath.Join(root, split, name(k)), 0o755); err != nil {
				return err
			}
		}
		n := d.N
		if opt.Limit > 0 {
			n = min(n, opt.Limit)
		}
		for i := range n {
			img := Image(d.X[i*d.Dim:(i+1)*d.Dim], d.Shape)
			jpg := opt.JPEGEvery > 0 && i%opt.JPEGEvery == opt.JPEGEvery-1
			ext := ".png"
			if jpg {
				ext = ".jpg"
			}
			path := filepath.Join(root, split, name(int(d.Y[i])), fmt.Sprintf("%06d%s", i, ext))
			if err := writeFile(path, img, jpg); err != nil {
				return err
			}
		}
	}
	return nil
}

// Image returns one sample (values in [0, 1], shape [1 or 3, H, W]) as a
// grey or RGB image of bytes round(255 v).
func Image(x []float32, shape []int) image.Image {
	c, h, w := shape[0], shape[1], shape[2]
	b := func(v float32) uint8 { return uint8(math.Round(float64(min(max(v, 0), 1)) * 255)) }
	r := image.Rect(0, 0, w, h)
	if c == 1 {
		g := image.NewGray(r)
		for i, v := range x[:h*w] {
			g.Pix[i] = b(v)
		}
		return g
	}
	m := image.NewNRGBA(r)
	for y := range h {
		for px := range w {
			i := y*w + px
			m.SetNRGBA(px, y, color.NRGBA{R: b(x[i]), G: b(x[h*w+i]), B: b(x[2*h*w+i]), A: 255})
		}
	}
	return m
}

func writeFile(path string, img image.Image, jpg bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if jpg {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(f, img)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
