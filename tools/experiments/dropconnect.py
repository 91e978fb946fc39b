#!/usr/bin/env python3
"""The drop-connect reproduction experiment on Fashion-MNIST (resnet-mini).

Accuracy versus weight fault rate {0, 5, 10, 20, 30 %} (weight-zero model: a
weight with any stuck cell contributes zero, as in the published study; the
rate is the fraction of weights hit, converted to a cell rate for ISAAC's 16
cells per weight) for

  (a)  normal training, all layers on RRAM;
  (b)  drop-connect training at the matched rate p = fault rate;
  (c)  (b) trained and run with the 1x1 convolutions on the digital unit;
  (d)  (c) widened x1.2 and x1.6;
  (e)  (b) with 3x3 instead of 1x1 projection shortcuts (the study's
       structural lever: the shortcuts stay on RRAM, drop-connect trained);

with each configuration's runtime and energy per image from `rramsim run` on
ISAAC beside it. Writes results.csv, results.md, accuracy.svg and runs.json to
--out. Trained models are cached in --models (delete them to retrain).

    cargo build --release -p rramsim-cli --features full
    tools/.venv/bin/python tools/experiments/dropconnect.py --rramsim target/release/rramsim

A training variant on one configuration, e.g. inverted mask scaling on (b) (the
p = 0 models are shared between mask scalings, as no mask is drawn):

    ... dropconnect.py --configs b --mask-scaling inverted --out results/inverted
"""

import argparse
import csv
import json
import os
import pathlib
import subprocess
import sys
import time

RATES = [0.0, 0.05, 0.10, 0.20, 0.30]
CONFIGS = [
    # name, label, width, offload (training masks and evaluation), drop-connect matched?, shortcut kernel
    ("a", "(a) normal", 1.0, "all-rram", False, 1),
    ("b", "(b) drop-connect", 1.0, "all-rram", True, 1),
    ("c", "(c) DC + 1x1 digital", 1.0, "pointwise", True, 1),
    ("d12", "(d) DC + 1x1 digital, x1.2", 1.2, "pointwise", True, 1),
    ("d16", "(d) DC + 1x1 digital, x1.6", 1.6, "pointwise", True, 1),
    ("e", "(e) DC, 3x3 shortcuts", 1.0, "all-rram", True, 3),
]


REPO = pathlib.Path(__file__).resolve().parents[2]


def rel(arg):
    """An absolute path as a path relative to the repository (runs.json records no
    machine-specific paths); anything else unchanged."""
    a = str(arg)
    return os.path.relpath(a, REPO) if os.path.isabs(a) else a


