"""Fast tests of rrlib.devtools.bench: the replication behind the scale runs, the report table, one tiny step."""
from __future__ import annotations

import pandas as pd
import pytest

from rrlib.devtools import bench


def _tables():
    schools = pd.DataFrame({"school_id": ["S001", "S002"], "phase": ["primary", "secondary"]})
    pupils = pd.DataFrame({"pupil_id": ["P0000007", "P0000003", "P0000007"],
                           "academic_year": ["2016/17", "2016/17", "2017/18"],
                           "school_id": ["S001", "S002", "S002"], "fsm": [True, False, True]})
    excl = pd.DataFrame({"exclusion_id": ["E0000001", "E0000002"], "pupil_id": ["P0000007", None],
                         "school_id": ["S002", "S001"], "sessions": [2, 4]})
    pop = pd.DataFrame({"area": ["Blackpool"] * 2, "year": [2016, 2017], "population": [100, 120]})
    return {"schools": schools, "pupils": pupils, "exclusions": excl, "population": pop}


def test_replicate_k1_is_identity():
    df = _tables()["pupils"]
    assert bench.replicate(df, 1) is df


def test_replicate_tables_rows_ids_and_keys():
    t = _tables()
    r = bench.replicate_tables(t, 3)
    assert len(r["pupils"]) == 9 and len(r["exclusions"]) == 6 and len(r["schools"]) == 6
    # same formats (prefix, digit width) as the originals
    assert r["pupils"]["pupil_id"].str.fullmatch(r"P\d{7}").all()
    assert r["schools"]["school_id"].str.fullmatch(r"S\d{3}").all()
    assert r["exclusions"]["exclusion_id"].is_unique
    # copies never share an identifier; within a copy the same pupil keeps one identifier
    assert not r["pupils"].duplicated(["pupil_id", "academic_year"]).any()
    assert r["pupils"]["pupil_id"].nunique() == 2 * 3
    # foreign keys still hold, missing stays missing
    e = r["exclusions"]
    assert e["pupil_id"].dropna().isin(r["pupils"]["pupil_id"]).all()
    assert e["school_id"].isin(r["schools"]["school_id"]).all()
    assert e["pupil_id"].isna().sum() == 3
    # the copy of a row points to the copy of its pupil: row 0 of copy 2 is row 0 of pupils' copy 2
    assert e["pupil_id"].iloc[4] == r["pupils"]["pupil_id"].iloc[6]
    # non-identifier columns are copied unchanged, population counts are multiplied
    assert r["pupils"]["fsm"].tolist() == t["pupils"]["fsm"].tolist() * 3
    assert r["population"]["population"].tolist() == [300, 360]
    assert len(r["population"]) == 2


def test_replicate_widens_ids_only_when_needed():
    df = pd.DataFrame({"goal_id": [f"G{i:02d}" for i in range(1, 41)]})
    r = bench.replicate(df, 5)  # 200 distinct values do not fit two digits
    assert r["goal_id"].is_unique and r["goal_id"].str.fullmatch(r"G\d{3}").all()


def test_growth_and_markdown():
    steps = [{"step": "dsr", "scale": 1, "seconds": 0.1, "rows": 10, "peak_rss_mb": 100.0},
             {"step": "dsr", "scale": 10, "seconds": 0.5, "rows": 100, "peak_rss_mb": 120.0},
             {"step": "validate", "scale": 1, "seconds": 2.0, "rows": 10, "peak_rss_mb": 100.0},
             {"step": "validate", "scale": 10, "error": "stopped after 5 s"}]
    g = bench.growth(steps)
    assert g == {"dsr": {"10/1": 5.0}, "validate": {}}
    doc = {"machine": {"cores": 2, "memory_gb": 23.5, "python": "3.11"}, "when": "now",
           "make": {"full": {"seconds": 60.0, "exit": 0}, "noop": {"seconds": 0.9, "exit": 0}},
           "naive": {"per_notebook": {"01_reach.ipynb": {"seconds": 30.0, "exit": 0}}, "total_seconds": 30.0},
           "full_over_naive": 2.0,
           "chapters": [{"notebook": "01_reach.ipynb", "wall_seconds": 20.0, "kernel_start_seconds": 1.5,
                         "setup_cell_seconds": 4.0, "analysis_cells_seconds": 14.0, "other_seconds": 0.5}],
           "steps": steps, "growth": g}
    md = bench.markdown(doc)
    assert "2 cores, 23.5 GB" in md
    assert "| no-op (nothing changed) | 0.9 | 0 |" in md
    assert "stopped after 5 s" in md
    assert "| dsr |" in md and "5.00" in md
    assert "**2.0**" in md
    # the best a 2-core machine allows: serial phases 4 + 1 + 5 = 10 s over 40 s, plus 1/2
    assert bench.ratio_bound({"prepare": 4.0, "chapters": 20.0, "claims": 1.0, "report": 5.0}, 40.0, 2) == 0.75
    assert bench.ratio_bound({"prepare": 4.0}, 40.0, 2) is None
    md = bench.markdown({**doc, "full_over_naive_bound": 0.75})
    assert "What 2 cores allow when the chapters cost what the baseline's notebooks cost" in md
    assert "**0.75**" in md
    # rounds: the median round is reported, every round listed; steps taken from an earlier run
    assert bench._median_round([47.6, 30.2, 39.4]) == 2 and bench._median_round([3.0, 1.0]) == 1
    rounds = {**doc, "make": {"full": {"seconds": 39.4, "exit": 0, "rounds": [47.6, 30.2, 39.4]}},
              "naive": {**doc["naive"], "rounds": [40.0, 30.0, 41.0]}, "full_over_naive_rounds": [1.19, 1.01, 0.96],
              "steps_source": {"file": "/tmp/old/bench.json", "commit": "6c0531d24a99", "when": "2026-11-22 05:45 UTC"}}
    md = bench.markdown(rounds)
    assert "Full runs, every round (the median is shown above): 47.6 s, 30.2 s, 39.4 s." in md
    assert "full / naive per round: 1.19, 1.01, 0.96" in md
    assert "Steps measured by the earlier run of 2026-11-22 05:45 UTC (commit 6c0531d24a)" in md


@pytest.mark.slow
def test_tiny_step_runs_in_a_fresh_process():
    r = bench.run_step("dsr", 2, timeout=300)
    assert "error" not in r, r
    assert r["seconds"] > 0 and r["peak_rss_mb"] > 0 and r["rows"] > 0
    assert r["peak_scope"] == "timed rrlib work (inputs in memory)"
