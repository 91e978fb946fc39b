#!/usr/bin/env python3
"""The device-effects study of issue 15 (Fashion-MNIST, resnet-mini, neurosim-8b).

Accuracy of a normally trained and a drop-connect-trained (p = 0.1) resnet-mini
through the device model — by default its fast mode (`rramsim eval --device
approx --adc-clip`: conductances folded per device sample, read noise and the
ADC per row group, saturation by the first-order `--adc-clip` bound), with
`--spot-images` images of a few points re-run bit-exactly (`--device exact`:
every input bit and weight slice through the ADC) — under

  - programming variation: `[device] program_sigma` 0, 10, 30 %;
  - conductance drift (`drift_nu` = 0.1, `--time`): 1 s, 1 day, 10 years;
  - ADC resolution: `pe.adc.bits` 4, 5, 6, 8 (the preset has 5);

each effect alone (the others at the preset: no variation, t = t0, 5-bit ADC)
and combined with stuck-at faults in 10 % of the weights (`--fault-rate 0.1
--rate-per weight --fault-model weight-zero`: a weight with a stuck cell
contributes zero, the model drop-connect training at p = 0.1 matches, as in
dropconnect.py). Mean ± std over `--seeds` samples of the device variation and fault map.

It evaluates the first `--images` test images (default: all 10,000), the points
with faults on the first `--fault-images` (default: as many). Writes results.csv,
results.md, spot_checks.csv, accuracy.png and runs.json to --out, and each
evaluation's `rramsim eval --format json` output, with its command, to
--out/evals/ as it finishes. A re-run reuses the files there whose command matches
(the same model, settings, images and seeds), so an interrupted run resumes where
it stopped (`--no-resume`: evaluate everything again); `--points faults` or
`--points no-faults` runs part of the grid only (no tables or plot then).
`--compare CSV [--compare-label L]` adds a table and plot markers of another run's
results.csv on the same points (e.g. the exact mode against the fast mode's).

    cargo build --release -p rramsim-cli --features full
    tools/.venv/bin/python tools/experiments/device_effects.py --rramsim target/release/rramsim \\
        [--normal M.onnx --dropconnect M.onnx]

Without --normal/--dropconnect it trains both (`rramsim train --model
resnet-mini --epochs 2`, drop-connect 0 and 0.1) into --models.
"""

import argparse
import csv
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

SIGMAS = [0.0, 0.1, 0.3]
TIMES = [(1.0, "1 s"), (86400.0, "1 day"), (3.156e8, "10 years")]
ADC_BITS = [4, 5, 6, 8]
DRIFT_NU = 0.1
BASE = {"sigma": 0.0, "time": 1.0, "adc": 5}


def run(cmd, log):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    log.append({"command": " ".join(map(str, cmd)), "seconds": round(time.perf_counter() - t0, 2)})
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{r.stderr}")
    return r.stdout


