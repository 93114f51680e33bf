"""Load a torch-layout export of ringtrain into PyTorch and compare outputs.

Usage: torch_load.py MODEL.safetensors CASE.json

It reads the safetensors file with a tiny reader (an 8-byte little-endian
header length, a JSON header, F32 tensors), builds the nn.Sequential of
the model_spec metadata on its own (the mapping docs/export.md documents;
for lstm and gru its RingtrainRNN), checks it against the torch_module
(and torch_class) metadata, loads the tensors with
load_state_dict(strict=True) and compares the log-softmax of its outputs
on the case's raw inputs times input_scale with ringtrain's.
"""
import json
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


def build(spec):
    if spec["kind"] in ("lstm", "gru"):
        return RingtrainRNN(spec["kind"], spec["classes"], spec["embed"], spec["hidden"])
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
    net = build(json.loads(meta["model_spec"]))
    scope = {"nn": nn}
    if "torch_class" in meta:
        exec(meta["torch_class"], scope)
    declared = eval(meta["torch_module"], scope)
    if str(declared) != str(net):
        raise SystemExit(f"torch_module metadata\n{declared}\nis not the spec's network\n{net}")
    net.load_state_dict(tensors, strict=True)
    net.eval()
    if case.get("tokens"):  # a language model: every position's logits
        x = np.array(case["x"], dtype=np.int64).reshape([-1] + case["input"])
        with torch.no_grad():
            got = net(torch.from_numpy(x)).double().numpy()
    else:
        scale = float(meta["input_scale"])
        x = np.array(case["x"], dtype=np.float32).reshape([-1] + case["input"])
        with torch.no_grad():
            z = net(torch.from_numpy(x) * torch.tensor(scale, dtype=torch.float32))
        got = torch.log_softmax(z.double(), dim=1).numpy()
    err = np.abs(got - np.array(case["want"])).max()
    if not err <= case["tolerance"]:
        raise SystemExit(f"PyTorch's outputs differ from ringtrain's by {err:.3g} > {case['tolerance']}")
    print(f"load_state_dict(strict=True) ok, {len(tensors)} tensors; {len(x)} samples within {err:.2g} of ringtrain")


main()
