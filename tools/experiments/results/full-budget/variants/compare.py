#!/usr/bin/env python3
"""Comparison table of the training variants on configuration (b) beside the
full-budget baseline (masks not rescaled). Reads ../results.csv, */results.csv
and device/*.json; writes comparison.md and comparison.csv here. Run from anywhere:

    tools/.venv/bin/python tools/experiments/results/full-budget/variants/compare.py
"""

import csv
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
RATES = [0.0, 0.05, 0.1, 0.2, 0.3]


def rows(path, config):
    with open(path) as f:
        return {float(r["weight_fault_rate"]): r for r in csv.DictReader(f) if r["config"] == config}


def rescaled():
    """The inverted models rescaled by 1 / (1 - p) (inverted-rescaled/p*.json) at their matched rate; at p = 0
    there is nothing to rescale (the shared p = 0 model of inverted/results.csv)."""
    out = {0.0: rows(HERE / "inverted/results.csv", "b")[0.0]}
    for r in RATES[1:]:
        e = json.loads((HERE / f"inverted-rescaled/p{r}.json").read_text())
        out[r] = {k: e[k] for k in ["accuracy_fault_free", "accuracy_mean", "accuracy_std", "accuracy_min"]}
        out[r]["drop_connect"] = r
    return out


def cell(mean, std):
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def main():
    series = [
        ("(b) drop-connect, masks not rescaled (baseline)", "none", rows(HERE.parent / "results.csv", "b")),
        ("(b) drop-connect, inverted scaling (÷ 1 − p)", "inverted", rows(HERE / "inverted/results.csv", "b")),
        ("(b) inverted, weights × 1/(1 − p) at inference (rescale.py)", "inverted-rescaled", rescaled()),
        ("(b) drop-connect + weight noise 0.1", "weight-noise-0.1", rows(HERE / "weight-noise-0.1/results.csv", "b")),
        ("(a) normal + weight noise 0.1 (no drop-connect)", "a-weight-noise-0.1",
         rows(HERE / "weight-noise-0.1/results.csv", "a")),
    ]
    head = "| training | " + " | ".join(f"{int(100 * r)} % faults" for r in RATES) + " |"
    rule = "|---|" + "---:|" * len(RATES)
    md = ["Accuracy (%) under weight-zero faults on ISAAC, mean ± std over 10 fault maps, full test set; "
          "drop-connect rate = fault rate.", "", head, rule]
    out = []
    for label, key, rs in series:
        if set(rs) != set(RATES):
            continue
        md.append(f"| {label} | " + " | ".join(cell(float(rs[r]["accuracy_mean"]), float(rs[r]["accuracy_std"]))
                                               for r in RATES) + " |")
        for r in RATES:
            out.append({"variant": key, "eval": "faults", "weight_fault_rate": r, "drop_connect": rs[r]["drop_connect"],
                        "accuracy_fault_free": rs[r]["accuracy_fault_free"], "accuracy_mean": rs[r]["accuracy_mean"],
                        "accuracy_std": rs[r]["accuracy_std"], "accuracy_min": rs[r]["accuracy_min"]})
    md += ["", "The same models without faults (the model trained at p = column, quantized on ISAAC, fault-free):",
           "", "| training | " + " | ".join(f"p = {int(100 * r)} %" for r in RATES) + " |", rule]
    for label, key, rs in series:
        if set(rs) != set(RATES) or key.startswith("a-"):
            continue
        md.append(f"| {label} | " + " | ".join(f"{100 * float(rs[r]['accuracy_fault_free']):.1f}" for r in RATES) + " |")
    dev = {}
    for key in ["none", "noise"]:
        d = {}
        for r in RATES:
            p = HERE / f"device/{key}_r{r}.json"
            if p.exists():
                d[r] = json.loads(p.read_text())
        dev[key] = d
    if any(dev.values()):
        md += ["", "With programming variation as well (device/isaac-sigma0.1.toml: ISAAC + `[device] program_sigma = "
               "0.1`, `--device approx`; each seed draws its own fault map and programming):", "", head, rule]
        for key, label in [("none", "(b) drop-connect, masks not rescaled"),
                           ("noise", "(b) drop-connect + weight noise 0.1")]:
            d = dev[key]
            md.append(f"| {label} | " + " | ".join(cell(d[r]["accuracy_mean"], d[r]["accuracy_std"]) if r in d else "–"
                                                   for r in RATES) + " |")
            for r, e in sorted(d.items()):
                out.append({"variant": key if key == "none" else "weight-noise-0.1", "eval": "faults+program_sigma-0.1",
                            "weight_fault_rate": r, "drop_connect": r, "accuracy_fault_free": e["accuracy_fault_free"],
                            "accuracy_mean": e["accuracy_mean"], "accuracy_std": e["accuracy_std"],
                            "accuracy_min": e["accuracy_min"]})
    (HERE / "comparison.md").write_text("\n".join(md) + "\n")
    with open(HERE / "comparison.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(out[0]))
        w.writeheader()
        w.writerows(out)


if __name__ == "__main__":
    main()
