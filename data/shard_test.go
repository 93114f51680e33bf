package data

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// packMNIST packs the embedded MNIST-10k into a temporary directory with
// shards of about shardBytes.
func packMNIST(t testing.TB, shardBytes int64) (string, *ShardManifest, *Dataset, *Dataset) {
	t.Helper()
	train, test, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "shards")
	m, err := PackDatasets(dir, train, test, PackOptions{DType: ShardUint8, InputScale: 1.0 / 255, ShardBytes: shardBytes, Source: "mnist10k"})
	if err != nil {
		t.Fatal(err)
	}
	return dir, m, train, test
}

// Packed and loaded back, both splits are the in-memory data sets bitwise.
func TestShardPackRoundTrip(t *testing.T) {
	dir, m, train, test := packMNIST(t, 1<<20)
	got, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Train) < 5 || Samples(got.Train) != train.N || Samples(got.Test) != test.N || got.InputMax != 255 || got.InputMin != 0 {
		t.Fatalf("manifest: %d train shards, %d/%d samples, range %v..%v", len(got.Train), Samples(got.Train), Samples(got.Test), got.InputMin, got.InputMax)
	}
	for _, c := range []struct {
		entries []ShardEntry
		want    *Dataset
	}{{m.Train, train}, {m.Test, test}} {
		d, skipped, err := LoadShardSplit(dir, got, c.entries, "x", false, nil)
		if err != nil || skipped != 0 {
			t.Fatal(skipped, err)
		}
		if d.N != c.want.N || d.Classes != c.want.Classes || len(d.X) != len(c.want.X) {
			t.Fatalf("%d samples %d classes: want %d %d", d.N, d.Classes, c.want.N, c.want.Classes)
		}
		for i := range d.X {
			if d.X[i] != c.want.X[i] {
				t.Fatalf("X[%d] = %v: want %v", i, d.X[i], c.want.X[i])
			}
		}
		for i := range d.Y {
			if d.Y[i] != c.want.Y[i] {
				t.Fatalf("Y[%d] = %v: want %v", i, d.Y[i], c.want.Y[i])
			}
		}
	}
	if _, err := PackDatasets(dir, train, test, PackOptions{DType: ShardUint8, InputScale: 1.0 / 255, ShardBytes: 1 << 20}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("packing into a full directory: %v", err)
	}
}

// A damaged shard is reported with its path and the byte offset at fault;
// skip loads the rest.
func TestShardDamage(t *testing.T) {
	rec := int64(8 + 784)
	for _, c := range []struct {
		name   string
		damage func(b []byte) []byte
		offset int64 // -1: the whole file is refused at another offset
		want   string
	}{
		{"record byte", func(b []byte) []byte { b[ShardHeaderSize+3*rec+100] ^= 1; return b }, ShardHeaderSize + 3*rec, "record 3: checksum"},
		{"label", func(b []byte) []byte { b[ShardHeaderSize+rec+rec-1] ^= 0xff; return b }, ShardHeaderSize + rec, "record 1: checksum"},
		{"header", func(b []byte) []byte { b[12] ^= 1; return b }, 28, "header checksum"},
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }, 0, "not a ringtrain shard"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-5] }, -1, "truncated or replaced"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, m, _, _ := packMNIST(t, 1<<20)
			path := filepath.Join(dir, m.Test[0].File)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, c.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err = LoadShardSplit(dir, m, m.Test, "test", false, nil)
			var se *ShardError
			if !errors.As(err, &se) || se.Path != path || !strings.Contains(err.Error(), c.want) || (c.offset >= 0 && se.Offset != c.offset) {
				t.Fatalf("got %v (offset %+v): want %q at offset %d of %s", err, se, c.want, c.offset, path)
			}
			t.Log(err)
			var warned []error
			d, skipped, err := LoadShardSplit(dir, m, m.Test, "test", true, func(err error) { warned = append(warned, err) })
			if err != nil || len(warned) != 1 || skipped < 1 || d.N != Samples(m.Test)-skipped {
				t.Fatalf("skip: %v, %d warnings, %d skipped, %d samples", err, len(warned), skipped, d.N)
			}
		})
	}
}

