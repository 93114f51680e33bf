// Package model builds the neural networks ringtrain trains and computes
// their losses and gradients with gorgonia. It is the only package of the
// project that imports gorgonia.
//
// Contract:
//
//   - A Spec (kind "mlp", "cnn", "layers", or a language model
//     "transformer", "lstm", "gru"; sizes, input shape, classes, loss)
//     fully determines the network. A kind is a family (arch.go): its checks, layout,
//     initialization and fused graph. Layout(spec)
//     returns the parameters' names, shapes and offsets in ONE flat
//     []float32 without building a graph, so checkpoints, optimizers and
//     the all-reduce can work on flat ranges without importing gorgonia.
//   - InitParams(spec, params, seed) is deterministic: the same seed gives
//     the same bits on every machine and Go version.
//   - New(spec, batch) builds a training graph for a fixed batch size.
//     Params() and Grads() are flat buffers in Layout order. Every graph
//     reads the weights in place from Params (tensor views), so an
//     optimizer updating Params in place is seen by the next step without
//     copying. Replacing the slice itself is not seen: copy into it.
//   - ForwardBackward(x, y) overwrites Grads with the gradient of the MEAN
//     loss over the batch and returns that mean loss. It never accumulates
//     across calls unless asked (ForwardBackwardWith, Pass.Accumulate).
//     Data parallelism with N workers therefore sums the workers' Grads
//     and divides by N.
//   - Evaluate(x, y) runs the forward pass on any number of samples in
//     cached chunk graphs sharing Params and returns the SUM of per-label
//     losses and the count of correct argmax predictions.
//   - A language model reads Input = [context] token ids (float32
//     integers) per sample and has a label per position (Targets): the next
//     token. NextLogits(tokens) runs one sample of any length up to the
//     context and returns the next token's logits, for generation.
//   - Bad input (invalid Spec, wrong slice lengths, labels out of range)
//     returns an error wrapping ErrSpec or ErrInput that names the
//     problem; it never panics. A panic inside gorgonia is recovered and
//     returned wrapping ErrBackend.
//   - A Model is not safe for concurrent use; use one per goroutine.
//     Close releases its graphs.
//
// Execution: the network is defined as a gorgonia graph of fused kernels
// (a dense layer with its bias and ReLU, a LeNet block conv+bias+ReLU+
// maxpool, the loss), differentiated by gorgonia's symbolic G.Grad (each
// forward kernel's SymDiff adds backward kernels), and the resulting
// graph is compiled by this package into a program: the kernels in
// dependency order on buffers allocated once, parameter gradients written
// straight into Grads, GEMMs through the build's BLAS. A pass allocates
// nothing. The LeNet blocks keep their tensors with the batch innermost
// and run their convolutions, pooling and gradients as AVX2/FMA assembly
// kernels on amd64 (convkern.go: an indirect GEMM over offset views of
// the input, never a column matrix), the Go loops elsewhere and in the
// purego build. The same network built from gorgonia's own ops and run by its
// TapeMachine is kept as the reference engine the tests compare against
// (loss, gradients and evaluation within 1e-5 of the largest magnitude);
// the language models' kernels are checked by finite differences (and
// were compared once with PyTorch's). A tensor read twice (a residual
// connection, the transformer's tied embedding) gets the sum of its
// gradients from gorgonia's Add, which the executor runs (addKernel).
//
// Overlap: SetBucketBytes splits the flat buffer into buckets (Buckets);
// ForwardBackwardWith's Hooks are told, per bucket, before the forward
// pass first reads its parameters (WaitParams, ascending) and as soon as
// backward has made its gradients final (GradReady). Large fully
// connected weights are split into several buckets at row boundaries (so
// their reduce-scatters pipeline), but a layer's GEMMs always run whole,
// after all of its buckets arrived: a GEMM split over k would sum in
// another order, and the buckets never change a result (bitwise; tested).
// Pass.Accumulate and Pass.GradScale give gradient accumulation over
// micro-batches.
//
// Networks (all float32):
//
//	mlp: [Linear → ReLU] per Hidden size → Linear(Classes)
//	cnn: conv5x5(6, pad 2) → ReLU → maxpool2 → conv5x5(16) → ReLU →
//	     maxpool2 → flatten → [Linear → ReLU] per Hidden (default 120, 84)
//	     → Linear(Classes)
//	transformer: token + position embedding → Layers × [x + attn(LN(x));
//	     x + MLP(LN(x)) with GELU, 4× wide] → LN → logits = x·Eᵀ (the
//	     token embedding, tied); causal multi-head attention, pre-LayerNorm,
//	     optional biases and dropout (nanoGPT's GPT)
//	lstm, gru: embedding(Embed) → one recurrent layer per Hidden width
//	     (PyTorch's equations and gate order) → Linear(Classes)
//	layers: Spec.Net, a list of Layer: linear, conv2d, maxpool, relu,
//	     gelu, tanh, dropout, layernorm, flatten (mlp and cnn are two such
//	     lists, with the same loss and gradients)
//
// Defining a network in Go: set Kind to KindLayers and Net to the layers
// in order; each reads the previous one's per-sample shape, starting from
// Input, and the last must output [Classes]:
//
//	spec := model.Spec{Kind: model.KindLayers, Input: []int{1, 28, 28}, Classes: 10, Loss: model.LossXent,
//		Net: []model.Layer{
//			{Type: model.LayerConv2D, Out: 6, Kernel: 5, Pad: 2}, {Type: model.LayerReLU},
//			{Type: model.LayerMaxPool, Size: 2}, {Type: model.LayerFlatten},
//			{Type: model.LayerLinear, Out: 10},
//		}}
//	m, err := model.New(spec, 64) // then InitParams, ForwardBackward, ...
//
// To build models by name, a program registers Builders (functions from
// the data's shape and classes to a layer list) in a Registry it owns —
// NewRegistry, Register, then Registry.Spec(name, input, classes, loss)
// (ExampleRegistry); there is no package-level registry.
//
// Spec.Validate checks the shapes through the list; a mismatch wraps
// ErrSpec and names the layer's index, its type and the shapes ("layers[4]
// (linear): input shape [6 14 14] is not flat: add a flatten layer before
// it"). The parameters are layers.{i}.weight and layers.{i}.bias (i the
// layer's index): linear weights (in, out) like the fc layers', conv2d
// weights (out, in, k, k); initialization as the feed-forward kinds' (He
// before a relu, LeCun otherwise, biases 0, layernorm gains 1). The
// layers' tensors are (n, C, H, W) row-major between kernels. A LeNet
// block, conv2d (stride 1, with bias) → relu → maxpool 2, runs as the cnn
// kind's fused block and its assembly kernels (CHWN between two such
// blocks), so the cnn preset written as layers is as fast as kind cnn;
// any other conv2d runs as one GEMM per sample over an unfolded (im2col)
// copy of its input (about 5x slower on LeNet), maxpool and the
// activations as Go loops.
//
// Losses, per sample, with o the Classes outputs and t the one-hot label:
//
//	xent: logsumexp(o) - o[label]   (softmax cross-entropy)
//	mse:  mean over classes of (o - t)²
//
// BLAS: the default build runs its own packed GEMM (sgemm.go: AVX2/FMA
// assembly on amd64, 6×16 micro-kernel, 70–100 GFLOP/s on one thread;
// gonum's pure Go on other CPUs and in the purego build). The build tag
// openblas (cgo, CGO_LDFLAGS=-lopenblas, Debian libopenblas-dev) switches
// gorgonia and the kernels to OpenBLAS; the constant BLAS says which one a
// binary has. Run with OPENBLAS_NUM_THREADS=1 per worker.
//
// Go 1.26 needs go4.org/unsafe/assume-no-moving-gc at
// v0.0.0-20231121144256-b99613f794b6 or later in go.mod, or every program
// importing gorgonia panics at init; TestGorgoniaSmoke guards it.
package model