def run(cmd, log):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    log.append({"command": " ".join(rel(c) for c in cmd), "seconds": round(time.perf_counter() - t0, 2)})
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rramsim", default="target/release/rramsim")
    here = pathlib.Path(__file__).resolve().parent
    ap.add_argument("--out", type=pathlib.Path, default=here / "results")
    ap.add_argument("--models", type=pathlib.Path, default=here / "models")
    ap.add_argument("--arch", default="isaac")
    ap.add_argument("--train-images", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--test-images", type=int, default=10000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--train-seed", type=int, default=1)
    ap.add_argument("--configs", default=",".join(c[0] for c in CONFIGS),
                    help="comma-separated subset of the configurations (a,b,c,d12,d16,e) to run, e.g. to compare a "
                         "training variant on (b) alone; (a) is always kept as the runtime/energy baseline")
    # Training variants (`rramsim train` options; defaults reproduce the original runs).
    ap.add_argument("--mask-scaling", choices=["none", "inverted"], default="none")
    ap.add_argument("--weight-noise", type=float, default=0.0)
    ap.add_argument("--lr-schedule", default="constant")
    ap.add_argument("--crop-pad", type=int, default=0)
    ap.add_argument("--hflip", action="store_true")
    ap.add_argument("--accuracy-from", type=pathlib.Path,
                    help="take the accuracy rows from an earlier results.csv of the same models and settings "
                         "(re-runs only the runtime/energy part)")
    ap.add_argument("--remap", choices=["none", "rows", "rows+cols"], default="none",
                    help="fault-aware row/column remapping in eval (give --arch a file with [crossbar] spare_rows/"
                         "spare_cols for spares); run prices its index tables")
    args = ap.parse_args()
    wanted = set(args.configs.split(","))
    unknown = wanted - {c[0] for c in CONFIGS}
    if unknown:
        ap.error(f"--configs: unknown configuration(s) {', '.join(sorted(unknown))}")
    configs = [c for c in CONFIGS if c[0] in wanted | {"a"}]
    args.out.mkdir(parents=True, exist_ok=True)
    args.models.mkdir(parents=True, exist_ok=True)
    log = []
    started = time.perf_counter()

    def variant(p):
        # At p = 0 there are no masks to scale: such models are shared by every --mask-scaling.
        scaling = args.mask_scaling if p > 0 else "none"
        return ["--mask-scaling", scaling, "--weight-noise", str(args.weight_noise), "--lr-schedule",
                args.lr_schedule, "--crop-pad", str(args.crop_pad)] + (["--hflip"] if args.hflip else [])

    def suffix(p):
        # Non-default variants get their own cached models.
        v = variant(p)
        return "" if v == ["--mask-scaling", "none", "--weight-noise", "0.0", "--lr-schedule", "constant",
                           "--crop-pad", "0"] else "_" + "_".join(x.lstrip("-") for x in v).replace(":", "-")

    def model(width, offload, p, k=1):
        name = f"resnet-mini_w{width}_{offload}_p{p}{'' if k == 1 else f'_k{k}'}{suffix(p)}.onnx"
        path = args.models / name
        if not path.exists():
            out = run([args.rramsim, "train", "--model", "resnet-mini", "--width", str(width), "--offload", offload,
                       "--drop-connect", str(p), "--epochs", str(args.epochs), "--train-images",
                       str(args.train_images), "--seed", str(args.train_seed), "-o", str(path), "--format", "json",
                       "--shortcut-kernel", str(k)] + variant(p), log)
            (args.models / (name + ".json")).write_text(out)
        return path

    rows = []
    earlier = []
    if args.accuracy_from:
        with open(args.accuracy_from) as f:
            header, *lines = [x for x in csv.reader(f) if x]
        for x in lines:
            # Files written before labels were quoted: a label's own commas split it (quoted ones
            # come whole from the reader).
            extra = len(x) - len(header)
            earlier.append(dict(zip(header, x[:1] + [",".join(x[1:2 + extra])] + x[2 + extra:])))
    for key, label, width, offload, matched, k in configs:
        for rate in RATES:
            if args.accuracy_from:
                r = next((x for x in earlier if x["config"] == key and float(x["weight_fault_rate"]) == rate), None)
                if r is None:
                    sys.exit(f"{args.accuracy_from}: no row for configuration {key} at rate {rate}")
                row = {k2: r[k2] for k2 in ("config", "label", "offload", "remap")}
                row.update({k2: float(r[k2]) for k2 in ("width", "drop_connect", "weight_fault_rate", "cell_fault_rate",
                                                        "accuracy_float", "accuracy_fault_free", "accuracy_mean",
                                                        "accuracy_std", "accuracy_min")})
                row["weights_changed"] = int(float(r["weights_changed"]))
                rows.append(row)
                continue
            p = rate if matched else 0.0
            # p = 0 without weight noise trains identically whatever the offload: share the model.
            m = model(width, offload if p > 0 or args.weight_noise > 0 else "all-rram", p, k)
            cmd = [args.rramsim, "eval", "--model", str(m), "--data", "fashion-mnist", "--images",
                   str(args.test_images), "--arch", args.arch, "--offload", offload, "--fault-model", "weight-zero",
                   "--rate-per", "weight", "--seeds", str(args.seeds), "--format", "json"]
            if rate > 0:
                cmd += ["--fault-rate", str(rate)]
            if args.remap != "none":
                cmd += ["--remap", args.remap]
            e = json.loads(run(cmd, log))
            rows.append({"config": key, "label": label, "width": width, "offload": offload, "drop_connect": p,
                         "weight_fault_rate": rate, "cell_fault_rate": e["cell_fault_rate"],
                         "accuracy_float": e["accuracy_float"], "accuracy_fault_free": e["accuracy_fault_free"],
                         "accuracy_mean": e["accuracy_mean"], "accuracy_std": e["accuracy_std"],
                         "accuracy_min": e["accuracy_min"], "weights_changed": e["weights_changed"],
                         "remap": e.get("remap", "none")})
            print(f"{label:32s} rate {rate:4.2f}: {100 * e['accuracy_mean']:6.2f}% ± {100 * e['accuracy_std']:.2f}",
                  file=sys.stderr)

    # Runtime and energy per image of each configuration (the p = 0 model's structure), in the
    # steady state: the simulated interval between images fed back to back and the marginal
    # energy of one more image (dynamic per image + static power x that interval). The
    # first image's latency is kept beside them.
    cost = {}
    for key, label, width, offload, _, k in configs:
        r = json.loads(run([args.rramsim, "run", "--arch", args.arch, "--workload", str(model(width, "all-rram", 0.0, k)),
                            "--offload", offload, "--remap", args.remap, "--format", "json"], log))
        remap = r.get("remap") or {}
        # Index-table reads are an energy the run reports beside its total (per image: / batch of 1).
        cost[key] = {"steady_state_cycles_per_image": r["steady_state_cycles_per_image"],
                     "steady_state_energy_per_image_pj":
                         r["steady_state_energy_per_image_pj"] + remap.get("table_energy_pj", 0.0),
                     "first_image_cycles": r["first_image_cycles"],
                     "crossbars": r["crossbars"], "digital_utilization": r["digital_utilization"],
                     "remap_table_area_mm2": remap.get("table_area_mm2", 0.0)}
    base = cost["a"]
    for c in cost.values():
        c["runtime_pct"] = 100 * (c["steady_state_cycles_per_image"] / base["steady_state_cycles_per_image"] - 1)
        c["energy_pct"] = 100 * (c["steady_state_energy_per_image_pj"] / base["steady_state_energy_per_image_pj"] - 1)

    cost_fields = ["steady_state_cycles_per_image", "steady_state_energy_per_image_pj", "first_image_cycles",
                   "runtime_pct", "energy_pct", "remap_table_area_mm2"]
    fields = ["config", "label", "width", "offload", "drop_connect", "weight_fault_rate", "cell_fault_rate",
              "accuracy_float", "accuracy_fault_free", "accuracy_mean", "accuracy_std", "accuracy_min",
              "weights_changed", "remap"] + cost_fields
    with open(args.out / "results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for r in rows:
            r.update({k: cost[r["config"]][k] for k in cost_fields})
            w.writerow([r[k] for k in fields])

    md = ["| configuration | " + " | ".join(f"{int(100 * r)} % faults" for r in RATES) +
          " | steady cycles/image | runtime | steady energy/image | energy |",
          "|---|" + "---:|" * (len(RATES) + 4)]
    for key, label, *_ in configs:
        cells = []
        for rate in RATES:
            r = next(x for x in rows if x["config"] == key and x["weight_fault_rate"] == rate)
            cells.append(f"{100 * r['accuracy_mean']:.1f} ± {100 * r['accuracy_std']:.1f}")
        c = cost[key]
        md.append(f"| {label} | " + " | ".join(cells) +
                  f" | {c['steady_state_cycles_per_image']:,.0f} | {c['runtime_pct']:+.1f} % | "
                  f"{c['steady_state_energy_per_image_pj'] / 1e6:.2f} uJ | {c['energy_pct']:+.1f} % |")
    (args.out / "results.md").write_text("\n".join(md) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, label, *_ in configs:
        rs = [x for x in rows if x["config"] == key]
        ax.errorbar([100 * x["weight_fault_rate"] for x in rs], [100 * x["accuracy_mean"] for x in rs],
                    yerr=[100 * x["accuracy_std"] for x in rs], marker="o", capsize=3, label=label)
    ax.set_xlabel("weights with a stuck cell (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"resnet-mini on Fashion-MNIST, {args.arch}, weight-zero faults")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "accuracy.svg")
    total = time.perf_counter() - started
    (args.out / "runs.json").write_text(json.dumps({"seconds": round(total, 1), "settings": vars(args) | {
        "out": rel(args.out), "models": rel(args.models), "rramsim": rel(args.rramsim)}, "cost": cost, "commands": log}, indent=1, default=str))
    print(f"done in {total:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
