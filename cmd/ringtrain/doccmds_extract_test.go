package main

// Extraction of the commands a reader of the docs would type, for
// TestDocumentedCommands (doccmds_test.go). Test-only: nothing here is part
// of the binary.

import (
	"bufio"
	"path"
	"regexp"
	"strings"
)

// docCommand is one command line found in a Markdown file.
type docCommand struct {
	File string // as given to extractCommands, e.g. "docs/deploy.md"
	Line int    // 1-based line where the command starts
	Text string // continuation lines joined, a trailing "# comment" dropped
	// InTable: named in a table cell (a backquoted span starting with
	// "ringtrain " or "make "), rather than in a ```sh/bash/console block.
	InTable bool
	// RowFlags: the other backquoted "--flag" spans of the same table row
	// (e.g. "(`--resume`, `--auto-resume`)" in a description), which the
	// help check attributes to this command's verb.
	RowFlags []string
}

// shellLangs are the fence languages whose lines are commands; in console
// blocks only lines with a "$ " prompt are (the rest is output).
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}

var (
	// a fence: 3+ backquotes and an info string without any (CommonMark),
	// so a line starting with inline code such as ```` ```sh ```` is none
	fenceRE = regexp.MustCompile("^\\s*```+\\s*([A-Za-z0-9_+-]*)[^`]*$")
	spanRE  = regexp.MustCompile("`([^`]+)`")
)

// extractCommands returns the commands of one Markdown file, in order:
// every line of ```sh, ```bash, ```shell and ```console blocks (blank and
// comment lines skipped), and every table cell span that starts with
// "ringtrain " or "make ".
func extractCommands(file, markdown string) []docCommand {
	var (
		out     []docCommand
		inBlock bool
		lang    string
		pending strings.Builder // a command continued with a trailing backslash
		start   int
	)
	sc := bufio.NewScanner(strings.NewReader(markdown))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			if inBlock {
				inBlock = false
				pending.Reset()
			} else {
				inBlock, lang = true, strings.ToLower(m[1])
			}
			continue
		}
		if inBlock {
			if !shellLangs[lang] {
				continue
			}
			text := strings.TrimSpace(line)
			if pending.Len() == 0 {
				if lang == "console" {
					var ok bool
					if text, ok = strings.CutPrefix(text, "$ "); !ok {
						continue
					}
				}
				start = n
			}
			if more, ok := strings.CutSuffix(text, "\\"); ok {
				pending.WriteString(strings.TrimSpace(more) + " ")
				continue
			}
			pending.WriteString(text)
			cmd := strings.TrimSpace(stripComment(pending.String()))
			pending.Reset()
			if cmd != "" {
				out = append(out, docCommand{File: file, Line: start, Text: cmd})
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "|") {
			out = append(out, tableCommands(file, n, line)...)
		}
	}
	return out
}

// tableCommands returns the commands named in one table row. In a table an
// escaped "\|" is a literal bar (e.g. "ls\|inspect").
func tableCommands(file string, n int, row string) []docCommand {
	var cmds []docCommand
	var flags []string
	for _, m := range spanRE.FindAllStringSubmatch(row, -1) {
		span := strings.TrimSpace(strings.ReplaceAll(m[1], `\|`, "|"))
		switch {
		case strings.HasPrefix(span, "ringtrain "), strings.HasPrefix(span, "make "):
			cmds = append(cmds, docCommand{File: file, Line: n, Text: span, InTable: true})
		case strings.HasPrefix(span, "--"):
			flags = append(flags, strings.Fields(span)[0])
		}
	}
	for i := range cmds {
		if strings.HasPrefix(cmds[i].Text, "ringtrain ") {
			cmds[i].RowFlags = flags
		}
	}
	return cmds
}

// stripComment drops a shell comment: a '#' at the start or after a blank,
// outside quotes.
func stripComment(s string) string {
	var quote rune
	prev := ' '
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return s[:i]
		}
		prev = r
	}
	return s
}

// placeholderRE matches a template's placeholder token: N, DIR, HOST:PORT,
// RUN_DIR, HOST,... (all capitals).
var placeholderRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*(:[A-Z][A-Z0-9_]*)?(,\.\.\.)?$`)

// isTemplate reports whether a command is a template rather than a command
// line: it has optional parts ("[--workers N]"), alternatives ("ls|inspect")
// or a placeholder (DIR, HOST:PORT).
func isTemplate(text string) bool {
	if strings.ContainsAny(text, "[]|") || strings.Contains(text, "...") {
		return true
	}
	for _, f := range strings.Fields(text) {
		if placeholderRE.MatchString(f) {
			return true
		}
	}
	return false
}

// invocation is one call of the ringtrain binary or of make inside a
// command line.
type invocation struct {
	Tool string   // "ringtrain" or "make"
	Args []string // what follows the program name
}

// separatorRE splits a command line into simple commands: at &&, ||, ;, |,
// command substitution, parentheses and quotes (a quoted string may itself
// be a command, as in EXTRA_TRAIN='./ringtrain bench train ...').
var separatorRE = regexp.MustCompile(`&&|\|\||\$\(|[;|()'"]`)

var assignmentRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// invocations finds the calls of ringtrain (by any path: ./ringtrain,
// bin/ringtrain-openblas, `go run ./cmd/ringtrain`, the image's /ringtrain
// after `docker-compose ... exec SERVICE`) and of make in a command line.
func invocations(text string) []invocation {
	var out []invocation
	for _, seg := range separatorRE.Split(text, -1) {
		words := strings.Fields(seg)
		for len(words) > 0 && assignmentRE.MatchString(words[0]) {
			words = words[1:] // VAR=value prefixes
		}
		if len(words) == 0 {
			continue
		}
		switch base := path.Base(words[0]); {
		case base == "ringtrain" || base == "ringtrain-openblas":
			out = append(out, invocation{"ringtrain", words[1:]})
			continue
		case base == "make":
			out = append(out, invocation{"make", words[1:]})
			continue
		case words[0] == "go" && len(words) > 2 && words[1] == "run" && path.Base(words[2]) == "ringtrain":
			out = append(out, invocation{"ringtrain", words[3:]})
			continue
		}
		for i, w := range words {
			if w == "/ringtrain" { // the container image's entry point
				out = append(out, invocation{"ringtrain", words[i+1:]})
				break
			}
		}
	}
	return out
}
