#!/usr/bin/env python3
"""Load an rramsim trace table into pandas and polars and draw two charts.

Input: the events table written by `rramsim trace convert --to parquet|csv -o
EVENTS` and the per-layer table beside it (`EVENTS` with `.layers` before the
extension). Output: a per-layer timeline (one bar per layer from its first
start to its last finish, with the busy share of its items) and an energy
breakdown (dynamic energy per layer, stacked by component).

    rramsim run --arch isaac --workload resnet20 --trace r20.rtrace
    rramsim trace convert r20.rtrace --to parquet -o r20.parquet
    tools/.venv/bin/python tools/trace_plot.py r20.parquet --out plots/

Prints a JSON summary (rows, layers, totals) computed with both pandas and
polars, and fails if the two disagree, so it doubles as a loader check.
"""

import argparse
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402

SCHEMA_VERSION = "1"


def layers_path(events: pathlib.Path) -> pathlib.Path:
    return events.with_name(f"{events.stem}.layers{events.suffix}")


def load_pandas(path: pathlib.Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        version = meta.get(b"rramsim.schema_version", b"").decode()
        if version != SCHEMA_VERSION:
            sys.exit(f"{path}: schema version {version!r}, expected {SCHEMA_VERSION}")
        return pd.read_parquet(path)
    with open(path) as f:
        first = f.readline().strip()
    if not first.endswith(f"schema {SCHEMA_VERSION}"):
        sys.exit(f"{path}: not an rramsim trace table of schema {SCHEMA_VERSION}: {first!r}")
    return pd.read_csv(path, comment="#")


def load_polars(path: pathlib.Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, comment_prefix="#")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("events", type=pathlib.Path, help="events table (.parquet or .csv)")
    ap.add_argument("--layers", type=pathlib.Path, help="layer table (default: EVENTS.layers.EXT)")
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("."), help="directory for the charts")
    ap.add_argument("--format", default="png", choices=["png", "svg", "pdf"])
    args = ap.parse_args()
    layers_file = args.layers or layers_path(args.events)

    ev_pd, ly_pd = load_pandas(args.events), load_pandas(layers_file)
    ev_pl, ly_pl = load_polars(args.events), load_polars(layers_file)

    # The same numbers through both libraries.
    by_kind_pd = ev_pd.groupby("kind")["amount"].sum().sort_index()
    by_kind_pl = ev_pl.group_by("kind").agg(pl.col("amount").sum()).sort("kind")
    if list(by_kind_pd.index) != by_kind_pl["kind"].to_list() or [int(v) for v in by_kind_pd.values] != [
        int(v) for v in by_kind_pl["amount"].to_list()
    ]:
        print("pandas and polars disagree on the amounts per kind", file=sys.stderr)
        return 1
    energy_pd = float(ly_pd["energy_pj"].sum())
    energy_pl = float(ly_pl["energy_pj"].sum())
    if abs(energy_pd - energy_pl) > 1e-6 * max(1.0, energy_pd):
        print("pandas and polars disagree on the energy", file=sys.stderr)
        return 1

    work = ly_pd[ly_pd["target"] != "view"].reset_index(drop=True)
    items = ev_pd[ev_pd["kind"] == "item"].groupby("layer_name")["cycles"].sum()
    args.out.mkdir(parents=True, exist_ok=True)

    # Per-layer timeline.
    fig, ax = plt.subplots(figsize=(10, max(3, 0.22 * len(work))))
    colors = {"rram": "tab:blue", "digital": "tab:orange", "tile": "tab:green", "fused": "tab:gray"}
    for i, row in work.iterrows():
        ax.barh(i, row["cycles"], left=row["start"], color=colors.get(row["target"], "tab:purple"), height=0.7)
    ax.set_yticks(range(len(work)), work["name"], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("cycle")
    ax.set_title("per-layer timeline (first start to last finish)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()]
    ax.legend(handles, list(colors.keys()), loc="lower right", fontsize=7)
    fig.tight_layout()
    timeline = args.out / f"timeline.{args.format}"
    fig.savefig(timeline)
    plt.close(fig)

    # Energy breakdown, stacked by component.
    components = [c for c in ly_pd.columns if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj"]
    components = [c for c in components if ly_pd[c].sum() > 0]
    fig, ax = plt.subplots(figsize=(max(6, 0.2 * len(work)), 4))
    bottom = [0.0] * len(work)
    for c in components:
        values = (work[c] / 1e3).tolist()
        ax.bar(range(len(work)), values, bottom=bottom, label=c[len("energy_") : -len("_pj")])
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_xticks(range(len(work)), work["name"], rotation=90, fontsize=6)
    ax.set_ylabel("dynamic energy (nJ)")
    ax.set_title("energy by layer and component")
    ax.legend(fontsize=7)
    fig.tight_layout()
    energy = args.out / f"energy.{args.format}"
    fig.savefig(energy)
    plt.close(fig)

    print(
        json.dumps(
            {
                "events": int(len(ev_pd)),
                "events_polars": int(ev_pl.height),
                "layers": int(len(ly_pd)),
                "amount_by_kind": {k: int(v) for k, v in by_kind_pd.items()},
                "item_cycles_by_layer": {k: int(v) for k, v in items.items()},
                "energy_pj": energy_pd,
                "charts": [str(timeline), str(energy)],
            },
            indent=1,
            sort_keys=True,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
