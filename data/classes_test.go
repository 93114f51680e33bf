package data

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// digits returns n labels 0, 1, ..., 9, 0, 1, ...
func digits(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 10)
	}
	return b
}

// ascending returns the n labels 0, 1, ..., n-1.
func ascending(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestLoadIDXDirChecksTheSplits: LoadIDXDir refuses train and test images
// of different sizes and labels that do not make a sensible class count,
// naming the file, the index and the value.
func TestLoadIDXDirChecksTheSplits(t *testing.T) {
	withByte := func(b []byte, i int, v byte) []byte { b[i] = v; return b }
	tests := []struct {
		name string
		// change rewrites one file of the valid 40/10-sample directory.
		file string
		body []byte
		want []string // substrings of the error; none: no error
	}{
		{"valid", "", nil, nil},
		{"test images of another size", TestImagesFile, idxBytes(0x08, []uint32{10, 2, 3}, seq(60)),
			[]string{TestImagesFile + " has samples of shape [1 2 3]", TrainImagesFile + " has [1 3 2]"}},
		{"a stray label byte of 200", TrainLabelsFile, idxBytes(0x08, []uint32{40}, withByte(digits(40), 17, 200)),
			[]string{TrainLabelsFile + ": label 200 at index 17 makes 201 classes", "no training sample has a label in 10..199"}},
		{"a gap in the labels", TrainLabelsFile, idxBytes(0x08, []uint32{40}, slices.Repeat([]byte{0, 1, 3, 3}, 10)),
			[]string{TrainLabelsFile + ": label 3 at index 2 makes 4 classes", "label in 2..2"}},
		{"a test label the training set lacks", TestLabelsFile, idxBytes(0x08, []uint32{10}, withByte(digits(10), 3, 12)),
			[]string{TestLabelsFile + ": label 12 at index 3", "have only 10 classes, 0..9"}},
		{"one class", TrainLabelsFile, idxBytes(0x08, []uint32{40}, make([]byte, 40)),
			[]string{TrainLabelsFile + ": all 40 training labels are 0: want at least 2 classes"}},
		{"fewer than 2 samples per class", TrainLabelsFile, idxBytes(0x08, []uint32{40}, ascending(40)),
			[]string{TrainLabelsFile + ": label 39 at index 39 makes 40 classes for 40 training samples: want at least 2 samples per class"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeIDXDir(t, dir, 40, 10, 3, 2, false)
			if tt.file != "" {
				if err := os.WriteFile(filepath.Join(dir, tt.file), tt.body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			train, test, err := LoadIDXDir(dir)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if train.Classes != 10 || test.Classes != 10 {
					t.Fatalf("Classes %d and %d: want 10", train.Classes, test.Classes)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error (train Classes %d, Shape %v; test Shape %v)", train.Classes, train.Shape, test.Shape)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestLoadCSVPair: the CSV pair loader reads gzip transparently, checks the
// features of both files agree, and applies the class rules with lines.
func TestLoadCSVPair(t *testing.T) {
	// rows: 3 features and a label 0..2, twice each class at least.
	rows := func(labels ...int) string {
		var b strings.Builder
		for i, y := range labels {
			b.WriteString(strings.Join([]string{strconv.Itoa(i), "0.5", "-1", strconv.Itoa(y)}, ",") + "\n")
		}
		return b.String()
	}
	tests := []struct {
		name        string
		train, test []byte
		opt         CSVOptions
		want        []string // substrings of the error; none: no error
		classes     int
	}{
		{"plain", []byte(rows(0, 1, 2, 0, 1, 2)), []byte(rows(2, 0)), CSVOptions{LabelColumn: -1}, nil, 3},
		{"gzipped, any name", gz(t, []byte(rows(0, 1, 2, 0, 1, 2))), gz(t, []byte(rows(1))), CSVOptions{LabelColumn: -1}, nil, 3},
		{"header row without csv.header", []byte("id,a,b,label\n" + rows(0, 1, 0, 1)), []byte(rows(0)), CSVOptions{LabelColumn: -1},
			[]string{"train.csv: line 1, column 1: \"id\" is not a finite number", "set csv.header: true"}, 0},
		{"header row with csv.header", []byte("id,a,b,label\n" + rows(0, 1, 0, 1)), []byte("id,a,b,label\n" + rows(0)),
			CSVOptions{LabelColumn: -1, Header: true}, nil, 2},
		{"features differ", []byte(rows(0, 1, 0, 1)), []byte("1,2,0\n"), CSVOptions{LabelColumn: -1},
			[]string{"test.csv has samples of shape [2] (2 features) but", "train.csv has [3] (3 features)"}, 0},
		{"an identifier as the label column", []byte(rows(0, 1, 0, 1, 0, 1)), []byte(rows(0)), CSVOptions{LabelColumn: 0},
			[]string{"train.csv: label 5 at line 6 makes 6 classes for 6 training samples", "csv.label_column"}, 0},
		{"a stray label", []byte(rows(0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 50, 1)), []byte(rows(0)), CSVOptions{LabelColumn: -1},
			[]string{"train.csv: label 50 at line 11 makes 51 classes", "3..49", "csv.classes"}, 0},
		{"a test label over the training classes", []byte(rows(0, 1, 0, 1)), []byte(rows(0, 1, 0, 7)), CSVOptions{LabelColumn: -1},
			[]string{"test.csv: label 7 at line 4", "only 2 classes, 0..1"}, 0},
		{"declared classes allow empty ones", []byte(rows(0, 5, 0, 5)), []byte(rows(9)), CSVOptions{LabelColumn: -1, Classes: 10}, nil, 10},
		{"declared single class", []byte(rows(0, 0)), []byte(rows(0)), CSVOptions{LabelColumn: -1, Classes: 1},
			[]string{"1 classes declared: want 2..65536"}, 0},
		{"corrupt gzip", gz(t, []byte(rows(0, 1, 0, 1)))[:20], []byte(rows(0)), CSVOptions{LabelColumn: -1},
			[]string{"train.csv", "unexpected EOF"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			trainPath, testPath := filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
			for p, b := range map[string][]byte{trainPath: tt.train, testPath: tt.test} {
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			train, test, err := LoadCSVPair(trainPath, testPath, tt.opt)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range []*Dataset{train, test} {
					if err := d.Validate(); err != nil {
						t.Error(err)
					}
					if d.Classes != tt.classes || d.Dim != 3 {
						t.Errorf("%s: Classes %d, Dim %d: want %d and 3", d.Name, d.Classes, d.Dim, tt.classes)
					}
				}
				if train.X[3] != 1 || train.X[4] != 0.5 || train.X[5] != -1 {
					t.Errorf("sample 1 = %v: want [1 0.5 -1]", train.X[3:6])
				}
				return
			}
			if err == nil {
				t.Fatalf("no error (train Classes %d)", train.Classes)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want it to contain %q", err, w)
				}
			}
		})
	}
}
