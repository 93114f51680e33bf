package export

import (
	"fmt"
	"strings"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
)

// TorchRNNClass is the PyTorch module of the torch layout of lstm and gru
// models (needs torch.nn as nn): an embedding, one single-layer nn.LSTM
// or nn.GRU per hidden width (batch_first, zero initial states), a linear
// head on every position. docs/export.md shows it.
const TorchRNNClass = `class RingtrainRNN(nn.Module):
    def __init__(self, kind, vocab, embed, hidden):
        super().__init__()
        cell = {"lstm": nn.LSTM, "gru": nn.GRU}[kind]
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.ModuleList(cell(i, h, batch_first=True) for i, h in zip([embed] + hidden[:-1], hidden))
        self.head = nn.Linear(hidden[-1], vocab)

    def forward(self, tokens):
        h = self.embed(tokens)
        for layer in self.rnn:
            h, _ = layer(h)
        return self.head(h)
`

// recurrent reports whether s is an lstm or gru.
func recurrent(s model.Spec) bool { return s.Kind == model.KindLSTM || s.Kind == model.KindGRU }

// torchRNNModule is the RingtrainRNN call of an lstm or gru spec.
func torchRNNModule(s model.Spec) string {
	hidden := make([]string, len(s.Hidden))
	for i, h := range s.Hidden {
		hidden[i] = fmt.Sprint(h)
	}
	return fmt.Sprintf("RingtrainRNN(%q, %d, %d, [%s])", s.Kind, s.Classes, s.Embed, strings.Join(hidden, ", "))
}

// torchRNN returns an lstm or gru's tensors as RingtrainRNN's state_dict:
// embed.weight as it is; rnn.<i>.weight_ih_l0 and weight_hh_l0 transposed
// to [gates·H, in] (ringtrain keeps PyTorch's gate order),
// rnn.<i>.bias_ih_l0 and bias_hh_l0; head.weight transposed to [vocab,
// H], head.bias.
func torchRNN(m Model) ([]checkpoint.ExportTensor, error) {
	layout, err := m.layout()
	if err != nil {
		return nil, err
	}
	var out []checkpoint.ExportTensor
	asIs := func(name string, t model.Tensor) {
		out = append(out, checkpoint.ExportTensor{Name: name, Shape: t.Shape, Data: m.tensor(t)})
	}
	transposed := func(name string, t model.Tensor) {
		out = append(out, checkpoint.ExportTensor{Name: name, Shape: []int{t.Shape[1], t.Shape[0]}, Data: transpose(m.tensor(t), t.Shape[0], t.Shape[1])})
	}
	asIs("embed.weight", layout[0])
	for i := range m.Spec.Hidden {
		p := fmt.Sprintf("rnn.%d.", i)
		transposed(p+"weight_ih_l0", layout[1+4*i])
		transposed(p+"weight_hh_l0", layout[2+4*i])
		asIs(p+"bias_ih_l0", layout[3+4*i])
		asIs(p+"bias_hh_l0", layout[4+4*i])
	}
	k := len(layout) - 2
	transposed("head.weight", layout[k])
	asIs("head.bias", layout[k+1])
	return out, nil
}
