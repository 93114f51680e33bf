// Package data provides the datasets a worker trains on and the
// deterministic distributed sampler that decides which samples each rank
// sees at every step.
//
// # Datasets
//
// A Dataset is N samples of Dim float32 features (row-major in X) and an
// int32 label in [0, Classes) each. Loaders:
//
//   - IDX (the MNIST / Fashion-MNIST layout): DecodeIDX, LoadIDX, LoadIDXDir.
//     Only unsigned-byte IDX (type 0x08) is supported. An image file must
//     declare 3 dimensions and a label file 1, checked as soon as the header
//     is read (a label file with an image file's magic is named as such).
//     Pixels are scaled to [0, 1] as v/255 and images get the per-sample
//     shape [1, rows, cols].
//   - CSV: DecodeCSV, LoadCSV, LoadCSVPair. One sample per record, numeric
//     features used as they are, an integer label column. Without
//     CSVOptions.Header, a first record with a cell that is not a number is
//     reported as a probable header (the error suggests csv.header: true).
//   - Synthetic: features drawn from N(0, 1), labels the argmax of a fixed
//     random linear teacher plus optional noise, so a model can learn it.
//   - Default: the embedded MNIST-10k (8,000 train / 2,000 test, 28x28).
//
// IDX and CSV files may be gzipped or not; gzip is detected by its magic
// bytes (0x1f 0x8b), never by the file name (train.csv.gz, or a plain file
// named .gz, both load).
//
// # Image folders
//
// LoadImageFolder reads torchvision's ImageFolder layout: root/train/<class>/
// and root/test/<class>/ directories of PNG, JPEG or GIF files (Go's
// decoders, chosen by content). The classes are the sorted names of train's
// directories (Dataset.ClassNames), test must have the same (a test class
// may be empty, a training class may not); class directories are walked
// recursively in lexical order, hidden entries and files of other
// extensions are ignored and counted. Samples are in class order, then
// path order, of shape [C, H, W] with values v/255 as IDX: grey is
// color.GrayModel's ITU-R 601 luma, RGB the 8-bit channels (alpha
// premultiplied, i.e. over black). Size 0 keeps the images' own size (all
// must share the first's), else "fit" scales the shorter side (a separable
// triangle filter, widened when shrinking: PIL's antialiased bilinear) and
// crops the centre, "stretch" scales to the size, "crop" takes the centre
// unscaled and zero-pads. A file larger than MaxImageFileBytes or whose
// header claims more than MaxImagePixels is refused before decoding; a
// decoding error names the file and the bytes its decoder had read. With
// ImageOptions.Skip such files are left out and counted (ImageReport).
// Decoding runs on ImageOptions.Workers goroutines, all stopped before
// LoadImageFolder returns; Progress is called from the caller's goroutine.
//
// Augment is deterministic training-time augmentation of [C, H, W]
// samples: a random crop of the zero-padded image and a left-right flip,
// drawn from a PCG seeded with (seed, epoch, sample index) alone, so it
// does not depend on the rank, the world size or a resume.
//
// # Train and test splits, and the class count
//
// The split loaders (LoadIDXDir, LoadCSVPair, Default) check that train
// and test samples have the same Shape, and give both the same Classes:
// the declared count if any (CSVOptions.Classes, 2..MaxClasses; every label
// must be below it), else K = the largest training label + 1, which must
// satisfy
//
//   - 2 <= K <= MaxClasses (65,536);
//   - every class 0..K-1 has at least one training sample: a stray large
//     label (a corrupt byte of 200 among the digits 0..9) would otherwise
//     add empty classes;
//   - at least 2 training samples per class (2K <= N): an identifier or a
//     feature picked as the label column gives about one class per sample;
//   - every test label is below K.
//
// Each error names the label file (IDX) or CSV file, the index (IDX, from
// 0) or line (CSV, from 1) of the offending label and its value. The
// single-file loaders (LoadIDX, LoadCSV, DecodeCSV) set Classes to the
// largest label + 1 without these checks.
//
// Every decoder treats its input as untrusted: it never panics, checks
// sizes before allocating (DecodeIDX refuses a data section larger than
// MaxIDXBytes and allocates in proportion to the bytes actually read, so a
// short file claiming huge dimensions costs nothing), and returns an error
// that names the file, field, 1-based line and column or value at fault.
//
// # Preprocessing
//
// FitNorm fits a per-feature affine map (Norm: feature j becomes
// (x - Shift[j]) * Factor[j], in float32) on a training split: standard
// ((x - mean) / population std), minmax ((x - min) / (max - min)) or
// scale (x / the largest |x| of the split, one factor), with float64
// sums over the samples in order so that every process fitting the same
// data gets the same bits; a feature with no spread is listed in
// Constant and gets Factor 1. Apply and ApplyTo use it; MarshalNorm and
// ParseNorm (which validates untrusted bytes, fuzzed) carry it in
// checkpoint manifests and export metadata. ConstantFeatures lists the
// features with one value. SplitValidation carves a validation split by
// a permutation seeded like the sampler's, on a stream of its own.
//
// # Sampler
//
// The global batch of B samples is fixed by the job; the per-rank batch is
// B/W for world size W, which must divide B. Epoch e uses a permutation of
// [0, N) that is a function of (seed, e) alone: a Fisher-Yates shuffle
// driven by math/rand/v2's PCG seeded with (seed, e), with this package's
// own bounded-integer reduction, so it does not change with the Go release.
// Global batch s of epoch e is perm[s*B:(s+1)*B]; the last incomplete batch
// is dropped; rank r takes the contiguous part [r*B/W, (r+1)*B/W) of it.
// Hence the union over ranks of one step's batches, in rank order, is the
// world-size-1 batch, and the data seen does not depend on the world size:
// an elastic resize at a step boundary changes nothing but who computes
// what. A Cursor (epoch, step of the next batch) is all the sampler state a
// checkpoint needs.
//
// EvalRange splits n evaluation samples into contiguous per-rank ranges
// whose sizes differ by at most one.
//
// Nothing here but LoadImageFolder starts goroutines, and nothing holds
// global mutable state. A Sampler
// caches the current epoch's permutation and is not safe for concurrent
// use; Datasets are read-only after loading and safe to share.
//
// # Text corpora
//
// A Text is a character corpus for character-level language models
// (ReadText, LoadTextFile, and Shakespeare, the embedded tiny Shakespeare
// of data/shakespeare): gzip detected by its magic bytes, valid UTF-8
// required, the vocabulary the sorted set of its characters (at most
// MaxVocab, so tokens are uint16), and the first floor(0.9 n) of its n
// characters train, the rest validate, as nanoGPT's shakespeare_char.
// A Vocab encodes and decodes; VocabFromRunes rebuilds one from a saved
// list. A WindowSampler draws the B window starts of global step s
// uniformly from a PCG seeded with (seed, s) alone, so any step can be
// regenerated on resume, and rank r of W takes the contiguous part
// [r*B/W, (r+1)*B/W); Window and Windows fill the inputs and their
// next-token targets. EvalStarts picks fixed, evenly spread evaluation
// windows and ShardEval splits them among ranks as EvalRange does. A
// WindowSampler holds no mutable state and is safe for concurrent use.
//
// # Shard directories
//
// A shard directory (docs/data.md) holds a data set as shard files of
// checksummed records (a label and the raw features, uint8 or float32)
// and the manifest shards.json (shape, classes, input scale, each file's
// samples, size and CRC32C): DecodeShard, ReadShard, DecodeManifest,
// ReadManifest; ShardWriter and PackDatasets write one (each file fsynced
// and renamed into place, the manifest last). Every decoder names the file
// and byte offset at fault (ShardError). A ShardPlan deals the training
// shards: epoch e visits the shards and each shard's records in orders
// seeded by (seed, e), and rank r of W reads the r-th contiguous W-th of
// that stream, so it touches only about N/(W*shard)+1 shards per epoch and
// a Cursor is all the state. ShardPlan.Samples is the reference the
// worker's stream is tested against. LoadShardSplit reads a split whole
// (the test split).
package data
