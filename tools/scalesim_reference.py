#!/usr/bin/env python3
"""Runs SCALE-Sim (PyPI `scalesim`) on conv/FC layers of ResNet-20, MobileNetV2
and ResNet-50 for the three dataflows and writes the compute cycles it reports
to tests/fixtures/scalesim/reference.csv, which rramsim's digital-unit model is
tested against (CI does not need SCALE-Sim).

SCALE-Sim 3.0.0 needs numpy < 2 (it crashes with numpy 2), so it gets its own
virtual environment:

    python3 -m venv tools/.venv-scalesim
    tools/.venv-scalesim/bin/pip install -r tools/requirements-scalesim.txt
    tools/.venv-scalesim/bin/python tools/scalesim_reference.py

SCALE-Sim does not pad, and for strided layers it rounds the output size up
where PyTorch rounds down: each layer's IFMAP is therefore given as the extent
PyTorch's windows cover, `(out − 1) · stride + kernel` with
`out = (in + 2 · padding − kernel) // stride + 1`, so both see the same output size. Interface bandwidth and SRAMs are
set large so no stall cycles occur: the reported "Total Cycles" are compute
cycles.
"""

import argparse
import csv
import pathlib
import tempfile
from importlib.metadata import version

# (network, layer, ifmap_h, ifmap_w (unpadded), kernel, channels, filters, stride, padding)
LAYERS = [
    ("resnet20", "conv1", 32, 32, 3, 3, 16, 1, 1),
    ("resnet20", "layer1.0.conv1", 32, 32, 3, 16, 16, 1, 1),
    ("resnet20", "layer2.0.conv1", 32, 32, 3, 16, 32, 2, 1),
    ("resnet20", "layer2.0.shortcut.0", 32, 32, 1, 16, 32, 2, 0),
    ("resnet20", "layer3.1.conv1", 8, 8, 3, 64, 64, 1, 1),
    ("resnet20", "fc", 1, 1, 1, 64, 10, 1, 0),
    ("mobilenetv2", "layers.1.conv1", 32, 32, 1, 16, 96, 1, 0),
    ("mobilenetv2", "layers.1.conv3", 32, 32, 1, 96, 24, 1, 0),
    ("mobilenetv2", "layers.10.conv3", 8, 8, 1, 384, 96, 1, 0),
    ("mobilenetv2", "conv2", 4, 4, 1, 320, 1280, 1, 0),
    ("resnet50", "conv1", 224, 224, 7, 3, 64, 2, 3),
    ("resnet50", "layer1.0.conv1", 56, 56, 1, 64, 64, 1, 0),
    ("resnet50", "layer1.0.conv2", 56, 56, 3, 64, 64, 1, 1),
    ("resnet50", "layer2.0.downsample.0", 56, 56, 1, 256, 512, 2, 0),
    ("resnet50", "layer4.0.conv3", 7, 7, 1, 512, 2048, 1, 0),
    ("resnet50", "fc", 1, 1, 1, 2048, 1000, 1, 0),
]

CONFIG = """[general]
run_name = rramsim_reference

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
IfmapSramSzkB = 65536
FilterSramSzkB = 65536
OfmapSramSzkB = 65536
IfmapOffset = 0
FilterOffset = 100000000
OfmapOffset = 200000000
Bandwidth = 100000
Dataflow = {dataflow}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = USER
UseRamulatorTrace = False
"""


def run(rows, cols, dataflow, work):
    from scalesim.scale_sim import scalesim

    work = pathlib.Path(work)
    (work / "scale.cfg").write_text(CONFIG.format(rows=rows, cols=cols, dataflow=dataflow))
    header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    lines = [header]
    for _, name, h, w, k, c, m, s, p in LAYERS:
        eh = ((h + 2 * p - k) // s) * s + k
        ew = ((w + 2 * p - k) // s) * s + k
        lines.append(f"{name}, {eh}, {ew}, {k}, {k}, {c}, {m}, {s},\n")
    (work / "topo.csv").write_text("".join(lines))
    (work / "layout.csv").write_text(header)
    sim = scalesim(save_disk_space=True, verbose=False, config=str(work / "scale.cfg"),
                   topology=str(work / "topo.csv"), layout=str(work / "layout.csv"), input_type_gemm=False)
    sim.run_scale(top_path=str(work / "out"))
    report = next((work / "out").glob("*/COMPUTE_REPORT.csv"))
    with report.open() as f:
        rows_out = list(csv.reader(f))[1:]
    result = []
    for row in rows_out:
        layer_id, total, stalls = int(row[0]), int(row[2]), int(row[3])
        assert stalls == 0, f"stall cycles in layer {layer_id}: raise the bandwidth"
        result.append(total)
    return result


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=pathlib.Path, default=root / "tests" / "fixtures" / "scalesim" / "reference.csv")
    ap.add_argument("--arrays", default="32x32,16x8", help="array sizes, rows x cols, comma-separated")
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ver = version("scalesim")
    out_rows = []
    for array in args.arrays.split(","):
        rows, cols = (int(x) for x in array.split("x"))
        for dataflow in ["ws", "os", "is"]:
            with tempfile.TemporaryDirectory() as work:
                cycles = run(rows, cols, dataflow, work)
            for (net, name, h, w, k, c, m, s, p), cyc in zip(LAYERS, cycles):
                out_rows.append([ver, dataflow, rows, cols, net, name, h, w, k, c, m, s, p, cyc])
    with args.out.open("w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["scalesim_version", "dataflow", "array_rows", "array_cols", "network", "layer", "ifmap_h",
                     "ifmap_w", "kernel", "channels", "filters", "stride", "padding", "compute_cycles"])
        wr.writerows(out_rows)
    print(f"wrote {args.out} ({len(out_rows)} rows, scalesim {ver})")


if __name__ == "__main__":
    main()
