package data

import "fmt"

// ShardInputs returns at most maxN of the training split's samples (all
// with maxN <= 0), evenly spaced over it, as the raw stored values (before
// input_scale), in rows of Dim values. It reads one shard at a time.
// Damaged records are errors.
func ShardInputs(dir string, m *ShardManifest, maxN int) ([]float32, error) {
	total := Samples(m.Train)
	n := total
	if maxN > 0 {
		n = min(n, maxN)
	}
	dim := m.Dim()
	x := make([]float32, 0, n*dim)
	var buf []byte
	first, i := 0, 0 // the shard's first sample; the next pick
	for _, e := range m.Train {
		if i < n && i*total/n < first+e.Samples {
			s, bad, err := ReadShard(dir, m, e, buf)
			if err != nil {
				return nil, err
			}
			if len(bad) > 0 {
				return nil, bad[0]
			}
			buf = s.Bytes
			for ; i < n && i*total/n < first+e.Samples; i++ {
				x = append(x, make([]float32, dim)...)
				s.Record(i*total/n-first, 1, x[len(x)-dim:])
			}
		}
		first += e.Samples
	}
	if len(x) != n*dim {
		return nil, fmt.Errorf("data: shards: %s: %d of %d samples read (bug)", dir, len(x)/dim, n)
	}
	return x, nil
}
