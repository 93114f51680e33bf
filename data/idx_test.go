package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// idxBytes encodes an IDX file with the given type byte and dimensions
// followed by data, exactly as written (no consistency checks).
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestDecodeIDXRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		dims []uint32
	}{
		{"labels", []uint32{10}},
		{"images", []uint32{3, 4, 5}},
		{"4d", []uint32{2, 3, 1, 2}},
		{"empty", []uint32{0, 28, 28}},
		{"large", []uint32{100, 28, 28}},
	}
	for _, tt := range tests {
		n := 1
		for _, d := range tt.dims {
			n *= int(d)
		}
		want := seq(n)
		plain := idxBytes(0x08, tt.dims, want)
		for _, enc := range []struct {
			name string
			b    []byte
		}{{"plain", plain}, {"gzip", gz(t, plain)}} {
			dims, data, err := DecodeIDX(bytes.NewReader(enc.b))
			if err != nil {
				t.Fatalf("%s/%s: %v", tt.name, enc.name, err)
			}
			wantDims := make([]int, len(tt.dims))
			for i, d := range tt.dims {
				wantDims[i] = int(d)
			}
			if !slices.Equal(dims, wantDims) || !bytes.Equal(data, want) {
				t.Errorf("%s/%s: got dims %v and %d bytes, want %v and %d", tt.name, enc.name, dims, len(data), wantDims, len(want))
			}
		}
	}
}

func TestDecodeIDXMalformed(t *testing.T) {
	good := idxBytes(0x08, []uint32{2, 3}, seq(6))
	corruptGz := gz(t, good)
	corruptGz[len(corruptGz)-8] ^= 0xff // CRC-32 of the gzip trailer
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "header: got 0 of 4 bytes"},
		{"short header", []byte{0, 0, 8}, "header: got 3 of 4 bytes"},
		{"bad magic", append([]byte{0x12, 0x34}, good[2:]...), "bad magic 0x12340802"},
		{"int32 type", idxBytes(0x0C, []uint32{2}, make([]byte, 8)), "element type 0x0c (int32)"},
		{"float32 type", idxBytes(0x0D, []uint32{2}, make([]byte, 8)), "element type 0x0d (float32)"},
		{"unknown type", idxBytes(0x42, []uint32{2}, nil), "element type 0x42 (unknown)"},
		{"zero dims", idxBytes(0x08, nil, nil), "0 dimensions"},
		{"short dims", good[:9], "dimensions: got 5 of 8 bytes for 2 dimensions"},
		{"dims overflow", idxBytes(0x08, []uint32{0xffffffff, 0xffffffff, 0xffffffff}, nil), "exceed MaxIDXBytes"},
		{"dims over cap", idxBytes(0x08, []uint32{1 << 16, 1 << 16}, nil), "dimension 2 of 2 is 65536: the data would exceed MaxIDXBytes"},
		{"truncated data", good[:len(good)-1], "truncated: got 5 of 6 bytes"},
		{"truncated huge", idxBytes(0x08, []uint32{1 << 30}, seq(100)), "truncated: got 100 of 1073741824 bytes"},
		{"trailing data", append(append([]byte(nil), good...), 9), "trailing data after the 6 bytes"},
		{"gzip truncated", gz(t, good)[:20], "unexpected EOF"},
		{"gzip bad checksum", corruptGz, "checksum"},
		{"gzip bad header", []byte{0x1f, 0x8b, 0x99}, "gzip header"},
	}
	for _, tt := range tests {
		dims, data, err := DecodeIDX(bytes.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
		if dims != nil || data != nil {
			t.Errorf("%s: got dims %v and %d bytes with an error", tt.name, dims, len(data))
		}
	}
}

