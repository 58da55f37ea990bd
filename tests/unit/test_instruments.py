"""Tests of rrlib.instruments: SDQ (sdqinfo.org scoring rules), SWEMWBS (Warwick Medical
School conversion table), GBO (Edbrooke-Childs et al. 2015 reliable change) and SRS
(Lereya et al. 2016), with the rules of section D of shared/reference/published_figures.md.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rrlib.instruments import gbo, sdq, srs, swemwbs

FAST = settings(max_examples=30, deadline=None)
IMPACT = ["sdq_distres", "sdq_imphome", "sdq_impfrie", "sdq_impclas", "sdq_impleis"]


def sdq_frame(rows, index=None):
    """Rows given as dicts {item number: answer}; unspecified items are 0."""
    data = []
    for r in rows:
        d = {f"sdq_{i}": 0 for i in range(1, 26)}
        d.update({(f"sdq_{k}" if isinstance(k, int) else k): v for k, v in r.items()})
        data.append(d)
    return pd.DataFrame(data, index=index)


# ------------------------------------------------------------------ SDQ
def test_sdq_complete_answers_and_reverse_items():
    # all raw answers 0: reverse items 7, 11, 14, 21, 25 score 2
    s = sdq.score(sdq_frame([{}]), impact=False).iloc[0]
    assert s["sdq_emotion"] == 0
    assert s["sdq_conduct"] == 2      # item 7 reversed
    assert s["sdq_hyper"] == 4        # items 21, 25 reversed
    assert s["sdq_peer"] == 4         # items 11, 14 reversed
    assert s["sdq_prosoc"] == 0
    assert s["sdq_total"] == 10 and s["sdq_internal"] == 4 and s["sdq_external"] == 6


def test_sdq_prorating_and_round_half_up():
    rows = [
        {3: 2, 8: 1, 13: 0, 16: np.nan, 24: np.nan},   # 3 answered, mean 1 -> 5
        {3: 1, 8: 1, 13: 0, 16: 0, 24: np.nan},        # 4 answered, sum 2 -> 2.5 -> 3 (round() gives 2)
        {3: 2, 8: 2, 13: 2, 16: 2, 24: np.nan},        # sum 8 -> 10
        {3: 2, 8: 2, 13: 1, 16: 0, 24: np.nan},        # sum 5 -> 6.25 -> 6
        {3: 2, 8: 2, 13: 2, 16: 0, 24: np.nan},        # sum 6 -> 7.5 -> 8
        {3: 2, 8: 2, 13: 2, 16: 2, 24: 2, 1: np.nan, 4: np.nan, 9: np.nan},  # prosocial 2 answered -> missing
        {3: 1, 8: np.nan, 13: np.nan, 16: np.nan, 24: np.nan},  # 1 answered -> missing
    ]
    s = sdq.score(sdq_frame(rows), impact=False)
    assert s["sdq_emotion"].tolist()[:6] == [5, 3, 10, 6, 8, 10]
    assert np.isnan(s["sdq_emotion"].iloc[6])
    assert np.isnan(s["sdq_prosoc"].iloc[5]) and not np.isnan(s["sdq_total"].iloc[5])
    # total (and internalising) missing if a scale is missing; externalising not
    assert np.isnan(s["sdq_total"].iloc[6]) and np.isnan(s["sdq_internal"].iloc[6])
    assert s["sdq_external"].iloc[6] == 6


def test_sdq_half_up_on_a_reverse_scored_scale():
    # hyperactivity with item 25 missing: 2=1, 10=0, 15=0, 21 raw 2 -> 0; sum 1 -> 1.25 -> 1
    # and with 10=1: sum 2 -> 2.5 -> 3
    s = sdq.score(sdq_frame([{2: 1, 21: 2, 25: np.nan}, {2: 1, 10: 1, 21: 2, 25: np.nan}]), impact=False)
    assert s["sdq_hyper"].tolist() == [1, 3]


def test_sdq_impact_rules():
    base = {f"sdq_{i}": 0 for i in range(1, 26)}
    rows = [
        {"sdq_ebddiff": 0, "sdq_distres": 3, "sdq_imphome": 3, "sdq_impfrie": 3, "sdq_impclas": 3, "sdq_impleis": 3},
        {"sdq_ebddiff": 2, "sdq_distres": 3, "sdq_imphome": np.nan, "sdq_impfrie": 1, "sdq_impclas": 2,
         "sdq_impleis": np.nan},
        {"sdq_ebddiff": 1, **{c: np.nan for c in IMPACT}},
        {"sdq_ebddiff": np.nan, "sdq_distres": 3, "sdq_imphome": 3, "sdq_impfrie": 3, "sdq_impclas": 3,
         "sdq_impleis": 3},
        {"sdq_ebddiff": 3, "sdq_distres": 3, "sdq_imphome": 3, "sdq_impfrie": 3, "sdq_impclas": 3, "sdq_impleis": 3},
        {"sdq_ebddiff": 1, "sdq_distres": 1, "sdq_imphome": 1, "sdq_impfrie": 1, "sdq_impclas": 1, "sdq_impleis": 1},
    ]
    df = pd.DataFrame([{**base, **r} for r in rows])
    imp = sdq.score(df)["sdq_impact"].tolist()
    assert imp[0] == 0            # no difficulties -> 0
    assert imp[1] == 2 + 0 + 1    # 3->2, 1->0, 2->1, missing counted 0
    assert np.isnan(imp[2])       # every impact item missing
    assert np.isnan(imp[3])       # ebddiff missing
    assert imp[4] == 10
    assert imp[5] == 0            # answers of 1 recode to 0


def test_sdq_output_shape_index_and_no_items():
    df = sdq_frame([{}, {}], index=["p1", "p2"])
    s = sdq.score(df)
    assert list(s.index) == ["p1", "p2"]
    assert not any(c.startswith("sdq_") and c.split("_")[1].isdigit() for c in s.columns)
    assert "sdq_impact" not in s.columns  # impact columns absent


@pytest.mark.parametrize("bad", [3, -1, 1.5, "a"])
def test_sdq_out_of_range_raises_naming_column_and_rows(bad):
    df = sdq_frame([{}, {}, {}], index=[10, 11, 12])
    df["sdq_4"] = df["sdq_4"].astype(object)
    df.loc[11, "sdq_4"] = bad
    with pytest.raises(ValueError, match=r"sdq_4.*0 to 2.*11"):
        sdq.score(df)


def test_sdq_impact_out_of_range_and_missing_columns():
    df = sdq_frame([{"sdq_ebddiff": 4, **{c: 0 for c in IMPACT}}])
    with pytest.raises(ValueError, match="sdq_ebddiff"):
        sdq.score(df)
    with pytest.raises(ValueError, match="missing column"):
        sdq.score(sdq_frame([{}]).drop(columns="sdq_25"))


def test_sdq_bands_self_report_cutoffs():
    s = pd.Series([14, 15, 17, 18, 19, 20, 40, np.nan], name="sdq_total")
    b = sdq.band(s)
    assert b.tolist()[:7] == ["close to average", "slightly raised", "slightly raised", "high",
                              "high", "very high", "very high"]
    assert pd.isna(b.iloc[7])
    assert sdq.band(pd.Series([7, 6, 5, 4, 10]), "prosoc").tolist() == [
        "close to average", "slightly lowered", "low", "very low", "close to average"]
    assert sdq.band(pd.Series([0, 1, 2, 3]), "impact").tolist() == [
        "close to average", "slightly raised", "high", "very high"]
    assert sdq.band(pd.Series([4, 5, 6, 7]), "emotion").tolist() == [
        "close to average", "slightly raised", "high", "very high"]
    assert sdq.band(pd.Series([3, 4, 5, 6]), "conduct").tolist()[-1] == "very high"
    assert sdq.band(pd.Series([5, 6, 7, 8]), "hyper").tolist()[0] == "close to average"
    assert sdq.band(pd.Series([2, 3, 4, 5]), "peer").tolist()[1] == "slightly raised"
    frame = sdq.band(sdq.score(sdq_frame([{}]), impact=False))
    assert "sdq_total_band" in frame.columns and "sdq_internal_band" not in frame.columns
    with pytest.raises(ValueError):
        sdq.band(pd.Series([41]), "total")


@FAST
@given(st.lists(st.integers(0, 2), min_size=25, max_size=25))
def test_sdq_complete_scales_are_sums(answers):
    df = pd.DataFrame([answers], columns=[f"sdq_{i}" for i in range(1, 26)])
    s = sdq.score(df).iloc[0]
    scored = [2 - a if i + 1 in sdq.REVERSED else a for i, a in enumerate(answers)]
    for name, items in sdq.SCALES.items():
        assert s[f"sdq_{name}"] == sum(scored[i - 1] for i in items)
    assert 0 <= s["sdq_total"] <= 40


# ------------------------------------------------------------------ SWEMWBS
TABLE = {7: 7.00, 8: 9.51, 9: 11.25, 10: 12.40, 11: 13.33, 12: 14.08, 13: 14.75, 14: 15.32,
         15: 15.84, 16: 16.36, 17: 16.88, 18: 17.43, 19: 17.98, 20: 18.59, 21: 19.25,
         22: 19.98, 23: 20.73, 24: 21.54, 25: 22.35, 26: 23.21, 27: 24.11, 28: 25.03,
         29: 26.02, 30: 27.03, 31: 28.13, 32: 29.31, 33: 30.70, 34: 32.55, 35: 35.00}


def test_swemwbs_whole_conversion_table():
    # Warwick Medical School raw-to-metric table (published_figures.md, section D)
    rows = []
    for raw in range(7, 36):
        extra = raw - 7
        rows.append([1 + min(4, max(0, extra - 4 * k)) for k in range(7)])
    df = pd.DataFrame(rows, columns=swemwbs.ITEMS)
    s = swemwbs.score(df)
    assert s["swemwbs_raw"].tolist() == list(range(7, 36))
    assert s["swemwbs_metric"].tolist() == [TABLE[r] for r in range(7, 36)]


def test_swemwbs_missing_and_range():
    df = pd.DataFrame([[4, 4, 3, 3, 3, 3, 3], [4, np.nan, 3, 3, 3, 3, 3]], columns=swemwbs.ITEMS)
    s = swemwbs.score(df)
    assert s["swemwbs_metric"].iloc[0] == 20.73 and np.isnan(s["swemwbs_metric"].iloc[1])
    assert list(s.columns) == ["swemwbs_raw", "swemwbs_metric"]
    df.iloc[0, 2] = 0
    with pytest.raises(ValueError, match=r"swemwbs_3.*1 to 5"):
        swemwbs.score(df)
    with pytest.raises(ValueError, match="7-35"):
        swemwbs.to_metric([36])


@FAST
@given(st.lists(st.integers(1, 5), min_size=7, max_size=7), st.integers(0, 6))
def test_swemwbs_metric_increases_with_any_item(items, k):
    if items[k] == 5:
        return
    up = list(items)
    up[k] += 1
    s = swemwbs.score(pd.DataFrame([items, up], columns=swemwbs.ITEMS))["swemwbs_metric"]
    assert s.iloc[1] > s.iloc[0]


# ------------------------------------------------------------------ GBO
def gbo_ratings():
    return pd.DataFrame({
        "person_id": [1, 1, 1, 1, 1, 2, 2, 2, 3],
        "goal_id":   ["a", "a", "a", "b", "b", "a", "a", "b", "a"],
        "rating_date": ["2021-03-01", "2021-01-01", "2021-02-01", "2021-01-05", "2021-04-05",
                        "2021-01-01", "2021-05-01", "2021-01-01", "2021-01-01"],
        "rating": [8, 2, 5, 6, 4, 7, 3, 5, 4],
        "domain": ["school"] * 3 + ["home"] * 2 + ["friends"] * 3 + ["school"],
    })


def test_gbo_change_first_last_in_date_order():
    c = gbo.change(gbo_ratings()).set_index(["person_id", "goal_id"])
    assert c.loc[(1, "a"), ["first", "last", "change", "n_ratings"]].tolist() == [2, 8, 6, 3]
    assert c.loc[(1, "a"), "reliable_change"] == "reliable improvement"
    assert c.loc[(1, "b"), "change"] == -2 and c.loc[(1, "b"), "reliable_change"] == "no reliable change"
    assert c.loc[(2, "a"), "reliable_change"] == "reliable deterioration"
    assert c.loc[(2, "a"), "reliable_deterioration"]
    assert np.isnan(c.loc[(2, "b"), "change"]) and not c.loc[(2, "b"), "reliable_improvement"]
    assert c.loc[(1, "a"), "domain"] == "school"


def test_gbo_threshold_parameter_boundary():
    r = pd.DataFrame({"person_id": [1, 1], "goal_id": [1, 1], "rating_date": ["2021-01-01", "2021-02-01"],
                      "rating": [3, 6]})
    assert gbo.change(r)["reliable_improvement"].item()                      # 3 >= 2.45
    assert gbo.change(r, threshold=3)["reliable_improvement"].item()        # at threshold counts
    assert not gbo.change(r, threshold=3.5)["reliable_improvement"].item()


def test_gbo_person_summary_means():
    p = gbo.person_summary(gbo.change(gbo_ratings()))
    assert p.loc[1, "mean_first"] == 4 and p.loc[1, "mean_last"] == 6 and p.loc[1, "mean_change"] == 2
    assert p.loc[1, "reliable_change"] == "no reliable change"
    assert p.loc[1, "n_goals_reliably_improved"] == 1
    assert p.loc[2, "n_goals"] == 2 and p.loc[2, "n_goals_rated_twice"] == 1
    assert p.loc[2, "reliable_change"] == "reliable deterioration"
    assert np.isnan(p.loc[3, "mean_change"])
    # raw ratings are scored first
    pd.testing.assert_frame_equal(gbo.person_summary(gbo_ratings()), p)


def test_gbo_errors():
    r = gbo_ratings()
    r.loc[0, "rating"] = 11
    with pytest.raises(ValueError, match=r"rating.*0 to 10"):
        gbo.change(r)
    r = gbo_ratings()
    r.loc[0, "rating_date"] = "2021-01-01"   # same goal, same date as another rating
    with pytest.raises(ValueError, match="one rating per goal per date"):
        gbo.change(r)
    r = gbo_ratings()
    r.loc[0, "rating_date"] = "not a date"
    with pytest.raises(ValueError, match="rating_date"):
        gbo.change(r)
    with pytest.raises(ValueError, match="missing column"):
        gbo.change(gbo_ratings().drop(columns="rating"))


# ------------------------------------------------------------------ SRS
def test_srs_subscales_names():
    assert list(srs.SUBSCALES) == [
        "family_connection", "school_connection", "community_connection",
        "participation_home_school", "participation_community", "peer_support",
        "self_esteem", "empathy", "problem_solving", "goals_aspirations"]
    # Lereya et al. (2016) Table 1
    assert srs.SUBSCALES["family_connection"] == 4 and srs.SUBSCALES["participation_community"] == 2
    assert srs.SUBSCALES["self_esteem"] == 3


def srs_frame(fill=3):
    return pd.DataFrame([{c: fill for s in srs.SUBSCALES for c in srs.items(s)} for _ in range(3)])


def test_srs_means_and_minimum_answered():
    df = srs_frame().astype(float)
    df.loc[0, ["srs_family_connection_1", "srs_family_connection_2"]] = [5, np.nan]  # 3 answered: (5+3+3)/3
    df.loc[1, ["srs_family_connection_1", "srs_family_connection_2"]] = np.nan       # 2 of 4: still scored
    df.loc[2, ["srs_family_connection_1", "srs_family_connection_2", "srs_family_connection_3"]] = np.nan
    s = srs.score(df)
    assert s["srs_family_connection"].iloc[0] == pytest.approx(11 / 3)
    assert s["srs_family_connection"].iloc[1] == 3
    assert np.isnan(s["srs_family_connection"].iloc[2])
    assert s.shape == (3, 10) and all(c.startswith("srs_") for c in s.columns)


def test_srs_errors():
    df = srs_frame()
    df.loc[1, "srs_empathy_2"] = 6
    with pytest.raises(ValueError, match=r"srs_empathy_2.*1 to 5"):
        srs.score(df)
    with pytest.raises(ValueError, match="missing column"):
        srs.score(srs_frame().drop(columns="srs_peer_support_1"))
    assert list(srs.score(srs_frame().drop(columns="srs_peer_support_1"),
                          subscales=["self_esteem"]).columns) == ["srs_self_esteem"]


# ------------------------------------------------------------------ integer and chunked reading
def _reference_scores(df):
    """The scores by the float formulas (a float copy of every item), as first written."""
    from rrlib.instruments._common import round_half_up_ratio
    f = {c: pd.to_numeric(df[c]).astype(float).to_numpy() for c in df.columns}
    out = {}
    for name, nums in sdq.SCALES.items():
        block = np.column_stack([2 - f[f"sdq_{i}"] if i in sdq.REVERSED else f[f"sdq_{i}"] for i in nums])
        answered = (~np.isnan(block)).sum(axis=1)
        out[f"sdq_{name}"] = np.where(answered >= 3,
                                      round_half_up_ratio(5 * np.nansum(block, axis=1), answered), np.nan)
    out["sdq_total"] = out["sdq_emotion"] + out["sdq_conduct"] + out["sdq_hyper"] + out["sdq_peer"]
    imp = np.column_stack([f[c] for c in IMPACT])
    value = np.where((~np.isnan(imp)).any(axis=1), np.nansum(np.maximum(imp - 1, 0), axis=1), np.nan)
    value = np.where(f["sdq_ebddiff"] == 0, 0.0, value)
    out["sdq_impact"] = np.where(np.isnan(f["sdq_ebddiff"]), np.nan, value)
    raw = np.column_stack([f[c] for c in swemwbs.ITEMS]).sum(axis=1)
    out["swemwbs_raw"], out["swemwbs_metric"] = raw, swemwbs.to_metric(raw)
    for s in srs.SUBSCALES:
        block = np.column_stack([f[c] for c in srs.items(s)])
        answered = (~np.isnan(block)).sum(axis=1)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(answered[:, None] > 0, block, 0.0), axis=1)
        out[f"srs_{s}"] = np.where(answered >= max(srs.min_answered(s), 1), mean, np.nan)
    return out


def _survey(n, seed=0):
    rng = np.random.default_rng(seed)
    cols = {}
    for c, lo, hi in ([(f"sdq_{i}", 0, 2) for i in range(1, 26)] + [("sdq_ebddiff", 0, 3)]
                      + [(c, 0, 3) for c in IMPACT] + [(c, 1, 5) for c in swemwbs.ITEMS]
                      + [(c, 1, 5) for s in srs.SUBSCALES for c in srs.items(s)]):
        v = rng.integers(lo, hi + 1, n).astype(float)
        v[rng.random(n) < 0.25] = np.nan   # many missing: every prorating rule is exercised
        cols[c] = v
    return pd.DataFrame(cols)


@pytest.mark.parametrize("dtype", ["Int8", "Int64", "float64", "int64", "object"])
def test_scores_equal_the_float_formulas_for_every_dtype_and_block_size(dtype, monkeypatch):
    from rrlib.instruments import _common
    monkeypatch.setattr(_common, "CHUNK_ROWS", 7)         # many blocks, the last one partial
    df = _survey(100)
    if dtype == "int64":
        df = df.fillna(1).astype("int64")
    expected = _reference_scores(df)
    typed = df.astype(dtype) if dtype != "object" else df.astype(object).where(df.notna(), None)
    got = pd.concat([sdq.score(typed), swemwbs.score(typed), srs.score(typed)], axis=1)
    assert got.index.equals(df.index)
    for c, v in expected.items():
        assert got[c].dtype == "float64"
        np.testing.assert_array_equal(got[c].to_numpy(), v, err_msg=c)


def test_answers_out_of_range_in_a_later_block_name_the_first_column_over_all_rows(monkeypatch):
    from rrlib.instruments import _common
    monkeypatch.setattr(_common, "CHUNK_ROWS", 4)
    df = _survey(20).astype("Int8")
    df.loc[1, "sdq_9"] = 3     # first block
    df.loc[17, "sdq_2"] = 5    # last block, but an earlier column
    df.loc[18, "sdq_2"] = 7
    with pytest.raises(ValueError, match=r"'sdq_2'.*0 to 2.*2 offending.*17: 5, 18: 7"):
        sdq.score(df)
    df = _survey(20).astype("Int8")
    df.loc[13, "srs_empathy_3"] = 0
    with pytest.raises(ValueError, match=r"srs_empathy_3.*1 to 5.*13"):
        srs.score(df)


def test_int8_answers_do_not_overflow_sums():
    # every SRS peer support item at 5 (sum 30) and SWEMWBS all 5 (35): summed in a wider type
    df = _survey(5).astype("Int8")
    for c in swemwbs.ITEMS + srs.items("peer_support"):
        df[c] = pd.array([5] * 5, dtype="Int8")
    assert swemwbs.score(df)["swemwbs_raw"].tolist() == [35.0] * 5
    assert srs.score(df)["srs_peer_support"].tolist() == [5.0] * 5
