package data_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/imagetree"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// byClass is d's samples reordered as an image folder orders them: by
// label, then by index.
func byClass(d *data.Dataset) *data.Dataset {
	idx := make([]int, d.N)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(d.Y[a]) - int(d.Y[b]) })
	out := *d
	out.X, out.Y = make([]float32, len(d.X)), make([]int32, d.N)
	if err := d.Gather(idx, out.X, out.Y); err != nil {
		panic(err)
	}
	return &out
}

// The embedded MNIST-10k written as a PNG image folder loads back as
// exactly the IDX data set, bit for bit, in class order.
func TestImageFolderEqualsIDX(t *testing.T) {
	train, test, err := data.Default()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	start := time.Now()
	if err := imagetree.Write(root, map[string]*data.Dataset{"train": train, "test": test}, imagetree.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d PNG files in %v", train.N+test.N, time.Since(start))
	start = time.Now()
	defer func() { t.Logf("loaded them in %v", time.Since(start)) }()
	var calls, last int
	itr, ite, rep, err := data.LoadImageFolder(context.Background(), root, data.ImageOptions{Progress: func(done, total int) {
		calls++
		if done != last+1 || total != train.N+test.N {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls != train.N+test.N || rep.Skipped != 0 || rep.Ignored != 0 {
		t.Errorf("progress calls %d, report %+v", calls, rep)
	}
	names := make([]string, 10)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	for _, c := range []struct {
		got, want *data.Dataset
	}{{itr, byClass(train)}, {ite, byClass(test)}} {
		if err := c.got.Validate(); err != nil {
			t.Fatal(err)
		}
		if c.got.N != c.want.N || c.got.Dim != c.want.Dim || !slices.Equal(c.got.Shape, c.want.Shape) || c.got.Classes != 10 || !slices.Equal(c.got.ClassNames, names) {
			t.Fatalf("%s: N %d Dim %d Shape %v Classes %d names %v: want %d %d %v 10 %v", c.got.Name, c.got.N, c.got.Dim, c.got.Shape, c.got.Classes, c.got.ClassNames, c.want.N, c.want.Dim, c.want.Shape, names)
		}
		if i := testutil.FirstBitDiff(c.got.X, c.want.X); i >= 0 {
			t.Fatalf("%s: X[%d] = %v, IDX's %v", c.got.Name, i, c.got.X[i], c.want.X[i])
		}
		if !slices.Equal(c.got.Y, c.want.Y) {
			t.Fatalf("%s: labels differ", c.got.Name)
		}
	}
}

// Some samples as JPEG: lossy, but close to the PNG ones.
func TestImageFolderJPEG(t *testing.T) {
	train, test, err := data.Default()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	const n = 300
	if err := imagetree.Write(root, map[string]*data.Dataset{"train": train, "test": test}, imagetree.Options{JPEGEvery: 3, Limit: n}); err != nil {
		t.Fatal(err)
	}
	jpegs, _ := filepath.Glob(filepath.Join(root, "train", "*", "*.jpg"))
	if len(jpegs) != n/3 {
		t.Fatalf("%d JPEG files, want %d", len(jpegs), n/3)
	}
	got, _, _, err := data.LoadImageFolder(context.Background(), root, data.ImageOptions{Channels: 1, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	// one decoder, the reference of the parallel load, gives the same bits
	serial, _, _, err := data.LoadImageFolder(context.Background(), root, data.ImageOptions{Channels: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if i := testutil.FirstBitDiff(serial.X, got.X); i >= 0 || !slices.Equal(serial.Y, got.Y) {
		t.Fatalf("1 decoder and GOMAXPROCS decoders differ at X[%d]", i)
	}
	first := *train
	first.N, first.X, first.Y = n, train.X[:n*train.Dim], train.Y[:n]
	want := byClass(&first)
	var sum float64
	for i := range want.X {
		sum += math.Abs(float64(got.X[i] - want.X[i]))
	}
	if mean := sum / float64(len(want.X)); mean > 0.01 || !slices.Equal(got.Y, want.Y) {
		t.Fatalf("mean absolute difference %.4f over %d values (want <= 0.01), labels equal %v", mean, len(want.X), slices.Equal(got.Y, want.Y))
	}
}

func TestImageFolderCancelled(t *testing.T) {
	train, test, err := data.Default()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := imagetree.Write(root, map[string]*data.Dataset{"train": train, "test": test}, imagetree.Options{Limit: 500}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, _, _, err = data.LoadImageFolder(ctx, root, data.ImageOptions{Workers: 2, Progress: func(done, total int) {
		if done == 10 {
			cancel()
		}
	}})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("err %v after cancel", err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLoadImageFolder: the MNIST-10k as 10,000 PNG files, loaded
// with GOMAXPROCS decoders.
func BenchmarkLoadImageFolder(b *testing.B) {
	train, test, err := data.Default()
	if err != nil {
		b.Fatal(err)
	}
	root := b.TempDir()
	if err := imagetree.Write(root, map[string]*data.Dataset{"train": train, "test": test}, imagetree.Options{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, _, err := data.LoadImageFolder(context.Background(), root, data.ImageOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N)/float64(train.N+test.N)*1e6, "µs/image")
}
