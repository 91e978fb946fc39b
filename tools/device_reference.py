#!/usr/bin/env python3
"""An independent NumPy implementation of rramsim's device model, compared with
`rramsim infer` on one ONNX network (the deterministic effects: finite on/off
ratio, drift, first-order IR drop and the bit-exact periphery with ADC
clipping; the random ones are checked against closed forms in
crates/func/tests/device.rs).

It implements, from the documentation of crates/func/src/device.rs and not from
its code: symmetric per-layer weight quantization (BatchNorm folded first),
differential slicing into 2-bit cells, the crossbar position of every weight
cell (row = k mod rows, column = (n mod weights_per_row)·columns_per_weight + s),
conductances G = (l + o)·(t/t0)^−ν attenuated by 1/(1 + G·Δ·R_w·((c+1) + (rows−r))),
inputs quantized per image to 8-bit signed integers fed bit-serially (positive
and negative parts), and for every bit, weight column and crossbar row tile the
column sum clipped to [0, 2^adc − 1], minus o·Σx, rounded, shift-and-added.

    tools/.venv/bin/python tools/device_reference.py --rramsim target/release/rramsim \\
        tests/fixtures/onnx/resnet20.onnx --arch-base tests/fixtures/neurosim-v13-2bit.toml

Prints one JSON object; exits 1 if the outputs differ by more than --tolerance
(relative to the output scale) or the top-1 classes disagree on more than
--max-argmax-mismatch of the images.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

# The pre-issue-14 neurosim-8b geometry and precision (tests/fixtures/neurosim-v13-2bit.toml).
ROWS, COLS, CELL_BITS, WEIGHT_BITS, ACT_BITS, DAC_BITS = 128, 128, 2, 8, 8, 1
R_ON, R_OFF = 6000.0, 900000.0


def quantize(w, bits):
    q_max = 2 ** (bits - 1) - 1
    m = np.abs(w).max()
    if m == 0:
        return np.zeros_like(w, dtype=np.int64), 1.0
    return np.clip(np.round(w * q_max / m), -q_max, q_max).astype(np.int64), m / q_max


def conductances(q, cfg):
    """q: [n][k] integers → per weight column s (8 of them: 4 G+ slices, 4 G−) the [n][k] conductances."""
    L = 2 ** CELL_BITS - 1
    slices = -(-WEIGHT_BITS // CELL_BITS)
    cpw = 2 * slices
    wpr = COLS // cpw
    o = L / (R_OFF / R_ON - 1) if cfg["ratio"] else 0.0
    delta = (1 / R_ON - (1 / R_OFF if cfg["ratio"] else 0.0)) / L
    n, k = q.shape
    r = (np.arange(k) % ROWS)[None, :]
    out = []
    for s in range(cpw):
        stored = np.maximum(q, 0) if s < slices else np.maximum(-q, 0)
        level = (stored >> (CELL_BITS * (s % slices))) & L
        c = ((np.arange(n) % wpr) * cpw + s)[:, None]
        g = (level + o) * cfg["drift"]
        if cfg["wire_ohm"] > 0:
            g = g / (1 + g * delta * cfg["wire_ohm"] * ((c + 1) + (ROWS - r)))
        out.append((g, (1 if s < slices else -1) * 2 ** (CELL_BITS * (s % slices))))
    return out, o


def crossbar_matmul(x_img, w, cfg):
    """x_img: [k][p] float inputs of one image (im2col), w: [n][k] → [n][p]."""
    q, w_scale = quantize(w, WEIGHT_BITS)
    q_max = 2 ** (ACT_BITS - 1) - 1
    m = np.abs(x_img).max()
    xs = m / q_max if m > 0 else 1.0
    xi = np.round(x_img * q_max / m).astype(np.int64) if m > 0 else np.zeros_like(x_img, dtype=np.int64)
    cols, o = conductances(q, cfg)
    adc_max = 2 ** cfg["adc_bits"] - 1
    k = q.shape[1]
    acc = np.zeros((q.shape[0], x_img.shape[1]))
    for sign in (1, -1):
        part = np.maximum(sign * xi, 0)
        for t in range(-(-(ACT_BITS - 1) // DAC_BITS)):
            plane = ((part >> (DAC_BITS * t)) & (2 ** DAC_BITS - 1)).astype(np.float64)
            for lo in range(0, k, ROWS):
                hi = min(lo + ROWS, k)
                xsum = plane[lo:hi].sum(axis=0)
                for g, weight in cols:
                    s = g[:, lo:hi] @ plane[lo:hi]
                    d = np.round(np.clip(s, 0, adc_max) - o * xsum)
                    acc += sign * 2 ** (DAC_BITS * t) * weight * d
    return acc * w_scale * xs


def im2col(x, kh, kw, stride, pad, dil):
    c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (pad[0], pad[2]), (pad[1], pad[3])))
    oh = (h + pad[0] + pad[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + pad[1] + pad[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    cols = np.zeros((c, kh, kw, oh, ow))
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dil[0], kx * dil[1]
            cols[:, ky, kx] = xp[:, y0 : y0 + stride[0] * oh : stride[0], x0 : x0 + stride[1] * ow : stride[1]]
    return cols.reshape(c * kh * kw, oh * ow), oh, ow


def run(model, image, cfg):
    init = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    env = {model.graph.input[0].name: image.astype(np.float64)}
    nodes = list(model.graph.node)
    # Fold BatchNorm into the conv that feeds it (rramsim folds before quantizing).
    producer = {n.output[0]: n for n in nodes}
    folded = {}
    for n in nodes:
        if n.op_type == "BatchNormalization" and producer.get(n.input[0], None) is not None:
            conv = producer[n.input[0]]
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            g, b, mean, var = (init[i] for i in n.input[1:5])
            s = g / np.sqrt(var + attrs.get("epsilon", 1e-5))
            w = init[conv.input[1]] * s[:, None, None, None]
            bias = init[conv.input[2]] if len(conv.input) > 2 else np.zeros_like(s)
            folded[conv.name] = (w, (bias - mean) * s + b)
            folded[n.name] = "identity"
    for n in nodes:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        ins = [env[i] if i in env else init.get(i) for i in n.input]
        if n.op_type == "Conv":
            w, b = folded.get(n.name, (ins[1], ins[2] if len(ins) > 2 else None))
            assert attrs.get("group", 1) == 1, "grouped convs are not implemented here"
            kh, kw = w.shape[2:]
            cols, oh, ow = im2col(ins[0], kh, kw, attrs.get("strides", [1, 1]), attrs.get("pads", [0, 0, 0, 0]),
                                  attrs.get("dilations", [1, 1]))
            y = crossbar_matmul(cols, w.reshape(w.shape[0], -1), cfg)
            if b is not None:
                y += b[:, None]
            out = y.reshape(w.shape[0], oh, ow)
        elif n.op_type == "BatchNormalization":
            out = ins[0]
        elif n.op_type == "Gemm":
            w = ins[1] if attrs.get("transB", 0) else ins[1].T
            # ONNX Gemm: alpha·A·B + beta·C (rramsim folds alpha into the weights before quantizing).
            alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
            out = crossbar_matmul(ins[0].reshape(-1, 1), alpha * w, cfg)[:, 0] + beta * (ins[2] if len(ins) > 2 else 0)
        elif n.op_type == "Relu":
            out = np.maximum(ins[0], 0)
        elif n.op_type == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else attrs.get("min", -np.inf)
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else attrs.get("max", np.inf)
            out = np.clip(ins[0], lo, hi)
        elif n.op_type == "Add":
            out = ins[0] + ins[1]
        elif n.op_type == "GlobalAveragePool":
            out = ins[0].mean(axis=(1, 2), keepdims=True)
        elif n.op_type == "Flatten":
            out = ins[0].reshape(-1)
        else:
            sys.exit(f"op {n.op_type} is not implemented in this reference")
        env[n.output[0]] = out
    return np.asarray(env[model.graph.output[0].name]).reshape(-1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=pathlib.Path)
    ap.add_argument("--rramsim", required=True)
    ap.add_argument("--arch-base", type=pathlib.Path, required=True, help="tests/fixtures/neurosim-v13-2bit.toml")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--tolerance", type=float, default=2e-3)
    ap.add_argument("--max-argmax-mismatch", type=float, default=0.0)
    args = ap.parse_args()
    model = onnx.load(args.model)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]
    x = np.random.default_rng(0).standard_normal([args.batch, *dims]).astype(np.float32)
    settings = {
        "ratio, drift 1e4 s (nu 0.1), wire 2 ohm, 5-bit ADC": dict(
            ratio=True, drift=1e4 ** -0.1, wire_ohm=2.0, adc_bits=5, time="1e4", device="drift_nu = 0.1\nwire_ohm = 2.0"),
        "ratio, 12-bit ADC": dict(ratio=True, drift=1.0, wire_ohm=0.0, adc_bits=12, time="1", device=""),
    }
    report, ok = {}, True
    base = args.arch_base.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        np.save(tmp / "x.npy", x)
        for name, cfg in settings.items():
            arch = base.replace('bits = { value = 5, source = "DNN+NeuroSim V1.3 Param.cpp: levelOutput = 32 (5-bit)" }',
                                f"bits = {cfg['adc_bits']}")
            arch += f"\n[device]\n{cfg['device']}\n"
            (tmp / "a.toml").write_text(arch)
            r = subprocess.run([args.rramsim, "infer", "--model", str(args.model), "--input", str(tmp / "x.npy"),
                                "-o", str(tmp / "y.npy"), "--arch", str(tmp / "a.toml"), "--time", cfg["time"]],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"rramsim infer failed: {r.stderr}")
            got = np.load(tmp / "y.npy").astype(np.float64)
            want = np.stack([run(model, img, cfg) for img in x])
            scale = np.abs(want).max()
            err = float(np.abs(got - want).max() / scale)
            mismatch = float(np.mean(got.argmax(1) != want.argmax(1)))
            report[name] = {"max_error_rel_scale": err, "argmax_mismatch": mismatch, "output_scale": float(scale)}
            ok &= err <= args.tolerance and mismatch <= args.max_argmax_mismatch
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
