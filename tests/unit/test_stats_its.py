"""rrlib.stats.its: comparative interrupted time series on a constructed series with a known effect."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from rrlib.stats import its


def _series(level=3.0, slope=0.5, noise=0.3, seed=1, years=range(2006, 2023), start=2016):
    rng = np.random.default_rng(seed)
    rows = []
    for y in years:
        after = y >= start
        comp = 5 + 0.1 * (y - 2006) + rng.normal(0, noise)
        treat = comp + 2 + 0.05 * (y - start) + (level + slope * (y - start) if after else 0) + rng.normal(0, noise)
        rows += [{"year": y, "area": "T", "rate": treat}, {"year": y, "area": "C1", "rate": comp - 1},
                 {"year": y, "area": "C2", "rate": comp + 1}]
    return pd.DataFrame(rows)


def test_gap_series_is_treated_minus_mean_of_comparators():
    df = pd.DataFrame({"year": [1, 1, 1, 2, 2], "area": ["T", "A", "B", "T", "A"], "rate": [10, 4, 6, 8, 3]})
    g = its.gap_series(df, time="year", value="rate", group="area", treated="T", comparison=["A", "B"])
    assert g["time"].tolist() == [1]                     # year 2 lacks B: dropped
    assert g["comparison"].tolist() == [5.0] and g["gap"].tolist() == [5.0]
    with pytest.raises(ValueError, match="Z"):
        its.gap_series(df, time="year", value="rate", group="area", treated="T", comparison=["Z"])


def test_recovers_a_known_level_and_slope_change_within_its_interval():
    g = its.gap_series(_series(), time="year", value="rate", group="area", treated="T", comparison=["C1", "C2"])
    r = its.comparative_its(g, start=2016).set_index("term")
    for term, truth in (("level_change", 3.0), ("slope_change", 0.5), ("pre_slope", 0.05)):
        assert r.loc[term, "lower"] <= truth <= r.loc[term, "upper"], (term, r.loc[term].to_dict())
    assert abs(r.loc["level_change", "estimate"] - 3.0) < 1.0
    assert r.loc["level_change", "lower"] > 0                # a real effect is detected
    assert (r["n"] == 17).all() and (r["n_pre"] == 10).all()


def test_no_effect_gives_intervals_covering_zero_and_did_matches_difference_of_means():
    g = its.gap_series(_series(level=0, slope=0, seed=3), time="year", value="rate", group="area",
                       treated="T", comparison=["C1", "C2"])
    g["gap"] = 2.0 + np.random.default_rng(0).normal(0, 0.3, len(g))
    r = its.comparative_its(g, start=2016).set_index("term")
    assert r.loc["level_change", "lower"] < 0 < r.loc["level_change", "upper"]
    post = g["time"] >= 2016
    assert r.loc["did", "estimate"] == pytest.approx(g.loc[post, "gap"].mean() - g.loc[~post, "gap"].mean())


def test_hac_errors_are_statsmodels_newey_west_and_exclusion_drops_years():
    g = its.gap_series(_series(seed=5), time="year", value="rate", group="area", treated="T", comparison="C1")
    r = its.comparative_its(g, start=2016, exclude=[2019, 2020]).set_index("term")
    d = g[~g["time"].isin([2019, 2020])]
    post = (d["time"] >= 2016).astype(float)
    ref = sm.OLS(d["gap"].to_numpy(), np.column_stack([np.ones(len(d)), post])).fit(
        cov_type="HAC", cov_kwds={"maxlags": 1, "use_correction": True}, use_t=True)
    assert r.loc["did", "se"] == pytest.approx(ref.bse[1])
    assert r.loc["did", "n"] == 15


def test_too_few_years_is_a_clear_error():
    g = pd.DataFrame({"time": [2014, 2015, 2016, 2017], "gap": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match="2 years before 2016"):
        its.comparative_its(g, start=2016)
