package job

import (
	"fmt"
	"strings"
	"time"
)

// Spec is a training job. Every field has a documented default (Default).
type Spec struct {
	// Name labels the run in logs and summaries. Default: the data source
	// and model kind (DefaultName), "mnist-mlp" for the built-in job.
	Name string `yaml:"name"`
	// Seed drives parameter initialization and the data order. Default 1.
	Seed uint64 `yaml:"seed"`
	// Model to train.
	Model Model `yaml:"model"`
	// Data to train and evaluate on.
	Data Data `yaml:"data"`
	// Train: batch, length, optimizer.
	Train Train `yaml:"train"`
	// Cluster: how many workers.
	Cluster Cluster `yaml:"cluster"`
	// Eval: held-out evaluation.
	Eval Eval `yaml:"eval"`
	// Checkpoint settings (used by checkpointing; zero values disable it).
	Checkpoint Checkpoint `yaml:"checkpoint"`
	// Trace: workers record a Chrome trace-event span for every step phase
	// and ring step; the coordinator merges them into RUN_DIR/trace.json.
	// Default false (launch --trace sets it).
	Trace bool `yaml:"trace"`
}

// Model selects the network.
type Model struct {
	// Kind is "mlp", "cnn" (LeNet style), "layers" (the network is
	// Layers), or a character-level language model on a text source:
	// "transformer" (decoder-only, GPT style), "lstm" or "gru". Default
	// "mlp".
	Kind string `yaml:"kind"`
	// Hidden are the hidden layer sizes (mlp), the fully connected sizes
	// after the conv stack (cnn), or the widths of the recurrent layers
	// (lstm, gru). Default [256] for mlp, [120, 84] for cnn, [256, 256]
	// for lstm and gru; the transformer has none.
	Hidden []int `yaml:"hidden"`
	// Loss is "xent" (softmax cross-entropy) or "mse". Default "xent"
	// (the only one for language models).
	Loss string `yaml:"loss"`
	// Context is a language model's window: tokens in, next tokens out
	// at every position. Default 64.
	Context int `yaml:"context"`
	// Embed is the token embedding width (transformer: the model width).
	// Default 128.
	Embed int `yaml:"embed"`
	// Blocks is the number of transformer blocks. Default 4.
	Blocks int `yaml:"blocks"`
	// Heads is the number of attention heads; it divides embed. Default 4.
	Heads int `yaml:"heads"`
	// Bias gives the transformer's linear layers and LayerNorms biases.
	// Default false.
	Bias bool `yaml:"bias"`
	// Dropout is the transformer's dropout probability in [0, 1), drawn
	// deterministically from the seed, the rank and the step. Default 0.
	Dropout float64 `yaml:"dropout"`
	// Device is where every worker computes: "cpu" (gorgonia, the
	// default), "gpu" (a GPU per worker: the one its --device gpu:N
	// names, else GPU 0; needs the GPU binary, make build-gpu) or "gpu:N",
	// or "emu" (the GPU path's emulated device: slow, for trying the GPU
	// code without a GPU). A worker's --device flag overrides it. The GPU
	// path trains every kind; layers only of linear, conv2d, maxpool, relu
	// and flatten layers.
	Device string `yaml:"device"`
	// Layers is the network of kind layers, in order (see Layer), e.g.
	// [{type: flatten}, {type: linear, out: 128}, {type: relu},
	// {type: linear, out: 10}]. Default none.
	Layers []Layer `yaml:"layers"`
}

// Sequence reports whether the model is a language model (transformer,
// lstm, gru), which trains on a text source.
func (m Model) Sequence() bool {
	return m.Kind == "transformer" || m.Kind == "lstm" || m.Kind == "gru"
}

