// Package device is the small device interface the GPU training path runs
// on: allocate memory, copy between host and device, launch a named kernel
// with a launch geometry. It imports neither gorgonia nor cu.
//
// Contract:
//
//   - A Device hands out Buffers (device memory, zeroed, addressed by a
//     64-bit device address; Buffer.At gives a view at a byte offset, so
//     one allocation holds a whole flat parameter buffer and every tensor
//     is a view of it).
//   - Copies (CopyIn, CopyOut; Upload and Download for typed slices) are
//     synchronous with respect to the host and ordered after every launch
//     issued before them: a CopyOut sees the results of the kernels
//     launched before it.
//   - Launch runs a kernel of the Kernels table by name on a grid of
//     blocks of threads. Its arguments must match the kernel's signature
//     (Buffer for a pointer, I32 and F32 for scalars); a mismatch is an
//     error wrapping ErrLaunch, never a crash. Launches are ordered.
//   - Every kernel is written three times: as PTX text (kernels/*.ptx,
//     embedded; loaded by the CUDA device of the gpu build and by the PTX
//     interpreter of package ptxsim), and as a Go implementation with the
//     same launch geometry (a thread or block of the grid computes what
//     the PTX thread or block computes), which the emulated device (Emu)
//     runs. The conformance tests run each kernel's PTX (interpreted) and
//     its Go implementation on the same inputs and geometries and compare.
//   - Memory accesses outside a Buffer's allocation are errors wrapping
//     ErrFault on the emulated device (what compute-sanitizer reports on a
//     GPU), so a host-side geometry or offset bug fails the tests.
//
// Implementations: Emu (Go, everywhere), ptxsim.Device (interprets the
// PTX, tests), and the CUDA device in package cuda (build tag gpu only,
// through gorgonia.org/cu: its package init exits the process where there
// is no GPU, so the default binary never imports it).
package device
