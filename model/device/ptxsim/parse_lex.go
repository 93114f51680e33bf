package ptxsim

import "fmt"

// tokKind is the class of a token of PTX text.
type tokKind uint8

const (
	tokEOF   tokKind = iota
	tokWord          // a directive, opcode, identifier, register or number
	tokPunct         // one of , ; : [ ] ( ) { } + - @ ! < >
)

// token is one token of PTX text and the line it is on (1-based).
type token struct {
	kind tokKind
	text string
	line int
}

// lexError is a tokenizing error at a line.
type lexError struct {
	line int
	msg  string
}

func (e *lexError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c == '.' || c == '%'
}

func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c == '.'
}

func isPunct(c byte) bool {
	switch c {
	case ',', ';', ':', '[', ']', '(', ')', '{', '}', '+', '-', '@', '!', '<', '>':
		return true
	}
	return false
}

// lex splits PTX text into tokens, dropping whitespace and comments
// (// to the end of the line, /* … */). A word is a run of letters,
// digits, _ $ . (and a leading %), so "ld.global.f32", "%tid.x",
// "$L__BB0_3" and "0f3F800000" are single tokens.
func lex(src string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			start := line
			i += 2
			for {
				if i+1 >= len(src) {
					return nil, &lexError{start, "unterminated /* comment"}
				}
				if src[i] == '*' && src[i+1] == '/' {
					i += 2
					break
				}
				if src[i] == '\n' {
					line++
				}
				i++
			}
		case isWordStart(c):
			j := i + 1
			for j < len(src) && isWordChar(src[j]) {
				j++
			}
			toks = append(toks, token{tokWord, src[i:j], line})
			i = j
		case isPunct(c):
			toks = append(toks, token{tokPunct, src[i : i+1], line})
			i++
		default:
			return nil, &lexError{line, fmt.Sprintf("unexpected character %q (outside the PTX subset)", src[i:i+1])}
		}
	}
	return append(toks, token{kind: tokEOF, line: line}), nil
}
