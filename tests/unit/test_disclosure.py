"""Tests of rrlib.disclosure: NHS HES (1-7 suppressed, round to 5) and DfE (1-2 suppressed)
rules, GSS symbols (c, z, low), secondary suppression against declared totals, derived
cells, deterministic atomic publication, and the check() scanner.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rrlib import disclosure as d

MARGINS = {"columns": {"all": ["boys", "girls"]}, "row": ("school", "Total")}


def table():
    return pd.DataFrame({"school": ["A", "B", "C", "Total"], "boys": [10, 1, 20, 31],
                         "girls": [12, 15, 2, 29], "all": [22, 16, 22, 60]})


def test_dfe_primary_suppression_only_1_and_2():
    t = pd.DataFrame({"area": list("abcde"), "n": [0, 1, 2, 3, 100]})
    out, rec = d.apply(t, preset="dfe", counts=["n"])
    assert out["n"].tolist() == ["0", "c", "c", "3", "100"]
    assert rec["n_primary"] == 2 and rec["n_secondary"] == 0
    assert rec["cells"][0] == {"key": {"area": "b"}, "column": "n", "rule": "primary"}


def test_nhs_suppresses_1_to_7_and_rounds_to_5():
    t = pd.DataFrame({"area": list("abcdefg"), "n": [0, 1, 7, 8, 12, 13, 1002]})
    out, _ = d.apply(t, preset="nhs", counts=["n"])
    assert out["n"].tolist() == ["0", "c", "c", "10", "10", "15", "1000"]


def test_custom_threshold_and_low_symbol():
    t = pd.DataFrame({"k": [1, 2], "n": [4, 6], "pct": [0.04, 12.345]})
    out, rec = d.apply(t, preset=None, threshold=5, counts=["n"], derived={"pct": "n"}, decimals=1)
    assert out["n"].tolist() == ["c", "6"] and out["pct"].tolist() == ["c", "12.3"]
    assert rec["rules"]["preset"] == "custom"
    out, _ = d.apply(pd.DataFrame({"n": [2, 0, 12]}), preset=None, threshold=0, rounding=10, counts=["n"])
    assert out["n"].tolist() == ["low", "0", "10"]
    out, _ = d.apply(pd.DataFrame({"n": [50], "pct": [0.01]}), counts=["n"], derived={"pct": "n"}, decimals=1)
    assert out["pct"].tolist() == ["low"]


def test_missing_is_not_applicable():
    out, _ = d.apply(pd.DataFrame({"n": [5.0, np.nan], "rate": [1.5, np.nan]}), counts=["n"],
                     derived={"rate": "n"})
    assert out["n"].tolist() == ["5", "z"] and out["rate"].tolist() == ["1.5", "z"]


def test_secondary_suppression_table_with_margins():
    out, rec = d.apply(table(), counts=["boys", "girls", "all"], totals=MARGINS)
    # B boys (1) and C girls (2) primary. The 2x2 pattern (B girls, C boys) is not enough once
    # bounds count: boys B + boys C = 21 and boys C = 22 - girls C >= 20 pin boys B to 1.
    # Suppressing row A as well (a 3x2 pattern) leaves every cell a range.
    assert out["boys"].tolist() == ["c", "c", "c", "31"]
    assert out["girls"].tolist() == ["c", "c", "c", "29"]
    assert out["all"].tolist() == ["22", "16", "22", "60"]
    assert rec["n_primary"] == 2 and rec["n_secondary"] == 4
    assert d.check(out, "dfe", counts=["boys", "girls", "all"], totals=MARGINS) == []
    hits = d.attack(out, json.loads(json.dumps(rec)))
    assert len(hits) == 6 and all(h["ok"] for h in hits), hits
    assert {(h["row"], h["column"]): (h["lower"], h["upper"]) for h in hits}[(1, "boys")] == (1.0, 2.0)


def test_2x2_pattern_leaks_through_bounds():
    """The classic 2x2 pattern: no cell is determined by the relations alone, yet the bounds
    (a suppressed count is 1..threshold, others >= 0) pin boys B to 1: the LP attack sees it."""
    out = table().astype(str)
    out.loc[1, ["boys", "girls"]] = "c"
    out.loc[2, ["boys", "girls"]] = "c"
    rec = {"counts": ["boys", "girls", "all"], "rules": {"threshold": 2, "rounding": None},
           "totals": MARGINS, "linked": [],
           "cells": [{"key": {"school": "B"}, "column": "boys", "rule": "primary"},
                     {"key": {"school": "C"}, "column": "girls", "rule": "primary"},
                     {"key": {"school": "B"}, "column": "girls", "rule": "secondary"},
                     {"key": {"school": "C"}, "column": "boys", "rule": "secondary"}]}
    hits = {(h["row"], h["column"]): h for h in d.attack(out, rec)}
    assert (hits[(1, "boys")]["lower"], hits[(1, "boys")]["upper"]) == (1.0, 1.0)
    assert not hits[(1, "boys")]["ok"]


def test_long_variable_table_is_linked_automatically():
    """exclusions_who_is_suspended: each variable's categories add up to the same total, so a
    single suppressed category is the difference of two sums (1092 - 1090 = 2), and three
    suppressed categories adding up to 3 are each 1. Detected without declaring totals."""
    who = pd.DataFrame({"variable": ["sex", "sex"] + ["eth"] * 5,
                        "category": ["F", "M", "A", "B", "C", "D", "W"],
                        "events": [313, 779, 6, 9, 2, 66, 1009]})
    out, rec = d.apply(who, counts=["events"], id_cols=["variable", "category"])
    assert rec["linked"] and rec["linked"][0]["kind"] == "equal_totals"
    assert rec["n_secondary"] >= 1
    hits = d.attack(out, json.loads(json.dumps(rec)))
    assert hits and all(h["ok"] for h in hits), hits
    three = pd.DataFrame({"variable": ["sex", "sex"] + ["eth"] * 5,
                          "category": ["F", "M", "A", "B", "C", "D", "W"],
                          "events": [300, 700, 1, 1, 1, 97, 900]})
    out, rec = d.apply(three, counts=["events"], id_cols=["variable", "category"])
    hits = d.attack(out, json.loads(json.dumps(rec)))
    assert all(h["ok"] for h in hits), hits
    # before: primary suppression alone pins each of the three to 1
    naive, rec0 = d.apply(three, counts=["events"], id_cols=["variable", "category"], detect=False)
    rec0 = json.loads(json.dumps(rec0))
    rec0["linked"] = rec["linked"]
    assert not all(h["ok"] for h in d.attack(naive, rec0))


def test_secondary_suppression_long_table_within_groups():
    t = pd.DataFrame({"year": [2020] * 3 + [2021] * 3, "group": list("xyz") * 2,
                      "n": [1, 30, 40, 5, 6, 7], "rate": [0.1, 3.0, 4.0, 0.5, 0.6, 0.7]})
    out, rec = d.apply(t, counts=["n"], derived={"rate": "n"},
                       totals={"groups": ["year"], "external": True})
    assert out["n"].tolist() == ["c", "c", "40", "5", "6", "7"]   # 30 protects the 1 in 2020
    assert out["rate"].tolist() == ["c", "c", "4.0", "0.5", "0.6", "0.7"]
    assert [c["rule"] for c in rec["cells"] if c["column"] == "n"] == ["primary", "secondary"]
    assert rec["n_derived"] == 2
    # without declared totals the rows are independent: no secondary suppression
    out2, _ = d.apply(t, counts=["n"])
    assert out2["n"].tolist() == ["c", "30", "40", "5", "6", "7"]


def test_suppressed_total_row_needs_two_cells():
    t = pd.DataFrame({"school": ["A", "B", "Total"], "n": [1, 1, 2]})
    out, _ = d.apply(t, counts=["n"], totals={"row": ("school", "Total")})
    assert out["n"].tolist() == ["c", "c", "c"]
    assert d.check(out, counts=["n"], totals={"row": ("school", "Total")}) == []


def test_publish_writes_deterministic_csv_and_record(tmp_path):
    out, rec = d.publish(table(), "by_school", tmp_path, counts=["boys", "girls", "all"], totals=MARGINS)
    csv = (tmp_path / "by_school.csv").read_bytes()
    meta = (tmp_path / "by_school.disclosure.json").read_bytes()
    assert csv.decode().splitlines()[0] == "school,boys,girls,all"
    assert b"\r" not in csv and b",c," in csv
    d.publish(table(), "by_school", tmp_path, counts=["boys", "girls", "all"], totals=MARGINS)
    assert (tmp_path / "by_school.csv").read_bytes() == csv
    assert (tmp_path / "by_school.disclosure.json").read_bytes() == meta
    j = json.loads(meta)
    assert j["table"] == "by_school.csv" and j["n_primary"] == 2
    assert all(set(c) == {"key", "column", "rule"} for c in j["cells"])  # never the values
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    back = pd.read_csv(tmp_path / "by_school.csv", dtype=str)
    assert d.check(back, "dfe", counts=["boys", "girls", "all"], totals=MARGINS) == []


def test_check_finds_violations():
    bad = pd.DataFrame({"school": ["A", "B", "C", "Total"], "boys": ["10", "c", "20", "31"],
                        "girls": ["2", "12", "what", "29"], "rate": ["1.0", "0.5", "2.0", "3.0"]})
    v = d.check(bad, "dfe", counts=["boys", "girls"], derived={"rate": ["boys"]},
                totals={"row": ("school", "Total")})
    rules = {(x["row"], x["column"], x["rule"].split(" (")[0]) for x in v}
    assert (0, "girls", "count 1-2 shown") in rules
    assert (2, "girls", "not a number or a known symbol") in rules
    assert (1, "rate", "derived value shown although a count it depends on is suppressed") in rules
    assert (1, "boys", "suppressed cell recoverable from the totals") in rules
    nhs = d.check(pd.DataFrame({"n": [12, 10, "c"]}), "nhs", counts=["n"])
    assert [x["rule"] for x in nhs] == ["count not rounded to 5 (nhs)"]


@pytest.mark.parametrize("kwargs,msg", [
    ({"preset": "ons"}, "unknown disclosure preset"),
    ({"preset": None}, "threshold"),
    ({"counts": ["nope"]}, "not in the table"),
    ({"counts": ["boys"], "derived": {"all": ["girls"]}}, "not declared counts"),
    ({"counts": []}, "declare the count columns"),
    ({"totals": {"row": ("school", "Everyone")}}, "exactly one total row"),
])
def test_apply_errors(kwargs, msg):
    args = {"preset": "dfe", "counts": ["boys", "girls", "all"], **kwargs}
    with pytest.raises(ValueError, match=msg):
        d.apply(table(), **args)


def test_empty_and_bad_name(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        d.apply(pd.DataFrame({"n": []}), counts=["n"])
    with pytest.raises(ValueError, match="invalid table name"):
        d.publish(table(), "../x", tmp_path, counts=["boys"])


@st.composite
def margin_tables(draw):
    r = draw(st.integers(2, 4))
    c = draw(st.integers(2, 3))
    cells = np.array(draw(st.lists(st.integers(0, 12), min_size=r * c, max_size=r * c))).reshape(r, c)
    cols = [f"c{j}" for j in range(c)]
    t = pd.DataFrame(cells, columns=cols)
    t["total"] = t[cols].sum(axis=1)
    t.insert(0, "label", [f"r{i}" for i in range(r)])
    tot = t[cols + ["total"]].sum().to_frame().T
    tot.insert(0, "label", "Total")
    return pd.concat([t, tot], ignore_index=True), cols


@settings(max_examples=40, deadline=None)
@given(margin_tables(), st.sampled_from(["dfe", "nhs"]))
def test_property_no_small_cell_and_nothing_recoverable(tm, preset):
    t, cols = tm
    counts = cols + ["total"]
    totals = {"columns": {"total": cols}, "row": ("label", "Total")}
    out, rec = d.apply(t, preset=preset, counts=counts, totals=totals)
    threshold = d.PRESETS[preset].threshold
    for c in counts:
        for v in out[c]:
            if v not in ("c", "z", "low"):
                assert not (0 < int(v) <= threshold)
    # the suppressed pattern is safe against the true table's relations
    if preset == "dfe":
        assert d.check(out, preset, counts=counts, totals=totals) == []
    sup = np.array([[v == "c" for v in out[c]] for c in counts]).T.reshape(-1)
    rels = d._relations(t, counts, d.Totals.coerce(totals))
    assert not d._recoverable(rels, np.flatnonzero(sup)).any()
    assert rec["n_primary"] + rec["n_secondary"] == int(sup.sum())


@pytest.mark.parametrize("order", ["fine first", "coarse first"])
def test_tables_sharing_margins_are_protected_together(tmp_path, order):
    """A table by area and sex and a table by area (its margin), published in either order into
    the same folder: the link is detected and the LP attack on both tables together recovers
    nothing (without the link, 1 = 41 - 40)."""
    fine = pd.DataFrame({"area": ["a", "a", "b", "b"], "sex": ["F", "M", "F", "M"], "n": [1, 40, 30, 31]})
    coarse = fine.groupby("area", as_index=False)["n"].sum()
    first, second = (("fine", fine), ("coarse", coarse)) if order == "fine first" else \
        (("coarse", coarse), ("fine", fine))
    for name, df in (first, second):
        d.publish(df, name, tmp_path, counts=["n"])
    recs = {n: json.loads((tmp_path / f"{n}.disclosure.json").read_text()) for n in ("fine", "coarse")}
    pub = pd.read_csv(tmp_path / "fine.csv", dtype=str, keep_default_na=False)
    margins = [m for m in recs["fine"]["margins"] if m["direction"] == "coarser"]
    margins += [{**m, "table": "coarse", "direction": "coarser"} for m in recs["coarse"]["margins"]
                if m["direction"] == "finer"]
    assert margins, recs
    hits = d.attack(pub, recs["fine"], tables_dir=tmp_path, margins=margins)
    assert hits and all(h["ok"] for h in hits), hits
    # the same tables published apart (no link): the attack with the margin recovers the 1
    lone = tmp_path / "lone"
    d.publish(fine, "fine", lone, counts=["n"])
    d.publish(coarse, "coarse", lone / "x", counts=["n"])
    (lone / "coarse.csv").write_bytes((lone / "x" / "coarse.csv").read_bytes())
    rec = json.loads((lone / "fine.disclosure.json").read_text())
    pub = pd.read_csv(lone / "fine.csv", dtype=str, keep_default_na=False)
    hits = d.attack(pub, rec, tables_dir=lone, margins=[{"table": "coarse", "by": ["area"], "columns": ["n"],
                                                          "direction": "coarser"}])
    assert not all(h["ok"] for h in hits)
