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


# ----------------------------------------------------------------------------- areas and waves from the data
def _any_shape(areas=("Blackpool", "Kent", "Hull", "Isle of Wight"),
               waves=("2016/17", "2017/18", "2018/19", "2019/20", "2020/21", "2021/22"), per=24, seed=3):
    """A seventh-area, sixth-wave style frame (no wave_index column: the chapter derives it)."""
    rng = np.random.default_rng(seed)
    rows = []
    for w, wave in enumerate(waves):
        for area in areas:
            for k in range(per):
                up = 0.1 * w if area == "Blackpool" else 0.0
                rows.append({"area": area, "wave": wave, "school_id": f"W-{area[:3].upper()}-{k % 3 + 1:03d}",
                             "year_group": 9, "sample": "snapshot", "sex": "F" if k % 2 else "M",
                             "fsm": bool(k % 4 == 0), "respondent_id": f"WR{len(rows):07d}",
                             "srs_school_connection": 3.0 + up + 0.2 * (area == "Blackpool") + rng.normal(0, 0.3),
                             "srs_family_connection": 3.0 - 0.3 * (area == "Blackpool") + rng.normal(0, 0.3)})
    return pd.DataFrame(rows)


def test_areas_and_waves_follow_the_data():
    df = _any_shape()
    assert W.areas_of(df) == ["Blackpool", "Hull", "Isle of Wight", "Kent"]
    assert W.waves_of(df)[-1] == "2021/22" and len(W.waves_of(df)) == 6
    assert W.reference_of(df, "Blackpool") == ["Hull", "Isle of Wight", "Kent"]
    out = W.compare_areas(df, outcomes=["srs_school_connection"])       # every wave, every other area
    assert out["wave"].tolist() == W.waves_of(df)
    assert (out["n_reference"] == 3 * 24).all() and (out["n_focus"] == 24).all()
    keys = W.comparison_results(out)["key"].tolist()
    assert "wmf.compare.2021_22.school_connection.diff" in keys and len(keys) == 12
    # the wave index is derived from the labels when the data has none: the same fit as with it
    sy = df["wave"].str[:4].astype(int)
    t_derived = W.trend(df, "srs_school_connection").set_index("contrast")
    t_given = W.trend(df.assign(wave_index=sy - 2016), "srs_school_connection").set_index("contrast")
    assert t_derived.loc["focus", "estimate"] == pytest.approx(t_given.loc["focus", "estimate"], abs=1e-12)
    assert t_derived.loc["relative", "lower"] > 0        # Blackpool rises 0.1 a wave, the others do not


def test_the_focus_area_is_a_parameter():
    df = _any_shape()
    out = W.compare_areas(df, outcomes=["srs_family_connection"], focus="Isle of Wight", waves=["2021/22"])
    assert out.iloc[0]["n_reference"] == 3 * 24
    prev_rows = [("Isle of Wight", "2016/17", "F", HI, AV), ("Isle of Wight", "2016/17", "M", AV, AV),
                 ("Kent", "2016/17", "F", HI, HI)]
    p = W.prevalence(_scores(prev_rows), by=("wave", "area"))
    r = W.prevalence_results(p, "Isle of Wight").set_index("key")
    assert r.loc["wmf.prevalence.emotion.2016_17.isle_of_wight", "value"] == pytest.approx(50.0)
    assert r.loc["wmf.prevalence.conduct.2016_17.isle_of_wight", "n"] == 2


def test_b04_and_a20_keep_their_published_wave_and_skip_without_it():
    from rrlib.chapter import NotComputed
    df = _any_shape(waves=("2017/18", "2018/19", "2020/21"))
    with pytest.raises(NotComputed, match="2016/17: not in the data"):
        W.first_wave_results(df, "2016/17")
    with pytest.raises(NotComputed, match="no cohort sample"):
        W.retention_results(W.cohort_retention(df))
    with pytest.raises(NotComputed, match="2019/20: not in the data .*2017/18, 2018/19, 2020/21"):
        W.a20(df, "2019/20")
    with pytest.raises(NotComputed, match="first survey, wave 2016/17"):
        W.b04_comparison(_scores([("Kent", "2017/18", "F", HI, AV)]), "2016/17")


def test_a20_on_its_own_equals_the_chapter_models():
    df = _any_shape(per=30)
    directions, res = W.a20(df, "2019/20")
    r = res.set_index("key")
    comp = W.compare_areas(df, outcomes=["srs_school_connection", "srs_family_connection"], waves=["2019/20"])
    fc = comp[comp["outcome"] == "srs_family_connection"].iloc[0]
    assert r.loc["wmf.a20.family_connection_gap", "value"] == pytest.approx(fc["diff"])
    assert r.loc["wmf.a20.home_support_lower", "value"] is True     # planted -0.3
    assert r.loc["wmf.a20.school_support_higher", "value"] is True   # planted +0.2 plus the rise
    assert r.loc["wmf.a20.school_connection_gain_relative", "value"] is True
    assert set(directions["statement"]) >= {"school_support_higher", "home_support_lower"}


def test_results_frames_keys_and_values():
    rows = [("Blackpool", "2016/17", "F", HI, AV), ("Blackpool", "2016/17", "M", AV, VH),
            ("Kent", "2016/17", "F", VH, AV), ("Kent", "2016/17", "M", AV, AV)]
    b04 = W.b04_comparison(_scores(rows), "2016/17")
    r = W.b04_results(b04, "2016/17").set_index("key")
    assert r.loc["wmf.b04.emotional.overall", "value"] == pytest.approx(50.0)
    assert r.loc["wmf.b04.emotional.girls", "value"] == pytest.approx(100.0)
    assert r.loc["wmf.b04.behavioural.boys", "n"] == 2
    assert "wmf.b04.pupils" not in r.index     # counts are recorded by first_wave_results
    sc = pd.DataFrame({"swemwbs_metric": [20.0, np.nan], "sdq_total": [10.0, 12.0], "swemwbs_items_missing": [0, 7],
                       "sdq_items_missing": [0, 0]})
    s = W.scoring_results(sc, W.scoring_summary(sc), W.item_missingness(sc)).set_index("key")["value"]
    assert s["wmf.scoring.respondents"] == 2
    assert s["wmf.scoring.swemwbs.percent_scored"] == pytest.approx(50.0)
    assert s["wmf.missing.swemwbs.percent_any_missing"] == pytest.approx(50.0)
    assert W.area_key("Isle of Wight") == "isle_of_wight"


def test_data_text_counts_questionnaires_young_people_and_schools():
    scores = pd.DataFrame({"respondent_id": ["R1", "R1", "R2", "R3"], "school_id": ["S1", "S1", "S2", "S1"]}
                          ).loc[[0, 1, 2, 3] * 300]
    assert W.data_text(scores, "Blackpool", ["Hull", "Kent"], ["2016/17", "2017/18"]) == (
        "1,200 questionnaires from 3 young people in 2 schools; focus area Blackpool, against Hull, Kent; "
        "waves 2016/17, 2017/18.")
