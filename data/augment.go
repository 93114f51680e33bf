package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Augment is deterministic augmentation of [C, H, W] training samples: a
// random crop of the image padded with CropPadding zeros on every side,
// then a left-right flip with probability 1/2 (Flip), as torchvision's
// RandomCrop(padding) and RandomHorizontalFlip. The draws of a sample are
// a function of (seed, epoch, the sample's index in the dataset) alone:
// not of the rank, the world size or what ran before, so a resumed or
// resized run sees the same images.
type Augment struct {
	CropPadding int
	Flip        bool
}

// Enabled reports whether a does anything.
func (a Augment) Enabled() bool { return a.CropPadding > 0 || a.Flip }

// Check reports whether a applies to samples of shape.
func (a Augment) Check(shape []int) error {
	if !a.Enabled() {
		return nil
	}
	if len(shape) != 3 {
		return fmt.Errorf("data.augment needs images, samples of shape [C, H, W], not %v", shape)
	}
	return nil
}

// draw returns the crop offsets (0..2·CropPadding) and the flip of sample
// index in epoch.
func (a Augment) draw(seed uint64, epoch, index int) (dy, dx int, flip bool) {
	src := rand.NewPCG(seed, augmentStream(epoch, index))
	if a.CropPadding > 0 {
		n := uint64(2*a.CropPadding + 1)
		dy, dx = int(boundedUint64(src, n)), int(boundedUint64(src, n))
	} else {
		dy, dx = a.CropPadding, a.CropPadding
	}
	if a.Flip {
		flip = src.Uint64()>>63 == 1
	}
	return dy, dx, flip
}

// augmentStream is the PCG stream of (epoch, index), distinct from the
// sampler's (seed, epoch) streams for any epoch below 2^31.
func augmentStream(epoch, index int) uint64 {
	return 1<<63 | uint64(uint32(epoch))<<32 | uint64(uint32(index))
}

// Apply augments x, one sample of shape [C, H, W], in place; scratch is
// reused (grown as needed) and returned.
func (a Augment) Apply(x []float32, shape []int, seed uint64, epoch, index int, scratch []float32) []float32 {
	if !a.Enabled() {
		return scratch
	}
	c, h, w := shape[0], shape[1], shape[2]
	dy, dx, flip := a.draw(seed, epoch, index)
	p := a.CropPadding
	if dy == p && dx == p && !flip {
		return scratch
	}
	scratch = append(scratch[:0], x...)
	for ch := range c {
		for y := range h {
			sy := y + dy - p
			row := x[(ch*h+y)*w : (ch*h+y+1)*w]
			if sy < 0 || sy >= h {
				clear(row)
				continue
			}
			src := scratch[(ch*h+sy)*w : (ch*h+sy+1)*w]
			// column c of the crop is source column c+dx-p: the columns
			// [lo, hi) of the crop fall inside the source
			lo, hi := max(0, p-dx), min(w, w+p-dx)
			clear(row)
			if lo < hi {
				copy(row[lo:hi], src[lo+dx-p:hi+dx-p])
			}
			if flip {
				slices.Reverse(row)
			}
		}
	}
	return scratch
}
