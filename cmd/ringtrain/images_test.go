package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/imagetree"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// mnistTree writes the embedded MNIST-10k as a PNG image folder under dir
// and returns its root.
func mnistTree(t *testing.T, dir string, limit int) string {
	t.Helper()
	train, test, err := data.Default()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "mnist")
	if err := imagetree.Write(root, map[string]*data.Dataset{"train": train, "test": test}, imagetree.Options{Limit: limit}); err != nil {
		t.Fatal(err)
	}
	return root
}

// A CNN trained through launch on the MNIST-10k image folder reaches the
// accuracy it reaches on the embedded IDX files (the same pixels, in class
// order instead of IDX order: another shuffle, so not bit for bit), and the
// export names the classes by their directories.
func TestLaunchImageFolderMatchesIDX(t *testing.T) {
	dir := t.TempDir()
	root := mnistTree(t, dir, 0)
	const common = "model: {kind: cnn}\ntrain: {global_batch: 64, epochs: 2}\n"
	acc := map[string]float64{}
	for name, src := range map[string]string{
		"idx":    "",
		"images": "data: {source: images, path: " + root + ", image: {channels: 1}}\n",
	} {
		cfg := testutil.WriteFile(t, dir, name+".yaml", []byte(common+src))
		start := time.Now()
		out, stderr, code := cli(t, nil, "launch", "--config", cfg, "--run-dir", filepath.Join(dir, name))
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", name, code, out, stderr)
		}
		s := readSummary(t, filepath.Join(dir, name))
		if s.Outcome != "done" || s.Steps != 250 {
			t.Fatalf("%s: %+v", name, s)
		}
		acc[name] = s.TestAccuracy
		t.Logf("%s: test accuracy %.2f%% in %v", name, 100*s.TestAccuracy, time.Since(start))
	}
	if acc["images"] < 0.95 || math.Abs(acc["images"]-acc["idx"]) > 0.01 {
		t.Fatalf("test accuracy from the image folder %.4f, from IDX %.4f: want both >= 0.95 within 0.01", acc["images"], acc["idx"])
	}
	out, stderr, code := cli(t, nil, "export", filepath.Join(dir, "images"), "--format", "safetensors", "--out", filepath.Join(dir, "m.safetensors"))
	if code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", code, out, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "m.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"class_names":"[\"0\",\"1\",`, `"input_scale":"0.00392156862745098"`, `"input_max":"255"`} {
		if !bytes.Contains(b[:4096], []byte(want)) {
			t.Errorf("the export's header lacks %s:\n%.2000s", want, b)
		}
	}
}

// data.on_error: fail stops the run naming the file; skip trains without
// it and the workers' logs count it.
func TestLaunchImageFolderCorruptFile(t *testing.T) {
	dir := t.TempDir()
	root := mnistTree(t, dir, 300)
	files, _ := filepath.Glob(filepath.Join(root, "train", "3", "*.png"))
	bad := files[0]
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bad, b[:len(b)/2], 0o644)
	for _, policy := range []string{"fail", "skip"} {
		cfg := testutil.WriteFile(t, dir, policy+".yaml", []byte("data: {source: images, path: "+root+", on_error: "+policy+"}\ntrain: {global_batch: 32, steps: 10}\n"))
		run := filepath.Join(dir, policy)
		out, stderr, code := cli(t, nil, "launch", "--workers", "1", "--config", cfg, "--run-dir", run)
		if policy == "fail" {
			if code == 0 || !strings.Contains(stderr, bad) || !strings.Contains(stderr, "decoder failed after reading") {
				t.Fatalf("fail: exit %d\n%s\n%s", code, out, stderr)
			}
			continue
		}
		if code != 0 {
			t.Fatalf("skip: exit %d\n%s\n%s", code, out, stderr)
		}
		requireWorkerLogs(t, run, 1, "skipped images")
		requireWorkerLogs(t, run, 1, filepath.Base(bad))
	}
}

// ringtrain data check loads the data with a progress display and
// describes it; the bar renders through mpb.
func TestDataCheck(t *testing.T) {
	dir := t.TempDir()
	root := mnistTree(t, dir, 100)
	cfg := testutil.WriteFile(t, dir, "j.yaml", []byte("data: {source: images, path: "+root+", image: {size: 16, channels: 3}}\n"))
	out, stderr, code := cli(t, nil, "data", "check", "--config", cfg)
	if code != 0 || !strings.Contains(out, "train: 100 samples of shape [3 16 16]") || !strings.Contains(out, "classes: 10: 0, 1, 2") ||
		!strings.Contains(stderr, "loading images: 200/200") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	var buf bytes.Buffer
	bar := newLoadBar(&buf, "images", mpb.WithAutoRefresh()) // a buffer is no terminal
	for i := range 50 {
		bar.update(i+1, 50)
	}
	bar.close()
	if !strings.Contains(buf.String(), "loading images") || !strings.Contains(buf.String(), "50/50") {
		t.Fatalf("bar output %q", buf.String())
	}
}
