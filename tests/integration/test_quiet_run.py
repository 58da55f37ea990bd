"""A normal pipeline run prints no WARNING or ERROR line that is not one.

Before rrlib.runner used its own kernel manager, every chapter printed ipykernel's
"Kernel is running over TCP without encryption" warning, and some printed
"ERROR | KeyboardInterrupt caught in kernel" at shutdown (jupyter_client interrupts the kernel
before asking it to shut down). A chapter run then printed both.

What is read is the suite's shared small run (``tests/integration/conftest.py``): two runs through
Make (``make report``, then ``make outbox``), every chapter in its own kernel, with ``rr prepare``,
``rr claims``, ``rr report`` and ``rr outbox`` around them. (Until 2026-12 this test ran chapter 4 once
more on its own for the same check.)
"""
import re

import pytest

from rrlib import chapter, log

pytestmark = pytest.mark.slow

BAD = re.compile(r"WARNING|ERROR|Traceback|KeyboardInterrupt|without encryption", re.IGNORECASE)


def test_the_small_runs_print_no_warning_or_error(small_run):
    for printed in small_run["printed"]:
        lines = printed.splitlines()
        bad = [line for line in lines if BAD.search(line)]
        assert not bad, "a normal run printed:\n" + "\n".join(bad)
        for nb in chapter.NOTEBOOKS.values():
            assert any(f"{nb} done" in line for line in lines), f"no '{nb} done' line"


@pytest.mark.parametrize("nb", sorted(chapter.NOTEBOOKS.values()))
def test_each_chapter_run_is_logged(small_run, nb):
    out = small_run["out"]
    assert (out / "notebooks" / nb).exists()
    logs = list((out / "logs").glob(f"*_run-{nb.removesuffix('.ipynb')}_*.log"))
    assert len(logs) == 1, [p.name for p in logs]
    doc = log.read_run_log(logs[0])
    assert doc["header"]["data"]["name"] == small_run["data"].name
    assert doc["summary"]["exit_code"] == 0
    assert [s["step"] for s in doc["summary"]["steps"]] == [f"execute {nb}", "run"]
    text = logs[0].read_text(encoding="utf-8")
    assert str(out) not in text and str(small_run["data"]) not in text
