"""A new chapter is its notebook, its module and its tests: nothing else is edited (CONTRIBUTING).

In a copy of the compendium, a throwaway chapter is added exactly as CONTRIBUTING says (a notebook
``notebooks/99_throwaway.ipynb`` and a module ``src/rrlib/chapters/throwaway.py``). Without any other
edit it must be found by the registry, scheduled by ``make``, run by ``rr run`` (one section computed,
one skipped with its reason), accepted in claims, and shown in the report. The copy uses this
environment with ``PYTHONPATH`` pointing at the copy's ``src`` (no install into the shared ``.venv``).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from rrlib import paths

pytestmark = pytest.mark.slow

MODULE = '''"""A throwaway chapter (tests CONTRIBUTING's recipe)."""
import pandas as pd

from ..chapter import NotComputed


def pupils_per_year(pupils: pd.DataFrame) -> pd.DataFrame:
    if pupils.empty:
        raise NotComputed("no pupils in the census")
    n = pupils.groupby("academic_year").size()
    return pd.DataFrame({"key": [f"throwaway.pupils.y{y.replace('/', '_')}" for y in n.index],
                         "value": n.to_numpy(), "unit": "count"})


def pupils_text(results: pd.DataFrame) -> str:
    return f"**{results['value'].sum():,}** pupil-years in the census."
'''

CELLS = [
    ("markdown", "# Chapter 99. Throwaway: pupils per school year\n\nHow many pupils each year?", []),
    ("code", "data_dir = None\nout_dir = None", ["parameters"]),
    ("code", "from rrlib import chapter\nfrom rrlib.chapters import throwaway as T\n"
             "ch = chapter.start(\"throwaway\", globals())\nch.banner()", []),
    ("code", "with ch.section(\"throwaway.pupils\"):\n"
             "    res = ch.record_frame(T.pupils_per_year(ch.table(\"pupils\")))\n"
             "    ch.show(T.pupils_text(res))\n"
             "with ch.section(\"throwaway.missing\"):\n    ch.table(\"no_such_table\")", []),
    ("code", "ch.finish()", []),
]


def _notebook() -> dict:
    cells = []
    for i, (kind, src, tags) in enumerate(CELLS):
        c = {"cell_type": kind, "id": f"throwaway-{i:02d}", "metadata": {"tags": tags} if tags else {},
             "source": src.splitlines(keepends=True)}
        if kind == "code":
            c.update(execution_count=None, outputs=[])
        cells.append(c)
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}}}


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    lay = paths.layout(None, None)
    if not (lay.processed_dir / ".prepared.json").exists():
        pytest.fail("the default run's processed data is absent: `make test` runs `make all` first")
    root = tmp_path_factory.mktemp("clone") / "rr"
    ignore = shutil.ignore_patterns(".venv", ".git", "reports", "output", "processed", "__pycache__", "*.egg-info")
    shutil.copytree(paths.ROOT, root, ignore=ignore, symlinks=True)
    (root / "data" / "processed").symlink_to(lay.processed_dir, target_is_directory=True)
    (root / ".venv").symlink_to(paths.ROOT / ".venv", target_is_directory=True)
    before = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    (root / "src" / "rrlib" / "chapters" / "throwaway.py").write_text(MODULE)
    (root / "notebooks" / "99_throwaway.ipynb").write_text(json.dumps(_notebook(), indent=1))
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "RR_DATA_DIR", "RR_OUT_DIR", "DATA_DIR", "OUT_DIR")}
    env["PYTHONPATH"] = str(root / "src")
    return {"root": root, "env": env, "before": before}


def _run(clone, *args, timeout=600):
    return subprocess.run(list(args), cwd=clone["root"], env=clone["env"], capture_output=True, text=True,
                          timeout=timeout)


def test_found_scheduled_run_claimed_and_reported(clone):
    root = clone["root"]
    r = _run(clone, sys.executable, "-m", "rrlib.registry")
    assert r.returncode == 0 and "throwaway" in r.stdout and "Throwaway: pupils per school year" in r.stdout
    # make schedules it (never reinstalling the shared environment: -o treats the set-up as done)
    r = _run(clone, "make", "-n", "-o", ".venv/.installed", "chapters")
    assert r.returncode == 0, r.stderr
    assert "rrlib run notebooks/99_throwaway.ipynb" in r.stdout
    # rr run: one section computed, one skipped with its reason
    out = root / "out"
    r = _run(clone, sys.executable, "-m", "rrlib", "run", "notebooks/99_throwaway.ipynb", "--out-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads((out / "results" / "throwaway.json").read_text())
    assert doc["results"]["throwaway.pupils.y2016_17"]["value"] > 0
    assert "no_such_table" in doc["skipped"]["throwaway.missing"]["reason"]
    assert "pupil-years in the census." in (out / "notebooks" / "99_throwaway.ipynb").read_text()  # its sentence
    # a claim may name the new chapter
    r = _run(clone, sys.executable, "-c",
             "from rrlib import claims; claims.validate_entries([dict(id='C', part='t', chapter='throwaway', "
             "statement='s', published=1, unit='count', tolerance={'absolute': 0}, source='s', "
             "key='throwaway.pupils.y2016_17', data='synthetic')]); print('ok')")
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr
    # the report shows it
    r = _run(clone, sys.executable, "-m", "rrlib", "report", "--out-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Throwaway: pupils per school year" in (out / "index.html").read_text()
    # and nothing but its own two files was added or changed in the copy
    after = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
             and not p.relative_to(root).as_posix().startswith(("out/", "reports/", "output/", "data/processed"))
             and "__pycache__" not in p.parts}
    assert after - clone["before"] == {"src/rrlib/chapters/throwaway.py", "notebooks/99_throwaway.ipynb"}
