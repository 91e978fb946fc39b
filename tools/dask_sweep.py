#!/usr/bin/env python3
"""Runs an rramsim sweep on a Dask cluster: each task runs one shard
(`rramsim sweep SPEC --shard I/N -o part_I.parquet`) and the driver merges the
parts with `rramsim sweep merge`. The points, seeds and results are the same as
a local `rramsim sweep SPEC -o ...` run.

Laptop or workstation (a LocalCluster on 127.0.0.1):

    tools/.venv/bin/python tools/dask_sweep.py spec.toml -o results.parquet --workers 4

An existing cluster (e.g. started with `dask scheduler` / `dask worker`):

    tools/.venv/bin/python tools/dask_sweep.py spec.toml -o results.parquet --scheduler tcp://host:8786

Slurm or PBS through dask-jobqueue (`pip install dask-jobqueue`), e.g.:

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=1, processes=1, memory="2GB", walltime="01:00:00")
    cluster.scale(jobs=32)
    # then: tools/dask_sweep.py spec.toml -o out.parquet --scheduler <cluster.scheduler_address>

(PBSCluster takes the same arguments.) For plain Slurm job arrays without Dask,
see tools/slurm_sweep.sh.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile


def run_shard(rramsim, spec, index, count, out):
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    subprocess.run([rramsim, "sweep", spec, "--shard", f"{index}/{count}", "-o", out], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", type=pathlib.Path)
    ap.add_argument("-o", "--output", type=pathlib.Path, required=True)
    ap.add_argument("--rramsim", default=os.environ.get("RRAMSIM", "rramsim"), help="the rramsim binary")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    ap.add_argument("--shards", type=int, default=0, help="shards (default: 4 per worker)")
    ap.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    args = ap.parse_args()

    from dask.distributed import Client, LocalCluster

    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    shards = args.shards or 4 * max(1, len(client.scheduler_info()["workers"]))
    suffix = args.output.suffix
    with tempfile.TemporaryDirectory(dir=args.output.parent or ".") as work:
        parts = [str(pathlib.Path(work) / f"part_{i}{suffix}") for i in range(shards)]
        futures = client.map(run_shard, [args.rramsim] * shards, [str(args.spec.resolve())] * shards,
                             range(shards), [shards] * shards, parts, pure=False)
        done = client.gather(futures)
        subprocess.run([args.rramsim, "sweep", "merge", *done, "-o", str(args.output)], check=True)
    client.close()
    if cluster is not None:
        cluster.close()
    print(f"merged {shards} shards into {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
