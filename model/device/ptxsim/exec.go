package ptxsim

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ringtrain/ringtrain/model/device"
)

// Thread states within a block.
const (
	stRun  uint8 = iota // runnable
	stWait              // waiting at bar.sync
	stExit              // exited (ret/exit)
)

// run is the state of one launch: the kernel, its geometry, the register
// files and program counters of the current block's threads, its shared
// memory, and the instruction budget left.
type run struct {
	dev         *Device
	k           *kernel
	grid, block device.Dim3 // normalized
	nslots      int
	regs        []uint64 // thread t's registers: regs[t*nslots:(t+1)*nslots]
	pcs         []int32
	state       []uint8
	shared      []byte
	left        int64       // instructions left of the budget
	cta         device.Dim3 // the block running

	// The allocation the last global access hit: gmem is its memory at
	// device address gbase; glim is len(gmem)-3 (0 for none), so offset
	// off is a valid 4-byte access when off < glim.
	gbase uint64
	glim  uint64
	gmem  []byte
}

// thread runs thread t of the current block from its program counter
// until it waits at a barrier, exits, or faults.
func (r *run) thread(t int) error {
	ns := r.nslots
	regs := r.regs[t*ns : (t+1)*ns : (t+1)*ns]
	code := r.k.code
	shared := r.shared
	pc := r.pcs[t]
	left := r.left
	for {
		if left <= 0 {
			r.left = 0
			return fmt.Errorf("%w: kernel %s: more than %d instructions executed (an endless loop?); see Device.SetBudget", ErrBudget, r.k.name, r.dev.budget)
		}
		left--
		in := &code[pc]
		pc++
		if in.guard >= 0 && (regs[in.guard] != 0) == in.neg {
			continue
		}
		switch in.op {
		case opMov:
			regs[in.d] = regs[in.a]

		case opLdG:
			addr := regs[in.a] + uint64(in.imm)
			if off := addr - r.gbase; off < r.glim && addr&3 == 0 {
				regs[in.d] = uint64(binary.LittleEndian.Uint32(r.gmem[off:]))
				break
			}
			m, err := r.global(addr)
			if err != nil {
				r.left = left
				return r.fault(t, pc-1, addr, err)
			}
			regs[in.d] = uint64(binary.LittleEndian.Uint32(m))
		case opStG:
			addr := regs[in.a] + uint64(in.imm)
			if off := addr - r.gbase; off < r.glim && addr&3 == 0 {
				binary.LittleEndian.PutUint32(r.gmem[off:], uint32(regs[in.b]))
				break
			}
			m, err := r.global(addr)
			if err != nil {
				r.left = left
				return r.fault(t, pc-1, addr, err)
			}
			binary.LittleEndian.PutUint32(m, uint32(regs[in.b]))
		case opLdS:
			addr := uint32(regs[in.a]) + uint32(in.imm)
			if addr&3 != 0 || uint64(addr)+4 > uint64(len(shared)) {
				r.left = left
				return r.fault(t, pc-1, uint64(addr), r.sharedErr(addr))
			}
			regs[in.d] = uint64(binary.LittleEndian.Uint32(shared[addr:]))
		case opStS:
			addr := uint32(regs[in.a]) + uint32(in.imm)
			if addr&3 != 0 || uint64(addr)+4 > uint64(len(shared)) {
				r.left = left
				return r.fault(t, pc-1, uint64(addr), r.sharedErr(addr))
			}
			binary.LittleEndian.PutUint32(shared[addr:], uint32(regs[in.b]))

		case opAdd32:
			regs[in.d] = uint64(uint32(regs[in.a]) + uint32(regs[in.b]))
		case opSub32:
			regs[in.d] = uint64(uint32(regs[in.a]) - uint32(regs[in.b]))
		case opMul32:
			regs[in.d] = uint64(uint32(regs[in.a]) * uint32(regs[in.b]))
		case opMad32:
			regs[in.d] = uint64(uint32(regs[in.a])*uint32(regs[in.b]) + uint32(regs[in.c]))
		case opAdd64:
			regs[in.d] = regs[in.a] + regs[in.b]
		case opSub64:
			regs[in.d] = regs[in.a] - regs[in.b]
		case opMul64:
			regs[in.d] = regs[in.a] * regs[in.b]
		case opMulWideS:
			regs[in.d] = uint64(int64(int32(regs[in.a])) * int64(int32(regs[in.b])))
		case opMulWideU:
			regs[in.d] = uint64(uint32(regs[in.a])) * uint64(uint32(regs[in.b]))
		case opMadWideS:
			regs[in.d] = uint64(int64(int32(regs[in.a])))*uint64(int64(int32(regs[in.b]))) + regs[in.c]
		case opMadWideU:
			regs[in.d] = uint64(uint32(regs[in.a]))*uint64(uint32(regs[in.b])) + regs[in.c]
		case opDivS32:
			regs[in.d] = uint64(uint32(divS32(int32(regs[in.a]), int32(regs[in.b]))))
		case opDivU32:
			regs[in.d] = uint64(divU32(uint32(regs[in.a]), uint32(regs[in.b])))
		case opRemS32:
			regs[in.d] = uint64(uint32(remS32(int32(regs[in.a]), int32(regs[in.b]))))
		case opRemU32:
			regs[in.d] = uint64(remU32(uint32(regs[in.a]), uint32(regs[in.b])))
		case opMinS32:
			regs[in.d] = uint64(uint32(min(int32(regs[in.a]), int32(regs[in.b]))))
		case opMinU32:
			regs[in.d] = uint64(min(uint32(regs[in.a]), uint32(regs[in.b])))
		case opMaxS32:
			regs[in.d] = uint64(uint32(max(int32(regs[in.a]), int32(regs[in.b]))))
		case opMaxU32:
			regs[in.d] = uint64(max(uint32(regs[in.a]), uint32(regs[in.b])))
		case opNeg32:
			regs[in.d] = uint64(-uint32(regs[in.a]))
		case opAbs32:
			v := int32(regs[in.a])
			if v < 0 {
				v = -v // abs(MinInt32) wraps to MinInt32, as in PTX
			}
			regs[in.d] = uint64(uint32(v))
		case opAnd:
			regs[in.d] = regs[in.a] & regs[in.b]
		case opOr:
			regs[in.d] = regs[in.a] | regs[in.b]
		case opXor:
			regs[in.d] = regs[in.a] ^ regs[in.b]
		case opNot32:
			regs[in.d] = uint64(^uint32(regs[in.a]))
		case opNot64:
			regs[in.d] = ^regs[in.a]
		case opNotPred:
			regs[in.d] = regs[in.a] ^ 1
		// Shift amounts above the width are clamped to it (PTX); Go's
		// shifts by an unsigned count at or above the width give the
		// same results (0, or the sign for an arithmetic right shift).
		case opShl32:
			regs[in.d] = uint64(uint32(regs[in.a]) << uint32(regs[in.b]))
		case opShl64:
			regs[in.d] = regs[in.a] << uint32(regs[in.b])
		case opShrU32:
			regs[in.d] = uint64(uint32(regs[in.a]) >> uint32(regs[in.b]))
		case opShrS32:
			regs[in.d] = uint64(uint32(int32(regs[in.a]) >> uint32(regs[in.b])))
		case opShrU64:
			regs[in.d] = regs[in.a] >> uint32(regs[in.b])
		case opShrS64:
			regs[in.d] = uint64(int64(regs[in.a]) >> uint32(regs[in.b]))

		case opAddF:
			regs[in.d] = fbits(f32(regs[in.a]) + f32(regs[in.b]))
		case opSubF:
			regs[in.d] = fbits(f32(regs[in.a]) - f32(regs[in.b]))
		case opMulF:
			regs[in.d] = fbits(f32(regs[in.a]) * f32(regs[in.b]))
		case opFmaF:
			regs[in.d] = fbits(fma32(f32(regs[in.a]), f32(regs[in.b]), f32(regs[in.c])))
		case opDivF, opNegF, opAbsF, opMinF, opMaxF, opSqrtF, opRsqrtF, opRcpF, opEx2F, opLg2F, opTanhF:
			regs[in.d] = fbits(evalF(in.op, f32(regs[in.a]), f32(regs[in.b]), f32(regs[in.c])))
		case opFtzF:
			v := evalF(opcode(in.aux), flush(f32(regs[in.a])), flush(f32(regs[in.b])), flush(f32(regs[in.c])))
			regs[in.d] = fbits(flush(v))

		case opSetpS32:
			regs[in.d] = uint64(in.aux>>cmpInt(int32(regs[in.a]), int32(regs[in.b]))) & 1
		case opSetpU32:
			regs[in.d] = uint64(in.aux>>cmpInt(uint32(regs[in.a]), uint32(regs[in.b]))) & 1
		case opSetpS64:
			regs[in.d] = uint64(in.aux>>cmpInt(int64(regs[in.a]), int64(regs[in.b]))) & 1
		case opSetpU64:
			regs[in.d] = uint64(in.aux>>cmpInt(regs[in.a], regs[in.b])) & 1
		case opSetpF:
			regs[in.d] = b2u(in.aux&cmpF(f32(regs[in.a]), f32(regs[in.b])) != 0)
		case opSetpFFtz:
			regs[in.d] = b2u(in.aux&cmpF(flush(f32(regs[in.a])), flush(f32(regs[in.b]))) != 0)
		case opSelp:
			if regs[in.c] != 0 {
				regs[in.d] = regs[in.a]
			} else {
				regs[in.d] = regs[in.b]
			}

		case opCvtF32S32:
			regs[in.d] = fbits(float32(int32(regs[in.a])))
		case opCvtF32U32:
			regs[in.d] = fbits(float32(uint32(regs[in.a])))
		case opCvtF2I:
			regs[in.d] = uint64(cvtF2I(f32(regs[in.a]), in.aux))
		case opCvtZext:
			regs[in.d] = uint64(uint32(regs[in.a]))
		case opCvtSext:
			regs[in.d] = uint64(int64(int32(regs[in.a])))
		case opCvtTrunc:
			regs[in.d] = uint64(uint32(regs[in.a]))

		case opBra:
			pc = int32(in.imm)
		case opBar:
			r.pcs[t] = pc
			r.state[t] = stWait
			r.left = left
			return nil
		case opExit:
			r.state[t] = stExit
			r.left = left
			return nil
		default:
			r.left = left
			return fmt.Errorf("%w: kernel %s: %s:%d: undecoded opcode %d (an interpreter bug)", device.ErrDevice, r.k.name, r.k.module, r.k.lines[pc-1], in.op)
		}
	}
}

