"""Funnel plots for directly standardised rates, after Public Health England's method.

Reference: PHE, *Fingertips technical guidance: funnel plots* (public health methods,
https://fingertips.phe.org.uk/profile/guidance/supporting-information/PH-methods), as implemented
in the R package PHEindicatormethods (``calculate_funnel_limits``, ``assign_funnel_significance``
and ``calculate_funnel_points`` with ``statistic = "rate"``, ``rate_type = "dsr"``; R/Funnels.R
and R/utils.R, version 2.x). For a DSR the method works with an *equivalent population*: the
population that would give the DSR as a crude rate with the observed number of events,
``multiplier * events / DSR`` (the "derived denominator"). The funnel's centre line is the
weighted average of the areas plotted, ``sum(events) / sum(derived denominators)``; an area is
outside the 95% (99.8%) limits when the centre line falls outside the 95% (99.8%) confidence
interval of its events over its derived denominator (Byar's method from 10 events, exact Poisson
below). Areas with fewer than 10 events have no DSR funnel point ("Not applicable"). The limits'
lines are drawn from the exact Poisson distribution: for ``E`` events, the population at which
``E`` would sit on the lower 95% limit is ``chi2_{0.975}(2E + 2) / 2 / average`` (upper limit:
``chi2_{0.025}(2E) / 2 / average``), and the limit is ``E`` over that population.

Tested against the package's test data (tests/unit/test_stats_funnel.py).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as _st

from ._basic import byars_lower, byars_upper

__all__ = ["derived_denominator", "dsr_funnel_significance", "dsr_funnel_limits", "SIGNIFICANCE_LEVELS"]

SIGNIFICANCE_LEVELS = ("High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)", "Not significant",
                       "Not applicable for events less than 10 for dsrs")
MIN_EVENTS = 10


def derived_denominator(events, dsr, multiplier: float = 100_000) -> np.ndarray:
    """The equivalent population of a DSR: ``multiplier * events / dsr`` (NaN for 0 events or no DSR)."""
    e = np.asarray(events, float)
    r = np.asarray(dsr, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = multiplier * e / r
    return np.where((e == 0) | ~np.isfinite(d), np.nan, d)


def _average(events, dsr, multiplier) -> float:
    d = derived_denominator(events, dsr, multiplier)
    return float(np.nansum(np.asarray(events, float)) / np.nansum(d))


def dsr_funnel_significance(events, dsr, multiplier: float = 100_000, target: float | None = None) -> pd.DataFrame:
    """Each area against the funnel's centre line (PHEindicatormethods ``assign_funnel_significance``).

    ``events``: the areas' counts; ``dsr``: their DSRs per ``multiplier``. ``target`` (per
    ``multiplier``) replaces PHE's centre line, the weighted average of the areas (e.g. England's
    rate when only some areas are plotted). Returns events, dsr, denominator_derived, centre (per
    ``multiplier``) and significance (one of :data:`SIGNIFICANCE_LEVELS`).
    """
    e = np.asarray(events, float)
    r = np.asarray(dsr, float)
    if np.any(e < 0):
        raise ValueError("events must be zero or more")
    d = derived_denominator(e, r, multiplier)
    avg = _average(e, r, multiplier) if target is None else float(target) / multiplier
    sig = []
    for x, den in zip(e, d):
        if x < MIN_EVENTS or not np.isfinite(den):
            sig.append(SIGNIFICANCE_LEVELS[5])
            continue
        lo = {c: float(byars_lower(x, c)) / den for c in (0.95, 0.998)}
        hi = {c: float(byars_upper(x, c)) / den for c in (0.95, 0.998)}
        if avg < lo[0.998]:
            sig.append("High (0.001)")
        elif avg < lo[0.95]:
            sig.append("High (0.025)")
        elif avg > hi[0.998]:
            sig.append("Low (0.001)")
        elif avg > hi[0.95]:
            sig.append("Low (0.025)")
        else:
            sig.append("Not significant")
    return pd.DataFrame({"events": e, "dsr": r, "denominator_derived": d, "centre": avg * multiplier,
                         "significance": sig})


def _signif_floor(x: float, down: float = 0.95) -> float:
    if x == 0:
        return 0.0
    n = len(str(int(math.floor(x * down)))) - 1
    return math.floor(x * down / 10 ** n) * 10 ** n


def _signif_ceiling(x: float, up: float = 1.05) -> float:
    if x == 0:
        return 0.0
    n = len(str(int(math.ceil(x * up)))) - 2
    return math.ceil(x * up / 10 ** n) * 10 ** n


def dsr_funnel_limits(events, dsr, multiplier: float = 100_000, years_of_data: int = 1,
                      target: float | None = None, points: int = 100) -> pd.DataFrame:
    """The funnel's 95% and 99.8% control limits (PHEindicatormethods ``calculate_funnel_limits``,
    ``statistic = "rate"``, ``rate_type = "dsr"``).

    Areas with fewer than 10 events are left out (as ``calculate_funnel_points`` does). Returns
    one row per number of events on PHE's grid of ``points`` values: events, and for each limit
    (lower_2s, upper_2s, lower_3s, upper_3s) the population per year at which that number of
    events sits on the limit (``<limit>_population_1_year``) and the limit per ``multiplier``
    (``<limit>_limit``), plus the centre line (``baseline``).
    """
    e = np.asarray(events, float)
    r = np.asarray(dsr, float)
    keep = (e >= MIN_EVENTS) & np.isfinite(r) & (r > 0)
    if not keep.any():
        raise ValueError(f"no area with {MIN_EVENTS} or more events and a DSR: no funnel")
    d = derived_denominator(e[keep], r[keep], multiplier)
    avg = float(e[keep].sum() / d.sum()) if target is None else float(target) / multiplier
    lo_d, hi_d = float(d.min()), float(d.max())
    axis_min = 0.0 if hi_d > 2 * lo_d else _signif_floor(lo_d / years_of_data) * years_of_data
    axis_max = _signif_ceiling(hi_d / years_of_data) * years_of_data
    grid = [max(1.0, math.floor(axis_min * avg))]
    top = math.ceil(axis_max * avg)
    for j in range(2, points + 1):
        step = round((top / grid[-1]) ** (1 / (points + 1 - j)) * grid[-1])
        grid.append(float(max(step, grid[-1] + 1)))
    ev = np.asarray(grid)
    out = pd.DataFrame({"events": ev})
    for name, p, side in (("lower_2s", 0.025, "high"), ("upper_2s", 0.025, "low"),
                          ("lower_3s", 0.001, "high"), ("upper_3s", 0.001, "low")):
        mean = (_st.chi2.ppf(1 - p, 2 * ev + 2) / 2) if side == "high" else (_st.chi2.ppf(p, 2 * ev) / 2)
        pop = mean / avg
        out[f"{name}_population_1_year"] = pop / years_of_data
        out[f"{name}_limit"] = ev / pop * multiplier
    out["baseline"] = avg * multiplier
    return out


