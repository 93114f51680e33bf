// Package checkpoint stores sharded training checkpoints crash-safely:
// the on-disk format, two-phase commit, listing, verification, retention,
// resharding on load and export. It imports only the standard library; the
// model layout, optimizer and job specs come in as plain data, and all I/O
// goes through the FS interface (OSFS for real disks, MemFS to simulate
// crashes and faults).
//
// # On-disk format
//
//	DIR/LATEST                                 one line: "step-000000001200\n"
//	DIR/step-000000001200/MANIFEST.json        the manifest
//	DIR/step-000000001200/shard-00000.safetensors
//	...
//	DIR/step-000000001200/shard-<W-1>.safetensors
//
// A shard is the range [lo, hi) of the flat float32 parameter buffer that
// one writer rank owns, with each optimizer state over the same range, in
// one safetensors file (8-byte little-endian header length, a JSON header
// space-padded to a multiple of 8, then raw little-endian tensor data):
// 1-D F32 tensors "params" then "state.<name>" in name order, back to back,
// and __metadata__ {"format": "ringtrain.shard.v1", "step", "lo", "hi"} plus
// caller metadata. See EncodeShard and DecodeShard.
//
// The manifest is indented JSON (see Manifest): format_version (1), step,
// epoch, sampler cursor, RNG state (base64), world size, the model spec and
// parameter layout (name, shape, offset), num_params, optimizer spec,
// optimizer step count and state names, one entry per shard (rank, lo, hi,
// file, size, crc32c), creation time, job hash and the job (YAML) it is of,
// and manifest_crc32c: the CRC32C (Castagnoli) of the manifest's compact
// JSON encoding without that field, which catches a flipped bit that still
// parses. Shards are checked with CRC32C (≈20 GB/s; it detects every burst
// of up to 32 bits; it is not a defence against deliberate tampering).
//
// Temporary files carry ".tmp-<n>" in their names and are never read.
// OSFS creates directories 0700 and files 0600: a checkpoint is its
// owner's alone (an existing directory keeps its mode).
//
// # Commit protocol
//
// Checkpoint s is committed when LATEST names it. Every durable write is
// atomic: write a temporary file in the same directory, fsync it, rename it
// over the final name, fsync the directory.
//
//  1. Each shard: Store.WriteShard(s, rank, r) creates DIR/step-s (and
//     fsyncs DIR) if needed, streams the shard into a temporary file while
//     checking its header and computing its CRC32C, fsyncs, renames to
//     shard-<rank>.safetensors, fsyncs the step directory. It returns the
//     ShardInfo for the manifest.
//  2. Store.Commit(m): m lists every shard's ShardInfo. Commit reads every
//     shard back (present, size, header, CRC32C), then writes MANIFEST.json
//     atomically, then writes LATEST atomically (the commit point), then
//     prunes old checkpoints.
//
// A crash at any instant therefore leaves LATEST naming a checkpoint whose
// manifest and shards are all durable. Directories without a manifest, and
// manifests of steps after LATEST's, are leftovers of unfinished commits:
// never restored from (unless LATEST itself is lost), removed by Rewind and
// Prune.
//
// # Caller's duties
//
// Coordinator (the only writer of a directory):
//
//  1. store, err := Open(OSFS{}, dir, opts) (opts.ModelSpec set to the
//     job's model, so a checkpoint of another model is never used; a
//     caller that learns the model later pins it with ExpectModel, and
//     ExpectJob pins the job whose manifests Commit accepts).
//  2. To restore: m, warnings, err := store.Latest() (log the warnings:
//     each names a bad file that was skipped; Options.Strict refuses
//     instead), then store.Rewind(m.Step) before writing new checkpoints.
//     Workers read their data with ReadRange or ReadInto for any world size.
//  3. At a checkpoint step s: WriteShard for every rank's stream (in
//     parallel), collect the ShardInfos in rank order, fill a Manifest and
//     Commit it. If any shard or the commit fails, do not commit; Discard
//     the step (it removes the partial step directory and refuses anything
//     LATEST may rely on), or leave it to the next commit's pruning.
//
// Worker: snapshot the shard (copy params[lo:hi] and the optimizer state
// slices), then EncodeShard it into the upload stream while training goes
// on.
//
// Tools: List (ls), Load (inspect), Verify (every checksum; BadFiles names
// the bad files), CheckLatest (LATEST names a checkpoint that loads, as a
// strict resume requires), Strays (files named like a step directory, which
// everything else ignores), Export (one standard safetensors file, tensors
// shaped like the model; WriteExport and ReadExport also carry the I8
// tensors of an int8-quantized model, which shards never hold), Prune.
//
// # Errors
//
// Errors wrap ErrNotFound, ErrCorrupt, ErrMismatch, ErrVersion, ErrExists,
// ErrInvalid or ErrPrune; errors about a file carry a *FileError with its
// path. No input file, however damaged or hostile, causes a panic, and
// every allocation made while reading one is bounded by the file's size
// (headers by min(size, 1 MiB), manifests by MaxManifestBytes).
package checkpoint
