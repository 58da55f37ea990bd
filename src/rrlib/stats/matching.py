"""Coarsened exact matching and the weighted comparison of two proportions that follows it.

* :func:`cem_weights`: exact matching on (already coarsened) variables, Iacus, King & Porro (2012),
  Causal inference without balance checking: coarsened exact matching, Political Analysis 20:1-24.
  Strata are the distinct combinations of the matching variables; strata without both a treated and
  a control unit are dropped; each matched control gets weight ``(T_s / C_s) x (C / T)`` (``T_s``,
  ``C_s`` treated and controls in its stratum; ``T``, ``C`` all matched treated and controls), so
  that the weighted controls have the treated units' distribution over strata.
* :func:`weighted_proportions`: the treated proportion with a Wilson interval; the weighted control
  proportion with a Wilson interval on Kish's effective sample size ``(sum w)^2 / sum w^2``; their
  difference with Newcombe's hybrid score interval (Newcombe 1998, Stat Med 17:873-890, method 10) on
  the same effective size (:func:`rrlib.stats.proportion_difference`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ._basic import proportion_ci
from .compare import proportion_difference

__all__ = ["cem_weights", "weighted_proportions"]


def cem_weights(treated: pd.DataFrame, pool: pd.DataFrame, on: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Match ``treated`` rows to ``pool`` rows exactly on ``on``. Returns ``(matched_treated,
    matched_controls, n_strata)``; both frames carry columns ``t`` and ``c`` (the stratum's counts),
    the controls also ``weight``. ``ValueError`` when no treated unit has a match."""
    on = list(on)
    t_n = treated.groupby(on, observed=True).size().rename("t")
    c_n = pool.groupby(on, observed=True).size().rename("c")
    strata = pd.concat([t_n, c_n], axis=1).dropna()
    tm = treated.join(strata, on=on, how="inner")
    cm = pool.join(strata, on=on, how="inner")
    if len(tm) == 0 or len(cm) == 0:
        raise ValueError("no treated unit has a matched control; coarsen the matching variables")
    cm = cm.assign(weight=cm["t"] / cm["c"] * len(cm) / len(tm))
    return tm, cm, int(len(strata))


def weighted_proportions(treated_success, control_success, control_weights, *, confidence: float = 0.95,
                         multiplier: float = 100) -> dict:
    """Treated and weighted control proportions (per ``multiplier``) with Wilson intervals and their
    difference (Newcombe hybrid score), the controls on Kish's effective size. ``*_success``: 0/1
    per unit. Returns treated_percent/lower/upper, comparison_percent/lower/upper, difference/lower/upper
    and effective_controls."""
    t = np.asarray(treated_success, float)
    c = np.asarray(control_success, float)
    w = np.asarray(control_weights, float)
    t_x, n_t = float(t.sum()), len(t)
    c_share = float(np.sum(w * c) / np.sum(w))
    n_eff = float(np.sum(w) ** 2 / np.sum(w ** 2))
    c_x = c_share * n_eff
    t_ci = proportion_ci(t_x, n_t, confidence=confidence, multiplier=multiplier)
    c_ci = proportion_ci(c_x, n_eff, confidence=confidence, multiplier=multiplier)
    d = proportion_difference(t_x, n_t, c_x, n_eff, confidence=confidence).iloc[0]
    return {"treated_percent": t_ci.value, "treated_lower": t_ci.lower, "treated_upper": t_ci.upper,
            "comparison_percent": c_ci.value, "comparison_lower": c_ci.lower, "comparison_upper": c_ci.upper,
            "difference": float(d["estimate"]) * multiplier, "difference_lower": float(d["lower"]) * multiplier,
            "difference_upper": float(d["upper"]) * multiplier, "effective_controls": n_eff}
