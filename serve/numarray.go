package serve

import (
	"bytes"
	"strconv"
)

// parseNumbers is flatten's fast path: raw is a flat JSON array of
// numbers ([1, 2.5, -3e-2]), parsed without reflection. ok is false for
// anything else (nested arrays, other values, a number that is not JSON's
// grammar or overflows float64), which flatten then decodes with
// encoding/json, the reference, for its value or its error.
func parseNumbers(raw []byte) (vals []float64, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return nil, false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return []float64{}, skipSpace(raw, i+1) == len(raw)
	}
	vals = make([]float64, 0, bytes.Count(raw[i:], []byte{','})+1) // the count of a flat array: no regrowth
	for {
		end := numberEnd(raw, i)
		if end < 0 {
			return nil, false
		}
		v, ok := smallInt(raw[i:end])
		if !ok {
			var err error
			if v, err = strconv.ParseFloat(string(raw[i:end]), 64); err != nil {
				return nil, false
			}
		}
		vals = append(vals, v)
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case ']':
			return vals, skipSpace(raw, i+1) == len(raw)
		default:
			return nil, false
		}
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// numberEnd returns the end of the JSON number starting at i
// (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?), or -1 if none starts
// there.
func numberEnd(b []byte, i int) int {
	digits := func(i int) int {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digits(i + 1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// smallInt is the value of tok if it is an integer of at most 15 digits
// (exact in float64, as ParseFloat gives it); a pixel's 0..255 mostly.
func smallInt(tok []byte) (float64, bool) {
	neg := len(tok) > 0 && tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	if len(tok) == 0 || len(tok) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		return -float64(n), true
	}
	return float64(n), true
}
