package data

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestDecodeCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opt     CSVOptions
		wantX   []float32
		wantY   []int32
		classes int
		shape   []int
	}{
		{
			name:  "label first",
			in:    "1,0.5,2\n0,-1,3e2\n",
			wantX: []float32{0.5, 2, -1, 300}, wantY: []int32{1, 0}, classes: 2, shape: []int{2},
		},
		{
			name:  "label last with header, spaces, CRLF, blank line",
			in:    "a, b ,label\r\n 1.5 , 2,3\r\n\r\n4,5, 0 \r\n",
			opt:   CSVOptions{LabelColumn: -1, Header: true},
			wantX: []float32{1.5, 2, 4, 5}, wantY: []int32{3, 0}, classes: 4, shape: []int{2},
		},
		{
			name:  "label in the middle, quoted cell, integral float label",
			in:    "1,\"2\",3\n4,5.0,6\n",
			opt:   CSVOptions{LabelColumn: 1},
			wantX: []float32{1, 3, 4, 6}, wantY: []int32{2, 5}, classes: 6, shape: []int{2},
		},
		{
			name:  "explicit classes and shape",
			in:    "1,2,3,4,0\n",
			opt:   CSVOptions{LabelColumn: -1, Classes: 10, Shape: []int{2, 2}},
			wantX: []float32{1, 2, 3, 4}, wantY: []int32{0}, classes: 10, shape: []int{2, 2},
		},
	}
	for _, tt := range tests {
		d, err := DecodeCSV(strings.NewReader(tt.in), tt.opt)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if err := d.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tt.name, err)
		}
		if !slices.Equal(d.X, tt.wantX) || !slices.Equal(d.Y, tt.wantY) || d.Classes != tt.classes ||
			!slices.Equal(d.Shape, tt.shape) || d.N != len(tt.wantY) || d.Dim != len(tt.wantX)/len(tt.wantY) {
			t.Errorf("%s: got X %v Y %v N %d Dim %d Classes %d Shape %v", tt.name, d.X, d.Y, d.N, d.Dim, d.Classes, d.Shape)
		}
	}
}

func TestDecodeCSVErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opt  CSVOptions
		want string
	}{
		{"non-numeric cell", "1,2,3\n0,x,4\n", CSVOptions{}, `line 2, column 2: "x" is not a finite number`},
		{"empty cell", "1,2,3\n0,,4\n", CSVOptions{}, `line 2, column 2: "" is not a finite number`},
		{"NaN cell", "1,NaN,3\n", CSVOptions{}, `line 1, column 2: "NaN" is not a finite number`},
		{"Inf cell", "1,2,-Inf\n", CSVOptions{}, `line 1, column 3: "-Inf" is not a finite number`},
		{"float32 overflow", "1,1e39\n", CSVOptions{}, `line 1, column 2: "1e39" is not a finite number`},
		{"ragged short", "1,2,3\n0,1\n", CSVOptions{}, "line 2: 2 columns: want 3 (as on line 1)"},
		{"ragged long", "h1,h2\n1,2\n0,1,2\n", CSVOptions{Header: true}, "line 3: 3 columns: want 2 (as on line 1)"},
		{"fractional label", "1.5,2\n", CSVOptions{}, `line 1, column 1: label "1.5" is not an integer`},
		{"text label", "1,2,cat\n", CSVOptions{LabelColumn: -1}, `line 1, column 3: label "cat" is not an integer`},
		{"negative label", "1,2\n-1,3\n", CSVOptions{}, "line 2, column 1: label -1 is negative"},
		{"label over classes", "1,2\n0,1\n5,1\n", CSVOptions{Classes: 3}, "line 3, column 1: label 5: want a label in [0, 3)"},
		{"huge label", "99999999999,1\n", CSVOptions{}, `label "99999999999" is not an integer`},
		{"single column", "1\n2\n", CSVOptions{}, "line 1: 1 column(s)"},
		{"label column out of range", "1,2\n", CSVOptions{LabelColumn: 2}, "LabelColumn 2, but there are only 2 columns"},
		{"bad label column", "1,2\n", CSVOptions{LabelColumn: -2}, "LabelColumn -2"},
		{"bad classes", "1,2\n", CSVOptions{Classes: -1}, "Classes -1"},
		{"empty", "", CSVOptions{}, "no data records"},
		{"header only", "a,b\n", CSVOptions{Header: true}, "no data records"},
		{"bad shape", "1,2,3,0\n", CSVOptions{LabelColumn: -1, Shape: []int{2, 2}}, "Shape [2 2] has more than 3 elements"},
		{"zero shape", "1,2,3,0\n", CSVOptions{LabelColumn: -1, Shape: []int{3, 0}}, "size 0 at index 1"},
		{"bare quote", "1,\"2\n", CSVOptions{}, "line 1, column"},
		{"quote in field", "1,2\"3,4\n", CSVOptions{}, `line 1, column 4: bare " in non-quoted-field`},
	}
	for _, tt := range tests {
		d, err := DecodeCSV(strings.NewReader(tt.in), tt.opt)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
		if d != nil {
			t.Errorf("%s: got a dataset with an error", tt.name)
		}
	}
}

