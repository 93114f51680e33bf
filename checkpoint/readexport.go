package checkpoint

import (
	"fmt"
	"io"
	"strconv"
)

// MaxExportParams bounds the parameters ReadExport accepts (4 GiB of F32).
const MaxExportParams = 1 << 30

// Exported is a file written by Export, read back: its metadata, the
// tensors in file order (Offset into Params) and all their values.
type Exported struct {
	Meta   map[string]string
	Layout []Tensor
	Params []float32
}

// ModelSpec is the "model_spec" metadata (JSON), or nil.
func (e *Exported) ModelSpec() []byte {
	if s, ok := e.Meta["model_spec"]; ok {
		return []byte(s)
	}
	return nil
}

// ReadExport reads an exported safetensors file of exactly size bytes
// (-1: unknown). It checks the header (F32 tensors back to back, their
// sizes against the file's), that the file says it is a ringtrain export
// and that its values are among the num_params it declares. Errors wrap ErrCorrupt.
func ReadExport(r io.Reader, size int64) (*Exported, error) {
	h, err := readHeader(r, size, maxHeaderBytes)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: export file: %w", err)
	}
	if f := h.Meta["format"]; f != exportFormat {
		return nil, fmt.Errorf("checkpoint: export file: format %q, want %q (a file written by ringtrain checkpoint export): %w", f, exportFormat, ErrCorrupt)
	}
	total := h.DataLen / 4
	if total > MaxExportParams {
		return nil, fmt.Errorf("checkpoint: export file: %d parameters, more than %d: %w", total, MaxExportParams, ErrCorrupt)
	}
	// The tensors hold every parameter a layout names (a layout may leave
	// gaps, which are not exported).
	if n, err := strconv.ParseInt(h.Meta["num_params"], 10, 64); err != nil || n < total {
		return nil, fmt.Errorf("checkpoint: export file: num_params %q, the tensors hold %d values: %w", h.Meta["num_params"], total, ErrCorrupt)
	}
	e := &Exported{Meta: h.Meta, Params: make([]float32, total)}
	for _, t := range h.Tensors {
		e.Layout = append(e.Layout, Tensor{Name: t.Name, Shape: t.Shape, Offset: int(t.Begin / 4)})
	}
	err = readTensors(r, h.Tensors, func(t stTensor) ([]float32, int) {
		return e.Params[t.Begin/4 : t.End/4], 0
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: export file: %w", err)
	}
	return e, nil
}
