package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every old spelling of a renamed flag (docs/cli.md) still works: the real
// binary given the old spelling does what it does given the new one, and
// says on stderr that the old one is deprecated; the new one says nothing
// of the kind.
func TestDeprecatedAliases(t *testing.T) {
	dir := t.TempDir()
	in := func(name string) string { return filepath.Join(dir, name) }
	if _, e, code := cli(t, nil, "certs", "init", "--tls-dir", in("ca"), "--hosts", "h"); code != 0 {
		t.Fatalf("certs init: %s", e)
	}
	for _, tc := range []struct {
		name     string
		old, new []string
		env      []string // for both
		notice   string   // what the old spelling prints on stderr
		want     string   // in the output of both
		code     int      // the exit code of both
		same     bool     // stdout must be identical
	}{
		{"certs init --dir", []string{"certs", "init", "--dir", in("c-old"), "--hosts", "h"}, []string{"certs", "init", "--tls-dir", in("c-new"), "--hosts", "h"},
			nil, "Flag --dir has been deprecated, use --tls-dir", "created ca.crt", 0, false},
		{"certs issue --dir", []string{"certs", "issue", "--dir", in("ca"), "--name", "w-old"}, []string{"certs", "issue", "--tls-dir", in("ca"), "--name", "w-new"},
			nil, "Flag --dir has been deprecated, use --tls-dir", ".crt and ", 0, false},
		{"launch --resume RUN_DIR", []string{"launch", "--resume", in("none")}, []string{"launch", "--resume", "--run-dir", in("none")},
			nil, "Flag --resume RUN_DIR has been deprecated, use --resume --run-dir", "no such run directory", 1, true},
		{"launch --resume=RUN_DIR", []string{"launch", "--resume=" + in("none")}, []string{"launch", "--resume", "--run-dir", in("none")},
			nil, "Flag --resume RUN_DIR has been deprecated, use --resume --run-dir", "no such run directory", 1, true},
		{"scale --workers LIST", []string{"scale", "--workers", "1,3", "--out", in("s-old")}, []string{"scale", "--worlds", "1,3", "--out", in("s-new")},
			nil, "Flag --workers has been deprecated, use --worlds", " 3: train.global_batch 64 with train.accumulate 1 on 3 workers: 64 is not divisible", 1, true},
		{"bench train --workers LIST", []string{"bench", "train", "--workers", "1,0"}, []string{"bench", "train", "--worlds", "1,0"},
			nil, "Flag --workers has been deprecated, use --worlds", " 0: want 1..64", 1, true},
		{"bench train --batch", []string{"bench", "train", "--batch", "0"}, []string{"bench", "train", "--batch-per-worker", "0"},
			nil, "Flag --batch has been deprecated, use --batch-per-worker", " >= 1, --threads >= 1", 1, true},
		{"bench allreduce --world", []string{"bench", "allreduce", "--world", "1,2", "--sizes", "4K", "--iters", "3", "--csv"}, []string{"bench", "allreduce", "--worlds", "1,2", "--sizes", "4K", "--iters", "3", "--csv"},
			nil, "Flag --world has been deprecated, use --worlds", "ringtrain,2,4096,", 0, false},
		{"bench checkpoint --world", []string{"bench", "checkpoint", "--world", "3", "--params", "64K", "--reps", "1", "--dir", dir}, []string{"bench", "checkpoint", "--workers", "3", "--params", "64K", "--reps", "1", "--dir", dir},
			nil, "Flag --world has been deprecated, use --workers", "2 state slices, 3 shards", 0, false},
		{"simulate --nodes", []string{"simulate", "--nodes", "1,2,64"}, []string{"simulate", "--worlds", "1,2,64"},
			nil, "Flag --nodes has been deprecated, use --worlds", "efficiency", 0, true},
		{"simulate --bandwidth-mbps", []string{"simulate", "--worlds", "2", "--bandwidth-mbps", "200"}, []string{"simulate", "--worlds", "2", "--link-bandwidth", "200"},
			nil, "Flag --bandwidth-mbps has been deprecated, use --link-bandwidth", "efficiency", 0, true},
		{"simulate --latency", []string{"simulate", "--worlds", "2", "--latency", "3ms"}, []string{"simulate", "--worlds", "2", "--link-latency", "3ms"},
			nil, "Flag --latency has been deprecated, use --link-latency", "efficiency", 0, true},
		{"RINGTRAIN_NODES", []string{"simulate"}, []string{"simulate", "--worlds", "1,8"},
			[]string{"RINGTRAIN_NODES=1,8"}, "RINGTRAIN_NODES has been deprecated, use RINGTRAIN_WORLDS", "efficiency", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oo, oe, ocode := cli(t, tc.env, tc.old...)
			no, ne, ncode := cli(t, tc.env, tc.new...)
			if ocode != tc.code || ncode != tc.code {
				t.Fatalf("exit %d with the old spelling, %d with the new, want %d\nold: %s%s\nnew: %s%s", ocode, ncode, tc.code, oo, oe, no, ne)
			}
			if !strings.Contains(oe, tc.notice) {
				t.Errorf("old spelling: stderr lacks %q:\n%s", tc.notice, oe)
			}
			if strings.Contains(ne, "deprecated") {
				t.Errorf("new spelling: stderr says deprecated:\n%s", ne)
			}
			if !strings.Contains(oo+oe, tc.want) || !strings.Contains(no+ne, tc.want) {
				t.Errorf("want %q in both outputs\nold: %s%s\nnew: %s%s", tc.want, oo, oe, no, ne)
			}
			if tc.same && oo != no {
				t.Errorf("stdout differs\nold:\n%s\nnew:\n%s", oo, no)
			}
		})
	}
	for _, f := range []string{"c-old/ca.crt", "c-new/ca.crt", "ca/w-old.crt", "ca/w-new.crt"} {
		if _, err := os.Stat(in(f)); err != nil {
			t.Errorf("the certs aliases wrote nothing: %v", err)
		}
	}
}

