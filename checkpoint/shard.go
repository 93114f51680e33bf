package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Shard is one writer rank's part of a checkpoint: the range [Lo, Hi) of
// the flat parameter buffer and every optimizer state slice over the same
// range. It is stored as one safetensors file holding the 1-D F32 tensors
// "params" and "state.<name>" (sorted by name) and the metadata
// format=ringtrain.shard.v1, step, lo and hi, plus Meta.
type Shard struct {
	Step   int64
	Lo, Hi int
	Params []float32            // Hi-Lo values
	States map[string][]float32 // each Hi-Lo values
	// Meta is extra metadata stored with the shard (for example the
	// writer's rank). The keys format, step, lo and hi are reserved.
	Meta map[string]string
}

const (
	shardFormat    = "ringtrain.shard.v1"
	paramsTensor   = "params"
	statePrefix    = "state."
	maxShardHeader = 1 << 20
)

var reservedShardMeta = []string{"format", "step", "lo", "hi"}

// validate checks the shard's shape.
func (sh *Shard) validate() error {
	if sh.Step < 0 {
		return fmt.Errorf("step %d: want >= 0", sh.Step)
	}
	if sh.Lo < 0 || sh.Hi < sh.Lo {
		return fmt.Errorf("range [%d,%d): want 0 <= lo <= hi", sh.Lo, sh.Hi)
	}
	n := sh.Hi - sh.Lo
	if len(sh.Params) != n {
		return fmt.Errorf("params: %d values for range [%d,%d)", len(sh.Params), sh.Lo, sh.Hi)
	}
	for name, s := range sh.States {
		if err := validStateName(name); err != nil {
			return err
		}
		if len(s) != n {
			return fmt.Errorf("state %q: %d values for range [%d,%d)", name, len(s), sh.Lo, sh.Hi)
		}
	}
	for _, k := range reservedShardMeta {
		if _, ok := sh.Meta[k]; ok {
			return fmt.Errorf("metadata key %q is reserved", k)
		}
	}
	return nil
}

func validStateName(name string) error {
	if name == "" || strings.ContainsAny(name, "\x00\n") {
		return fmt.Errorf("optimizer state name %q: want non-empty, printable", name)
	}
	return nil
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// EncodeShard writes sh to w as a safetensors file. The output depends only
// on sh (map order does not matter).
func EncodeShard(w io.Writer, sh *Shard) error {
	if err := sh.validate(); err != nil {
		return fmt.Errorf("checkpoint: encode shard: %w: %w", err, ErrInvalid)
	}
	meta := make(map[string]string, len(sh.Meta)+4)
	for k, v := range sh.Meta {
		meta[k] = v
	}
	meta["format"] = shardFormat
	meta["step"] = strconv.FormatInt(sh.Step, 10)
	meta["lo"] = strconv.Itoa(sh.Lo)
	meta["hi"] = strconv.Itoa(sh.Hi)
	states := sortedKeys(sh.States)
	names := []string{paramsTensor}
	shapes := [][]int{{sh.Hi - sh.Lo}}
	for _, s := range states {
		names = append(names, statePrefix+s)
		shapes = append(shapes, []int{sh.Hi - sh.Lo})
	}
	hdr, err := encodeHeader(names, shapes, nil, meta)
	if err != nil {
		return fmt.Errorf("checkpoint: encode shard: %w: %w", err, ErrInvalid)
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("checkpoint: encode shard: %w", err)
	}
	buf := make([]byte, 4*chunkElems)
	if err := writeF32(w, sh.Params, buf); err != nil {
		return fmt.Errorf("checkpoint: encode shard: %w", err)
	}
	for _, s := range states {
		if err := writeF32(w, sh.States[s], buf); err != nil {
			return fmt.Errorf("checkpoint: encode shard: %w", err)
		}
	}
	return nil
}

// shardHeader is a parsed and validated shard header.
type shardHeader struct {
	st     stHeader
	step   int64
	lo, hi int
	states []string // sorted
	meta   map[string]string
}

// readShardHeader reads a shard's header from r (size: the exact length,
// or -1 if unknown) and checks that it describes a shard.
func readShardHeader(r io.Reader, size int64) (shardHeader, error) {
	st, err := readHeader(r, size, maxShardHeader, false)
	if err != nil {
		return shardHeader{}, err
	}
	h, err := shardFromHeader(st)
	if err != nil {
		return shardHeader{}, fmt.Errorf("not a shard: %w: %w", err, ErrCorrupt)
	}
	return h, nil
}

func shardFromHeader(st stHeader) (shardHeader, error) {
	h := shardHeader{st: st, meta: st.Meta}
	if f := st.Meta["format"]; f != shardFormat {
		return h, fmt.Errorf("metadata format %q, want %q", f, shardFormat)
	}
	var err error
	if h.step, err = metaInt(st.Meta, "step"); err != nil {
		return h, err
	}
	lo, err := metaInt(st.Meta, "lo")
	if err != nil {
		return h, err
	}
	hi, err := metaInt(st.Meta, "hi")
	if err != nil {
		return h, err
	}
	if h.step < 0 || lo < 0 || hi < lo || hi-lo > st.DataLen/4 {
		return h, fmt.Errorf("step %d, range [%d,%d): inconsistent", h.step, lo, hi)
	}
	h.lo, h.hi = int(lo), int(hi)
	n := h.hi - h.lo
	seenParams := false
	for _, t := range st.Tensors {
		if len(t.Shape) != 1 || t.Shape[0] != n {
			return h, fmt.Errorf("tensor %q: shape %v, want [%d]", t.Name, t.Shape, n)
		}
		switch {
		case t.Name == paramsTensor:
			seenParams = true
		case strings.HasPrefix(t.Name, statePrefix):
			name := strings.TrimPrefix(t.Name, statePrefix)
			if err := validStateName(name); err != nil {
				return h, err
			}
			h.states = append(h.states, name)
		default:
			return h, fmt.Errorf("unexpected tensor %q", t.Name)
		}
	}
	if !seenParams {
		return h, errors.New(`no "params" tensor`)
	}
	sort.Strings(h.states)
	return h, nil
}

// DecodeShard reads a shard written by EncodeShard. size must be the exact
// length of r (from Stat, or a trusted length): whatever the header claims,
// the tensors allocated total at most size bytes and the header buffer at
// most min(size, 1 MiB).
func DecodeShard(r io.Reader, size int64) (*Shard, error) {
	if size < 0 {
		return nil, fmt.Errorf("checkpoint: decode shard: size %d: %w", size, ErrInvalid)
	}
	h, err := readShardHeader(r, size)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: decode shard: %w", err)
	}
	sh := &Shard{Step: h.step, Lo: h.lo, Hi: h.hi, Params: make([]float32, h.hi-h.lo)}
	if len(h.states) > 0 {
		sh.States = make(map[string][]float32, len(h.states))
		for _, s := range h.states {
			sh.States[s] = make([]float32, h.hi-h.lo)
		}
	}
	for k, v := range h.meta {
		if !isReservedShardMeta(k) {
			if sh.Meta == nil {
				sh.Meta = map[string]string{}
			}
			sh.Meta[k] = v
		}
	}
	err = readTensors(r, h.st.Tensors, func(t stTensor) ([]float32, int) {
		if t.Name == paramsTensor {
			return sh.Params, 0
		}
		return sh.States[strings.TrimPrefix(t.Name, statePrefix)], 0
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: decode shard: %w", err)
	}
	return sh, nil
}

func isReservedShardMeta(k string) bool {
	for _, r := range reservedShardMeta {
		if k == r {
			return true
		}
	}
	return false
}
