"""Programme domain generator: schemas, calibration targets, planted reach-equity effect, determinism."""
from __future__ import annotations

import pandas as pd
import pytest

from rrlib.chapters import reach
from rrlib.data import programme as dp
from rrlib.synth import DEFAULT_SEED, SynthContext, load_params


def _make(scale: float, seed: int = DEFAULT_SEED):
    from rrlib.synth import education, programme
    made: dict = {}
    made.update(education.generate(SynthContext(seed=seed, scale=scale, params=load_params("education"),
                                                tables=made, domain="education")))
    out = programme.generate(SynthContext(seed=seed, scale=scale, params=load_params("programme"),
                                          tables=made, domain="programme"))
    return made, out


@pytest.fixture(scope="module")
def full():
    made, out = _make(1.0)
    raw = dict(made)
    raw.update(out)
    return made, out, dp.prepare(raw)


@pytest.fixture(scope="module")
def small():
    return _make(0.1, seed=11)


def test_schemas_hold(small):
    _, out = small
    dp.ACTIVITIES_SCHEMA.validate(out["activities"])
    dp.ATTENDANCE_SCHEMA.validate(out["attendance"])
    assert not out["attendance"].duplicated(["activity_id", "person_id"]).any()
    assert out["attendance"]["activity_id"].isin(out["activities"]["activity_id"]).all()


def test_young_people_are_census_pupils_at_their_school(full):
    made, _, proc = full
    att = proc["attendance"]
    yp = att.loc[att["role"] == "young_person"]
    assert yp["person_id"].isin(made["pupils"]["pupil_id"]).all()
    # in-school activities are at the young person's own school (young trainers excepted)
    sch = yp.loc[(yp["setting"] == "school") & (yp["strand"] != "workforce")].merge(
        made["pupils"][["pupil_id", "academic_year", "school_id"]],
        left_on=["person_id", "academic_year"], right_on=["pupil_id", "academic_year"], how="left",
        suffixes=("", "_census"))
    assert (sch["school_id"] == sch["school_id_census"]).all()
    assert proc["activities"]["school_id"].dropna().isin(made["schools"]["school_id"]).all()


def test_calibration_targets(full):
    made, out, proc = full
    p = load_params("programme")
    att, act = proc["attendance"], proc["activities"]
    assert reach.young_people_opportunities(att) == p["young_people"]["opportunities"]          # A01
    assert reach.supporting_adult_opportunities(att) == p["adults"]["supporting_total"]         # A02
    wf = reach.workforce_summary(att, act).set_index("role")
    assert wf.loc["all", "activities"] == p["workforce"]["activities"]                          # A05
    assert wf.loc["all", "participants"] == p["workforce"]["participants"]
    co = reach.attendance_rate(att)                                                             # A06
    assert round(co["rate"], 2) == pytest.approx(93.27, abs=0.011)
    b02 = reach.unique_young_people(att, made["pupils"])                                        # B02
    assert abs(b02 - p["young_people"]["reached_10_16"]) <= 200
    rc = p["projects"][reach.RESILIENCE_COACH]["participants"]
    wt = p["projects"][reach.WALK_AND_TALK]["participants"]
    assert reach.unique_in_window(att, reach.RESILIENCE_COACH) == rc["2016/17"] + rc["2017/18"] == 363
    assert reach.unique_in_window(att, reach.WALK_AND_TALK) == wt["2016/17"] + wt["2017/18"] == 217
    s = reach.schools_taking_part(act, made["schools"])
    assert s["open_schools_taking_part"] == s["schools_open"] == 44


def test_coproduction_and_friend_for_life_never_excluded(full):
    made, _, proc = full
    att = proc["attendance"]
    sel = (att["role"] == "young_person") & ((att["strand"] == "co-production")
                                             | (att["project"] == "Friend for Life"))
    assert sel.sum() > 0
    assert not att.loc[sel, "person_id"].isin(made["exclusions"]["pupil_id"]).any()
    ffl = att.loc[(att["project"] == "Friend for Life") & (att["role"] == "young_person")]
    lac = made["pupils"].loc[made["pupils"]["looked_after"], ["pupil_id", "academic_year"]]
    m = ffl.merge(lac, left_on=["person_id", "academic_year"], right_on=["pupil_id", "academic_year"])
    assert len(m) == len(ffl)


def test_planted_equity_and_depth_recovered(full):
    made, _, proc = full
    eq = reach.reach_equity(proc["attendance"], made["pupils"]).set_index(["reach", "group"])
    # targeted projects weight FSM, SEN and looked-after pupils (params equity.targeted_log_weights)
    assert eq.loc[("targeted", "free school meals"), "lower"] > 1.2
    assert eq.loc[("targeted", "looked after"), "lower"] > 2.0
    assert eq.loc[("targeted", "EHC plan"), "lower"] > 1.2
    assert eq.loc[("targeted", "no free school meals"), "upper"] < 1
    # universal reach is close to proportional
    assert 0.95 < eq.loc[("all", "free school meals"), "ratio"] < 1.05
    d = reach.engagement_depth(proc["attendance"]).set_index("band")
    assert d.loc["1", "share"] > 35 and d.loc["6+", "share"] > 8          # many once, a long tail
    assert reach.depth_summary(proc["attendance"])["max"] >= 50


def test_deterministic_and_seed_dependent(small):
    _, a = small
    _, b = _make(0.1, seed=11)
    _, c = _make(0.1, seed=12)
    for name in ("activities", "attendance"):
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["attendance"].equals(c["attendance"])
    # small scale still calibrated to the scaled targets
    att = c["attendance"]
    assert int(((att["role"] == "young_person") & att["attended"]).sum()) == round(76783 * 0.1)
    assert int((att["role"].isin(["parent_carer", "school_staff"]) & att["attended"]).sum()) == round(6328 * 0.1)


def test_prepare_rejects_young_people_not_in_census(full):
    from rrlib.data import DataValidationError
    made, out, _ = full
    bad = out["attendance"].copy()
    i = bad.index[bad["role"] == "young_person"][0]
    known = set(made["pupils"]["pupil_id"])
    ghost = next(f"P{k:07d}" for k in range(10_000_000) if f"P{k:07d}" not in known)
    bad.loc[i, "person_id"] = ghost
    with pytest.raises(DataValidationError, match=ghost):
        dp.prepare({**made, "activities": out["activities"], "attendance": bad})


def test_prepare_equals_a_left_merge_whatever_the_order_and_with_an_unknown_activity(small):
    """prepare places activity columns by position; on shuffled tables with one activity missing it
    must give what the plain definition (left merge, then sort by the key) gives."""
    made, out = small
    act = out["activities"].sample(frac=1, random_state=1)
    att = out["attendance"].sample(frac=1, random_state=2).reset_index(drop=True)
    act = act[act["activity_id"] != att["activity_id"].iloc[0]]  # one activity now unknown
    got = dp.prepare({**made, "activities": act, "attendance": att})["attendance"]
    a = act.assign(academic_year=dp.academic_year(act["activity_date"]).to_numpy())
    cols = ["activity_id", "project", "strand", "format", "setting", "school_id", "activity_date", "academic_year"]
    ref = (att.assign(attended=att["attended"].astype(bool)).merge(a[cols], on="activity_id", how="left")
           .sort_values(["activity_id", "person_id"]).reset_index(drop=True))
    pd.testing.assert_frame_equal(got, ref)
    assert got["project"].isna().sum() == (att["activity_id"] == att["activity_id"].iloc[0]).sum() > 0
