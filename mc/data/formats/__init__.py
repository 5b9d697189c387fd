"""One importer module per source format, each with `detect(row)` and `convert(row, ctx)`.

`FORMATS` is ordered: with `--format auto` the first format whose `detect`
accepts a source's first row converts the whole source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mc.data.formats import (
    apps,
    codecontests,
    codecontests_plus,
    deepcoder,
    humaneval,
    kodcode,
    livecodebench,
    mbpp,
    native,
    primeintellect,
)
from mc.data.formats.common import RowContext


@dataclass(frozen=True)
class Format:
    name: str
    detect: Callable[[dict], bool]
    convert: Callable[[dict, RowContext], dict]
    description: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in [
        Format("mc", native.detect, native.convert, "mc Problem records (validated, passed through)"),
        Format("livecodebench", livecodebench.detect, livecodebench.convert,
               "LiveCodeBench code_generation_lite rows, eval_all files, rllm's copy"),
        Format("primeintellect", primeintellect.detect, primeintellect.convert,
               "PrimeIntellect verifiable-coding-problems / SYNTHETIC-1 code rows (verification_info)"),
        Format("deepcoder", deepcoder.detect, deepcoder.convert,
               "agentica DeepCoder-Preview-Dataset rows (problem, tests in any of its encodings)"),
        Format("kodcode", kodcode.detect, kodcode.convert, "KodCode V1 / SFT-R1 / Light-RL rows (pytest tests)"),
        Format("taco", apps.detect_taco, apps.convert_taco, "BAAI/TACO rows"),
        Format("apps", apps.detect, apps.convert, "APPS rows or the APPS folder layout"),
        Format("codecontests-plus", codecontests_plus.detect, codecontests_plus.convert,
               "ByteDance-Seed/Code-Contests-Plus rows"),
        Format("codecontests", codecontests.detect, codecontests.convert, "deepmind/code_contests rows"),
        Format("humaneval", humaneval.detect, humaneval.convert, "openai/human-eval rows"),
        Format("mbpp", mbpp.detect, mbpp.convert, "MBPP rows, original or sanitized"),
    ]
}

FORMAT_NAMES = ["auto", *FORMATS]


def detect_format(row: dict) -> Format | None:
    for fmt in FORMATS.values():
        if fmt.detect(row):
            return fmt
    return None
