package data

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"
	"sync/atomic"
)

// ImageOptions say what every image of a folder becomes (LoadImageFolder).
type ImageOptions struct {
	// Size: images become Size x Size; 0 keeps their own size, which must
	// then be the same for all (that of the first training image).
	Size int
	// Channels: 1 (grey) or 3 (RGB); 0 = 1 if the first training image
	// is grey, else 3.
	Channels int
	// Resize: "fit" (scale the shorter side to Size, crop the centre;
	// the default when empty), "stretch" or "crop" (no scaling).
	Resize string
	// Skip: a file that does not decode is skipped and counted instead of
	// failing the load.
	Skip bool
	// Raw: samples hold the pixel values v themselves (0 to 255,
	// fractional after a resize) instead of v/255: what ringtrain data
	// pack stores, with input_scale 1/255 (ImagePackOptions).
	Raw bool
	// Workers decode in parallel; 0 = GOMAXPROCS.
	Workers int
	// Progress, if set, is called from the loading goroutine after each
	// image with the images done so far and the total (train and test).
	Progress func(done, total int)
}

// ImageReport says what a load found besides the images.
type ImageReport struct {
	// Skipped images (Skip), and the errors of the first few.
	Skipped int
	Errors  []error
	// Ignored files: not images by their extension.
	Ignored int
}

// maxReportedErrors is how many skipped files an ImageReport keeps.
const maxReportedErrors = 5

// errGeometry marks an image of another size when every image must have
// the first one's: a setting to change, never skipped.
var errGeometry = errors.New("image size differs")

// imageGeom is what every image of a folder becomes.
type imageGeom struct {
	channels, h, w int
	resize         string
	own            bool // Size 0: every image must be h x w already
	raw            bool // keep v, not v/255 (ImageOptions.Raw)
}

// sample writes img as c x h x w values in [0, 1] (v/255; raw: v) into dst.
func (g imageGeom) sample(path string, img image.Image, dst []float32) error {
	v, h, w := planes(img, g.channels)
	if g.own && (h != g.h || w != g.w) {
		return fmt.Errorf("data: %s is %dx%d, the first training image %dx%d: set data.image.size to make them one size: %w", path, w, h, g.w, g.h, errGeometry)
	}
	switch g.resize {
	case "stretch":
		v = resize(v, g.channels, h, w, g.h, g.w)
	case "crop":
		v = centerCrop(v, g.channels, h, w, g.h, g.w)
	default: // fit
		rh, rw := fitSize(h, w, g.h, g.w)
		v = centerCrop(resize(v, g.channels, h, w, rh, rw), g.channels, rh, rw, g.h, g.w)
	}
	if g.raw {
		copy(dst, v)
		return nil
	}
	for i, p := range v {
		dst[i] = p / 255
	}
	return nil
}

// load decodes the image at path into dst.
func (g imageGeom) load(path string, dst []float32) error {
	img, err := decodeImage(path)
	if err != nil {
		return err
	}
	return g.sample(path, img, dst)
}

