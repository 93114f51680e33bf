package model

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// Model kinds and losses accepted in Spec.
const (
	KindMLP         = "mlp"
	KindCNN         = "cnn"
	KindTransformer = "transformer"
	KindLSTM        = "lstm"
	KindGRU         = "gru"

	LossXent = "xent"
	LossMSE  = "mse"
)

// Limits that keep a bad Spec or batch from turning into a huge allocation.
const (
	// MaxParams is the largest total parameter count Layout accepts
	// (2^30 float32 values = 4 GiB per buffer).
	MaxParams = 1 << 30
	// MaxDim bounds every single size in a Spec and the batch size.
	MaxDim = 1 << 24
	// MaxInputElems bounds batch*InputSize for one graph's input buffer.
	MaxInputElems = 1 << 30
)

// CNN architecture constants (LeNet style). conv0 keeps the spatial size
// (5x5, pad 2), conv1 shrinks it by 4 (5x5, no pad), each maxpool halves it
// (2x2, stride 2, floor).
const (
	cnnKernel     = 5
	cnnConv0Out   = 6
	cnnConv1Out   = 16
	cnnConv0Pad   = 2
	cnnPool       = 2
	cnnMinSpatial = 12 // smallest H or W that leaves at least 1x1 after the stack
)

// Spec describes a model. The zero value is invalid; Validate names the
// first bad field.
type Spec struct {
	// Kind is "mlp", "cnn", "layers" (the network is Net), or a language
	// model: "transformer", "lstm", "gru".
	Kind string `json:"kind"`
	// Hidden are the hidden layer sizes. mlp: one Linear+ReLU per entry, may
	// be empty (softmax/linear regression). cnn: the fully connected sizes
	// after the conv stack; empty means the default {120, 84}.
	Hidden []int `json:"hidden,omitempty"`
	// Input is the per-sample input shape: mlp any shape (flattened), cnn
	// [C, H, W] with H, W >= 12.
	Input []int `json:"input"`
	// Classes is the output size (number of classes), >= 2.
	Classes int `json:"classes"`
	// Loss is "xent" (softmax cross-entropy, labels are class ids) or "mse"
	// (mean over classes of the squared error of the raw outputs against
	// one-hot targets).
	Loss string `json:"loss"`

	// Sequence models (transformer, lstm, gru) read Input = [context]
	// token ids per sample (float32 values that are integers in [0,
	// Classes)), Classes is the vocabulary size, and they predict the next
	// token at every position: a sample has context labels (Targets). Loss
	// must be xent. lstm and gru take one recurrent layer per Hidden entry
	// (its width).

	// Embed is the token embedding width (transformer: the model width).
	Embed int `json:"embed,omitempty"`
	// Layers is the number of transformer blocks.
	Layers int `json:"layers,omitempty"`
	// Heads is the number of attention heads (transformer; divides Embed).
	Heads int `json:"heads,omitempty"`
	// Bias gives the transformer's linear layers and LayerNorms biases.
	Bias bool `json:"bias,omitempty"`
	// Dropout is the transformer's dropout probability, in [0, 1).
	Dropout float64 `json:"dropout,omitempty"`
	// Vocab, if set, is the vocabulary of a character-level sequence
	// model: Classes characters, token i the i-th, ascending and distinct.
	// It travels with the spec into checkpoints and exports, so that a
	// model can be sampled from on its own.
	Vocab string `json:"vocab,omitempty"`
	// ClassNames, if set, names each of the Classes outputs (an image
	// folder's class directories). It travels with the spec into
	// checkpoints and exports, so that a served model says "cat", not 3.
	ClassNames []string `json:"class_names,omitempty"`

	// Net is the network of kind "layers": its layers in order (see
	// Layer), checked against Input and Classes by Validate.
	Net []Layer `json:"net,omitempty"`
}

// Sequence reports whether s is a sequence model (transformer, lstm, gru).
func (s Spec) Sequence() bool {
	return s.Kind == KindTransformer || s.Kind == KindLSTM || s.Kind == KindGRU
}

// Targets is the number of labels per sample: the context length for a
// sequence model, else 1.
func (s Spec) Targets() int {
	if s.Sequence() && len(s.Input) == 1 {
		return s.Input[0]
	}
	return 1
}

// Validate checks every field and returns an error wrapping ErrSpec that
// names the first bad one.
func (s Spec) Validate() error {
	if err := s.validateFields(); err != nil {
		return err
	}
	_, _, err := layoutOf(s)
	return err
}

