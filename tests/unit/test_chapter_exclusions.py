"""rrlib.chapters.exclusions on small hand-made data with answers computed by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rrlib import stats
from rrlib.chapters import exclusions as ex


def _dfe(rows):
    cols = ["year", "level", "la_name", "school_type", "num_schools", "headcount", "perm_excl",
            "perm_excl_rate", "fixed_excl", "fixed_excl_rate", "one_plus_fixed", "one_or_more_fixed_excl_rate"]
    return pd.DataFrame(rows, columns=cols).astype({c: float for c in cols[4:]})


SMALL = _dfe([
    # year, level, area, type, schools, headcount, perm, perm_rate, fixed, fixed_rate, one+, one+_rate
    ["2016/17", "Local authority", "Blackpool", "Total", 41, 18752, 42, 0.22, 1498, 7.99, 742, 3.96],
    ["2016/17", "Local authority", "A", "Total", 10, 1000, 1, 0.1, 50, 5.0, 30, 3.0],
    ["2016/17", "Local authority", "B", "Total", 10, 2000, 0, 0.0, 200, 10.0, 100, 5.0],
    ["2016/17", "Local authority", "C", "Total", 10, 800, 1, 0.13, 20, 2.5, 10, 1.25],
    ["2016/17", "Region", "North West", "Total", 3093, 1081035, 1475, 0.14, 49115, 4.54, 24775, 2.29],
    ["2016/17", "National", "England", "Total", 21319, 8025075, 7720, 0.10, 381865, 4.76, 183475, 2.29],
])


def test_round_half_up_is_exact():
    # 1/800*100 = 0.125 exactly: half up gives 0.13 (float round gives 0.12)
    assert ex.round_half_up_rate(1, 800) == 0.13
    assert round(1 / 800 * 100, 2) == 0.12
    assert ex.round_half_up_rate(1498, 18752) == 7.99
    assert ex.round_half_up_rate(742, 18752) == 3.96
    out = ex.round_half_up_rate(np.array([1.0, np.nan, 2.5]), np.array([8.0, 8.0, 8.0]))
    assert out[0] == 12.5 and np.isnan(out[1]) and np.isnan(out[2])


def test_dfe_rates_recompute_and_check():
    r = ex.dfe_rates(SMALL)
    bp = r[(r["area"] == "Blackpool")].set_index(r[r["area"] == "Blackpool"]["measure"].astype(str))
    assert bp.loc["suspension", "rate"] == pytest.approx(1498 / 18752 * 100)
    assert bp.loc["one_plus", "rate_2dp"] == 3.96 and bp.loc["permanent", "rate_2dp"] == 0.22
    assert bp["matches_published"].all()
    # C: 1/800 -> 0.125 -> 0.13 half up = published
    c = r[(r["area"] == "C") & (r["measure"] == "permanent")].iloc[0]
    assert bool(c["matches_published"])
    # regions/England: no exact recomputation, check within rounding; no intervals
    nw = r[r["area"] == "North West"]
    assert nw["rate_2dp"].isna().all() and nw["lower"].isna().all()
    assert nw["matches_published"].all()


def test_recomputed_rate_follows_the_data():
    bad = SMALL.copy()
    bad.loc[0, "fixed_excl"] = 1499  # one more suspension than published
    r = ex.dfe_rates(bad)
    row = r[(r["area"] == "Blackpool") & (r["measure"] == "suspension")].iloc[0]
    assert row["rate"] == pytest.approx(1499 / 18752 * 100)
    assert row["rate_2dp"] == 7.99  # still rounds to 7.99 ...
    bad.loc[0, "fixed_excl"] = 1600
    r = ex.dfe_rates(bad)
    row = r[(r["area"] == "Blackpool") & (r["measure"] == "suspension")].iloc[0]
    assert row["rate_2dp"] == pytest.approx(8.53) and not bool(row["matches_published"])
    chk = ex.recomputation_check(r)
    la = chk[(chk["level"] == "Local authority") & (chk["measure"] == "suspension")].iloc[0]
    assert (la["compared"], la["agree"], la["disagree"]) == (4, 3, 1)


def test_intervals_use_wilson_for_pupils_and_poisson_for_counts():
    r = ex.dfe_rates(SMALL)
    one = r[(r["area"] == "Blackpool") & (r["measure"] == "one_plus")].iloc[0]
    w = stats.proportion_ci(742, 18752, multiplier=100)
    assert one["ci_method"] == "Wilson score"
    assert (one["lower"], one["upper"]) == pytest.approx((w.lower, w.upper))
    sus = r[(r["area"] == "Blackpool") & (r["measure"] == "suspension")].iloc[0]
    b = stats.rate_ci(1498, 18752, multiplier=100)
    assert sus["ci_method"] == "Byars" and (sus["lower"], sus["upper"]) == pytest.approx((b.lower, b.upper))
    small = r[(r["area"] == "A") & (r["measure"] == "permanent")].iloc[0]
    assert small["ci_method"] == "Exact Poisson" and small["lower"] < 0.1 < small["upper"]
    assert ((r["lower"] <= r["rate"]) & (r["rate"] <= r["upper"]))[r["lower"].notna()].all()


def test_rank_is_a_direct_count():
    r = ex.dfe_rates(SMALL)
    rk = ex.rank_area(r).set_index("measure")
    # suspension rates: B 10.0 > Blackpool 7.99 > A 5.0 > C 2.5
    assert rk.loc["suspension", "rank"] == 2 and rk.loc["suspension", "n_areas"] == 4
    # one-or-more: B 5.0 > Blackpool 3.957 > A 3.0 > C 1.25
    assert rk.loc["one_plus", "rank"] == 2
    # permanent: Blackpool 0.224 > C 0.125 > A 0.1 > B 0
    assert rk.loc["permanent", "rank"] == 1
    la = SMALL[SMALL["level"] == "Local authority"]
    direct = int((la["fixed_excl"] / la["headcount"] > 1498 / 18752).sum()) + 1
    assert rk.loc["suspension", "rank"] == direct


def test_area_rates_wide():
    w = ex.area_rates(ex.dfe_rates(SMALL))
    assert list(w["area"]) == ["Blackpool", "North West", "England"]
    assert w.loc[0, "suspension_rate"] == 7.99 and w.loc[0, "one_plus_count"] == 742
    assert np.isnan(w.loc[2, "suspension_lower"])


def test_wilson_funnel_limits_are_phe_sigma_adjustment():
    n = np.array([100.0, 1000.0, 20000.0])
    lim = ex.funnel_limits(2.29, n, kind="pupils")
    # the observed proportion at the upper limit has a Wilson lower limit equal to the target
    for c, tag in ((0.95, "95"), (0.998, "99_8")):
        up = lim[f"upper_{tag}"].to_numpy() / 100
        assert stats.wilson_lower(up * n, n, c) == pytest.approx(0.0229, rel=1e-9)
        lo = lim[f"lower_{tag}"].to_numpy() / 100
        ok = lo > 0
        assert stats.wilson_upper(lo[ok] * n[ok], n[ok], c) == pytest.approx(0.0229, rel=1e-9)
    assert (np.diff(lim["upper_95"]) < 0).all() and (lim["upper_99_8"] > lim["upper_95"]).all()


def test_poisson_funnel_limits():
    n = np.array([200.0, 5000.0, 1e6])
    lim = ex.funnel_limits(4.76, n, kind="count")
    assert ((lim["lower_99_8"] < lim["lower_95"]) & (lim["lower_95"] < 4.76) & (4.76 < lim["upper_95"])
            & (lim["upper_95"] < lim["upper_99_8"])).all()
    # large n: close to the normal approximation lam +/- 1.96 sqrt(lam)
    lam = 0.0476 * 1e6
    assert lim["upper_95"].iloc[-1] == pytest.approx((lam + 1.96 * np.sqrt(lam)) / 1e6 * 100, rel=1e-3)
    with pytest.raises(ValueError):
        ex.funnel_limits(4.76, n, kind="odds")


def test_funnel_data_positions():
    pts, lim = ex.funnel_data(ex.dfe_rates(SMALL), "2016/17", "one_plus")
    assert len(pts) == 4 and pts["highlight"].sum() == 1
    bp = pts[pts["highlight"]].iloc[0]
    assert bp["target"] == 2.29 and bp["position"] == "above 99.8%"
    assert pts.set_index("area").loc["C", "position"] in ("below 95%", "below 99.8%", "within")
    assert lim["n"].is_monotonic_increasing


def _nat():
    rows = []
    for c1, hc, pr, fr, orr in [("Total", 1000, 0.1, 4.0, 2.0), ("Gender_male", 500, 0.15, 6.0, 3.0),
                                ("Gender_female", 500, 0.05, 2.0, 1.0), ("Age_12", 100, 0.2, 9.0, 4.0),
                                ("Age_14", 100, 0.3, 12.0, 5.0), ("Ethnicity_Minor_White_British", 800, 0.1, 4.0, 2.0),
                                ("Ethnicity_Minor_Gypsy_Roma", 20, 0.33, 22.15, 8.8)]:
        desc = {"T": "Total", "G": "Gender", "A": "Age", "E": "Ethnicity"}[c1[0]]
        rows.append(["2015/16", "NATIONAL", "E92000001", "England", "Total", desc, c1, "Total",
                     hc, np.nan, pr, np.nan, fr, np.nan, orr])
    from rrlib.public import NATIONAL_COLUMNS
    return pd.DataFrame(rows, columns=NATIONAL_COLUMNS)


def test_national_pattern_and_peak_age():
    p = ex.national_pattern(_nat())
    sex = p[p["group"] == "sex"].set_index("category")
    assert sex.loc["male", "suspension_ratio"] == pytest.approx(3.0)
    assert bool(sex.loc["female", "reference"])
    eth = p[p["group"] == "ethnicity"].set_index("category")
    assert eth.loc["Gypsy Roma", "suspension_rate"] == 22.15
    assert ex.national_peak_age(p) == {"age": 14, "rate": 12.0}
