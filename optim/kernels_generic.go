//go:build !amd64 || purego

package optim

// Without the amd64 assembly the portable loops do all the work.

func adamUpdate(p, g, m, v []float32, k *adamCoeffs) { adamGo(p, g, m, v, k) }
func adagradUpdate(p, g, s []float32, k *rootCoeffs) { adagradGo(p, g, s, k) }
func rmspropUpdate(p, g, a []float32, k *rootCoeffs) { rmspropGo(p, g, a, k) }
func sgdUpdate(p, g []float32, k *sgdCoeffs)         { sgdGo(p, g, k) }
func momentumUpdate(p, g, b []float32, k *sgdCoeffs) { momentumGo(p, g, b, k) }
func nesterovUpdate(p, g, b []float32, k *sgdCoeffs) { nesterovGo(p, g, b, k) }
