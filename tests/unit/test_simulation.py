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


@pytest.mark.slow
def test_harness_runs_three_draws(tmp_path):
    summary = sim.simulate(3, seed=7, scale=1.0, jobs=1, out_dir=tmp_path)
    doc = json.loads((tmp_path / sim.REPORT_JSON).read_text())
    assert doc["_meta"]["n_draws"] == 3 and doc["_meta"]["synthetic"] is True
    for name in sim.ESTIMANDS:
        s = doc[name]
        assert s["n_draws"] == 3
        for k in ("truth", "mean", "bias", "bias_mcse", "coverage", "coverage_mcse", "empirical_se", "model_se"):
            assert np.isfinite(s[k]), (name, k)
    assert summary.keys() == {k for k in doc if k != "_meta"}
    draws = pd.read_csv(tmp_path / sim.REPORT_DRAWS)
    assert len(draws) == 3 * len(sim.ESTIMANDS) and (draws["error"].fillna("") == "").all()
    assert "| selfharm.log_hr_supported |" in (tmp_path / sim.REPORT_MD).read_text()
    assert (tmp_path / sim.REPORT_FIGURE).exists()


def test_caveat_names_the_misses_with_their_measured_bias(tmp_path):
    from rrlib import simstudy

    rec = {"a.good": {"chapter": "a", "truth": 1.0, "bias": 0.001, "bias_mcse": 0.01, "coverage": 0.95,
                      "coverage_mcse": 0.01, "meets_bar": True},
           "a.bad": {"chapter": "a", "truth": 0.5, "bias": 0.123, "bias_mcse": 0.01, "coverage": 0.80,
                     "coverage_mcse": 0.02, "meets_bar": False},
           "b.other": {"chapter": "b", "truth": 0.0, "bias": 0.0, "bias_mcse": 0.0, "coverage": 0.95,
                       "coverage_mcse": 0.01, "meets_bar": True},
           "_meta": {"n_draws": 250}}
    f = tmp_path / "summary.json"
    f.write_text(json.dumps(rec))
    text = simstudy.caveat("a", f)
    assert "250 synthetic draws" in text and "bias +0.123" in text
    assert "Missing the bar" in text and "`a.bad`" in text.split("Missing the bar")[1]
    assert "b.other" not in text
    assert "Every one meets the bar" in simstudy.caveat("b", f)
    assert "No simulation study" in simstudy.caveat("a", tmp_path / "absent.json")
