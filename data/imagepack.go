package data

import "math"

// ImagePackOptions are the PackOptions for an image folder loaded with
// ImageOptions.Raw: the pixel values stored as they are, with input_scale
// 1/255, so the shards read back as exactly the v/255 that training on
// the folder sees. They are bytes (ShardUint8) when every value is an
// integer in [0, 255] (no resize, or "crop"), else float32 (a resize
// blends pixels into fractions).
func ImagePackOptions(shardBytes int64, sets ...*Dataset) PackOptions {
	opt := PackOptions{DType: ShardUint8, InputScale: 1.0 / 255, ShardBytes: shardBytes, Source: "images", Raw: true}
	for _, d := range sets {
		for _, v := range d.X {
			if v != float32(math.Round(float64(v))) || v < 0 || v > 255 {
				opt.DType = ShardFloat32
				return opt
			}
		}
	}
	return opt
}
