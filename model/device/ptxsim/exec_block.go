package ptxsim

import (
	"math"

	"github.com/ringtrain/ringtrain/model/device"
)

// Garbage patterns: what uninitialized registers and shared memory hold
// at the start of a block, so a kernel that reads them before writing
// shows it. 0x7FFFDEAD is a quiet NaN as a float and a large integer; a
// 64-bit register's pattern is no device address.
const (
	garbage32 = 0x7FFFDEAD
	garbage64 = 0x7FFFDEAD7FFFDEAD
)

// argBits is an argument's value as a parameter slot holds it.
func argBits(a device.Arg) uint64 {
	switch v := a.(type) {
	case device.Buffer:
		return v.Addr
	case device.I32:
		return uint64(uint32(v))
	case device.F32:
		return uint64(math.Float32bits(float32(v)))
	}
	return 0 // not reached: Launch checked the kinds
}

// execute runs kernel k over the grid, block after block (x fastest,
// then y, then z); args have been checked against its parameters.
func (d *Device) execute(k *kernel, grid, block device.Dim3, args []device.Arg) error {
	grid, block = grid.Norm(), block.Norm()
	n, ns := block.Count(), len(k.slots)
	r := &run{
		dev: d, k: k, grid: grid, block: block, nslots: ns,
		regs:   make([]uint64, n*ns),
		pcs:    make([]int32, n),
		state:  make([]uint8, n),
		shared: make([]byte, k.shared),
		left:   d.budget,
	}
	defer func() { d.executed += d.budget - r.left }()

	// The template register file: constants, parameters, launch
	// dimensions, garbage in the registers; %ctaid per block and %tid per
	// thread are set below.
	tmpl := make([]uint64, ns)
	var ctaSlots, tidSlots [3]int32
	for i := range 3 {
		ctaSlots[i], tidSlots[i] = -1, -1
	}
	dims := func(d device.Dim3, i int) uint64 { return uint64(uint32([3]int{d.X, d.Y, d.Z}[i])) }
	for i, s := range k.slots {
		switch s.kind {
		case slotConst:
			tmpl[i] = s.v
		case slotReg:
			switch s.t.size() {
			case 1:
				tmpl[i] = 0
			case 32:
				tmpl[i] = garbage32
			default:
				tmpl[i] = garbage64
			}
		case slotParam:
			tmpl[i] = argBits(args[s.v])
		case slotSpecial:
			sp := int(s.v)
			switch {
			case sp >= spNctaid:
				tmpl[i] = dims(grid, sp-spNctaid)
			case sp >= spCtaid:
				ctaSlots[sp-spCtaid] = int32(i)
			case sp >= spNtid:
				tmpl[i] = dims(block, sp-spNtid)
			default:
				tidSlots[sp-spTid] = int32(i)
			}
		}
	}
	for bz := range grid.Z {
		for by := range grid.Y {
			for bx := range grid.X {
				r.cta = device.Dim3{X: bx, Y: by, Z: bz}
				for i, s := range ctaSlots {
					if s >= 0 {
						tmpl[s] = dims(r.cta, i)
					}
				}
				if err := r.runBlock(tmpl, tidSlots); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// runBlock runs the current block: every thread from the start, each
// until it waits at bar.sync or exits; when no thread can run, the
// waiting ones are released together, until all have exited.
func (r *run) runBlock(tmpl []uint64, tidSlots [3]int32) error {
	ns := r.nslots
	for t := range r.pcs {
		regs := r.regs[t*ns : (t+1)*ns]
		copy(regs, tmpl)
		tid := r.tid(t)
		for i, s := range tidSlots {
			if s >= 0 {
				regs[s] = uint64(uint32([3]int{tid.X, tid.Y, tid.Z}[i]))
			}
		}
		r.pcs[t] = 0
		r.state[t] = stRun
	}
	for i := range r.shared {
		r.shared[i] = byte(uint32(garbage32) >> (8 * (i % 4)))
	}
	for {
		waiting := 0
		for t := range r.pcs {
			if r.state[t] != stRun {
				continue
			}
			if err := r.thread(t); err != nil {
				return err
			}
			if r.state[t] == stWait {
				waiting++
			}
		}
		if waiting == 0 {
			return nil
		}
		for t, s := range r.state {
			if s == stWait {
				r.state[t] = stRun
			}
		}
	}
}
