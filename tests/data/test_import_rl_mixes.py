"""Importers for the mixes RL users train on: DeepCoder's, PrimeIntellect's verifiable coding
problems, KodCode and CodeContests+. Rows are built exactly as each set's own loader,
preprocessing script or grader reads them (tests/fixtures/formats/SCHEMAS.md says which
code, and which values are verbatim from real files); each kind of row is imported and
then judged for real: its reference program passes `mc data verify`, a wrong one does not.
"""

from __future__ import annotations

import json

import pytest

from helpers import jsonl_lines, run_mc
from mc.data.importer import import_problems
from mc.records import validate_problem

# --- DeepCoder-Preview-Dataset: one row per encoding of `tests` -----------------------------

# primeintellect: PrimeIntellect's typed cases; the case is genesys's own fixture
# (PrimeIntellect-ai/genesys, code_test_verifier.py __main__), verbatim; the gold solution fenced.
DEEPCODER_PI_CALL = {
    "problem": "Given an array nums of size n, return the majority element.",
    "tests": json.dumps([{"type": "function_call", "fn_name": "majorityElement", "input": [[3, 2, 3]], "output": 3},
                         {"type": "function_call", "fn_name": "majorityElement", "input": [[2, 2, 1, 1, 1, 2, 2]], "output": 2}]),
    "solutions": ["```python\nclass Solution:\n    def majorityElement(self, nums):\n        return max(set(nums), key=nums.count)\n```"],
}
# taco: TACO's object, call-based, outputs wrapped; the first two cases verbatim from rllm's
# tests/rewards/test_code_reward.py (test_reward_taco_call_based).
DEEPCODER_TACO_CALL = {
    "problem": "Write is_anagram(test, original): are the two words anagrams of each other, ignoring case?",
    "tests": json.dumps({"fn_name": "is_anagram", "inputs": [["foefet", "toffee"], ["Buckethead", "DeathCubeK"], ["apple", "pale"]],
                         "outputs": [[True], [True], [False]]}),
    "solutions": ["def is_anagram(test, original):\n    return sorted(test.lower()) == sorted(original.lower())"],
}
# taco, stdin, written as a Python literal (rllm's notebooks read it with ast.literal_eval);
# outputs with and without their final newline in one list, as in the real TACO rows.
DEEPCODER_TACO_STDIN = {
    "problem": "Read n and print n!.",
    "tests": "{'inputs': ['5\\n', '3\\n', '1\\n'], 'outputs': ['120', '6\\n', '1']}",
    "solutions": ["import math\nprint(math.factorial(int(input())))"],
}
# lcbv5: LiveCodeBench's list with the function name in the row's metadata; test and starter
# code verbatim from rllm's test_code_reward.py.
DEEPCODER_LCB_FUNCTIONAL = {
    "problem": "Return the number of employees who worked at least target hours.",
    "tests": json.dumps([{"input": "[5, 3, 10, 8, 2]\n5", "output": "3", "testtype": "functional"},
                         {"input": "[0, 1, 2, 3, 4]\n2", "output": "3", "testtype": "functional"}]),
    "starter_code": "class Solution:\n    def numberOfEmployeesWhoMetTarget(self, hours: List[int], target: int) -> int:\n        ",
    "metadata": {"func_name": "numberOfEmployeesWhoMetTarget"},
}
# codeforces (test split): CodeElo's sample pairs, no testtype; the values verbatim from rllm's
# rllm/data/test/code/codeforces.json (winnieyangwannan/rllm@74cc622d).
DEEPCODER_CODEFORCES = {
    "problem": "Sort each pair.",
    "tests": json.dumps([{"input": "10\n1 9\n8 4\n1 4\n3 4\n2 0\n2 4\n6 9\n3 3\n0 0\n9 9",
                          "output": "1 9\n4 8\n1 4\n3 4\n0 2\n2 4\n6 9\n3 3\n0 0\n9 9"}]),
}