// Data selects the dataset.
type Data struct {
	// Source is, for classifiers, "default" (the embedded MNIST-10k),
	// "idx" (a directory in MNIST layout, also Fashion-MNIST), "csv",
	// "synthetic", "images" (a folder of images, one directory per class)
	// or "shards" (a directory written by ringtrain data pack, streamed;
	// docs/data.md); for language models "text" (a UTF-8 file, plain or
	// .gz), "shakespeare" (the embedded tiny Shakespeare) or "shards" (a
	// text packed by ringtrain data pack --from text). A text's
	// vocabulary is the sorted set of its characters; its first 90%
	// trains, the last 10% validates. Default "default".
	Source string `yaml:"source"`
	// Path: the IDX directory, the training CSV file, the text file, the
	// image folder (train/<class>/*.png|jpg and test/<class>/...), or the
	// shard directory.
	Path string `yaml:"path"`
	// TestPath: the test CSV file (csv only; required for csv).
	TestPath string `yaml:"test_path"`
	// CSV options (csv only).
	CSV CSV `yaml:"csv"`
	// Synthetic options (synthetic only).
	Synthetic Synthetic `yaml:"synthetic"`
	// Normalize is the classifiers' per-feature input normalization,
	// fitted on the training split only (data.FitNorm), stored in the
	// checkpoints and the export, applied by evaluation, predict and
	// serve (raw inputs in): "none" (default: features as loaded),
	// "standard" ((x-mean)/std), "minmax" ((x-min)/(max-min), to [0, 1])
	// or "scale" (x / the largest |x| of the training split).
	Normalize string `yaml:"normalize"`
	// ValFraction, in (0, 0.5], carves a validation split from the
	// training file by a shuffle seeded with the job's seed (classifier
	// sources); 0 (default) = off. Evaluations during training use it,
	// the final one the test split (csv: test_path may then be left out,
	// and the validation split is the test split).
	ValFraction float64 `yaml:"val_fraction"`
	// Image options (images only).
	Image Image `yaml:"image"`
	// Augment: random crop and flip of training images (sources with
	// samples of shape [C, H, W]: default, idx, images).
	Augment Augment `yaml:"augment"`
	// OnError is what a file that does not decode (images) or a damaged
	// record or shard (shards) does: "fail" (default; the error names the
	// file, and for a shard the byte offset) or "skip" (counted warning).
	OnError string `yaml:"on_error"`
	// Prefetch is how many training batches each worker fills ahead of
	// the step, on a goroutine of its own, while the step computes: 0
	// (off: the step fills its batch itself), 1 (default) or 2. The
	// batches are the same either way (worker/prefetch.go).
	Prefetch int `yaml:"prefetch"`
}

// CSV describes CSV files: numeric features and one integer label column.
type CSV struct {
	// LabelColumn is the label's column index; -1 (default) is the last.
	LabelColumn int `yaml:"label_column"`
	// Header: the first line is a header. Default false.
	Header bool `yaml:"header"`
	// Classes: number of classes; 0 (default) = largest label + 1.
	Classes int `yaml:"classes"`
}

// Image describes an image folder (source images, data/imagefolder.go):
// what every image becomes before training.
type Image struct {
	// Size: images become Size x Size pixels; 0 (default) keeps the
	// images' own size, which must then be the same for all.
	Size int `yaml:"size"`
	// Channels: 1 (grey, ITU-R 601 luma of RGB) or 3 (RGB); 0 (default)
	// = 1 if the first training image is grey, else 3.
	Channels int `yaml:"channels"`
	// Resize: "fit" (default: scale the shorter side to Size, then crop
	// the center), "stretch" (scale to Size x Size, ignoring the aspect
	// ratio) or "crop" (no scaling: the center Size x Size, zero-padded
	// where the image is smaller).
	Resize string `yaml:"resize"`
}

// Augment is deterministic training-time augmentation: each training
// sample of each epoch draws from the seed, the epoch and its index alone.
type Augment struct {
	// CropPadding: pad the image with this many zero pixels on every side
	// and take a random crop of its size (0 = off, default).
	CropPadding int `yaml:"crop_padding"`
	// Flip: mirror the image left-right with probability 1/2. Default
	// false.
	Flip bool `yaml:"flip"`
}

// Synthetic describes a generated classification problem.
type Synthetic struct {
	// N training samples (and N/4 test samples). Default 8000.
	N int `yaml:"n"`
	// Dim features. Default 32.
	Dim int `yaml:"dim"`
	// Classes. Default 4.
	Classes int `yaml:"classes"`
	// Noise added to the teacher's logits. Default 0.1.
	Noise float64 `yaml:"noise"`
}