func TestDecodeIDXTruncationIsUnexpectedEOF(t *testing.T) {
	good := idxBytes(0x08, []uint32{4}, seq(4))
	for n := range len(good) {
		_, _, err := DecodeIDX(bytes.NewReader(good[:n]))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("prefix of %d bytes: err = %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
}

// TestDecodeIDXBoundedAllocation: a tiny input that claims 1 GiB allocates
// in proportion to what it holds, not to what it claims.
func TestDecodeIDXBoundedAllocation(t *testing.T) {
	for _, in := range [][]byte{
		idxBytes(0x08, []uint32{1 << 30}, seq(1000)),
		gz(t, idxBytes(0x08, []uint32{1 << 15, 1 << 15}, seq(1000))),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, _, err := DecodeIDX(bytes.NewReader(in)); err == nil {
			t.Fatal("truncated input accepted")
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("decoding %d bytes allocated %d bytes", len(in), got)
		}
	}
}

// writeIDXDir writes an MNIST-layout directory with n train and m test
// samples of rows x cols, gzipped or not.
func writeIDXDir(t *testing.T, dir string, n, m, rows, cols int, gzipped bool) {
	t.Helper()
	write := func(name string, b []byte) {
		if gzipped {
			b, name = gz(t, b), name+".gz"
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	labels := func(k int) []byte {
		b := make([]byte, k)
		for i := range b {
			b[i] = byte(i % 10)
		}
		return b
	}
	write(TrainImagesFile, idxBytes(0x08, []uint32{uint32(n), uint32(rows), uint32(cols)}, seq(n*rows*cols)))
	write(TrainLabelsFile, idxBytes(0x08, []uint32{uint32(n)}, labels(n)))
	write(TestImagesFile, idxBytes(0x08, []uint32{uint32(m), uint32(rows), uint32(cols)}, seq(m*rows*cols)))
	write(TestLabelsFile, idxBytes(0x08, []uint32{uint32(m)}, labels(m)))
}

func TestLoadIDXDir(t *testing.T) {
	for _, gzipped := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "tiny")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeIDXDir(t, dir, 20, 5, 3, 2, gzipped)
		train, test, err := LoadIDXDir(dir)
		if err != nil {
			t.Fatalf("gzipped=%v: %v", gzipped, err)
		}
		for _, d := range []*Dataset{train, test} {
			if err := d.Validate(); err != nil {
				t.Errorf("gzipped=%v: %v", gzipped, err)
			}
			if d.Dim != 6 || !slices.Equal(d.Shape, []int{1, 3, 2}) || d.Classes != 10 {
				t.Errorf("gzipped=%v: %s: Dim %d, Shape %v, Classes %d", gzipped, d.Name, d.Dim, d.Shape, d.Classes)
			}
		}
		if train.N != 20 || test.N != 5 || train.Name != "tiny/train" || test.Name != "tiny/test" {
			t.Errorf("gzipped=%v: train %s N=%d, test %s N=%d", gzipped, train.Name, train.N, test.Name, test.N)
		}
		// Pixel v is scaled to v/255; sample 1 feature 0 is byte 6*7.
		if got, want := train.X[6], float32(42)/255; got != want {
			t.Errorf("X[6] = %v, want %v", got, want)
		}
		if train.Y[11] != 1 {
			t.Errorf("Y[11] = %d, want 1", train.Y[11])
		}
	}
}

// TestLoadIDXClassesUnified: test labels 0..4 only still give Classes 10
// when train has 0..9.
func TestLoadIDXClassesUnified(t *testing.T) {
	dir := t.TempDir()
	writeIDXDir(t, dir, 20, 5, 1, 1, false)
	train, test, err := LoadIDXDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.Classes != 10 || test.Classes != 10 {
		t.Errorf("Classes train %d, test %d: want 10 and 10", train.Classes, test.Classes)
	}
}

// TestGzipDetectedByMagicNotName: a plain file named .gz and a gzipped file
// without the suffix both load.
func TestGzipDetectedByMagicNotName(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "images.gz")
	lbl := filepath.Join(dir, "labels")
	if err := os.WriteFile(img, idxBytes(0x08, []uint32{2, 1, 2}, seq(4)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lbl, gz(t, idxBytes(0x08, []uint32{2}, []byte{1, 0})), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := LoadIDX(img, lbl)
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 2 || d.Classes != 2 || d.Name != "images" {
		t.Errorf("got %s N=%d Classes=%d", d.Name, d.N, d.Classes)
	}
}

func TestLoadIDXErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string { return testutil.WriteFile(t, dir, name, b) }
	img3 := write("img3", idxBytes(0x08, []uint32{3, 2, 2}, seq(12)))
	lbl3 := write("lbl3", idxBytes(0x08, []uint32{3}, []byte{0, 1, 2}))
	lbl4 := write("lbl4", idxBytes(0x08, []uint32{4}, []byte{0, 1, 2, 3}))
	img2d := write("img2d", idxBytes(0x08, []uint32{3, 4}, seq(12)))
	lbl2d := write("lbl2d", idxBytes(0x08, []uint32{3, 1}, seq(3)))
	img0 := write("img0", idxBytes(0x08, []uint32{0, 2, 2}, nil))
	lbl0 := write("lbl0", idxBytes(0x08, []uint32{0}, nil))
	imgZeroRows := write("imgz", idxBytes(0x08, []uint32{3, 0, 2}, nil))
	bad := write("bad", []byte("not an idx file"))
	// A real label file whose magic says 3 dimensions: the label bytes
	// after the count would be read as huge dimensions.
	lblMagic3 := idxBytes(0x08, []uint32{40}, seq(40))
	lblMagic3[3] = 3
	lblImgMagic := write("lblImgMagic", lblMagic3)
	tests := []struct {
		name, images, labels, want string
	}{
		{"count mismatch", img3, lbl4, "has 3 images but " + lbl4 + " has 4 labels"},
		{"images not 3d", img2d, lbl3, img2d + ": idx: the header (0x00000802) declares 2 dimension(s)"},
		{"labels not 1d", img3, lbl2d, lbl2d + ": idx: the header (0x00000802) declares 2 dimension(s)"},
		{"labels with an image header", img3, img3, img3 + ": idx: the header (0x00000803) declares 3 dimension(s), as in an image file (count, rows, cols): want 1, as in a label file"},
		{"images with a label header", lbl3, lbl3, lbl3 + ": idx: the header (0x00000801) declares 1 dimension(s), as in a label file (count): want 3, as in an image file"},
		{"no samples", img0, lbl0, "no samples"},
		{"zero rows", imgZeroRows, lbl3, "image size 0x2"},
		{"label file with an image file's magic", img3, lblImgMagic, lblImgMagic + ": idx: the header (0x00000803) declares 3 dimension(s), as in an image file (count, rows, cols): want 1, as in a label file (count)"},
		{"bad images", bad, lbl3, bad + ": idx: bad magic"},
		{"bad labels", img3, bad, bad + ": idx: bad magic"},
		{"missing images", filepath.Join(dir, "nope"), lbl3, "nope: no such file"},
		{"missing labels", img3, filepath.Join(dir, "nope"), "nope: no such file"},
	}
	for _, tt := range tests {
		_, err := LoadIDX(tt.images, tt.labels)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
	if _, _, err := LoadIDXDir(dir); err == nil || !strings.Contains(err.Error(), "neither train-images-idx3-ubyte nor train-images-idx3-ubyte.gz") {
		t.Errorf("LoadIDXDir of a directory without MNIST files: %v", err)
	}
}
