package checkpoint

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Validate checks that m is a well-formed manifest: the current format
// version, shards numbered 0..WorldSize-1 with their canonical file names
// covering [0, NumParams) in order, layout entries inside the buffer
// without overlap, unique state names. Errors wrap ErrInvalid.
func (m *Manifest) Validate() error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return nil
}

func (m *Manifest) validate() error {
	if m.FormatVersion != FormatVersion {
		return fmt.Errorf("format_version %d, want %d", m.FormatVersion, FormatVersion)
	}
	if m.Step < 0 {
		return fmt.Errorf("step %d: want >= 0", m.Step)
	}
	if m.NumParams < 0 {
		return fmt.Errorf("num_params %d: want >= 0", m.NumParams)
	}
	if m.WorldSize < 1 || len(m.Shards) != m.WorldSize {
		return fmt.Errorf("world_size %d with %d shards: want >= 1 and equal", m.WorldSize, len(m.Shards))
	}
	for _, raw := range []json.RawMessage{m.ModelSpec, m.OptimizerSpec} {
		if raw != nil && !json.Valid(raw) {
			return fmt.Errorf("model_spec or optimizer_spec is not valid JSON")
		}
	}
	if err := validateShards(m.Shards, m.NumParams, len(m.StateNames)); err != nil {
		return err
	}
	if err := validateLayout(m.Layout, m.NumParams); err != nil {
		return err
	}
	seen := make(map[string]bool, len(m.StateNames))
	for _, s := range m.StateNames {
		if err := validStateName(s); err != nil {
			return err
		}
		if seen[s] {
			return fmt.Errorf("state name %q repeated", s)
		}
		seen[s] = true
	}
	return nil
}

// validateShards checks ranks, names, ranges, and that each size can hold
// the shard's tensors (which bounds num_params by the files' sizes).
func validateShards(shards []ShardInfo, numParams, numStates int) error {
	next := 0
	for i, s := range shards {
		if s.Rank != i {
			return fmt.Errorf("shards[%d]: rank %d, want %d", i, s.Rank, i)
		}
		if s.File != ShardFileName(i) {
			return fmt.Errorf("shards[%d]: file %q, want %q", i, s.File, ShardFileName(i))
		}
		if s.Lo != next || s.Hi < s.Lo {
			return fmt.Errorf("shards[%d]: range [%d,%d), want to start at %d", i, s.Lo, s.Hi, next)
		}
		if s.Size < 8 || int64(s.Hi-s.Lo) > (s.Size-8)/4/int64(1+numStates) {
			return fmt.Errorf("shards[%d]: size %d cannot hold %d elements of %d tensors", i, s.Size, s.Hi-s.Lo, 1+numStates)
		}
		next = s.Hi
	}
	if next != numParams {
		return fmt.Errorf("shards cover [0,%d), num_params is %d", next, numParams)
	}
	return nil
}

func validateLayout(layout []Tensor, numParams int) error {
	type span struct{ lo, hi int }
	spans := make([]span, 0, len(layout))
	names := make(map[string]bool, len(layout))
	for i, t := range layout {
		if t.Name == "" || t.Name == metadataKey {
			return fmt.Errorf("layout[%d]: name %q", i, t.Name)
		}
		if names[t.Name] {
			return fmt.Errorf("layout[%d]: name %q repeated", i, t.Name)
		}
		names[t.Name] = true
		n, err := shapeElems(t.Shape, math.MaxInt64/4)
		if err != nil {
			return fmt.Errorf("layout[%d] %q: %w", i, t.Name, err)
		}
		if t.Offset < 0 || n > int64(numParams) || int64(t.Offset) > int64(numParams)-n {
			return fmt.Errorf("layout[%d] %q: elements [%d,%d) outside [0,%d)", i, t.Name, t.Offset, int64(t.Offset)+n, numParams)
		}
		if n > 0 {
			spans = append(spans, span{t.Offset, t.Offset + int(n)})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	for i := 1; i < len(spans); i++ {
		if spans[i].lo < spans[i-1].hi {
			return fmt.Errorf("layout: elements [%d,%d) and [%d,%d) overlap",
				spans[i-1].lo, spans[i-1].hi, spans[i].lo, spans[i].hi)
		}
	}
	return nil
}
