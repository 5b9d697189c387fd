"""Judging one sample: extract the program, run it in the sandbox, compare, decide.

The verdict of a sample is that of its first failing test (`wrong_answer`,
`runtime_error`, `timeout`, `memory`, `output_limit`, `syntax_error`), `no_code`
when the completion holds no program, `no_tests` when the problem has none, or
`pass`. Under the binary reward the first failure ends the run (the reward is
already 0); `fraction` runs every test.

`non_incorrect` (used by train-step's conditional truncation mask) is true when
nothing was judged wrong: the sample passed, or it holds no code (typically a
response cut off by the length limit before its program).

Time: the limit is on CPU time, measured by the sandbox per test, so the same
program gets the same verdict however busy the machine is; `cpu_time_s` and
`wall_time_s` report both (summed over the tests run), `run_time_s` = CPU.

The controller survives any sample: whatever a program outputs, a failure of
the judge itself on one sample is that sample's verdict (`judge_error`,
reward 0, the exception in feedback), never a lost record or a crashed run.
"""

from __future__ import annotations

import ast
import json
import time
from dataclasses import dataclass, field

from mc.reward.compare import compare_stdout, compare_value
from mc.reward.extract import extract_code
from mc.reward.rules import rules_for
from mc.reward.sandbox.pool import Limits, Sandbox, TestRun

VERDICTS = ("pass", "wrong_answer", "runtime_error", "timeout", "memory", "output_limit", "no_code", "syntax_error",
            "no_tests", "judge_error")
FAIL_STATUS = {"error": "runtime_error", "timeout": "timeout", "memory": "memory", "output_limit": "output_limit",
               "syntax_error": "syntax_error"}
FEEDBACK_CHARS = 400
MAX_KEPT_OUTPUT = 64 * 2**20  # program output held for a checker, per sample
TESTS_RUN = "_tests_run"  # bookkeeping for reports; popped before a record is written


@dataclass(frozen=True)
class JudgeConfig:
    compare: str = "microcoder"  # or "strict"
    reward: str = "binary"  # or "fraction"
    limits: Limits = field(default_factory=Limits)
    all_tests: bool = False  # run every test even when the reward is already decided

    @property
    def fail_fast(self) -> bool:
        return self.reward == "binary" and not self.all_tests


def _clip(text, n: int = FEEDBACK_CHARS) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    return text if len(text) <= n else text[: n // 2] + f" ...[{len(text) - n} chars]... " + text[-n // 2 :]


def _time_limit(problem: dict, config: JudgeConfig) -> float:
    value = (problem.get("meta") or {}).get("time_limit")
    return float(value) if isinstance(value, (int, float)) and value > 0 else config.limits.time_s


def judge_sample(problem: dict, sample: dict, sandbox: Sandbox, config: JudgeConfig, code: str | None = None) -> dict:
    """The reward fields for one sample (the sample itself is not modified).

    `code` judges a given program (a reference solution) instead of the
    program extracted from the sample's text.
    """
    started = time.monotonic()
    try:
        return _judge(problem, sample, sandbox, config, code, started)
    except Exception as e:  # noqa: BLE001 - one sample must not end the run; the verdict says what happened
        out = _result("judge_error", 0, 0, [], started, config,
                      feedback={"error": _clip(f"the judge failed on this sample: {type(e).__name__}: {e}")})
        out[TESTS_RUN] = 0
        return out


def _judge(problem: dict, sample: dict, sandbox: Sandbox, config: JudgeConfig, code: str | None, started: float) -> dict:
    tests = problem.get("tests") or {}
    kind = tests.get("type")
    cases = tests.get("cases") or []
    total = len(cases) if kind != "assert" else 1
    if code is None:
        code = extract_code(sample.get("text") or "", truncated=sample.get("finish_reason") == "length")
    if code is None:
        return _result("no_code", 0, max(total, 1), [], started, config, feedback={"error": "no code block in the completion"})
    if (kind != "assert" and not cases) or (kind == "assert" and not (tests.get("code") or "").strip()):
        return _result("no_tests", 0, 0, [], started, config, feedback={"error": "the problem has no tests"})

    rules = rules_for(problem)
    job = {
        "kind": kind, "code": code, "fn_name": tests.get("fn_name"),
        "inputs": [""] if kind == "assert" else [c["input"] for c in cases],
        "time_limit": _time_limit(problem, config), "memory_mb": config.limits.memory_mb,
        "output_limit": config.limits.output_bytes, "fail_fast": config.fail_fast,
    }
    if kind == "assert":  # the test code runs in a process of its own (sandbox/remote.py)
        job.update(test_code=tests["code"], imports=_imports(tests["code"]))

    checker = tests.get("checker") if kind != "assert" else None
    accepted: dict[int, str] = {}
    failure: dict = {}
    outputs: dict[int, TestRun] = {}  # kept for the checker
    kept = [0]

    def fail(run: TestRun, wrong: bool = False) -> None:
        if "run" not in failure:  # keep only what the feedback shows
            failure["run"] = TestRun(run.i, run.status, run.error, run.cpu, run.wall, run.stdout[: 4 * FEEDBACK_CHARS],
                                     run.stderr)
            failure["wrong"] = wrong

    def on_test(run: TestRun) -> bool:
        """Judge each test as its result arrives; False stops the run."""
        if run.status != "ok":
            fail(run)
            return not config.fail_fast
        if kind == "assert":
            accepted[run.i] = "asserts"
            return True
        if checker:
            kept[0] += len(run.stdout)
            if kept[0] > MAX_KEPT_OUTPUT:
                fail(TestRun(run.i, "output_limit", "the outputs kept for the checker exceed "
                             f"{MAX_KEPT_OUTPUT >> 20} MiB"))
                return False
            outputs[run.i] = TestRun(run.i, run.status, run.error, run.cpu, run.wall, run.stdout, run.stderr)
            return True
        case = cases[run.i]
        compare = compare_value if kind == "functional" else compare_stdout
        method = compare(run.stdout, case["output"], rules, config.compare)
        if method is None:
            fail(run, wrong=True)
            return not config.fail_fast
        accepted[run.i] = method
        return True

    result = sandbox.run(job, on_test)
    if checker and outputs:
        for i, ok in _run_checker(checker, cases, outputs, sandbox, config).items():
            if ok is True:
                accepted[i] = "checker"
            elif "run" not in failure or failure["run"].i > i:
                failure.clear()
                fail(outputs[i], wrong=True)
                failure["checker_detail"] = ok
    passed = len(accepted)
    if not result.tests and "run" not in failure:
        failure["run"] = TestRun(0, "error", "no result from the sandbox")
    if "run" not in failure and passed < total:
        failure["run"] = TestRun(passed, "error", "the program stopped before all tests ran")

    if "run" in failure:
        run = failure["run"]
        failed_assert = kind == "assert" and run.status == "error" and run.error.startswith("AssertionError")
        wrong = failure.get("wrong") or failed_assert
        verdict = "wrong_answer" if wrong else FAIL_STATUS.get(run.status, "runtime_error")
        feedback = _feedback(run, kind, cases, failure.get("checker_detail"))
    else:
        verdict, feedback = "pass", None
    out = _result(verdict, passed, total, [accepted.get(i) for i in range(total)], started, config,
                  feedback=feedback, layers=result.layers, cpu=sum(t.cpu for t in result.tests),
                  wall=sum(t.wall for t in result.tests))
    out[TESTS_RUN] = len(result.tests)
    return out


def _imports(test_code: str) -> str:
    """The test program's top-level imports: in the shared-process harnesses a
    solution can use a module the test code imports (`math` in MBPP), so the
    solution process runs them too. Only imports: no test data goes there."""
    try:
        tree = ast.parse(test_code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ""
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)))