# --- PrimeIntellect/verifiable-coding-problems: Python-literal strings, as genesys reads them ---
PI_STDIN = {
    "problem_id": "pi_0001", "source": "apps", "task_type": "verifiable_code", "in_source_id": "4321",
    "prompt": "Solve the following coding problem using the programming language python:\n\nPrint a + b.",
    "gold_standard_solution": "```python\na, b = map(int, input().split())\nprint(a + b)\n```",
    # the shape of a third-party fixture of this set (fn_name None on a stdin case, single quotes)
    "verification_info": "{'language': 'python', 'test_cases': [{'fn_name': None, 'input': '1 2\\n', 'output': '3\\n', "
                         "'type': 'stdin_stdout'}, {'fn_name': None, 'input': '10 -4\\n', 'output': '6\\n', 'type': 'stdin_stdout'}]}",
    "metadata": "{'difficulty': 'introductory', 'url': 'https://codeforces.com/problemset/problem/4/A'}",
}
PI_CALL = {
    "problem_id": "pi_0002", "source": "taco", "task_type": "verifiable_code", "in_source_id": "77",
    "prompt": "Write is_anagram(test, original).",
    "gold_standard_solution": "```python\ndef is_anagram(test, original):\n    return sorted(test.lower()) == sorted(original.lower())\n```",
    "verification_info": "{'language': 'python', 'test_cases': [{'type': 'function_call', 'fn_name': 'is_anagram', "
                         "'input': ['foefet', 'toffee'], 'output': [True]}, {'type': 'function_call', 'fn_name': 'is_anagram', "
                         "'input': ['ab', 'abc'], 'output': [False]}]}",
    "metadata": "{}",
}
# prime-rl's own datasets: test_cases is a JSON string of a TACO object (zeroband/inference/genesys/code.py)
PI_PRIME_RL = {
    "problem_id": "pi_0003", "task_type": "verifiable_code", "prompt": "Print the square of n.",
    "gold_standard_solution": "```python\nn = int(input())\nprint(n * n)\n```",
    "verification_info": json.dumps({"language": "python", "test_cases": json.dumps({"inputs": ["3\n", "12\n"], "outputs": ["9\n", "144\n"]})}),
    "metadata": "{}",
}
PI_CPP = {**PI_STDIN, "problem_id": "pi_0004",
          "verification_info": "{'language': 'cpp', 'test_cases': [{'type': 'stdin_stdout', 'input': '1 2\\n', 'output': '3\\n'}]}"}

# --- KodCode: its pipeline's own row layout (demo/KodCode_algorithm_100_*.json, the first
# record, with its first assert verbatim); the test imports `solution` as KodCode's runner provides.
KODCODE_INSTRUCT = {
    "style": "instruct", "subset": "Algorithm", "question_id": "Algorithm_00000003_I",
    "question": "Design a function `interleave_strings` that takes two strings `first_str` and `second_str` and interleaves them.",
    "solution": "def interleave_strings(first_str: str, second_str: str) -> str:\n    \"\"\"\n    Interleave the characters from two "
                "strings and return the result.\n    \"\"\"\n    result = []\n    i, j = 0, 0\n    while i < len(first_str) and j < "
                "len(second_str):\n        result.append(first_str[i])\n        result.append(second_str[j])\n        i += 1\n        "
                "j += 1\n    # Append remaining characters from first_str if any\n    result.extend(first_str[i:])\n    # Append "
                "remaining characters from second_str if any\n    result.extend(second_str[j:])\n    return ''.join(result)",
    "test": "from solution import interleave_strings\nimport pytest\n\ndef test_interleave_strings():\n    assert interleave_strings(\"ABCD\", \"XY\") "
            "== \"AXBYCD\"\n\n@pytest.mark.parametrize('a, b, want', [('', 'ab', 'ab'), ('abc', '', 'abc')])\ndef test_edges(a, b, want):\n"
            "    assert interleave_strings(a, b) == want\n\nclass TestTypes:\n    def test_raises(self):\n        with pytest.raises("
            "TypeError):\n            interleave_strings(None, 'a')\n",
    "test_info": [{"function_name": "interleave_strings", "parameter_list": "(first_str, second_str)",
                   "function_declaration": "def interleave_strings(first_str, second_str):",
                   "docstring": "Interleave the characters from two strings and return the result."}],
    "gpt_pass_sequence": [1, 0, 0], "gpt_pass_trial_num": 1, "gpt_difficulty": "medium", "gpt_pass_percentage": 0.333,
    "metadata": {"prompt_id": "00000003", "row_id": 3, "seed_ids": [289], "mode": "algorithm", "original_instruction": ""},
}
# A complete-style row in the older column names (test_code), whose test imports nothing itself
# (like the demo's second record: it relies on the runner's `from solution import *`), class-based (test_info null).
KODCODE_COMPLETE = {
    "split": "complete", "subset": "Leetcode", "conversation_id": "Leetcode_00014_C",
    "question": "from typing import List\n\nclass CircularQueue:\n    \"\"\"Implement a class CircularQueue of capacity k.\"\"\"",
    "solution": "class CircularQueue:\n    def __init__(self, k):\n        self.k, self.items = k, []\n\n    def enqueue(self, x):\n"
                "        if len(self.items) == self.k:\n            return False\n        self.items.append(x)\n        return True\n",
    "test_code": "import pytest\n\ndef test_circular_queue():\n    cq = CircularQueue(2)\n    assert cq.enqueue(1)\n    assert cq.enqueue(2)\n"
                 "    assert not cq.enqueue(3)\n",
    "test_info": None, "gpt_pass_sequence": [1, 1, 1], "gpt_difficulty": "easy",
}

