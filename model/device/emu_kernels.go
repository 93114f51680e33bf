package device

// emuKernels maps each kernel of the table to its Go implementation.
func emuKernels() map[string]emuKernel {
	return map[string]emuKernel{}
}
