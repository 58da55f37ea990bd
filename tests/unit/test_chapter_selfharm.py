"""Chapter 4 (self-harm) analysis functions on small hand-made data with known answers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rrlib import stats
from rrlib.chapters import selfharm as S


# ----------------------------------------------------------------------------- helpers
def _pop(per_age: int = 1000, years=(2017,)) -> pd.DataFrame:
    rows = [("Blackpool", y, s, a, per_age) for y in years for s in "FM" for a in range(25)]
    rows += [("Elsewhere", y, s, a, 99999) for y in years for s in "FM" for a in range(25)]
    return pd.DataFrame(rows, columns=["area", "year", "sex", "age", "population"])


def _adm(rows) -> pd.DataFrame:
    """rows: (person_id, financial_year, age, method, cause_code, area)."""
    df = pd.DataFrame(rows, columns=["person_id", "financial_year", "age", "admission_method", "cause_code", "area"])
    df["admission_id"] = [f"A{i:07d}" for i in range(1, len(df) + 1)]
    df["self_harm"] = df["cause_code"].isin(S.SELF_HARM_CODES)
    return df


def _ts(s):
    return pd.Timestamp(s)


# ----------------------------------------------------------------------------- admissions
def test_selfharm_admissions_filters_like_the_indicator():
    adm = _adm([
        ("H1", "2017/18", 12, "emergency", "X60", "Blackpool"),   # counted
        ("H1", "2017/18", 12, "emergency", "X78", "Blackpool"),   # counted (repeat)
        ("H2", "2017/18", 24, "emergency", "X84", "Blackpool"),   # counted (X84 is the last code)
        ("H3", "2017/18", 25, "emergency", "X60", "Blackpool"),   # too old
        ("H4", "2017/18", 9, "emergency", "X60", "Blackpool"),    # too young
        ("H5", "2017/18", 15, "elective", "X60", "Blackpool"),    # not emergency
        ("H6", "2017/18", 15, "transfer", "X61", "Blackpool"),    # not emergency
        ("H7", "2017/18", 15, "emergency", "X85", "Blackpool"),   # assault, not self-harm
        ("H8", "2017/18", 15, "emergency", "X59", "Blackpool"),   # not self-harm
        ("H9", "2017/18", 15, "emergency", "X60", "Fylde"),       # not a resident
    ])
    a = S.selfharm_admissions(adm)
    assert list(a["person_id"]) == ["H1", "H1", "H2"]
    assert list(a["age_band"]) == ["10-14", "10-14", "20-24"]


def test_age_band_edges():
    assert list(S.age_band([10, 14, 15, 19, 20, 24, 9, 25])) == [
        "10-14", "10-14", "15-19", "15-19", "20-24", "20-24", None, None]


def test_admissions_by_year_is_a_direct_count_and_moves_with_the_data():
    rows = [(f"H{i}", "2017/18", 16, "emergency", "X60", "Blackpool") for i in range(12)]
    rows += [("H0", "2017/18", 16, "emergency", "X61", "Blackpool")]  # H0 admitted twice
    a = S.selfharm_admissions(_adm(rows))
    t = S.admissions_by_year(a, _pop(per_age=100))
    r = t.iloc[0]
    assert (r["admissions"], r["people"], r["people_repeat"]) == (13, 12, 1)
    assert r["population"] == 100 * 2 * 15  # ages 10-24, both sexes, Blackpool only
    assert r["admissions_per_100"] == pytest.approx(13 / 3000 * 100)
    # one more admission: one more counted
    rows2 = rows + [("H99", "2017/18", 21, "emergency", "X70", "Blackpool")]
    t2 = S.admissions_by_year(S.selfharm_admissions(_adm(rows2)), _pop(per_age=100))
    assert t2.iloc[0]["admissions"] == r["admissions"] + 1
    assert t2.iloc[0]["admissions"] == len(rows2)


def _manual_dsr(counts: dict, pop_per_band: float):
    std = S.ESP2013_10_24
    rate = sum(std[b] * counts.get(b, 0) / pop_per_band for b in std) / sum(std.values()) * 100_000
    return rate


def test_dsr_independent_matches_hand_computation():
    # 10-14: 6 admissions, 15-19: 10, 20-24: 4; population per band = 5 ages x 2 sexes x 1000 = 10,000
    rows = ([(f"A{i}", "2017/18", 12, "emergency", "X60", "Blackpool") for i in range(6)]
            + [(f"B{i}", "2017/18", 17, "emergency", "X60", "Blackpool") for i in range(10)]
            + [(f"C{i}", "2017/18", 22, "emergency", "X60", "Blackpool") for i in range(4)])
    a = S.selfharm_admissions(_adm(rows))
    d = S.dsr_by_year(a, _pop(1000), independent_events=True)
    assert len(d) == 1
    want = _manual_dsr({"10-14": 6, "15-19": 10, "20-24": 4}, 10_000)
    assert d["dsr"].iloc[0] == pytest.approx(want)
    assert d["admissions"].iloc[0] == 20 and d["population"].iloc[0] == 30_000
    ref = stats.dsr(np.array([6, 10, 4]), np.array([10_000] * 3), np.array([5500, 5500, 6000]))
    assert d["lower"].iloc[0] == pytest.approx(ref.lower) and d["upper"].iloc[0] == pytest.approx(ref.upper)
    # one person per admission: the non-independent method gives the same answer
    d2 = S.dsr_by_year(a, _pop(1000), independent_events=False)
    assert d2["dsr"].iloc[0] == pytest.approx(want)
    assert d2["lower"].iloc[0] == pytest.approx(ref.lower) and d2["upper"].iloc[0] == pytest.approx(ref.upper)


def test_dsr_nonindependent_same_rate_wider_interval_with_repeats():
    # 20 admissions by 8 people: repeats widen the interval, the rate is unchanged
    rows = ([("P1", "2017/18", 16, "emergency", "X60", "Blackpool")] * 6
            + [("P2", "2017/18", 16, "emergency", "X60", "Blackpool")] * 6
            + [(f"Q{i}", "2017/18", 21, "emergency", "X60", "Blackpool") for i in range(8)])
    a = S.selfharm_admissions(_adm(rows))
    ind = S.dsr_by_year(a, _pop(1000), independent_events=True).iloc[0]
    non = S.dsr_by_year(a, _pop(1000), independent_events=False).iloc[0]
    assert non["dsr"] == pytest.approx(ind["dsr"])
    assert non["people"] == 10 and non["admissions"] == 20
    assert non["lower"] < ind["lower"] and non["upper"] > ind["upper"]
    assert "non-independent" in non["method"]


def test_dsr_needs_ten_events():
    rows = [(f"A{i}", "2017/18", 12, "emergency", "X60", "Blackpool") for i in range(9)]
    d = S.dsr_by_year(S.selfharm_admissions(_adm(rows)), _pop(1000))
    assert np.isnan(d["dsr"].iloc[0])


def _nw(year="2017/18") -> pd.DataFrame:
    """A hand-made Fingertips cut: England, the region and three authorities."""
    rows = [("E92000001", "England", "England", 400.0, 396.0, 404.0, 40000, 10000000),
            ("E12000002", "North West region", "Region", 500.0, 490.0, 510.0, 6000, 1200000),
            ("E06000009", "Blackpool", "County & UA", 1000.0, 880.0, 1140.0, 230, 23000),
            ("E06000006", "Halton", "County & UA", 500.0, 430.0, 580.0, 110, 22000),
            ("E08000003", "Manchester", "County & UA", 300.0, 270.0, 330.0, 400, 133000)]
    d = pd.DataFrame(rows, columns=["area_code", "area_name", "area_type", "value", "lower_95", "upper_95",
                                    "count", "denominator"])
    return d.assign(period=year, compared_to_england="x")


def test_official_a10_ratio_and_about_twice():
    f = S.official_a10(_nw()).set_index("key")["value"]
    assert f["selfharm.official.fy2017_18.blackpool.count"] == 230
    assert f["selfharm.official.fy2017_18.ratio_to_england"] == pytest.approx(1000 / 400)
    assert f["selfharm.official.fy2017_18.blackpool.crude_per_100"] == pytest.approx(230 / 23000 * 100)
    assert not f["selfharm.official.fy2017_18.about_twice"]      # 2.5 is outside 1.8-2.2
    nw = _nw()
    nw.loc[nw["area_code"] == "E06000009", "value"] = 840.0      # 2.1: within
    assert S.official_a10(nw).set_index("key")["value"]["selfharm.official.fy2017_18.about_twice"]
    lim = S.official_a10(_nw()).set_index("key").loc["selfharm.official.fy2017_18.ratio_to_england"]
    assert lim["lower"] == pytest.approx(880 / 400) and lim["upper"] == pytest.approx(1140 / 400)


def test_official_parts_skip_without_their_year():
    from rrlib.chapter import NotComputed

    with pytest.raises(NotComputed, match="2017/18"):
        S.official_a10(_nw("2018/19"))


def test_official_rank_and_series():
    utla = pd.DataFrame({"area_code": ["E92000001", "E06000009", "E06000006", "E08000003", "E09000001"] * 2,
                         "area_name": ["England", "Blackpool", "Halton", "Manchester", "City of London"] * 2,
                         "period": ["2016/17"] * 5 + ["2017/18"] * 5,
                         "value": [407.1, 1148.6, 600.0, 300.0, np.nan, 421.2, 1009.6, 1100.0, 290.0, np.nan],
                         "significance": ["Not compared", "Worse", "Worse", "Better", "Not compared"] * 2})
    r = S.official_rank(utla).set_index("key")
    assert r.loc["selfharm.official.fy2017_18.blackpool.rank", "value"] == 2        # Halton is higher
    assert r.loc["selfharm.official.fy2017_18.blackpool.rank", "n"] == 3            # no value: not ranked
    assert r.loc["selfharm.official.fy2017_18.authorities_worse_than_england", "value"] == 2
    assert list(S.official_series(utla)) == [407.1, 421.2]
    t = S.official_trend_results(utla).set_index("key")["value"]
    assert t["selfharm.official.england.fy2016_17"] == 407.1 and t["selfharm.official.blackpool.fy2017_18"] == 1009.6


def test_nw_funnel_uses_the_authorities_only():
    pts, lim = S.nw_funnel(_nw())
    assert list(pts["area_name"]) == ["Blackpool", "Halton", "Manchester"]
    # PHE's centre: events over derived denominators (100,000 x events / DSR)
    assert pts["centre"].iloc[0] == pytest.approx(740 / (23000 + 22000 + 400 / 300 * 1e5) * 1e5)
    r = S.funnel_results(pts).set_index("key")["value"]
    assert r["selfharm.official.fy2017_18.nw_funnel.blackpool"] == "High (0.001)"
    assert r["selfharm.official.fy2017_18.nw_funnel.blackpool_highest"]


def test_shipped_official_cuts_hold_the_published_values():
    from rrlib import public

    f = S.official_a10(public.load_fingertips_selfharm_nw()).set_index("key")["value"]
    assert f["selfharm.official.fy2017_18.blackpool.count"] == 234
    assert f["selfharm.official.fy2017_18.ratio_to_england"] == pytest.approx(1009.634355 / 421.2003255)
    e = S.official_series(public.load_fingertips_selfharm_utla())
    assert e["2016/17"] == 407.1 and list(e.index) == [f"{y}/{(y + 1) % 100:02d}" for y in range(2011, 2018)]


def test_year_results_skip_a_missing_year_and_latest_complete_year():
    from rrlib.chapter import NotComputed

    rows = [(f"H{i}", "2017/18", 16, "emergency", "X60", "Blackpool") for i in range(12)]
    a = S.selfharm_admissions(_adm(rows))
    pop = _pop(per_age=100)
    dsr, by = S.dsr_by_year(a, pop), S.admissions_by_year(a, pop)
    eng = pd.Series({"2017/18": 400.0})
    r = S.year_results(dsr, by, "2017/18", "selfharm.a10", eng).set_index("key")["value"]
    # 2 sexes x 15 ages x 100
    assert r["selfharm.a10.count"] == 12 and r["selfharm.a10.per_100"] == pytest.approx(12 / 3000 * 100)
    assert r["selfharm.a10.ratio_to_england"] == pytest.approx(r["selfharm.a10.dsr"] / 400)
    with pytest.raises(NotComputed, match="financial year 2018/19 \\(the data has 2017/18\\)"):
        S.year_results(dsr, by, "2018/19", "selfharm.a10", eng)
    dates = pd.DataFrame({"financial_year": ["2016/17", "2017/18", "2018/19"],
                          "admission_date": pd.to_datetime(["2016-04-01", "2018-03-31", "2018-12-01"])})
    assert S.latest_complete_financial_year(dates) == "2017/18"
    with pytest.raises(NotComputed, match="no complete financial year"):
        S.latest_complete_financial_year(dates.iloc[2:])


def test_rates_skip_without_admissions():
    from rrlib.chapter import NotComputed

    empty = _adm([("H1", "2017/18", 16, "elective", "X60", "Blackpool")])
    with pytest.raises(NotComputed, match="no self-harm admissions"):
        S.rates(empty, _pop())


# ----------------------------------------------------------------------------- support cohort
def _ed(rows) -> pd.DataFrame:
    """rows: (attendance_id, person_id, arrival, age, sex, self_harm, area)."""
    df = pd.DataFrame(rows, columns=["attendance_id", "person_id", "arrival_datetime", "age", "sex",
                                     "self_harm", "area"])
    df["arrival_datetime"] = pd.to_datetime(df["arrival_datetime"])
    return df


@pytest.fixture
def cohort_data():
    ed = _ed([
        # P1: prior attendance, index (referred, contacted after 10 h), re-presents after 40 days
        ("E01", "P0000001", "2018-01-01 10:00", 14, "F", True, "Blackpool"),
        ("E02", "P0000001", "2018-03-01 20:00", 14, "F", True, "Blackpool"),
        ("E03", "P0000001", "2018-04-10 20:00", 14, "F", True, "Blackpool"),
        # P2: index (referred, contacted after 30 h), never re-presents
        ("E04", "P0000002", "2018-02-01 08:00", 12, "M", True, "Blackpool"),
        ("E05", "P0000002", "2018-05-01 08:00", 12, "M", False, "Blackpool"),  # not self-harm
        # P3: not supported, two attendances in the period (index = first), re-presents after 10 days
        ("E06", "P0000003", "2018-02-10 12:00", 15, "F", True, "Blackpool"),
        ("E07", "P0000003", "2018-02-20 12:00", 15, "F", True, "Blackpool"),
        # P4: referred but never contacted: not supported
        ("E08", "P0000004", "2018-03-05 12:00", 13, "M", True, "Blackpool"),
        # not eligible: too old, not resident, not in census, outside the period
        ("E09", "P0000005", "2018-03-05 12:00", 17, "F", True, "Blackpool"),
        ("E10", "P0000006", "2018-03-05 12:00", 14, "F", True, "Fylde"),
        ("E11", "H000001", "2018-03-05 12:00", 14, "F", True, "Blackpool"),
        ("E12", "P0000007", "2019-06-01 12:00", 14, "F", True, "Blackpool"),
        # last day of data
        ("E13", "P0000008", "2019-12-31 09:00", 20, "F", False, "Blackpool"),
    ])
    sup = pd.DataFrame({
        "support_id": ["SH00001", "SH00002", "SH00003"],
        "person_id": ["P0000001", "P0000002", "P0000004"],
        "index_attendance_id": ["E02", "E04", "E08"],
        "referral_datetime": pd.to_datetime(["2018-03-01 22:00", "2018-02-01 10:00", "2018-03-05 14:00"]),
        "first_contact_datetime": pd.to_datetime(["2018-03-02 06:00", "2018-02-02 14:00", None]),
    })
    return ed, sup


def test_support_cohort_groups_index_and_priors(cohort_data):
    ed, sup = cohort_data
    c = S.support_cohort(ed, sup).set_index("person_id")
    assert sorted(c.index) == ["P0000001", "P0000002", "P0000003", "P0000004"]
    assert c.loc["P0000001", "group"] == "supported" and c.loc["P0000001", "index_attendance_id"] == "E02"
    assert c.loc["P0000002", "group"] == "supported"
    assert c.loc["P0000003", "group"] == "not supported" and c.loc["P0000003", "index_attendance_id"] == "E06"
    assert c.loc["P0000004", "group"] == "not supported"
    assert c.loc["P0000001", "prior_attendances"] == 1  # E01, 59 days before
    assert c.loc["P0000003", "prior_attendances"] == 0
    assert c["supported"].sum() == 2


def test_support_cohort_one_time_zero_and_a_grace_period(cohort_data):
    """Target trial: time zero is the first eligible attendance for everyone; a referral at a later
    attendance, or a first contact after the grace period, is not support from time zero."""
    ed, sup = cohort_data
    sup = pd.concat([sup, pd.DataFrame({  # P3 referred at the re-presentation E07, after the outcome
        "support_id": ["SH00004"], "person_id": ["P0000003"], "index_attendance_id": ["E07"],
        "referral_datetime": pd.to_datetime(["2018-02-20 14:00"]),
        "first_contact_datetime": pd.to_datetime(["2018-02-21 09:00"])})], ignore_index=True)
    c = S.support_cohort(ed, sup).set_index("person_id")
    assert c.loc["P0000003", "index_attendance_id"] == "E06" and c.loc["P0000003", "supported"] == 0
    assert c.loc["P0000003", "referred_later"] == 1
    r = S.representations(c.reset_index(), ed).set_index("person_id")
    assert r.loc["P0000003", "event"] == 1 and r.loc["P0000003", "days"] == pytest.approx(10.0)
    # P2 was contacted 30 hours after arrival: supported with the 7-day grace period, not with a 1-day one
    assert c.loc["P0000002", "supported"] == 1
    c1 = S.support_cohort(ed, sup, grace_days=1).set_index("person_id")
    assert c1.loc["P0000002", "supported"] == 0 and c1.loc["P0000001", "supported"] == 1


def test_contact_times_share_within_24h_is_a_direct_count(cohort_data):
    ed, sup = cohort_data
    c = S.support_cohort(ed, sup)
    ct = S.contact_times(c)
    # P1: 20:00 -> 06:00 next day = 10 h; P2: 08:00 -> 14:00 next day = 30 h
    assert ct["n"] == 2 and ct["within"] == 1
    assert sorted(np.round(ct["hours"], 6)) == [10.0, 30.0]
    ref = stats.proportion_ci(1, 2)
    assert (ct["share"], ct["lower"], ct["upper"]) == pytest.approx((ref.value, ref.lower, ref.upper))
    tab = S.contact_hours_table(c)
    assert tab["young_people"].sum() == 2


def test_representations_censoring_and_no_return_share(cohort_data):
    ed, sup = cohort_data
    c = S.support_cohort(ed, sup)
    r = S.representations(c, ed).set_index("person_id")
    end = pd.Timestamp("2019-12-31 23:59:59")
    assert r.attrs["end_of_data"] == end
    assert r.loc["P0000001", "event"] == 1
    assert r.loc["P0000001", "days"] == pytest.approx(40.0)  # 1 March 20:00 -> 10 April 20:00
    assert r.loc["P0000003", "event"] == 1 and r.loc["P0000003", "days"] == pytest.approx(10.0)
    assert r.loc["P0000002", "event"] == 0  # the 1 May attendance is not self-harm
    assert r.loc["P0000002", "days"] == pytest.approx((end - pd.Timestamp("2018-02-01 08:00")).total_seconds() / 86400)
    nr = S.no_return_share(r, window_days=365)
    assert (nr["n"], nr["returned"], nr["no_return"]) == (2, 1, 1)
    # a window longer than the follow-up leaves people out
    nr2 = S.no_return_share(r, window_days=700)
    assert nr2["n"] == 0 and nr2["excluded"] == 2
    # a window shorter than P1's 40 days: nobody returned within it
    nr3 = S.no_return_share(r, window_days=30)
    assert (nr3["n"], nr3["no_return"]) == (2, 2)


def test_kaplan_meier_numbers_at_risk(cohort_data):
    ed, sup = cohort_data
    r = S.representations(S.support_cohort(ed, sup), ed)
    curve, summ = S.kaplan_meier(r, times=(0, 20, 100))
    s = summ.set_index(["group", "days"])
    assert s.loc[("supported", 0), "at_risk"] == 2
    assert s.loc[("supported", 100), "at_risk"] == 1 and s.loc[("supported", 100), "events"] == 1
    assert s.loc[("supported", 100), "survival"] == pytest.approx(0.5)
    assert s.loc[("not supported", 20), "at_risk"] == 1  # P3 re-presented at day 10
    assert s.loc[("not supported", 20), "survival"] == pytest.approx(0.5)
    assert set(curve["group"]) == {"supported", "not supported"}


def test_cox_model_recovers_a_known_hazard_ratio():
    rng = np.random.default_rng(3)
    n = 3000
    sup = rng.integers(0, 2, n)
    age = rng.integers(10, 17, n)
    male = rng.integers(0, 2, n)
    prior = rng.poisson(0.5, n)
    eta = np.log(0.7) * sup + 0.05 * (age - 13) + np.log1p(prior) * 0.5
    t = rng.exponential(1 / (0.002 * np.exp(eta)))
    cens = 500.0
    reps = pd.DataFrame({"days": np.minimum(t, cens), "event": (t < cens).astype(int), "supported": sup,
                         "age": age, "male": male, "prior_attendances": prior})
    m = S.cox_model(reps).set_index("term")
    assert m.loc["supported", "lower"] < 0.7 < m.loc["supported", "upper"]
    assert m.loc["supported", "hr"] == pytest.approx(0.7, abs=0.1)
    crude = S.cox_model(reps, adjust=())
    assert list(crude["term"]) == ["supported"] and crude["model"].iloc[0] == "crude"


# ----------------------------------------------------------------------------- repeats
def test_repeat_distribution_and_concentration():
    rows = []
    k = 0
    for pid, n in (("H1", 1), ("H2", 1), ("H3", 2), ("H4", 5), ("H5", 12)):
        for j in range(n):
            k += 1
            rows.append((f"E{k:07d}", pid, f"2018-01-{1 + j:02d} 10:00", 16, "F", True, "Blackpool"))
    rows.append(("E9999999", "H6", "2018-01-01 10:00", 16, "F", False, "Blackpool"))
    ed = _ed(rows)
    d = S.repeat_distribution(ed).set_index("attendances_per_person")
    assert d.loc["1", "people"] == 2 and d.loc["2", "people"] == 1 and d.loc["5-9", "people"] == 1
    assert d.loc["10+", "people"] == 1 and d.loc["10+", "attendances"] == 12
    assert d["attendances"].sum() == 21 and d["people"].sum() == 5
    assert d["share_attendances"].sum() == pytest.approx(100)
    c = S.concentration(ed, top_share=0.2)
    assert c["top_people"] == 1 and c["top_attendances"] == 12
    assert c["repeaters"] == 3
    iv = S.interval_distribution(ed)
    assert iv["intervals"].sum() == 21 - 5  # one fewer interval than attendances per person
    assert iv.iloc[0]["intervals"] == 16  # all one day apart


def test_bad_parameters_are_one_clear_error():
    from rrlib.chapter import ParameterError

    ok = dict(financial_year=None, follow_up_days=365, contact_hours=24, age_min=10, age_max=16, prior_days=365,
              km_max_days=730)
    S.check_parameters(ok, ["2017/18"])
    S.check_parameters({**ok, "financial_year": "2017/18"}, ["2017/18"])
    with pytest.raises(ParameterError, match="financial_year = '2030/31'.*2017/18"):
        S.check_parameters({**ok, "financial_year": "2030/31"}, ["2017/18"])
    with pytest.raises(ParameterError, match="financial_year = 2019 is a int"):
        S.check_parameters({**ok, "financial_year": 2019}, ["2017/18"])
    with pytest.raises(ParameterError, match="follow_up_days"):
        S.check_parameters({**ok, "follow_up_days": "a year"}, [])


def test_repeats_figure_draws_the_published_shares():
    """The repeat-attendance figure draws the shares as published (NHS rules), not the exact counts."""
    import matplotlib

    from rrlib import disclosure

    matplotlib.use("Agg")
    rep = pd.DataFrame({"attendances_per_person": ["1", "2", "3"], "people": [103, 6, 21],
                        "attendances": [103, 12, 63]})
    rep["share_people"] = 100 * rep["people"] / rep["people"].sum()
    rep["share_attendances"] = 100 * rep["attendances"] / rep["attendances"].sum()
    pub, _ = disclosure.apply(rep, preset="nhs", counts=["people", "attendances"],
                              derived={"share_people": ["people"], "share_attendances": ["attendances"]},
                              decimals={"share_people": 1, "share_attendances": 1}, id_cols=["attendances_per_person"])
    data = S.repeats_figure(pub)
    assert data.preset == "nhs" and set(data.frame["series"]) == {"people", "attendances"}
    people = data.frame[data.frame["series"] == "people"].set_index("x")
    assert people.loc["1", "n"] == "105" and people.loc["2", "y"] == "c"  # rounded; 6 people suppressed
    assert S.plot_repeats(data.numbers()).axes


def test_a_cox_model_that_does_not_converge_is_not_computed(monkeypatch):
    """Small cohorts can separate the events (lifelines' ConvergenceError): the model says so and the section
    is not computed; never an estimate from a failed fit."""
    import lifelines
    from lifelines.exceptions import ConvergenceError

    from rrlib import stats
    from rrlib.chapter import NotComputed

    def fail(self, *a, **k):
        raise ConvergenceError("delta contains nan value(s). Convergence halted.")

    monkeypatch.setattr(lifelines.CoxPHFitter, "fit", fail)
    reps = pd.DataFrame({"days": [5, 10, 20, 40, 80, 160], "event": [1, 1, 0, 1, 0, 0],
                         "supported": [1, 0, 1, 0, 1, 0], "prior_attendances": [0, 1, 0, 2, 0, 0],
                         "age": [12, 13, 14, 15, 12, 13], "male": [0, 1, 0, 1, 0, 1]})
    with pytest.raises(stats.ModelDidNotConverge, match="did not converge on 6 people with 3 events"):
        stats.fit_cox(reps, "days", "event", ["supported"])
    with pytest.raises(NotComputed, match="did not converge"):
        S.cox_model(reps)
