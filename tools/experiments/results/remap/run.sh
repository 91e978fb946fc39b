#!/bin/sh
# Re-measures fault-aware remapping (README "Fault-aware remapping").
# Usage: tools/experiments/results/remap/run.sh [RRAMSIM] from the repository root.
# MODEL: a normally trained resnet-mini (tools/experiments, p = 0, no masking).
set -e
R=${1:-target/release/rramsim}
D=tools/experiments/results/remap
MODEL=${MODEL:-tools/experiments/models/resnet-mini_w1.0_all-rram_p0.0_mask-scaling_none_weight-noise_0.0_lr-schedule_cosine_crop-pad_0.onnx}
RATE=${RATE:-0.02}
COMMON="--model $MODEL --fault-rate $RATE --seeds 10 --device off"
for remap in none rows rows+cols; do
  $R run --arch isaac --workload $MODEL --remap $remap > $D/run_isaac_$remap.txt
done
$R run --arch $D/isaac-spare-rows8.toml --workload $MODEL --remap rows > $D/run_spare-rows8_rows.txt
$R run --arch $D/isaac-spare8x8.toml --workload $MODEL --remap rows+cols > $D/run_spare8x8_rows+cols.txt
for remap in none rows rows+cols; do
  $R eval --arch isaac $COMMON --remap $remap > $D/eval_isaac_${RATE}_$remap.txt
done
$R eval --arch $D/isaac-spare-rows8.toml $COMMON --remap rows > $D/eval_spare-rows8_${RATE}_rows.txt
$R eval --arch $D/isaac-spare8x8.toml $COMMON --remap rows+cols > $D/eval_spare8x8_${RATE}_rows+cols.txt
