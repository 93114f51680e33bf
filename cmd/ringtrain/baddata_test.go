package main

import (
	"bytes"
	"compress/gzip"
	be "encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// mnistCopy writes the embedded MNIST-10k files, decompressed, into a new
// directory, after edit changes any of them (keyed by file name).
func mnistCopy(t *testing.T, dir string, edit func(name string, b []byte) []byte) string {
	t.Helper()
	out, err := os.MkdirTemp(dir, "mnist")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(testutil.RepoRoot(t), "data", "mnist10k")
	for _, f := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		zb, err := os.ReadFile(filepath.Join(src, f+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(zb))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, f), edit(f, b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// csvRows is n samples of 4 features whose label (last column) is 0 or 1 by
// the sign of the first feature: learnable, 2 classes.
func csvRows(n int) string {
	var b strings.Builder
	for i := range n {
		x, label := float64(i%7)-3, 0
		if x > 0 {
			label = 1
		}
		fmt.Fprintf(&b, "%g,%g,%g,%g,%d\n", x, float64(i%5)/5, float64(i%3), -x/2, label)
	}
	return b.String()
}

// TestLaunchRefusesBadDataBeforeTraining: data that used to train silently
// or fail late is refused before the first step, with a message naming the
// file, the position and what to change.
func TestLaunchRefusesBadDataBeforeTraining(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string { return testutil.WriteFile(t, dir, name, b) }
	headerCSV := write("header.csv", []byte("a,b,c,d,label\n"+csvRows(200)))
	testCSV := write("test.csv", []byte(csvRows(40)))
	strayLabel := mnistCopy(t, dir, func(name string, b []byte) []byte {
		if name == "train-labels-idx1-ubyte" {
			b[8+1234] = 200 // label of sample 1234, after the 8-byte header
		}
		return b
	})
	otherShape := mnistCopy(t, dir, func(name string, b []byte) []byte {
		if name == "t10k-images-idx3-ubyte" { // 28x28 becomes 14x56: same bytes, another shape
			be.BigEndian.PutUint32(b[8:], 14)
			be.BigEndian.PutUint32(b[12:], 56)
		}
		return b
	})
	for _, tc := range []struct {
		name, job string
		want      []string
	}{
		{"csv header without csv.header",
			fmt.Sprintf("data: {source: csv, path: %s, test_path: %s}\ntrain: {global_batch: 20, steps: 5}", headerCSV, testCSV),
			[]string{headerCSV + ": line 1, column 1", "set csv.header: true"}},
		{"a label byte of 200", "data: {source: idx, path: " + strayLabel + "}",
			[]string{"train-labels-idx1-ubyte: label 200 at index 1234 makes 201 classes", "10..199"}},
		{"test images of another size", "data: {source: idx, path: " + otherShape + "}",
			[]string{"t10k-images-idx3-ubyte has samples of shape [1 14 56]"}},
		{"NaN learning rate", "train: {lr: {base: .nan}}", []string{"train.lr.base: must be a finite number, got NaN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := write(strings.ReplaceAll(tc.name, " ", "_")+".yaml", []byte(tc.job))
			runDir := filepath.Join(dir, "run-"+strings.ReplaceAll(tc.name, " ", "_"))
			_, stderr, code := cli(t, nil, "launch", "--workers", "1", "--config", cfg, "--run-dir", runDir)
			if code == 0 {
				t.Fatalf("exit 0, want a failure; stderr:\n%s", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr)
				}
			}
			if b, err := os.ReadFile(filepath.Join(runDir, "metrics.jsonl")); err == nil && len(bytes.TrimSpace(b)) > 0 {
				t.Errorf("training was reported before the data was refused:\n%s", b)
			}
		})
	}
}

// TestLaunchTrainsOnGzippedCSV: .csv.gz files are read like plain ones.
func TestLaunchTrainsOnGzippedCSV(t *testing.T) {
	dir := t.TempDir()
	gzFile := func(name, body string) string {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(body))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	train, test := gzFile("train.csv.gz", "a,b,c,d,label\n"+csvRows(200)), gzFile("test.csv.gz", "a,b,c,d,label\n"+csvRows(40))
	cfg := filepath.Join(dir, "job.yaml")
	job := fmt.Sprintf("data: {source: csv, path: %s, test_path: %s, csv: {header: true}}\ntrain: {global_batch: 20, steps: 10}\n", train, test)
	if err := os.WriteFile(cfg, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := cli(t, nil, "launch", "--workers", "2", "--config", cfg, "--run-dir", filepath.Join(dir, "run"))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if s := readSummary(t, filepath.Join(dir, "run")); s.Outcome != "done" || s.Steps != 10 {
		t.Fatalf("summary %+v: want done after 10 steps", s)
	}
}
