package device

import "fmt"

// emuKernels maps each kernel of the table to its Go implementation (the
// Go twin of its PTX in kernels/mlp.ptx).
func emuKernels() map[string]emuKernel {
	return map[string]emuKernel{
		"sgemm":        emuSgemm,
		"bias_act":     emuBiasAct,
		"act_grad":     emuActGrad,
		"col_sum":      emuColSum,
		"softmax_xent": emuSoftmaxXent,
		"mse_loss":     emuMSELoss,

		// The recurrent models' (emu_rnn.go).
		"embed_gather":   emuEmbedGather,
		"embed_grad":     emuEmbedGrad,
		"seq_shift":      emuSeqShift,
		"lstm_step":      emuLSTMStep,
		"lstm_step_back": emuLSTMStepBack,
		"gru_step":       emuGRUStep,
		"gru_step_back":  emuGRUStepBack,
		// The transformer's (kernels/transformer.ptx, emu_transformer.go).
		"tfm_embed":               emuTfmEmbed,
		"tfm_layernorm":           emuTfmLayerNorm,
		"tfm_layernorm_dx":        emuTfmLayerNormDx,
		"tfm_layernorm_dwb":       emuTfmLayerNormDwb,
		"tfm_bias_gelu":           emuTfmBiasGelu,
		"tfm_gelu_grad":           emuTfmGeluGrad,
		"tfm_causal_softmax":      emuTfmCausalSoftmax,
		"tfm_causal_softmax_grad": emuTfmCausalSoftmaxGrad,
		"tfm_dropout":             emuTfmDropout,
		"tfm_add":                 emuTfmAdd,
		// The convolution kernels (kernels/cnn.ptx).
		"im2col":        emuIm2Col,
		"col2im":        emuCol2Im,
		"maxpool":       emuMaxPool,
		"maxpool_grad":  emuMaxPoolGrad,
		"chan_bias_act": emuChanBiasAct,
		"chan_sum":      emuChanSum,
		"swap01":        emuSwap01,
		"relu":          emuReLU,
		// The optimizers' (kernels/optim.ptx, emu_optim.go).
		"optim_sgd":     emuOptimSGD,
		"optim_adam":    emuOptimAdam,
		"optim_adagrad": emuOptimAdagrad,
		"optim_rmsprop": emuOptimRMSprop,
	}
}

// blockOf checks that the launch's block is 1-D with at most max threads
// (what a kernel with maxThreads shared slots supports) and returns its size. The
// PTX of such a kernel does nothing on another block; the emulated device
// reports it.
func blockOf(l *Launch, maxThreads int) (int, error) {
	if l.Block.X > maxThreads || l.Block.Y != 1 || l.Block.Z != 1 {
		return 0, fmt.Errorf("%w: %s needs a block of at most (%d, 1, 1) threads, got %v", ErrLaunch, l.Name, maxThreads, l.Block)
	}
	return l.Block.X, nil
}

// gridIndex is the linear index of thread t of block b as the PTX
// computes it (ctaid.x·ntid.x + tid.x in 32-bit unsigned arithmetic).
func (l *Launch) gridIndex(b, t Dim3) uint32 {
	return uint32(b.X)*uint32(l.Block.X) + uint32(t.X)
}
