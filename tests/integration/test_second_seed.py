"""The whole pipeline, through Make, on a second generated data folder (another seed, smaller scale:
the suite's shared small run, ``tests/integration/conftest.py``).

What a researcher does with their own data: `make all DATA_DIR=... OUT_DIR=...`. Every chapter must
run without edits, write its results, and recompute its numbers from *that* data: checked here
against direct counts on the raw files, and against the shipped data's run where it exists. The
committed reference figures must not be touched.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rrlib import chapter, paths
from rrlib.results import official_only

pytestmark = pytest.mark.slow

SEED = 7


@pytest.fixture(scope="module")
def run(small_run):
    """The shared small run (``tests/integration/conftest.py``): seed 7, scale 0.25, through Make."""
    assert small_run["seed"] == SEED
    return small_run


def results(out: Path, name: str) -> dict:
    return json.loads((out / "results" / f"{name}.json").read_text())["results"]


def raw(data: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(data / f"{table}.csv.gz", dtype=str)


def test_every_chapter_ran_and_wrote_its_results(run):
    for name, nb in chapter.NOTEBOOKS.items():
        if not (paths.NOTEBOOKS_DIR / nb).exists():
            continue
        assert (run["out"] / "notebooks" / nb).exists(), f"{nb} did not run"
        doc = json.loads((run["out"] / "results" / f"{name}.json").read_text())
        if official_only(doc):   # chapter 6 reads no data folder
            assert doc["data"]["synthetic"] is False
        else:
            assert doc["data"]["synthetic"] is True and doc["data"]["seed"] == SEED
        assert doc["results"], f"{name}: no results recorded"
    assert (run["out"] / "claims.json").exists() and (run["out"] / "index.html").exists()


def test_reference_figures_untouched(run):
    assert run["figures_before"] == run["figures_after"]
    assert (run["out"] / "figures").is_dir() and any((run["out"] / "figures").glob("*.svg"))


def test_opportunities_equal_a_direct_count(run):
    att = raw(run["data"], "attendance")
    direct = int(((att["role"] == "young_person") & (att["attended"].str.lower() == "true")).sum())
    assert results(run["out"], "reach")["reach.opportunities.young_people"]["value"] == direct


def test_town_suspension_rate_equals_a_direct_count(run):
    """DfE's Total: state-funded primary, secondary and special schools (alternative provision is outside)."""
    schools = raw(run["data"], "schools")
    in_total = set(schools.loc[schools["phase"] != "alternative_provision", "school_id"])
    pupils, excl = raw(run["data"], "pupils"), raw(run["data"], "exclusions")
    pupils, excl = pupils[pupils["school_id"].isin(in_total)], excl[excl["school_id"].isin(in_total)]
    year = "2018/19"
    direct = 100 * ((excl["category"] == "suspension") & (excl["academic_year"] == year)).sum() \
        / (pupils["academic_year"] == year).sum()
    got = results(run["out"], "exclusions")["exclusions.town.y2018_19.suspension_rate"]["value"]
    assert got == pytest.approx(direct, rel=1e-12)


def test_wmf_first_wave_pupils_equal_a_direct_count(run):
    wmf = raw(run["data"], "wmf_survey")
    direct = wmf.loc[wmf["wave"] == wmf["wave"].min(), "respondent_id"].nunique()
    assert results(run["out"], "wmf")["wmf.sample.first_wave.pupils"]["value"] == direct


def test_numbers_change_with_the_data(run):
    shipped = paths.ROOT / "reports" / "results" / "reach.json"
    if not shipped.exists():
        pytest.skip("the shipped data's run (make all) has not been made in this checkout")
    a = json.loads(shipped.read_text())["results"]["reach.opportunities.young_people"]["value"]
    b = results(run["out"], "reach")["reach.opportunities.young_people"]["value"]
    assert a != b
