"""The six kinds of leak of issue 27, each planted and caught by the attack on a whole run
(:func:`rrlib.disclosure.attack_run`), and each closed by the rules the chapters now use.

1. a figure draws the girls/boys split its table suppresses (Figure 5.1);
2. a figure draws one mark per young person (Figure 5.2's before/after SDQ scores);
3. a group of 3 published with its mean and Student's t interval (one set of whole numbers fits);
4. the "All goals" row then gives a further suppressed cell by subtraction;
5. a band-movement table narrows a suppressed band share (before 6, moved down 4, moved up 0);
6. a model's residual degrees of freedom give the exact size of a cohort whose count is rounded;

and bounded scores (a low mean of scores that are at least the band's cut-off for those in the band).
"""
from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
from scipy import stats as sst

from rrlib import disclosure as d
from rrlib import figures
from rrlib.chapters import targeted as T

# a referrals table like the default run's (true counts; the published table shows c for the split)
REFERRALS = pd.DataFrame({"school_year": ["2016/17", "2017/18", "2018/19", "2019/20", "2020/21", "Total"],
                          "girls": [5, 2, 1, 2, 5, 15], "boys": [7, 7, 4, 1, 5, 24],
                          "total": [12, 9, 5, 3, 10, 39]})


def _narrowed(result, table):
    return [c for c in result["narrowed"] if c["table"] == table]


# ----------------------------------------------------------------------------- 1. figure of a suppressed split
def test_1_a_figure_drawing_a_split_its_table_suppresses_is_caught(tmp_path):
    tables, figs = tmp_path / "tables", tmp_path / "figures"
    tables.mkdir()
    pub, _ = d.publish(REFERRALS, "targeted_bot_referrals", tables, **T.PUBLISH["targeted_bot_referrals"])
    assert (pub.loc[1:3, ["girls", "boys"]] == "c").all().all()
    # planted: the stacked bars of the old figure, drawn from the true counts
    rows = REFERRALS[REFERRALS["school_year"] != "Total"]
    planted = figures.combine(*[
        figures.FigureData(pd.DataFrame({"series": sex, "x": rows["school_year"], "y": rows[sex].map(str),
                                         "lower": "", "upper": "", "n": rows[sex].map(str)}), kind="count",
                           sources=[{"table": "targeted_bot_referrals", "key": {"school_year": y},
                                     "values": {"y": sex, "n": sex}} for y in rows["school_year"]])
        for sex in ("girls", "boys")])
    figures.publish_data(planted, "targeted_bot_referrals", figs)
    caught = _narrowed(d.attack_run(tables, figs), "targeted_bot_referrals")
    assert caught and all(c["lower"] == c["upper"] for c in caught)
    assert {(c["row"], c["column"]) for c in caught} >= {(1, "boys"), (2, "boys")}  # the secondary cells
    # the chapter's figure: totals by year, from the published table
    figures.publish_data(T.referrals_figure(pub), "targeted_bot_referrals", figs)
    result = d.attack_run(tables, figs)
    assert not result["narrowed"] and not result["statistics"]
    drawn = pd.read_csv(figs / "targeted_bot_referrals.data.csv", dtype=str)
    assert set(drawn["series"]) == {"young people referred"} and "Total" not in set(drawn["x"])


# ----------------------------------------------------------------------------- 2. a figure of individuals
def _pairs(n=13, seed=3):
    rng = np.random.default_rng(seed)
    before = rng.integers(5, 30, n)
    return pd.DataFrame({"person": [f"p{i}" for i in range(n)], "before": before,
                         "after": np.clip(before + rng.integers(-6, 4, n), 0, 40)})


def _individual_marks(p):
    return pd.concat([pd.DataFrame({"series": p["person"], "x": when, "y": p[when].map(str), "lower": "",
                                    "upper": "", "n": "1"}) for when in ("before", "after")], ignore_index=True)


def test_2_a_figure_of_individuals_is_caught_and_withheld(tmp_path):
    figs = tmp_path / "figures"
    figs.mkdir()
    (tmp_path / "tables").mkdir()
    marks = _individual_marks(_pairs())
    # planted: every young person's score written as the figure draws it, with the record of its statistics
    marks.to_csv(figs / "targeted_sdq_pairs.data.csv", index=False)
    (figs / "targeted_sdq_pairs.data.disclosure.json").write_text(json.dumps(
        {"rules": {"preset": "dfe", "threshold": 2}, "counts": ["n"], "derived": {"y": ["n"]},
         "statistics": [{"column": "y", "group_size": "n"}], "cells": []}))
    found = d.attack_run(tmp_path / "tables", figs)["statistics"]
    assert len(found) == len(marks) and all("under 10" in f["rule"] for f in found)
    # through the rules: no mark of a group under 10 is drawn
    figures.publish_data(figures.FigureData(marks), "targeted_sdq_pairs", figs)
    drawn = pd.read_csv(figs / "targeted_sdq_pairs.data.csv", dtype=str)
    assert (drawn["y"] == "c").all()
    assert not d.attack_run(tmp_path / "tables", figs)["statistics"]