// Train sets the optimization.
type Train struct {
	// GlobalBatch is the batch of one step over all workers; each worker
	// computes GlobalBatch / world size. Default 64.
	GlobalBatch int `yaml:"global_batch"`
	// Accumulate is gradient accumulation: each optimizer step sums the
	// gradients of Accumulate micro-batches, so a worker computes
	// GlobalBatch / (world size · Accumulate) samples per micro-batch and
	// the step makes the same update as one batch of GlobalBatch samples.
	// 1..1024, default 1 (no accumulation).
	Accumulate int `yaml:"accumulate"`
	// Epochs to train. Default 10. Ignored when Steps > 0.
	Epochs int `yaml:"epochs"`
	// Steps, if > 0, is the exact number of steps to train.
	Steps int `yaml:"steps"`
	// Optimizer and its hyper-parameters.
	Optimizer Optimizer `yaml:"optimizer"`
	// LR is the learning-rate schedule.
	LR LRSchedule `yaml:"lr"`
	// ClipNorm clips gradients to this global L2 norm; 0 (default) = off.
	ClipNorm float64 `yaml:"clip_norm"`
	// ReportEvery: steps between progress reports. Default 10.
	ReportEvery int `yaml:"report_every"`
	// MaxSkippedSteps: steps with a NaN or infinite loss or gradient on any
	// rank are skipped by every rank together; this many in a row stop the
	// run. Default 5.
	MaxSkippedSteps int `yaml:"max_skipped_steps"`
}

// Optimizer names an optimizer and its settings (PyTorch semantics).
type Optimizer struct {
	// Name: "sgd", "adam", "adamw", "adagrad", "rmsprop". Default "adamw".
	Name string `yaml:"name"`
	// Momentum (sgd). Default 0.
	Momentum float64 `yaml:"momentum"`
	// Nesterov (sgd, needs momentum). Default false.
	Nesterov bool `yaml:"nesterov"`
	// Beta1, Beta2 (adam, adamw). Defaults 0.9, 0.999.
	Beta1 float64 `yaml:"beta1"`
	Beta2 float64 `yaml:"beta2"`
	// Eps: numerical stability term (0 = the optimizer's default).
	Eps float64 `yaml:"eps"`
	// WeightDecay: decoupled for adamw, L2 for the others. Default 0.
	WeightDecay float64 `yaml:"weight_decay"`
	// Alpha: rmsprop smoothing constant. Default 0.99.
	Alpha float64 `yaml:"alpha"`
}

// LRSchedule is the learning-rate schedule.
type LRSchedule struct {
	// Kind: "constant", "step" or "cosine". Default "cosine".
	Kind string `yaml:"kind"`
	// Base learning rate. Default 0.002.
	Base float64 `yaml:"base"`
	// WarmupSteps of linear warmup. Default 0.
	WarmupSteps int `yaml:"warmup_steps"`
	// StepEvery and Gamma: "step" multiplies by Gamma every StepEvery steps.
	StepEvery int     `yaml:"step_every"`
	Gamma     float64 `yaml:"gamma"`
	// Min: the floor of the cosine decay. Default 0.
	Min float64 `yaml:"min"`
}

