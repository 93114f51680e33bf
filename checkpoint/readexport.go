package checkpoint

import (
	"fmt"
	"io"
	"strconv"
)

// MaxExportParams bounds the parameters ReadExport accepts (4 GiB of F32).
const MaxExportParams = 1 << 30

// Exported is a file written by Export, read back: its metadata, the F32
// tensors in file order (Offset into Params) and all their values, and the
// I8 tensors (int8-quantized weights) in file order.
type Exported struct {
	Meta   map[string]string
	Layout []Tensor
	Params []float32
	I8     []I8Tensor
}

// I8Tensor is an I8 tensor of an exported file.
type I8Tensor struct {
	Name  string
	Shape []int
	Data  []int8
}

// ModelSpec is the "model_spec" metadata (JSON), or nil.
func (e *Exported) ModelSpec() []byte {
	if s, ok := e.Meta["model_spec"]; ok {
		return []byte(s)
	}
	return nil
}

// ReadExport reads an exported safetensors file of exactly size bytes
// (-1: unknown). It checks the header (F32 or I8 tensors back to back,
// their sizes against the file's), that the file says it is a ringtrain
// export and that its values are among the num_params it declares. Errors
// wrap ErrCorrupt.
func ReadExport(r io.Reader, size int64) (*Exported, error) {
	h, err := readHeader(r, size, maxHeaderBytes, true)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: export file: %w", err)
	}
	if f := h.Meta["format"]; f != exportFormat {
		return nil, fmt.Errorf("checkpoint: export file: format %q, want %q (a file written by ringtrain checkpoint export): %w", f, exportFormat, ErrCorrupt)
	}
	var nF32, nI8 int64
	for _, t := range h.Tensors {
		if t.Dtype == dtypeI8 {
			nI8 += int64(t.elems())
		} else {
			nF32 += int64(t.elems())
		}
	}
	total := nF32 + nI8
	if total > MaxExportParams {
		return nil, fmt.Errorf("checkpoint: export file: %d parameters, more than %d: %w", total, MaxExportParams, ErrCorrupt)
	}
	// The tensors hold every parameter a layout names (a layout may leave
	// gaps, which are not exported).
	if n, err := strconv.ParseInt(h.Meta["num_params"], 10, 64); err != nil || n < total {
		return nil, fmt.Errorf("checkpoint: export file: num_params %q, the tensors hold %d values: %w", h.Meta["num_params"], total, ErrCorrupt)
	}
	e := &Exported{Meta: h.Meta, Params: make([]float32, nF32)}
	at := 0
	for _, t := range h.Tensors {
		if t.Dtype == dtypeI8 {
			it := I8Tensor{Name: t.Name, Shape: t.Shape, Data: make([]int8, t.elems())}
			if err := readI8(r, it.Data); err != nil {
				return nil, fmt.Errorf("checkpoint: export file: tensor %q: %w: %w", t.Name, err, ErrCorrupt)
			}
			e.I8 = append(e.I8, it)
			continue
		}
		n := t.elems()
		e.Layout = append(e.Layout, Tensor{Name: t.Name, Shape: t.Shape, Offset: at})
		dst := e.Params[at : at+n]
		if err := readTensors(r, []stTensor{t}, func(stTensor) ([]float32, int) { return dst, 0 }); err != nil {
			return nil, fmt.Errorf("checkpoint: export file: %w", err)
		}
		at += n
	}
	return e, nil
}
