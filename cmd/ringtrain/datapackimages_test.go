package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// data pack --from images packs the shipped digits folder with its class
// names and the loading shown as data check shows it; a CNN launched on
// the shards trains, and its export names the classes by the folder's
// directories. (data/imagepack_test.go checks the values bit for bit.)
func TestDataPackImagesTrains(t *testing.T) {
	dir := t.TempDir()
	shards := filepath.Join(dir, "shards")
	out, stderr, code := cli(t, nil, "data", "pack", "--from", "images", "--path", filepath.Join(testutil.RepoRoot(t), "docs", "examples", "digits"),
		"--image-size", "28", "--channels", "1", "--resize", "fit", "--on-error", "fail", "--out", shards, "--shard-size", "16KiB")
	if code != 0 || !strings.Contains(out, "packed 180 training samples into 9 shards and 30 test samples into 2 (uint8 [1 28 28]") ||
		!strings.Contains(stderr, "loading images: 210/210") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	m, err := data.ReadManifest(shards)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.ClassNames, []string{"one", "seven", "zero"}) || m.InputScale != 1.0/255 || m.Source != "images" {
		t.Fatalf("manifest: %+v", m)
	}
	cfg := testutil.WriteFile(t, dir, "j.yaml", []byte("model: {kind: cnn}\ndata: {source: shards, path: "+shards+"}\n"+
		"train: {global_batch: 30, epochs: 10}\n"))
	run := filepath.Join(dir, "run")
	out, stderr, code = cli(t, nil, "launch", "--workers", "2", "--config", cfg, "--run-dir", run)
	if code != 0 {
		t.Fatalf("launch: exit %d\n%s\n%s", code, out, stderr)
	}
	s := readSummary(t, run)
	t.Logf("test accuracy %.2f%% after %d steps", 100*s.TestAccuracy, s.Steps)
	if s.Outcome != "done" || s.Steps != 60 || s.TestAccuracy < 0.9 {
		t.Fatalf("summary %+v: want done after 60 steps, test accuracy >= 90%%", s)
	}
	model := filepath.Join(dir, "m.safetensors")
	if out, stderr, code := cli(t, nil, "export", run, "--format", "safetensors", "--out", model); code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", code, out, stderr)
	}
	b, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"class_names":"[\"one\",\"seven\",\"zero\"]"`, `"input_scale":"0.00392156862745098"`} {
		if !bytes.Contains(b[:min(len(b), 4096)], []byte(want)) {
			t.Errorf("the export's header lacks %s:\n%.2000s", want, b)
		}
	}
}

// An image that does not decode stops the packing naming it, before a
// manifest is written (--on-error fail), or is left out with a counted
// warning (skip).
func TestDataPackImagesCorrupt(t *testing.T) {
	dir := t.TempDir()
	root := mnistTree(t, dir, 100)
	files, _ := filepath.Glob(filepath.Join(root, "train", "3", "*.png"))
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files[0], b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	pack := func(policy string) (string, string, string, int) {
		out := filepath.Join(dir, policy)
		o, e, code := cli(t, nil, "data", "pack", "--from", "images", "--path", root, "--on-error", policy, "--out", out)
		return out, o, e, code
	}
	out, o, e, code := pack("fail")
	if code == 0 || !strings.Contains(e, files[0]) {
		t.Fatalf("fail: exit %d\n%s\n%s", code, o, e)
	}
	if _, err := os.Stat(filepath.Join(out, data.ManifestName)); !os.IsNotExist(err) {
		t.Errorf("fail: a manifest was written (%v)", err)
	}
	out, o, e, code = pack("skip")
	if code != 0 || !strings.Contains(e, "skipped 1 images that do not decode") || !strings.Contains(e, files[0]) ||
		!strings.Contains(o, "packed 99 training samples") {
		t.Fatalf("skip: exit %d\n%s\n%s", code, o, e)
	}
	if m, err := data.ReadManifest(out); err != nil || data.Samples(m.Train) != 99 {
		t.Fatalf("skip: %v", err)
	}
}
