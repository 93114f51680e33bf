package data

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CSVOptions describes a CSV file: one sample per record, numeric features
// and one integer label column. The zero value means: label in the first
// column, no header, Classes from the data, flat shape.
type CSVOptions struct {
	// LabelColumn is the 0-based index of the label column; -1 is the last.
	LabelColumn int
	// Header skips the first record (its column count must still match).
	// Without it, a first record with a cell that is not a number is
	// reported as a probable header.
	Header bool
	// Classes is the number of classes; labels must be below it. 0 means
	// one more than the largest label (LoadCSVPair checks that count, see
	// setClasses).
	Classes int
	// Shape is the optional per-sample shape; its product must equal the
	// number of feature columns. Default [features].
	Shape []int
	// Progress, if set, is told the bytes of the file (as stored: gzipped
	// or not) read so far and the file's size, as the reading goes on
	// (LoadCSV, LoadCSVChecked), or of both files together (LoadCSVPair).
	Progress func(done, total int)
}

// headerHint is added to the error about a first record that does not
// parse as numbers.
const headerHint = "; the first line looks like a header: set csv.header: true in the job (CSVOptions.Header)"

// LoadCSV reads the CSV file at path, gzipped or not; see DecodeCSV. The
// dataset is named after the file and errors name the path.
func LoadCSV(path string, opt CSVOptions) (*Dataset, error) {
	d, _, err := loadCSV(path, opt, progressFiles(opt.Progress, path))
	return d, err
}

// LoadCSVPair loads a training and a test CSV file with the same options.
// Both must have the same number of features (and Shape); both get the same
// Classes: opt.Classes if set, else derived from the training labels under
// the rules of setClasses. Errors name the file and line.
func LoadCSVPair(trainPath, testPath string, opt CSVOptions) (train, test *Dataset, err error) {
	prog := progressFiles(opt.Progress, trainPath, testPath)
	train, trainLines, err := loadCSV(trainPath, opt, prog)
	if err != nil {
		return nil, nil, err
	}
	test, testLines, err := loadCSV(testPath, opt, prog)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSameShape(train, test, trainPath, testPath); err != nil {
		return nil, nil, err
	}
	const hint = "; is csv.label_column the label? csv.classes declares the class count instead"
	err = setClasses(train, test, opt.Classes,
		labelSource{file: trainPath, at: lineAt(trainLines), hint: hint},
		labelSource{file: testPath, at: lineAt(testLines), hint: hint})
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// lineAt is labelSource.at for a CSV file whose sample i is on lines[i].
func lineAt(lines []int32) func(int) string {
	return func(i int) string { return fmt.Sprintf("line %d", lines[i]) }
}

func loadCSV(path string, opt CSVOptions, prog *fileProgress) (*Dataset, []int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if prog != nil {
		r = &progressReader{r: f, p: prog}
	}
	d, lines, err := decodeCSV(r, opt, path)
	if err != nil {
		return nil, nil, err
	}
	d.Name = filepath.Base(path)
	return d, lines, nil
}

// DecodeCSV reads a CSV stream, gzipped or not (detected by the 0x1f 0x8b
// magic, never by a name), with RFC 4180 quoting; blank lines skipped;
// spaces around a cell ignored. Features are parsed as float32 and must be
// finite; labels must be non-negative integers ("3" or "3.0"). Errors name
// the 1-based line and column of the offending cell.
func DecodeCSV(r io.Reader, opt CSVOptions) (*Dataset, error) {
	d, _, err := decodeCSV(r, opt, "csv")
	return d, err
}

// decodeCSV is DecodeCSV; it also returns the line of every sample.
func decodeCSV(r io.Reader, opt CSVOptions, src string) (*Dataset, []int32, error) {
	if opt.LabelColumn < -1 {
		return nil, nil, fmt.Errorf("data: %s: LabelColumn %d: want a 0-based column index or -1 (last)", src, opt.LabelColumn)
	}
	if opt.Classes < 0 || opt.Classes > math.MaxInt32 {
		return nil, nil, fmt.Errorf("data: %s: Classes %d: want 0 (from the data) or a count in [1, %d]", src, opt.Classes, math.MaxInt32)
	}
	br := bufio.NewReader(r)
	r = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("data: %s: gzip header: %w", src, err)
		}
		defer zr.Close()
		r = zr
	}
	return parseCSV(r, opt, src)
}