# --- CodeContests+: no real row was found; built as its readers read it (ms, MB, {input, output}).
CCPLUS = {
    "id": "847_J", "source": "Codeforces", "title": "Sum", "description": "Read n and n integers; print their sum.",
    "time_limit": 2000, "memory_limit": 256,
    "test_cases": [{"input": "3\n1 2 3\n", "output": "6\n"}, {"input": "1\n-5\n", "output": "-5\n"}],
    "checker": "#include \"testlib.h\"\nint main(int argc, char* argv[]) { registerTestlibCmd(argc, argv); "
               "ensure(ouf.readLong() == ans.readLong()); quitf(_ok, \"ok\"); }",
    "validator": "#include \"testlib.h\"\n", "generator": "#include \"testlib.h\"\n", "generator_cmd": "gen 3",
    "correct_submissions": [{"code": "input()\nprint(sum(map(int, input().split())))", "language": "py3"},
                            {"code": "int main(){}", "language": "cpp"}],
    "incorrect_submissions": [{"code": "input()\nprint(max(map(int, input().split())))", "language": "py3"}],
    "true_positive_rate": 1.0, "true_negative_rate": 0.95,
}


def write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def by_id(problems):
    return {p["id"]: p for p in problems}


def test_deepcoder_every_tests_encoding(tmp_path):
    rows = [DEEPCODER_PI_CALL, DEEPCODER_TACO_CALL, DEEPCODER_TACO_STDIN, DEEPCODER_LCB_FUNCTIONAL, DEEPCODER_CODEFORCES]
    problems = jsonl_lines(run_mc("data", "import", write(tmp_path, "dc.jsonl", rows), check_rc=0).stdout)
    assert [p["meta"]["tests_encoding"] for p in problems] == ["primeintellect", "taco", "taco", "livecodebench", "codeforces"]
    pi, taco_call, taco_stdin, lcb, cf = problems
    assert all(p["source"] == "deepcoder" and p["id"].startswith("deepcoder/") for p in problems)
    assert len({p["id"] for p in problems}) == 5
    # call-based rows stay call-based (rllm's newer loaders turn them into stdin tests)
    assert pi["tests"]["type"] == "functional" and pi["tests"]["fn_name"] == "majorityElement"
    assert pi["tests"]["cases"][0] == {"input": "[3, 2, 3]", "output": "3"}
    assert pi["solutions"] == ["class Solution:\n    def majorityElement(self, nums):\n        return max(set(nums), key=nums.count)"]
    assert taco_call["tests"]["fn_name"] == "is_anagram" and taco_call["meta"]["outputs_unwrapped"] is True
    assert taco_call["tests"]["cases"][0] == {"input": '"foefet"\n"toffee"', "output": "true"}
    assert taco_stdin["tests"]["type"] == "stdin" and [c["output"] for c in taco_stdin["tests"]["cases"]] == ["120", "6\n", "1"]
    assert lcb["tests"]["fn_name"] == "numberOfEmployeesWhoMetTarget" and lcb["starter_code"].startswith("class Solution")
    assert lcb["tests"]["cases"][0]["input"] == "[5, 3, 10, 8, 2]\n5"
    assert cf["tests"]["type"] == "stdin" and cf["tests"]["cases"][0]["output"].startswith("1 9\n4 8")
    for p in problems:
        validate_problem(p)
    # the reference programs pass through the real judge
    verified = jsonl_lines(run_mc("data", "verify", "--require-solutions", "--workers", "2",
                                  write(tmp_path, "dcp.jsonl", problems[:3]), check_rc=0).stdout)
    assert len(verified) == 3 and all(p["meta"]["verified"]["passed"] == 1 for p in verified)


def test_deepcoder_lcb_row_needs_a_function_name(tmp_path):
    row = {**DEEPCODER_LCB_FUNCTIONAL, "metadata": {}, "starter_code": ""}
    proc = run_mc("data", "import", write(tmp_path, "bad.jsonl", [row]))
    assert proc.returncode == 1 and b"function name" in proc.stderr and b"bad.jsonl:1" in proc.stderr


