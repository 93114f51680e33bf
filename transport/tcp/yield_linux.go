package tcp

import "syscall"

func yield() { syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
