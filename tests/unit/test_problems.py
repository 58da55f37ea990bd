"""``rrlib.data.problems.schema_problems``: a pandera schema's failures as problems.

Its table-wide rules are called by rrlib itself, not through ``schema.validate`` (pandera reshapes every
column of every failing row of such a rule, row by row: seconds for a rule that ten thousand rows of the
81-column survey break). These tests pin the problems to what pandera's own lazy validation reports.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pandera.errors as pe
import pandera.pandas as pa

from rrlib.data.problems import schema_problems


def _rows_over_one(df):
    return df["a"] > 1


def _raises(df):
    return df["absent"] > 0


def _never(df):
    return False


def _cells(df):
    return df[["a", "b"]] >= 0


SCHEMA = pa.DataFrameSchema(
    {"a": pa.Column(int, pa.Check.ge(0)), "b": pa.Column(int)},
    checks=[pa.Check(_rows_over_one, name="a over one"), pa.Check(_raises, name="raises"),
            pa.Check(_never, name="never holds"), pa.Check(_cells, name="cells not negative"),
            pa.Check(lambda df: df["b"] < 100, name="b under 100")])


def _pandera_frame_failures(schema, df) -> dict[str, list[int]]:
    """Pandera's own report: the failing row labels of each table-wide rule."""
    try:
        schema.validate(df, lazy=True)
        return {}
    except pe.SchemaErrors as exc:
        fc = exc.failure_cases
    fc = fc[fc["schema_context"] == "DataFrameSchema"]
    return {c: sorted(pd.to_numeric(g["index"], errors="coerce").dropna().astype(int).unique().tolist())
            for c, g in fc.groupby("check", sort=False)}


def test_table_wide_rules_fail_the_rows_pandera_fails():
    df = pd.DataFrame({"a": [-1, 2, 0, 5, 1], "b": [3, -4, 5, 6, 200]})
    problems = schema_problems(SCHEMA, df, "t.csv")
    ours = {p.rule: p for p in problems}
    theirs = _pandera_frame_failures(SCHEMA, df)
    assert set(theirs) == {"a over one", "raises", "never holds", "cells not negative", "b under 100"}
    assert [p.rule for p in problems[:len(theirs)]] == [c.name for c in SCHEMA.checks]  # the schema's order first
    for rule, rows in theirs.items():
        p = ours[rule]
        assert p.count == len(rows), rule
        assert [line for line, _ in p.rows] == [i + 2 for i in rows][:len(p.rows)], rule
    assert ours["raises"].count == 0 and ours["never holds"].count == 0      # failed with no row named
    assert ours["a over one"].rows[0] == (2, {"a": -1})                      # line 2: the first data row
    assert ours["b under 100"].rows == [(6, {"b": 200})]
    # the column rule is still pandera's: a >= 0 broken on line 2
    col = [p for p in problems if p.column == "a" and "greater" in p.rule]
    assert col and col[0].rows == [(2, -1)]


def test_a_passing_frame_gives_no_problem():
    df = pd.DataFrame({"a": [2, 3], "b": [1, 2]})
    schema = pa.DataFrameSchema({"a": pa.Column(int), "b": pa.Column(int)},
                                checks=[pa.Check(_rows_over_one, name="a over one")])
    assert schema_problems(schema, df, "t.csv") == []


def test_a_rule_ten_thousand_wide_rows_break_is_reported_at_once():
    n, width = 10_000, 80
    df = pd.DataFrame(np.zeros((n, width), dtype=int), columns=[f"c{i}" for i in range(width)])
    df = df.rename(columns={"c0": "a"})
    schema = pa.DataFrameSchema({"a": pa.Column(int)}, checks=[pa.Check(_rows_over_one, name="a over one")])
    t = time.perf_counter()
    (p,) = schema_problems(schema, df, "wide.csv")
    elapsed = time.perf_counter() - t
    assert p.count == n and p.column == "a" and p.rows[0] == (2, {"a": 0})
    assert elapsed < 2.0, f"{elapsed:.1f} s (pandera's own reshaping took about 3 s here)"
