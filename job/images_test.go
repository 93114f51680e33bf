package job

import (
	"strings"
	"testing"
)

func TestImageKeys(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"data: {source: images}", "data.path: required for source images"},
		{"data: {source: images, path: d, image: {size: -1}}", "data.image.size: must be 0 (the images' own size) or in 1..4096, got -1"},
		{"data: {source: images, path: d, image: {size: 5000}}", "data.image.size"},
		{"data: {source: images, path: d, image: {channels: 2}}", "data.image.channels: must be 0 (from the first training image), 1 (grey) or 3 (RGB), got 2"},
		{"data: {source: images, path: d, image: {resize: squash}}", `data.image.resize: "squash" is not one of ["fit" "stretch" "crop"]`},
		{"data: {source: images, path: d, on_error: ignore}", `data.on_error: "ignore" is not one of ["fail" "skip"]`},
		{"data: {augment: {crop_padding: -1}}", "data.augment.crop_padding: must be in 0..256, got -1"},
		{"data: {source: synthetic, augment: {flip: true}}", "data.augment: needs images (source default, idx or images), not synthetic"},
		{"data: {source: images, path: d, image: {sise: 3}}", "field sise not found"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to mention %q", tc.yaml, err, tc.want)
		}
	}
	s, err := Parse([]byte("model: {kind: cnn}\ndata: {source: images, path: d, image: {size: 32, channels: 3, resize: crop}, augment: {crop_padding: 4, flip: true}, on_error: skip}"))
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Data; d.Image != (Image{Size: 32, Channels: 3, Resize: "crop"}) || d.Augment != (Augment{CropPadding: 4, Flip: true}) || d.OnError != "skip" {
		t.Fatalf("%+v", d)
	}
	if d := Default().Data; d.Image.Resize != "fit" || d.OnError != "fail" || d.Augment.CropPadding != 0 || d.Augment.Flip {
		t.Fatalf("defaults %+v", d)
	}
}
