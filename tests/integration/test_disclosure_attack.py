"""Linear-programming attack on every published table (issue 15).

For each ``<out>/tables/<name>.csv`` with its ``<name>.disclosure.json``, the attacker takes every
relation the record declares or detected (totals, linked variable/category sums, total rows and
columns, external group totals), the published cells (rounded ones as ranges), that a primary
suppressed count is 1..threshold and any other suppressed count is >= 0, and computes each
suppressed cell's feasible interval with :func:`scipy.optimize.linprog`
(:func:`rrlib.disclosure.attack`). No interval may be narrower than the primary range.

Run on the default run's ``reports/tables`` (when ``make all`` has made it) and on every output
folder named in ``RR_ATTACK_DIRS`` (colon-separated; the determinism test attacks its own
small-scale run).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from rrlib import disclosure, paths


def attack_folder(tables: Path) -> dict[str, dict]:
    return disclosure.attack_folder(tables)


def folders() -> list[Path]:
    dirs = [paths.ROOT / "reports" / "tables"]
    dirs += [Path(p) / "tables" for p in os.environ.get("RR_ATTACK_DIRS", "").split(":") if p]
    return dirs


@pytest.mark.parametrize("tables", folders(), ids=lambda p: str(p))
def test_no_suppressed_cell_is_narrower_than_the_rule(tables):
    if not tables.is_dir() or not any(tables.glob("*.disclosure.json")):
        pytest.skip(f"no published tables in {tables} (run `make all` first)")
    result = attack_folder(tables)
    for name, r in result.items():
        print(f"{name}: {r['suppressed']} suppressed cells, {len(r['narrow'])} narrower than the rule")
    bad = {n: r["narrow"][:3] for n, r in result.items() if r["narrow"]}
    assert not bad, f"suppressed cells recoverable (LP interval narrower than the rule): {bad}"
