package checkpoint

import (
	"fmt"
	"io"
	"strconv"
)

// ExportTensor is one tensor of an exported file: its name, its shape and
// its values in row-major order (len(Data) is the product of Shape). A
// tensor with I8 set (Data nil) is written with dtype I8, one byte per
// value: int8-quantized weights.
type ExportTensor struct {
	Name  string
	Shape []int
	Data  []float32
	I8    []int8
}

// values is the number of values t holds.
func (t ExportTensor) values() int {
	if t.I8 != nil {
		return len(t.I8)
	}
	return len(t.Data)
}

// ExportMeta is the __metadata__ Export writes for m: format, step, epoch,
// world_size, num_params, optimizer_steps, and job_hash, model_spec and
// input_normalization when set. Callers may add keys before WriteExport.
func ExportMeta(m Manifest) map[string]string {
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
	if len(m.InputNormalization) > 0 {
		meta["input_normalization"] = string(compactJSON(m.InputNormalization))
	}
	return meta
}

// WriteExport writes tensors, in the order given, and meta as one
// safetensors file of F32 (and I8) tensors that ReadExport reads back. meta must
// say format "ringtrain.export.v1" (ExportMeta's) and num_params at least
// the values written, so that the file is a valid export.
func WriteExport(w io.Writer, tensors []ExportTensor, meta map[string]string) error {
	if f := meta["format"]; f != exportFormat {
		return fmt.Errorf("checkpoint: export: metadata format %q, want %q: %w", f, exportFormat, ErrInvalid)
	}
	names := make([]string, len(tensors))
	shapes := make([][]int, len(tensors))
	dtypes := make([]string, len(tensors))
	var total int64
	for i, t := range tensors {
		n, err := shapeElems(t.Shape, MaxExportParams)
		if err != nil || n != int64(t.values()) || (t.I8 != nil && t.Data != nil) {
			return fmt.Errorf("checkpoint: export: tensor %q: shape %v, %d values: %w", t.Name, t.Shape, t.values(), ErrInvalid)
		}
		names[i], shapes[i], dtypes[i] = t.Name, t.Shape, dtypeF32
		if t.I8 != nil {
			dtypes[i] = dtypeI8
		}
		total += n
	}
	if n, err := strconv.ParseInt(meta["num_params"], 10, 64); err != nil || n < total {
		return fmt.Errorf("checkpoint: export: num_params %q, the tensors hold %d values: %w", meta["num_params"], total, ErrInvalid)
	}
	hdr, err := encodeHeader(names, shapes, dtypes, meta)
	if err != nil {
		return fmt.Errorf("checkpoint: export: %w: %w", err, ErrInvalid)
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("checkpoint: export: %w", err)
	}
	buf := make([]byte, 4*chunkElems)
	for _, t := range tensors {
		if t.I8 != nil {
			err = writeI8(w, t.I8, buf)
		} else {
			err = writeF32(w, t.Data, buf)
		}
		if err != nil {
			return fmt.Errorf("checkpoint: export: %w", err)
		}
	}
	return nil
}
