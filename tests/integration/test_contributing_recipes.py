"""CONTRIBUTING's recipes, followed to the letter on a throwaway copy (issue 28.4).

``test_new_chapter.py`` follows "Add a chapter". This module follows the three other recipes, each on its
own copy of the compendium (the copy uses this environment with ``PYTHONPATH`` at the copy's ``src``):

* **Add a statistic**: a module in ``src/rrlib/stats/``, exported from ``rrlib.stats``, returning a
  ``CIResult``, with a unit test that counts the answer by hand; the copy's layer tests still pass.
* **Add a claim**: an entry in ``claims.yml`` naming a results key; ``rr claims`` on a run checks it.
* **Add a public data source**: a cut module ``src/rrlib/cuts/<name>.py`` (citation typed there once),
  ``rr cut <name>`` from the full file in ``../shared/data``, a README section with the full file's
  sha256, the table registered in ``public.py`` with ``register_cut``; ``public.load`` reads it and the
  copy's ``test_cuts.py`` accepts it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rrlib import paths

pytestmark = pytest.mark.slow


def _copy(tmp_path: Path) -> dict:
    root = tmp_path / "rr"
    ignore = shutil.ignore_patterns(".venv", ".git", "reports", "output", "processed", "__pycache__", "*.egg-info")
    shutil.copytree(paths.ROOT, root, ignore=ignore, symlinks=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "RR_DATA_DIR", "RR_OUT_DIR", "DATA_DIR", "OUT_DIR",
                        "PYTEST_XDIST_WORKER", "PYTEST_XDIST_TESTRUNUID", "PYTEST_CURRENT_TEST")}
    env["PYTHONPATH"] = str(root / "src")
    return {"root": root, "env": env}


def _run(c, *args, timeout=600):
    r = subprocess.run(list(args), cwd=c["root"], env=c["env"], capture_output=True, text=True, timeout=timeout)
    return r


def _pytest(c, *args):
    return _run(c, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *args)


STAT_MODULE = '''"""A throwaway statistic (tests CONTRIBUTING's recipe): the ratio of two counts, log-method CI."""
from __future__ import annotations

import numpy as np
from scipy import stats as st

from ._result import CIResult, normalise_confidence


def count_ratio(x1, x2, confidence=0.95) -> CIResult:
    """x1 / x2 for Poisson counts, CI exp(log(r) -/+ z sqrt(1/x1 + 1/x2))."""
    conf = normalise_confidence(confidence)
    scalar = np.ndim(x1) == 0 and np.ndim(x2) == 0
    a, b = np.atleast_1d(np.asarray(x1, float)), np.atleast_1d(np.asarray(x2, float))
    r = a / b
    se = np.sqrt(1 / a + 1 / b)
    limits = {c: (r * np.exp(-st.norm.ppf(0.5 + c / 2) * se), r * np.exp(st.norm.ppf(0.5 + c / 2) * se))
              for c in conf}
    return CIResult.build(r, limits, "log method", conf, "count ratio", scalar)
'''

STAT_TEST = '''import pytest

from rrlib.stats import count_ratio


def test_count_ratio_by_hand():
    r = count_ratio(100, 50)
    assert r.value == 2.0
    # exp(log(2) -/+ 1.959964 * sqrt(1/100 + 1/50)) = exp(0.693147 -/+ 0.339476)
    assert r.lower == pytest.approx(1.4243, abs=1e-4) and r.upper == pytest.approx(2.8084, abs=1e-4)
'''


def test_add_a_statistic(tmp_path):
    c = _copy(tmp_path)
    root = c["root"]
    (root / "src" / "rrlib" / "stats" / "throwaway.py").write_text(STAT_MODULE)
    init = root / "src" / "rrlib" / "stats" / "__init__.py"
    init.write_text(init.read_text() + '\nfrom .throwaway import count_ratio  # noqa: E402\n\n'
                    '__all__ += ["count_ratio"]\n')
    (root / "tests" / "unit" / "test_stats_throwaway.py").write_text(STAT_TEST)
    r = _pytest(c, "tests/unit/test_stats_throwaway.py", "tests/unit/test_layers.py")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


def test_add_a_claim(tmp_path):
    results = paths.ROOT / "reports" / "results"
    if not (results / "reach.json").exists():
        pytest.fail("the default run's results are absent: `make test` runs `make all` first")
    c = _copy(tmp_path)
    root = c["root"]
    value = json.loads((results / "reach.json").read_text())["results"]["reach.opportunities.young_people"]["value"]
    entry = textwrap.dedent(f"""
        - id: C-throwaway
          part: null
          chapter: reach
          statement: a throwaway claim (tests CONTRIBUTING's recipe)
          published: {value}
          unit: count
          tolerance: {{absolute: 0}}
          source: CONTRIBUTING.md
          key: reach.opportunities.young_people
          data: synthetic
        """)
    (root / "claims.yml").write_text((root / "claims.yml").read_text() + entry)
    out = tmp_path / "out"
    shutil.copytree(results, out / "results")
    r = _run(c, sys.executable, "-m", "rrlib", "claims", "--out-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [x for x in json.loads((out / "claims.json").read_text()) if x["id"] == "C-throwaway"]
    assert len(rows) == 1 and rows[0]["status"] == "reproduced", rows


CUT_MODULE = '''"""Cut: a throwaway public table (tests CONTRIBUTING's recipe)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Cut


def make(full: Path) -> pd.DataFrame:
    """The Blackpool rows of the full file, as text."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    return d[d["area"].eq("Blackpool")].reset_index(drop=True)


CUT = Cut(
    name="throwaway_counts",
    source="throwaway/full.csv",
    sha256="{sha}",
    citation="Office for Throwaway Statistics (2024). Counts by area. Official statistics.",
    make=make,
    description="Counts for Blackpool.",
)
'''

PUBLIC_REGISTRATION = '''

# --------------------------------------------------------------------------- throwaway counts
def load_throwaway_counts(path: str | Path | None = None) -> pd.DataFrame:
    """The throwaway counts (typed and checked)."""
    path = Path(path) if path is not None else TABLES["throwaway_counts"].path
    raw = _read_text_csv(path)
    _check_columns(raw, ["area", "year", "count"], path)
    problems: list[str] = []
    out = raw[["area", "year"]].copy()
    out["count"] = _numeric(raw, "count", problems, integer=True)
    if problems:
        raise PublicDataError(path, problems)
    return _pandera(out, pa.DataFrameSchema({"count": pa.Column(float, pa.Check.ge(0))}), path)


from .cuts import throwaway_counts as _throwaway_cut  # noqa: E402

register_cut(_throwaway_cut.CUT, title="Throwaway counts", reader=load_throwaway_counts)
'''


def test_add_a_public_data_source(tmp_path):
    c = _copy(tmp_path)
    root = c["root"]
    full = root.parent / "shared" / "data" / "throwaway" / "full.csv"   # ../shared/data of the copy
    full.parent.mkdir(parents=True)
    full.write_text("area,year,count\nBlackpool,2016/17,12\nEngland,2016/17,4000\nBlackpool,2017/18,15\n")
    sha = hashlib.sha256(full.read_bytes()).hexdigest()
    (root / "src" / "rrlib" / "cuts" / "throwaway_counts.py").write_text(CUT_MODULE.replace("{sha}", sha))
    r = _run(c, sys.executable, "-m", "rrlib", "cut", "throwaway_counts")
    assert r.returncode == 0, r.stderr[-3000:]
    shipped = root / "data" / "raw" / "public" / "throwaway_counts.csv"
    assert shipped.read_text() == "area,year,count\nBlackpool,2016/17,12\nBlackpool,2017/18,15\n"
    readme = root / "data" / "raw" / "public" / "README.md"
    readme.write_text(readme.read_text() + textwrap.dedent(f"""
        ## throwaway_counts.csv

        **What.** Counts for Blackpool. **Citation.** See `src/rrlib/cuts/throwaway_counts.py`.
        **How it was cut.** `rr cut throwaway_counts` from `../shared/data/throwaway/full.csv`, sha256 `{sha}`.
        """))
    public = root / "src" / "rrlib" / "public.py"
    public.write_text(public.read_text() + PUBLIC_REGISTRATION)
    r = _run(c, sys.executable, "-c", "from rrlib import public; t = public.TABLES['throwaway_counts']; "
             "df = public.load('throwaway_counts'); print(t.citation); print(int(df['count'].sum()))")
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split("\n")[:2] == ["Office for Throwaway Statistics (2024). Counts by area. Official statistics.",
                                        "27"]
    r = _pytest(c, "tests/unit/test_cuts.py", "-k", "throwaway_counts")
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
