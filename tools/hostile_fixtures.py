#!/usr/bin/env python3
"""Builds the hostile ONNX inputs in tests/fixtures/hostile/ (issue 17): tiny
files whose sizes ask for absurd allocations or overflow a product. The CLI
tests (tests/cli/bounds.rs) feed them to `rramsim` and expect exit 2 with a
located message.

    tools/.venv/bin/python tools/hostile_fixtures.py [--out tests/fixtures/hostile]
"""

import argparse
import pathlib

from onnx import TensorProto, helper


def model(name, nodes, inits, x_shape, out, out_shape):
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, x_shape)
    outp = helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)
    g = helper.make_graph(nodes, name, [inp], [outp], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="rramsim-hostile")
    m.ir_version = 8
    return m


def constant_of_shape_bomb():
    """ConstantOfShape asking for 10^12 float elements (4 TB) in a few hundred bytes."""
    shape = helper.make_tensor("bomb.shape", TensorProto.INT64, [2], [1_000_000, 1_000_000])
    nodes = [
        helper.make_node("ConstantOfShape", ["bomb.shape"], ["bomb"], name="bomb"),
        helper.make_node("Relu", ["input"], ["relu"], name="relu"),
    ]
    return model("constant_of_shape_bomb", nodes, [shape], [1, 3, 4, 4], "relu", [1, 3, 4, 4])


def wrapping_weight_dims():
    """A Gemm weight of dims [2^32, 2^32] and no data: the product wraps to 0 in 64 bits."""
    w = TensorProto(name="fc.weight", data_type=TensorProto.FLOAT, dims=[1 << 32, 1 << 32])
    nodes = [
        helper.make_node("Flatten", ["input"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight"], ["fc"], name="fc", transB=1),
    ]
    return model("wrapping_weight_dims", nodes, [w], [1, 3, 4, 4], "fc", [1, 4])


FIXTURES = {
    "constant_of_shape_bomb.onnx": constant_of_shape_bomb,
    "wrapping_weight_dims.onnx": wrapping_weight_dims,
}


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=pathlib.Path, default=root / "tests" / "fixtures" / "hostile")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, build in FIXTURES.items():
        path = args.out / name
        path.write_bytes(build().SerializeToString())
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
