package data

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// progressLog records a Progress callback's calls and checks them: the
// count never falls, never passes the total, and ends at it.
type progressLog struct {
	calls       int
	done, total int
	err         error
}

func (p *progressLog) fn(done, total int) {
	if p.err == nil && (done < p.done || done > total || (p.calls > 0 && total != p.total)) {
		p.err = fmt.Errorf("call %d: %d/%d after %d/%d", p.calls, done, total, p.done, p.total)
	}
	p.calls++
	p.done, p.total = done, total
}

// Loading CSV files tells the bytes read of the files as stored (plain or
// gzipped), up to their summed size; a pair counts both files.
func TestCSVProgress(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&b, "%d,%d,%d\n", i%7, i%13, i%2)
	}
	plain := filepath.Join(dir, "train.csv")
	if err := os.WriteFile(plain, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b.Bytes()[:bytes.LastIndexByte(b.Bytes()[:b.Len()/4], '\n')+1]) // whole lines
	zw.Close()
	gz := filepath.Join(dir, "test.csv.gz")
	if err := os.WriteFile(gz, z.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var one progressLog
	d, err := LoadCSV(plain, CSVOptions{LabelColumn: -1, Progress: one.fn})
	if err != nil || d.N != 20000 {
		t.Fatal(d, err)
	}
	if one.err != nil || one.calls < 2 || one.done != b.Len() || one.total != b.Len() {
		t.Fatalf("one file: %d calls, last %d/%d, %v: want several, ending at %d/%d", one.calls, one.done, one.total, one.err, b.Len(), b.Len())
	}
	var pair progressLog
	if _, _, err := LoadCSVPair(plain, gz, CSVOptions{LabelColumn: -1, Progress: pair.fn}); err != nil {
		t.Fatal(err)
	}
	if want := b.Len() + z.Len(); pair.err != nil || pair.done != want || pair.total != want {
		t.Fatalf("pair: last %d/%d, %v: want %d/%d", pair.done, pair.total, pair.err, want, want)
	}
	var checked progressLog
	if _, err := LoadCSVChecked(gz, CSVOptions{LabelColumn: -1, Progress: checked.fn}); err != nil || checked.done != z.Len() {
		t.Fatalf("checked: last %d/%d, %v", checked.done, checked.total, err)
	}
}

// Loading a shard split tells the samples read after each shard.
func TestShardSplitProgress(t *testing.T) {
	dir, m, _, test := packMNIST(t, 64<<10)
	var p progressLog
	d, _, err := LoadShardSplitProgress(dir, m, m.Test, "test", false, nil, p.fn)
	if err != nil || d.N != test.N {
		t.Fatal(err)
	}
	if p.err != nil || p.calls != len(m.Test) || p.done != test.N || p.total != test.N {
		t.Fatalf("%d calls, last %d/%d, %v: want one per shard (%d), ending at %d", p.calls, p.done, p.total, p.err, len(m.Test), test.N)
	}
}
