"""Unit tests of rrlib.chapters.targeted on small hand-made data with answers counted by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sst

from rrlib import disclosure
from rrlib.chapters import targeted as T
from rrlib.results import RESULT_COLUMNS
from rrlib.results import frame as results_frame
from rrlib.results import row as results_row


def _pupils():
    rows = []
    for pid, sex, by, bm in (("P0000001", "M", 2005, 3), ("P0000002", "F", 2004, 10), ("P0000003", "M", 2006, 9),
                             ("P0000004", "M", 2005, 1)):
        for ys in (2016, 2017, 2018):
            rows.append({"pupil_id": pid, "academic_year": f"{ys}/{(ys + 1) % 100:02d}", "sex": sex,
                         "birth_year": by, "birth_month": bm, "looked_after": True, "fsm": pid != "P0000004",
                         "sen_provision": "none"})
    return pd.DataFrame(rows)


def _interventions():
    d = pd.to_datetime
    return pd.DataFrame({
        "episode_id": ["EP000001", "EP000002", "EP000003", "EP000004", "EP000005"],
        "person_id": ["P0000001", "P0000002", "P0000003", "P0000004", "P0000001"],
        "programme": ["back_on_track"] * 4 + ["walk_and_talk"],
        "referral_date": d(["2016-12-01", "2017-02-10", "2017-09-15", "2018-10-01", "2017-01-01"]),
        "start_date": d(["2017-01-01", "2017-03-01", "2017-10-01", "2018-11-01", "2017-01-10"]),
        "end_date": d(["2017-07-01", "2018-03-01", None, "2019-11-01", "2017-03-01"]),
        "end_reason": ["completed", "completed", None, "completed", "completed"],
        "education_data_consent": [True, False, True, True, False],
    })


def test_cohort_ages_sex_window_and_support_length():
    c = T.cohort(_interventions(), _pupils(), start="2016-11-01", end="2018-08-31", cutoff="2019-08-31")
    assert list(c["episode_id"]) == ["EP000001", "EP000002", "EP000003"]  # walk and talk and 2018/19 out
    # P1 born March 2005, referred Dec 2016 -> 11; P2 born Oct 2004, Feb 2017 -> 12; P3 Sep 2006, Sep 2017 -> 11
    assert list(c["age_at_referral"]) == [11, 12, 11]
    assert list(c["academic_year"]) == ["2016/17", "2016/17", "2017/18"]
    assert list(c["ended"]) == [True, True, False]
    # 2017-01-01 to 2017-07-01 = 181 days
    assert c["support_months"].iloc[0] == pytest.approx(181 / 30.4375)
    s = T.cohort_summary(c)
    assert (s["young_people"], s["male"]) == (3, 2)
    assert s["male_pct"] == pytest.approx(200 / 3)
    assert s["age_mean"] == pytest.approx(34 / 3)
    assert s["ended"] == 2


def test_taking_part_counts_overlapping_episodes():
    c = T.cohort(_interventions(), _pupils(), start="2016-11-01", end="2019-08-31")
    on = T.taking_part(c, "2018-09-01", "2019-08-31")
    # EP3 never ended (ongoing), EP4 started Nov 2018; EP2 ended March 2018
    assert set(on["episode_id"]) == {"EP000003", "EP000004"}


def test_referral_and_age_tables_equal_direct_counts():
    c = T.cohort(_interventions(), _pupils(), start="2016-11-01", end="2019-08-31")
    t = T.referrals_table(c).set_index("school_year")
    assert t.loc["2016/17", "total"] == 2 and t.loc["2016/17", "girls"] == 1
    assert t.drop(index="Total")["total"].sum() == c["person_id"].nunique()
    a = T.age_table(c).set_index("age_at_referral")
    assert a.drop(index="Total")["total"].sum() == 4


def test_count_tables_have_total_rows_that_equal_direct_counts():
    from rrlib import disclosure

    c = T.cohort(_interventions(), _pupils(), start="2016-11-01", end="2019-08-31", cutoff="2020-08-31")
    people = c.drop_duplicates("person_id")  # P1..P4, one episode each here: 1 girl, 3 boys
    for tab, label_col in ((T.referrals_table(c), "school_year"), (T.age_table(c), "age_at_referral")):
        assert tab[label_col].iloc[-1] == "Total" and (tab[label_col] == "Total").sum() == 1
        tot = tab.iloc[-1]
        assert (tot["girls"], tot["boys"], tot["total"]) == (1, 3, 4) == (
            int((people["sex"] == "F").sum()), int((people["sex"] == "M").sum()), len(people))
        body = tab.iloc[:-1]
        for col in ("girls", "boys", "total"):
            assert tot[col] == body[col].sum()
        assert (tab["total"] == tab["girls"] + tab["boys"]).all()
        assert list(tab[label_col].iloc[:-1]) == list(T.referrals_table(c, total=False)["school_year"]
                                                      if label_col == "school_year"
                                                      else T.age_table(c, total=False)["age_at_referral"])
    s = T.support_length_table(c).set_index("length")["episodes"]
    # ended by the cut-off: EP1 181 days (5.9 months), EP2 and EP4 365 days (11.99 months each)
    assert s["Total"] == int(c["ended"].sum()) == 3 == s.drop(index="Total").sum()
    assert s["0-6 months"] == 1 and s["6-12 months"] == 2 and s["12-18 months"] == 0
    # support longer than the last edge (real extracts run to 2023): further 6-month bins, total unchanged
    s = T.support_length_table(c, bins=(0, 6, 11)).set_index("length")["episodes"]
    assert list(s.index) == ["0-6 months", "6-11 months", "11-17 months", "Total"]
    assert (s["0-6 months"], s["6-11 months"], s["11-17 months"], s["Total"]) == (1, 0, 2, 3)
    # the declared relations protect a suppressed cell: 2016/17 girls = 1 is not recoverable
    pub, rec = disclosure.apply(T.referrals_table(c), counts=["girls", "boys", "total"], id_cols=["school_year"],
                                totals={"columns": {"total": ["girls", "boys"]}, "row": ("school_year", "Total")})
    assert rec["n_primary"] > 0 and rec["n_secondary"] > 0
    assert not disclosure.check(pub, "dfe", counts=["girls", "boys", "total"],
                                totals={"columns": {"total": ["girls", "boys"]}, "row": ("school_year", "Total")})


def test_recomputed_cohort_changes_with_the_data():
    iv = _interventions()
    c1 = T.cohort_summary(T.cohort(iv, _pupils(), start="2016-11-01", end="2019-08-31"))
    iv2 = iv.copy()
    iv2.loc[4, "programme"] = "back_on_track"  # a second Back on Track episode of P1 (earlier referral)
    c2 = T.cohort(iv2, _pupils(), start="2016-11-01", end="2019-08-31")
    s2 = T.cohort_summary(c2)
    assert s2["young_people"] == c1["young_people"] == 4  # same people: counted once
    assert s2["ended"] == c1["ended"] + 1
    direct = int(((iv2["programme"] == "back_on_track") & iv2["end_date"].notna()).sum())
    assert s2["ended"] == direct


def _pairs():
    # before/after scores for 5 young people; impact missing after for the last
    return pd.DataFrame({
        "episode_id": [f"E{i}" for i in range(5)], "person_id": [f"P{i}" for i in range(5)],
        "emotion_before": [7, 3, 6, 2, 5.0], "emotion_after": [4, 3, 7, 1, 2.0],
        "conduct_before": [5, 1, 2, 2, 3.0], "conduct_after": [4, 1, 2, 3, 3.0],
        "hyper_before": [8, 6, 5, 4, 7.0], "hyper_after": [6, 6, 4, 4, 7.0],
        "peer_before": [4, 2, 1, 5, 3.0], "peer_after": [3, 2, 1, 5, 3.0],
        "total_before": [24, 12, 14, 13, 18.0], "total_after": [17, 12, 14, 13, 15.0],
        "impact_before": [4, 0, 2, 1, 3.0], "impact_after": [1, 0, 2, 2, np.nan],
        "prosoc_before": [6, 7, 8, 9, 5.0], "prosoc_after": [7, 7, 8, 9, 6.0],
    })


def test_sdq_change_table_matches_scipy_and_counts():
    p = _pairs()
    t = T.sdq_change_table(p).set_index("scale")
    b, a = p["emotion_before"], p["emotion_after"]
    assert t.loc["emotion", "mean_change"] == pytest.approx((a - b).mean())
    assert t.loc["emotion", "t_p"] == pytest.approx(sst.ttest_rel(a, b).pvalue)
    assert t.loc["emotion", "wilcoxon_p"] == pytest.approx(sst.wilcoxon(a, b).pvalue)
    assert (t.loc["emotion", "n_decreased"], t.loc["emotion", "n_same"], t.loc["emotion", "n_increased"]) == (3, 1, 1)
    assert t.loc["impact", "n"] == 4  # the missing after is dropped
    assert t.loc["emotion", "change_lower"] < t.loc["emotion", "mean_change"] < t.loc["emotion", "change_upper"]


def test_band_share_in_20_and_movement():
    p = _pairs()
    s = T.sdq_band_share(p, band_from="high").set_index(["scale", "when"])
    # emotion high band is 6+: before 7 and 6 (2 of 5), after 7 (1 of 5)
    assert s.loc[("emotion", "before"), "n_band"] == 2
    assert s.loc[("emotion", "before"), "in_20"] == pytest.approx(8.0)
    assert s.loc[("emotion", "after"), "in_20_rounded"] == 4
    # total high is 18+: before 24 and 18, after none
    assert s.loc[("total", "before"), "n_band"] == 2 and s.loc[("total", "after"), "n_band"] == 0
    # impact (4 complete pairs): high is 2+: before 4, 2 (2 of 4)
    assert s.loc[("impact", "before"), "n"] == 4 and s.loc[("impact", "before"), "pct"] == 50
    lo = T.sdq_band_share(p, band_from="slightly raised").set_index(["scale", "when"])
    assert lo.loc[("emotion", "before"), "n_band"] == 3  # 5+ : 7, 6, 5
    m = T.sdq_band_movement(p, ["total"]).iloc[0]
    # total bands: 24 vh -> 17 slightly raised (down); 18 high -> 15 slightly raised (down); others same
    assert (m["moved_down"], m["same_band"], m["moved_up"]) == (2, 3, 0)
    # the totals relations stated in the docstrings hold
    mv = T.sdq_band_movement(p)
    assert (mv["n"] == mv["moved_down"] + mv["same_band"] + mv["moved_up"]).all()
    ct = T.sdq_change_table(p)
    assert (ct["n"] == ct["n_decreased"] + ct["n_same"] + ct["n_increased"]).all()


def test_decrease_summary_by_hand():
    d = T.sdq_decrease_summary(_pairs(), "total")
    assert d["n_decreased"] == 2 and d["pct_decreased"] == pytest.approx(40)
    assert d["mean_pct_reduction"] == pytest.approx(100 * (7 / 24 + 3 / 18) / 2)
    i = T.sdq_decrease_summary(_pairs(), "impact")
    assert (i["n"], i["n_decreased"]) == (4, 1)
    assert i["mean_pct_reduction"] == pytest.approx(75)


def test_detectable_effect_and_regression_to_mean():
    assert T.detectable_effect(13) == pytest.approx(0.85, abs=0.03)  # Cohen: d_z ~ 0.85 for n = 13
    assert T.detectable_effect(100) < T.detectable_effect(13)
    r = T.regression_to_mean(_pairs(), "total", high_from=18)
    assert (r["n_high"], r["n_other"]) == (2, 3)
    assert r["change_high"] == pytest.approx(-5) and r["change_other"] == 0


def _goals():
    return pd.DataFrame({
        "goal_id": [f"G{i:06d}" for i in range(1, 8)],
        "person_id": ["P1", "P1", "P1", "P2", "P2", "P3", "P4"],
        "episode_id": ["E1", "E1", "E1", "E2", "E2", "E3", "E4"],
        "programme": ["back_on_track"] * 6 + ["resilience_coach_1to1"],
        "domain": ["Coping", "Coping", "Learning", "Basics", "Coping", "Belonging", "Coping"],
        "set_date": pd.to_datetime(["2017-03-05", "2017-04-01", "2017-05-01", "2018-01-01", "2018-02-01",
                                    "2020-07-01", "2018-01-01"]),
        "first": [2, 3, 5, 1, 4, 2, 3.0], "last": [6, 5, 5, 4, 7, 9, 4.0],
    }).assign(change=lambda d: d["last"] - d["first"],
              reliable_improvement=lambda d: d["change"] >= 2.45,
              reliable_deterioration=lambda d: d["change"] <= -2.45)


def test_goals_window_per_person_domain_and_change():
    g = T.goals_in_window(_goals(), ["back_on_track"], "2017-03-01", "2020-06-30")
    assert len(g) == 5  # the July 2020 goal and the Resilience Coach goal are out
    s = T.goals_per_person(g)
    assert (s["goals"], s["young_people"], s["min"], s["max"]) == (5, 2, 2, 3)
    d = T.goals_by_domain(g).set_index("domain")["goals"]
    assert d["Coping"] == 3 and d["Core Self"] == 0 and d.sum() == 5
    m = T.goal_change_summary(g).set_index("measure")
    changes = np.array([4, 2, 0, 3, 3.0])
    assert m.loc["mean change per goal", "estimate"] == pytest.approx(changes.mean())
    # per person: P1 (4+2+0)/3 = 2, P2 3 -> 2.5
    assert m.loc["mean change per young person", "estimate"] == pytest.approx(2.5)
    assert m.loc["goals with reliable improvement (%)", "count"] == 3  # 4, 3, 3
    assert m.loc["goals with reliable improvement (%)", "estimate"] == pytest.approx(60)
    bd = T.goal_change_by_domain(g).set_index("domain")
    assert bd.loc["Coping", "mean_change"] == pytest.approx(3) and bd.loc["Coping", "n"] == 3
    # the "All goals" row: every rated goal, its mean and interval those of the per-goal summary row
    assert list(bd.index) == [*T.DOMAINS, "All goals"]
    allg = bd.loc["All goals"]
    assert allg["n"] == 5 == bd.drop(index="All goals")["n"].sum()
    assert allg["reliable_improvement"] == 3 == bd.drop(index="All goals")["reliable_improvement"].sum()
    for a, b in (("mean_change", "estimate"), ("lower", "lower"), ("upper", "upper")):
        assert allg[a] == pytest.approx(m.loc["mean change per goal", b])
    assert list(T.goal_change_by_domain(g, total=False)["domain"]) == list(T.DOMAINS)


def test_goal_reliable_change_threshold_is_honoured():
    g = T.goals_in_window(_goals(), ["back_on_track"], "2017-03-01", "2020-06-30")
    # add each goal's mirror image (first and last swapped), so deterioration is tested too; the stored
    # reliable_* flags are wrong for the mirrors on purpose: the functions must recompute from `change`
    g = pd.concat([g, g.assign(goal_id=g["goal_id"] + "b", first=g["last"], last=g["first"],
                               change=lambda d: d["last"] - d["first"])], ignore_index=True)
    changes = g["change"].to_numpy()  # 4, 2, 0, 3, 3, -4, -2, 0, -3, -3
    n = len(changes)
    imp, det = "goals with reliable improvement (%)", "goals with reliable deterioration (%)"
    default = T.goal_change_summary(g).set_index("measure")
    assert default.loc[imp, "count"] == int((changes >= 2.45).sum()) == 3
    assert default.loc[det, "count"] == int((changes <= -2.45).sum()) == 3
    # ratings are whole numbers, so a threshold of 3 classifies exactly as 2.45 does
    three = T.goal_change_summary(g, threshold=3).set_index("measure")
    assert three.loc[imp, "estimate"] == pytest.approx(100 * (changes >= 3).sum() / n) == pytest.approx(30)
    assert three.loc[imp, "estimate"] == pytest.approx(default.loc[imp, "estimate"])
    # thresholds that do change the classification: 2 (changes of 2 become reliable) and 3.5
    for thr, up, down in ((2, 4, 4), (3.5, 1, 1)):
        t = T.goal_change_summary(g, threshold=thr).set_index("measure")
        assert t.loc[imp, "count"] == int((changes >= thr).sum()) == up
        assert t.loc[det, "count"] == int((changes <= -thr).sum()) == down
        assert t.loc[imp, "estimate"] == pytest.approx(100 * up / n)
        assert t.loc[imp, "estimate"] != pytest.approx(three.loc[imp, "estimate"])
        bd = T.goal_change_by_domain(g, threshold=thr).set_index("domain")
        for d in [*T.DOMAINS, "All goals"]:
            v = g["change"] if d == "All goals" else g.loc[g["domain"] == d, "change"]
            assert bd.loc[d, "reliable_improvement"] == int((v >= thr).sum())
    # a change between 2.45 and 3 (possible only with non-integer ratings) separates the two thresholds
    h = g.assign(change=np.where(g["goal_id"] == g["goal_id"].iloc[1], 2.5, g["change"]))
    x = h["change"].to_numpy()
    s245 = T.goal_change_summary(h).set_index("measure").loc[imp, "estimate"]
    s3 = T.goal_change_summary(h, threshold=3).set_index("measure").loc[imp, "estimate"]
    assert s245 == pytest.approx(100 * (x >= 2.45).sum() / n) == pytest.approx(40)
    assert s3 == pytest.approx(100 * (x >= 3).sum() / n) == pytest.approx(30)
    assert T.goal_change_by_domain(h, threshold=3).set_index("domain").loc["Coping", "reliable_improvement"] == 2
    with pytest.raises(ValueError, match="positive"):
        T.goal_change_summary(g, threshold=0)


def test_attendance_and_exclusion_windows_by_hand():
    c = T.cohort(_interventions(), _pupils(), start="2016-11-01", end="2019-08-31", cutoff="2020-08-31")
    ec = T.education_cohort(c)
    assert list(ec["episode_id"]) == ["EP000001", "EP000004"]  # consent and ended
    att = pd.DataFrame({
        "pupil_id": ["P0000001", "P0000001", "P0000004", "P0000004", "P0000004"],
        "academic_year": ["2016/17", "2016/17", "2018/19", "2019/20", "2019/20"],
        "term": ["autumn", "summer", "autumn", "autumn", "spring"],
        "possible_sessions": [100, 120, 130, 110, 90], "attended_sessions": [95, 100, 120, 99, 80]})
    a = T.attendance_referral_end(ec, att)
    pooled = a[a["episode_id"] == "pooled"].set_index("when")
    # referral terms: P1 Dec 2016 autumn 16/17 (95/100), P4 Oct 2018 autumn 18/19 (120/130)
    assert pooled.loc["referral", "attendance_pct"] == pytest.approx(100 * 215 / 230)
    # end terms: P1 July 2017 summer (100/120), P4 Nov 2019 autumn 19/20 (99/110)
    assert pooled.loc["end", "attendance_pct"] == pytest.approx(100 * 199 / 230)
    ex = pd.DataFrame({"pupil_id": ["P0000001"] * 4 + ["P0000004"],
                       "exclusion_date": pd.to_datetime(["2016-03-01", "2016-06-01", "2017-02-01", "2017-09-01",
                                                         "2021-01-01"]),
                       "category": ["suspension", "suspension", "suspension", "permanent", "suspension"]})
    xw = T.exclusions_windows(ec, ex, cutoff="2020-08-31")
    w = xw.set_index(["episode_id", "window"])
    # P1 start 2017-01-01: before window from 2016-01-02: two; during one; after (to 2018-07-01) the permanent
    assert w.loc[("EP000001", "before"), "suspensions"] == 2
    assert w.loc[("EP000001", "during"), "suspensions"] == 1
    assert w.loc[("EP000001", "after"), "permanents"] == 1
    assert w.loc[("EP000004", "after"), "suspensions"] == 0  # 2021 is after the cut-off
    h = T.exclusions_headline(xw)
    assert h == {"young_people": 2, "suspended_before_during": 1, "suspensions_before_during": 3,
                 "suspended_after": 0, "suspensions_after": 0}
    s = T.exclusions_summary(xw).set_index("window")
    assert s.loc["before", "suspensions"] == 2 and s.loc["after", "permanent"] == 1
    assert s.loc["before", "rate_lower"] <= s.loc["before", "rate_per_pupil_year"] <= s.loc["before", "rate_upper"]


def test_plots_return_figures():
    import matplotlib

    matplotlib.use("Agg")
    c = T.cohort(_interventions(), _pupils(), start="2016-11-01", end="2019-08-31", cutoff="2020-08-31")
    ref, _ = disclosure.apply(T.referrals_table(c), **T.PUBLISH["targeted_bot_referrals"])
    data = T.referrals_figure(ref)
    assert "Total" not in set(data.frame["x"]) and set(data.frame["series"]) == {"young people referred"}
    assert T.plot_referrals(data.numbers()).axes
    share, _ = disclosure.apply(T.sdq_band_share_table(_pairs()), **T.PUBLISH["targeted_sdq_band_share"])
    assert T.plot_sdq_bands(T.sdq_figure(share).numbers()).axes
    g = _goals()
    dom, _ = disclosure.apply(T.goal_change_by_domain(g), **T.PUBLISH["targeted_goal_change_by_domain"])
    assert T.plot_goal_change(T.goal_figure(dom).numbers()).axes
    dom3, _ = disclosure.apply(T.goal_change_by_domain(g, threshold=3), **T.PUBLISH["targeted_goal_change_by_domain"])
    fig = T.plot_goal_change(T.goal_figure(dom3).numbers(), threshold=3)
    ax = fig.axes[0]
    assert not any("All goals" in t.get_text() for t in ax.get_yticklabels())  # the total row is not a section
    assert any(t.get_text() == "reliable change (3)" for t in ax.texts)


# --------------------------------------------------------------------------- sections, parameters, tidy frames

from rrlib import chapter  # noqa: E402
from rrlib.chapter import NotComputed, ParameterError  # noqa: E402


def _params(**kw):
    p = dict(cohort_start="2016-11-01", cohort_end="2020-08-31", later_cohort_end="2021-06-30",
             active_year="2019/20", goals_from="2017-03-01", goals_to="2020-06-30", band_from="high",
             reliable_change=2.45, before_days=365, after_days=365, confidence=0.95)
    p.update(kw)
    return p


def test_check_parameters_accepts_the_defaults_and_refuses_bad_values_in_one_line():
    T.check_parameters(_params())
    T.check_parameters(_params(reliable_change=3))  # an int is a number of points too
    import datetime

    for bad, words in ((dict(cohort_end=2020), "cohort_end = 2020 is a int"),
                       (dict(goals_to=datetime.date(2020, 6, 30)), "goals_to = datetime.date(2020, 6, 30) is a date; "
                                                                   "expected a date as text"),
                       (dict(cohort_end="2020-13-01"), "cohort_end = '2020-13-01' is not a date"),
                       (dict(cohort_start="2021-01-01"), "cohort_start = '2021-01-01' is after cohort_end"),
                       (dict(active_year="2019"), "active_year = '2019' is not a school year"),
                       (dict(active_year=2019), "active_year = 2019 is a int"),
                       (dict(band_from="medium"), "not among the SDQ self-report bands"),
                       (dict(reliable_change=0), "reliable_change = 0"),
                       (dict(reliable_change="2.45"), "reliable_change = '2.45' is a str"),
                       (dict(before_days=-1), "before_days = -1"),
                       (dict(after_days=365.0), "after_days = 365.0 is a float"),
                       (dict(confidence=95.0), "confidence = 95.0")):
        with pytest.raises(ParameterError) as e:
            T.check_parameters(_params(**bad))
        assert words in str(e.value) and "\n" not in str(e.value)


def test_a14_cohort_is_skipped_with_its_reason_when_the_data_stops_early():
    iv = _interventions()
    # the data runs to 2019-11-01 (EP4's end): the A14 window to 2020-08-31 is not covered
    with pytest.raises(NotComputed, match="ends on 2019-11-01, before the end of the A14 cohort window "
                                          r"\(2016-11-01 to 2020-08-31\)"):
        T.bot_cohort(iv, _pupils(), start="2016-11-01", end="2020-08-31", cutoff="2020-08-31",
                     label="the A14 cohort window")
    # a window the data covers: computed, same as cohort()
    c = T.bot_cohort(iv, _pupils(), start="2016-11-01", end="2018-08-31", cutoff="2019-08-31")
    pd.testing.assert_frame_equal(c, T.cohort(iv, _pupils(), start="2016-11-01", end="2018-08-31",
                                              cutoff="2019-08-31"))
    with pytest.raises(NotComputed, match="no `back_on_track` episode referred between 2016-01-01 and 2016-06-30"):
        T.bot_cohort(iv, _pupils(), start="2016-01-01", end="2016-06-30")
    with pytest.raises(NotComputed, match="no `back_on_track` episode in the data"):
        T.data_window(iv[iv["programme"] != "back_on_track"])
    assert T.data_window(iv) == (pd.Timestamp("2016-12-01"), pd.Timestamp("2019-11-01"))


def test_a_section_skips_and_records_nothing_when_its_window_is_not_covered(tmp_path):
    from rrlib.results import Results

    ch = chapter.Chapter.__new__(chapter.Chapter)
    ch.results = Results("targeted", tmp_path / "targeted.json")
    ch.show = lambda o: None
    iv, pupils = _interventions(), _pupils()
    with ch.section("targeted.bot") as sec:
        c = T.bot_cohort(iv, pupils, start="2016-11-01", end="2020-08-31", cutoff="2020-08-31", label="the A14 window")
        ch.record_frame(T.cohort_results(c, "targeted.bot"))
    with ch.section("targeted.bot_all") as ok:
        first, last = T.data_window(iv)
        ch.record_frame(T.cohort_results(T.cohort(iv, pupils, cutoff=last), "targeted.bot_all"))
    assert not sec.computed and "2019-11-01" in sec.reason
    assert ok.computed and ch.results.get("targeted.bot_all.young_people") == 4
    assert not any(k.startswith("targeted.bot.") for k in ch.results.results)
    assert ch.results.skipped["targeted.bot"]["reason"] == sec.reason


def test_cohort_and_taking_part_results_by_hand():
    c = T.cohort(_interventions(), _pupils(), start="2016-11-01", end="2018-08-31", cutoff="2019-08-31")
    r = T.cohort_results(c, "targeted.bot", window="x")
    assert list(r.columns) == list(RESULT_COLUMNS)
    v = T.values(r)
    # P1 (M, 11), P2 (F, 12), P3 (M, 11); EP1 181 days and EP2 365 days ended
    assert (v["young_people"], v["age_min"], v["age_max"]) == (3, 11, 12)
    assert v["male_pct"] == pytest.approx(200 / 3) and v["age_mean"] == pytest.approx(34 / 3)
    assert v["support_months_min"] == pytest.approx(181 / 30.4375)
    assert v["support_months_max"] == pytest.approx(365 / 30.4375)
    assert isinstance(v["young_people"], int)  # counts stay whole numbers in the results file
    t = T.taking_part_results(T.cohort(_interventions(), _pupils(), start="2016-11-01", end="2019-08-31"), "2018/19")
    assert t["key"].tolist() == [T.taking_part_key("2018/19")] == ["targeted.bot.taking_part_2018_19"]
    assert t["value"].iloc[0] == 2  # EP3 (open) and EP4 (from Nov 2018)
    assert T.school_year_window("2019/20") == (pd.Timestamp("2019-09-01"), pd.Timestamp("2020-08-31"))


def test_support_of_real_extracts_may_run_to_2023():
    iv = _interventions()
    iv.loc[3, "end_date"] = pd.Timestamp("2023-03-01")  # EP4: 2018-11-01 to 2023-03-01, 52.0 months
    c = T.cohort(iv, _pupils(), start="2016-11-01", end="2019-08-31")
    s = T.support_length_table(c).set_index("length")["episodes"]
    assert s["49-55 months"] == 1 and s["Total"] == 3  # bins go on from 31 by 6 months: 31-37, ..., 49-55
    v = T.values(T.cohort_results(c, "targeted.bot_all"))
    assert v["support_months_max"] == pytest.approx((pd.Timestamp("2023-03-01") - pd.Timestamp("2018-11-01")).days
                                                    / 30.4375)
    xw = T.exclusions_windows(T.education_cohort(c), pd.DataFrame(
        {"pupil_id": ["P0000004"], "exclusion_date": [pd.Timestamp("2023-06-01")], "category": ["suspension"]}))
    assert xw.set_index(["episode_id", "window"]).loc[("EP000004", "after"), "suspensions"] == 1


def test_sdq_goal_attendance_and_exclusion_frames_match_the_tables():
    p = _pairs()
    r = T.sdq_results(p)
    v = T.values(r)
    assert v["pairs"] == 5
    dec = T.sdq_decrease_summary(p, "total")
    row = r.set_index("key").loc["targeted.sdq.total_decreased_pct"]
    assert (row["value"], row["lower"], row["upper"], row["n"]) == (dec["pct_decreased"], dec["pct_lower"],
                                                                       dec["pct_upper"], 5)
    share = T.sdq_band_share(p).set_index(["scale", "when"])
    assert v["emotion_before_in_20"] == share.loc[("emotion", "before"), "in_20"]
    assert len(r) == 5 + 2 * 2 * len(T.SDQ_SCALES) + 4 * len(T.SDQ_SCALES)
    with pytest.raises(NotComputed, match="no young person of the cohort has an SDQ"):
        T.sdq_results(p.iloc[:0])
    lim = T.values(T.sdq_limits_results(p))
    assert lim["detectable_effect_dz"] == pytest.approx(T.detectable_effect(5))
    g = pd.DataFrame({"person_id": ["A", "A", "B"], "domain": ["Coping", "Basics", "Coping"],
                      "first": [2, 3, 5.0], "last": [6, 3, 4.0], "change": [4, 0, -1.0]})
    gv = T.values(T.goal_results(g, threshold=2.45))
    assert (gv["bot_goals"], gv["bot_young_people"], gv["bot_min_per_person"], gv["bot_max_per_person"]) == (3, 2, 1, 2)
    assert gv["bot_mean_change"] == pytest.approx(1.0)
    assert gv["bot_reliable_improvement_pct"] == pytest.approx(100 / 3)
    assert set(T.goal_results(g)["key"]) == set(T.GOAL_BOT_KEYS)
    with pytest.raises(NotComputed):
        T.goal_results(g.iloc[:0])
    dv = T.goal_domain_results(T.goals_by_domain(g))
    assert set(dv["key"]) == set(T.GOAL_DOMAIN_KEYS) and dv["value"].sum() == 3
    c = T.cohort(_interventions(), _pupils(), start="2016-11-01", end="2019-08-31", cutoff="2020-08-31")
    ec = T.education_cohort_or_skip(c)
    with pytest.raises(NotComputed, match="consented"):
        T.education_cohort_or_skip(c.assign(education_data_consent=False))
    att = pd.DataFrame({"pupil_id": ["P0000001", "P0000004"], "academic_year": ["2016/17", "2018/19"],
                        "term": ["autumn", "autumn"], "possible_sessions": [100, 130], "attended_sessions": [95, 120]})
    a = T.attendance_referral_end(ec, att)
    with pytest.raises(NotComputed, match="term of end"):  # no record for the terms support ended
        T.attendance_results(ec, a)
    ex = pd.DataFrame({"pupil_id": ["P0000001"], "exclusion_date": [pd.Timestamp("2016-06-01")],
                       "category": ["suspension"]})
    xv = T.values(T.exclusion_results(T.exclusions_windows(ec, ex, cutoff="2020-08-31")))
    assert (xv["suspended_before_during"], xv["suspensions_before_during"], xv["suspensions_after"]) == (1, 1, 0)
    assert xv["rate_before"] == pytest.approx(1 / (2 * 365 / 365.25))


def test_check_outputs(tmp_path):
    from pathlib import Path

    res = {"targeted.a.x": {"value": 5.0, "lower": 4.0, "upper": 6.0}}
    every = [Path(n) for n in T.OUTPUTS]
    T.check_outputs(res, {}, every)
    with pytest.raises(AssertionError, match="does not contain"):
        T.check_outputs({"targeted.a.x": {"value": 7.0, "lower": 4.0, "upper": 6.0}}, {}, every)
    with pytest.raises(AssertionError, match="not written"):
        T.check_outputs(res, {}, every[1:])
    skipped = {"targeted.sdq": {"reason": "no `sdq_targeted_scores` table"}}
    with pytest.raises(AssertionError, match="which was skipped"):
        T.check_outputs(res, skipped, every)
    T.check_outputs(res, skipped, [p for p in every if T.OUTPUTS[p.name] != "targeted.sdq"])


def test_a_figure_reads_only_a_table_published_in_this_run(tmp_path):
    (tmp_path / "targeted_bot_exclusions_windows.csv").write_text("window,young_people\nbefore,c\n")
    with pytest.raises(NotComputed, match="not published in this run"):
        T.published_table(tmp_path, "targeted_bot_exclusions_windows", written=[])  # left by an earlier run
    with pytest.raises(NotComputed):
        T.published_table(tmp_path, "targeted_bot_referrals")
    t = T.published_table(tmp_path, "targeted_bot_exclusions_windows",
                          written=[tmp_path / "targeted_bot_exclusions_windows.csv"])
    assert t.loc[0, "young_people"] == "c"


# -- the chapter's sentences (*_text): exact text from small hand-made results ----------------------
def _res(prefix, **values):
    return results_frame([results_row(f"{prefix}.{k}", v, n=values.get("_n")) for k, v in values.items()
                          if k != "_n"])


def test_cohort_texts():
    a14 = _res("targeted.bot", young_people=29, male_pct=65.5, age_min=11.0, age_max=15.0, looked_after_pct=100.0)
    assert T.cohort_text(a14, "2016-11-01", "2020-08-31") == (
        "**29** young people were referred between November 2016 and August 2020 (66% boys), aged 11 to 15 at "
        "referral; 100% were looked after.")
    active = results_frame([results_row(T.taking_part_key("2019/20"), 5)])
    assert T.taking_part_text(active, "2019/20") == "**5** of them took part at some time in 2019/20."
    later = _res("targeted.bot_later", young_people=39, male_pct=61.54, age_mean=12.744, age_sd=1.6,
                 support_months_min=4.2, support_months_max=29.6, support_months_mean=14.04, support_months_sd=6.8)
    assert T.later_cohort_text(later, "2021-06-30") == (
        "To June 2021: **39** young people (61.5% boys), mean age 12.74 (SD 1.60); support lasted 4 to 30 months "
        "(mean 14.0, SD 6.8).")
    every = _res("targeted.bot_all", young_people=39, male_pct=61.54, support_months_mean=14.04, support_months_sd=6.8)
    assert T.programme_text(every, pd.Timestamp("2016-11-25"), pd.Timestamp("2022-08-31")) == (
        "The whole programme in the data (from its first referral, 25 November 2016, to its last date, 31 August "
        "2022): **39** young people (62% boys); support lasted 14.0 months on average (SD 6.8) for those who ended.")


def test_sdq_texts():
    sdq = _res("targeted.sdq", pairs=13, total_decreased_pct=69.2, total_mean_pct_reduction=14.1,
               impact_reduced_pct=50.0)
    assert T.sdq_text(sdq, "high") == (
        "**13** young people answered before and after (one of them is 8% of the pairs). Total difficulties fell "
        "for 69% of them, by 14% on average among them; the impact of difficulties fell for 50%. Per 20 in the "
        "high band or above, before and after: every scale in the tables below.")
    limits = _res("targeted.sdq", detectable_effect_dz=0.8512, rtm_change_high=-1.43, rtm_change_other=-1.27,
                  before_after_correlation=0.96, _n=13)
    assert T.sdq_limits_text(limits) == (
        "Detectable effect with 13 pairs (80% power): d_z = **0.85**. Those who started with high total "
        "difficulties fell by 1.4 points on average, the others by 1.3 (before-after correlation 0.96).")
    rose = _res("targeted.sdq", detectable_effect_dz=0.85, rtm_change_high=-1.43, rtm_change_other=0.6,
                before_after_correlation=0.5, _n=13)
    assert "fell by 1.4 points on average, the others rose by 0.6 (before" in T.sdq_limits_text(rose)


def test_goals_attendance_and_exclusions_texts():
    goals = results_frame([results_row(k, v) for k, v in (
        ("targeted.goals.bot_goals", 85), ("targeted.goals.bot_young_people", 19),
        ("targeted.goals.bot_min_per_person", 1), ("targeted.goals.bot_max_per_person", 5),
        ("targeted.goals.bot_mean_change", 2.46), ("targeted.goals.bot_reliable_improvement_pct", 51.8))])
    assert T.goals_text(goals, 2.45) == (
        "Back on Track: **85** goals for **19** young people (1 to 5 each). Goal ratings rose by 2.5 points on "
        "average; 52% of goals improved reliably (2.45 points or more).")
    assert "Goal ratings fell by 0.5 points on average" in T.goals_text(
        goals.assign(value=goals["value"].where(goals["key"] != "targeted.goals.bot_mean_change", -0.5)), 3)
    att = _res("targeted.education", young_people=7, attendance_referral_pct=93.46, attendance_end_pct=89.5)
    assert T.attendance_text(att) == ("Education data for **7** young people. Attendance 93.5% in the term of "
                                      "referral and 89.5% in the term support ended.")
    exc = _res("targeted.exclusions", young_people=7, suspended_before_during=5, suspensions_before_during=18,
               suspended_after=0, suspensions_after=0)
    assert T.exclusions_text(exc) == ("5 of 7 young people had 18 suspensions in the year before or during support; "
                                      "0 had any in the year after.")
