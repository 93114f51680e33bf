package device

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Module is one PTX module: a file of kernels/ (every kernel of the
// Kernels table is an .entry of exactly one module).
type Module struct {
	Name   string // the file name, e.g. "mlp.ptx"
	Source string // PTX text
}

//go:embed kernels/*.ptx
var ptxFS embed.FS // read-only: the embedded files

// Modules returns the embedded PTX modules, by name.
func Modules() ([]Module, error) {
	ents, err := ptxFS.ReadDir("kernels")
	if err != nil {
		return nil, fmt.Errorf("device: embedded kernels: %w", err)
	}
	var out []Module
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".ptx") {
			continue
		}
		b, err := ptxFS.ReadFile(path.Join("kernels", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("device: embedded kernels: %w", err)
		}
		out = append(out, Module{Name: e.Name(), Source: string(b)})
	}
	slices.SortFunc(out, func(a, b Module) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
