#!/usr/bin/env python3
"""Builds the small ONNX fixtures in tests/fixtures/onnx/ offline, with the `onnx`
package only (no PyTorch): graphs are written node by node the way
`torch.onnx.export` lays them out (Conv + BatchNormalization, Gemm heads,
Flatten, Identity/Dropout pass-throughs, Constant shape operands).

    tools/.venv/bin/python tools/onnx_fixtures.py [--out tests/fixtures/onnx]

Weights come from a seeded numpy generator, so the files are reproducible for a
given onnx version. When onnxruntime is installed, every valid fixture is also
run once to prove it is a well-formed model.
"""

import argparse
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


class Graph:
    """Accumulates nodes and initializers; names follow rramsim's zoo names."""

    def __init__(self, seed, typed_fields=False):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.typed_fields = typed_fields

    def init(self, name, array):
        array = np.asarray(array)
        if self.typed_fields and array.dtype == np.float32:
            t = helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.flatten().tolist())
        else:
            t = numpy_helper.from_array(array, name)
        self.inits.append(t)
        return name

    def weights(self, name, shape, fan_in):
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(np.float32)
        return self.init(name, w)

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, name, x, cin, cout, k, stride=1, groups=1, bias=False):
        w = self.weights(f"{name}.weight", (cout, cin // groups, k, k), cin // groups * k * k)
        inputs = [x, w]
        if bias:
            inputs.append(self.init(f"{name}.bias", self.rng.normal(0, 0.1, cout).astype(np.float32)))
        p = k // 2
        return self.node("Conv", inputs, name, kernel_shape=[k, k], strides=[stride, stride],
                         pads=[p, p, p, p], dilations=[1, 1], group=groups)

    def bn(self, name, x, c):
        g = self.init(f"{name}.weight", self.rng.uniform(0.5, 1.5, c).astype(np.float32))
        b = self.init(f"{name}.bias", self.rng.normal(0, 0.1, c).astype(np.float32))
        m = self.init(f"{name}.running_mean", self.rng.normal(0, 0.1, c).astype(np.float32))
        v = self.init(f"{name}.running_var", self.rng.uniform(0.5, 1.5, c).astype(np.float32))
        return self.node("BatchNormalization", [x, g, b, m, v], name, epsilon=1e-5)

    def relu(self, name, x):
        return self.node("Relu", [x], name)

    def gemm(self, name, x, fin, fout):
        w = self.weights(f"{name}.weight", (fout, fin), fin)
        b = self.init(f"{name}.bias", self.rng.normal(0, 0.1, fout).astype(np.float32))
        return self.node("Gemm", [x, w, b], name, alpha=1.0, beta=1.0, transB=1)

    def model(self, graph_name, x_shape, out, out_shape, opset=OPSET):
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, x_shape)
        outp = helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)
        g = helper.make_graph(self.nodes, graph_name, [inp], [outp], initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="rramsim-fixtures")
        m.ir_version = 8
        return m


def resnet20():
    """CIFAR-10 ResNet-20 with 1x1 projection shortcuts, named like the zoo."""
    g = Graph(seed=20)
    x = g.bn("bn1", g.conv("conv1", "input", 3, 16, 3), 16)
    x = g.relu("relu1", x)
    cin = 16
    for stage, width in enumerate([16, 32, 64]):
        for block in range(3):
            stride = 2 if stage > 0 and block == 0 else 1
            p = f"layer{stage + 1}.{block}."
            a = g.bn(p + "bn1", g.conv(p + "conv1", x, cin, width, 3, stride), width)
            a = g.relu(p + "relu1", a)
            a = g.bn(p + "bn2", g.conv(p + "conv2", a, width, width, 3), width)
            if stride != 1 or cin != width:
                s = g.bn(p + "shortcut.1", g.conv(p + "shortcut.0", x, cin, width, 1, stride), width)
            else:
                s = x
            x = g.relu(p + "relu2", g.node("Add", [a, s], p + "add"))
            cin = width
    x = g.node("GlobalAveragePool", [x], "avgpool")
    x = g.node("Flatten", [x], "flatten", axis=1)
    x = g.gemm("fc", x, 64, 10)
    m = g.model("resnet20", ["N", 3, 32, 32], x, ["N", 10])
    return onnx.shape_inference.infer_shapes(m)


