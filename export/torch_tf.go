package export

import (
	"fmt"
	"strings"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
)

// TorchGPTClass is the PyTorch module of the torch layout of transformer
// models (self-contained source; PyTorch 1.13 or later): nanoGPT's GPT as
// ringtrain computes it, pre-LN blocks, causal attention, exact GELU,
// LayerNorm eps 1e-5 (its own LayerNorm class, as nanoGPT's, for the
// LayerNorms without bias), and the head tied to tok.weight (no tensor of
// its own). docs/export.md shows it.
const TorchGPTClass = `import torch
from torch import nn
from torch.nn import functional as F


class LayerNorm(nn.Module):
    def __init__(self, dim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class RingtrainGPT(nn.Module):
    def __init__(self, vocab, context, embed, layers, heads, bias):
        super().__init__()
        self.heads = heads
        self.tok = nn.Embedding(vocab, embed)
        self.pos = nn.Embedding(context, embed)
        self.blocks = nn.ModuleList(nn.ModuleDict(dict(
            ln1=LayerNorm(embed, bias),
            attn=nn.ModuleDict(dict(qkv=nn.Linear(embed, 3 * embed, bias=bias), proj=nn.Linear(embed, embed, bias=bias))),
            ln2=LayerNorm(embed, bias),
            mlp=nn.ModuleDict(dict(fc=nn.Linear(embed, 4 * embed, bias=bias), proj=nn.Linear(4 * embed, embed, bias=bias))),
        )) for _ in range(layers))
        self.lnf = LayerNorm(embed, bias)

    def forward(self, tokens):
        b, t = tokens.shape
        c = self.tok.weight.shape[1]
        x = self.tok(tokens) + self.pos(torch.arange(t, device=tokens.device))
        future = torch.ones(t, t, dtype=torch.bool, device=tokens.device).triu(1)
        for blk in self.blocks:
            q, k, v = blk.attn.qkv(blk.ln1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
            w = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
            y = torch.softmax(w.masked_fill(future, float("-inf")), dim=-1) @ v
            x = x + blk.attn.proj(y.transpose(1, 2).reshape(b, t, c))
            x = x + blk.mlp.proj(F.gelu(blk.mlp.fc(blk.ln2(x))))
        return self.lnf(x) @ self.tok.weight.t()
`

// torchGPTModule is the RingtrainGPT call of a transformer spec.
func torchGPTModule(s model.Spec) string {
	bias := "False"
	if s.Bias {
		bias = "True"
	}
	return fmt.Sprintf("RingtrainGPT(%d, %d, %d, %d, %d, %s)", s.Classes, s.Input[0], s.Embed, s.Layers, s.Heads, bias)
}

// torchGPT returns a transformer's tensors as RingtrainGPT's state_dict:
// tok.weight and pos.weight as they are; block<i>.<name> as
// blocks.<i>.<name>, its Linear weights (attn.qkv, attn.proj, mlp.fc,
// mlp.proj) transposed to PyTorch's [out, in], LayerNorm weights and all
// biases as they are; lnf as it is.
func torchGPT(m Model) ([]checkpoint.ExportTensor, error) {
	layout, err := m.layout()
	if err != nil {
		return nil, err
	}
	out := make([]checkpoint.ExportTensor, 0, len(layout))
	for _, t := range layout {
		name := t.Name
		if rest, ok := strings.CutPrefix(name, "block"); ok {
			i := strings.IndexByte(rest, '.')
			name = "blocks." + rest[:i] + rest[i:]
		}
		et := checkpoint.ExportTensor{Name: name, Shape: t.Shape, Data: m.tensor(t)}
		if len(t.Shape) == 2 && strings.HasPrefix(name, "blocks.") {
			et.Shape = []int{t.Shape[1], t.Shape[0]}
			et.Data = transpose(m.tensor(t), t.Shape[0], t.Shape[1])
		}
		out = append(out, et)
	}
	return out, nil
}
