//go:build !linux

package tcp

import "runtime"

func yield() { runtime.Gosched() }
