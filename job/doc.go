// Package job is the job specification: the one YAML document that says
// what to train and how (model, data, batch, epochs or steps, optimizer and
// schedule, seed, cluster size, evaluation, checkpoints). The coordinator
// reads it and hands the exact bytes to every worker at Join, so every
// process trains the same job; Hash identifies it.
//
// Parsing is strict: unknown keys and bad values are errors that name the
// key (for example `train.global_batch: must be positive, got 0`). Default
// returns the built-in job: an MLP on the embedded MNIST-10k data.
//
// The package is plain configuration: it imports no other package of ours,
// so the coordinator can hold a job without linking the model code.
package job
