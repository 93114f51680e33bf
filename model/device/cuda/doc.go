// Package cuda is the device.Device of an NVIDIA GPU, through the CUDA
// driver API (gorgonia.org/cu v0.9.6 plus a few lines of cgo of its own
// against cuda.h). It exists only in the gpu build: every other file of
// the package has the build constraint gpu, so without -tags gpu the
// package is empty (this file only) and imports nothing.
//
// Why a tag: package cu's init calls cuInit and exits the process (status
// 1) where there is no driver or no device, so nothing that imports it can
// run on a machine without a GPU, and it needs cgo, cuda.h and libcuda to
// build. The default binary therefore never imports it; bin/ringtrain-gpu
// (make build-gpu, docs/gpu.md) does. The tag is gpu, never cuda: cuda
// switches gorgonia itself into its own CUDA mode.
//
// What Open does: it retains the primary context of GPU ordinal (the one
// context per device and process that the CUDA runtime also uses), makes
// it current, creates one stream, loads every PTX module of
// device.Modules() with cuModuleLoadData (the driver JIT-compiles the PTX
// for the GPU; a compile error comes back with the JIT's log) and looks up
// every kernel of device.Kernels() (one missing from every module is an
// error naming it).
//
// Threads: a CUDA context is current per OS thread, and a goroutine may
// move between OS threads between any two statements, so a context made
// current once (as cu's CUContext.Lock does, which also ties the caller's
// goroutine to its thread for good) is only safe if every later call comes
// from that goroutine. Instead every method of Device locks the calling
// goroutine to its OS thread for the duration of the call
// (runtime.LockOSThread, undone before returning), makes the device's
// context current on that thread (cuCtxSetCurrent, a thread-local store)
// and then calls the driver. So a Device may be used from any goroutine,
// and a mutex serializes the calls, making it safe for concurrent use.
//
// Order: launches, copies and the zeroing of new allocations all go to
// the one stream, in the order they are issued; CopyIn and CopyOut wait
// for their copy (so for everything issued before it), which is the
// contract of device.Device: copies are synchronous for the host and see
// the results of earlier launches.
//
// Memory: Alloc is cuMemAlloc followed by cuMemsetD8 to zero; the device
// keeps a table of its allocations, so a copy or a launch argument outside
// them is refused with an error wrapping device.ErrFault before it reaches
// the GPU (a wild address on a GPU poisons the whole context). HostAlloc
// is page-locked memory from cuMemHostAlloc, so copies from and to it run
// at the bus's full speed. Close frees what is still allocated, unloads
// the modules and releases the primary context.
package cuda
