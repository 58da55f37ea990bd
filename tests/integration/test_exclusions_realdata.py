"""Chapter 2 on the real DfE statistics (SFR35/2017) beside the project.

Needs ``rrlib.paths.SHARED_DATA_DIR / "dfe-exclusions-sfr35-2017"`` (the DfE files are never
copied into the project); skipped with a reason when it is absent.
"""
from __future__ import annotations

import csv
import json

import pytest

from rrlib import paths, public
from rrlib.chapters import exclusions as X

DFE_DIR = paths.SHARED_DATA_DIR / "dfe-exclusions-sfr35-2017"
LA_FILE = DFE_DIR / "clean_la_data.csv"
NATIONAL_FILE = DFE_DIR / "SFR35_2017_National_characteristics.csv"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not (LA_FILE.exists() and NATIONAL_FILE.exists()),
                       reason=f"real DfE exclusion statistics absent ({DFE_DIR})"),
]

#: Blackpool 2016/17, all state-funded and special schools (DfE SFR35/2017, published).
PUBLISHED = {"suspension": 7.99, "one_plus": 3.96, "permanent": 0.22}


def _direct_rank(column: str) -> tuple[int, int]:
    """Blackpool's 2016/17 Total rank, counted straight from the CSV text (1 = highest rate)."""
    rows = []
    with open(LA_FILE, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if (r["year"], r["level"], r["school_type"]) != ("201617", "Local authority", "Total"):
                continue
            if r[column] in ("x", ".", ":") or int(r["headcount"]) == 0:
                continue
            rows.append((r["la_name"], float(r[column]) / int(r["headcount"])))
    mine = dict(rows)["Blackpool"]
    return 1 + sum(v > mine for _, v in rows), len(rows)


@pytest.fixture(scope="module")
def la_rates():
    return X.dfe_rates(public.read_dfe_la_file(LA_FILE))


def test_blackpool_2016_17_rates_from_the_full_file(la_rates):
    r = la_rates[(la_rates["area"] == "Blackpool") & (la_rates["school_type"] == "Total")
                 & (la_rates["year"] == "2016/17")]
    got = dict(zip(r["measure"].astype(str), r["rate_2dp"]))
    assert got == PUBLISHED
    assert r["matches_published"].all()
    assert ((r["lower"] < r["rate"]) & (r["rate"] < r["upper"])).all()


def test_every_local_authority_rate_is_reproduced(la_rates):
    chk = X.recomputation_check(la_rates)
    assert chk["disagree"].sum() == 0
    assert chk[chk["level"] == "Local authority"]["compared"].sum() > 18000


def test_blackpool_rank_is_a_direct_count(la_rates):
    ranks = X.rank_area(la_rates)
    r = ranks[ranks["year"] == "2016/17"].set_index("measure")
    for m, col in (("suspension", "fixed_excl"), ("one_plus", "one_plus_fixed"), ("permanent", "perm_excl")):
        rank, n = _direct_rank(col)
        assert (r.loc[m, "rank"], r.loc[m, "n_areas"]) == (rank, n), m
    assert r.loc["suspension", "rank"] == 14 and r.loc["one_plus", "rank"] == 4


def test_blackpool_is_above_the_funnel(la_rates):
    for m in X.MEASURES:
        pts, _ = X.funnel_data(la_rates, "2016/17", m)
        assert pts[pts["highlight"]]["position"].iloc[0] == "above 99.8%", m


def test_notebook_on_the_real_files(tmp_path):
    from rrlib import runner

    runner.run_chapter("02_exclusions.ipynb", out_dir=tmp_path, quiet=True,
                       parameters={"dfe_la_file": str(LA_FILE), "dfe_national_file": str(NATIONAL_FILE)})
    res = json.loads((tmp_path / "results" / "exclusions.json").read_text())["results"]
    k = "exclusions.dfe.blackpool.y2016_17.total."
    for m, v in PUBLISHED.items():
        assert round(res[k + m + "_rate"]["value"], 2) == v
    for m, col in (("suspension", "fixed_excl"), ("one_plus", "one_plus_fixed"), ("permanent", "perm_excl")):
        assert res[k + m + "_rank"]["value"] == _direct_rank(col)[0]
    assert res["exclusions.dfe.all_las.rates_disagree"]["value"] == 0
    assert res["exclusions.national.y2015_16.gypsy_roma_suspension_rate"]["value"] == 22.15
    assert (tmp_path / "figures" / "exclusions_funnel_suspension_2016_17.svg").exists()