# ----------------------------------------------------------------------------- 3 and 4. a group of 3
GOALS = pd.DataFrame({"domain": ["Basics"] * 3 + ["Belonging"] * 20 + ["Core Self"] * 11,
                      "change": [0, 3, 5] + [3] * 12 + [1] * 8 + [3] * 6 + [1] * 5})


def _whole_number_sets(n, mean, lower, upper, lo=-10, hi=10):
    """Every multiset of ``n`` whole-number changes in lo..hi whose mean and Student's t interval,
    rounded to 2 decimals, are the published ones: what an attacker can enumerate."""
    t = sst.t.ppf(0.975, n - 1)
    out = []
    for v in itertools.combinations_with_replacement(range(lo, hi + 1), n):
        m, s = np.mean(v), np.std(v, ddof=1)
        if round(m, 2) == mean and round(m - t * s / np.sqrt(n), 2) == lower and \
                round(m + t * s / np.sqrt(n), 2) == upper:
            out.append(v)
    return out


def test_3_and_4_statistics_of_a_group_of_3_are_caught_and_withheld(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    dom = T.goal_change_by_domain(GOALS.assign(programme="back_on_track"))
    old = {**T.PUBLISH["targeted_goal_change_by_domain"]}
    old["derived"] = {c: ["n"] for c in old.pop("statistics")}  # planted: the rule before issue 27
    pub, _ = d.publish(dom, "targeted_goal_change_by_domain", tables, **old)
    basics = pub.set_index("domain").loc["Basics"]
    assert basics["reliable_improvement"] == "c" and basics["mean_change"] != "c"
    # 3: one set of whole numbers fits the published mean and interval ...
    sets = _whole_number_sets(3, float(basics["mean_change"]), float(basics["lower"]), float(basics["upper"]))
    assert sets == [(0, 3, 5)]
    improved = sum(x >= T.gbo.RELIABLE_CHANGE for x in sets[0])
    # 4: ... and the All goals row then gives the other suppressed cell by subtraction
    shown = pd.to_numeric(pub["reliable_improvement"], errors="coerce")
    all_goals = shown.iloc[-1]
    core = all_goals - shown.iloc[:-1].sum() - improved
    assert core == int(dom.set_index("domain").loc["Core Self", "reliable_improvement"])
    # the attack catches it: statistics of a group under the rule's minimum are shown
    found = d.attack_run(tables)["statistics"]
    assert {f["column"] for f in found if f["row"] == 0} == {"mean_change", "lower", "upper"}
    # with the rule: withheld, recorded, and the subtraction no longer pins a cell
    pub, rec = d.publish(dom, "targeted_goal_change_by_domain", tables,
                         **T.publish_args("targeted_goal_change_by_domain", dom))
    assert (pub.loc[pub["domain"] == "Basics", ["mean_change", "lower", "upper"]] == "c").all().all()
    assert {s["column"] for s in rec["statistics"]} == {"mean_change", "lower", "upper"}
    assert any(c["rule"] == "statistic of a group under 10" for c in rec["cells"])
    result = d.attack_run(tables)
    assert not result["statistics"] and not result["narrowed"]


# ----------------------------------------------------------------------------- 5. relations from definitions
def _sdq_tables():
    share = pd.DataFrame({"label": ["Impact on daily life"] * 2 + ["Total difficulties"] * 2,
                          "when": ["before", "after"] * 2, "n": [12, 12, 13, 13], "n_band": [6, 2, 7, 3],
                          "pct": [50.0, 16.7, 53.8, 23.1], "pct_lower": [25.4, 4.7, 29.1, 8.2],
                          "pct_upper": [74.6, 44.8, 76.8, 50.3], "in_20": [10.0, 3.3, 10.8, 4.6]})
    move = pd.DataFrame({"scale": ["impact", "total"], "label": ["Impact on daily life", "Total difficulties"],
                         "n": [12, 13], "moved_down": [4, 5], "same_band": [8, 8], "moved_up": [0, 0]})
    return share, move


def test_5_a_band_movement_narrowing_a_band_share_is_caught_and_protected(tmp_path):
    share, move = _sdq_tables()
    tables = tmp_path / "tables"
    tables.mkdir()
    spub, _ = d.publish(share, "targeted_sdq_band_share", tables, **T.PUBLISH["targeted_sdq_band_share"])
    assert spub.loc[1, "n_band"] == "c"
    # planted: the band movements published as before issue 27 (no definitions)
    d.publish(move, "targeted_sdq_band_movement", tables, **T.PUBLISH["targeted_sdq_band_movement"])
    reading = {"targeted_sdq_band_movement": T.definitions("targeted_sdq_band_movement", move)}
    caught = _narrowed(d.attack_run(tables, definitions=reading), "targeted_sdq_band_share")
    assert [(c["row"], c["column"], c["lower"], c["upper"]) for c in caught] == [(1, "n_band", 2.0, 2.0)]
    # with the definitions: the movements that would pin it are suppressed too
    mpub, rec = d.publish(move, "targeted_sdq_band_movement", tables,
                          **T.publish_args("targeted_sdq_band_movement", move))
    assert rec["definitions"] and mpub.loc[0, "moved_down"] == "c"
    result = d.attack_run(tables, definitions=reading)
    assert not result["narrowed"]


def test_5_subsets_capped_by_their_whole_are_relations_of_the_attack():
    t = pd.DataFrame({"g": ["a", "b"], "n": [2, 40], "part": [2, 30], "rest": [0, 10]})
    pub, rec = d.apply(t, preset="dfe", counts=["n", "part", "rest"], id_cols=["g"],
                       totals={"columns": {"n": ["part", "rest"]}}, definitions=d.capped(t, ["g"], "part", "n"))
    hits = d.attack(pub, rec)
    assert all(h["ok"] for h in hits) and rec["definitions"]


# ----------------------------------------------------------------------------- 6. degrees of freedom
COX = pd.DataFrame({"term": ["supported", "age", "male", "log_prior", "supported"],
                    "hr": [0.57, 1.03, 0.83, 2.64, 0.74], "n": [718] * 5, "events": [255] * 5,
                    "dof_resid": [714.0] * 4 + [717.0], "model": ["adjusted"] * 4 + ["crude"]})
COX_KW = dict(preset="nhs", counts=["n", "events"], derived={"hr": ["events"]}, decimals={"hr": 2},
              id_cols=["model", "term"])


def test_6_residual_degrees_of_freedom_beside_a_rounded_count_are_caught_and_rounded(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    pub, _ = d.publish(COX, "selfharm_cox", tables, **COX_KW)  # planted: dof_resid as the model gives it
    assert pub["n"].tolist() == ["720"] * 5 and float(pub["dof_resid"].iloc[-1]) == 717.0
    assert 717 + 1 == 718  # the crude model has one parameter: the cohort's exact size
    found = d.attack_run(tables)["follows"]
    assert {f["row"] for f in found} == set(range(5))
    pub, rec = d.publish(COX, "selfharm_cox", tables, follows={"dof_resid": "n"}, **COX_KW)
    assert pub["dof_resid"].tolist() == ["716"] * 4 + ["719"]  # the published n minus the parameters
    assert any(s.get("follows") == "n" for s in rec["statistics"])
    assert not d.attack_run(tables)["follows"]


def test_statistics_rule_holds_on_every_preset():
    t = pd.DataFrame({"g": ["a", "b"], "n": [9, 10], "mean": [1.5, 2.5]})
    for preset in d.PRESETS:
        pub, rec = d.apply(t, preset=preset, counts=["n"], statistics={"mean": "n"}, id_cols=["g"])
        assert pub["mean"].tolist()[0] == "c", preset
        assert pub["mean"].tolist()[1] == "2.5"
        assert rec["statistics"][0]["min_group"] == d.min_group(d.PRESETS[preset].threshold) == 10


# ----------------------------------------------------------------------------- bounded scores
def _low_mean_pairs(n=10):
    """Emotional symptoms: everyone high before; after, one young person at 7 and the others at 0."""
    p = pd.DataFrame({"episode_id": [f"e{i}" for i in range(n)], "person_id": [f"p{i}" for i in range(n)]})
    for k in (*T.SDQ_SCALES, "prosoc"):
        p[f"{k}_before"] = 5.0 if k != "total" else 20.0
        p[f"{k}_after"] = 5.0 if k != "total" else 20.0
    p["emotion_before"] = 8.0
    p["emotion_after"] = [7.0] + [0.0] * (n - 1)
    return p


def test_bounded_scores_a_low_mean_pinning_a_band_share_is_caught_and_the_mean_withheld(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    pairs = _low_mean_pairs()
    share = T.sdq_band_share_table(pairs)
    change = T.sdq_paired_change_table(pairs)
    spub, _ = d.publish(share, "targeted_sdq_band_share", tables, **T.PUBLISH["targeted_sdq_band_share"])
    row = spub[(spub["label"] == "Emotional symptoms") & (spub["when"] == "after")].index[0]
    assert spub.loc[row, "n_band"] == "c"  # one young person, 1..2 to a reader
    # planted: the mean published beside it (10 young people: not a small group)
    cpub, _ = d.publish(change, "targeted_sdq_paired_change", tables, **T.PUBLISH["targeted_sdq_paired_change"])
    assert cpub.loc[0, "mean_after"] == "0.70"
    reading = {"targeted_sdq_paired_change": T.score_bounds(change)}
    caught = _narrowed(d.attack_run(tables, definitions=reading), "targeted_sdq_band_share")
    assert [(c["row"], c["column"]) for c in caught] == [(row, "n_band")]  # 6 x n_band <= 10 x 0.705
    # with the bounds declared: the mean that would give it away is withheld, and says why
    cpub, rec = d.publish(change, "targeted_sdq_paired_change", tables,
                          **T.publish_args("targeted_sdq_paired_change", change))
    assert cpub.loc[0, "mean_after"] == "c" and cpub.loc[0, "mean_before"] == "8.00"
    assert any("bounded scores" in c["rule"] for c in rec["cells"])
    assert not any(x.get("statistic", {}).get("column") == "mean_after" and x["statistic"]["key"]["label"] ==
                   "Emotional symptoms" for x in rec["definitions"])  # no bound of a withheld mean in the record
    assert not d.attack_run(tables)["narrowed"]  # the record's own bounds (the published means) pin nothing


def test_person_time_of_a_small_group_is_withheld_with_its_rates():
    """Pupil-years of a one-year window are at most one per young person: shown beside a suppressed
    group of 7 (tre), 7.0 pupil-years put the group at 7..9. Person-time and rates are statistics of
    the group: withheld under 10, and caught when shown."""
    t = pd.DataFrame({"window": ["before", "after"], "young_people": [7, 12], "suspensions": [6, 12],
                      "pupil_years": [7.0, 12.0], "rate": [0.86, 1.0]})
    kw = dict(counts=["young_people", "suspensions"], id_cols=["window"],
              statistics={"pupil_years": "young_people", "rate": ["young_people", "suspensions"]})
    pub, rec = d.apply(t, preset="tre", **kw)
    assert pub.loc[0].tolist() == ["before", "c", "c", "c", "c"] and pub.loc[1, "pupil_years"] == "12.0"
    planted, prec = d.apply(t, preset="tre", counts=kw["counts"], id_cols=["window"], derived={"rate": ["suspensions"]})
    assert float(planted.loc[0, "pupil_years"]) == 7.0  # as before issue 27
    assert d.statistics_findings(planted, {**prec, "statistics": rec["statistics"]})


def test_a_cell_narrowed_only_by_the_suppression_pattern_counts_as_protected_unless_pinned():
    """Girls, boys and their total all suppressed under tre: total <= 9 and both >= 1 put girls in 1..8,
    from the rule alone (no published value): protected (``rule_only``). Under dfe the same pattern
    (1, 1, 2) pins every cell: not protected."""
    t = pd.DataFrame({"year": ["a", "b", "Total"], "girls": [3, 20, 23], "boys": [4, 30, 34], "total": [7, 50, 57]})
    kw = dict(counts=["girls", "boys", "total"], id_cols=["year"],
              totals={"columns": {"total": ["girls", "boys"]}, "row": ("year", "Total")})
    pub, rec = d.apply(t, preset="tre", **kw)
    hits = {(h["row"], h["column"]): h for h in d.attack(pub, json.loads(json.dumps(rec)))}
    g = hits[(0, "girls")]
    assert (g["lower"], g["upper"]) == (1.0, 8.0) and g["rule_only"] and g["ok"]
    small = pd.DataFrame({"year": ["a", "b", "Total"], "girls": [1, 20, 21], "boys": [1, 30, 31], "total": [2, 50, 52]})
    pub, rec = d.apply(small, preset="dfe", detect=False, **kw)
    pub.loc[1, ["girls", "boys", "total"]] = ["20", "30", "50"]  # planted: only the primary cells suppressed
    pub.loc[2, ["girls", "boys", "total"]] = ["21", "31", "52"]
    rec["cells"] = [c for c in rec["cells"] if c["rule"] == "primary"]
    hits = {(h["row"], h["column"]): h for h in d.attack(pub, rec)}
    assert not hits[(0, "girls")]["ok"] and not hits[(0, "girls")]["rule_only"]