// A flag given under both spellings is refused (one would silently win),
// and so is the environment's old spelling overriding the new flag: the
// command line's flag wins.
func TestAliasConflicts(t *testing.T) {
	dir := t.TempDir()
	_, e, code := cli(t, nil, "certs", "init", "--dir", filepath.Join(dir, "a"), "--tls-dir", filepath.Join(dir, "b"))
	if code == 0 || !strings.Contains(e, "--dir is the old spelling of --tls-dir") {
		t.Fatalf("both spellings: exit %d, %s", code, e)
	}
	o, e, code := cli(t, []string{"RINGTRAIN_DIR=" + filepath.Join(dir, "env")}, "certs", "init", "--tls-dir", filepath.Join(dir, "flag"))
	if code != 0 || !strings.Contains(o, filepath.Join(dir, "flag")) || strings.Contains(e, "deprecated") {
		t.Fatalf("RINGTRAIN_DIR beside --tls-dir: exit %d\n%s%s", code, o, e)
	}
	if _, err := os.Stat(filepath.Join(dir, "env")); err == nil {
		t.Fatal("RINGTRAIN_DIR won over --tls-dir")
	}
}

// Old spellings are hidden from --help, which lists the new ones.
func TestHelpListsOnlyTheNewSpellings(t *testing.T) {
	for _, tc := range []struct {
		verb     []string
		new, old []string
	}{
		{[]string{"certs", "init"}, []string{"--tls-dir"}, []string{"--dir"}},
		{[]string{"certs", "issue"}, []string{"--tls-dir"}, []string{"--dir"}},
		{[]string{"launch"}, []string{"--resume", "--run-dir", "--workers"}, nil},
		{[]string{"scale"}, []string{"--worlds"}, []string{"--workers"}},
		{[]string{"bench", "train"}, []string{"--worlds", "--batch-per-worker"}, []string{"--workers", "--batch"}},
		{[]string{"bench", "allreduce"}, []string{"--workers", "--worlds"}, []string{"--world"}},
		{[]string{"bench", "checkpoint"}, []string{"--workers"}, []string{"--world"}},
		{[]string{"simulate"}, []string{"--worlds", "--link-bandwidth", "--link-latency"}, []string{"--nodes", "--bandwidth-mbps", "--latency"}},
	} {
		out, e, code := cli(t, nil, append(tc.verb, "--help")...)
		if code != 0 {
			t.Fatalf("%v --help: %s", tc.verb, e)
		}
		listed := func(flag string) bool {
			return regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(flag) + `\s`).MatchString(out)
		}
		for _, f := range tc.new {
			if !listed(f) {
				t.Errorf("%v --help lacks %s", tc.verb, f)
			}
		}
		for _, f := range tc.old {
			if listed(f) {
				t.Errorf("%v --help lists the old spelling %s", tc.verb, f)
			}
		}
	}
}
