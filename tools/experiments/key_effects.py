"""Re-measures issue 13's table: each architecture key changed one at a time on
ResNet-20 / ISAAC, and the % change of cycles, energy and chip area it causes.

Usage (from the repository root, after `cargo build -p rramsim-cli`):

    tools/.venv/bin/python tools/experiments/key_effects.py [path/to/rramsim] > tools/experiments/key_effects.md

Every number comes from running `rramsim run` and `rramsim check` on an edited
copy of arch-configs/isaac.toml; nothing is computed here but percentages.
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "rramsim")
BASE = open(os.path.join(ROOT, "arch-configs", "isaac.toml")).read()


def edit(text, table, prefix, line):
    """Replaces the first line starting with `prefix` inside `[table]` (or appends to it)."""
    out, in_table, done = [], False, False
    for l in text.splitlines():
        if l.startswith("["):
            if in_table and not done and prefix is None:
                out.append(line)
                done = True
            in_table = l.strip() == f"[{table}]"
        if in_table and not done and prefix is not None and l.startswith(prefix):
            out.append(line)
            done = True
        else:
            out.append(l)
    if in_table and not done and prefix is None:
        out.append(line)
        done = True
    assert done, (table, prefix)
    return "\n".join(out) + "\n"


def apply(edits, text=BASE):
    for e in edits:
        text = edit(text, *e)
    return text


def measure(text):
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        run = subprocess.run([BIN, "run", "--arch", path, "--workload", "resnet20", "--format", "json"],
                             capture_output=True, text=True, check=True)
        check = subprocess.run([BIN, "check", path, "--format", "json"], capture_output=True, text=True, check=True)
    finally:
        os.unlink(path)
    r, c = json.loads(run.stdout), json.loads(check.stdout)
    return {"cycles": r["total_cycles"], "energy": r["energy_pj"], "area": c["area_mm2"]["chip"], "check": c}


ADC10 = ("pe.adc", "bits =", 'bits = { value = 10, source = "sweep" }')
R_CAL = [
    ("crossbar", "area_mm2 =", 'area_mm2 = 0.000025\nr_on_ohm = 10000\nr_off_ohm = 1000000'),
    ("calibration", None, "r_on_ohm = 10000\nr_off_ohm = 1000000"),
]
CASES = [
    ("`pe.adc.bits` 8 → 10", [], [ADC10]),
    ("`pe.adc.bits` 8 → 12", [], [("pe.adc", "bits =", "bits = 12")]),
    ("`pe.dac.bits` 1 → 2 (10-bit ADC both)", [ADC10], [ADC10, ("pe.dac", "bits =", "bits = 2")]),
    ("`crossbar.bits_per_cell` 2 → 4 (10-bit ADC both)", [ADC10],
     [ADC10, ("crossbar", "bits_per_cell =", "bits_per_cell = 4")]),
    ("crossbar 128×128 → 256×256 (9-bit ADC both)", [("pe.adc", "bits =", "bits = 9")],
     [("pe.adc", "bits =", "bits = 9"), ("crossbar", "rows =", "rows = 256"), ("crossbar", "cols =", "cols = 256")]),
    ("`tile.buffer.kib` 64 → 1", [], [("tile.buffer", "kib =", "kib = 1")]),
    ("`tile.buffer.kib` 64 → 4096", [], [("tile.buffer", "kib =", "kib = 4096")]),
    ("`crossbar.r_on_ohm` 10 kΩ → 20 kΩ (r_on/r_off 10 kΩ/1 MΩ added at the calibration point)", R_CAL,
     R_CAL + [("crossbar", "r_on_ohm =", "r_on_ohm = 20000")]),
    ("`crossbar.r_off_ohm` 1 MΩ → 100 kΩ (same base)", R_CAL, R_CAL + [("crossbar", "r_off_ohm =", "r_off_ohm = 100000")]),
    ("`digital.sram_kib` 256 → 1024", [], [("digital", "sram_kib =", "sram_kib = 1024")]),
    ("`technology.node_nm` 32 → 16", [], [("technology", "node_nm =", "node_nm = 16")]),
    ("`pe.adc.shared_by` 1 → 4 (new key)", [], [("pe.adc", "per_crossbar =", "per_crossbar = 1\nshared_by = 4")]),
]


def pct(a, b):
    d = 100.0 * (b - a) / a
    return "same" if abs(d) < 0.005 else f"{d:+.2f} %"


def main():
    print("# Key effects on ResNet-20 / ISAAC (issue 13's table, re-measured)\n")
    print(f"Produced by `tools/experiments/key_effects.py` with `{os.path.relpath(BIN, ROOT)}`; "
          "each row edits arch-configs/isaac.toml, runs `rramsim run --workload resnet20` and "
          "`rramsim check`, and compares with the row's base (the preset, or the base named in the row).\n")
    print("| key changed | cycles | energy | chip area |")
    print("|---|---|---|---|")
    cache = {}
    for label, base_edits, edits in CASES:
        key = repr(base_edits)
        if key not in cache:
            cache[key] = measure(apply(base_edits))
        b, v = cache[key], measure(apply(edits))
        print(f"| {label} | {pct(b['cycles'], v['cycles'])} | {pct(b['energy'], v['energy'])} | {pct(b['area'], v['area'])} |")
    base = cache[repr([])]["check"]
    adc = lambda c: dict(c["energy_pj"])["adc_conversion"]
    a10 = measure(apply([ADC10]))["check"]
    n16 = measure(apply([("technology", "node_nm =", "node_nm = 16")]))["check"]
    print("\n## `rramsim check isaac --format json` figures\n")
    print("| figure | value |")
    print("|---|---|")
    print(f"| `energy_pj.adc_conversion`, 8-bit ADC | {adc(base):.5f} pJ |")
    print(f"| `energy_pj.adc_conversion`, 10-bit ADC | {adc(a10):.5f} pJ |")
    print(f"| `peak_power_w`, node 32 nm | {base['peak_power_w']:.2f} W |")
    print(f"| `peak_power_w`, `[technology] node_nm = 16` | {n16['peak_power_w']:.2f} W |")
    for name, paper, got, unit in [("peak power", 65.8, base["peak_power_w"], "W"),
                                   ("peak throughput", 41.3, base["peak_tops"], "TOPS"),
                                   ("chip area", 85.4, base["area_mm2"]["chip"], "mm²")]:
        print(f"| {name} vs ISAAC Table I ({paper} {unit}) | {got:.2f} {unit} ({100 * (got - paper) / paper:+.1f} %) |")
    print(f"| `tops_per_w` (bound, headline) | {base['tops_per_w']:.3f} |")
    print(f"| `tops_per_w_full_rate` (Table-I style) | {base['tops_per_w_full_rate']:.3f} |")


if __name__ == "__main__":
    main()
