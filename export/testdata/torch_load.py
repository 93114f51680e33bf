"""Load a torch-layout export of ringtrain into PyTorch and compare outputs.

Usage: torch_load.py MODEL.safetensors CASE.json

It reads the safetensors file with a tiny reader (an 8-byte little-endian
header length, a JSON header, F32 tensors), builds the nn.Sequential of
the model_spec metadata on its own (the mapping docs/export.md documents;
for lstm and gru its RingtrainRNN, for transformer its RingtrainGPT with
a forward of its own), checks it against the torch_module (and
torch_class) metadata, loads the tensors with load_state_dict(strict=True)
into both and compares the log-softmax of both's outputs on the case's raw
inputs times input_scale with ringtrain's (a case with "relative": the
logits, within tolerance times the largest |logit|). With an
input_normalization (data.normalize) the module is RingtrainNormalized:
the script's own rendition normalizes with the metadata's shift and factor
(not the state_dict's buffers, which it checks against them), and both
are given the raw inputs times input_scale only.
"""
import json
import math
import struct
import sys

import numpy as np
import torch
from torch import nn


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = b[8 + n:]
    tensors = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", t
        lo, hi = t["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype="<f4").reshape(t["shape"])
        tensors[name] = torch.from_numpy(a.copy())
    return tensors, meta


class RingtrainRNN(nn.Module):
    # docs/export.md's module of the lstm and gru torch layout.
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


class LayerNorm(nn.Module):
    # The transformer's LayerNorm: eps 1e-5, the biased variance.
    def __init__(self, dim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x):
        d = x - x.mean(-1, keepdim=True)
        y = d / torch.sqrt((d * d).mean(-1, keepdim=True) + 1e-5) * self.weight
        return y if self.bias is None else y + self.bias


class RingtrainGPT(nn.Module):
    # docs/export.md's module of the transformer torch layout (its
    # structure); the forward is this script's own: per-head loops, an
    # explicit lower-triangular mask, GELU from erf.
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
        t = tokens.shape[1]
        c = self.tok.weight.shape[1]
        hd = c // self.heads
        x = self.tok.weight[tokens] + self.pos.weight[:t]
        allowed = torch.tril(torch.ones(t, t)) > 0
        for blk in self.blocks:
            qkv = blk.attn.qkv(blk.ln1(x))
            ys = []
            for h in range(self.heads):
                q = qkv[:, :, h * hd:(h + 1) * hd]
                k = qkv[:, :, c + h * hd:c + (h + 1) * hd]
                v = qkv[:, :, 2 * c + h * hd:2 * c + (h + 1) * hd]
                w = torch.where(allowed, q @ k.transpose(1, 2) / math.sqrt(hd), torch.tensor(float("-inf")))
                ys.append(torch.softmax(w, dim=-1) @ v)
            x = x + blk.attn.proj(torch.cat(ys, dim=-1))
            f = blk.mlp.fc(blk.ln2(x))
            x = x + blk.mlp.proj(0.5 * f * (1 + torch.erf(f / math.sqrt(2))))
        return self.lnf(x) @ self.tok.weight.t()


def build_layers(spec):
    # docs/export.md's nn.Sequential of a layers network: module i is layer i.
    shape = list(spec["input"])
    mods = []
    for l in spec["net"]:
        kind = l["type"]
        if kind == "linear":
            mods.append(nn.Linear(shape[0], l["out"], bias=not l.get("no_bias", False)))
            shape = [l["out"]]
        elif kind == "conv2d":
            s, p, k = l.get("stride") or 1, l.get("pad", 0), l["kernel"]
            mods.append(nn.Conv2d(shape[0], l["out"], k, stride=s, padding=p, bias=not l.get("no_bias", False)))
            shape = [l["out"], (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1]
        elif kind == "maxpool":
            k = l["size"]
            s = l.get("stride") or k
            mods.append(nn.MaxPool2d(k, stride=s))
            shape = [shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1]
        elif kind == "layernorm":
            mods.append(nn.LayerNorm(shape[-1]))
        elif kind == "flatten":
            mods.append(nn.Flatten())
            shape = [int(np.prod(shape))]
        elif kind == "embedding":
            mods.append(nn.Embedding(l["vocab"], l["out"]))
            shape = [shape[0], l["out"]]
        elif kind == "dropout":
            mods.append(nn.Dropout(p=l.get("p", 0.0)))
        else:
            mods.append({"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}[kind]())
    return nn.Sequential(*mods)


class RingtrainNormalized(nn.Sequential):
    # docs/export.md's module of a model trained with data.normalize (its
    # structure: the nn.Sequential's modules and two buffers); this
    # forward normalizes with the metadata's map, which it is given.
    def __init__(self, *modules, shape, norm=None):
        super().__init__(*modules)
        self.register_buffer("input_shift", torch.zeros(shape))
        self.register_buffer("input_factor", torch.ones(shape))
        self.shift = torch.tensor(norm["shift"], dtype=torch.float32).reshape(shape)
        self.factor = torch.tensor(norm["factor"], dtype=torch.float32).reshape(shape)

    def forward(self, x):
        return super().forward((x - self.shift) * self.factor)


def build(spec):
    if spec["kind"] in ("lstm", "gru"):
        return RingtrainRNN(spec["kind"], spec["classes"], spec["embed"], spec["hidden"])
    if spec["kind"] == "transformer":
        return RingtrainGPT(spec["classes"], spec["input"][0], spec["embed"], spec["layers"], spec["heads"], spec.get("bias", False))
    if spec["kind"] == "layers":
        return build_layers(spec)
    mods = []
    kind = spec["kind"]
    hidden = spec.get("hidden") or ([120, 84] if kind == "cnn" else [])
    if kind == "cnn":
        c, h, w = spec["input"]
        mods += [nn.Conv2d(c, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                 nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)]
        h, w = (h // 2 - 4) // 2, (w // 2 - 4) // 2
        features = 16 * h * w
    else:
        features = int(np.prod(spec["input"]))
    mods.append(nn.Flatten())
    for out in hidden:
        mods += [nn.Linear(features, out), nn.ReLU()]
        features = out
    mods.append(nn.Linear(features, spec["classes"]))
    return nn.Sequential(*mods)


def main():
    tensors, meta = read_safetensors(sys.argv[1])
    case = json.load(open(sys.argv[2]))
    assert meta["layout"] == "torch", meta.get("layout")
    spec = json.loads(meta["model_spec"])
    net = build(spec)
    if "input_normalization" in meta:
        norm = json.loads(meta["input_normalization"])
        net = RingtrainNormalized(*net, shape=spec["input"], norm=norm)
        for key in ("shift", "factor"):
            want = np.array(norm[key], dtype=np.float32).reshape(spec["input"])
            if not np.array_equal(tensors["input_" + key].numpy(), want):
                raise SystemExit(f"tensor input_{key} is not the input_normalization metadata's {key}")
    scope = {"nn": nn}
    if "torch_class" in meta:
        exec(meta["torch_class"], scope)
    declared = eval(meta["torch_module"], scope)
    if str(declared) != str(net):
        raise SystemExit(f"torch_module metadata\n{declared}\nis not the spec's network\n{net}")
    x = np.array(case["x"], dtype=np.int64 if case.get("tokens") else np.float32).reshape([-1] + case["input"])
    want = np.array(case["want"])
    for name, m in (("the spec's network", net), ("torch_module", declared)):
        m.load_state_dict(tensors, strict=True)
        m.eval()
        with torch.no_grad():
            if case.get("tokens"):  # token ids in: the logits
                got = m(torch.from_numpy(x)).double().numpy()
            else:
                z = m(torch.from_numpy(x) * torch.tensor(float(meta["input_scale"]), dtype=torch.float32)).double()
                got = z.numpy() if case.get("relative") else torch.log_softmax(z, dim=1).numpy()
        if got.shape != want.shape:
            raise SystemExit(f"{name}: output shape {got.shape}, ringtrain's {want.shape}")
        err = np.abs(got - want).max()
        if case.get("relative"):
            err /= np.abs(want).max()
        if not err <= case["tolerance"]:
            raise SystemExit(f"{name}: PyTorch's outputs differ from ringtrain's by {err:.3g} > {case['tolerance']}")
        print(f"{name}: load_state_dict(strict=True) ok, {len(tensors)} tensors; {len(x)} samples within {err:.2g} of ringtrain")

main()
