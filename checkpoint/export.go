package checkpoint

import (
	"fmt"
	"io"
	"sort"
)

// exportFormat is the __metadata__ "format" of exported files.
const exportFormat = "ringtrain.export.v1"

// Export writes m's parameters to w as one standard safetensors file that
// other frameworks read: one F32 tensor per Layout entry, named and shaped
// as there, in offset order; __metadata__ is ExportMeta(m). Optimizer
// state is not exported. It holds the parameters in memory (4 bytes each).
// (ExportTensors, ExportMeta and WriteExport are its steps, for callers
// that add metadata or rename tensors.)
func (s *Store) Export(m Manifest, w io.Writer) error {
	tensors, err := s.ExportTensors(m)
	if err != nil {
		return err
	}
	return WriteExport(w, tensors, ExportMeta(m))
}

// ExportTensors reads m's parameters and returns them as one tensor per
// Layout entry, in offset order.
func (s *Store) ExportTensors(m Manifest) ([]ExportTensor, error) {
	m = withVersion(m)
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("checkpoint: export: %w", err)
	}
	params := make([]float32, m.NumParams)
	if err := s.ReadInto(m, 0, params, nil); err != nil {
		return nil, fmt.Errorf("checkpoint: export: %w", err)
	}
	layout := append([]Tensor(nil), m.Layout...)
	sort.SliceStable(layout, func(i, j int) bool { return layout[i].Offset < layout[j].Offset })
	out := make([]ExportTensor, len(layout))
	for i, t := range layout {
		n, _ := shapeElems(t.Shape, int64(m.NumParams)) // validated
		out[i] = ExportTensor{Name: t.Name, Shape: t.Shape, Data: params[t.Offset : t.Offset+int(n)]}
	}
	return out, nil
}
