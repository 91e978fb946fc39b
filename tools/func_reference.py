#!/usr/bin/env python3
"""Check rramsim's functional inference against onnxruntime.

For each ONNX model given, build a seeded random batch of inputs, run it through
onnxruntime (the reference) and through `rramsim infer` (float, and quantized on
each --arch), and report the largest absolute and relative errors:

    cargo build --release -p rramsim-cli --features full
    tools/.venv/bin/python tools/func_reference.py --rramsim target/release/rramsim \
        tests/fixtures/onnx/resnet20.onnx --arch isaac --arch neurosim-8b

With --bench N it also times both on the same N-image batch (onnxruntime with
its default threads, rramsim with rayon's) and prints the throughput ratio.
Prints one JSON object; exits 1 if a float error exceeds --tolerance.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort


def input_shape(model: onnx.ModelProto) -> list:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else None for d in dims]


def rramsim_infer(binary, model, x, extra, tmp):
    inp, out = tmp / "x.npy", tmp / "y.npy"
    np.save(inp, x.astype(np.float32))
    t0 = time.perf_counter()
    r = subprocess.run([binary, "infer", "--model", str(model), "--input", str(inp), "-o", str(out), *extra],
                       capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"rramsim infer failed on {model}: {r.stderr}")
    # rramsim reports its own compute time (excluding process start and loading).
    rate = float(r.stderr.strip().split("(")[-1].split()[0])
    return np.load(out), rate, elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", type=pathlib.Path)
    ap.add_argument("--rramsim", required=True)
    ap.add_argument("--arch", action="append", default=[])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--bench", type=int, default=0, help="also time N images through both")
    args = ap.parse_args()
    report = {}
    ok = True
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        for path in args.models:
            model = onnx.load(path)
            shape = input_shape(model)
            n = args.batch if shape[0] is None else shape[0]
            rng = np.random.default_rng(args.seed)
            x = rng.standard_normal([n, *shape[1:]]).astype(np.float32)
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            if shape[0] is None:
                ref = session.run(None, {name: x})[0]
            else:
                ref = np.concatenate([session.run(None, {name: x[i:i + 1]})[0] for i in range(0, n, shape[0])])
            ref = ref.reshape(n, -1)
            entry = {"images": n, "output_scale": float(np.abs(ref).max())}
            got, _, _ = rramsim_infer(args.rramsim, path, x, [], tmp)
            err = float(np.abs(got - ref).max())
            entry["float_max_abs_error"] = err
            entry["float_max_rel_error"] = err / max(entry["output_scale"], 1e-12)
            entry["float_argmax_agreement"] = float((got.argmax(1) == ref.argmax(1)).mean())
            ok &= err <= args.tolerance
            for arch in args.arch:
                got, _, _ = rramsim_infer(args.rramsim, path, x, ["--arch", arch, "--device", "off"], tmp)
                err = float(np.abs(got - ref).max())
                entry[f"{arch}_max_abs_error"] = err
                entry[f"{arch}_max_rel_error"] = err / max(entry["output_scale"], 1e-12)
                entry[f"{arch}_argmax_agreement"] = float((got.argmax(1) == ref.argmax(1)).mean())
            if args.bench and shape[0] is None:
                xb = rng.random([args.bench, *shape[1:]], dtype=np.float32)
                session.run(None, {name: xb[:8]})
                t0 = time.perf_counter()
                session.run(None, {name: xb})
                ort_rate = args.bench / (time.perf_counter() - t0)
                _, ours, _ = rramsim_infer(args.rramsim, path, xb, [], tmp)
                entry["bench_images"] = args.bench
                entry["onnxruntime_images_per_s"] = ort_rate
                entry["rramsim_images_per_s"] = ours
                entry["rramsim_over_onnxruntime"] = ours / ort_rate
            report[path.name] = entry
    print(json.dumps(report, indent=1, sort_keys=True))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
