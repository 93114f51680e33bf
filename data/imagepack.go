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

// packSalt separates the packing shuffle's random stream from the
// samplers'.
const packSalt = 0x5041434b53485546 // "PACKSHUF"

// ShuffleSamples returns d's samples in an order seeded by seed (a copy;
// d is not changed). Packing shuffles a training split that comes sorted
// by class (an image folder): a rank reads contiguous runs of the shard
// stream (ShardPlan), so sorted shards would make batches of one class.
func ShuffleSamples(d *Dataset, seed uint64) *Dataset {
	perm := make([]int, d.N)
	permute(perm, seed, packSalt)
	out := *d
	out.X, out.Y = make([]float32, len(d.X)), make([]int32, d.N)
	for i, j := range perm {
		copy(out.X[i*d.Dim:(i+1)*d.Dim], d.X[j*d.Dim:(j+1)*d.Dim])
		out.Y[i] = d.Y[j]
	}
	return &out
}
