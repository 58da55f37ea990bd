"""The synthetic health domain: schemas, calibration targets (A10, A09), planted effect, determinism.

The education tables the generator reads (pupils, population) are stood in for by small
hand-made tables, so these tests do not depend on the education generator.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rrlib.chapters import selfharm as S
from rrlib.data import health as dh
from rrlib.synth import SynthContext, load_params
from rrlib.synth import health as gen


def _pupils(scale: float, seed: int = 1) -> pd.DataFrame:
    """Census cohorts born Sep 1997 .. Aug 2016 (Year 11 in 2014/15 .. Reception in 2021/22)."""
    rng = np.random.default_rng(seed)
    n_per = max(20, int(1500 * scale))
    frames, k = [], 0
    for cohort in range(1998, 2017):
        m = rng.integers(1, 13, size=n_per)
        frames.append(pd.DataFrame({
            "pupil_id": [f"P{k + i:07d}" for i in range(n_per)],
            "sex": np.where(rng.random(n_per) < 0.5, "F", "M"),
            "birth_year": np.where(m >= 9, cohort - 1, cohort),
            "birth_month": m,
        }))
        k += n_per
    return pd.concat(frames, ignore_index=True)


def _population(scale: float) -> pd.DataFrame:
    rows = [("Blackpool", y, s, a, int(round(800 * scale))) for y in range(2014, 2023) for s in "FM"
            for a in range(25)]
    return pd.DataFrame(rows, columns=["area", "year", "sex", "age", "population"])


def _ctx(scale: float, seed: int = 20160901) -> SynthContext:
    c = SynthContext(seed=seed, scale=scale, params=load_params("health"))
    c.tables["pupils"] = _pupils(scale)
    c.tables["population"] = _population(scale)
    return c


@pytest.fixture(scope="module")
def full():
    """Scale 1 (about 1 s to make)."""
    c = _ctx(1.0)
    raw = gen.generate(c)
    return c, raw, dh.prepare(raw)


def test_tables_meet_their_schemas(full):
    _, raw, _ = full
    for t in dh.TABLES:
        t.schema.validate(raw[t.name], lazy=True)
        assert list(raw[t.name].columns) == t.column_names
        if t.key:
            assert not raw[t.name].duplicated(list(t.key)).any()
    # foreign keys: the index attendance exists; supported people are census pupils
    sup, ed = raw["selfharm_support"], raw["ed_attendances"]
    assert sup["index_attendance_id"].isin(ed["attendance_id"]).all()
    pupils = full[0].tables["pupils"]
    assert sup["person_id"].isin(pupils["pupil_id"]).all()
    # the index attendance is a self-harm attendance of the same person
    m = sup.merge(ed, left_on="index_attendance_id", right_on="attendance_id", suffixes=("", "_ed"))
    assert (m["person_id"] == m["person_id_ed"]).all() and m["self_harm"].all()


def test_a10_count_is_exact(full):
    c, _, pro = full
    a = S.selfharm_admissions(pro["admissions"])
    by = a.groupby("financial_year").size()
    assert by["2017/18"] == 234
    for fy, v in c.params["admissions_per_year"].items():
        assert by[fy] == v


def test_a10_count_scales():
    c = _ctx(0.2, seed=5)
    pro = dh.prepare(gen.generate(c))
    a = S.selfharm_admissions(pro["admissions"])
    assert (a["financial_year"] == "2017/18").sum() == round(234 * 0.2)


def test_a09_share_calibrated(full):
    c, _, pro = full
    co = S.support_cohort(pro["ed_attendances"], pro["selfharm_support"])
    r = S.representations(co, pro["ed_attendances"])
    nr = S.no_return_share(r, window_days=c.params["targets"]["no_return_after_support"]["follow_up_days"])
    assert nr["n"] > 100
    # calibrated in expectation (the realised share varies by seed, SE about 0.03 here): within 2 SE
    assert nr["share"] == pytest.approx(0.82, abs=0.06)


def test_planted_support_effect_recovered():
    """The adjusted Cox log hazard ratio, pooled over three seeds, is near the planted one."""
    planted = load_params("health")["representation"]["log_hr_supported"]
    est, var = [], []
    for seed in (1, 2, 3):
        pro = dh.prepare(gen.generate(_ctx(1.0, seed=seed)))
        co = S.support_cohort(pro["ed_attendances"], pro["selfharm_support"])
        m = S.cox_model(S.representations(co, pro["ed_attendances"])).set_index("term")
        est.append(np.log(m.loc["supported", "hr"]))
        var.append(((np.log(m.loc["supported", "upper"]) - np.log(m.loc["supported", "lower"])) / (2 * 1.96)) ** 2)
    pooled = float(np.mean(est))
    se = float(np.sqrt(np.sum(var)) / len(var))
    assert abs(pooled - planted) < 2.5 * se
    assert pooled < 0


def test_realistic_structure(full):
    _, _, pro = full
    ed = pro["ed_attendances"]
    conc = S.concentration(ed, top_share=0.1)
    assert conc["top_share_attendances"] > 25  # a few people account for many attendances
    assert 15 < conc["share_repeaters"] < 50
    iv = S.interval_distribution(ed).set_index("interval")
    assert iv.loc["7-30 days", "cumulative_percent"] > 20  # many re-presentations within weeks
    co = S.support_cohort(ed, pro["selfharm_support"])
    ct = S.contact_times(co)
    assert 0.75 < ct["share"] < 0.95  # most contacted within 24 hours
    # repeat admissions by the same people
    a = S.selfharm_admissions(pro["admissions"])
    assert a.groupby(["financial_year", "person_id"]).size().max() > 1


def test_deterministic_at_small_scale():
    a = gen.generate(_ctx(0.1, seed=11))
    b = gen.generate(_ctx(0.1, seed=11))
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])
    d = gen.generate(_ctx(0.1, seed=12))
    assert not a["ed_attendances"]["arrival_datetime"].equals(d["ed_attendances"]["arrival_datetime"])


def test_params_name_the_published_figures():
    p = load_params("health")
    t = p["targets"]
    assert t["admissions_2017_18"]["figure"] == "A10" and t["admissions_2017_18"]["value"] == 234
    assert p["admissions_per_year"]["2017/18"] == t["admissions_2017_18"]["value"]
    assert t["no_return_after_support"]["figure"] == "A09" and t["no_return_after_support"]["value"] == 0.82
    assert t["dsr_ratio_to_england"]["england_reference"]["value"] == 404.6
