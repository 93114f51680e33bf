"""Check an ONNX file written by ringtrain export and evaluate it with numpy.

Usage: onnx_eval.py MODEL.onnx CASE.json

ONNX's checker (full check) and strict shape inference must accept the
model, the inferred output shape must be the declared [batch, classes],
and the graph, evaluated node by node with the numpy operators below
(written from the ONNX operator specification, opset 13), must give the
case's log-softmax outputs within its tolerance on its raw inputs (for a
language model: its logits at every position of its token sequences).
A case with "relative" compares logits within tolerance times the largest
|logit| of the case instead.
"""
import json
import math
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, a):
    # Conv: cross-correlation, NCHW, group 1, dilations 1.
    kh, kw = a["kernel_shape"]
    t, l, bt, r = a["pads"][0], a["pads"][1], a["pads"][2], a["pads"][3]
    sh, sw = a.get("strides", [1, 1])
    x = np.pad(x, ((0, 0), (0, 0), (t, bt), (l, r)))
    n, c, h, wd = x.shape
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    out = np.zeros((n, w.shape[0], oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]  # n, c, oh, ow
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out + b.reshape(1, -1, 1, 1)


def maxpool(x, a):
    # MaxPool: no padding, floor mode (ceil_mode 0).
    kh, kw = a["kernel_shape"]
    sh, sw = a["strides"]
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.full((n, c, oh, ow), -np.inf)
    for i in range(kh):
        for j in range(kw):
            out = np.maximum(out, x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw])
    return out


