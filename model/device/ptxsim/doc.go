// Package ptxsim interprets PTX kernels on the CPU, so the project's
// hand-written PTX (device.Modules) is tested where there is no GPU. A
// *Device implements device.Device: memory in a device.Arena, launches
// run synchronously and deterministically.
//
// New parses each module and decodes every .entry into a compact form
// (an opcode per instruction, operands resolved to register-file slots,
// immediates and special registers and parameters turned into slots,
// branch targets resolved), so execution never looks at text. Anything
// outside the PTX subset below is an error naming the module and line.
//
// The subset: a module is `.version 7.0`–`7.8`, `.target sm_80`,
// `.address_size 64`, then `[.visible] .entry NAME(.param .TYPE NAME, …)
// { … }` with parameters .u64/.b64 (pointers), .u32/.s32/.b32, .f32. A
// body declares registers (`.reg .pred|.b32|.u32|.s32|.f32|.b64|.u64|.s64
// %r<N>;` or named ones) and static shared arrays (`.shared .align A .f32
// NAME[N];`, `.b8` too; laid out from shared address 0 in declaration
// order), labels, and instructions, each optionally guarded by `@%p` or
// `@!%p`:
//
//	mov.{b32,u32,s32,f32,b64,u64,s64}  (a register, literal, %tid/%ntid/%ctaid/%nctaid.{x,y,z}, a shared array's address)
//	ld.param.{u64,u32,s32,f32}  cvta.to.global.u64
//	ld/st.global.{f32,u32,s32,b32} [%rd], [%rd+IMM]   ld/st.shared.{f32,u32,b32} [%r+IMM], [NAME+IMM]
//	add sub .{s32,u32,s64,u64}  mul.lo.{s32,u32,s64,u64}  mul.wide.{s32,u32}  mad.lo.{s32,u32}  mad.wide.{s32,u32}
//	div rem min max .{s32,u32}  neg.s32 abs.s32  and or xor not .{b32,b64,pred}  shl.{b32,b64}  shr.{b32,u32,s32,b64,u64,s64}
//	add sub mul {.rn}{.ftz}.f32  fma.rn  div.{rn,approx,full}  neg abs min max  sqrt.rn  rsqrt.approx  rcp.rn  ex2.approx  lg2.approx (all {.ftz}.f32)  tanh.approx.f32
//	setp.{eq,ne,lt,le,gt,ge}.{s32,u32,s64,u64,f32}  setp.{equ,neu,ltu,leu,gtu,geu,num,nan}{.ftz}.f32  selp.{b32,s32,u32,f32,b64,u64}
//	cvt.rn.f32.{s32,u32}  cvt.{rzi,rni,rmi,rpi}{.ftz}.{s32,u32}.f32  cvt.{u64,s64}.{u32,s32}  cvt.u32.u64
//	bra  bra.uni  bar.sync 0  ret  exit
//
// Literals are decimal or 0x hex integers (a leading 0, octal in PTX, is
// refused) and 0fXXXXXXXX float bit patterns. Operand types follow PTX's
// checking rules (a .bN register goes with any N-bit type, signed and
// unsigned integers mix, floats only with themselves and .bN). An entry
// must end in ret, exit or an unconditional bra.
//
// Semantics are CUDA's, with these choices where PTX leaves freedom:
//
//   - Blocks run one after another; the threads of a block run one at a
//     time, each until it reaches bar.sync or exits; when every thread
//     that has not exited waits at the barrier, all are released. Threads
//     interleave only at barriers: a thread spinning on a value another
//     thread of its block writes without a barrier in between never sees
//     it (the launch ends with ErrBudget), a pattern CUDA does not
//     guarantee either.
//   - Registers start holding 0x7FFFDEAD (a NaN) or 0x7FFFDEAD7FFFDEAD,
//     predicates false, shared memory the 0x7FFFDEAD pattern, so reading
//     before writing shows.
//   - A global access outside an allocation or misaligned, or a shared
//     access outside the block's shared memory, is an error wrapping
//     device.ErrFault naming the kernel, block, thread, line and address.
//   - f32 arithmetic is IEEE single precision, rounded after each
//     instruction (ptxas may contract add/mul without .rn into an fma;
//     hardware results can then differ in the last bit). fma.rn is
//     correctly rounded. Approximate operations (rsqrt, ex2, lg2, tanh,
//     div.approx/full) are computed exactly and rounded, where hardware
//     is off by a few ulps (tanh.approx by up to ~2⁻¹¹ relative): compare
//     with tolerances. .ftz flushes subnormal inputs and results to zero.
//     min/max return the non-NaN operand and order -0 below +0. NaN
//     results are not canonicalized.
//   - cvt from f32 to an integer saturates; NaN gives 0.
//   - Integer division by zero gives all ones (-1, 0xFFFFFFFF), the
//     remainder the dividend; hardware does not trap.
//   - A launch may execute DefaultBudget instructions (SetBudget changes
//     it); past that it fails with ErrBudget naming the kernel.
package ptxsim