// parseCSV parses the (decompressed) records of decodeCSV.
func parseCSV(r io.Reader, opt CSVOptions, src string) (*Dataset, []int32, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // ragged rows are reported below, with both counts
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	d := &Dataset{Name: "csv"}
	cols, labelCol, firstLine := 0, 0, 0
	maxLabel := int64(-1)
	var lines []int32
	// cellErr is the error for cell j of the current record; a text cell
	// on the first line of a file without Header is probably a header.
	cellErr := func(record, j int, cell string, err error) error {
		l, _ := cr.FieldPos(j)
		hint := ""
		if _, ferr := strconv.ParseFloat(cell, 64); record == 0 && !opt.Header && cell != "" && ferr != nil && !errors.Is(ferr, strconv.ErrRange) {
			hint = headerHint
		}
		return fmt.Errorf("data: %s: line %d, column %d: %w%s", src, l, j+1, err, hint)
	}
	for record := 0; ; record++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("data: %s: line %d, column %d: %w", src, pe.Line, pe.Column, pe.Err)
			}
			return nil, nil, fmt.Errorf("data: %s: %w", src, err)
		}
		line, _ := cr.FieldPos(0)
		if record == 0 {
			cols, firstLine = len(rec), line
			if cols < 2 {
				return nil, nil, fmt.Errorf("data: %s: line %d: %d column(s): want at least one feature and a label", src, line, cols)
			}
			labelCol = opt.LabelColumn
			if labelCol == -1 {
				labelCol = cols - 1
			}
			if labelCol >= cols {
				return nil, nil, fmt.Errorf("data: %s: line %d: LabelColumn %d, but there are only %d columns", src, line, opt.LabelColumn, cols)
			}
		}
		if len(rec) != cols {
			return nil, nil, fmt.Errorf("data: %s: line %d: %d columns: want %d (as on line %d)", src, line, len(rec), cols, firstLine)
		}
		if record == 0 && opt.Header {
			continue
		}
		for j, cell := range rec {
			cell = strings.TrimSpace(cell)
			if j == labelCol {
				y, err := parseLabel(cell, opt.Classes)
				if err != nil {
					return nil, nil, cellErr(record, j, cell, err)
				}
				d.Y = append(d.Y, int32(y))
				lines = append(lines, int32(min(line, math.MaxInt32)))
				maxLabel = max(maxLabel, y)
				continue
			}
			v, err := strconv.ParseFloat(cell, 32)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, cellErr(record, j, cell, fmt.Errorf("%q is not a finite number", cell))
			}
			d.X = append(d.X, float32(v))
		}
	}
	if len(d.Y) == 0 {
		return nil, nil, fmt.Errorf("data: %s: no data records", src)
	}
	d.N, d.Dim = len(d.Y), cols-1
	d.Classes = opt.Classes
	if d.Classes == 0 {
		d.Classes = int(maxLabel) + 1
	}
	d.Shape = []int{d.Dim}
	if opt.Shape != nil {
		if err := checkShape(opt.Shape, d.Dim); err != nil {
			return nil, nil, fmt.Errorf("data: %s: %w", src, err)
		}
		d.Shape = append([]int(nil), opt.Shape...)
	}
	return d, lines, nil
}

// parseLabel parses a non-negative integer label, also written as an
// integral float ("3.0"), below classes when classes > 0.
func parseLabel(cell string, classes int) (int64, error) {
	y, err := strconv.ParseInt(cell, 10, 32)
	if err != nil {
		f, ferr := strconv.ParseFloat(cell, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			return 0, fmt.Errorf("label %q is not an integer", cell)
		}
		y = int64(f)
	}
	if y < 0 {
		return 0, fmt.Errorf("label %d is negative", y)
	}
	if classes > 0 && y >= int64(classes) {
		return 0, fmt.Errorf("label %d: want a label in [0, %d) (Classes)", y, classes)
	}
	return y, nil
}

// fileProgress counts the bytes read of files whose sizes add up to
// total, for a Progress callback.
type fileProgress struct {
	fn          func(done, total int)
	done, total int
}

// progressFiles is the progress of reading paths one after the other
// (nil without fn). A file that cannot be stat'ed counts 0 bytes (its
// open fails next, with the error).
func progressFiles(fn func(done, total int), paths ...string) *fileProgress {
	if fn == nil {
		return nil
	}
	p := &fileProgress{fn: fn}
	for _, path := range paths {
		if st, err := os.Stat(path); err == nil {
			p.total += int(st.Size())
		}
	}
	return p
}

// progressReader tells its fileProgress of every read.
type progressReader struct {
	r io.Reader
	p *fileProgress
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	if n > 0 {
		pr.p.done += n
		pr.p.fn(min(pr.p.done, pr.p.total), pr.p.total)
	}
	return n, err
}