def test_primeintellect_rows(tmp_path):
    path = write(tmp_path, "pi.jsonl", [PI_STDIN, PI_CALL, PI_PRIME_RL, PI_CPP])
    proc = run_mc("data", "import", "--skip-bad", path, check_rc=0)
    problems = by_id(jsonl_lines(proc.stdout))
    assert set(problems) == {"primeintellect/pi_0001", "primeintellect/pi_0002", "primeintellect/pi_0003"}
    assert b"cpp" in proc.stderr and b"Python programs only" in proc.stderr  # the skipped row, with its reason
    stdin, call, prime_rl = problems.values()
    assert stdin["tests"]["type"] == "stdin" and stdin["tests"]["cases"][1] == {"input": "10 -4\n", "output": "6\n"}
    assert stdin["platform"] == "codeforces" and stdin["meta"]["source_dataset"] == "apps"
    assert stdin["meta"]["pi_metadata"]["difficulty"] == "introductory"
    assert stdin["solutions"] == ["a, b = map(int, input().split())\nprint(a + b)"]
    assert call["tests"]["type"] == "functional" and call["meta"]["outputs_unwrapped"] is True
    assert [c["output"] for c in call["tests"]["cases"]] == ["true", "false"]
    assert prime_rl["meta"]["tests_encoding"] == "taco" and len(prime_rl["tests"]["cases"]) == 2
    verified = jsonl_lines(run_mc("data", "verify", "--require-solutions", "--workers", "2", input=proc.stdout, check_rc=0).stdout)
    assert len(verified) == 3
    # without --skip-bad the C++ row stops the import with its location
    proc = run_mc("data", "import", path)
    assert proc.returncode == 1 and b"pi.jsonl:4" in proc.stderr


def test_kodcode_tests_run_under_pytest_in_the_sandbox(tmp_path):
    """KodCode's contract, kept: the program is the module `solution`, the test file runs
    under pytest (parametrize, classes, pytest.raises, a file that imports nothing), and
    exit code 0 is a pass. The reference passes; wrong programs fail."""
    problems = jsonl_lines(run_mc("data", "import", write(tmp_path, "kc.jsonl", [KODCODE_INSTRUCT, KODCODE_COMPLETE]),
                                  check_rc=0).stdout)
    instruct, complete = problems
    assert instruct["id"] == "kodcode/Algorithm_00000003_I" and instruct["difficulty"] == "medium"
    assert instruct["tests"]["type"] == "assert" and instruct["tests"]["fn_name"] == "interleave_strings"
    assert complete["id"] == "kodcode/Leetcode_00014_C" and complete["difficulty"] == "easy" and complete["tests"]["fn_name"] is None
    assert instruct["meta"]["tests_original"] == KODCODE_INSTRUCT["test"] and instruct["meta"]["subset"] == "Algorithm"
    wrong_instruct = {**instruct, "id": "kodcode/wrong-1",
                      "solutions": [KODCODE_INSTRUCT["solution"].replace("result.extend(first_str[i:])", "")]}
    wrong_complete = {**complete, "id": "kodcode/wrong-2", "solutions": [KODCODE_COMPLETE["solution"].replace("== self.k", "> self.k")]}
    report = tmp_path / "removed.jsonl"
    proc = run_mc("data", "verify", "--workers", "2", "--report", report,
                  write(tmp_path, "kcp.jsonl", [instruct, complete, wrong_instruct, wrong_complete]), check_rc=0)
    assert [p["id"] for p in jsonl_lines(proc.stdout)] == [instruct["id"], complete["id"]]
    removed = {r["id"]: r for r in jsonl_lines(report.read_bytes())}
    assert set(removed) == {"kodcode/wrong-1", "kodcode/wrong-2"}
    assert "test_edges" in removed["kodcode/wrong-1"]["feedback"]["error"]  # pytest's own report of what failed


# The program runs beside the test process, as the same user in the same scratch: a
# thread that waits for pytest's test file on disk and drops a conftest.py beside it,
# whose hook reports every test passed. (It passed when the runner wrote the test file
# to a temporary folder: the runner now runs it from memory and reads no conftest.py.)
CONFTEST_PLANTER = """import os, threading, time
HOOK = ("import pytest\\n@pytest.hookimpl(hookwrapper=True)\\ndef pytest_runtest_makereport(item, call):\\n"
        "    outcome = yield\\n    outcome.get_result().outcome = 'passed'\\n")
def plant():
    end = time.time() + 3
    while time.time() < end:
        for root in {os.environ.get("TMPDIR", "/tmp"), os.getcwd(), "/tmp"}:
            try:
                for name in os.listdir(root):
                    folder = os.path.join(root, name)
                    if os.path.exists(os.path.join(folder, "test_solution.py")):
                        with open(os.path.join(folder, "conftest.py"), "w") as f:
                            f.write(HOOK)
            except OSError:
                pass
        time.sleep(0.001)
threading.Thread(target=plant, daemon=True).start()
def area(r):
    return 0
"""


