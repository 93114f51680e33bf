// Package quant is post-training int8 quantization of ringtrain's
// feed-forward classifiers (kinds mlp and cnn, and layers networks of
// linear, conv2d, maxpool, relu, tanh, gelu, dropout and flatten layers).
//
// Weights are quantized per output channel, symmetric: scale_w[o] =
// max|W[o,:]|/127, q = round(w/scale_w[o]) in [-127, 127]. Biases stay
// float32. Calibration runs training inputs through the float model,
// records each quantized layer's input, and picks a static per-tensor
// symmetric activation scale_a = clip/127, clip being the candidate
// (the largest |x|, or its 99.999th, 99.99th or 99.9th percentile) whose
// quantization has the smallest squared error on the recorded values.
//
// The int8 forward pass quantizes each linear or conv2d layer's input
// with its scale_a (x/scale_a rounded half to even, saturated to [-128,
// 127]: ONNX QuantizeLinear), computes int8 x int8 dot products into int32 (conv2d
// by im2col), and dequantizes with scale_w[o]*scale_a before adding the
// bias; activations and max pooling run on float32 values.
//
// Where the CPU has AVX2 the int8 pass runs in assembly (simd.go): int8
// values widened to int16 pairs, matrix products of 8 x 32 tiles
// (VPMADDWD, or VPDPWSSD with AVX-512 VNNI), a linear layer over the whole
// batch, a conv2d over its padded pair image (implicit im2col), relu and
// 2x2 pooling after a conv on its int32 sums; every result bit-identical
// to the portable Go loop (packed-pairs int64 products) the other CPUs
// run.
//
// Quantize builds a Model from a float model and calibration inputs;
// Model.Tensors and Model.AddMeta are its safetensors export (I8 weights,
// F32 scales and biases, metadata) and Load reads them back; package
// export writes the same model as an ONNX QDQ graph (ONNXInt8).
// docs/export.md describes the file.
package quant
