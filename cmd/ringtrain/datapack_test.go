package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
)

// data pack writes a shard directory that launch trains on; a damaged
// training shard stops the run naming the file and the byte offset
// (data.on_error: fail), or is skipped with a warning (skip).
func TestDataPackAndTrain(t *testing.T) {
	dir := t.TempDir()
	shards := filepath.Join(dir, "shards")
	out, stderr, code := cli(t, nil, "data", "pack", "--from", "idx", "--path", filepath.Join(testutil.RepoRoot(t), "data", "mnist10k"),
		"--out", shards, "--shard-size", "1MiB")
	if code != 0 || !strings.Contains(out, "packed 8000 training samples into 7 shards and 2000 test samples into 2") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	m, err := data.ReadManifest(shards)
	if err != nil {
		t.Fatal(err)
	}
	launch := func(name, onError string) (string, int) {
		cfg := filepath.Join(dir, name+".yaml")
		job := fmt.Sprintf("data: {source: shards, path: %s, on_error: %s}\ntrain: {steps: 300}\ncheckpoint: {every_epochs: 0}\n", shards, onError)
		if err := os.WriteFile(cfg, []byte(job), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := cli(t, nil, "launch", "--workers", "2", "--config", cfg, "--run-dir", filepath.Join(dir, name))
		return out + stderr, code
	}
	if out, code := launch("clean", "fail"); code != 0 || !strings.Contains(out, "test accuracy") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if s := readSummary(t, filepath.Join(dir, "clean")); s.Outcome != "done" || s.Steps != 300 || s.TestAccuracy < 0.85 {
		t.Fatalf("summary %+v: want done after 300 steps, accuracy >= 85%%", s)
	}
	// Damage record 10 of every training shard: every rank meets one.
	var offset int64 = data.ShardHeaderSize + 10*(8+784)
	for _, e := range m.Train {
		p := filepath.Join(shards, e.File)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[offset+50] ^= 0xff
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, code = launch("fail", "fail")
	if code == 0 || !strings.Contains(out, shards+"/train-") || !strings.Contains(out, fmt.Sprintf("at byte offset %d: record 10: checksum", offset)) {
		t.Fatalf("a damaged shard with on_error fail: exit %d\n%s", code, out)
	}
	out, code = launch("skip", "skip")
	if code != 0 || !strings.Contains(out, "test accuracy") {
		t.Fatalf("a damaged shard with on_error skip: exit %d\n%s", code, out)
	}
	logs, err := os.ReadFile(filepath.Join(dir, "skip", "worker-0.log"))
	if err != nil || !strings.Contains(string(logs), "data.on_error skip") {
		t.Errorf("worker-0.log does not warn of the skipped record:\n%s", logs)
	}
}

// A text file packed by data pack --from text trains a language model
// with data.source: shards on 2 worker processes; the run samples with the
// text's vocabulary; a job of another model.context is refused naming
// both.
func TestDataPackTextTrains(t *testing.T) {
	dir := t.TempDir()
	text, err := data.Shakespeare()
	if err != nil {
		t.Fatal(err)
	}
	s, err := text.Vocab.Decode(text.Train[:200000])
	if err != nil {
		t.Fatal(err)
	}
	src, shards := filepath.Join(dir, "plays.txt"), filepath.Join(dir, "shards")
	if err := os.WriteFile(src, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := cli(t, nil, "data", "pack", "--from", "text", "--path", src, "--context", "32", "--out", shards, "--shard-size", "128KiB")
	// 180,000 training characters: 5,624 windows of 33 (41 bytes a record, about 3,200 a shard).
	if code != 0 || !strings.Contains(out, "packed 5624 training windows into 2 shards and 624 test windows into 1 (uint8 [33] tokens: context 32") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	launch := func(name string, context int) (string, int) {
		cfg := filepath.Join(dir, name+".yaml")
		job := fmt.Sprintf(`model: {kind: lstm, context: %d, embed: 32, hidden: [64]}
data: {source: shards, path: %s}
train: {steps: 60, global_batch: 16, optimizer: {name: adamw}, lr: {kind: constant, base: 0.005}, report_every: 20}
eval: {every_epochs: 0, windows: 64}
checkpoint: {every_epochs: 0, every_steps: 30}
`, context, shards)
		if err := os.WriteFile(cfg, []byte(job), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := cli(t, nil, "launch", "--workers", "2", "--config", cfg, "--run-dir", filepath.Join(dir, name))
		return out + stderr, code
	}
	out, code = launch("lm", 32)
	if code != 0 || !strings.Contains(out, "validation loss") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if s := readSummary(t, filepath.Join(dir, "lm")); s.Outcome != "done" || s.Steps != 60 || !(s.TestLoss < 3.3) {
		t.Fatalf("summary %+v: want done after 60 steps, validation loss below 3.3 nats (ln 65 = 4.17 untrained)", s)
	}
	out, stderr, code = cli(t, nil, "sample", filepath.Join(dir, "lm"), "--prompt", "ROMEO:", "--tokens", "40", "--seed", "1")
	if code != 0 || !strings.HasPrefix(out, "ROMEO:") || len([]rune(out)) < 40 {
		t.Fatalf("sample: exit %d\n%s\n%s", code, out, stderr)
	}
	out, code = launch("ctx", 64)
	if code == 0 || !strings.Contains(out, "was packed for model.context 32, but the job's model.context is 64") {
		t.Fatalf("a job of another context: exit %d\n%s", code, out)
	}
}

// Bad arguments are refused before anything is written.
func TestDataPackRefuses(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	empty, short := filepath.Join(dir, "empty.txt"), filepath.Join(dir, "short.txt")
	for p, text := range map[string]string{empty: "", short: strings.Repeat("abcde", 10)} {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mnist := filepath.Join(testutil.RepoRoot(t), "data", "mnist10k")
	digits := filepath.Join(testutil.RepoRoot(t), "docs", "examples", "digits")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "idx", "--path", mnist, "--out", full}, "is not empty"},
		{[]string{"--from", "text", "--out", dir + "/a"}, "--from text needs --path"},
		{[]string{"--from", "text", "--path", dir + "/none.txt", "--out", dir + "/a2"}, dir + "/none.txt"},
		{[]string{"--from", "text", "--path", empty, "--out", dir + "/a3"}, "empty text: want at least one character"},
		{[]string{"--from", "shakespeare", "--context", "200000", "--out", dir + "/a4"}, "context 200000: want 1..65536"},
		{[]string{"--from", "text", "--path", short, "--context", "8", "--out", dir + "/a5"},
			"context 8 needs windows of 9 tokens, but the validation (the last 10%) part has 5 characters: use a smaller --context or a longer text"},
		{[]string{"--from", "parquet", "--out", dir + "/b"}, `--from "parquet"`},
		{[]string{"--from", "idx", "--path", mnist, "--out", dir + "/c", "--shard-size", "lots"}, "--shard-size"},
		{[]string{"--from", "csv", "--path", "x.csv", "--out", dir + "/d"}, "--test-path"},
		{[]string{"--from", "idx", "--path", dir, "--out", dir + "/e"}, "train-images"},
		{[]string{"--from", "images", "--out", dir + "/f"}, "--from images needs --path"},
		{[]string{"--from", "images", "--path", digits, "--resize", "squash", "--out", dir + "/g"}, `--resize "squash"`},
		{[]string{"--from", "images", "--path", digits, "--channels", "2", "--out", dir + "/h"}, "--channels 2"},
		{[]string{"--from", "images", "--path", digits, "--image-size", "-1", "--out", dir + "/i"}, "--image-size -1"},
		{[]string{"--from", "images", "--path", digits, "--on-error", "ignore", "--out", dir + "/j"}, `--on-error "ignore"`},
		{[]string{"--from", "images", "--path", dir + "/none", "--out", dir + "/k"}, dir + "/none"},
		{[]string{"--from", "images", "--path", digits, "--out", full}, "is not empty"},
	} {
		out, stderr, code := cli(t, nil, append([]string{"data", "pack"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, want an error with %q\n%s%s", tc.args, code, tc.want, out, stderr)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"64MiB", 64 << 20}, {"512KiB", 512 << 10}, {"1GiB", 1 << 30}, {"100", 100}, {"100B", 100}, {"2MB", 2e6}, {"0", -1}, {"-1MiB", -1}, {"x", -1}, {"2TiB", -1}} {
		got, err := parseByteSize(tc.in)
		if (err != nil) != (tc.want < 0) || (err == nil && got != tc.want) {
			t.Errorf("%q: %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// README's Shards section shows docs/examples/shards.yaml as it is, and
// the example is a valid job.
func TestShardsExampleInREADME(t *testing.T) {
	root := testutil.RepoRoot(t)
	ex, err := os.ReadFile(filepath.Join(root, "docs", "examples", "shards.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```yaml\n"+string(ex)+"```\n") {
		t.Error("README.md does not show docs/examples/shards.yaml as it is")
	}
	spec, err := job.Load(filepath.Join(root, "docs", "examples", "shards.yaml"))
	if err != nil || spec.Data.Source != "shards" {
		t.Fatalf("%+v, %v", spec.Data, err)
	}
}

// ringtrain data check loads a shard directory (its test split, with the
// progress in test samples), a token stream and a CSV pair (in bytes), and
// describes each.
func TestDataCheckShardsAndCSV(t *testing.T) {
	dir := t.TempDir()
	root := testutil.RepoRoot(t)
	mnist, text := filepath.Join(dir, "mnist"), filepath.Join(dir, "text")
	for _, args := range [][]string{
		{"--from", "idx", "--path", filepath.Join(root, "data", "mnist10k"), "--out", mnist, "--shard-size", "1MiB"},
		{"--from", "shakespeare", "--context", "32", "--out", text},
	} {
		if out, stderr, code := cli(t, nil, append([]string{"data", "pack"}, args...)...); code != 0 {
			t.Fatalf("%q: exit %d\n%s%s", args, code, out, stderr)
		}
	}
	sensors := filepath.Join(root, "docs", "examples")
	var csvBytes int64
	for _, f := range []string{"sensors-train.csv.gz", "sensors-test.csv.gz"} {
		st, err := os.Stat(filepath.Join(sensors, f))
		if err != nil {
			t.Fatal(err)
		}
		csvBytes += st.Size()
	}
	for _, tc := range []struct{ job, out, progress string }{
		{"data: {source: shards, path: " + mnist + "}\n",
			"train: 8000 samples of shape [1 28 28] (7 shards in " + mnist + ", streamed)\ntest: 2000 samples\nclasses: 10: 0, 1, 2",
			"loading test samples: 2000/2000"},
		{"data: {source: shards, path: " + text + "}\nmodel: {kind: transformer, context: 32}\n",
			"token stream " + text + " (streamed): 31370 training and 3485 test windows of 33 tokens (context 32), 65 distinct characters",
			"loading test samples: 3485/3485"},
		{"data: {source: csv, path: " + sensors + "/sensors-train.csv.gz, test_path: " + sensors + "/sensors-test.csv.gz, csv: {header: true}}\n",
			"train: ", fmt.Sprintf("loading CSV bytes: %d/%d", csvBytes, csvBytes)},
	} {
		cfg := testutil.WriteFile(t, dir, "j.yaml", []byte(tc.job))
		out, stderr, code := cli(t, nil, "data", "check", "--config", cfg)
		if code != 0 || !strings.Contains(out, tc.out) || !strings.Contains(stderr, tc.progress) {
			t.Errorf("%s: exit %d\n%s\n%s", tc.job, code, out, stderr)
		}
	}
}

// data pack --from csv shows the CSV files' loading (bytes) and then the
// packing, and writes every row.
func TestDataPackCSV(t *testing.T) {
	ex := filepath.Join(testutil.RepoRoot(t), "docs", "examples")
	out, stderr, code := cli(t, nil, "data", "pack", "--from", "csv", "--path", filepath.Join(ex, "sensors-train.csv.gz"),
		"--test-path", filepath.Join(ex, "sensors-test.csv.gz"), "--header", "--out", filepath.Join(t.TempDir(), "s"))
	train, test, err := data.LoadCSVPair(filepath.Join(ex, "sensors-train.csv.gz"), filepath.Join(ex, "sensors-test.csv.gz"), data.CSVOptions{LabelColumn: -1, Header: true})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("packed %d training samples into 1 shards and %d test samples into 1 (float32 [%d]", train.N, test.N, train.Dim)
	if code != 0 || !strings.Contains(out, want) || !regexp.MustCompile(`loading CSV bytes: (\d+)/(\d+)\n`).MatchString(stderr) {
		t.Fatalf("exit %d: want %q and the loading\n%s\n%s", code, want, out, stderr)
	}
}
