// Package export turns a trained network (a model spec and its flat
// parameters) into files other tools load: the self-describing metadata of
// an exported safetensors file (the training data's input normalization
// and range, class names, architecture, metrics), the tensors in
// ringtrain's own layout or in the names and orientations of a PyTorch
// state_dict (Torch), and an ONNX model (ONNX, opset 13) whose graph takes
// raw inputs (token ids for language models) and returns logits, for every
// model kind: mlp, cnn, layers, lstm, gru, transformer. docs/export.md is
// the user's reference.
package export
