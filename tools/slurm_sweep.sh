#!/usr/bin/env bash
# Runs an rramsim sweep as a Slurm job array: task I of N runs shard I/N.
#
#   sbatch --array=0-31 tools/slurm_sweep.sh spec.toml results/
#   # when the array has finished:
#   rramsim sweep merge results/part_*.parquet -o results.parquet
#
# Each task is one core; shards are independent and can be re-run alone (a
# shard's output is resumable: finished points are kept).
#SBATCH --job-name=rramsim-sweep
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=01:00:00
set -euo pipefail
spec=${1:?usage: sbatch --array=0-N tools/slurm_sweep.sh SPEC OUTDIR}
outdir=${2:?usage: sbatch --array=0-N tools/slurm_sweep.sh SPEC OUTDIR}
count=${SLURM_ARRAY_TASK_COUNT:?run this through sbatch --array}
index=${SLURM_ARRAY_TASK_ID:?run this through sbatch --array}
mkdir -p "$outdir"
export RAYON_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
exec "${RRAMSIM:-rramsim}" sweep "$spec" --shard "$index/$count" -o "$outdir/part_$index.parquet"
