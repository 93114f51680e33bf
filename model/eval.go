package model

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
)

// evalGraph is a forward-only graph for a fixed number of samples.
type evalGraph struct {
	net       *net
	vm        G.VM
	logitsVal G.Value // (n, Classes), filled by a Read instruction
}

func newEvalGraph(spec Spec, layout []Tensor, params []float32, n int) (*evalGraph, error) {
	eg := &evalGraph{}
	err := guardBuild(fmt.Sprintf("building the eval graph for %d samples", n), func() error {
		nt, err := buildNet(spec, layout, params, n)
		if err != nil {
			return err
		}
		eg.net = nt
		G.Read(nt.logits, &eg.logitsVal)
		eg.vm = G.NewTapeMachine(nt.g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return eg, nil
}

// forward runs the graph on x (at most n samples; the rest of the input
// buffer is zero padding) and returns the logits of all n rows.
func (eg *evalGraph) forward(x []float32) ([]float32, error) {
	copy(eg.net.xbuf, x)
	clear(eg.net.xbuf[len(x):])
	err := guard("forward", eg.vm.RunAll)
	eg.vm.Reset()
	if err != nil {
		return nil, err
	}
	if eg.logitsVal == nil {
		return nil, fmt.Errorf("%w: logits were not read", ErrBackend)
	}
	out, ok := eg.logitsVal.Data().([]float32)
	if !ok || len(out) != eg.net.n*eg.net.spec.Classes {
		return nil, fmt.Errorf("%w: logits are %T, want %d float32", ErrBackend, eg.logitsVal.Data(), eg.net.n*eg.net.spec.Classes)
	}
	return out, nil
}

func (eg *evalGraph) close() error {
	return guard("closing an eval machine", eg.vm.Close)
}

// evalSizeFor picks the eval graph size for a chunk of k samples (1 <=
// k <= chunk): full chunks use the chunk size, a shorter remainder rounds
// up to a power of two (padded with zeros), so at most log2(chunk)+2 eval
// graphs are ever built.
func evalSizeFor(k, chunk int) int {
	if k >= chunk {
		return chunk
	}
	p := 1
	for p < k {
		p <<= 1
	}
	return min(p, chunk)
}

// sampleLoss is the loss of one sample given its logits, in float64:
// xent: logsumexp(logits) - logits[label]; mse: mean over classes of
// (logits - onehot)². It matches the per-sample term of the training loss.
func sampleLoss(loss string, logits []float32, label int) float64 {
	if loss == LossMSE {
		var s float64
		for c, v := range logits {
			d := float64(v)
			if c == label {
				d--
			}
			s += d * d
		}
		return s / float64(len(logits))
	}
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s) - float64(logits[label])
}

// argmax is the index of the first largest value; NaNs are skipped, and
// an all-NaN row gives 0.
func argmax(v []float32) int {
	best := -1
	for i, x := range v {
		if x == x && (best < 0 || x > v[best]) {
			best = i
		}
	}
	return max(best, 0)
}
