"""The sandbox as an ordinary user: a user namespace stands in for the uid switch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from helpers import REPO

SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(SYSTEM_PYTHON) or not shutil.which("setpriv"),
                    reason=f"run as root with {SYSTEM_PYTHON} and setpriv present, to become an unprivileged user")
def test_reward_as_an_unprivileged_user():
    # An interpreter and packages an ordinary user can read: the system Python
    # (same minor version) with this checkout and its site-packages on the path.
    site = sysconfig.get_paths()["purelib"]
    for path in (str(REPO), site):
        probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "test", "-r", path])
        if probe.returncode != 0:
            pytest.skip(f"{path} is not readable by an ordinary user")
    group = {
        "schema": "mc.group/1",
        "problem": {"schema": "mc.problem/1", "id": "t/1", "question": "Add.",
                    "tests": {"type": "stdin", "fn_name": None, "cases": [{"input": "1 2\n", "output": "3\n"}]}},
        "samples": [{"text": "```python\na, b = map(int, input().split())\nprint(a + b)\n```"},
                    {"text": "```python\nimport socket\nsocket.socket()\n```"},
                    {"text": "```python\nopen('/tmp/mc-nobody-escape', 'w')\n```"}],
    }
    # addsitedir runs the .pth files: the editable install's finder maps mc.commands.
    boot = f"import site; site.addsitedir({site!r}); from mc.cli import main; main()"
    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SYSTEM_PYTHON, "-E", "-s", "-c", boot,
         "reward", "--workers", "1"],
        input=(json.dumps(group) + "\n").encode(), capture_output=True,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "MC_PROGRESS": "0"}, cwd="/tmp", timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    samples = json.loads(proc.stdout)["samples"]
    assert [s["verdict"] for s in samples] == ["pass", "runtime_error", "runtime_error"]
    layers = samples[0]["isolation"]
    assert {"userns", "netns", "mountns", "root", "pidns", "landlock", "seccomp"} <= set(layers) and "uid" not in layers
    assert not os.path.exists("/tmp/mc-nobody-escape")
