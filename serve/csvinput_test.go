package serve_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/serve"
)

func TestReadCSV(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("1,2\n3,4\n"))
	zw.Close()
	for _, c := range []struct {
		name   string
		in     string
		header bool
		want   string // fmt of the values and the row count, or the error's text
	}{
		{"plain", "1,2\n3, 4.5\n", false, "[1 2 3 4.5] 2"},
		{"blank lines and quotes", "\n\"1\",2\n\n3,4\n", false, "[1 2 3 4] 2"},
		{"header", "a,b\n1,2\n", true, "[1 2] 1"},
		{"gzip", gz.String(), false, "[1 2 3 4] 2"},
		{"header not declared", "a,b\n1,2\n", false, `line 1, column 1: "a" is not a finite number; the first line looks like a header: pass --header`},
		{"a label column", "1,2,0\n", false, "line 1: 3 columns: the model takes 2 values (a label column? leave it out)"},
		{"ragged", "1,2\n3\n", false, "line 2: 1 columns: the model takes 2 values"},
		{"NaN", "1,NaN\n", false, `line 1, column 2: "NaN" is not a finite number`},
		{"beyond float32", "1,1e39\n", false, `"1e39" is not a finite number`},
		{"empty", "\n\n", false, "no data records"},
		{"bad quoting", "1,\"2\n", false, "line 1, column"},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, n, err := serve.ReadCSV(strings.NewReader(c.in), 2, c.header)
			got := fmt.Sprint(x, " ", n)
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
