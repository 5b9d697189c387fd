"""Judging real programs end to end in the sandbox: legitimate patterns pass,
verdicts and feedback are right, all three test kinds work."""

from __future__ import annotations

import json

import pytest

from mc.data.importer import import_problems
from reward_helpers import assert_problem, functional_problem, judge, stdin_problem

SUM = stdin_problem([("1 2\n", "3\n"), ("10 20\n", "30\n"), ("-5 5\n", "0\n")])


@pytest.mark.parametrize(
    "code",
    [
        "a, b = map(int, input().split())\nprint(a + b)",
        "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nsys.stdout.buffer.write(f'{a + b}\\n'.encode())",
        "a, b = map(int, open(0).read().split())\nprint(a + b)",
        "import os\ndata = os.read(0, 1 << 20).split()\nos.write(1, str(int(data[0]) + int(data[1])).encode() + b'\\n')",
        "def main():\n    a, b = map(int, input().split())\n    print(a + b)\n\nif __name__ == '__main__':\n    main()",
        "import sys\nprint(sum(map(int, input().split())))\nsys.exit(0)",
        "import sys\nprint(sum(map(int, input().split())))\nsys.stdout.flush()\nimport os\nos._exit(0)",
        "from math import *\nprint(floor(sum(map(int, input().split()))))",
        "import sys, threading\nsys.setrecursionlimit(1 << 20)\nthreading.stack_size(1 << 26)\n"
        "def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\n"
        "def main():\n    a, b = map(int, input().split())\n    print(a + b + depth(100000) - 100000)\n"
        "threading.Thread(target=main).start()",
        "import sys\ninput = sys.stdin.readline\na, b = map(int, input().split())\nprint(a + b, end='\\r\\n')",
        "import numpy as np\nprint(int(np.array(input().split(), dtype=np.int64).sum()))",
    ],
    ids=["input", "buffer", "open0", "os-read-write", "main-guard", "sys-exit-0", "os-exit-0", "star-import",
         "deep-recursion-thread", "crlf", "numpy"],
)
def test_legitimate_patterns_pass(sandbox, code):
    result = judge(sandbox, SUM, code, all_tests=True)
    assert result["verdict"] == "pass", result
    assert result["tests_passed"] == 3 and result["reward"] == 1.0


def test_verdicts_and_feedback(sandbox):
    wrong = judge(sandbox, SUM, "a, b = map(int, input().split())\nprint(a - b if a == 10 else a + b)")
    assert wrong["verdict"] == "wrong_answer" and wrong["tests_passed"] == 1 and wrong["reward"] == 0.0
    assert wrong["feedback"] == {"test": 1, "input": "10 20\n", "expected": "30\n", "got": "-10\n"}
    crash = judge(sandbox, SUM, "print(1 // 0)")
    assert crash["verdict"] == "runtime_error" and "ZeroDivisionError" in crash["feedback"]["error"]
    assert "Traceback" not in crash["feedback"]["error"]
    exit_code = judge(sandbox, SUM, "a, b = map(int, input().split())\nprint(a + b)\nimport sys\nsys.exit(3)")
    assert exit_code["verdict"] == "runtime_error"  # correct output, then a non-zero exit
    assert judge(sandbox, SUM, "x = (")["verdict"] == "syntax_error"
    assert judge(sandbox, SUM, "", text="I cannot solve this.")["verdict"] == "no_code"
    assert judge(sandbox, SUM, "while True: pass", time_s=0.5)["verdict"] == "timeout"


def test_fraction_reward_runs_every_test(sandbox):
    code = "a, b = map(int, input().split())\nprint(a + b if a != 10 else 0)"
    binary = judge(sandbox, SUM, code)
    fraction = judge(sandbox, SUM, code, reward="fraction")
    assert binary["tests_passed"] == 1  # stopped at the first failure
    assert fraction["tests_passed"] == 2 and fraction["reward"] == pytest.approx(2 / 3)
    assert fraction["accepted_by"] == ["exact", None, "exact"]


def test_time_limit_from_the_problem(sandbox):
    # The limit is CPU time: a busy loop of 0.6 s of CPU.
    slow = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end:\n    pass\nprint(3)"
    problem = stdin_problem([("1 2\n", "3\n")], time_limit=0.3)
    result = judge(sandbox, problem, slow, time_s=5)
    assert result["verdict"] == "timeout" and "CPU time limit 0.3 s" in result["feedback"]["error"]
    problem = stdin_problem([("1 2\n", "3\n")], time_limit=5)
    result = judge(sandbox, problem, slow, time_s=0.3)
    assert result["verdict"] == "pass" and result["cpu_time_s"] >= 0.6


