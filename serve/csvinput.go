package serve

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ReadCSV reads instances for batch scoring: one per record, width numeric
// cells each (the features of a data.source csv file without its label
// column), gzipped or not, RFC 4180 quoting, blank lines skipped, spaces
// around a cell ignored; header skips the first record. Values must be
// finite float32. It returns the values, row after row, and the number of
// rows; errors name the 1-based line and column.
func ReadCSV(r io.Reader, width int, header bool) ([]float32, int, error) {
	if width < 1 {
		return nil, 0, fmt.Errorf("csv: width %d: want >= 1", width)
	}
	br := bufio.NewReader(r)
	r = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, 0, fmt.Errorf("csv: gzip header: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	var x []float32
	n := 0
	for record := 0; ; record++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, 0, fmt.Errorf("csv: line %d, column %d: %w", pe.Line, pe.Column, pe.Err)
			}
			return nil, 0, fmt.Errorf("csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != width {
			hint := ""
			if len(rec) == width+1 {
				hint = " (a label column? leave it out)"
			}
			return nil, 0, fmt.Errorf("csv: line %d: %d columns: the model takes %d values%s", line, len(rec), width, hint)
		}
		if record == 0 && header {
			continue
		}
		for j, cell := range rec {
			cell = strings.TrimSpace(cell)
			v, err := strconv.ParseFloat(cell, 32)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				hint := ""
				if _, ferr := strconv.ParseFloat(cell, 64); record == 0 && !header && ferr != nil && !errors.Is(ferr, strconv.ErrRange) {
					hint = "; the first line looks like a header: pass --header"
				}
				return nil, 0, fmt.Errorf("csv: line %d, column %d: %q is not a finite number%s", line, j+1, cell, hint)
			}
			x = append(x, float32(v))
		}
		n++
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("csv: no data records")
	}
	return x, n, nil
}
