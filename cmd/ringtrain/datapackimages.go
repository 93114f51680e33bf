package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/pflag"

	"github.com/ringtrain/ringtrain/data"
)

// packImageFlags are data pack's image options: data.image and
// data.on_error of a job on the same folder.
type packImageFlags struct {
	size, channels  int
	resize, onError string
}

func (f *packImageFlags) register(fl *pflag.FlagSet) {
	fl.IntVar(&f.size, "image-size", 0, "images: images become N x N pixels (0: their own size, the same for all), as data.image.size")
	fl.IntVar(&f.channels, "channels", 0, "images: 1 (grey) or 3 (RGB); 0: 1 if the first training image is grey, as data.image.channels")
	fl.StringVar(&f.resize, "resize", "fit", "images: fit, stretch or crop, as data.image.resize")
	fl.StringVar(&f.onError, "on-error", "fail", "images: fail (an image that does not decode stops the packing, named) or skip (counted warning), as data.on_error")
}

// check refuses options that data.image and data.on_error would refuse.
func (f packImageFlags) check() error {
	switch {
	case f.size < 0 || f.size > 1<<14:
		return fmt.Errorf("--image-size %d: want 0 (the images' own size) to %d", f.size, 1<<14)
	case f.channels != 0 && f.channels != 1 && f.channels != 3:
		return fmt.Errorf("--channels %d: want 1 (grey), 3 (RGB) or 0 (as the first training image)", f.channels)
	case !slices.Contains([]string{"fit", "stretch", "crop"}, f.resize):
		return fmt.Errorf("--resize %q: want fit, stretch or crop", f.resize)
	case f.onError != "fail" && f.onError != "skip":
		return fmt.Errorf("--on-error %q: want fail or skip", f.onError)
	}
	return nil
}

// loadImagesToPack decodes an image folder as data.source images does,
// keeping the pixel values themselves (data.ImageOptions.Raw), with the
// loading bar of data check, and returns the pack options that store them
// exactly.
func loadImagesToPack(ctx context.Context, g *globals, path string, f packImageFlags, shardBytes int64) (train, test *data.Dataset, opt data.PackOptions, err error) {
	if path == "" {
		return nil, nil, opt, fmt.Errorf("--from images needs --path (an image folder: train/<class>/..., test/<class>/...)")
	}
	if err := f.check(); err != nil {
		return nil, nil, opt, err
	}
	bar := newLoadProgress(g.stderr, "images")
	train, test, rep, err := data.LoadImageFolder(ctx, path, data.ImageOptions{
		Size: f.size, Channels: f.channels, Resize: f.resize, Skip: f.onError == "skip", Raw: true, Progress: bar.update})
	bar.close()
	if err != nil {
		return nil, nil, opt, err
	}
	if rep.Skipped > 0 {
		fmt.Fprintf(g.stderr, "warning: skipped %d images that do not decode (--on-error skip); the first:\n", rep.Skipped)
		for _, e := range rep.Errors {
			fmt.Fprintf(g.stderr, "  %v\n", e)
		}
	}
	if rep.Ignored > 0 {
		fmt.Fprintf(g.stderr, "ignored %d files that are not images by their extension\n", rep.Ignored)
	}
	fmt.Fprintf(g.stderr, "loaded %d training and %d test images of shape %v, %d classes\n", train.N, test.N, train.Shape, len(train.ClassNames))
	return train, test, data.ImagePackOptions(shardBytes, train, test), nil
}
