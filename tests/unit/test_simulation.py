"""The simulation study harness (rrlib.devtools.simulation): performance measures and a K = 3 run."""
import json

import numpy as np
import pandas as pd
import pytest

from rrlib.devtools import simulation as sim


def test_performance_measures_follow_morris_table_6():
    est = np.array([0.1, 0.3, 0.2, 0.4])
    se = np.array([0.1, 0.1, 0.2, 0.2])
    lo, hi = est - 1.96 * se, est + 1.96 * se
    p = sim.performance(est, se, lo, hi, truth=0.0)
    k = 4
    assert p["bias"] == pytest.approx(0.25)
    assert p["empirical_se"] == pytest.approx(np.std(est, ddof=1))
    assert p["bias_mcse"] == pytest.approx(np.std(est, ddof=1) / np.sqrt(k))
    assert p["empirical_se_mcse"] == pytest.approx(p["empirical_se"] / np.sqrt(2 * (k - 1)))
    assert p["model_se"] == pytest.approx(np.sqrt(np.mean(se ** 2)))
    covered = np.mean((lo <= 0) & (0 <= hi))
    assert p["coverage"] == pytest.approx(covered)
    assert p["coverage_mcse"] == pytest.approx(np.sqrt(covered * (1 - covered) / k))
    assert p["bias_ok"] is False and p["meets_bar"] is False  # biased by 0.25, 2 MCSE = 0.13


def test_an_unbiased_estimator_meets_the_bar_and_a_biased_one_does_not():
    rng = np.random.default_rng(1)
    est = rng.normal(0.0, 1.0, 2000)
    se = np.ones_like(est)
    good = sim.performance(est, se, est - 1.96, est + 1.96, truth=0.0)
    assert good["meets_bar"] and abs(good["coverage"] - 0.95) < 0.02
    bad = sim.performance(est + 0.5, se, est + 0.5 - 1.96, est + 0.5 + 1.96, truth=0.0)
    assert not bad["meets_bar"] and bad["coverage"] < 0.95


def test_truths_come_from_the_generator_parameters():
    e = sim.ESTIMANDS["selfharm.log_hr_supported"]
    assert e.truth() == pytest.approx(-0.223)
    assert e.truth({"health": {"representation": {"log_hr_supported": -0.5}}}) == -0.5
    assert all(e.method in sim.METHODS for e in sim.ESTIMANDS.values())
    from rrlib import synth

    risk = synth.load_params("education")["exclusions"]["risk"]
    for n in ("male", "fsm", "sen_support", "looked_after"):
        for kind in ("crude", "adjusted"):
            e = sim.ESTIMANDS[f"exclusions.log_rr_{kind}_{n}"]
            assert e.truth() == pytest.approx(risk[n]) and e.transform == "log" and e.reason
    tg = synth.load_params("targeted")
    sdq = tg["other_programmes"]["sdq"]["planted_total_change"]
    assert sim.ESTIMANDS["targeted.rc_sdq_total_change"].truth() == sdq
    assert sim.ESTIMANDS["targeted.bot_goal_change"].truth() == tg["back_on_track"]["goal_change_mean"]
    # an effect the generator does not plant: truth 0, and the record says why
    m = sim.ESTIMANDS["exclusions.matched_difference"]
    assert m.truth() == 0.0 and "no effect planted" in m.truth_source() and m.reason


def test_every_chapter_with_a_planted_estimate_is_in_the_study():
    """Issue 26: the Cox model, the mixed models, risk ratios, the modified Poisson model, coarsened exact
    matching and the change scores each have estimands, and every chapter that shows them reads the record."""
    chapters = {e.chapter for e in sim.ESTIMANDS.values()}
    assert chapters == {"selfharm", "wmf", "exclusions", "targeted"}
    from rrlib import paths

    for stem, key in (("02_exclusions", "exclusions"), ("03_wmf_comparisons", "wmf"),
                      ("04_self_harm_readmissions", "selfharm"), ("05_targeted_interventions", "targeted")):
        text = (paths.ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8")
        assert f'simstudy.caveat(\\"{key}\\")' in text, stem


def test_a_draw_writes_only_the_tables_its_method_reads(tmp_path):
    from rrlib import synth

    out = tmp_path / "raw"
    synth.generate(out, seed=3, scale=0.1, domains=["education"], tables=("schools", "population"))
    assert sorted(p.name for p in out.glob("*.csv.gz")) == ["population.csv.gz", "schools.csv.gz"]
    assert set(sim.METHODS["selfharm_cox"].tables) == {"ed_attendances", "selfharm_support"}


@pytest.mark.slow
def test_harness_runs_two_draws(tmp_path):
    """The harness end to end on two draws, the fewest with a Monte Carlo SE (the study itself, ``make
    simulation``, made the 130 draws of ``src/rrlib/simulation.json``)."""
    summary = sim.simulate(2, seed=7, scale=1.0, jobs=1, out_dir=tmp_path)
    doc = json.loads((tmp_path / sim.REPORT_JSON).read_text())
    assert doc["_meta"]["n_draws"] == 2 and doc["_meta"]["synthetic"] is True
    for name in sim.ESTIMANDS:
        s = doc[name]
        assert s["n_draws"] == 2
        for k in ("truth", "mean", "bias", "bias_mcse", "coverage", "coverage_mcse", "empirical_se", "model_se"):
            assert np.isfinite(s[k]), (name, k)
    assert summary.keys() == {k for k in doc if k != "_meta"}
    draws = pd.read_csv(tmp_path / sim.REPORT_DRAWS)
    assert len(draws) == 2 * len(sim.ESTIMANDS) and (draws["error"].fillna("") == "").all()
    assert "| selfharm.log_hr_supported |" in (tmp_path / sim.REPORT_MD).read_text()
    assert (tmp_path / sim.REPORT_FIGURE).exists()


def test_caveat_names_the_misses_with_their_measured_bias(tmp_path):
    from rrlib import simstudy

    rec = {"a.good": {"chapter": "a", "truth": 1.0, "bias": 0.001, "bias_mcse": 0.01, "coverage": 0.95,
                      "coverage_mcse": 0.01, "meets_bar": True},
           "a.bad": {"chapter": "a", "truth": 0.5, "bias": 0.123, "bias_mcse": 0.01, "coverage": 0.80,
                     "coverage_mcse": 0.02, "meets_bar": False, "bias_ok": False, "coverage_ok": False,
                     "reason": "matching cannot remove it"},
           "b.other": {"chapter": "b", "truth": 0.0, "bias": 0.0, "bias_mcse": 0.0, "coverage": 0.95,
                       "coverage_mcse": 0.01, "meets_bar": True},
           "_meta": {"n_draws": 250}}
    f = tmp_path / "summary.json"
    f.write_text(json.dumps(rec))
    text = simstudy.caveat("a", f)
    assert "250 synthetic draws" in text and "bias +0.123" in text
    assert "Missing the bar" in text and "`a.bad`" in text.split("Missing the bar")[1]
    assert "b.other" not in text
    assert ("* `a.bad` (bias +0.123, 12.3 Monte Carlo SE from 0, coverage 0.800, 5.0 Monte Carlo SE outside "
            "0.90 to 0.98). Why: matching cannot remove it.") in text
    assert "Every one meets the bar" in simstudy.caveat("b", f)
    assert "No simulation study" in simstudy.caveat("a", tmp_path / "absent.json")