def arch_file(preset: str, adc_bits: int, sigma: float, directory: pathlib.Path) -> pathlib.Path:
    """The preset with its ADC resolution and [device] section replaced."""
    text = preset
    section = re.search(r"^\[pe\.adc\]$(.*?)^\[", text, re.S | re.M)
    if section is None:
        sys.exit("preset has no [pe.adc] section")
    body = re.sub(r"^bits = \{ value = \d+,", f"bits = {{ value = {adc_bits},", section.group(1), count=1, flags=re.M)
    text = text[: section.start(1)] + body + text[section.end(1) :]
    if re.search(r"^\[device\]", text, re.M):
        sys.exit("preset already has a [device] section; edit device_effects.py")
    text += f"\n[device]\nprogram_sigma = {sigma}\ndrift_nu = {DRIFT_NU}\ndrift_t0_s = 1.0\n"
    path = directory / f"adc{adc_bits}_sigma{sigma}.toml"
    path.write_text(text)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rramsim", default="target/release/rramsim")
    here = pathlib.Path(__file__).resolve().parent
    root = here.parents[1]
    ap.add_argument("--out", type=pathlib.Path, default=here / "results" / "device_effects")
    ap.add_argument("--models", type=pathlib.Path, default=here / "models")
    ap.add_argument("--arch", type=pathlib.Path, default=root / "arch-configs" / "neurosim-8b.toml")
    ap.add_argument("--normal", type=pathlib.Path, help="a trained resnet-mini (drop-connect 0)")
    ap.add_argument("--dropconnect", type=pathlib.Path, help="a resnet-mini trained with drop-connect 0.1")
    ap.add_argument("--images", type=int, default=10000, help="first N test images (default 10000)")
    ap.add_argument("--fault-images", type=int, help="first N test images of the points with faults (default --images)")
    ap.add_argument("--adc-bits", default=",".join(map(str, ADC_BITS)),
                    help="ADC resolutions of the ADC sweep, comma-separated (default 4,5,6,8; must include 5)")
    ap.add_argument("--points", default="all", choices=["all", "faults", "no-faults"],
                    help="evaluate only part of the grid (no tables or plot unless all)")
    ap.add_argument("--no-resume", action="store_true", help="ignore evaluations already in --out/evals/")
    ap.add_argument("--compare", type=pathlib.Path, help="results.csv of another run on the same points, to compare")
    ap.add_argument("--compare-label", default="fast", help="name of the compared run in tables and plot")
    ap.add_argument("--notes", type=pathlib.Path, help="markdown appended to results.md (discussion of the results)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--device", default="approx", choices=["approx", "exact"],
                    help="device mode of the grid (approx: fast, with --adc-clip)")
    ap.add_argument("--spot-images", type=int, default=500,
                    help="images of the exact-mode spot checks (0: none)")
    ap.add_argument("--fault-rate", type=float, default=0.1, help="fraction of weights with a stuck cell")
    ap.add_argument("--fault-model", default="weight-zero", help="as the drop-connect study (default weight-zero)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=1, help="evaluations run at once (each uses every core)")
    args = ap.parse_args()
    if args.fault_images is None:
        args.fault_images = args.images
    try:
        adc_bits = sorted({int(b) for b in args.adc_bits.split(",")})
    except ValueError:
        sys.exit(f"--adc-bits: not a comma-separated list of integers: {args.adc_bits!r}")
    if BASE["adc"] not in adc_bits or min(adc_bits) < 1:
        sys.exit(f"--adc-bits must include the preset's {BASE['adc']} bits and be positive: {args.adc_bits!r}")
    if min(args.images, args.fault_images, args.seeds) < 1:
        sys.exit("--images, --fault-images and --seeds must be positive")
    outputs = {(args.out / n).resolve() for n in
               ["results.csv", "results.md", "spot_checks.csv", "accuracy.png", "runs.json"]}
    for flag, path in [("--compare", args.compare), ("--notes", args.notes)]:
        if path is not None and path.resolve() in outputs:
            sys.exit(f"{flag} {path} is one of the files this run writes to --out {args.out}")
    compared = {}
    if args.compare is not None:
        try:
            with open(args.compare, newline="") as f:
                for r in csv.DictReader(f):
                    key = (r["model"], r["effect"], float(r["x"]), float(r["weight_fault_rate"]))
                    compared[key] = (float(r["accuracy_mean"]), float(r["accuracy_std"]), int(r["images"]),
                                     int(r["samples"]))
        except (OSError, KeyError, ValueError) as e:
            sys.exit(f"--compare {args.compare}: {e}")
    log = []
    models = {}
    for name, p, given in [("normal", 0.0, args.normal), ("drop-connect 0.1", 0.1, args.dropconnect)]:
        if given is None:
            args.models.mkdir(parents=True, exist_ok=True)
            given = args.models / f"resnet-mini_dc{p}_e{args.epochs}.onnx"
            if not given.exists():
                run([args.rramsim, "train", "--model", "resnet-mini", "--epochs", str(args.epochs),
                     "--drop-connect", str(p), "--output", str(given)], log)
        models[name] = given
    preset = args.arch.read_text()
    configs = []  # (effect, x, label, sigma, time, adc)
    for s in SIGMAS:
        configs.append(("program_sigma", s, f"{s:.0%}", s, BASE["time"], BASE["adc"]))
    for t, label in TIMES:
        configs.append(("drift", t, label, BASE["sigma"], t, BASE["adc"]))
    for b in adc_bits:
        configs.append(("adc_bits", b, f"{b}", BASE["sigma"], BASE["time"], b))
    rows = []
    args.out.mkdir(parents=True, exist_ok=True)
    evals = args.out / "evals"
    evals.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        cache = {}
        commands = {}
        for model_name, model in models.items():
            for effect, x, label, sigma, t, adc in configs:
                for faults in [0.0, args.fault_rate]:
                    key = (model_name, sigma, t, adc, faults)
                    if args.points == "faults" and faults == 0 or args.points == "no-faults" and faults > 0:
                        continue
                    if key not in commands:
                        arch = arch_file(preset, adc, sigma, tmp)
                        images = args.fault_images if faults > 0 else args.images
                        cmd = [args.rramsim, "eval", "--model", str(model), "--arch", str(arch),
                               "--device", args.device, "--images", str(images), "--seeds", str(args.seeds),
                               "--time", str(t), "--format", "json"]
                        if args.device == "approx":
                            cmd += ["--adc-clip"]
                        if faults > 0:
                            cmd += ["--fault-rate", str(faults), "--rate-per", "weight", "--fault-model", args.fault_model]
                        commands[key] = cmd

        def saved(key, cmd):
            """The file of an evaluation, and its arguments as compared on resume (the binary and the
            temporary directory of the architecture files left out)."""
            model_name, sigma, t, adc, faults = key
            name = (f"{'dc' if model_name != 'normal' else 'normal'}_sigma{sigma}_t{t:g}_adc{adc}"
                    f"_faults{faults}_{args.device}.json")
            return evals / name, [pathlib.Path(a).name if a.endswith(".toml") else a for a in map(str, cmd[1:])]

        def evaluate(item):
            key, cmd = item
            path, identity = saved(key, cmd)
            if not args.no_resume and path.exists():
                old = json.loads(path.read_text())
                if old.get("arguments") == identity:
                    log.append({"command": old["command"], "seconds": old["seconds"], "reused": path.name})
                    print(f"{key}: reused {path.name}", flush=True)
                    return key, old["output"]
            r = json.loads(run(cmd, log))
            entry = {"command": " ".join(map(str, cmd)), "arguments": identity,
                     "seconds": next(e["seconds"] for e in reversed(log) if e["command"] == " ".join(map(str, cmd))),
                     "output": r}
            path.write_text(json.dumps(entry, indent=1) + "\n")
            print(f"{key}: {r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f}", flush=True)
            return key, r

        # Points with faults first: they take longer, and with --points the cheaper half can follow.
        order = sorted(commands.items(), key=lambda item: -item[0][4])
        with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
            cache = dict(pool.map(evaluate, order))
        if args.points != "all":
            print(f"{len(cache)} evaluations in {evals}; no tables or plot with --points {args.points}")
            return 0
        # Spot checks: a few points, fast and bit-exact on the same first images.
        spots = []
        if args.spot_images > 0 and args.device == "approx":
            name = next(iter(models))
            for sigma, t, adc, faults in [(0.0, 1.0, 5, 0.0), (0.1, 1.0, 5, 0.0), (0.0, 1.0, 4, 0.0),
                                          (0.0, 86400.0, 5, 0.0), (0.0, 1.0, 5, args.fault_rate)]:
                arch = arch_file(preset, adc, sigma, tmp)
                row = {"model": name, "program_sigma": sigma, "time_s": t, "adc_bits": adc,
                       "weight_fault_rate": faults, "images": args.spot_images}
                for mode in ["approx", "exact"]:
                    cmd = [args.rramsim, "eval", "--model", str(models[name]), "--arch", str(arch), "--device", mode,
                           "--images", str(args.spot_images), "--seeds", "1", "--time", str(t), "--format", "json"]
                    if mode == "approx":
                        cmd += ["--adc-clip"]
                    if faults > 0:
                        cmd += ["--fault-rate", str(faults), "--rate-per", "weight", "--fault-model", args.fault_model]
                    row[mode] = json.loads(run(cmd, log))["accuracy_mean"]
                print(f"spot check {row}", flush=True)
                spots.append(row)
        for model_name, model in models.items():
            for effect, x, label, sigma, t, adc in configs:
                for faults in [0.0, args.fault_rate]:
                    key = (model_name, sigma, t, adc, faults)
                    r = cache[key]
                    rows.append({
                        "model": model_name, "effect": effect, "x": x, "label": label,
                        "program_sigma": sigma, "time_s": t, "drift_nu": DRIFT_NU, "adc_bits": adc,
                        "weight_fault_rate": faults, "images": r["images"],
                        "samples": max(r["seeds"], 1), "accuracy_mean": r["accuracy_mean"],
                        "accuracy_std": r["accuracy_std"], "accuracy_min": r["accuracy_min"],
                        "accuracy_max": r["accuracy_max"],
                    })
    with open(args.out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    if spots:
        with open(args.out / "spot_checks.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(spots[0]))
            w.writeheader()
            w.writerows(spots)
    (args.out / "runs.json").write_text(json.dumps({"models": {k: str(v) for k, v in models.items()},
                                                    "arch": str(args.arch),
                                                    "runs": sorted(log, key=lambda e: e["command"])}, indent=1) + "\n")
    mode = ("bit-exact periphery (`--device exact`)" if args.device == "exact" else
            "fast device mode (`--device approx --adc-clip`: folded conductances, ADC per row group with the "
            "first-order saturation bound; no read noise in these settings)")
    images = (f"first {args.images} Fashion-MNIST test images" if args.images == args.fault_images else
              f"first {args.images} Fashion-MNIST test images, {args.fault_images} with faults")
    md = [f"# Device effects on resnet-mini (neurosim-8b, {images})", "",
          f"{mode[0].upper()}{mode[1:]}; each effect alone, others at the preset (no variation, "
          f"t = t0 = 1 s, 5-bit ADC), without and with stuck cells in {args.fault_rate:.0%} of the weights "
          f"(fault model {args.fault_model}); drift ν = {DRIFT_NU}; "
          f"mean ± std over {args.seeds} samples of device variation and fault map "
          "(deterministic settings: one sample, std 0).", ""]

    def grid(cell):
        """The effects table: a row per setting, `cell(row)` per model, without and with faults."""
        lines = ["| effect | setting | normal | normal + faults | drop-connect 0.1 | drop-connect 0.1 + faults |",
                 "|---|---|---|---|---|---|"]
        for effect, x, label, *_ in configs:
            cells = [cell(next(r for r in rows if r["model"] == model_name and r["effect"] == effect
                               and r["x"] == x and r["weight_fault_rate"] == faults))
                     for model_name in models for faults in [0.0, args.fault_rate]]
            lines.append(f"| {effect} | {label} | " + " | ".join(cells) + " |")
        return lines

    md += grid(lambda r: f"{100 * r['accuracy_mean']:.2f} ± {100 * r['accuracy_std']:.2f}")
    seconds = sum(e["seconds"] for e in log)
    md += ["", "Accuracies in %. Plot: accuracy.png. Commands and run times: runs.json; each evaluation's "
           "`rramsim eval --format json` output: evals/.", "",
           "Models: " + "; ".join(f"{k} `{v}`" for k, v in models.items()) + f". Architecture: `{args.arch}` "
           f"with `pe.adc.bits` and a `[device]` section edited per point. {len(cache)} evaluations, "
           f"{seconds:,.0f} s of evaluation wall time summed ({max(args.jobs, 1)} at a time). Invocation: "
           "`device_effects.py " + " ".join(sys.argv[1:]) + "`.", ""]
    if compared:
        this = "exact" if args.device == "exact" else "fast"
        def point(r):
            return r["model"], r["effect"], float(r["x"]), float(r["weight_fault_rate"])

        found = [(r, compared.get(point(r))) for r in rows]
        missing = [r for r, c in found if c is None]
        if missing:
            sys.exit(f"--compare {args.compare}: no point {missing[0]['model']}, {missing[0]['effect']} "
                     f"{missing[0]['label']}, faults {missing[0]['weight_fault_rate']}")
        other = sorted({(c[2], c[3]) for _, c in found})
        md += [f"{this.capitalize()} against {args.compare_label} (`{args.compare}`: "
               + ", ".join(f"{i} images, {n} sample(s)" for i, n in other)
               + f"), cells `{this} / {args.compare_label} (difference)`, in %:", ""]

        def versus(r):
            a, b = 100 * r["accuracy_mean"], 100 * compared[point(r)][0]
            return f"{a:.2f} / {b:.2f} ({a - b:+.2f})"

        md += grid(versus)
        md.append("")
    if spots:
        md += [f"Spot checks, first {args.spot_images} images, one sample, fast vs bit-exact (`{next(iter(models))}` "
               "model):", "", "| program_sigma | time (s) | ADC bits | weight faults | fast | exact |",
               "|---|---|---|---|---|---|"]
        md += [f"| {r['program_sigma']} | {r['time_s']:g} | {r['adc_bits']} | {r['weight_fault_rate']:.0%} | "
               f"{100 * r['approx']:.2f} | {100 * r['exact']:.2f} |" for r in spots]
        md.append("")
    if args.notes is not None:
        try:
            md += [args.notes.read_text().rstrip("\n"), ""]
        except OSError as e:
            sys.exit(f"--notes {args.notes}: {e}")
    (args.out / "results.md").write_text("\n".join(md))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    for ax, (effect, title, xlabel) in zip(axes, [("program_sigma", "programming variation", "σ (relative)"),
                                                   ("drift", f"drift (ν = {DRIFT_NU})", "time since programming (s)"),
                                                   ("adc_bits", "ADC resolution", "ADC bits")]):
        for model_name, color in zip(models, ["tab:blue", "tab:orange"]):
            for faults, style in [(0.0, "-"), (args.fault_rate, "--")]:
                pts = [r for r in rows if r["model"] == model_name and r["effect"] == effect
                       and r["weight_fault_rate"] == faults]
                ax.errorbar([r["x"] for r in pts], [100 * r["accuracy_mean"] for r in pts],
                            yerr=[100 * r["accuracy_std"] for r in pts], color=color, linestyle=style, marker="o",
                            capsize=3, label=f"{model_name}" + (f", {faults:.0%} weights stuck" if faults else ""))
                if compared:
                    ax.plot([r["x"] for r in pts],
                            [100 * compared[(model_name, effect, float(r["x"]), faults)][0] for r in pts],
                            color=color, linestyle="none", marker="x" if faults else "+", markersize=8,
                            label=f"{args.compare_label}: {model_name}" + (", stuck" if faults else ""))
        if effect == "drift":
            ax.set_xscale("log")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("top-1 accuracy (%)")
    axes[2].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"resnet-mini on neurosim-8b, {'bit-exact' if args.device == 'exact' else 'fast'} device mode, "
                 f"{images}", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out / "accuracy.png", dpi=110)
    print(f"wrote {args.out}/results.csv, results.md, accuracy.png, runs.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
