package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // registers the decoders an image folder reads
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
)

// Limits on one image file, checked before decoding it.
const (
	// MaxImageFileBytes bounds an image file's size.
	MaxImageFileBytes = 256 << 20
	// MaxImagePixels bounds an image's width x height (from its header),
	// so a small file claiming a huge image costs nothing.
	MaxImagePixels = 1 << 26
)

// decodeImage reads and decodes the image at path (PNG, JPEG or GIF, by
// its content, not its name). The error names the file and, when the
// decoder fails, how far into the file it had read.
func decodeImage(path string) (image.Image, error) {
	b, err := readImageFile(path)
	if err != nil {
		return nil, err
	}
	return decodeImageBytes(path, b)
}

// decodeImageBytes decodes b, the content of the file at path.
func decodeImageBytes(path string, b []byte) (image.Image, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("data: %s: not a PNG, JPEG or GIF image (%d bytes): %w", path, len(b), err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxImagePixels/cfg.Height {
		return nil, fmt.Errorf("data: %s: image size %dx%d: want 1..%d pixels", path, cfg.Width, cfg.Height, MaxImagePixels)
	}
	r := bytes.NewReader(b)
	img, format, err := image.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("data: %s: the %s decoder failed after reading %d of %d bytes: %w", path, formatName(b), len(b)-r.Len(), len(b), err)
	}
	if sz := img.Bounds().Size(); sz.X != cfg.Width || sz.Y != cfg.Height {
		return nil, fmt.Errorf("data: %s: %s header says %dx%d, the image is %dx%d", path, format, cfg.Width, cfg.Height, sz.X, sz.Y)
	}
	return img, nil
}

// formatName names the image format by b's magic bytes, for errors.
func formatName(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG")):
		return "png"
	case bytes.HasPrefix(b, []byte("\xff\xd8")):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF8")):
		return "gif"
	}
	return "image"
}

// readImageFile reads a file of at most MaxImageFileBytes.
func readImageFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxImageFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	if len(b) > MaxImageFileBytes {
		return nil, fmt.Errorf("data: %s: larger than %d bytes", path, MaxImageFileBytes)
	}
	return b, nil
}

// isGrey reports whether img's color model is grey (1 channel).
func isGrey(img image.Image) bool {
	m := img.ColorModel()
	return m == color.GrayModel || m == color.Gray16Model
}

// planes returns img's 8-bit values as float32 in 0..255, channel-major
// [channels][h][w]: for 1 channel the ITU-R 601 luma of Go's
// color.GrayModel, for 3 the red, green and blue (alpha-premultiplied:
// transparent pixels over black).
func planes(img image.Image, channels int) (v []float32, h, w int) {
	b := img.Bounds()
	h, w = b.Dy(), b.Dx()
	v = make([]float32, channels*h*w)
	if g, ok := img.(*image.Gray); ok && channels == 1 {
		for y := range h {
			off := g.PixOffset(b.Min.X, b.Min.Y+y)
			for x, p := range g.Pix[off : off+w] {
				v[y*w+x] = float32(p)
			}
		}
		return v, h, w
	}
	plane := h * w
	for y := range h {
		for x := range w {
			c := img.At(b.Min.X+x, b.Min.Y+y)
			if channels == 1 {
				v[y*w+x] = float32(color.GrayModel.Convert(c).(color.Gray).Y)
				continue
			}
			r, g, bl, _ := c.RGBA()
			v[y*w+x], v[plane+y*w+x], v[2*plane+y*w+x] = float32(r>>8), float32(g>>8), float32(bl>>8)
		}
	}
	return v, h, w
}
