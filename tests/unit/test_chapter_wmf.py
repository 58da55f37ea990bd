"""Chapter 3 (WMF comparisons): analysis functions on small hand-made data with known answers."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from rrlib import stats
from rrlib.chapters import wmf as W


def _scores(rows):
    """A minimal wmf_scores frame from (area, wave, sex, emotion_band, conduct_band) tuples."""
    df = pd.DataFrame(rows, columns=["area", "wave", "sex", "sdq_emotion_band", "sdq_conduct_band"])
    df["school_id"] = "W-" + df["area"].str.slice(0, 3).str.upper() + "-001"
    df["year_group"] = 9
    df["sample"] = "snapshot"
    return df


HI, VH, AV, SR = "high", "very high", "close to average", "slightly raised"


def test_prevalence_counts_bands_high_or_very_high_with_wilson():
    df = _scores([
        ("Blackpool", "2016/17", "F", HI, AV),
        ("Blackpool", "2016/17", "F", VH, AV),
        ("Blackpool", "2016/17", "F", SR, HI),
        ("Blackpool", "2016/17", "M", AV, VH),
        ("Blackpool", "2016/17", "M", None, None),   # not scored: out of the denominator
        ("Kent", "2016/17", None, HI, AV),           # sex not stated
    ])
    p = W.prevalence(df, by=("area", "sex"))
    emo = p[p["scale"] == "emotion"].set_index(["area", "sex"])
    assert emo.loc[("Blackpool", "F"), "problems"] == 2
    assert emo.loc[("Blackpool", "F"), "respondents"] == 3
    assert emo.loc[("Blackpool", "M"), "respondents"] == 1
    assert emo.loc[("Kent", W.NOT_STATED), "problems"] == 1
    ci = stats.proportion_ci(2, 3, multiplier=100)
    assert emo.loc[("Blackpool", "F"), "percent"] == pytest.approx(200 / 3)
    assert emo.loc[("Blackpool", "F"), "lower"] == pytest.approx(float(ci.lower))
    assert emo.loc[("Blackpool", "F"), "upper"] == pytest.approx(float(ci.upper))
    con = p[p["scale"] == "conduct"].set_index(["area", "sex"])
    assert con.loc[("Blackpool", "M"), "problems"] == 1
    assert (p["method"] == "Wilson score").all()


def test_prevalence_changes_with_the_data_and_equals_a_direct_count():
    rng = np.random.default_rng(3)
    bands = np.array([AV, SR, HI, VH], dtype=object)
    n = 400
    df = _scores([("Blackpool", "2016/17", s, e, c) for s, e, c in zip(
        rng.choice(["F", "M"], n), bands[rng.integers(0, 4, n)], bands[rng.integers(0, 4, n)])])
    before = W.prevalence(df, by=()).set_index("scale")
    direct = df["sdq_emotion_band"].isin(["high", "very high"]).sum()
    assert before.loc["emotion", "problems"] == direct
    assert before.loc["emotion", "percent"] == pytest.approx(100 * direct / n)
    flip = df.index[df["sdq_emotion_band"] == AV][0]
    df.loc[flip, "sdq_emotion_band"] = VH
    after = W.prevalence(df, by=()).set_index("scale")
    assert after.loc["emotion", "problems"] == direct + 1


def test_b04_comparison_uses_first_wave_only():
    df = _scores([
        ("Blackpool", "2016/17", "F", HI, AV),
        ("Blackpool", "2016/17", "F", AV, AV),
        ("Kent", "2016/17", "M", AV, HI),
        ("Kent", "2016/17", "M", AV, AV),
        ("Kent", "2017/18", "M", HI, HI),
    ])
    t = W.b04_comparison(df, "2016/17").set_index("key")
    assert t.loc["pupils", "computed"] == 4
    assert t.loc["schools", "computed"] == 2
    assert t.loc["emotional.overall", "computed"] == pytest.approx(25.0)
    assert t.loc["emotional.girls", "computed"] == pytest.approx(50.0)
    assert t.loc["emotional.boys", "computed"] == pytest.approx(0.0)
    assert t.loc["behavioural.boys", "computed"] == pytest.approx(50.0)
    assert t.loc["emotional.girls", "published"] == 24.9


def _mixed_data(seed=1, n_groups=12, per=25, tau=0.5, sigma=1.0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), rng.integers(per - 10, per + 10, n_groups))
    n = len(g)
    x1 = rng.normal(size=n)
    x2 = (rng.random(n) < 0.4).astype(float)
    y = 1.0 + 0.5 * x1 - 0.3 * x2 + rng.normal(0, tau, n_groups)[g] + rng.normal(0, sigma, n)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g.astype(str)})


def test_fit_random_intercept_matches_statsmodels_reml():
    d = _mixed_data()
    X = W.design(d, numeric=["x1", "x2"])
    fit = W.fit_random_intercept(d["y"], X, d["g"])
    import statsmodels.formula.api as smf
    ref = smf.mixedlm("y ~ x1 + x2", d, groups=d["g"]).fit(reml=True)
    ci = ref.conf_int()
    t = fit.tidy().set_index("term")
    for term in ("Intercept", "x1", "x2"):
        assert t.loc[term, "estimate"] == pytest.approx(ref.fe_params[term], abs=1e-5)
        assert t.loc[term, "lower"] == pytest.approx(ci.loc[term, 0], abs=1e-4)
        assert t.loc[term, "upper"] == pytest.approx(ci.loc[term, 1], abs=1e-4)
    assert fit.tau2 == pytest.approx(float(ref.cov_re.iloc[0, 0]), rel=1e-3)
    assert fit.sigma2 == pytest.approx(float(ref.scale), rel=1e-3)
    # the chapter uses the one model API of rrlib.stats
    assert W.fit_random_intercept is stats.models.fit_random_intercept
    assert fit.n == len(d) and fit.n_groups == 12


def test_fit_random_intercept_rejects_bad_input():
    d = _mixed_data()
    X = W.design(d, numeric=["x1"])
    with pytest.raises(ValueError, match="at least 2 groups"):
        W.fit_random_intercept(d["y"], X, np.zeros(len(d)))
    y = d["y"].copy()
    y.iloc[0] = np.nan
    with pytest.raises(ValueError, match="missing"):
        W.fit_random_intercept(y, X, d["g"])


def test_design_drops_constant_columns_and_reference_levels():
    d = pd.DataFrame({"a": [1.0, 2.0, 3.0], "k": [5.0, 5.0, 5.0], "sex_g": ["M", "F", W.NOT_STATED]})
    X = W.design(d, numeric=["a", "k"], categorical={"sex_g": "M"})
    assert list(X.columns) == ["Intercept", "a", "sex_g[F]", f"sex_g[{W.NOT_STATED}]"]


def _area_frame(values_focus, values_other, wave="2016/17"):
    """Two Blackpool schools and two others, same covariates: the adjusted difference of a
    balanced design is the difference of the means."""
    rows = []
    for area, vals in (("Blackpool", values_focus), ("Kent", values_other)):
        for k, v in enumerate(vals):
            rows.append({"area": area, "wave": wave, "school_id": f"W-{area[:3].upper()}-{k % 2 + 1:03d}",
                         "year_group": 9, "sex": "F", "fsm": False, "sample": "snapshot",
                         "respondent_id": f"WR{len(rows):07d}", "srs_school_connection": v})
    return pd.DataFrame(rows)


def test_compare_areas_balanced_difference_and_hedges_g():
    focus = [3.0, 3.4, 3.8, 4.1, 3.2, 3.6, 4.0, 3.9]
    other = [2.9, 3.1, 3.0, 3.5, 2.6, 3.3, 3.2, 2.8]
    df = _area_frame(focus, other)
    out = W.compare_areas(df, outcomes=["srs_school_connection"], waves=["2016/17"], reference=["Kent"])
    r = out.iloc[0]
    diff = np.mean(focus) - np.mean(other)
    assert r["diff"] == pytest.approx(diff, abs=1e-6)
    assert r["lower"] < diff < r["upper"]
    n1 = n2 = 8
    sp = np.sqrt((7 * np.var(focus, ddof=1) + 7 * np.var(other, ddof=1)) / 14)
    j = 1 - 3 / (4 * (n1 + n2) - 9)
    assert r["sd_pooled"] == pytest.approx(sp)
    assert r["g"] == pytest.approx(j * diff / sp)
    assert r["g_lower"] == pytest.approx(j * r["lower"] / sp)
    assert (r["n_focus"], r["n_reference"], r["n_schools"]) == (8, 8, 4)
    # the estimate follows the data
    df2 = _area_frame([v + 0.5 for v in focus], other)
    r2 = W.compare_areas(df2, outcomes=["srs_school_connection"], waves=["2016/17"], reference=["Kent"]).iloc[0]
    assert r2["diff"] == pytest.approx(diff + 0.5, abs=1e-6)


def test_compare_areas_rejects_focus_in_reference():
    with pytest.raises(ValueError, match="focus"):
        W.compare_areas(_area_frame([1, 2], [1, 2]), reference=["Blackpool", "Kent"])


def _trend_frame(rel=0.1, ref=-0.02, seed=5, per=60):
    rng = np.random.default_rng(seed)
    rows = []
    waves = W.WAVES
    for w, wave in enumerate(waves):
        for area in ("Blackpool", "Kent", "Hull"):
            for k in range(per):
                school = f"W-{area[:3].upper()}-{k % 3 + 1:03d}"
                y = 3.0 + ref * w + (rel * w if area == "Blackpool" else 0) + rng.normal(0, 0.3)
                rows.append({"area": area, "wave": wave, "wave_index": w, "school_id": school,
                             "year_group": 9, "sample": "snapshot", "sex": "F" if k % 2 else "M",
                             "fsm": bool(k % 5 == 0), "respondent_id": f"WR{len(rows):07d}",
                             "srs_school_connection": y})
    return pd.DataFrame(rows)


def test_trend_recovers_a_known_slope():
    df = _trend_frame()
    t = W.trend(df, "srs_school_connection", "year9", reference=["Kent", "Hull"]).set_index("contrast")
    assert t.loc["relative", "estimate"] == pytest.approx(0.1, abs=0.02)
    assert t.loc["relative", "lower"] < 0.1 < t.loc["relative", "upper"]
    assert t.loc["focus", "estimate"] == pytest.approx(0.08, abs=0.02)
    assert t.loc["reference", "estimate"] == pytest.approx(-0.02, abs=0.015)
    assert t.loc["focus", "estimate"] == pytest.approx(
        t.loc["relative", "estimate"] + t.loc["reference", "estimate"], abs=1e-9)


def test_area_means_pools_other_areas():
    df = _trend_frame(per=10)
    m = W.area_means(df, "srs_school_connection", "year9", reference=["Kent", "Hull"])
    w0 = df[df["wave"] == "2016/17"]
    other = m[(m["area"] == "Other areas") & (m["wave"] == "2016/17")].iloc[0]
    vals = w0[w0["area"].isin(["Kent", "Hull"])]["srs_school_connection"]
    assert other["n"] == len(vals)
    assert other["mean"] == pytest.approx(vals.mean())
    assert other["lower"] < other["mean"] < other["upper"]


def test_a20_directions_from_intervals():
    comp = pd.DataFrame([
        {"wave": "2019/20", "outcome": "srs_school_connection", "diff": 0.2, "lower": 0.05, "upper": 0.35},
        {"wave": "2019/20", "outcome": "srs_family_connection", "diff": -0.1, "lower": -0.3, "upper": 0.02},
    ])
    tr = pd.DataFrame([
        {"contrast": "relative", "estimate": 0.08, "lower": 0.05, "upper": 0.11},
        {"contrast": "focus", "estimate": 0.06, "lower": -0.01, "upper": 0.13},
        {"contrast": "reference", "estimate": -0.02, "lower": -0.03, "upper": -0.01},
    ])
    a = W.a20_directions(comp, tr, wave="2019/20").set_index("statement")["value"]
    assert a["school_support_higher"]
    assert not a["school_connection_increased"]       # interval includes zero
    assert a["school_connection_gain_relative"]
    assert not a["home_support_lower"]                # upper limit above zero


def test_sample_description_and_retention_are_direct_counts():
    rows = []
    for wave, yg, sample, ids in (("2016/17", 7, "cohort", [1, 2, 3]), ("2016/17", 9, "snapshot", [10, 11]),
                                  ("2017/18", 8, "cohort", [1, 3]), ("2017/18", 9, "snapshot", [12])):
        for i in ids:
            rows.append({"wave": wave, "area": "Blackpool", "sample": sample, "year_group": yg,
                         "school_id": f"W-BLA-00{i % 2 + 1}", "respondent_id": f"WR{i:07d}"})
    df = pd.DataFrame(rows)
    d = W.sample_description(df).set_index(["wave", "sample"])
    assert d.loc[("2016/17", "cohort"), "respondents"] == 3
    assert d.loc[("2016/17", "cohort"), "schools"] == 2
    assert d.loc[("2017/18", "snapshot"), "respondents"] == 1
    r = W.cohort_retention(df).set_index("wave")
    assert r.loc["2017/18", "percent_of_first"] == pytest.approx(200 / 3)
    assert W.sample_totals(df, "2016/17") == {"pupils": 5, "schools": 2}


def test_scoring_summary_and_item_missingness():
    df = pd.DataFrame({"swemwbs_metric": [20.0, np.nan, 22.0], "sdq_total": [10.0, 12.0, np.nan],
                       "swemwbs_items_missing": [0, 2, 0], "sdq_items_missing": [0, 1, 25]})
    s = W.scoring_summary(df).set_index("score")
    assert s.loc["swemwbs_metric", "scored"] == 2 and s.loc["sdq_total", "not_scored"] == 1
    m = W.item_missingness(df).set_index("instrument")
    assert m.loc["SWEMWBS", "any_missing"] == 1
    assert m.loc["SDQ", "all_missing"] == 1
    assert m.loc["SDQ", "mean_items_missing"] == pytest.approx(26 / 3)


def test_select_rejects_unknown_names():
    df = _trend_frame(per=2)
    with pytest.raises(ValueError, match="areas not in the data"):
        W.select(df, areas=["Atlantis"])
    assert set(W.select(df, areas=["Kent"], waves=["2016/17"])["area"]) == {"Kent"}


def test_plots_return_figures():
    import matplotlib.figure

    df = _trend_frame(per=8)
    comp = W.compare_areas(df, outcomes=["srs_school_connection"], waves=list(W.WAVES[:2]),
                           reference=["Kent", "Hull"])
    means = W.area_means(df, "srs_school_connection", "year9", reference=["Kent", "Hull"])
    prev = W.prevalence(_scores([("Blackpool", "2016/17", "F", HI, AV), ("Kent", "2016/17", "M", AV, HI)]),
                        by=("area", "sex"))
    for fig in (W.plot_forest(comp), W.plot_trends(means), W.plot_prevalence(prev)):
        assert isinstance(fig, matplotlib.figure.Figure)
        matplotlib.pyplot.close(fig)
