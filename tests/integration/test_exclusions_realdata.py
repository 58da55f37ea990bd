"""Chapter 2 on the full official DfE files beside the project (``../shared/data``).

The chapter reads shipped cuts of these files by default; these tests check the cuts' figures
against the full files and run the chapter on them. Skipped, saying why, when they are absent.
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
LA_2023 = paths.SHARED_DATA_DIR / "dfe-exclusions-la-2006-2023" / "exc_nat_region_la.csv"

pytestmark = [pytest.mark.realdata]
needs_sfr35 = pytest.mark.skipif(not (LA_FILE.exists() and NATIONAL_FILE.exists()),
                                 reason=f"real DfE SFR35/2017 files absent ({DFE_DIR})")
needs_2023 = pytest.mark.skipif(not LA_2023.exists(), reason=f"real DfE 2006/07-2022/23 file absent ({LA_2023})")

#: Blackpool 2016/17, all state-funded and special schools (DfE SFR35/2017, published).
PUBLISHED = {"suspension": 7.99, "one_plus": 3.96, "permanent": 0.22}


def _direct_rank(path, year, column, *, code_col="time_period", level_col="geographic_level") -> tuple[int, int]:
    """Blackpool's Total rank in ``year`` counted straight from the CSV text (1 = highest rate)."""
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            if (r[code_col], r[level_col], r["school_type"]) != (year, "Local authority", "Total"):
                continue
            if r[column] in ("x", ".", ":", "z", "c") or int(r["headcount"]) == 0:
                continue
            rows.append((r["la_name"], float(r[column]) / int(r["headcount"])))
    mine = dict(rows)["Blackpool"]
    return 1 + sum(v > mine for _, v in rows), len(rows)


@pytest.fixture(scope="module")
def la_rates():
    return X.dfe_rates(public.read_dfe_la_file(LA_FILE))


@pytest.fixture(scope="module")
def rates_2023():
    return X.dfe_rates(public.load_dfe_exclusions_la(LA_2023))


@needs_sfr35
def test_blackpool_2016_17_rates_from_the_full_file(la_rates):
    r = la_rates[(la_rates["area"] == "Blackpool") & (la_rates["school_type"] == "Total")
                 & (la_rates["year"] == "2016/17")]
    got = dict(zip(r["measure"].astype(str), r["rate_2dp"]))
    assert got == PUBLISHED
    assert r["matches_published"].all()
    assert ((r["lower"] < r["rate"]) & (r["rate"] < r["upper"])).all()


@needs_sfr35
def test_every_local_authority_rate_is_reproduced(la_rates):
    chk = X.recomputation_check(la_rates)
    assert chk["disagree"].sum() == 0
    assert chk[chk["level"] == "Local authority"]["compared"].sum() > 18000


@needs_sfr35
def test_blackpool_2016_17_rank_is_a_direct_count(la_rates):
    r = X.rank_area(la_rates)
    r = r[r["year"] == "2016/17"].set_index("measure")
    for m, col in (("suspension", "fixed_excl"), ("one_plus", "one_plus_fixed"), ("permanent", "perm_excl")):
        assert (r.loc[m, "rank"], r.loc[m, "n_areas"]) == _direct_rank(LA_FILE, "201617", col, code_col="year",
                                                                       level_col="level"), m
    assert r.loc["suspension", "rank"] == 14 and r.loc["one_plus", "rank"] == 4


@needs_2023
def test_the_2022_23_release_reproduces_a11s_comparators_and_not_blackpools_12_48(rates_2023):
    a = X.a11_official(rates_2023, "2018/19").set_index("key")["value"]
    assert round(a["exclusions.a11.official.north_west_rate"], 2) == 5.30
    assert round(a["exclusions.a11.official.england_rate"], 2) == 5.36
    assert round(a["exclusions.a11.official.blackpool_rate"], 2) == 12.06      # 2,319 / 19,234; published 12.48


@needs_2023
def test_the_2022_23_release_every_rate_reproduced_and_agrees_with_sfr35(rates_2023):
    chk = X.recomputation_check(rates_2023)
    assert chk["disagree"].sum() == 0 and chk[chk["level"] == "Local authority"]["compared"].sum() > 7700
    b = rates_2023[(rates_2023["area"] == "Blackpool") & (rates_2023["year"] == "2016/17")]
    assert {m: round(v, 2) for m, v in zip(b["measure"].astype(str), b["rate"])} == PUBLISHED


@needs_2023
def test_the_latest_rank_is_a_direct_count(rates_2023):
    ranks, res, _ = X.rank_and_funnel(rates_2023, "2022/23")
    r = ranks[ranks["year"] == "2022/23"].set_index("measure")
    for m, col in (("suspension", "suspension"), ("one_plus", "one_plus_susp"), ("permanent", "perm_excl")):
        assert (r.loc[m, "rank"], r.loc[m, "n_areas"]) == _direct_rank(LA_2023, "202223", col), m


@needs_2023
def test_the_shipped_cut_gives_what_the_full_file_gives(rates_2023):
    shipped = X.dfe_rates(public.load_dfe_exclusions_la())
    assert shipped.equals(rates_2023)


@needs_2023
@needs_sfr35
def test_notebook_on_the_full_files(tmp_path):
    from rrlib import runner

    runner.run_chapter("02_exclusions.ipynb", out_dir=tmp_path, quiet=True,
                       parameters={"dfe_la_file": str(LA_2023), "dfe_national_file": str(NATIONAL_FILE)})
    res = json.loads((tmp_path / "results" / "exclusions.json").read_text())["results"]
    k = "exclusions.dfe.blackpool.y2016_17.total."
    for m, v in PUBLISHED.items():
        assert round(res[k + m + "_rate"]["value"], 2) == v
    for m, col in (("suspension", "suspension"), ("one_plus", "one_plus_susp"), ("permanent", "perm_excl")):
        rank = res[f"exclusions.dfe.blackpool.y2022_23.total.{m}_rank"]["value"]
        assert rank == _direct_rank(LA_2023, "202223", col)[0]
    assert res["exclusions.dfe.all_las.rates_disagree"]["value"] == 0
    assert res["exclusions.national.y2015_16.gypsy_roma_suspension_rate"]["value"] == 22.15
    assert round(res["exclusions.a11.official.blackpool_rate"]["value"], 2) == 12.06
    assert (tmp_path / "figures" / "exclusions_funnel_suspension_2022_23.svg").exists()