// LoadImageFolder loads an image folder in torchvision's ImageFolder
// layout: root/train/<class>/... and root/test/<class>/... images (PNG,
// JPEG, GIF; class directories walked recursively, hidden entries and
// files of other extensions ignored). The classes are the sorted names of
// train's directories, and test's must be the same; each training class
// needs an image. Samples are in class order, then path order; each is
// [channels, h, w] in [0, 1] (v/255, as IDX). Images are decoded by
// opt.Workers goroutines, all stopped before it returns.
func LoadImageFolder(ctx context.Context, root string, opt ImageOptions) (train, test *Dataset, rep ImageReport, err error) {
	classes, trs, tes, err := scanImageFolder(root)
	if err != nil {
		return nil, nil, rep, err
	}
	rep.Ignored = trs.ignored + tes.ignored
	g, err := geometry(trs.files, opt)
	if err != nil {
		return nil, nil, rep, err
	}
	total, done := len(trs.files)+len(tes.files), 0
	progress := func() {
		done++
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for _, s := range []struct {
		split *imageSplit
		ds    **Dataset
	}{{trs, &train}, {tes, &test}} {
		d, err := loadSplit(ctx, s.split, g, workers, opt.Skip, &rep, progress)
		if err != nil {
			return nil, nil, rep, err
		}
		d.Classes, d.ClassNames = len(classes), classes
		*s.ds = d
	}
	if err := checkClassesPresent(train, classes, trs.dir); err != nil {
		return nil, nil, rep, err
	}
	return train, test, rep, nil
}

// geometry fixes the output size and channels from the options and the
// first training image (its size when Size is 0; grey or not when
// Channels is 0): with Skip, the first that decodes.
func geometry(files []imageFile, opt ImageOptions) (imageGeom, error) {
	g := imageGeom{channels: opt.Channels, h: opt.Size, w: opt.Size, resize: opt.Resize, own: opt.Size == 0, raw: opt.Raw}
	if g.resize == "" {
		g.resize = "fit"
	}
	if g.channels != 0 && g.channels != 1 && g.channels != 3 {
		return g, fmt.Errorf("data: image folder: %d channels: want 1 or 3", g.channels)
	}
	if g.channels != 0 && !g.own {
		return g, nil
	}
	var img image.Image
	var err error
	for _, f := range files {
		if img, err = decodeImage(f.path); err == nil || !opt.Skip {
			break
		}
	}
	if err != nil {
		return g, fmt.Errorf("%w (the first training image sets the image size and channels)", err)
	}
	if g.channels == 0 {
		g.channels = 3
		if isGrey(img) {
			g.channels = 1
		}
	}
	if g.own {
		sz := img.Bounds().Size()
		g.h, g.w = sz.Y, sz.X
	}
	return g, nil
}

// loadSplit decodes a split's images in parallel into one dataset. On a
// file that fails to decode it stops with that file's error (the first in
// load order among those that failed), or with skip leaves the file out,
// counted in rep. An image of another size fails whatever skip says.
func loadSplit(ctx context.Context, s *imageSplit, g imageGeom, workers int, skip bool, rep *ImageReport, progress func()) (*Dataset, error) {
	n, dim := len(s.files), g.channels*g.h*g.w
	if dim > MaxIDXBytes/n {
		return nil, fmt.Errorf("data: %s: %d images of %dx%dx%d values: more than %d values", s.dir, n, g.channels, g.h, g.w, MaxIDXBytes)
	}
	x := make([]float32, n*dim)
	errs := make([]error, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	finished := make(chan int, workers)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				errs[i] = g.load(s.files[i].path, x[i*dim:(i+1)*dim])
				select {
				case finished <- i:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(finished) }() // ends with the decoders, drained below
	for i := range finished {
		if errs[i] != nil && (!skip || errors.Is(errs[i], errGeometry)) {
			cancel()
		}
		progress()
	}
	for _, err := range errs {
		if err != nil && (!skip || errors.Is(err, errGeometry)) {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("data: loading %s: %w", s.dir, context.Cause(ctx))
	}
	d := &Dataset{Name: s.dir, X: x, Y: make([]int32, 0, n), Dim: dim, Shape: []int{g.channels, g.h, g.w}}
	for i, f := range s.files {
		if errs[i] != nil {
			rep.Skipped++
			if len(rep.Errors) < maxReportedErrors {
				rep.Errors = append(rep.Errors, errs[i])
			}
			continue
		}
		copy(d.X[len(d.Y)*dim:], x[i*dim:(i+1)*dim])
		d.Y = append(d.Y, f.label)
	}
	d.N, d.X = len(d.Y), d.X[:len(d.Y)*dim]
	if d.N == 0 {
		return nil, fmt.Errorf("data: %s: every one of its %d images was skipped (the first: %w)", s.dir, n, rep.Errors[0])
	}
	return d, nil
}

// checkClassesPresent reports a class whose training images were all
// skipped.
func checkClassesPresent(train *Dataset, classes []string, dir string) error {
	seen := make([]bool, len(classes))
	for _, y := range train.Y {
		seen[y] = true
	}
	for k, ok := range seen {
		if !ok {
			return fmt.Errorf("data: %s/%s: every training image of class %q was skipped", dir, classes[k], classes[k])
		}
	}
	return nil
}