def test_kodcode_a_program_cannot_answer_the_tests_own_checks(tmp_path):
    """The policy as adversary: wrong programs that define `math` or `pytest` (which the test
    uses without importing them: KodCode's own runner would hand it the program's), return
    an always-equal object, or plant a conftest.py for pytest to find, fail; the right one
    passes. (The sandbox binds standard modules afresh for any assert test; pytest is
    bound afresh by the runner, and runs the test file from memory.)"""
    row = {**KODCODE_INSTRUCT, "question_id": "Algorithm_00000099_I", "solution": "import math\ndef area(r):\n    return math.pi * r * r",
           # it uses math and pytest without importing them (KodCode's runner would take both from the program)
           "test": "def test_area():\n    assert math.isclose(area(2), 12.566, rel_tol=1e-3)\n    assert area(3) == pytest.approx(28.274, rel=1e-3)\n",
           "test_info": [{"function_name": "area"}]}
    problem, = jsonl_lines(run_mc("data", "import", write(tmp_path, "k.jsonl", [row]), check_rc=0).stdout)
    cheats = [
        "class math:\n    isclose = staticmethod(lambda *a, **k: True)\ndef area(r):\n    return 0",
        "class Yes:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
        "import math as _m\nclass math:\n    isclose = staticmethod(lambda *a, **k: True)\ndef area(r):\n    return Yes()",
        "import math\nclass pytest:\n    approx = staticmethod(lambda x, **k: -1)\ndef area(r):\n    return math.pi * r * r if r == 2 else -1",
        CONFTEST_PLANTER,
    ]
    problems = [problem] + [{**problem, "id": f"kodcode/cheat-{i}", "solutions": [code]} for i, code in enumerate(cheats)]
    proc = run_mc("data", "verify", "--workers", "2", write(tmp_path, "kp.jsonl", problems), check_rc=0)
    assert [p["id"] for p in jsonl_lines(proc.stdout)] == [problem["id"]]


def test_codecontests_plus_rows(tmp_path):
    empty = {**CCPLUS, "id": "900_A", "test_cases": []}
    problems = jsonl_lines(run_mc("data", "import", write(tmp_path, "cc.jsonl", [CCPLUS, empty]), check_rc=0).stdout)
    p, bare = problems
    assert p["id"] == "codecontests-plus/847_J" and p["platform"] == "codeforces" and p["meta"]["title"] == "Sum"
    assert p["meta"]["time_limit"] == 2.0 and p["meta"]["memory_limit_mb"] == 256.0
    assert p["solutions"] == [CCPLUS["correct_submissions"][0]["code"]]
    assert p["meta"]["incorrect_solutions"] == [CCPLUS["incorrect_submissions"][0]["code"]]
    assert p["meta"]["other_solutions"] == {"correct": {"cpp": 1}, "incorrect": {}}
    assert p["meta"]["testlib_checker"].startswith("#include") and p["meta"]["true_negative_rate"] == 0.95
    assert bare["tests"]["cases"] == []
    verified = jsonl_lines(run_mc("data", "verify", "--workers", "2", write(tmp_path, "ccp.jsonl", [p]), check_rc=0).stdout)
    assert verified[0]["meta"]["verified"]["passed"] == 1
    # the incorrect submission is judged wrong
    wrong = {**p, "id": "codecontests-plus/wrong", "solutions": p["meta"]["incorrect_solutions"]}
    assert run_mc("data", "verify", "--workers", "1", write(tmp_path, "ccw.jsonl", [wrong]), check_rc=0).stdout == b""


@pytest.mark.parametrize("row, name", [(DEEPCODER_TACO_CALL, "deepcoder"), (PI_STDIN, "primeintellect"),
                                       (KODCODE_INSTRUCT, "kodcode"), (CCPLUS, "codecontests-plus")])
def test_each_format_is_detected_and_nameable(tmp_path, row, name):
    path = write(tmp_path, "one.jsonl", [row])
    auto = list(import_problems([str(path)]))
    named = list(import_problems([str(path)], fmt=name))
    assert auto == named and len(auto) == 1
