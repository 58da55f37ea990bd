"""Every published table of a run keeps the disclosure rules of its preset.

Scans ``<out>/tables/<name>.csv`` of the run chosen by ``RR_DATA_DIR`` / ``RR_OUT_DIR`` (default:
the shipped data's run in ``reports/``), one test per chapter: each table's provenance sidecar
(``<name>.json``) says the chapter and the preset, its disclosure record
(``<name>.disclosure.json``, written by :func:`rrlib.disclosure.publish`) says which columns are
counts, which are derived from them and which totals were declared; :func:`rrlib.disclosure.check`
re-reads the published cells and reports any cell that breaks the rules.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from rrlib import chapter, paths

pytestmark = pytest.mark.slow

LAYOUT = paths.layout()
TABLES = LAYOUT.tables_dir


def _json(p):
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def tables_of(name: str) -> list:
    if not TABLES.exists():
        return []
    out = []
    for csv in sorted(TABLES.glob("*.csv")):
        side = _json(csv.with_suffix(".json"))
        if side and side.get("chapter") == name:
            out.append(csv)
    return out


def test_every_published_table_has_provenance_and_a_disclosure_record():
    if not TABLES.exists() or not any(TABLES.glob("*.csv")):
        pytest.skip(f"no published tables in {TABLES}: run the pipeline first (make all)")
    problems = []
    for csv in sorted(TABLES.glob("*.csv")):
        side = _json(csv.with_suffix(".json"))
        if not side or not (side.get("disclosure") or {}).get("preset"):
            problems.append(f"{csv.name}: no provenance sidecar naming the disclosure preset")
        if not csv.with_name(csv.stem + ".disclosure.json").exists():
            problems.append(f"{csv.name}: no disclosure record (not published through rrlib.disclosure)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", list(chapter.NOTEBOOKS))
def test_published_tables_keep_the_disclosure_rules(name):
    from rrlib import disclosure

    tables = tables_of(name)
    if not tables:
        pytest.skip(f"chapter {name} has no published tables in {TABLES} (not run, or publishes none)")
    violations = []
    for csv in tables:
        side = _json(csv.with_suffix(".json"))
        record = _json(csv.with_name(csv.stem + ".disclosure.json"))
        if record is None:
            violations.append(f"{csv.name}: no disclosure record")
            continue
        preset = side["disclosure"]["preset"]
        rules = record.get("rules") or {}
        assert rules.get("preset") in (preset, None), \
            f"{csv.name}: sidecar says preset {preset!r}, disclosure record {rules.get('preset')!r}"
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
        kwargs = dict(counts=record["counts"], derived=record.get("derived") or None,
                      totals=record.get("totals"))
        if preset not in disclosure.PRESETS:
            kwargs.update(threshold=rules.get("threshold"), rounding=rules.get("rounding"))
            preset = None
        found = disclosure.check(df, preset, **kwargs)
        violations += [f"{csv.name} row {v['row']} column {v['column']} value {v['value']!r}: {v['rule']}"
                       for v in found]
    assert not violations, f"{len(violations)} disclosure violation(s):\n" + "\n".join(violations[:50])


def test_every_figure_data_keeps_the_rules_of_its_preset():
    """What each figure draws (``<figures>/<name>.data.csv``, issue 27) passes the same scan as a table,
    and shows no statistic of a group under the rule's minimum."""
    from rrlib import disclosure, figures

    data = sorted(LAYOUT.figures_dir.glob(f"*{figures.DATA_SUFFIX}.csv")) if LAYOUT.figures_dir.exists() else []
    if not data:
        pytest.skip(f"no figure data in {LAYOUT.figures_dir}: run the pipeline first (make all)")
    violations = []
    for csv in data:
        record = _json(csv.with_name(csv.name[:-4] + ".disclosure.json"))
        if record is None:
            violations.append(f"{csv.name}: no disclosure record")
            continue
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
        assert list(df.columns) == list(figures.DATA_COLUMNS), csv.name
        rules = record["rules"]
        found = disclosure.check(df, None, counts=record["counts"], derived=record.get("derived") or None,
                                 threshold=rules["threshold"], rounding=rules.get("rounding"))
        found += disclosure.statistics_findings(df, record)
        violations += [f"{csv.name} row {v['row']} column {v['column']}: {v['rule']}" for v in found]
    assert not violations, "\n".join(violations[:50])
