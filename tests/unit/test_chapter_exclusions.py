"""rrlib.chapters.exclusions on small hand-made data with answers computed by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rrlib import stats
from rrlib.chapters import exclusions as ex
from rrlib.results import frame as results_frame
from rrlib.results import row as results_row
from rrlib.stats import funnel, rounding


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
    assert rounding.round_half_up_rate(1, 800) == 0.13
    assert round(1 / 800 * 100, 2) == 0.12
    assert rounding.round_half_up_rate(1498, 18752) == 7.99
    assert rounding.round_half_up_rate(742, 18752) == 3.96
    out = rounding.round_half_up_rate(np.array([1.0, np.nan, 2.5]), np.array([8.0, 8.0, 8.0]))
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
    lim = funnel.funnel_limits(2.29, n, kind="pupils")
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
    lim = funnel.funnel_limits(4.76, n, kind="count")
    assert ((lim["lower_99_8"] < lim["lower_95"]) & (lim["lower_95"] < 4.76) & (4.76 < lim["upper_95"])
            & (lim["upper_95"] < lim["upper_99_8"])).all()
    # large n: close to the normal approximation lam +/- 1.96 sqrt(lam)
    lam = 0.0476 * 1e6
    assert lim["upper_95"].iloc[-1] == pytest.approx((lam + 1.96 * np.sqrt(lam)) / 1e6 * 100, rel=1e-3)
    with pytest.raises(ValueError):
        funnel.funnel_limits(4.76, n, kind="odds")


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


# =========================================================================== part B: pupil records
SCHOOLS = pd.DataFrame({"school_id": ["S001", "S002", "S003"],
                        "phase": ["primary", "secondary", "alternative_provision"]})


def _pupils():
    rows = []
    # 2018/19: 10 pupils; P1-P4 in secondary S002, P5-P8 primary S001, P9-P10 in the PRU S003
    for i in range(1, 11):
        school = "S002" if i <= 4 else ("S001" if i <= 8 else "S003")
        rows.append([f"P{i:07d}", "2018/19", school, "M" if i % 2 else "F", i <= 3, i in (1, 2)])
    # 2019/20: P1-P4 again
    for i in range(1, 5):
        rows.append([f"P{i:07d}", "2019/20", "S002", "M" if i % 2 else "F", i <= 3, False])
    df = pd.DataFrame(rows, columns=["pupil_id", "academic_year", "school_id", "sex", "fsm", "looked_after"])
    df["sen_provision"] = "none"
    df["ethnicity_major"] = "WHIT"
    df["birth_year"] = 2006
    df["birth_month"] = 3
    return df


def _exclusions():
    rows = [
        ["E0000001", "P0000001", "S002", "2018-10-01", "2018/19", "suspension"],
        ["E0000002", "P0000001", "S002", "2019-02-01", "2018/19", "suspension"],
        ["E0000003", "P0000002", "S002", "2019-03-01", "2018/19", "suspension"],
        ["E0000004", "P0000003", "S002", "2019-05-01", "2018/19", "permanent"],
        ["E0000005", "P0000009", "S003", "2019-01-10", "2018/19", "suspension"],  # PRU: outside Total
        ["E0000006", "P0000004", "S002", "2019-11-01", "2019/20", "suspension"],
    ]
    e = pd.DataFrame(rows, columns=["exclusion_id", "pupil_id", "school_id", "exclusion_date",
                                    "academic_year", "category"])
    e["exclusion_date"] = pd.to_datetime(e["exclusion_date"])
    return e


def test_town_rates_by_direct_count():
    t = ex.town_rates(_pupils(), _exclusions(), schools=SCHOOLS)
    y = t[t["year"] == "2018/19"].set_index(t[t["year"] == "2018/19"]["measure"].astype(str))
    # headcount in Total: 8 (two PRU pupils out); suspensions 3; pupils with one or more 2; permanent 1
    assert y.loc["suspension", "headcount"] == 8
    assert (y.loc["suspension", "count"], y.loc["one_plus", "count"], y.loc["permanent", "count"]) == (3, 2, 1)
    assert y.loc["suspension", "rate"] == pytest.approx(37.5)
    assert y.loc["one_plus", "ci_method"] == "Wilson score"
    a = ex.town_rates(_pupils(), _exclusions(), schools=SCHOOLS, scope="All")
    ya = a[(a["year"] == "2018/19") & (a["measure"] == "suspension")].iloc[0]
    assert (ya["headcount"], ya["count"]) == (10, 4)
    s = ex.town_rates(_pupils(), _exclusions(), schools=SCHOOLS, scope="Secondary")
    assert s[(s["year"] == "2019/20") & (s["measure"] == "one_plus")]["rate"].iloc[0] == pytest.approx(25.0)


def test_town_rates_change_with_the_data():
    e = _exclusions()
    base = ex.town_rates(_pupils(), e, schools=SCHOOLS)
    more = pd.concat([e, e.iloc[[2]].assign(exclusion_id="E0000099", exclusion_date=pd.Timestamp("2019-04-01"))])
    after = ex.town_rates(_pupils(), more, schools=SCHOOLS)
    k = (base["year"] == "2018/19") & (base["measure"] == "suspension")
    assert after.loc[k, "count"].iloc[0] == base.loc[k, "count"].iloc[0] + 1 == 4
    k1 = (base["year"] == "2018/19") & (base["measure"] == "one_plus")
    assert after.loc[k1, "count"].iloc[0] == base.loc[k1, "count"].iloc[0]  # same pupil: one-or-more unchanged


def test_compare_with_dfe():
    town = ex.town_rates(_pupils(), _exclusions(), schools=SCHOOLS)
    rates = ex.dfe_rates(SMALL.assign(year="2018/19"))
    c = ex.compare_with_dfe(town, rates)
    assert len(c) == 3 and set(c["year"]) == {"2018/19"}
    s = c.set_index("measure").loc["suspension"]
    assert s["difference"] == pytest.approx(37.5 - 7.99)


def test_group_rates_and_risk_ratios_by_hand():
    py = ex.pupil_years(_pupils(), _exclusions(), schools=SCHOOLS, years=["2018/19"])
    assert len(py) == 8 and py["one_plus"].sum() == 2
    g = ex.group_rates(py, {"fsm": False, "sex": "F"})
    fsm = g[g["variable"] == "fsm"].set_index("category")
    # FSM pupils P1-P3: P1, P2 suspended -> 2/3; non-FSM P4-P8: 0/5
    assert fsm.loc["True", "percent"] == pytest.approx(200 / 3)
    assert fsm.loc["False", "events"] == 0 and bool(fsm.loc["False", "reference"])
    sex = g[g["variable"] == "sex"].set_index("category")
    # boys P1, P3, P5, P7: 1/4 suspended; girls P2, P4, P6, P8: 1/4 -> RR 1
    assert sex.loc["M", "rr"] == pytest.approx(1.0)
    assert sex.loc["M", "rr_lower"] < 1 < sex.loc["M", "rr_upper"]


def test_group_with_no_events_has_no_interval_and_is_not_plotted():
    py = ex.pupil_years(_pupils(), _exclusions(), schools=SCHOOLS, years=["2018/19"])
    py.loc[py["pupil_id"].isin(["P0000005", "P0000006"]), "ethnicity_major"] = "CHIN"
    g = ex.group_rates(py, {"ethnicity_major": "WHIT"}).set_index("category")
    assert g.loc["CHIN", "rr"] == 0 and np.isnan(g.loc["CHIN", "rr_lower"])
    assert g.loc["CHIN", "upper"] > 0  # Wilson upper limit of 0/2
    fig = ex.plot_forest(g.reset_index())
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert not any("CHIN" in t for t in labels)


def test_rates_by_age_and_peak():
    py = ex.pupil_years(_pupils(), _exclusions(), schools=SCHOOLS)
    assert set(py["age"]) == {12, 13}  # born March 2006: 12 on 31 Aug 2018, 13 on 31 Aug 2019
    a = ex.rates_by_age(py)
    one = a[a["measure"] == "one_plus"].set_index("age")
    assert one.loc[12, "rate"] == pytest.approx(25.0) and one.loc[13, "rate"] == pytest.approx(25.0)
    assert ex.peak_age(a, "suspension") == 12  # 3 of 8 at 12, 1 of 4 at 13


def test_exclusion_model_recovers_planted_risk_ratios():
    rng = np.random.default_rng(11)
    n = 6000
    d = pd.DataFrame({
        "pupil_id": [f"P{i:07d}" for i in range(n)],
        "school_id": rng.choice([f"S{i:03d}" for i in range(20)], n),
        "sex": rng.choice(["F", "M"], n), "fsm": rng.random(n) < 0.3,
        "sen_provision": rng.choice(["none", "sen_support", "ehc_plan"], n, p=[0.8, 0.15, 0.05]),
        "ethnicity_major": "WHIT", "looked_after": rng.random(n) < 0.03, "age": rng.integers(11, 16, n),
        "academic_year": "2018/19",
    })
    p = 0.03 * np.where(d["sex"] == "M", 2.0, 1.0) * np.where(d["fsm"], 1.8, 1.0) \
        * np.where(d["sen_provision"] == "sen_support", 2.0, 1.0)
    d["one_plus"] = (rng.random(n) < p).astype(int)
    res = ex.exclusion_model(d, covariates=("sex", "fsm", "sen_provision", "looked_after"))
    r = res.dropna(subset=["variable"]).set_index(["variable", "category"])
    assert r.loc[("sex", "M"), "ratio_lower"] < 2.0 < r.loc[("sex", "M"), "ratio_upper"]
    assert r.loc[("fsm", "1"), "ratio_lower"] < 1.8 < r.loc[("fsm", "1"), "ratio_upper"]
    sen = ("sen_provision", "sen_support")
    assert r.loc[sen, "ratio_lower"] < 2.0 < r.loc[sen, "ratio_upper"]
    assert "cluster" in res["method"].iloc[0]


def _interventions():
    iv = pd.DataFrame({
        "episode_id": ["EP000001", "EP000002", "EP000003", "EP000004", "EP000005"],
        "person_id": ["P0000001", "P0000002", "P0000003", "P0000001", "P0000006"],
        "programme": ["back_on_track", "resilience_coach_1to1", "back_on_track", "walk_and_talk", "walk_and_talk"],
        "referral_date": pd.to_datetime(["2018-09-01", "2018-09-01", "2018-09-01", "2019-01-01", "2018-09-01"]),
        "start_date": pd.to_datetime(["2018-09-15", "2019-03-15", "2018-09-20", "2019-01-10", pd.NaT]),
        "end_date": pd.to_datetime(["2019-01-31", "2019-06-30", "2019-06-30", "2019-03-01", pd.NaT]),
        "end_reason": ["completed", "completed", "completed", "completed", None],
        "education_data_consent": [True, False, True, False, False],
    })
    return iv


def test_not_permanently_excluded_after_start_by_hand():
    r = ex.not_permanently_excluded_after_start(_interventions(), _exclusions())
    # started: P1 (first 2018-09-15), P2, P3 (P6 never started). P3 permanent 2019-05-01 after start.
    assert (r["n"], r["excluded"], r["not_excluded"]) == (3, 1, 2)
    assert r["percent"] == pytest.approx(200 / 3) and r["lower"] < r["percent"] < r["upper"]
    e = _exclusions()
    e.loc[e["exclusion_id"] == "E0000004", "exclusion_date"] = pd.Timestamp("2018-09-01")  # before start
    r2 = ex.not_permanently_excluded_after_start(_interventions(), e)
    assert r2["excluded"] == 0 and r2["percent"] == 100


def test_matched_comparison_by_hand():
    pupils = _pupils()
    e = _exclusions()
    iv = _interventions()[lambda d: d["person_id"] != "P0000003"]  # P3 becomes a never-supported pupil
    # supported: P1 (M, index 2018-09-15) and P2 (F, index 2019-03-15, suspended 2019-03-01), both S002 2018/19.
    # never supported in S002 2018/19: P3 (M, permanently excluded 2019-05-01) and P4 (F).
    summary, table = ex.matched_comparison(iv, pupils, e, match_on=("academic_year", "school_id", "sex"))
    assert (summary["supported"], summary["matched_supported"], summary["matched_controls"]) == (2, 2, 2)
    assert summary["supported_percent"] == 100
    assert summary["comparison_percent"] == pytest.approx(50.0)  # P3 excluded after P1's start date
    assert summary["difference"] == pytest.approx(50.0)
    assert list(table["permanently_excluded_after"]) == [0, 1]
    # adding prior suspension (365 days before the index date): P2 has one, P4 none -> P2 unmatched
    summary2, _ = ex.matched_comparison(iv, pupils, e, match_on=("academic_year", "school_id", "sex",
                                                                 "prior_suspension"))
    assert summary2["matched_supported"] == 1 and summary2["supported_prior_suspension"] == 0
    with pytest.raises(ValueError, match="no supported young person"):
        ex.matched_comparison(_interventions(), pupils, e, match_on=("academic_year", "school_id", "sex", "fsm"))


def test_activity_exclusions_by_hand():
    att = pd.DataFrame({
        "person_id": ["P0000001", "P0000005", "P0000006", "P0000001", "A000001"],
        "role": ["young_person", "young_person", "young_person", "young_person", "parent_carer"],
        "attended": [True, True, False, True, True],
        "project": ["Co-production groups", "Friend for Life", "Friend for Life", "Bounce Forward", "Friend for Life"],
        "strand": ["co-production", "targeted", "targeted", "universal", "targeted"],
        "activity_date": pd.to_datetime(["2019-01-15", "2019-01-15", "2019-01-15", "2018-01-01", "2019-01-01"]),
    })
    a = ex.activity_exclusions(att, _exclusions()).set_index("group")
    # P1 (co-production from 2019-01-15): suspensions 2018-10-01 (before) and 2019-02-01 (after)
    assert a.loc["co-production", ["young_people", "excluded_ever", "excluded_after_first"]].tolist() == [1, 1, 1]
    assert a.loc["Friend for Life", ["young_people", "excluded_ever"]].tolist() == [1, 0]  # P6 did not attend
    assert a.loc["all", "young_people"] == 2 and a.loc["all", "permanent_after_first"] == 0


def test_back_on_track_windows_by_hand():
    iv = _interventions()
    e = _exclusions()
    s, per = ex.back_on_track_exclusions(iv, e, referred_from="2016-11-01", cutoff="2020-08-31")
    # consenting Back on Track episodes: P1 (2018-09-15..2019-01-31), P3 (2018-09-20..2019-06-30)
    # P1: 2018-10-01 during; 2019-02-01 after (within 365 days of end). P3: none (permanent not counted).
    p = per.set_index("period")
    assert (p.loc["before", "suspensions"], p.loc["during", "suspensions"], p.loc["after", "suspensions"]) == (0, 1, 1)
    assert s["young_people"] == 2 and s["suspensions_before_during"] == 1 and s["with_suspension_after"] == 1
    days_during = (pd.Timestamp("2019-01-31") - pd.Timestamp("2018-09-15")).days \
        + (pd.Timestamp("2019-06-30") - pd.Timestamp("2018-09-20")).days
    assert p.loc["during", "pupil_years"] == pytest.approx(days_during / 365.25)
    assert p.loc["during", "rate"] == pytest.approx(1 / (days_during / 365.25))
    s2, _ = ex.back_on_track_exclusions(iv, e, consent_only=False, cutoff="2019-01-31")
    assert s2["suspensions_after"] == 0  # after window truncated at the cutoff


# --------------------------------------------------------------------------- part A to 2022/23 (issue 16)
from rrlib.chapter import NotComputed  # noqa: E402


def _series_frame(years=range(2006, 2023), bump=0.0):
    """Rates by hand: Blackpool = comparison + 2 (+ ``bump`` from 2016/17); three comparators."""
    rows = []
    for y in years:
        yr = f"{y}/{(y + 1) % 100:02d}"
        base = 5 + 0.1 * (y - 2006)
        for area, level, rate in (("England", "National", base), ("North West", "Region", base + 0.5),
                                  ("P", "Local authority", base - 1), ("Q", "Local authority", base),
                                  ("R", "Local authority", base + 1),
                                  ("Blackpool", "Local authority", base + 2 + (bump if y >= 2016 else 0))):
            rows.append({"year": yr, "level": level, "la_name": area, "school_type": "Total", "num_schools": 1,
                         "headcount": 10000.0, "perm_excl": 10.0, "perm_excl_rate": 0.1,
                         "fixed_excl": round(rate * 100), "fixed_excl_rate": rate, "one_plus_fixed": 100.0,
                         "one_or_more_fixed_excl_rate": 1.0})
    return pd.DataFrame(rows)


def test_series_labels_suspension_from_2021_22_and_marks_covid_years():
    s = ex.series(ex.dfe_rates(_series_frame()), ["P", "Q", "R"])
    mean = s[s["group"] == "comparators' mean"].set_index("year")
    assert mean.loc["2006/07", "rate"] == pytest.approx(5.0)          # (4 + 5 + 6) / 3
    bp = s[s["area"] == "Blackpool"].set_index("year")
    assert bp.loc["2020/21", "name"] == "fixed-period exclusion" and bp.loc["2021/22", "name"] == "suspension"
    assert bp["covid"].sum() == 2 and bp.loc["2019/20", "covid"] and bp.loc["2020/21", "covid"]


def test_before_after_finds_no_change_in_a_constant_gap_and_a_planted_one():
    rates = ex.dfe_rates(_series_frame())
    flat = ex.before_after(ex.series(rates, ["P", "Q", "R"])).set_index("key")
    k = "exclusions.its.suspension.comparators.covid_excluded."
    assert flat.loc[k + "did", "value"] == pytest.approx(0, abs=1e-9)
    assert (flat["n"][flat.index.str.contains("covid_excluded")] == 15).all()
    assert (flat["n"][flat.index.str.contains("covid_included")] == 17).all()
    bumped = ex.before_after(ex.series(ex.dfe_rates(_series_frame(bump=3.0)), ["P", "Q", "R"])).set_index("key")
    # every comparison sees the +3 points; NW is 0.5 above England, so its gap is 0.5 smaller, same change
    for comp in ("comparators", "north_west", "england"):
        for covid in ("excluded", "included"):
            assert bumped.loc[f"exclusions.its.suspension.{comp}.covid_{covid}.did", "value"] == pytest.approx(3.0)
            assert bumped.loc[f"exclusions.its.suspension.{comp}.covid_{covid}.level_change", "value"] \
                == pytest.approx(3.0)
    assert set(bumped["unit"]) == {"points"} and bumped["note"].str.contains("observational").all()


def test_a11_official_is_computed_from_the_counts():
    d = _dfe([
        ["2018/19", "Local authority", "Blackpool", "Total", 40, 19234, 56, 0.29, 2319, 12.06, 845, 4.39],
        ["2018/19", "Region", "North West", "Total", 3000, 1104213, 0, 0.0, 58526, 5.30, 0, 0.0],
        ["2018/19", "National", "England", "Total", 20000, 8179491, 0, 0.0, 438265, 5.36, 0, 0.0],
    ])
    a = ex.a11_official(ex.dfe_rates(d), "2018/19").set_index("key")
    assert a.loc["exclusions.a11.official.blackpool_rate", "value"] == pytest.approx(2319 / 19234 * 100)
    assert round(a.loc["exclusions.a11.official.north_west_rate", "value"], 2) == 5.30
    assert round(a.loc["exclusions.a11.official.england_rate", "value"], 2) == 5.36
    assert (a["lower"] < a["value"]).all() and (a["value"] < a["upper"]).all()
    with pytest.raises(NotComputed, match="2017/18"):
        ex.a11_official(ex.dfe_rates(d), "2017/18")


def test_choose_comparators_by_hand():
    la = pd.DataFrame({"year": "2015/16", "level": "Local authority", "headcount": 100.0,
                       "la_name": ["Blackpool", "Near", "Mid", "Far"], "area_code": ["B", "N", "M", "F"],
                       "fixed_excl_rate": [6.0, 6.0, 5.0, 1.0]})
    fsm = pd.DataFrame({"area_code": ["B", "N", "M", "F"], "fsm_percent": [25.0, 24.0, 25.0, 10.0]})
    c = ex.choose_comparators(la, fsm, k=2)
    assert c["area"].tolist() == ["Blackpool", "Near", "Mid"] and c["distance"].iloc[0] == 0
    # z-scores: rate sd = 2.380, FSM sd = 7.228; Near differs by 1/7.228 = 0.138, Mid by 1/2.380 = 0.420
    assert c["distance"].iloc[1] == pytest.approx(1 / np.std([25, 24, 25, 10], ddof=1))
    with pytest.raises(NotComputed, match="Blackpool"):
        ex.choose_comparators(la[la["la_name"] != "Blackpool"], fsm)


def test_rank_and_funnel_results_of_the_latest_year():
    d = SMALL.copy()
    ranks, res, funnels = ex.rank_and_funnel(ex.dfe_rates(d), "2016/17")
    r = res.set_index("key")["value"]
    assert r["exclusions.dfe.blackpool.y2016_17.total.suspension_rank"] == 2     # B 10.0 > Blackpool 7.99
    assert r["exclusions.dfe.blackpool.y2016_17.total.one_plus_rank"] == 2       # B 5.0 > 3.96
    assert set(funnels) == set(ex.MEASURES)
    assert ex.latest_year(d) == "2016/17"
    with pytest.raises(NotComputed):
        ex.latest_year(d, area="Nowhere")


def test_suppressed_groups_are_hidden_from_results():
    from rrlib import disclosure
    pub = pd.DataFrame({"variable": ["sex", "fsm", "fsm"], "category": ["M", "True", "False"],
                        "n": ["10", "5", "9"], "events": ["4", "c", "3"]})
    assert disclosure.suppressed_keys(pub, ["variable", "category"], ["events"]) == {("fsm", "True")}
    hidden = ex.hidden_groups(pub)
    assert hidden == {("fsm", "1")}
    model = pd.DataFrame({"variable": ["fsm", "sex"], "category": ["1", "M"]})
    assert ex.shown(model, hidden).tolist() == [False, True]
    with pytest.raises(ValueError, match="nope"):
        disclosure.suppressed_keys(pub, ["nope"], ["events"])


def test_sections_skip_with_a_reason_when_the_year_is_missing():
    town = pd.DataFrame({"year": ["2019/20"], "measure": ["suspension"], "rate": [5.0], "lower": [4.0],
                         "upper": [6.0], "ci_method": ["Byars"], "headcount": [100], "count": [5]})
    with pytest.raises(NotComputed, match="2018/19"):
        ex.a11_pupil_result(town, "2018/19")
    with pytest.raises(NotComputed, match="2015/16"):
        ex.dfe_reference_results(ex.dfe_rates(SMALL), ex.recomputation_check(ex.dfe_rates(SMALL)), "2015/16")
    assert ex.a11_pupil_result(town, "2019/20")["key"].tolist() == ["exclusions.a11.suspension_rate"]


def test_forest_plot_speaks_words_and_plain_ticks():
    """Issue 29, Figure 2.5: category codes in words, plain-number ticks on the log axis, legend
    outside the panel."""
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from rrlib.chapters.exclusions import pupils as P

    g = pd.DataFrame({"variable": ["sen_provision", "sen_provision", "ethnicity_major", "ethnicity_major"],
                      "category": ["none", "ehc_plan", "WHIT", "BLAC"], "reference": [True, False, True, False],
                      "rr": [1.0, 2.1, 1.0, 0.6], "rr_lower": [np.nan, 1.5, np.nan, 0.3],
                      "rr_upper": [np.nan, 2.9, np.nan, 1.2]})
    fig = P.plot_forest(g)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any("EHC plan" in x for x in labels) and any("Black or Black British" in x for x in labels)
    assert not any("ehc_plan" in x or "BLAC" in x for x in labels)
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and all("10^" not in t and "times" not in t for t in ticks), ticks
    assert ax.get_legend() is None and fig.legends, "legend outside the panel"
    plt.close(fig)


def test_targeted_comparison_figure_draws_only_the_published_shares():
    """Under tre the targeted group's 5 exclusions are suppressed, and with them its share: the figure
    drew the share from the unsuppressed table (1413 x (1 - 99.65%) = 5); it now draws the table."""
    import matplotlib

    from rrlib import disclosure

    matplotlib.use("Agg")
    t = pd.DataFrame({"group": ["Targeted support (matched)", "Comparison (matched, weighted)"],
                      "young_people": [1413, 47933], "permanently_excluded_after": [5, 186],
                      "percent_not_excluded": [99.65, 99.05], "lower": [99.17, 98.82], "upper": [99.85, 99.23]})
    cols = ["percent_not_excluded", "lower", "upper"]
    pub, _ = disclosure.apply(t, preset="tre", counts=["young_people", "permanently_excluded_after"],
                              derived={c: ["permanently_excluded_after"] for c in cols}, id_cols=["group"])
    data = ex.targeted_comparison_figure(pub)
    assert data.frame.loc[0, "y"] == "c" and data.frame.loc[1, "y"] == "99.05"
    fig = ex.plot_targeted_comparison(data.numbers())
    assert not any("99.6" in t.get_text() for t in fig.axes[0].texts)


# -- the chapter's sentences (*_text): exact text from small hand-made results ----------------------
def _results(rows):
    return results_frame([results_row(*r) if isinstance(r, tuple) else r for r in rows])


def test_tables_text_names_both_dfe_tables_and_the_latest_year():
    dfe = pd.DataFrame({"year": ["2014/15", "2016/17", "2015/16"]})
    la = pd.DataFrame({"year": ["2006/07"] * 600 + ["2022/23"] * 700, "la_name": ["A", "B"] * 650})
    assert ex.tables_text(dfe, la, "2022/23") == (
        "DfE tables: SFR35/2017 3 rows (2014/15 to 2016/17); 2022/23 release 1,300 rows (2006/07 to 2022/23, "
        "2 areas). Latest year (rank and funnel plot): **2022/23**.")


def test_reference_text_reads_the_reference_results():
    p = ex.reference_prefix("2016/17")
    assert p == "exclusions.dfe.blackpool.y2016_17.total."
    res = _results([(p + "suspension_rate", 7.994), (p + "one_plus_rate", 3.96), (p + "permanent_rate", 0.2151),
                    (p + "suspension_count", 1500), ("exclusions.dfe.check.la_rates_compared", 62),
                    ("exclusions.dfe.check.la_rates_disagree", 0)])
    assert ex.reference_text(res, "2016/17") == (
        "In 2016/17, Blackpool's schools had **7.99** suspensions, **3.96** pupils with one or more suspensions "
        "and **0.22** permanent exclusions per 100 pupils. Of 62 published Blackpool rates, 0 differ from their "
        "counts.")
    other = ex.reference_prefix("2016/17", "North Somerset")
    res = _results([(other + "suspension_rate", 3.0), (other + "one_plus_rate", 1.5), (other + "permanent_rate", 0.1),
                    ("exclusions.dfe.check.la_rates_compared", 9), ("exclusions.dfe.check.la_rates_disagree", 1)])
    assert ex.reference_text(res, "2016/17", area="North Somerset").startswith(
        "In 2016/17, North Somerset's schools had **3.00** suspensions")


def test_a11_texts_official_and_pupil_records():
    res = _results([("exclusions.a11.official.blackpool_rate", 12.0566),
                    ("exclusions.a11.official.north_west_rate", 5.3), ("exclusions.a11.official.england_rate", 5.36)])
    assert ex.a11_official_text(res, "2018/19") == (
        "**A11 (official statistics).** In 2018/19 the DfE's suspension rates were North West **5.30** and England "
        "**5.36** (the published comparators), and Blackpool **12.06**, not the published 12.48.")
    town = pd.DataFrame({"year": ["2018/19", "2018/19"], "measure": ["suspension", "permanent"],
                         "rate": [12.06, 0.2], "lower": [11.571, 0.1], "upper": [12.564, 0.3],
                         "ci_method": ["Byars", "exact"], "headcount": [18910, 18910]})
    assert ex.a11_pupil_text(ex.a11_pupil_result(town, "2018/19"), "2018/19") == (
        "**A11 (pupil records).** 2018/19: **12.06** suspensions per 100 pupils (95% CI 11.57 to 12.56; "
        "18,910 pupils).")
