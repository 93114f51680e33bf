#!/usr/bin/env python3
"""The peer of the GPU step time: PyTorch eager on the same GPU, the same
networks and batches as ringtrain's BenchmarkStep (model/device/cuda/
model_test.go): the MNIST MLP 784-256-10 (batches 64 and 1024), LeNet-5 on
1x28x28 (64), char_gpt.py's GPT (4 layers, 4 heads, 128 wide, context 64,
vocabulary 65; batch 12) and its LSTM (embedding 128, two layers of 256;
12). A step is one forward+backward pass and an SGD update (ringtrain's
pass copies the parameters in and the gradients out; its optimizer runs on
the host's shard). Random inputs.

Prints one CSV row per model and batch: impl,model,batch,median_step_ms,samples_per_s.
Run by deploy/gpu/check.sh run (the GPU machine has PyTorch).
"""
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c2 = nn.Conv2d(6, 16, 5)
        self.f = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.f(x)


class LN(nn.Module):
    """LayerNorm without a bias (ringtrain's and nanoGPT's bias: false)."""

    def __init__(self, d):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.w, None, 1e-5)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = LN(d), LN(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d, bias=False), nn.Linear(d, d, bias=False)
        self.fc, self.out = nn.Linear(d, 4 * d, bias=False), nn.Linear(4 * d, d, bias=False)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        a = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
        a = a.masked_fill(torch.ones(t, t, device=x.device, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, vocab=65, ctx=64, d=128, heads=4, layers=4):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.Sequential(*[Block(d, heads) for _ in range(layers)])
        self.lnf = LN(d)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        return self.lnf(self.blocks(x)) @ self.tok.weight.t()


class CharLSTM(nn.Module):
    def __init__(self, vocab=65, d=128, hidden=256, layers=2):
        super().__init__()
        self.emb, self.lstm, self.head = nn.Embedding(vocab, d), nn.LSTM(d, hidden, layers, batch_first=True), nn.Linear(hidden, vocab)

    def forward(self, idx):
        return self.head(self.lstm(self.emb(idx))[0])


def time_model(name, model, x, y, batch, dev):
    model = model.to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    times = []
    for it in range(200):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=True)
        out = model(x)
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        if it >= 30:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"torch-eager,{name},{batch},{med * 1e3:.4f},{batch / med:.0f}", flush=True)


def main():
    if not torch.cuda.is_available():
        print("torch_step.py: no CUDA device", file=sys.stderr)
        return 1
    dev = torch.device("cuda:0")
    torch.manual_seed(1)
    print("impl,model,batch,median_step_ms,samples_per_s")
    for batch in (64, 1024):
        mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        time_model("mlp", mlp, torch.rand(batch, 784, device=dev) * 2 - 1, torch.randint(0, 10, (batch,), device=dev), batch, dev)
    time_model("lenet", LeNet(), torch.rand(64, 1, 28, 28, device=dev), torch.randint(0, 10, (64,), device=dev), 64, dev)
    idx, tgt = torch.randint(0, 65, (12, 64), device=dev), torch.randint(0, 65, (12, 64), device=dev)
    time_model("gpt", GPT(), idx, tgt, 12, dev)
    time_model("lstm", CharLSTM(), idx, tgt, 12, dev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
