"""Tests of the synthetic targeted domain: schema, calibration targets (A07, A14-A19, B03, B08),
planted effects, determinism, and the education totals left untouched.

Most tests run the generator on a small hand-made education domain (fast, and independent of the
education generator); one test runs the real education generator when it exists.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rrlib.data import targeted as dt
from rrlib.synth import SynthContext, load_params
from rrlib.synth import targeted as st


def fake_education(seed: int = 1, per_cohort: int = 900) -> dict[str, pd.DataFrame]:
    """A small census (2014/15-2021/22) with exclusions and termly attendance.

    Looked-after pupils are over-represented (6%) so that the Back on Track slots find candidates.
    """
    rng = np.random.default_rng(seed)
    rows = []
    pid = 0
    for by in range(1998, 2017):
        n = per_cohort
        ids = [f"P{pid + i:07d}" for i in range(n)]
        pid += n
        sex = rng.choice(["F", "M"], n)
        bm = rng.integers(1, 13, n)
        fsm = rng.random(n) < 0.25
        sen = rng.choice(["none", "sen_support", "ehc_plan"], n, p=[0.8, 0.16, 0.04])
        lac = rng.random(n) < 0.06
        leave = rng.integers(2014, 2030, n)  # some leave the town early
        for ys in range(2014, 2022):
            age = ys - by - (bm >= 9)
            nc = age - 4
            ok = (nc >= 0) & (nc <= 11) & (ys <= leave)
            if not ok.any():
                continue
            rows.append(pd.DataFrame({
                "pupil_id": np.array(ids)[ok], "academic_year": f"{ys}/{(ys + 1) % 100:02d}",
                "school_id": "S001", "nc_year": nc[ok], "sex": sex[ok], "birth_year": by,
                "birth_month": bm[ok], "fsm": fsm[ok], "sen_provision": sen[ok],
                "sen_primary_need": np.where(sen[ok] == "none", None, "SEMH"),
                "ethnicity_major": "WHIT", "ethnicity_minor": "WBRI", "looked_after": lac[ok]}))
    pupils = pd.concat(rows, ignore_index=True)
    risk = 0.04 * np.exp(1.2 * pupils["looked_after"] + 0.8 * pupils["fsm"] + 0.7 * (pupils["sen_provision"] != "none"))
    k = rng.poisson(risk.to_numpy() * (pupils["nc_year"].to_numpy() >= 5) * 3)
    ex = pupils.loc[pupils.index.repeat(k), ["pupil_id", "academic_year", "school_id"]].reset_index(drop=True)
    ys = ex["academic_year"].str[:4].astype(int)
    ex["exclusion_date"] = (pd.to_datetime(ys.astype(str) + "-09-05")
                            + pd.to_timedelta(rng.integers(0, 320, len(ex)), unit="D"))
    ex["category"] = np.where(rng.random(len(ex)) < 0.02, "permanent", "suspension")
    ex["sessions"] = 2
    ex["reason_code"] = "PD"
    ex.insert(0, "exclusion_id", [f"E{i:07d}" for i in range(len(ex))])
    att = pupils.loc[pupils.index.repeat(3), ["pupil_id", "academic_year", "school_id"]].reset_index(drop=True)
    att["term"] = np.tile(["autumn", "spring", "summer"], len(pupils))
    att["possible_sessions"] = rng.integers(110, 150, len(att))
    rate = np.clip(rng.beta(30, 2.2, len(att)), 0.4, 1)
    att["attended_sessions"] = np.round(att["possible_sessions"] * rate).astype(int)
    return {"pupils": pupils, "exclusions": ex, "school_attendance": att}


def run(seed=3, scale=0.3, edu=None):
    ctx = SynthContext(seed=seed, scale=scale, params=load_params("targeted"),
                       tables=dict(edu if edu is not None else fake_education()), domain="targeted")
    return st.generate(ctx), ctx


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def education():
    """The real education domain at scale 1 (in memory, a few seconds)."""
    pytest.importorskip("rrlib.synth.education")
    from rrlib import synth

    ctx = SynthContext(seed=synth.DEFAULT_SEED, scale=1, params=load_params("education"), domain="education")
    import rrlib.synth.education as se

    tables = se.generate(ctx)
    _EDUCATION_BEFORE.update(_hashes(tables))    # before any targeted step has read them
    return tables


_EDUCATION_BEFORE: dict = {}


def _hashes(tables: dict) -> dict:
    return {k: pd.util.hash_pandas_object(v, index=True).sum() for k, v in tables.items()}


@pytest.fixture(scope="module")
def generated(education):
    """The targeted step at scale 1 on the education tables (it must only read them)."""
    out, ctx = run(seed=20160901, scale=1, edu=education)
    return out, ctx


@pytest.fixture(scope="module")
def prepared(generated, education):
    out, _ = generated
    raw = {**education, **out}
    return dt.prepare(raw), raw


P = load_params("targeted")
CUT = P["cutoffs"]


def _cohort(prepared, end=CUT["a14_end"], cutoff=CUT["a14_end"]):
    from rrlib.chapters import targeted as T

    proc, raw = prepared
    return T.cohort(proc["interventions"], raw["pupils"], start=CUT["cohort_start"], end=end, cutoff=cutoff)


# --------------------------------------------------------------------------- schema and structure

def test_tables_meet_their_schemas(generated, education):
    out, _ = generated
    for t in dt.TABLES:
        df = out[t.name][t.column_names]
        t.schema.validate(df, lazy=True)
        if t.key:
            assert not df.duplicated(list(t.key)).any(), t.name
    ids = set(education["pupils"]["pupil_id"])
    assert out["interventions"]["person_id"].isin(ids).all()
    assert out["sdq_targeted"]["episode_id"].isin(out["interventions"]["episode_id"]).all()
    assert out["goal_ratings"]["goal_id"].isin(out["goals"]["goal_id"]).all()
    assert not out["sdq_targeted"].duplicated(["episode_id", "timepoint"]).any()


def test_education_tables_untouched_and_section_c_totals_hold(education, generated):
    """The targeted step (``generated``) only reads the education tables: the same hashes as when they were
    made, and the DfE totals 2014/15-2016/17 still hold."""
    from rrlib.chapters import exclusions as X

    assert _EDUCATION_BEFORE and _hashes(education) == _EDUCATION_BEFORE
    town = X.town_rates(education["pupils"], education["exclusions"], schools=education["schools"])
    town = town.set_index(["year", "measure"])
    c = {"2014/15": (18971, 1634, 736, 51), "2015/16": (18805, 1207, 624, 23), "2016/17": (18752, 1498, 742, 42)}
    for year, (head, sus, one, perm) in c.items():
        assert town.loc[(year, "suspension"), "headcount"] == head
        assert town.loc[(year, "suspension"), "count"] == sus
        assert town.loc[(year, "one_plus"), "count"] == one
        assert town.loc[(year, "permanent"), "count"] == perm


def test_back_on_track_are_looked_after_and_higher_risk(prepared):
    proc, raw = prepared
    c = _cohort(prepared, end=CUT["b08_end"], cutoff=None)
    assert c["looked_after"].astype(bool).all()
    # selection: targeted young people are more often on free school meals than the census
    iv = proc["interventions"]
    p = raw["pupils"]
    p = p[p["academic_year"].isin(["2017/18", "2018/19"])]
    sup = p["pupil_id"].isin(iv["person_id"])
    assert p.loc[sup, "fsm"].mean() > 1.3 * p.loc[~sup, "fsm"].mean()
    assert p.loc[sup, "sen_provision"].ne("none").mean() > p.loc[~sup, "sen_provision"].ne("none").mean()


# --------------------------------------------------------------------------- calibration targets

def test_a14_and_b08(prepared):
    from rrlib.chapters import targeted as T

    c = _cohort(prepared)
    s = T.cohort_summary(c)
    assert s["young_people"] == 29 and round(s["male_pct"]) == 66
    assert (s["age_min"], s["age_max"]) == (11, 15)
    assert T.taking_part(c, *CUT["active_window"])["person_id"].nunique() == 5
    s8 = T.cohort_summary(_cohort(prepared, end=CUT["b08_end"], cutoff=None))
    assert s8["young_people"] == 39 and round(s8["male_pct"], 1) == 61.5
    assert (s8["age_min"], s8["age_max"]) == (10, 15)
    assert round(s8["age_mean"], 2) == 12.74 and round(s8["age_sd"], 2) == 1.60
    assert 4 <= s8["months_min"] < 4.5 and 29.5 < s8["months_max"] <= 30.5
    assert abs(s8["months_mean"] - 14) < 0.1 and abs(s8["months_sd"] - 6.8) < 0.1


def test_a15_sdq(prepared):
    from rrlib.chapters import targeted as T

    proc, _ = prepared
    c = _cohort(prepared)
    pairs = T.sdq_pairs(proc["sdq_targeted_scores"], c["episode_id"], cutoff=CUT["a14_end"])
    assert len(pairs) == 13
    share = T.sdq_band_share(pairs).set_index(["scale", "when"])
    sp = P["sdq_a15"]
    for when, pub in (("before", sp["published_in_20_before"]), ("after", sp["published_in_20_after"])):
        for scale, v in pub.items():
            # within one young person of the published "N in 20"
            assert abs(share.loc[(scale, when), "in_20"] - v) <= 20 / 13 / 2 + 0.4, (scale, when)
    tot = T.sdq_decrease_summary(pairs, "total")
    assert tot["n_decreased"] == 9 and round(tot["pct_decreased"]) == 69
    assert abs(tot["mean_pct_reduction"] - 14) < 1
    imp = T.sdq_decrease_summary(pairs, "impact")
    assert imp["n"] == 12 and imp["pct_decreased"] == 50
    assert abs(imp["mean_pct_reduction"] - 54) < 2


def test_a16_a17_goals(prepared):
    from rrlib.chapters import targeted as T

    proc, _ = prepared
    c = _cohort(prepared)
    g = T.goals_in_window(proc["goal_change"], ["back_on_track"], *CUT["goals_window"], episodes=c["episode_id"])
    s = T.goals_per_person(g)
    assert (s["goals"], s["young_people"], s["min"], s["max"]) == (85, 19, 1, 5)
    m = T.goal_change_summary(g).set_index("measure")
    assert 2 <= m.loc["mean change per goal", "estimate"] <= 3      # "2 or 3 points" (planted 2.5)
    assert m.loc["mean change per goal", "p_value"] < 0.05           # "significantly closer"
    ga = T.goals_in_window(proc["goal_change"], dt.RESILIENCE_COACH_PROGRAMMES, *CUT["goals_window"])
    d = T.goals_by_domain(ga).set_index("domain")["goals"].to_dict()
    assert d == {"Coping": 266, "Learning": 232, "Belonging": 178, "Core Self": 156, "Basics": 55}


def test_a18_a19_education(prepared):
    from rrlib.chapters import targeted as T

    _, raw = prepared
    ec = T.education_cohort(_cohort(prepared))
    assert len(ec) == 7
    att = T.attendance_referral_end(ec, raw["school_attendance"])
    pooled = att[att["episode_id"] == "pooled"].set_index("when")["attendance_pct"]
    assert abs(pooled["referral"] - 93.5) < 0.05 and abs(pooled["end"] - 89.5) < 0.05  # published to 1 dp
    xw = T.exclusions_windows(ec, raw["exclusions"], cutoff=CUT["a14_end"])
    h = T.exclusions_headline(xw)
    assert h == {"young_people": 7, "suspended_before_during": 5, "suspensions_before_during": 18,
                 "suspended_after": 0, "suspensions_after": 0}


def test_a07_and_b03(prepared):
    from rrlib.chapters import exclusions as X

    proc, raw = prepared
    r = X.not_permanently_excluded_after_start(proc["interventions"], raw["exclusions"])
    assert abs(r["percent"] - 99.5) < 0.06
    iv = proc["interventions"]
    first2 = iv[(iv["referral_date"] >= "2016-09-01") & (iv["referral_date"] <= "2018-08-31")]
    rc = first2[first2["programme"].isin(["resilience_coach_1to1", "resilience_coach_group"])]
    assert rc["person_id"].nunique() == 363
    assert first2.loc[first2["programme"] == "walk_and_talk", "person_id"].nunique() == 217


def test_planted_resilience_coach_sdq_change_is_recovered(prepared):
    from rrlib.chapters import targeted as T

    proc, _ = prepared
    iv = proc["interventions"]
    eps = iv.loc[iv["programme"] == "resilience_coach_1to1", "episode_id"]
    pairs = T.sdq_pairs(proc["sdq_targeted_scores"], eps)
    ch = T.sdq_change_table(pairs, ["total"]).iloc[0]
    planted = P["other_programmes"]["sdq"]["planted_total_change"]
    assert ch["n"] > 100
    assert ch["change_lower"] <= planted + 0.6 and ch["change_upper"] >= planted - 0.6


# --------------------------------------------------------------------------- determinism, small scale

def test_deterministic_and_seed_dependent():
    edu = fake_education(seed=5, per_cohort=1000)
    a, _ = run(seed=11, scale=0.3, edu=edu)
    b, _ = run(seed=11, scale=0.3, edu=edu)
    c, _ = run(seed=12, scale=0.3, edu=edu)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["interventions"].equals(c["interventions"])
    # the fixed-size Back on Track targets hold at a small scale too
    bot = a["interventions"][a["interventions"]["programme"] == "back_on_track"]
    assert len(bot) == 39 and bot["education_data_consent"].sum() == 7


def test_missing_education_table_is_a_clear_error():
    ctx = SynthContext(seed=1, scale=0.3, params=load_params("targeted"), tables={}, domain="targeted")
    with pytest.raises(ValueError, match="education table"):
        st.generate(ctx)
