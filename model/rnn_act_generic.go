//go:build !amd64 || purego

package model

// useRNNAsm: no assembly activations on this architecture or build.
const useRNNAsm = false

func sigmoidAddAVX2(*float32, *float32, *float32, int) {
	panic("model: no sigmoidAddAVX2 on this architecture")
}

func tanhAddAVX2(*float32, *float32, *float32, int) {
	panic("model: no tanhAddAVX2 on this architecture")
}
