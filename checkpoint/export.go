package checkpoint

import (
	"fmt"
	"io"
	"sort"
	"strconv"
)

// exportFormat is the __metadata__ "format" of exported files.
const exportFormat = "ringtrain.export.v1"

// Export writes m's parameters to w as one standard safetensors file that
// other frameworks read: one F32 tensor per Layout entry, named and shaped
// as there, in offset order; __metadata__ holds format, step, epoch,
// world_size, num_params, optimizer_steps, and job_hash and model_spec when
// set. Optimizer state is not exported. It holds the parameters in memory
// (4 bytes each).
func (s *Store) Export(m Manifest, w io.Writer) error {
	m = withVersion(m)
	if err := m.Validate(); err != nil {
		return fmt.Errorf("checkpoint: export: %w", err)
	}
	params := make([]float32, m.NumParams)
	if err := s.ReadInto(m, 0, params, nil); err != nil {
		return fmt.Errorf("checkpoint: export: %w", err)
	}
	layout := append([]Tensor(nil), m.Layout...)
	sort.SliceStable(layout, func(i, j int) bool { return layout[i].Offset < layout[j].Offset })
	names := make([]string, len(layout))
	shapes := make([][]int, len(layout))
	for i, t := range layout {
		names[i], shapes[i] = t.Name, t.Shape
	}
	meta := map[string]string{
		"format":          exportFormat,
		"step":            strconv.FormatInt(m.Step, 10),
		"epoch":           strconv.Itoa(m.Epoch),
		"world_size":      strconv.Itoa(m.WorldSize),
		"num_params":      strconv.Itoa(m.NumParams),
		"optimizer_steps": strconv.FormatInt(m.OptimizerSteps, 10),
	}
	if m.JobHash != "" {
		meta["job_hash"] = m.JobHash
	}
	if m.ModelSpec != nil {
		meta["model_spec"] = string(compactJSON(m.ModelSpec))
	}
	hdr, err := encodeHeader(names, shapes, meta)
	if err != nil {
		return fmt.Errorf("checkpoint: export: %w: %w", err, ErrInvalid)
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("checkpoint: export: %w", err)
	}
	buf := make([]byte, 4*chunkElems)
	for i, t := range layout {
		n, _ := shapeElems(shapes[i], int64(m.NumParams)) // validated
		if err := writeF32(w, params[t.Offset:t.Offset+int(n)], buf); err != nil {
			return fmt.Errorf("checkpoint: export: %w", err)
		}
	}
	return nil
}
