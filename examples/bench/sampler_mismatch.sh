#!/bin/bash
# A real sampler/trainer mismatch: a model sampled in bfloat16 and in float32, each batch
# trained in float32, and what the sampler correction (--rollout-is, --rollout-rs) sees.
#
#   examples/bench/sampler_mismatch.sh MODEL [PROBLEMS.jsonl]
#
# MODEL: any HF causal-LM folder (the README's figures: SmolLM2-135M-Instruct, made by
# `mc model import-gguf smollm2 DIR`); PROBLEMS: Problem records (default: the first 4 of MBPP).
# ~8 minutes on 2 CPU cores for SmolLM2 (bf16 matmuls are slow on CPU).
set -euo pipefail
MC=${MC:-mc}
MODEL=${1:?usage: sampler_mismatch.sh MODEL [PROBLEMS.jsonl]}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
if [ -n "${2:-}" ]; then cp "$2" "$OUT/p.jsonl"; else
  $MC data import "${MC_SHARED_DATA:-../shared/data}/mbpp/mbpp.jsonl" 2>/dev/null | head -4 > "$OUT/p.jsonl"; fi
show() { python3 -c "import json, sys; m = json.loads(sys.stdin.readline()); print('$1', {k: round(m[k], 5) for k in sys.argv[1:]})" "${@:2}"; }
for dtype in bfloat16 float32; do
  $MC rollout --model "$MODEL" --n 4 --max-tokens 128 --dtype $dtype --seed 1 "$OUT/p.jsonl" 2>/dev/null \
    | $MC reward 2>/dev/null > "$OUT/scored.jsonl"
  $MC train-step --policy "$MODEL" --out "$OUT/a" --force --lr 1e-6 --rollout-is token --rollout-is-cap 2 "$OUT/scored.jsonl" 2>/dev/null \
    | show "$dtype, token IS:" sampler_gap_mean sampler_gap_max sampler_ratio_min sampler_ratio_max rollout_is_weight_mean rollout_is_capped_frac
  $MC train-step --policy "$MODEL" --out "$OUT/b" --force --lr 1e-6 --rollout-is sequence --rollout-is-cap 2 --rollout-rs geometric \
      --rollout-rs-bounds 0.99:1.01 "$OUT/scored.jsonl" 2>/dev/null \
    | show "$dtype, sequence IS + geometric RS:" rollout_is_weight_mean rollout_is_capped_frac rollout_rs_rejected_frac
done
