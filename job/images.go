package job

import "slices"

// Limits of the image keys.
const (
	// MaxImageSize bounds data.image.size (pixels per side).
	MaxImageSize = 4096
	// MaxCropPadding bounds data.augment.crop_padding.
	MaxCropPadding = 256
	// MaxPrefetch bounds data.prefetch (batches filled ahead).
	MaxPrefetch = 2
)

// validateImages checks data.image, data.augment, data.on_error and
// data.prefetch.
func (s Spec) validateImages(bad func(key, format string, args ...any)) {
	d := s.Data
	if d.Source == "images" && d.Path == "" {
		bad("data.path", "required for source images (a directory with train/<class>/ and test/<class>/ image folders)")
	}
	if d.Image.Size < 0 || d.Image.Size > MaxImageSize {
		bad("data.image.size", "must be 0 (the images' own size) or in 1..%d, got %d", MaxImageSize, d.Image.Size)
	}
	if c := d.Image.Channels; c != 0 && c != 1 && c != 3 {
		bad("data.image.channels", "must be 0 (from the first training image), 1 (grey) or 3 (RGB), got %d", c)
	}
	if !slices.Contains([]string{"fit", "stretch", "crop"}, d.Image.Resize) {
		bad("data.image.resize", "%q is not one of %q", d.Image.Resize, []string{"fit", "stretch", "crop"})
	}
	if !slices.Contains([]string{"fail", "skip"}, d.OnError) {
		bad("data.on_error", "%q is not one of %q", d.OnError, []string{"fail", "skip"})
	}
	if d.Prefetch < 0 || d.Prefetch > MaxPrefetch {
		bad("data.prefetch", "must be in 0..%d (training batches filled ahead of the step; 0: off), got %d", MaxPrefetch, d.Prefetch)
	}
	if p := d.Augment.CropPadding; p < 0 || p > MaxCropPadding {
		bad("data.augment.crop_padding", "must be in 0..%d, got %d", MaxCropPadding, p)
	}
	if (d.Augment.CropPadding > 0 || d.Augment.Flip) && !slices.Contains([]string{"default", "idx", "images"}, d.Source) {
		bad("data.augment", "needs images (source default, idx or images), not %s", d.Source)
	}
}
