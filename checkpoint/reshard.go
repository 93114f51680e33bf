package checkpoint

import (
	"fmt"
	"slices"
	"strings"
)

// ReadRange returns the elements [lo, hi) of the flat parameter buffer and
// of every optimizer state of m's checkpoint, whatever world size wrote it:
// the shards overlapping the range are read (each in full, checked against
// its CRC32C) and the stored floats copied bit for bit. m comes from Load
// or Latest.
func (s *Store) ReadRange(m Manifest, lo, hi int) (params []float32, states map[string][]float32, err error) {
	if lo < 0 || hi < lo || hi > m.NumParams {
		return nil, nil, fmt.Errorf("checkpoint: read range [%d,%d) of %d params: %w", lo, hi, m.NumParams, ErrInvalid)
	}
	params = make([]float32, hi-lo)
	states = make(map[string][]float32, len(m.StateNames))
	for _, name := range m.StateNames {
		states[name] = make([]float32, hi-lo)
	}
	if err := s.ReadInto(m, lo, params, states); err != nil {
		return nil, nil, err
	}
	return params, states, nil
}

// ReadInto is ReadRange into the caller's buffers: params receives the
// elements [lo, lo+len(params)) of the flat parameters and states[name]
// the elements [lo, lo+len(states[name])) of that optimizer state. A nil
// params or states skips them, so a worker can read all parameters and
// only its own shard of the state in two calls. A state m lacks is
// ErrMismatch. On error the buffers hold unspecified values.
func (s *Store) ReadInto(m Manifest, lo int, params []float32, states map[string][]float32) error {
	m = withVersion(m)
	if err := m.Validate(); err != nil {
		return fmt.Errorf("checkpoint: read: %w", err)
	}
	if err := checkSpan(lo, len(params), m.NumParams); err != nil {
		return fmt.Errorf("checkpoint: read params: %w", err)
	}
	for name, dst := range states {
		if !slices.Contains(m.StateNames, name) {
			return fmt.Errorf("checkpoint: read: optimizer state %q not in checkpoint (has %q): %w", name, m.StateNames, ErrMismatch)
		}
		if err := checkSpan(lo, len(dst), m.NumParams); err != nil {
			return fmt.Errorf("checkpoint: read state %q: %w", name, err)
		}
	}
	for _, info := range m.Shards {
		if !needs(info, lo, params, states) {
			continue
		}
		sink := func(t stTensor) ([]float32, int) {
			var dst []float32
			if t.Name == paramsTensor {
				dst = params
			} else {
				dst = states[strings.TrimPrefix(t.Name, statePrefix)]
			}
			a, b := max(lo, info.Lo), min(lo+len(dst), info.Hi)
			if a >= b {
				return nil, 0
			}
			return dst[a-lo : b-lo], a - info.Lo
		}
		if err := s.scanShard(&m, info, sink); err != nil {
			return fmt.Errorf("checkpoint: read step %d: %w", m.Step, err)
		}
	}
	return nil
}

// checkSpan checks that [lo, lo+n) lies inside [0, total).
func checkSpan(lo, n, total int) error {
	if lo < 0 || n > total || lo > total-n {
		return fmt.Errorf("range [%d,%d) outside [0,%d): %w", lo, lo+n, total, ErrInvalid)
	}
	return nil
}

// needs reports whether the shard overlaps any requested range.
func needs(info ShardInfo, lo int, params []float32, states map[string][]float32) bool {
	overlaps := func(n int) bool { return max(lo, info.Lo) < min(lo+n, info.Hi) }
	if overlaps(len(params)) {
		return true
	}
	for _, dst := range states {
		if overlaps(len(dst)) {
			return true
		}
	}
	return false
}
