"""The attack on everything a run releases (issues 15 and 27).

For each run, the attacker reads every ``<out>/tables/<name>.csv`` with its ``<name>.disclosure.json``
and every figure's data (``<figures>/<name>.data.csv`` with its record) together
(:func:`rrlib.disclosure.attack_run`): every relation a record declares or detected (totals, linked
variable/category sums, total rows and columns, external group totals), the group sums any other
table of the run publishes, the relations that follow from definitions (band movements, subsets capped
by their whole), the published cells (rounded ones as ranges), that a primary suppressed count is
1..threshold and any other suppressed count is >= 0; each suppressed cell's feasible interval by
linear programming. No interval may be narrower than the primary range; no figure may draw a value
its table suppresses; no statistic of a group under the rule's minimum may be shown; no degrees of
freedom may be more exact than the counts they follow.

Run on the default run (``reports/tables`` and ``figures/``, when ``make all`` has made them) and on
every output folder named in ``RR_ATTACK_DIRS`` (colon-separated; the determinism test attacks its
own small-scale run).
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from rrlib import disclosure, figures, paths


def attack_folder(tables: Path) -> dict[str, dict]:
    return disclosure.attack_folder(tables)


def folders() -> list[tuple[Path, Path]]:
    dirs = [(paths.ROOT / "reports" / "tables", paths.ROOT / "figures")]
    dirs += [(Path(p) / "tables", Path(p) / "figures") for p in os.environ.get("RR_ATTACK_DIRS", "").split(":") if p]
    return dirs


@pytest.mark.parametrize("run", folders(), ids=lambda p: str(p[0]))
def test_no_suppressed_cell_is_narrower_than_the_rule(run):
    tables, figs = run
    if not tables.is_dir() or not any(tables.glob("*.disclosure.json")):
        pytest.skip(f"no published tables in {tables} (run `make all` first)")
    result = disclosure.attack_run(tables, figs)
    for name, r in result["tables"].items():
        print(f"{name}: {r['suppressed']} suppressed cells, {len(r['narrow'])} narrower than the rule")
    print(f"run: {result['suppressed']} suppressed cells, {len(result['narrowed'])} narrowed")
    assert not result["narrowed"], f"suppressed cells recoverable (narrower than the rule): {result['narrowed'][:5]}"
    assert not result["statistics"], f"statistics of small groups shown: {result['statistics'][:5]}"
    assert not result["follows"], f"degrees of freedom more exact than their counts: {result['follows'][:5]}"


@pytest.mark.parametrize("run", folders(), ids=lambda p: str(p[0]))
def test_no_figure_draws_a_value_its_table_suppresses(run):
    tables, figs = run
    data = sorted(figs.glob(f"*{figures.DATA_SUFFIX}.csv")) if figs.is_dir() else []
    if not data:
        pytest.skip(f"no figure data in {figs} (run `make all` first)")
    checked = 0
    for f in data:
        rec = pd.read_json(f.with_name(f.name[:-4] + ".disclosure.json"), typ="series")
        drawn = pd.read_csv(f, dtype=str, keep_default_na=False)
        assert list(drawn.columns) == list(figures.DATA_COLUMNS), f.name
        for i, src in enumerate(rec.get("sources") or []):
            table = pd.read_csv(tables / f"{src['table']}.csv", dtype=str, keep_default_na=False)
            match = pd.Series(True, index=table.index)
            for k, v in src["key"].items():
                match &= table[k].astype(str) == str(v)
            assert match.sum() == 1, f"{f.name} row {i}: no single row {src['key']} in {src['table']}"
            row = table[match].iloc[0]
            for dcol, tcol in src["values"].items():
                if row[tcol].strip() == disclosure.SUPPRESSED:
                    assert drawn[dcol].iloc[i] in (disclosure.SUPPRESSED, disclosure.NOT_APPLICABLE), \
                        f"{f.name} draws {src['table']}.{tcol} of {src['key']}, which the table suppresses"
                elif drawn[dcol].iloc[i] not in (disclosure.SUPPRESSED, disclosure.NOT_APPLICABLE):
                    assert float(drawn[dcol].iloc[i]) == pytest.approx(float(row[tcol])), (f.name, i, dcol)
                checked += 1
    assert checked, "no figure data names the table it is drawn from"
