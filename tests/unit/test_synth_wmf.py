"""WMF survey: schema, synthetic generator (calibration to B04, planted A20 trend, determinism), prepare."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rrlib import data, synth
from rrlib.chapters import wmf as W
from rrlib.data import wmf as dwmf
from rrlib.synth import SynthContext, load_params
from rrlib.synth import wmf as gen

PARAMS = load_params("wmf")


def _make(scale, seed=synth.DEFAULT_SEED):
    ctx = SynthContext(seed=seed, scale=scale, params=PARAMS, domain="wmf")
    return gen.generate(ctx)["wmf_survey"]


@pytest.fixture(scope="module")
def full():
    """The survey at scale 1 (the shipped size) and its scores."""
    raw = _make(1.0)
    return raw, dwmf.prepare({"wmf_survey": raw})["wmf_scores"]


@pytest.fixture(scope="module")
def small():
    return _make(0.02)


# --------------------------------------------------------------------------- schema and design
def test_small_survey_meets_its_schema(small, tmp_path):
    dwmf.SCHEMA.validate(small)  # the generator makes Int8 answers, as the reader types them
    synth.write_table(tmp_path, "wmf_survey", small)
    typed = data.validate(tmp_path, only=["wmf_survey"])["wmf_survey"]
    assert len(typed) == len(small)
    assert list(typed.columns) == dwmf.TABLES[0].column_names
    assert all(str(typed[c].dtype) == "Int8" for c in dwmf.ITEMS)
    # scores are the same whether the answers are Int8 or wider integers
    scores = [dwmf.prepare({"wmf_survey": d})["wmf_scores"].drop(columns=dwmf.ID_COLUMNS)
              for d in (typed, small.astype({c: "Int64" for c in dwmf.ITEMS}))]
    pd.testing.assert_frame_equal(*scores)


def test_schema_rejects_out_of_range_answer_and_broken_skip(small, tmp_path):
    bad = small.copy()
    bad.loc[3, "sdq_1"] = 3
    synth.write_table(tmp_path, "wmf_survey", bad)
    with pytest.raises(data.DataValidationError, match="sdq_1"):
        data.validate(tmp_path, only=["wmf_survey"])
    bad = small.copy()
    i = bad.index[bad["sdq_ebddiff"] == 0][0]
    bad.loc[i, "sdq_distres"] = 1
    synth.write_table(tmp_path, "wmf_survey", bad)
    with pytest.raises(data.DataValidationError, match="skipped"):
        data.validate(tmp_path, only=["wmf_survey"])


def test_design_cohort_links_waves_and_snapshots_are_year9(small):
    assert set(small["area"]) == set(dwmf.AREAS)
    assert small["school_id"].nunique() <= 114
    snap = small[small["sample"] == "snapshot"]
    assert (snap["year_group"] == 9).all()
    assert "2018/19" not in set(snap["wave"])          # the cohort is Year 9 that wave
    coh = small[small["sample"] == "cohort"]
    assert (coh["year_group"] == 7 + dwmf.wave_index(coh["wave"])).all()
    first = set(coh.loc[coh["wave"] == "2016/17", "respondent_id"])
    assert set(coh["respondent_id"]) == first           # later waves only hold first-wave members
    assert coh.groupby("respondent_id")["school_id"].nunique().max() == 1
    assert not snap["respondent_id"].isin(coh["respondent_id"]).any()


def test_generator_is_deterministic_and_seed_dependent(small):
    again = _make(0.02)
    assert synth.csv_bytes(small) == synth.csv_bytes(again)
    other = _make(0.02, seed=7)
    assert synth.csv_bytes(other) != synth.csv_bytes(small)


# --------------------------------------------------------------------------- calibration (scale 1)
def test_first_wave_size_and_schools_reproduce_b04(full):
    raw, _ = full
    w1 = raw[raw["wave"] == "2016/17"]
    assert len(w1) > 30000                               # "over 30,000 pupils aged 11-14"
    assert w1["school_id"].nunique() == 114
    assert set(w1["year_group"]) == {7, 9}              # aged 11-14
    assert len(raw) < 150_000                           # manageable file (< 15 MB as csv.gz)


@pytest.mark.parametrize("key", ["emotional.overall", "emotional.girls", "emotional.boys",
                                 "behavioural.boys", "behavioural.girls"])
def test_first_wave_prevalences_reproduce_b04(full, key):
    _, scores = full
    t = W.b04_comparison(scores, "2016/17").set_index("key")
    assert t.loc[key, "computed"] == pytest.approx(t.loc[key, "published"], abs=1.0)


def test_planted_school_connection_trend_is_recovered_within_its_interval(full):
    _, scores = full
    planted = PARAMS["planted"]["school_connection_trend"]["per_wave"]
    for series in ("year9", "cohort"):
        t = W.trend(scores, "srs_school_connection", series).set_index("contrast")
        lo, hi = t.loc["relative", "lower"], t.loc["relative", "upper"]
        assert lo <= planted <= hi, (series, lo, hi)
    secular = PARAMS["planted"]["school_connection_secular"]["per_wave"]
    t9 = W.trend(scores, "srs_school_connection", "year9").set_index("contrast")
    assert t9.loc["focus", "lower"] > 0                  # A20: connection to school increased
    assert t9.loc["focus", "estimate"] == pytest.approx(planted + secular, abs=3 * t9.loc["focus", "se"])


def test_planted_family_gap_is_negative_every_wave(full):
    _, scores = full
    comp = W.compare_areas(scores, outcomes=["srs_family_connection"])
    assert len(comp) == 5
    assert (comp["upper"] < 0).all()
    assert PARAMS["planted"]["family_connection_gap"]["points"] < 0


# --------------------------------------------------------------------------- prepare
def test_prepare_scores_every_respondent(small):
    s = dwmf.prepare({"wmf_survey": small})["wmf_scores"]
    assert len(s) == len(small) and s["response_id"].is_unique
    any_sw_missing = small[dwmf.SWEMWBS_ITEMS].isna().any(axis=1).to_numpy()
    assert np.array_equal(s["swemwbs_metric"].isna().to_numpy(), any_sw_missing)
    assert (s["swemwbs_items_missing"].to_numpy() == small[dwmf.SWEMWBS_ITEMS].isna().sum(axis=1)).all()
    assert (s["srs_items_missing"].to_numpy() == small[dwmf.SRS_ITEMS].isna().sum(axis=1)).all()
    assert set(s["sdq_emotion_band"].dropna()) <= {"close to average", "slightly raised", "high", "very high"}
    assert (s.loc[small["sdq_ebddiff"].eq(0).fillna(False).to_numpy(), "sdq_impact"] == 0).all()
    assert s["wave_index"].between(0, 4).all()
    for c in ("srs_school_connection", "srs_family_connection", "srs_peer_support"):
        v = s[c].dropna()
        assert v.between(1, 5).all() and len(v) > 0.9 * len(s)


def test_prepare_sorts_by_response_id_whatever_the_input_order(small):
    s = dwmf.prepare({"wmf_survey": small})["wmf_scores"]
    shuffled = small.sample(frac=1, random_state=3).set_axis(np.arange(len(small))[::-1])
    pd.testing.assert_frame_equal(dwmf.prepare({"wmf_survey": shuffled})["wmf_scores"], s)
    assert s["response_id"].is_monotonic_increasing and s.index.equals(pd.RangeIndex(len(s)))


def test_prepare_without_the_table_returns_nothing():
    assert dwmf.prepare({}) == {}
