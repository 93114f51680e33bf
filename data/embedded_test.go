package data

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	train, test, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d    *Dataset
		name string
		n    int
	}{{train, "mnist10k/train", 8000}, {test, "mnist10k/test", 2000}} {
		d := tc.d
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if d.Name != tc.name || d.N != tc.n || d.Dim != 784 || !slices.Equal(d.Shape, []int{1, 28, 28}) || d.Classes != 10 {
			t.Errorf("%s: N %d Dim %d Shape %v Classes %d; want %s N %d Dim 784 Shape [1 28 28] Classes 10",
				d.Name, d.N, d.Dim, d.Shape, d.Classes, tc.name, tc.n)
		}
		var count [10]int
		for _, y := range d.Y {
			count[y]++
		}
		for c, k := range count {
			if k < d.N/20 {
				t.Errorf("%s: only %d samples of class %d", d.Name, k, c)
			}
		}
		lo, hi := slices.Min(d.X), slices.Max(d.X)
		if lo != 0 || hi != 1 {
			t.Errorf("%s: pixels in [%v, %v], want [0, 1]", d.Name, lo, hi)
		}
	}
}

// TestEmbeddedChecksums: the embedded files are the ones whose SHA-256 the
// README lists.
func TestEmbeddedChecksums(t *testing.T) {
	f, err := os.Open("mnist10k/README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && len(fields[0]) == 64 && strings.HasSuffix(fields[1], ".gz") {
			want[fields[1]] = fields[0]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	entries, err := mnist10k.ReadDir("mnist10k")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 || len(want) != 4 {
		t.Fatalf("%d embedded files, %d checksums in the README: want 4 and 4", len(entries), len(want))
	}
	for _, e := range entries {
		b, err := mnist10k.ReadFile("mnist10k/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want[e.Name()] {
			t.Errorf("%s: SHA-256 %s, README says %q", e.Name(), got, want[e.Name()])
		}
	}
}

// TestLoadIDXDirOnEmbeddedFolder: the on-disk folder loads the same as the
// embedded copy.
func TestLoadIDXDirOnEmbeddedFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes MNIST-10k twice")
	}
	train, test, err := LoadIDXDir("mnist10k")
	if err != nil {
		t.Fatal(err)
	}
	etrain, etest, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(train.X, etrain.X) || !slices.Equal(train.Y, etrain.Y) || !slices.Equal(test.Y, etest.Y) ||
		train.Name != etrain.Name || test.Classes != etest.Classes {
		t.Error("LoadIDXDir(mnist10k) differs from Default()")
	}
}
