#!/usr/bin/env python3
"""Check of the inverted-scaling explanation: multiply every RRAM-bound weight
(Conv and Gemm weights; biases unchanged) of a model by 1 / (1 - p), i.e. the
inference-side compensation dropout applies, for a device known to zero a
fraction p of the weights. Per-layer symmetric quantization makes this exact
(same integers, larger scale).

    rescale.py IN.onnx OUT.onnx P
"""

import sys

import onnx
from onnx import numpy_helper


def main():
    src, dst, p = sys.argv[1], sys.argv[2], float(sys.argv[3])
    m = onnx.load(src)
    weights = {n.input[1] for n in m.graph.node if n.op_type in ("Conv", "Gemm", "MatMul")}
    for i, init in enumerate(m.graph.initializer):
        if init.name in weights:
            a = numpy_helper.to_array(init)
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array((a / (1.0 - p)).astype(a.dtype), init.name))
    onnx.save(m, dst)


if __name__ == "__main__":
    main()