// Cluster bounds the number of workers.
type Cluster struct {
	// MinWorkers to start (and to keep training). Default 1.
	MinWorkers int `yaml:"min_workers"`
	// MaxWorkers admitted. Default 64.
	MaxWorkers int `yaml:"max_workers"`
	// Settle: once MinWorkers have joined, wait this long for more before
	// forming the first generation. Default 1s.
	Settle time.Duration `yaml:"settle"`
	// ProbeInterval and SuspicionMult tune memberlist's failure detection
	// (a silent node is declared dead after about SuspicionMult·log(N)
	// probe intervals). Defaults 500ms and 3: ~2.5 s on a few nodes.
	ProbeInterval time.Duration `yaml:"probe_interval"`
	SuspicionMult int           `yaml:"suspicion_mult"`
	// StepTimeout: a collective that makes no progress for this long breaks
	// the generation, and the coordinator forms a new one from the last
	// checkpoint. It must exceed the slowest worker's compute time per step.
	// Default 60s.
	StepTimeout time.Duration `yaml:"step_timeout"`
	// LinkMbps and LinkLatency emulate a slower network on every worker's
	// data-plane sends (megabits per second, and latency per frame); 0 = off.
	LinkMbps    float64       `yaml:"link_mbps"`
	LinkLatency time.Duration `yaml:"link_latency"`
	// FrameChecksum: every data-plane frame carries a CRC32C of its
	// payload, and a rank that receives a frame whose bytes changed in
	// transit breaks the generation (which re-forms from the last
	// checkpoint) instead of summing them. It costs a pass over every byte
	// sent and received: 17–48% more time for all-reduces of 1 MiB and more
	// on a 2-core loopback (docs/benchmarks.md). Off (default): only frame headers are
	// checksummed, and payloads rely on TCP's and the link's checksums.
	FrameChecksum bool `yaml:"frame_checksum"`
	// BucketBytes is the size of the gradient buckets that enter the
	// reduce-scatter while the backward pass still runs, in bytes (an
	// integer in YAML). 0 = off: one bucket for the whole model, reduced
	// after the backward pass, no overlap. 0 or 4096..1073741824 (1 GiB);
	// default 1048576 (1 MiB).
	BucketBytes int64 `yaml:"bucket_bytes"`
	// Compress: the width at which gradient partial sums travel in the
	// reduce-scatter: none (float32, default), bf16 or fp16 (half the
	// bytes; fp16 saturates beyond ±65504). What rounding loses is kept per
	// rank and added to the next step's gradients (error feedback), reset
	// to zero on a new generation. Parameters always travel as float32.
	Compress string `yaml:"compress"`
	// SharedMemory ("shm"): auto (default) links the workers that run on the
	// same host (same kernel, pid namespace and user) through shared memory
	// instead of loopback TCP, after an authenticated rendezvous over their
	// TCP links; off keeps every link on TCP. auto also keeps TCP when link
	// emulation (link_mbps, link_latency) is on, since the emulation stands
	// for the network between the workers.
	SharedMemory string `yaml:"shm"`
	// ReplicateEvery: every this many steps each rank sends the state only
	// it holds (its shard of the parameters and of the optimizer state) to
	// the next rank of the ring, off the step's critical path, so that
	// after a failure or a departure the survivors resume from the last
	// step every one of them completed instead of the last checkpoint
	// (the checkpoint stays the fallback). It costs memory copies (about
	// 8·P/W floats a replicated step; a device optimizer's state is also
	// copied off the device) and 24·P/W bytes per worker (docs/benchmarks.md,
	// "Live recovery"). 0 = off. Default 1.
	ReplicateEvery int `yaml:"replicate_every"`
}

// Eval configures evaluation on the held-out split.
type Eval struct {
	// EveryEpochs: evaluate after every N epochs (and always at the end);
	// 0 = only at the end. Default 1.
	EveryEpochs int `yaml:"every_epochs"`
	// Windows: a language model is evaluated on this many windows of the
	// validation text, evenly spaced (the same set every time), shared
	// among the workers. Default 1024.
	Windows int `yaml:"windows"`
}

// Checkpoint configures sharded checkpoints. Any of the triggers enables
// checkpointing, which then also saves the final step.
type Checkpoint struct {
	// EveryEpochs: checkpoint at every N-th epoch boundary; 0 = off.
	// Default 1.
	EveryEpochs int `yaml:"every_epochs"`
	// EverySteps: checkpoint every K steps; 0 = off.
	EverySteps int `yaml:"every_steps"`
	// Every: checkpoint every T of wall time (decided at reporting
	// boundaries, see train.report_every); 0 = off.
	Every time.Duration `yaml:"every"`
	// Keep the last K committed checkpoints. Default 3.
	Keep int `yaml:"keep"`
	// KeepEvery: also keep every checkpoint whose step is a multiple of M;
	// 0 = off.
	KeepEvery int `yaml:"keep_every"`
	// MaxFailures: a checkpoint the coordinator cannot store (its disk is
	// full, read-only or failing) does not stop the run: training goes on
	// and the next checkpoint is tried. This many failed checkpoints in a
	// row stop the run with the disk's error. Default 3.
	MaxFailures int `yaml:"max_failures"`
}

// Enabled reports whether any checkpoint trigger is set.
func (c Checkpoint) Enabled() bool { return c.EveryEpochs > 0 || c.EverySteps > 0 || c.Every > 0 }

// Triggers names the checkpoint triggers that are set, as the job's keys
// ("checkpoint.every_epochs: 1"), for messages; "" when none is.
func (c Checkpoint) Triggers() string {
	var set []string
	if c.EveryEpochs > 0 {
		set = append(set, fmt.Sprintf("checkpoint.every_epochs: %d", c.EveryEpochs))
	}
	if c.EverySteps > 0 {
		set = append(set, fmt.Sprintf("checkpoint.every_steps: %d", c.EverySteps))
	}
	if c.Every > 0 {
		set = append(set, fmt.Sprintf("checkpoint.every: %v", c.Every))
	}
	return strings.Join(set, ", ")
}
