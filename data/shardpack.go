package data

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
)

// PackOptions says how PackDatasets writes shards.
type PackOptions struct {
	// DType is ShardUint8 (raw values are bytes, e.g. IDX pixels) or
	// ShardFloat32.
	DType int
	// InputScale: a Dataset's values are the raw ones times it (IDX:
	// 1/255); the shards store the raw values and the manifest the scale.
	InputScale float64
	// ShardBytes is the target size of a shard file.
	ShardBytes int64
	// Source describes the origin in the manifest.
	Source string
	// Raw: the datasets hold the raw values already (an image folder
	// loaded with ImageOptions.Raw); InputScale is only recorded. With
	// ShardUint8 each must then be an integer in [0, 255].
	Raw bool
	// Progress, if set, is told after each sample (done of total).
	Progress func(done, total int)
}

// PackDatasets writes train and test as a shard directory dir (created;
// it must not exist or be empty): shards first, each fsynced and renamed
// into place, then shards.json. It returns the manifest.
func PackDatasets(dir string, train, test *Dataset, opt PackOptions) (*ShardManifest, error) {
	if err := train.Validate(); err != nil {
		return nil, err
	}
	if err := test.Validate(); err != nil {
		return nil, err
	}
	if !(opt.InputScale > 0) || math.IsInf(opt.InputScale, 0) {
		return nil, fmt.Errorf("data: pack: input scale %v: want > 0", opt.InputScale)
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	classes := max(train.Classes, test.Classes)
	m := &ShardManifest{Format: ManifestFormat, Version: ShardVersion, Shape: append([]int(nil), train.Shape...),
		DType: DTypeName(opt.DType), Classes: classes, InputScale: opt.InputScale, Source: opt.Source}
	m.ClassNames = packClassNames(train, classes)
	total, done := train.N+test.N, 0
	raw := make([]float32, train.Dim)
	for si, d := range []*Dataset{train, test} {
		prefix := [...]string{"train", "test"}[si]
		w, err := NewShardWriter(dir, prefix, opt.DType, train.Dim, opt.ShardBytes)
		if err != nil {
			return nil, err
		}
		for i := range d.N {
			if err := rawValues(raw, d.X[i*d.Dim:(i+1)*d.Dim], opt); err != nil {
				return nil, fmt.Errorf("data: pack %s sample %d: %w", d.Name, i, err)
			}
			if err := w.Add(d.Y[i], raw); err != nil {
				return nil, fmt.Errorf("data: pack %s sample %d: %w", d.Name, i, err)
			}
			if done++; opt.Progress != nil {
				opt.Progress(done, total)
			}
		}
		if err := m.closeSplit(w, si); err != nil {
			return nil, err
		}
	}
	if err := WriteManifest(dir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// rawValues writes x's stored values into raw: x itself (opt.Raw) or
// x / InputScale, rounded for ShardUint8.
func rawValues(raw, x []float32, opt PackOptions) error {
	for j, v := range x {
		if opt.Raw {
			if opt.DType == ShardUint8 && (v != float32(math.Round(float64(v))) || v < 0 || v > 255) {
				return fmt.Errorf("value %d is %v: uint8 shards hold integers in [0, 255]", j, v)
			}
			raw[j] = v
			continue
		}
		raw[j] = float32(float64(v) / opt.InputScale)
		if opt.DType == ShardUint8 {
			raw[j] = float32(math.Round(float64(raw[j])))
		}
	}
	return nil
}

// packClassNames are the training set's class names (an image folder's
// directories), else "0", "1", ...
func packClassNames(train *Dataset, classes int) []string {
	if len(train.ClassNames) == classes {
		return append([]string(nil), train.ClassNames...)
	}
	names := make([]string, classes)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}

// emptyDir creates dir, or checks that it is an empty directory: packing
// never writes over a data set.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("data: pack: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("data: pack: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("data: pack: %s is not empty (%d entries): packing writes a new directory", dir, len(ents))
	}
	return nil
}

// closeSplit closes split si's writer (0: training, 1: test) and records
// its shards in m: the training split's also give the raw values' range.
func (m *ShardManifest) closeSplit(w *ShardWriter, si int) error {
	entries, lo, hi, err := w.Close()
	if err != nil {
		return err
	}
	if si == 0 {
		m.Train, m.InputMin, m.InputMax = entries, lo, hi
	} else {
		m.Test = entries
	}
	return nil
}
