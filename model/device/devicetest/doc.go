// Package devicetest is the conformance test of a device.Device.
//
// Conformance runs every kernel of the device package's table through
// its typed launch (device.Sgemm, device.BiasAct, …) on the device under
// test and on a fresh emulated device (device.NewEmu) with the same
// seeded random inputs, over a table of shapes (sizes 1, 15, 16, 17, 31,
// 33, 64, 100 and more; every transA/transB combination; beta 0 over a
// NaN-poisoned C and beta ≠ 0; alpha ≠ 1; softmax rows of large
// magnitudes (±80) and ties in the argmax; labels at 0, at cols−1 and
// outside the row; and, through raw launches, the reductions on blocks of
// 1, 33 and 100 threads), and checks:
//
//   - outputs agree within each kernel's tolerance (below), element by
//     element; a failure names the kernel, the shape, the buffer and the
//     first mismatching index;
//   - inputs are unchanged, and so are the parts of an output buffer the
//     kernel must not write (the padding between rows of C);
//   - the guard zones around every buffer (NaN patterns inside the same
//     allocation, before and after the view the kernel gets) are
//     unchanged on both devices, and a kernel reading them would turn its
//     results into NaN.
//
// Tolerances (e is the emulated device's value, d the tested device's):
//
//	sgemm         |d−e| ≤ 1e-5·(1 + |alpha|·Σ_k|op(A)[i,k]·op(B)[k,j]| + |beta·C[i,j]|)
//	bias_act      bitwise equal (NaN equals NaN)
//	act_grad      bitwise equal
//	col_sum       |d−e| ≤ 1e-5·(1 + |alpha|·Σ_r|x[r,c]| + |beta·out[c]|)
//	softmax_xent  loss |d−e| ≤ 1e-5·max(1, |e|); grad |d−e| ≤ 1e-5·|scale|; correct equal
//	mse_loss      loss |d−e| ≤ 1e-5·max(1, |e|); grad |d−e| ≤ 1e-5·(|e| + |scale|/cols); correct equal
//	optim_*       parameters and state bitwise equal (NaN equals NaN): every
//	              operation is a correctly rounded add/sub/mul/div/sqrt (.rn)
//
// The emulated device computes ex2/lg2 exactly where hardware
// approximates them (a few ulps), and the kernels' other arithmetic is the
// same in the same order, so a correct device is well inside these.
//
// It uses only the device.Device interface, so the PTX interpreter's
// tests and the CUDA device's test on a GPU run it as it is.
package devicetest
