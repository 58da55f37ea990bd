"""Make rebuilds only what changed, and a rebuild with nothing to do is fast (issue 11).

Runs on the default run's outputs (``make all`` on the shipped synthetic data: ``reports/``,
``data/processed/``) and never rebuilds anything: ``make -q`` (is it up to date?), ``make -n``
(what would run) and ``make -n -W notebooks/01_reach.ipynb`` (what would run had the notebook
changed: Make pretends the file is new, the file is not touched). `make test` runs `make all`
first, so absent or out-of-date outputs are failures, never skips.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

from rrlib import paths

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted(p.name for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
NOOP_LIMIT_SECONDS = 2.0


def _env() -> dict:
    # a sub-make must not inherit a parent make's job server or flags, nor another data folder
    drop = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "RR_DATA_DIR", "RR_OUT_DIR",
            "DATA_DIR", "OUT_DIR")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", *args], cwd=paths.ROOT, capture_output=True, text=True, env=_env(),
                          timeout=120)


def _commands(out: str) -> list[str]:
    """The recipe lines ``make -n`` would run (not make's own messages)."""
    return [ln for ln in out.splitlines()
            if ln.strip() and not re.match(r"^make(\[\d+\])?: ", ln)]


@pytest.fixture(scope="module")
def up_to_date():
    """The default run's outputs. `make test` runs `make all` first, so they must exist: an absent
    output is a failure here, not a skip. Whether they are up to date is what the tests check."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    lay = paths.layout(None, None)
    expected = [lay.executed_dir / nb for nb in NOTEBOOKS] + [lay.claims_json, lay.report_html,
                                                             lay.processed_dir / ".prepared.json"]
    missing = [str(p.relative_to(paths.ROOT)) for p in expected if not p.exists()]
    assert not missing, (f"the default run's outputs are absent ({', '.join(missing[:3])}"
                         f"{' ...' if len(missing) > 3 else ''}): `make test` runs `make all` first")
    return lay


def test_make_q_says_up_to_date(up_to_date):
    q = _make("-q", "all")
    would = _commands(_make("-n", "all").stdout)
    assert q.returncode == 0, f"make -q all exits {q.returncode} right after make all; it would run: {would[:3]}"


def test_nothing_to_do_after_a_full_run(up_to_date):
    dry = _make("-n", "all")
    assert dry.returncode == 0, dry.stderr
    assert _commands(dry.stdout) == [], f"make -n all would still run: {_commands(dry.stdout)}"


def test_noop_rebuild_is_fast(up_to_date):
    _make("-q", "all")  # warm the file system cache once
    t0 = time.perf_counter()
    r = _make("all")
    seconds = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    assert seconds < NOOP_LIMIT_SECONDS, f"no-op make all took {seconds:.2f} s (limit {NOOP_LIMIT_SECONDS} s)"


def test_touched_notebook_reruns_only_its_chapter(up_to_date):
    dry = _make("-n", "-W", "notebooks/01_reach.ipynb", "all")
    assert dry.returncode == 0, dry.stderr
    cmds = _commands(dry.stdout)
    runs = [c for c in cmds if " run notebooks/" in c]
    assert len(runs) == 1 and "notebooks/01_reach.ipynb" in runs[0], cmds
    assert any(re.search(r"-m rrlib claims\b", c) for c in cmds), cmds
    assert any(re.search(r"-m rrlib report\b", c) for c in cmds), cmds
    assert not any(re.search(r"-m rrlib (prepare|verify-data)\b", c) for c in cmds), cmds
    assert not any(nb in c for c in cmds for nb in NOTEBOOKS if nb != "01_reach.ipynb"), cmds


def test_verify_leaves_the_run_up_to_date():
    """``rr verify`` (``make verify``) checks the claims without writing the claims files again, so the run
    it checked is still up to date (it used to leave the report older than the claims)."""
    r = subprocess.run([str(paths.ROOT / ".venv" / "bin" / "python"), "-m", "rrlib", "verify"], cwd=paths.ROOT,
                       capture_output=True, text=True, env=_env(), timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    q = _make("-q", "all")
    assert q.returncode == 0, f"rr verify left the run out of date: {_commands(_make('-n', 'all').stdout)}"
