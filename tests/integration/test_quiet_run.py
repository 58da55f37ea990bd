"""A normal chapter run prints no WARNING or ERROR line that is not one.

Before rrlib.runner used its own kernel manager, every chapter printed ipykernel's
"Kernel is running over TCP without encryption" warning, and some printed
"ERROR | KeyboardInterrupt caught in kernel" at shutdown (jupyter_client interrupts the kernel
before asking it to shut down). The chapter run here printed both.
"""
import re
import subprocess
import sys

import pytest

from rrlib import log, paths

CHAPTER = "04_self_harm_readmissions.ipynb"
BAD = re.compile(r"WARNING|ERROR|Traceback|KeyboardInterrupt|without encryption", re.IGNORECASE)


def test_a_chapter_run_prints_no_warning_or_error(tmp_path):
    if not (paths.ROOT / "data" / "processed" / ".prepared.json").exists():
        pytest.skip("data/processed is not prepared (run `make data` first)")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "rrlib", "run", f"notebooks/{CHAPTER}", "--out-dir", str(out)],
                       capture_output=True, text=True, cwd=paths.ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = (r.stdout + r.stderr).splitlines()
    bad = [line for line in lines if BAD.search(line)]
    assert not bad, "a normal run printed:\n" + "\n".join(bad)
    assert any(f"{CHAPTER} done" in line for line in lines)
    assert (out / "notebooks" / CHAPTER).exists()
    logs = list((out / "logs").glob("*_run-04_self_harm_readmissions_*.log"))
    assert len(logs) == 1
    doc = log.read_run_log(logs[0])
    assert doc["header"]["data"]["name"] == "synthetic"
    assert doc["summary"]["exit_code"] == 0
    assert [s["step"] for s in doc["summary"]["steps"]] == [f"execute {CHAPTER}", "run"]
    assert str(tmp_path) not in logs[0].read_text()