def gemm(a, b, c, at):
    # Gemm: alpha * A' B' + beta * C.
    if at.get("transA", 0):
        a = a.T
    if at.get("transB", 0):
        b = b.T
    return at.get("alpha", 1.0) * (a @ b) + at.get("beta", 1.0) * c


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm(x, w, r, b, a):
    # LSTM: forward, default activations, gates i, o, f, c; zero initial state.
    h_size = a["hidden_size"]
    w, r = w[0], r[0]
    wb, rb = b[0][:4 * h_size], b[0][4 * h_size:]
    h = np.zeros((x.shape[1], h_size))
    c = np.zeros_like(h)
    ys = []
    for xt in x:
        g = xt @ w.T + h @ r.T + wb + rb
        i, o, f, cc = (g[:, k * h_size:(k + 1) * h_size] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(cc)
        h = sigmoid(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys)[:, None]


def gru(x, w, r, b, a):
    # GRU: forward, default activations, gates z, r, h; zero initial state.
    h_size = a["hidden_size"]
    lbr = a.get("linear_before_reset", 0)
    w, r = w[0], r[0]
    wb, rb = b[0][:3 * h_size], b[0][3 * h_size:]
    sl = [slice(k * h_size, (k + 1) * h_size) for k in range(3)]
    h = np.zeros((x.shape[1], h_size))
    ys = []
    for xt in x:
        gx = xt @ w.T + wb
        z = sigmoid(gx[:, sl[0]] + h @ r[sl[0]].T + rb[sl[0]])
        rr = sigmoid(gx[:, sl[1]] + h @ r[sl[1]].T + rb[sl[1]])
        if lbr:
            n = np.tanh(gx[:, sl[2]] + rr * (h @ r[sl[2]].T + rb[sl[2]]))
        else:
            n = np.tanh(gx[:, sl[2]] + (rr * h) @ r[sl[2]].T + rb[sl[2]])
        h = (1 - z) * n + z * h
        ys.append(h)
    return np.stack(ys)[:, None]


def reshape(x, shape):
    # Reshape (allowzero 0): 0 copies the input's dimension, -1 is inferred.
    return x.reshape([x.shape[i] if d == 0 else int(d) for i, d in enumerate(shape)])


def slice_(x, starts, ends, axes=None, steps=None):
    # Slice: numpy's clamping is the spec's for starts and ends.
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    idx = [slice(None)] * x.ndim
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        idx[int(ax)] = slice(int(st), int(en), int(sp))
    return x[tuple(idx)]


def softmax(x, axis):
    # Softmax (opset 13): along one axis.
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def unsqueeze(x, axes):
    for ax in sorted(int(a) if a >= 0 else int(a) + x.ndim + len(axes) for a in axes):
        x = np.expand_dims(x, ax)
    return x


erf = np.vectorize(math.erf)


def flatten(x, a):
    axis = a.get("axis", 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def run(model, x):
    env = {}
    for t in model.graph.initializer:
        v = numpy_helper.to_array(t)
        env[t.name] = v if v.dtype == np.int64 else v.astype(np.float64)
    env[model.graph.input[0].name] = x if x.dtype == np.int64 else x.astype(np.float64)
    for node in model.graph.node:
        a = attrs(node)
        ins = [env[i] for i in node.input]
        op = node.op_type
        if op == "Mul":
            y = ins[0] * ins[1]
        elif op == "Conv":
            y = conv(ins[0], ins[1], ins[2] if len(ins) > 2 else np.zeros(ins[1].shape[0]), a)
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "MaxPool":
            y = maxpool(ins[0], a)
        elif op == "Flatten":
            y = flatten(ins[0], a)
        elif op == "Gemm":
            y = gemm(ins[0], ins[1], ins[2] if len(ins) > 2 else 0.0, a)
        elif op == "Sub":
            y = ins[0] - ins[1]
        elif op == "Div":
            y = ins[0] / ins[1]
        elif op == "Sqrt":
            y = np.sqrt(ins[0])
        elif op == "Tanh":
            y = np.tanh(ins[0])
        elif op == "Erf":
            y = erf(ins[0])
        elif op == "ReduceMean":
            y = ins[0].mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        elif op == "Softmax":
            y = softmax(ins[0], a.get("axis", -1))
        elif op == "Reshape":
            y = reshape(ins[0], ins[1])
        elif op == "Slice":
            y = slice_(*ins)
        elif op == "Unsqueeze":
            y = unsqueeze(ins[0], ins[1])
        elif op == "CumSum":
            assert not a.get("exclusive", 0) and not a.get("reverse", 0), a
            y = np.cumsum(ins[0], axis=int(ins[1][0]))
        elif op == "Greater":
            y = ins[0] > ins[1]
        elif op == "Where":
            y = np.where(ins[0], ins[1], ins[2])
        elif op == "Gather":
            y = np.take(ins[0], ins[1], axis=a.get("axis", 0))
        elif op == "Transpose":
            y = np.transpose(ins[0], a["perm"])
        elif op == "Squeeze":
            y = np.squeeze(ins[0], axis=tuple(ins[1]))
        elif op == "LSTM":
            y = lstm(ins[0], ins[1], ins[2], ins[3], a)
        elif op == "GRU":
            y = gru(ins[0], ins[1], ins[2], ins[3], a)
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "QuantizeLinear":  # zero point 0: round half to even, saturate to int8
            if ins[2].any():
                raise SystemExit(f"{node.name}: zero point {ins[2]}, the evaluator takes 0")
            y = np.clip(np.rint(ins[0].astype(np.float32) / np.float32(ins[1])), -128, 127)
        elif op == "DequantizeLinear":  # zero point 0; per axis when the scale is 1-D
            if ins[2].any():
                raise SystemExit(f"{node.name}: zero point {ins[2]}, the evaluator takes 0")
            s = ins[1]
            if s.ndim == 1:
                shape = [1] * ins[0].ndim
                shape[a.get("axis", 1)] = -1
                s = s.reshape(shape)
            y = ins[0] * s
        else:
            raise SystemExit(f"no numpy evaluator for {op}")
        env[node.output[0]] = y
    return env[model.graph.output[0].name]


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def dims(vi):
    return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]


def main():
    model = onnx.load(sys.argv[1])
    case = json.load(open(sys.argv[2]))
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    want_out = dims(model.graph.output[0])
    got_out = dims(inferred.graph.output[0])
    if got_out != want_out:
        raise SystemExit(f"inferred output shape {got_out}, declared {want_out}")
    if model.opset_import[0].version != 13:
        raise SystemExit(f"opset {model.opset_import[0].version}, want 13")
    if case.get("tokens"):  # a language model: token ids in, every position's logits out
        x = np.array(case["x"], dtype=np.int64).reshape([-1] + case["input"])
        got = run(model, x)
    elif case.get("relative"):  # raw inputs in, logits compared
        x = np.array(case["x"], dtype=np.float32).reshape([-1] + case["input"])
        got = run(model, x)
    else:
        x = np.array(case["x"], dtype=np.float32).reshape([-1] + case["input"])
        got = log_softmax(run(model, x))
    want = np.array(case["want"])
    if got.shape != want.shape:
        raise SystemExit(f"output shape {got.shape}, ringtrain's {want.shape}")
    err = np.abs(got - want).max()
    if case.get("relative"):
        err /= np.abs(want).max()
    if not err <= case["tolerance"]:
        raise SystemExit(f"numpy evaluation differs from ringtrain by {err:.3g} > {case['tolerance']}")
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"checker and strict shape inference ok (output {got_out}); ops {ops}; "
          f"{len(x)} samples within {err:.2g} of ringtrain")


main()