def test_sleeping_is_not_cpu_time_but_the_wall_clock_is_capped(sandbox):
    problem = stdin_problem([("1 2\n", "3\n")], time_limit=0.3)
    # 0.6 s asleep: within the wall-clock cap (3 x 0.3 + 1 s), no CPU to speak of.
    result = judge(sandbox, problem, "import time\ntime.sleep(0.6)\nprint(3)")
    assert result["verdict"] == "pass" and result["cpu_time_s"] < 0.3 <= 0.6 <= result["wall_time_s"]
    result = judge(sandbox, problem, "import time\ntime.sleep(30)\nprint(3)")
    assert result["verdict"] == "timeout" and "wall-clock limit 1.9 s" in result["feedback"]["error"]


def test_functional_leetcode_and_top_level_function(sandbox):
    problem = functional_problem("twoSum", [("[2, 7, 11, 15]\n9", "[0, 1]"), ("[3, 2, 4]\n6", "[1, 2]")])
    leetcode = "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n" \
               "        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n" \
               "                return (seen[target - x], i)\n            seen[x] = i"
    result = judge(sandbox, problem, leetcode)
    assert result["verdict"] == "pass" and result["accepted_by"] == ["exact", "exact"]  # a tuple becomes a list
    top = "def twoSum(nums, target):\n    print('debug output is ignored')\n" \
          "    return [[i, j] for i in range(len(nums)) for j in range(i + 1, len(nums)) if nums[i] + nums[j] == target][0]"
    assert judge(sandbox, problem, top)["verdict"] == "pass"
    missing = judge(sandbox, problem, "class Solution:\n    def other(self): pass")
    assert missing["verdict"] == "runtime_error" and "twoSum" in missing["feedback"]["error"]


def test_functional_sets_only_where_order_is_free(sandbox):
    strict = functional_problem("f", [("3", "[1, 2, 3]")], question="Return the numbers.")
    free = functional_problem("f", [("3", "[3, 1, 2]")], question="Return the numbers in any order.")
    code = "def f(n):\n    return set(range(1, n + 1))"
    assert judge(sandbox, strict, code)["verdict"] == "wrong_answer"
    result = judge(sandbox, free, code)
    assert result["verdict"] == "pass" and result["accepted_by"] == ["unordered"]


def test_assert_problems_humaneval_and_mbpp_references_pass(sandbox, real):
    humaneval = list(import_problems([str(real.humaneval)]))[:20]
    mbpp = list(import_problems([str(real.mbpp)]))[:20]
    for problem in humaneval + mbpp:
        result = judge(sandbox, problem, problem["solutions"][0], time_s=5)
        assert result["verdict"] == "pass", (problem["id"], result)
    wrong = judge(sandbox, mbpp[0], "def min_cost(cost, m, n):\n    return 8")
    assert wrong["verdict"] == "wrong_answer" and "assert" in wrong["feedback"]["error"]
    # An assert still evaluated inside the sandbox (not `== literal`) fails as a wrong answer too.
    inside = assert_problem("assert abs(f(2) - 0.5) < 1e-6\n", "f")
    assert judge(sandbox, inside, "def f(x):\n    return 1 / x")["verdict"] == "pass"
    failed = judge(sandbox, inside, "def f(x):\n    return 0.4")
    assert failed["verdict"] == "wrong_answer" and "AssertionError" in failed["feedback"]["error"]


def test_strict_mode_is_livecodebench(sandbox):
    problem = stdin_problem([("", "3\n")])
    assert judge(sandbox, problem, "print('3.0')", compare="strict")["verdict"] == "pass"  # Decimal('3.0') == Decimal('3')
    assert judge(sandbox, problem, "print('3.0')")["verdict"] == "wrong_answer"  # integers compare as text
    floats = stdin_problem([("", "0.333333333\n")], question="Absolute or relative error at most 10^{-6} is allowed.")
    assert judge(sandbox, floats, "print(1/3)")["verdict"] == "pass"
    assert judge(sandbox, floats, "print(1/3)", compare="strict")["verdict"] == "wrong_answer"


def test_truncated_response_with_unfinished_code_is_no_code(sandbox):
    text = "Here is my solution:\n```python\na, b = map(int, input().split())\nprint(a +"
    result = judge(sandbox, SUM, "", text=text, finish_reason="length")
    assert result["verdict"] == "no_code" and result["non_incorrect"] is True
    finished = judge(sandbox, SUM, "", text=text + " b)\n")  # finished, but the closing fence forgotten
    assert finished["verdict"] == "pass" and finished["non_incorrect"] is True


def test_records_are_plain_json(sandbox):
    result = judge(sandbox, SUM, "print(1 // 0)")
    assert json.loads(json.dumps(result)) == result
