package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Old spellings of renamed flags (docs/cli.md lists them). Each is a
// hidden, deprecated alias of the flag that replaced it: it shares that
// flag's value, so it sets the same thing, and pflag prints "Flag --OLD has
// been deprecated, use --NEW" on stderr when it is used.

// aliasOf is the annotation that names the flag an alias stands for.
const aliasOf = "ringtrain/alias-of"

// alias declares old as a deprecated spelling of the flag name of fs,
// which must already be declared.
func alias(fs *pflag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	if f == nil {
		panic(fmt.Sprintf("alias --%s: no flag --%s declared", old, name)) // a programming error, caught by every test
	}
	fs.Var(f.Value, old, f.Usage)
	o := fs.Lookup(old)
	o.DefValue, o.NoOptDefVal = f.DefValue, f.NoOptDefVal
	o.Annotations = map[string][]string{aliasOf: {name}}
	if err := fs.MarkDeprecated(old, "use --"+name); err != nil {
		panic(err) // old was declared just above
	}
}

// canonical is the name of the flag f stands for: its own unless it is an
// alias.
func canonical(f *pflag.Flag) string {
	if a := f.Annotations[aliasOf]; len(a) == 1 {
		return a[0]
	}
	return f.Name
}

// given reports whether the flag name was set (on the command line or from
// the environment), by its name or by an old spelling.
func given(fs *pflag.FlagSet, name string) bool {
	set := false
	fs.VisitAll(func(f *pflag.Flag) {
		set = set || (f.Changed && canonical(f) == name)
	})
	return set
}

// spelled is how the user named the flag name: "--name", or its old
// spelling when that is what set it, so that an error names what the user
// typed.
func spelled(fs *pflag.FlagSet, name string) string {
	used := "--" + name
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed && f.Name != name && canonical(f) == name && !fs.Changed(name) {
			used = "--" + f.Name
		}
	})
	return used
}

// checkAliases refuses a command line that sets a flag under both its
// name and an old spelling (one would silently win over the other).
func checkAliases(cmd *cobra.Command) error {
	fs := cmd.Flags()
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if name := canonical(f); err == nil && name != f.Name && f.Changed && fs.Changed(name) {
			err = fmt.Errorf("--%s is the old spelling of --%s: give only --%s", f.Name, name, name)
		}
	})
	return err
}

// flagsToStderr makes pflag's notices (a deprecated flag used) go to w for
// every verb: cobra would print them on stdout, among a verb's output.
func flagsToStderr(c *cobra.Command, w io.Writer) {
	c.Flags().SetOutput(w)
	for _, sub := range c.Commands() {
		flagsToStderr(sub, w)
	}
}
