package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestParseNumbersAgainstEncodingJSON checks the fast path against
// encoding/json, the reference: where it answers, the values are
// encoding/json's; where it declines, flatten's answer (value or error) is
// encoding/json's own.
func TestParseNumbersAgainstEncodingJSON(t *testing.T) {
	cases := []string{
		`[]`, ` [ ] `, `[0]`, `[-0]`, `[1,2,3]`, ` [ 1 , -2.5 ,3e2, 4E-2 , 5e+1 ]` + "\n\t",
		`[255, 0, 17]`, `[1.7976931348623157e308]`, `[5e-324]`, `[0.1, 0.2]`, `[123456789012345678901234567890]`,
		// not flat arrays of JSON numbers: the fast path must decline
		`[1e400]`, `[-1e400]`, `[01]`, `[1.]`, `[.5]`, `[+1]`, `[1e]`, `[1e+]`, `[-]`, `[NaN]`, `[Infinity]`,
		`[0x10]`, `[1_000]`, `[1,]`, `[,1]`, `[1 2]`, `[1]]`, `[1] x`, `[[1,2],[3]]`, `["1"]`, `[true]`,
		`[null]`, `null`, `{}`, `1`, `[`, ``, `[1,2`, `[1;2]`,
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		n := r.IntN(40)
		parts := make([]string, n)
		for i := range parts {
			v := (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(80)-40))
			switch r.IntN(3) {
			case 0:
				parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
			case 1:
				parts[i] = strconv.FormatFloat(v, 'e', r.IntN(10), 64)
			default:
				parts[i] = strconv.Itoa(r.IntN(512) - 256)
			}
		}
		cases = append(cases, "["+strings.Join(parts, ", ")+"]")
	}
	for _, c := range cases {
		var want []float64
		wantErr := json.Unmarshal([]byte(c), &want)
		got, ok := parseNumbers([]byte(c))
		if ok {
			if wantErr != nil {
				t.Errorf("%q: fast path gives %v, encoding/json fails: %v", c, got, wantErr)
			} else if !slices.Equal(got, want) || got == nil {
				t.Errorf("%q: fast path %v, encoding/json %v", c, got, want)
			}
		}
		// flatten as a whole: what the fast path adds changes nothing.
		flat, err := flatten(json.RawMessage(c))
		ref, refErr := flattenJSON(json.RawMessage(c))
		if fmt.Sprint(err) != fmt.Sprint(refErr) || !slices.Equal(flat, ref) {
			t.Errorf("%q: flatten %v, %v; reference %v, %v", c, flat, err, ref, refErr)
		}
	}
	for _, c := range []string{`[1,2,3]`, `[0.5, -1e3]`, `[]`} {
		if _, ok := parseNumbers([]byte(c)); !ok {
			t.Errorf("%q: the fast path declines a flat array", c)
		}
	}
}

func BenchmarkFlatten784(b *testing.B) {
	parts := make([]string, 784)
	for i := range parts {
		parts[i] = strconv.Itoa(i % 256)
	}
	raw := json.RawMessage("[" + strings.Join(parts, ",") + "]")
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, err := flatten(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			if _, err := flattenJSON(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