// The manifest's checks name the key at fault.
func TestManifestValidate(t *testing.T) {
	dir, m, _, _ := packMNIST(t, 4<<20)
	for _, c := range []struct {
		name, want string
		edit       func(m *ShardManifest)
	}{
		{"format", "format", func(m *ShardManifest) { m.Format = "x" }},
		{"shape", "shape", func(m *ShardManifest) { m.Shape = []int{0} }},
		{"dtype", "dtype", func(m *ShardManifest) { m.DType = "int8" }},
		{"classes", "classes", func(m *ShardManifest) { m.Classes = 1; m.ClassNames = nil }},
		{"scale", "input_scale", func(m *ShardManifest) { m.InputScale = 0 }},
		{"no train", "train: no shards", func(m *ShardManifest) { m.Train = nil }},
		{"path", "train[0].file", func(m *ShardManifest) { m.Train[0].File = "../x.rts" }},
		{"twice", "listed twice", func(m *ShardManifest) { m.Test[0].File = m.Train[0].File }},
		{"bytes", "train[0].bytes", func(m *ShardManifest) { m.Train[0].Bytes++ }},
		{"crc", "train[0].crc32c", func(m *ShardManifest) { m.Train[0].CRC32C = "xyz" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			mm := *m
			mm.Train, mm.Test = append([]ShardEntry(nil), m.Train...), append([]ShardEntry(nil), m.Test...)
			c.edit(&mm)
			b, _ := json.Marshal(&mm)
			_, err := DecodeManifest(filepath.Join(dir, ManifestName), b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v: want %q", err, c.want)
			}
		})
	}
	if _, err := DecodeManifest("m", []byte(`{"format":"ringtrain-shards","extra":1}`)); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("unknown field: %v", err)
	}
}

// Within an epoch the ranks' samples are distinct, N/B*B of them, the
// same set whatever the world size; a rank reads few shards; the fast
// Locate agrees with a scan.
func TestShardPlan(t *testing.T) {
	counts := []int{10, 7, 13, 1, 9, 12, 8}
	p, err := NewShardPlan(counts, 12, 3)
	if err != nil {
		t.Fatal(err)
	}
	spe := p.StepsPerEpoch()
	if spe != 60/12 {
		t.Fatalf("steps per epoch %d", spe)
	}
	for _, epoch := range []int{0, 1, 5} {
		for _, world := range []int{1, 2, 3, 4, 6, 12} {
			seen := map[ShardSample]bool{}
			for r := range world {
				for s := range spe {
					got, err := p.Samples(Cursor{epoch, s}, r, world)
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != 12/world {
						t.Fatalf("%d samples", len(got))
					}
					for _, g := range got {
						if seen[g] {
							t.Fatalf("epoch %d world %d: %v twice", epoch, world, g)
						}
						seen[g] = true
					}
				}
			}
			if len(seen) != spe*12 {
				t.Fatalf("%d samples: want %d", len(seen), spe*12)
			}
		}
		_, prefix := p.Order(epoch)
		for pos := range int64(60) {
			k := Locate(prefix, pos)
			if !(prefix[k] <= pos && pos < prefix[k+1]) {
				t.Fatalf("Locate(%d) = %d, prefix %v", pos, k, prefix)
			}
		}
	}
	a, _ := p.Samples(Cursor{0, 0}, 0, 1)
	b, _ := p.Samples(Cursor{1, 0}, 0, 1)
	if a[0] == b[0] && a[1] == b[1] && a[2] == b[2] {
		t.Fatal("epochs 0 and 1 start alike")
	}
	for _, bad := range []struct {
		c    Cursor
		r, w int
	}{{Cursor{0, spe}, 0, 1}, {Cursor{-1, 0}, 0, 1}, {Cursor{}, 2, 2}, {Cursor{}, 0, 5}} {
		if _, _, _, err := p.Segment(bad.c, bad.r, bad.w); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}