def _run_checker(checker: str, cases: list[dict], outputs: dict[int, TestRun], sandbox: Sandbox,
                 config: JudgeConfig) -> dict[int, bool | str]:
    """Ask the problem's checker about each output: True, or why not.

    A checker is Python source defining `check(input, expected, output) -> bool`
    (all three strings). It runs in the sandbox too, as a functional job, and
    sees the expected output; the program under test never does.
    """
    order = sorted(outputs)
    inputs = [
        "\n".join(json.dumps(x) for x in (cases[i]["input"], cases[i]["output"], outputs[i].stdout.decode("utf-8", "replace")))
        for i in order
    ]
    job = {"kind": "functional", "code": checker, "fn_name": "check", "inputs": inputs, "time_limit": config.limits.time_s,
           "memory_mb": config.limits.memory_mb, "output_limit": config.limits.output_bytes, "fail_fast": False}
    runs = {run.i: run for run in sandbox.run(job).tests}
    verdicts: dict[int, bool | str] = {}
    for k, i in enumerate(order):
        run = runs.get(k)
        if run is None or run.status != "ok":
            verdicts[i] = f"the checker failed: {run.error if run else 'no result'}"
        else:
            verdicts[i] = True if run.stdout.strip() == b"true" else "the checker rejected the output"
    return verdicts


def _feedback(run: TestRun, kind: str, cases: list[dict], detail: str | None) -> dict:
    feedback: dict = {"test": run.i}
    if kind != "assert" and run.i < len(cases):
        feedback["input"] = _clip(cases[run.i]["input"])
        feedback["expected"] = _clip(cases[run.i]["output"])
    if run.stdout:
        feedback["got"] = _clip(run.stdout)
    if run.error:
        feedback["error"] = _clip(run.error)
    if detail:
        feedback["error"] = detail
    if run.stderr and run.status != "ok":
        feedback["stderr"] = _clip(run.stderr, 300)
    return feedback


def _result(verdict, passed, total, accepted_by, started, config, feedback=None, layers=None, cpu=0.0, wall=0.0) -> dict:
    if config.reward == "binary":
        reward = 1.0 if verdict == "pass" else 0.0
    else:
        reward = passed / total if total else 0.0
    out = {
        "reward": reward,
        "verdict": verdict,
        "tests_passed": passed,
        "tests_total": total,
        "accepted_by": accepted_by,
        "non_incorrect": verdict in ("pass", "no_code"),
        "time_s": round(time.monotonic() - started, 4),
        "run_time_s": round(cpu, 4),
        "cpu_time_s": round(cpu, 4),
        "wall_time_s": round(wall, 4),
    }
    if feedback:
        out["feedback"] = feedback
    if layers is not None:
        out["isolation"] = layers
    return out