def mixed_ops():
    """Every other supported op once: depthwise conv, Clip as ReLU6, pools with
    ceil_mode and padding, Concat, Dropout, Identity, Constant/Reshape,
    ConstantOfShape as a MatMul bias, and a BatchNorm that cannot be folded."""
    g = Graph(seed=7)
    x = g.bn("stem.bn", g.conv("stem", "input", 3, 8, 3), 8)
    zero = g.init("clip.min", np.array(0.0, dtype=np.float32))
    six = g.init("clip.max", np.array(6.0, dtype=np.float32))
    x = g.node("Clip", [x, zero, six], "stem.relu6")
    dw = g.conv("dw", x, 8, 8, 3, groups=8, bias=True)
    pw = g.conv("pw", dw, 8, 8, 1)
    s = g.node("Add", [pw, x], "residual")
    s = g.bn("post_add.bn", s, 8)  # after an add: stays a BatchNorm layer
    a = g.node("MaxPool", [s], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 0, 0], ceil_mode=1)
    b = g.node("AveragePool", [s], "avgpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
               count_include_pad=0)
    c = g.node("Concat", [a, b], "concat", axis=1)
    c = g.node("Dropout", [c], "dropout")
    c = g.node("Identity", [c], "identity")
    shape = g.node("Constant", [], "flat_shape",
                   value=numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "flat_shape"))
    f = g.node("Reshape", [c, shape], "reshape")
    w = g.weights("fc1.weight", (16 * 8 * 8, 12), 16 * 8 * 8)  # MatMul layout [in, out]
    h = g.node("MatMul", [f, w], "fc1")
    bias_shape = g.init("fc1.bias_shape", np.array([12], dtype=np.int64))
    bias = g.node("ConstantOfShape", [bias_shape], "fc1.bias",
                  value=numpy_helper.from_array(np.array([0.25], dtype=np.float32), "v"))
    h = g.node("Add", [h, bias], "fc1.add")
    h = g.relu("fc1.relu", h)
    out = g.gemm("fc2", h, 12, 5)
    m = g.model("mixed_ops", [1, 3, 16, 16], out, [1, 5])
    return onnx.shape_inference.infer_shapes(m)


def typed_fields():
    """Initializers in float_data (not raw_data) and opset-10 Clip attributes."""
    g = Graph(seed=3, typed_fields=True)
    x = g.conv("conv", "input", 2, 4, 3, bias=True)
    x = g.node("Clip", [x], "clip", min=-1.0, max=1.0)
    x = g.node("Flatten", [x], "flatten", axis=1)
    w = g.weights("fc.weight", (4 * 6 * 6, 3), 4 * 6 * 6)  # [in, out]: transB=0
    b = g.init("fc.bias", np.array([0.5, -0.5, 1.0], dtype=np.float32))
    x = g.node("Gemm", [x, w, b], "fc", alpha=0.5, beta=2.0, transB=0)
    return g.model("typed_fields", [1, 2, 6, 6], x, [1, 3], opset=10)


def unsupported_op():
    """A Softmax head: not an op rramsim imports."""
    g = Graph(seed=1)
    x = g.relu("relu", g.conv("conv", "input", 1, 2, 3))
    x = g.node("Flatten", [x], "flatten", axis=1)
    x = g.node("Softmax", [x], "softmax", axis=1)
    return g.model("unsupported_op", [1, 1, 4, 4], x, [1, 32])


def wrong_value_info():
    """A conv whose declared output shape disagrees with its attributes."""
    g = Graph(seed=2)
    x = g.conv("conv", "input", 1, 2, 3, stride=2)
    m = g.model("wrong_value_info", [1, 1, 8, 8], x, [1, 2, 8, 8])
    return m


FIXTURES = {
    "resnet20.onnx": resnet20,
    "mixed_ops.onnx": mixed_ops,
    "typed_fields.onnx": typed_fields,
    "unsupported_op.onnx": unsupported_op,
    "wrong_value_info.onnx": wrong_value_info,
}
# Fixtures onnxruntime must accept (the others are invalid on purpose or use ops
# that are fine for onnxruntime but not for rramsim).
RUNNABLE = {"resnet20.onnx", "mixed_ops.onnx", "typed_fields.onnx", "unsupported_op.onnx"}


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=pathlib.Path, default=root / "tests" / "fixtures" / "onnx")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    for name, build in FIXTURES.items():
        model = build()
        if name in RUNNABLE:
            onnx.checker.check_model(model, full_check=True)
        path = args.out / name
        path.write_bytes(model.SerializeToString())
        if ort is not None and name in RUNNABLE:
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            inp = sess.get_inputs()[0]
            shape = [1 if isinstance(d, str) else d for d in inp.shape]
            sess.run(None, {inp.name: np.zeros(shape, dtype=np.float32)})
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
