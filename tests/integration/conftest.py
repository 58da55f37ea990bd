"""The small run that several pieces of evidence share (issue 28.6).

One synthetic folder of another seed at a small scale goes through Make the way a researcher's own
data does (``make outbox DATA_DIR=... OUT_DIR=... DISCLOSURE=tre``: prepare, every chapter in a
kernel, claims, report, outbox), is hashed, moved aside, and run again into the same path. Three
modules read it, all on one pytest-xdist worker (``tests/conftest.py`` puts them in one group), so
the two runs are made once per session:

* ``test_determinism.py``: the two runs are byte-identical; no absolute path in any output; the
  run's tables and figure data resist the LP attack;
* ``test_outbox_run.py``: every table released and registered in ACRO or withheld with reasons;
* ``test_second_seed.py``: the pipeline on other data through Make; the chapters' numbers equal
  direct counts on that data; the committed reference figures untouched.

Before, each module made its own runs (four in all, at two scales and two disclosure presets).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rrlib import paths
from rrlib.io import sha256_file

#: another seed than the shipped folder's, at a small scale (0.25: at 0.2, since the twin follows the DfE's
#: FSM shares, seed 7 has too few looked-after pupils for the targeted generator's A18/A19 search)
SEED = 7
SCALE = os.environ.get("RR_SMALL_RUN_SCALE", "0.25")
#: papermill's timing metadata: the only bytes two runs may differ in
TIMING = ("start_time", "end_time", "duration", "exception")


def _without_timing(nb: dict) -> dict:
    def strip(meta):
        pm = meta.get("papermill")
        if isinstance(pm, dict):
            for k in TIMING:
                pm.pop(k, None)
        if isinstance(meta.get("execution"), dict):
            meta.pop("execution")
    strip(nb.get("metadata", {}))
    for cell in nb.get("cells", []):
        strip(cell.get("metadata", {}))
    return nb


def digest(p: Path) -> str:
    """sha256 of a file; an executed notebook's without papermill's timing metadata."""
    if p.suffix == ".ipynb":
        doc = _without_timing(json.loads(p.read_text(encoding="utf-8")))
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return hashlib.sha256(p.read_bytes()).hexdigest()


#: records of the run itself, not its outputs: ``logs/`` holds one log per ``rr`` command, named by its
#: start time and process id (``rrlib.log``); ACRO's checksums of its two session records (below)
RUN_RECORDS = ("logs/", "outbox/acro/checksums/results.json.txt", "outbox/acro/checksums/session_summary.json.txt")
#: ACRO's session records stamp each output with the time ACRO saw it: compared without those stamps
ACRO_TIMESTAMPED = ("outbox/acro/results.json", "outbox/acro/session_summary.json")


def _without_key(doc, key: str):
    if isinstance(doc, dict):
        return {k: _without_key(v, key) for k, v in doc.items() if k != key}
    if isinstance(doc, list):
        return [_without_key(v, key) for v in doc]
    return doc


def tree(out: Path) -> dict[str, str]:
    """Every output file and its digest (hidden bookkeeping files and the run's own logs left out,
    the prepared stamp kept)."""
    files = {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*"))
             if p.is_file() and not p.name.startswith(".") or p.name == ".prepared.json"}
    out = {k: digest(p) for k, p in files.items() if not k.startswith(RUN_RECORDS)}
    for k in ACRO_TIMESTAMPED:
        if k in files:
            doc = _without_key(json.loads(files[k].read_text(encoding="utf-8")), "timestamp")
            out[k] = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return out


def _clean_env() -> dict[str, str]:
    """The environment without the suite's own make and RR_ settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "RR_"))}


def _make_outbox(data: Path, out: Path) -> None:
    r = subprocess.run(["make", "-C", str(paths.ROOT), "JOBS=1", "outbox", f"DATA_DIR={data}", f"OUT_DIR={out}",
                        "DISCLOSURE=tre"], capture_output=True, text=True, env=_clean_env(), timeout=3000)
    assert r.returncode == 0, f"make outbox on the small folder failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


def _reference_figures() -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted((paths.ROOT / "figures").glob("*.svg"))}


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> dict:
    """Two runs of one small folder (seed 7, scale 0.25) into one path, through ``make outbox``."""
    root = tmp_path_factory.mktemp("small-run")
    data, out = root / "raw-seed7", root / "out"
    r = subprocess.run([sys.executable, "-m", "rrlib", "synth", "--out", str(data), "--seed", str(SEED),
                        "--scale", str(SCALE)], capture_output=True, text=True, env=_clean_env(), timeout=900)
    assert r.returncode == 0, f"rr synth failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    before = _reference_figures()
    _make_outbox(data, out)
    first = tree(out)
    shutil.move(str(out), str(root / "first"))
    _make_outbox(data, out)
    return {"data": data, "out": out, "first": first, "second": tree(out), "seed": SEED,
            "figures_before": before, "figures_after": _reference_figures()}
