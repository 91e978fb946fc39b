#!/usr/bin/env bash
# Drop-connect (b) models, masks not rescaled, without and with noise-aware training
# (--weight-noise 0.1), evaluated under ISAAC with programming variation
# program_sigma = 0.1 (--device approx: the conductances folded into float weights)
# plus weight-zero faults. Run from the repository root:
#   bash tools/experiments/results/full-budget/variants/device/run.sh <rramsim> <models dir>
set -euo pipefail
RRAMSIM=${1:-target/release/rramsim}
MODELS=${2:-models-cache}
D=tools/experiments/results/full-budget/variants/device
for variant in none noise; do
  for rate in 0.0 0.05 0.1 0.2 0.3; do
    if [ "$variant" = none ]; then wn=0.0; else wn=0.1; fi
    # Like dropconnect.py: p = 0 has no mask to scale; drop-connect rate = fault rate.
    m=$MODELS/resnet-mini_w1.0_all-rram_p${rate}_mask-scaling_none_weight-noise_${wn}_lr-schedule_cosine_crop-pad_0.onnx
    args=(eval --model "$m" --data fashion-mnist --images 10000 --arch $D/isaac-sigma0.1.toml --device approx
          --offload all-rram --fault-model weight-zero --rate-per weight --seeds 10 --format json)
    if [ "$rate" != 0.0 ]; then args+=(--fault-rate "$rate"); fi
    echo "$RRAMSIM ${args[*]}" >&2
    "$RRAMSIM" "${args[@]}" 2>/dev/null > $D/${variant}_r${rate}.json
  done
done