// validateFields checks each field on its own; Validate adds the size of
// the resulting network.
func (s Spec) validateFields() error {
	a, err := archOf(s.Kind)
	if err != nil {
		return err
	}
	if len(s.Net) != 0 && s.Kind != KindLayers {
		return fmt.Errorf("%w: Net is for kind %s, not %s", ErrSpec, KindLayers, s.Kind)
	}
	switch s.Loss {
	case LossXent, LossMSE:
	default:
		return fmt.Errorf("%w: Loss %q, want %q or %q", ErrSpec, s.Loss, LossXent, LossMSE)
	}
	if s.Classes < 2 || s.Classes > MaxDim {
		return fmt.Errorf("%w: Classes = %d, want 2..%d", ErrSpec, s.Classes, MaxDim)
	}
	for i, h := range s.Hidden {
		if h < 1 || h > MaxDim {
			return fmt.Errorf("%w: Hidden[%d] = %d, want 1..%d", ErrSpec, i, h, MaxDim)
		}
	}
	if len(s.Input) == 0 {
		return fmt.Errorf("%w: Input is empty, want the per-sample shape", ErrSpec)
	}
	size := 1
	for i, d := range s.Input {
		if d < 1 || d > MaxDim {
			return fmt.Errorf("%w: Input[%d] = %d, want 1..%d", ErrSpec, i, d, MaxDim)
		}
		size *= d
		if size > MaxDim {
			return fmt.Errorf("%w: Input %v has more than %d elements", ErrSpec, s.Input, MaxDim)
		}
	}
	if err := validateVocab(s); err != nil {
		return err
	}
	if s.ClassNames != nil && len(s.ClassNames) != s.Classes {
		return fmt.Errorf("%w: %d ClassNames for %d Classes", ErrSpec, len(s.ClassNames), s.Classes)
	}
	return a.validate(s)
}

// validateVocab checks Vocab: valid UTF-8, Classes characters, ascending.
func validateVocab(s Spec) error {
	if s.Vocab == "" {
		return nil
	}
	if !s.Sequence() {
		return fmt.Errorf("%w: Vocab is for sequence models, not %s", ErrSpec, s.Kind)
	}
	if !utf8.ValidString(s.Vocab) {
		return fmt.Errorf("%w: Vocab is not valid UTF-8", ErrSpec)
	}
	n, prev := 0, rune(-1)
	for i, r := range s.Vocab {
		if r <= prev {
			return fmt.Errorf("%w: Vocab character %q at byte %d is not after %q: want ascending, distinct characters", ErrSpec, r, i, prev)
		}
		prev = r
		n++
	}
	if n != s.Classes {
		return fmt.Errorf("%w: Vocab has %d characters, Classes is %d", ErrSpec, n, s.Classes)
	}
	return nil
}

// validateFF checks the fields of the feed-forward kinds (mlp, cnn).
func validateFF(s Spec) error {
	if s.Embed != 0 || s.Layers != 0 || s.Heads != 0 || s.Bias || s.Dropout != 0 {
		return fmt.Errorf("%w: Embed, Layers, Heads, Bias and Dropout are for sequence models, not %s", ErrSpec, s.Kind)
	}
	if s.Kind == KindCNN {
		if len(s.Input) != 3 {
			return fmt.Errorf("%w: Input %v, cnn wants [C, H, W]", ErrSpec, s.Input)
		}
		if s.Input[1] < cnnMinSpatial || s.Input[2] < cnnMinSpatial {
			return fmt.Errorf("%w: Input %v, cnn wants H and W >= %d", ErrSpec, s.Input, cnnMinSpatial)
		}
	}
	return nil
}

// InputSize is the number of float32 values per sample (the product of
// Input). It is 0 for an empty Input and meaningless for an invalid Spec.
func (s Spec) InputSize() int {
	if len(s.Input) == 0 {
		return 0
	}
	n := 1
	for _, d := range s.Input {
		n *= d
	}
	return n
}

// clone returns a deep copy, so a Model's spec cannot be changed through a
// caller's slices.
func (s Spec) clone() Spec {
	s.Hidden = slices.Clone(s.Hidden)
	s.Input = slices.Clone(s.Input)
	s.Net = slices.Clone(s.Net)
	return s
}

// fcHidden returns the hidden sizes of the fully connected part, applying
// the CNN default.
func (s Spec) fcHidden() []int {
	if s.Kind == KindCNN && len(s.Hidden) == 0 {
		return []int{120, 84} // LeNet-5

	}
	return s.Hidden
}
