#!/usr/bin/env python3
"""The peer of the GPU step time: PyTorch eager on the same GPU, the same
network as ringtrain's BenchmarkStep (model/device/cuda/model_test.go): the
MNIST MLP 784-256-10 with softmax cross-entropy, one forward+backward pass
and an SGD update per step (ringtrain's pass copies the parameters in and
the gradients out, and its optimizer updates on the host), random inputs,
batches 64 and 1024.

Prints one CSV row per batch: impl,batch,median_step_ms,samples_per_s.
Run by deploy/gpu/check.sh run (the GPU machine has PyTorch).
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def main():
    if not torch.cuda.is_available():
        print("torch_step.py: no CUDA device", file=sys.stderr)
        return 1
    dev = torch.device("cuda:0")
    torch.manual_seed(1)
    print("impl,batch,median_step_ms,samples_per_s")
    for batch in (64, 1024):
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).to(dev)
        x = torch.rand(batch, 784, device=dev) * 2 - 1
        y = torch.randint(0, 10, (batch,), device=dev)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        times = []
        for it in range(300):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            model.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            torch.cuda.synchronize()
            if it >= 50:
                times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        print(f"torch-eager,{batch},{med * 1e3:.4f},{batch / med:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