// cmpInt is the setp outcome bit index of comparing a and b: 0 a<b, 1
// a==b, 2 a>b.
func cmpInt[T int32 | uint32 | int64 | uint64](a, b T) uint8 {
	switch {
	case a < b:
		return 0
	case a == b:
		return 1
	}
	return 2
}

func b2u(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

// Integer division by zero is unspecified in PTX and does not trap on
// hardware; the interpreter gives the all-ones value for the quotient (-1
// signed, 0xFFFFFFFF unsigned) and the dividend for the remainder, what
// the division sequence ptxas emits computes. MinInt32 / -1 wraps to
// MinInt32 (remainder 0). Remainders truncate, as in C and Go.
func divS32(a, b int32) int32 {
	if b == 0 {
		return -1
	}
	return a / b
}

func divU32(a, b uint32) uint32 {
	if b == 0 {
		return math.MaxUint32
	}
	return a / b
}

func remS32(a, b int32) int32 {
	if b == 0 {
		return a
	}
	return a % b
}

func remU32(a, b uint32) uint32 {
	if b == 0 {
		return a
	}
	return a % b
}

// global resolves a 4-byte global access at addr outside the cached
// allocation: it finds the allocation (and caches it) or returns the
// fault.
func (r *run) global(addr uint64) ([]byte, error) {
	if addr&3 != 0 {
		return nil, fmt.Errorf("%w: misaligned 4-byte access at %#x", device.ErrFault, addr)
	}
	if m, ok := r.dev.region(addr); ok {
		off := addr - m.base
		if off+4 <= uint64(len(m.mem)) && off+4 > off {
			r.gbase, r.gmem = m.base, m.mem
			r.glim = 0
			if len(m.mem) >= 4 {
				r.glim = uint64(len(m.mem)) - 3
			}
			return m.mem[off : off+4], nil
		}
	}
	if _, err := r.dev.arena.Resolve(addr, 4); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %#x is arena memory the device did not allocate (an interpreter bug)", device.ErrDevice, addr)
}

func (r *run) sharedErr(addr uint32) error {
	if addr&3 != 0 {
		return fmt.Errorf("%w: misaligned 4-byte shared access at %#x", device.ErrFault, addr)
	}
	return fmt.Errorf("%w: 4-byte shared access at %#x outside the block's %d bytes of shared memory", device.ErrFault, addr, len(r.shared))
}

// fault wraps err (which wraps device.ErrFault) with where it happened:
// the kernel, block, thread, PTX line and instruction, and the address.
func (r *run) fault(t int, pc int32, addr uint64, err error) error {
	tid := r.tid(t)
	return fmt.Errorf("kernel %s block (%d,%d,%d) thread (%d,%d,%d), %s:%d %s, address %#x: %w",
		r.k.name, r.cta.X, r.cta.Y, r.cta.Z, tid.X, tid.Y, tid.Z, r.k.module, r.k.lines[pc], r.k.text[pc], addr, err)
}

// tid is the index within the block of linear thread t (x fastest).
func (r *run) tid(t int) device.Dim3 {
	b := r.block
	return device.Dim3{X: t % b.X, Y: t / b.X % b.Y, Z: t / (b.X * b.Y)}
}
