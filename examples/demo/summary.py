"""The demo's last words: held-out pass@1 before and after, for GRPO and for SFT.

    python summary.py OUT                  # the summary (stdout)
    python summary.py OUT --grpo-seconds   # seconds GRPO spent training (the SFT budget)

Reads what the Makefile wrote: before.json, grpo.json, sft.json (mc eval reports),
grpo/metrics.jsonl and sft.jsonl. Standard library only.
"""

import json
import os
import sys

def grpo_seconds(out: str) -> float:
    with open(os.path.join(out, "grpo", "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return round(sum(d["rollout_s"] + d["reward_s"] + d["train_s"] for d in lines), 1)


def pass1(report: dict, families=None) -> float:
    run = next(iter(report["runs"].values()))
    if families is None:
        return run["overall"]["pass@1"]
    # The word tasks are the *_words families (mc data synth's naming); the rest are symbol tasks.
    cells = [c for name, c in run["by"]["cells"].items() if name.endswith("_words") == (families == "words")]
    return sum(c["pass@1"] * c["problems"] for c in cells) / sum(c["problems"] for c in cells)


def main(out: str) -> None:
    reports = {}
    for name in ("before", "grpo", "sft"):
        with open(os.path.join(out, f"{name}.json")) as f:
            reports[name] = json.load(f)
    run = next(iter(reports["before"]["runs"].values()))
    with open(os.path.join(out, "sft.jsonl")) as f:
        sft_steps = sum(1 for line in f if line.strip())
    seconds = grpo_seconds(out)
    print(f"held-out pass@1, {run['problems']} problems x {run['samples'] // run['problems']} samples (T=1.0):")
    for label, families in (("all tasks", None), ("symbol tasks (demonstrated)", "symbols"), ("word tasks (RL only)", "words")):
        b, g, s = (pass1(reports[n], families) for n in ("before", "grpo", "sft"))
        print(f"  {label:29s} warm-up {100 * b:5.1f}%   GRPO {100 * g:5.1f}% ({100 * (g - b):+.1f})"
              f"   SFT {100 * s:5.1f}% ({100 * (s - b):+.1f})")
    print(f"  GRPO trained {seconds:.0f} s; SFT got the same {seconds:.0f} s ({sft_steps} steps)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[2] == "--grpo-seconds":
        print(grpo_seconds(sys.argv[1]))
    else:
        main(sys.argv[1])
