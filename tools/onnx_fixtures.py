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

    def conv(self, name, x, cin, cout, k, stride=1, groups=1, bias=False, pad=None):
        w = self.weights(f"{name}.weight", (cout, cin // groups, k, k), cin // groups * k * k)
        inputs = [x, w]
        if bias:
            inputs.append(self.init(f"{name}.bias", self.rng.normal(0, 0.1, cout).astype(np.float32)))
        p = k // 2 if pad is None else pad
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
    """A Hardmax head: not an op rramsim imports."""
    g = Graph(seed=1)
    x = g.relu("relu", g.conv("conv", "input", 1, 2, 3))
    x = g.node("Flatten", [x], "flatten", axis=1)
    x = g.node("Hardmax", [x], "hardmax", axis=1)
    return g.model("unsupported_op", [1, 1, 4, 4], x, [1, 32])


def wrong_value_info():
    """A conv whose declared output shape disagrees with its attributes."""
    g = Graph(seed=2)
    x = g.conv("conv", "input", 1, 2, 3, stride=2)
    m = g.model("wrong_value_info", [1, 1, 8, 8], x, [1, 2, 8, 8])
    return m


def i64(g, name, values):
    return g.init(name, np.array(values, dtype=np.int64))


def torch_shape_flatten(g, x, name, keep, tail):
    """PyTorch's dynamic-shape idiom: Shape -> Gather/Slice -> Unsqueeze -> Concat
    -> Reshape, the batch size read from the tensor at run time (opset 13+)."""
    shape = g.node("Shape", [x], f"{name}.shape")
    dims = []
    for i in range(keep):
        d = g.node("Gather", [shape, i64(g, f"{name}.i{i}", i)], f"{name}.dim{i}", axis=0)
        dims.append(g.node("Unsqueeze", [d, i64(g, f"{name}.axes{i}", [0])], f"{name}.udim{i}"))
    target = g.node("Concat", dims + [i64(g, f"{name}.tail", tail)], f"{name}.target", axis=0)
    return g.node("Reshape", [x, target], name)


def vit_tiny():
    """The zoo's vit_tiny as torch.onnx.export (opset 17) lays out a timm-style
    ViT: patch conv, flatten(2) via a Shape sub-graph, transpose to tokens, a
    positional-embedding Add, LayerNormalization, q/k/v as MatMul + Add, heads by
    Reshape + Transpose, Q.K^T / sqrt(d) as MatMul + Mul, Softmax, the head
    merge, GELU in its erf form, ReduceMean over tokens and a Gemm head; the batch
    dimension is dynamic."""
    g = Graph(seed=17)
    dim, heads, mlp, tokens = 128, 2, 512, 64
    hd = dim // heads
    x = g.conv("patch_embed.proj", "input", 3, dim, 4, stride=4, bias=True, pad=0)
    x = torch_shape_flatten(g, x, "patch_embed.flatten", 2, [-1])
    x = g.node("Transpose", [x], "patch_embed.transpose", perm=[0, 2, 1])
    pos = g.init("pos_embed", g.rng.normal(0, 0.02, (1, tokens, dim)).astype(np.float32))
    x = g.node("Add", [x, pos], "pos_add")

    def linear(name, h, fin, fout):
        w = g.weights(f"{name}.weight", (fin, fout), fin)  # MatMul layout [in, out]
        b = g.init(f"{name}.bias", g.rng.normal(0, 0.02, fout).astype(np.float32))
        return g.node("Add", [g.node("MatMul", [h, w], name), b], f"{name}.add")

    def norm(name, h):
        s = g.init(f"{name}.weight", g.rng.uniform(0.8, 1.2, dim).astype(np.float32))
        b = g.init(f"{name}.bias", g.rng.normal(0, 0.02, dim).astype(np.float32))
        return g.node("LayerNormalization", [h, s, b], name, axis=-1, epsilon=1e-6)

    for blk in range(2):
        p = f"blocks.{blk}."
        h = norm(p + "norm1", x)
        split = {}
        for part in ["q", "k", "v"]:
            t = linear(f"{p}attn.{part}", h, dim, dim)
            t = torch_shape_flatten(g, t, f"{p}attn.{part}.heads", 2, [heads, hd])
            perm = [0, 2, 3, 1] if part == "k" else [0, 2, 1, 3]
            split[part] = g.node("Transpose", [t], f"{p}attn.{part}.transpose", perm=perm)
        s = g.node("MatMul", [split["q"], split["k"]], f"{p}attn.scores")
        s = g.node("Mul", [s, g.init(f"{p}attn.scale", np.array(hd ** -0.5, dtype=np.float32))], f"{p}attn.scale_mul")
        s = g.node("Softmax", [s], f"{p}attn.softmax", axis=-1)
        c = g.node("MatMul", [s, split["v"]], f"{p}attn.context")
        c = g.node("Transpose", [c], f"{p}attn.context.transpose", perm=[0, 2, 1, 3])
        c = torch_shape_flatten(g, c, f"{p}attn.merge", 2, [dim])
        c = linear(f"{p}attn.proj", c, dim, dim)
        x = g.node("Add", [x, c], f"{p}add1")
        h = linear(f"{p}mlp.fc1", norm(p + "norm2", x), dim, mlp)
        # nn.GELU() exports as x * 0.5 * (1 + erf(x / sqrt(2))).
        e = g.node("Div", [h, g.init(f"{p}mlp.sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))], f"{p}mlp.div")
        e = g.node("Erf", [e], f"{p}mlp.erf")
        e = g.node("Add", [e, g.init(f"{p}mlp.one", np.array(1.0, dtype=np.float32))], f"{p}mlp.erf_add")
        e = g.node("Mul", [h, e], f"{p}mlp.mul")
        h = g.node("Mul", [e, g.init(f"{p}mlp.half", np.array(0.5, dtype=np.float32))], f"{p}mlp.act")
        h = linear(f"{p}mlp.fc2", h, mlp, dim)
        x = g.node("Add", [x, h], f"{p}add2")
    x = norm("norm", x)
    x = g.node("ReduceMean", [x], "pool", axes=[1], keepdims=0)
    x = g.gemm("head", x, dim, 10)
    m = g.model("vit_tiny", ["N", 3, 32, 32], x, ["N", 10], opset=17)
    return onnx.shape_inference.infer_shapes(m)


def torch_mobile_ops():
    """MobileNetV3-style pieces as PyTorch exports them (opset 14): HardSwish,
    squeeze-excitation with HardSigmoid and a Mul of activations, SiLU as Sigmoid
    times its input, a constant Sub/Div normalisation, GlobalMaxPool, and the
    Shape -> Gather -> Unsqueeze -> Concat -> Reshape flatten; dynamic batch."""
    g = Graph(seed=14)
    mean = g.init("norm.mean", np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 3, 1, 1))
    std = g.init("norm.std", np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 3, 1, 1))
    x = g.node("Div", [g.node("Sub", ["input", mean], "norm.sub"), std], "norm.div")
    x = g.node("HardSwish", [g.bn("stem.bn", g.conv("stem", x, 3, 16, 3, stride=2), 16)], "stem.act")
    se = g.node("GlobalAveragePool", [x], "se.pool")
    se = g.relu("se.relu", g.conv("se.fc1", se, 16, 8, 1, bias=True))
    se = g.node("HardSigmoid", [g.conv("se.fc2", se, 8, 16, 1, bias=True)], "se.gate", alpha=1.0 / 6, beta=0.5)
    x = g.node("Mul", [x, se], "se.scale")
    y = g.conv("pw", x, 16, 24, 1, bias=True)
    x = g.node("Mul", [y, g.node("Sigmoid", [y], "silu.sigmoid")], "silu")
    x = g.node("Tanh", [g.conv("dw", x, 24, 24, 3, groups=24, bias=True)], "tanh")
    x = g.node("GlobalMaxPool", [x], "gmp")
    x = torch_shape_flatten(g, x, "flatten", 1, [-1])
    x = g.gemm("fc", x, 24, 5)
    x = g.node("LogSoftmax", [x], "log_softmax", axis=1)
    m = g.model("torch_mobile_ops", ["N", 3, 16, 16], x, ["N", 5], opset=14)
    return onnx.shape_inference.infer_shapes(m)


def tf2onnx_nhwc():
    """A Keras CNN as tf2onnx (opset 13) converts it: an NHWC input, Transpose
    wrappers around each Conv (the pairs between convs cancel), a ZeroPadding2D
    Pad on the NHWC value before a VALID conv, Keras Flatten in
    NHWC order (Transpose, then Reshape to a constant [-1, n]), Dense as MatMul +
    Add, Softmax over the last axis; the batch dimension is dynamic."""
    g = Graph(seed=13)
    x = g.node("Transpose", ["input"], "conv1__6", perm=[0, 3, 1, 2])
    x = g.relu("conv1/Relu", g.conv("conv1", x, 3, 8, 3, bias=True))
    x = g.node("Transpose", [x], "conv1__9", perm=[0, 2, 3, 1])
    # Keras ZeroPadding2D((0, 1), (0, 1)) on the NHWC value, then a VALID conv.
    x = g.node("Pad", [x, i64(g, "zero_padding2d/pads", [0, 0, 0, 0, 0, 1, 1, 0])], "zero_padding2d/Pad")
    x = g.node("Transpose", [x], "conv2__12", perm=[0, 3, 1, 2])
    x = g.relu("conv2/Relu", g.conv("conv2", x, 8, 8, 3, stride=2, bias=True, pad=0))
    x = g.node("MaxPool", [x], "pool", kernel_shape=[2, 2], strides=[2, 2])
    x = g.node("Transpose", [x], "pool__15", perm=[0, 2, 3, 1])
    x = g.node("Reshape", [x, i64(g, "flatten/Const", [-1, 4 * 4 * 8])], "flatten")
    w = g.weights("dense/MatMul/ReadVariableOp", (128, 10), 128)
    x = g.node("MatMul", [x, w], "dense/MatMul")
    x = g.node("Add", [x, g.init("dense/BiasAdd/ReadVariableOp", g.rng.normal(0, 0.1, 10).astype(np.float32))],
               "dense/BiasAdd")
    x = g.node("Softmax", [x], "dense/Softmax", axis=-1)
    m = g.model("tf2onnx_nhwc", ["unk__20", 16, 16, 3], x, ["unk__21", 10], opset=13)
    m.producer_name = "tf2onnx"
    return onnx.shape_inference.infer_shapes(m)


def caffe2_opset7():
    """An AlexNet-style Caffe2 export at opset 7: LRN after the first conv, a
    Sum residual, Dropout, Gemm heads with transB, and Softmax with the
    pre-opset-13 default axis 1; IR version 3, initializers listed as inputs."""
    g = Graph(seed=7)
    x = g.relu("conv1_relu", g.conv("conv1", "input", 3, 16, 5, stride=2, bias=True))
    x = g.node("LRN", [x], "norm1", size=5, alpha=1e-4, beta=0.75, bias=1.0)
    x = g.node("MaxPool", [x], "pool1", kernel_shape=[3, 3], strides=[2, 2])
    a = g.relu("conv2_relu", g.conv("conv2", x, 16, 16, 3, bias=True))
    x = g.node("Sum", [a, x], "res")
    x = g.node("Flatten", [x], "flatten", axis=1)
    x = g.relu("fc6_relu", g.gemm("fc6", x, 16 * 7 * 7, 32))
    x = g.node("Dropout", [x], "drop6", ratio=0.5)
    x = g.gemm("fc7", x, 32, 10)
    x = g.node("Softmax", [x], "prob")
    m = g.model("caffe2_opset7", [1, 3, 32, 32], x, [1, 10], opset=7)
    # IR version 3: every initializer is also listed as a graph input.
    m.ir_version = 3
    m.producer_name = "onnx-caffe2"
    m.graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in m.graph.initializer)
    return m


def f32(g, name, values):
    return g.init(name, np.array(values, dtype=np.float32))


def torch_unet_resize():
    """A small UNet-style decoder as torch.onnx.export (opset 13) lays out
    F.interpolate: nearest ×2 by scales (asymmetric, floor), bilinear with
    align_corners=False by scales (pytorch_half_pixel) and with
    align_corners=True to explicit sizes; skip connections concatenated."""
    g = Graph(seed=21)
    roi = f32(g, "resize.roi", [])
    e1 = g.relu("enc1.relu", g.conv("enc1", "input", 3, 8, 3, bias=True))
    x = g.node("MaxPool", [e1], "down1", kernel_shape=[2, 2], strides=[2, 2])
    e2 = g.relu("enc2.relu", g.conv("enc2", x, 8, 12, 3, bias=True))
    x = g.node("MaxPool", [e2], "down2", kernel_shape=[2, 2], strides=[2, 2])
    x = g.relu("mid.relu", g.conv("mid", x, 12, 12, 3, bias=True))
    x = g.node("Resize", [x, roi, f32(g, "up1.scales", [1, 1, 2, 2])], "up1", mode="nearest",
               coordinate_transformation_mode="asymmetric", nearest_mode="floor", cubic_coeff_a=-0.75)
    x = g.node("Concat", [x, e2], "cat1", axis=1)
    x = g.relu("dec1.relu", g.conv("dec1", x, 24, 8, 3, bias=True))
    x = g.node("Resize", [x, roi, f32(g, "up2.scales", [1, 1, 2, 2])], "up2", mode="linear",
               coordinate_transformation_mode="pytorch_half_pixel", cubic_coeff_a=-0.75, nearest_mode="floor")
    x = g.node("Concat", [x, e1], "cat2", axis=1)
    x = g.relu("dec2.relu", g.conv("dec2", x, 16, 4, 3, bias=True))
    # size=(20, 12): the sizes are the input's N and C (Shape -> Slice) and the constant H, W.
    nc = g.node("Slice", [g.node("Shape", [x], "up3.shape"), i64(g, "up3.start", [0]), i64(g, "up3.end", [2])],
                "up3.nc")
    sizes = g.node("Concat", [nc, i64(g, "up3.hw", [20, 12])], "up3.sizes", axis=0)
    x = g.node("Resize", [x, roi, f32(g, "up3.scales", []), sizes], "up3",
               mode="linear", coordinate_transformation_mode="align_corners")
    x = g.conv("head", x, 4, 2, 1, bias=True)
    x = torch_shape_flatten(g, x, "flatten", 1, [-1])
    x = g.gemm("fc", x, 2 * 20 * 12, 10)
    m = g.model("torch_unet_resize", ["N", 3, 16, 16], x, ["N", 10], opset=13)
    return onnx.shape_inference.infer_shapes(m)


def upsample_opset9():
    """An older FPN-style export at opset 9: a nearest ×2 Upsample of the coarse
    level added to the fine one, then a linear (bilinear, asymmetric coordinates)
    Upsample by 2 × 3; the scales are a constant operand, as opset 9 has them."""
    g = Graph(seed=9)
    x = g.relu("c1.relu", g.conv("c1", "input", 3, 6, 3, stride=2, bias=True))
    p = g.relu("c2.relu", g.conv("c2", x, 6, 6, 3, stride=2, bias=True))
    up = g.node("Upsample", [p, f32(g, "up.scales", [1, 1, 2, 2])], "up", mode="nearest")
    x = g.node("Add", [x, up], "fuse")
    x = g.node("Upsample", [x, f32(g, "up2.scales", [1, 1, 2, 3])], "up2", mode="linear")
    x = g.conv("head", x, 6, 2, 1, bias=True)
    x = g.node("Flatten", [x], "flatten", axis=1)
    x = g.gemm("fc", x, 2 * 12 * 18, 10)
    return g.model("upsample_opset9", [1, 3, 12, 12], x, [1, 10], opset=9)


def torch_pad_split():
    """PyTorch opset-13 padding layers: ReflectionPad2d, ReplicationPad2d (edge)
    and ConstantPad2d with a non-zero value as Pad with pads and value operands,
    each followed by a VALID conv; torch.split with sizes (a Split operand) and
    torch.chunk (an equal Split without sizes) of the channels."""
    g = Graph(seed=31)
    x = g.node("Pad", ["input", i64(g, "pad1.pads", [0, 0, 1, 2, 0, 0, 1, 2])], "pad1", mode="reflect")
    x = g.relu("c1.relu", g.conv("c1", x, 3, 8, 3, bias=True, pad=0))
    x = g.node("Pad", [x, i64(g, "pad2.pads", [0, 0, 2, 1, 0, 0, 0, 1])], "pad2", mode="edge")
    x = g.relu("c2.relu", g.conv("c2", x, 8, 8, 3, stride=2, bias=True, pad=0))
    # torch.split(x, [3, 5], dim=1), a conv on each part, torch.cat; then chunk(2).
    g.nodes.append(helper.make_node("Split", [x, i64(g, "split.sizes", [3, 5])], ["split.a", "split.b"],
                                    name="split", axis=1))
    a = g.conv("ca", "split.a", 3, 4, 1, bias=True)
    b = g.conv("cb", "split.b", 5, 4, 1, bias=True)
    x = g.node("Concat", [a, b], "cat", axis=1)
    g.nodes.append(helper.make_node("Split", [x], ["chunk.0", "chunk.1"], name="chunk", axis=1))
    x = g.node("Add", ["chunk.0", "chunk.1"], "chunk_sum")
    x = g.node("Pad", [x, i64(g, "pad3.pads", [0, 0, 1, 1, 0, 0, 1, 1]), f32(g, "pad3.value", 0.5)], "pad3",
               mode="constant")
    x = g.conv("c3", x, 4, 4, 3, bias=True, pad=0)
    x = g.node("Flatten", [x], "flatten", axis=1)
    x = g.gemm("fc", x, 4 * 6 * 7, 10)
    m = g.model("torch_pad_split", ["N", 3, 12, 12], x, ["N", 10], opset=13)
    return onnx.shape_inference.infer_shapes(m)


FIXTURES = {
    "resnet20.onnx": resnet20,
    "mixed_ops.onnx": mixed_ops,
    "typed_fields.onnx": typed_fields,
    "unsupported_op.onnx": unsupported_op,
    "wrong_value_info.onnx": wrong_value_info,
    "vit_tiny.onnx": vit_tiny,
    "torch_mobile_ops.onnx": torch_mobile_ops,
    "tf2onnx_nhwc.onnx": tf2onnx_nhwc,
    "caffe2_opset7.onnx": caffe2_opset7,
    "torch_unet_resize.onnx": torch_unet_resize,
    "upsample_opset9.onnx": upsample_opset9,
    "torch_pad_split.onnx": torch_pad_split,
}
# Fixtures onnxruntime must accept (the others are invalid on purpose or use ops
# that are fine for onnxruntime but not for rramsim).
RUNNABLE = {"resnet20.onnx", "mixed_ops.onnx", "typed_fields.onnx", "unsupported_op.onnx", "vit_tiny.onnx",
            "torch_mobile_ops.onnx", "tf2onnx_nhwc.onnx", "caffe2_opset7.onnx", "torch_unet_resize.onnx",
            "upsample_opset9.onnx", "torch_pad_split.onnx"}


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
