//go:build linux

package shm

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// event is a wake-up word pair in a ring's or staging area's control block,
// shared between processes: a waiter announces itself in waiting (a count
// of sleepers), re-checks its condition and sleeps in futex_wait on seq; a
// publisher that sees a sleeper bumps seq and wakes them all. (Sequentially consistent atomics on both sides: either the
// waiter's re-check sees the publish or the publisher sees the waiter.)
type event struct {
	seq     *atomic.Uint32
	waiting *atomic.Uint32
}

const (
	futexWait = 0 // FUTEX_WAIT, shared (not FUTEX_PRIVATE: other processes map it)
	futexWake = 1 // FUTEX_WAKE
)

// sleep waits until seq moves away from seen, a wake, or d.
func (e event) sleep(seen uint32, d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(e.seq)), futexWait, uintptr(seen), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// signal wakes the waiters if one announced itself.
func (e event) signal() {
	if e.waiting.Load() != 0 {
		e.wake()
	}
}

// wake bumps seq and wakes every sleeper, announced or not.
func (e event) wake() {
	e.seq.Add(1)
	// A raw system call: FUTEX_WAKE never blocks, and Syscall6 would wake
	// the Go scheduler's sleeping monitor thread (see osYield).
	_, _, _ = unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(e.seq)), futexWake, uintptr(1<<31-1), 0, 0, 0)
}

// osYield gives the processor to another ready thread or process, if any
// (sched_yield; runtime.Gosched would only switch goroutines). It is a raw
// system call: unix.Syscall tells the Go scheduler it enters a system call,
// which wakes the scheduler's monitor thread (sysmon) with a futex whenever
// it sleeps, as it does once the process was idle: a thread to schedule
// per yield on a machine with more ranks than cores (transport/tcp's
// rawio_linux.go measured it).
func osYield() { _, _, _ = unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