// TestDecodeCSVHeaderHint: a first line that does not parse as numbers, in
// a file without Header, suggests csv.header: true; other bad cells do not.
func TestDecodeCSVHeaderHint(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opt  CSVOptions
		hint bool
	}{
		{"text feature on line 1", "x,y,label\n1,2,0\n", CSVOptions{LabelColumn: -1}, true},
		{"text label on line 1", "1,2,label\n1,2,0\n", CSVOptions{LabelColumn: -1}, true},
		{"quoted header", "\"a b\",c\n1,0\n", CSVOptions{}, true},
		{"gzipped header", string(gz(t, []byte("x,label\n1,0\n"))), CSVOptions{LabelColumn: -1}, true},
		{"text on line 2", "1,2,0\n1,x,0\n", CSVOptions{LabelColumn: -1}, false},
		{"NaN on line 1", "1,NaN,0\n", CSVOptions{LabelColumn: -1}, false},
		{"empty cell on line 1", "1,,0\n", CSVOptions{LabelColumn: -1}, false},
		{"fractional label on line 1", "1,2,0.5\n", CSVOptions{LabelColumn: -1}, false},
		{"text after a header", "a,b,c\n1,x,0\n", CSVOptions{LabelColumn: -1, Header: true}, false},
	}
	for _, tt := range tests {
		_, err := DecodeCSV(strings.NewReader(tt.in), tt.opt)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if got := strings.Contains(err.Error(), "set csv.header: true"); got != tt.hint {
			t.Errorf("%s: error %q: header hint %v, want %v", tt.name, err, got, tt.hint)
		}
	}
}

func TestLoadCSV(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "iris.csv")
	if err := os.WriteFile(p, []byte("f1,f2,y\n1,2,0\n3,4,1\n5,6,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := LoadCSV(p, CSVOptions{LabelColumn: -1, Header: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "iris.csv" || d.N != 3 || d.Dim != 2 || d.Classes != 3 {
		t.Errorf("got %s N %d Dim %d Classes %d", d.Name, d.N, d.Dim, d.Classes)
	}
	if err := os.WriteFile(p, []byte("1,2,0\n3,x,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCSV(p, CSVOptions{LabelColumn: -1}); err == nil || !strings.Contains(err.Error(), p+": line 2, column 2") {
		t.Errorf("error %v: want the path, line and column", err)
	}
	if _, err := LoadCSV(filepath.Join(dir, "missing.csv"), CSVOptions{}); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzDecodeCSV: no input panics, a success is a valid dataset, and memory
// stays proportional to the input.
func FuzzDecodeCSV(f *testing.F) {
	f.Add("1,0.5,2\n0,-1,3e2\n", -1, false, 0)
	f.Add("a,b,label\r\n1.5,2,3\r\n", -1, true, 4)
	f.Add("1,\"2\",3\n4,5.0,6\n", 1, false, 0)
	f.Add("1,2\n0,1\n5,1\n", 0, false, 3)
	f.Add("1,\"2\n", 0, false, 0)
	f.Add(string(gz(f, []byte("a,b,label\r\n1.5,2,3\r\n"))), -1, true, 0)
	f.Fuzz(func(t *testing.T, in string, labelCol int, header bool, classes int) {
		opt := CSVOptions{LabelColumn: labelCol, Header: header, Classes: classes}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d, err := DecodeCSV(strings.NewReader(in), opt)
		runtime.ReadMemStats(&after)
		raw := uint64(len(in))
		if len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
			if zr, zerr := gzip.NewReader(strings.NewReader(in)); zerr == nil {
				n, _ := io.Copy(io.Discard, io.LimitReader(zr, 1<<30))
				raw += uint64(n)
			}
		}
		if got, limit := after.TotalAlloc-before.TotalAlloc, 64*raw+(1<<20); got > limit {
			t.Fatalf("input of %d bytes (%d with the decompressed) allocated %d bytes", len(in), raw, got)
		}
		if err != nil {
			return
		}
		if verr := d.Validate(); verr != nil {
			t.Fatalf("DecodeCSV(%q, %+v) returned an invalid dataset: %v", in, opt, verr)
		}
	})
}
