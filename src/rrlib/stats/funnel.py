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

Funnel plots of crude rates and proportions (:func:`funnel_limits`) and their overdispersion
(:func:`overdispersion`, :func:`overdispersed_funnel`, :func:`rank_interval`) follow Spiegelhalter DJ
(2005) Funnel plots for comparing institutional performance, Stat Med 24:1185-1202, and Spiegelhalter
DJ (2005) Handling over-dispersion of performance indicators, Qual Saf Health Care 14:347-351.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from ._basic import byars_lower, byars_upper

__all__ = ["derived_denominator", "dsr_funnel_significance", "dsr_funnel_limits", "SIGNIFICANCE_LEVELS",
           "funnel_limits", "funnel_sd", "winsorise", "overdispersion", "overdispersed_funnel",
           "overdispersed_limits", "funnel_position", "rank_interval"]

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




# --------------------------------------------------------------------------- crude rates and proportions
def funnel_limits(target: float, n, *, kind: str = "pupils",
                  confidence: Sequence[float] = (0.95, 0.998), multiplier: float = 100) -> pd.DataFrame:
    """Funnel-plot control limits around ``target`` (a rate per ``multiplier``) for sizes ``n``.

    ``kind="pupils"`` (a proportion): PHE's Wilson-score limits (PHEindicatormethods
    ``sigma_adjustment``): the observed proportion whose Wilson interval just reaches the
    target, ``p0 +/- z sqrt(p0 (1 - p0) / n)``, clipped to [0, 1].
    ``kind="count"`` (events, Poisson): exact Poisson limits with Spiegelhalter's (2005, Stat Med
    24:1185, appendix A.1.2) interpolation: with ``r`` the ``q``-quantile of Poisson(``p0 n``) and
    ``a = (F(r) - q) / (F(r) - F(r - 1))``, the limit is ``(r - a) / n``.

    Returns one row per n with ``lower_95``, ``upper_95``, ``lower_99_8``, ``upper_99_8``
    (per ``multiplier``) and ``target``.
    """
    n = np.atleast_1d(np.asarray(n, dtype=float))
    p0 = target / multiplier
    if not (0 <= p0 <= 1) and kind == "pupils":
        raise ValueError(f"target {target} per {multiplier} is not a proportion")
    out = pd.DataFrame({"n": n, "target": target})
    for c in confidence:
        tag = _tag(c)
        if kind == "pupils":
            z = float(_st.norm.ppf(c + (1 - c) / 2))
            half = z * np.sqrt(p0 * (1 - p0) / n)
            lo, hi = np.clip(p0 - half, 0, 1), np.clip(p0 + half, 0, 1)
        elif kind == "count":
            lam = p0 * n
            lo = _poisson_limit(lam, (1 - c) / 2) / n
            hi = _poisson_limit(lam, 1 - (1 - c) / 2) / n
        else:
            raise ValueError(f"kind must be 'pupils' or 'count', got {kind!r}")
        out[f"lower_{tag}"] = lo * multiplier
        out[f"upper_{tag}"] = hi * multiplier
    return out


def _tag(c: float) -> str:
    return f"{c * 100:g}".replace(".", "_")


def _poisson_limit(lam: np.ndarray, q: float) -> np.ndarray:
    """Spiegelhalter's interpolated Poisson quantile (Stat Med 2005, appendix A.1.2)."""
    r = _st.poisson.ppf(q, lam)
    f_r = _st.poisson.cdf(r, lam)
    f_r1 = _st.poisson.cdf(r - 1, lam)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(f_r > f_r1, (f_r - q) / (f_r - f_r1), 0.0)
    return np.maximum(r - a, 0.0)


def funnel_sd(target: float, n, *, kind: str = "pupils", multiplier: float = 100) -> np.ndarray:
    """Standard error of a unit's rate under the null, per ``multiplier`` (Spiegelhalter 2005,
    Stat Med 24:1185, table I): ``sqrt(p0 (1 - p0) / n)`` for a proportion, ``sqrt(p0 / n)`` for a
    Poisson rate (events per unit of ``n``), with ``p0 = target / multiplier``."""
    n = np.asarray(n, dtype=float)
    p0 = target / multiplier
    if kind == "pupils":
        v = p0 * (1 - p0) / n
    elif kind == "count":
        v = p0 / n
    else:
        raise ValueError(f"kind must be 'pupils' or 'count', got {kind!r}")
    return np.sqrt(v) * multiplier


def winsorise(z, fraction: float = 0.1) -> np.ndarray:
    """``z`` with values below its ``fraction`` quantile set to that quantile and values above its
    ``1 - fraction`` quantile set to that one (Spiegelhalter 2005: "10% winsorisation"; quantiles by
    linear interpolation, R's type 7, as DescTools ``Winsorize`` used by FunnelPlotR)."""
    z = np.asarray(z, dtype=float)
    lo, hi = np.quantile(z, [fraction, 1 - fraction])
    return np.clip(z, lo, hi)


def overdispersion(z, sd, *, winsor: float = 0.1) -> dict:
    """Overdispersion of unit z-scores (Spiegelhalter 2005, Qual Saf Health Care 14:347, and Stat
    Med 24:1185, section 4).

    ``z``: the units' z-scores against the target, ``(y_i - target) / s_i``; ``sd``: their
    ``s_i``. The overdispersion factor is ``phi = (1/I) sum(zw_i^2)`` over the ``winsor``-winsorised
    z-scores ``zw``; the additive random-effects variance is (a DerSimonian-Laird moment estimate)
    ``tau^2 = (I phi - (I - 1)) / (sum w_i - sum w_i^2 / sum w_i)`` with ``w_i = 1 / s_i^2``,
    and 0 when ``I phi <= I - 1`` (no evidence of overdispersion). Returns phi, tau2, tau, I, and
    the winsorising bounds.
    """
    z = np.asarray(z, dtype=float)
    s = np.asarray(sd, dtype=float)
    ok = np.isfinite(z) & np.isfinite(s) & (s > 0)
    z, s = z[ok], s[ok]
    k = len(z)
    if k < 3:
        raise ValueError(f"overdispersion needs at least 3 units, got {k}")
    zw = winsorise(z, winsor)
    phi = float(np.mean(zw ** 2))
    w = 1 / s ** 2
    if k * phi > k - 1:
        tau2 = float((k * phi - (k - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    else:
        tau2 = 0.0
    return {"phi": phi, "tau2": tau2, "tau": float(np.sqrt(tau2)), "n_units": k,
            "winsor_lower": float(zw.min()), "winsor_upper": float(zw.max())}


def funnel_position(z, confidence: Sequence[float] = (0.95, 0.998)) -> np.ndarray:
    """``"above 99.8%"``, ``"above 95%"``, ``"within"``, ``"below 95%"``, ``"below 99.8%"`` from
    z-scores and two-sided normal limits."""
    z = np.asarray(z, dtype=float)
    lo_c, hi_c = sorted(confidence)
    z_lo = float(_st.norm.ppf(lo_c + (1 - lo_c) / 2))
    z_hi = float(_st.norm.ppf(hi_c + (1 - hi_c) / 2))
    pos = np.full(z.shape, "within", dtype=object)
    pos[z > z_lo] = f"above {lo_c * 100:g}%"
    pos[z > z_hi] = f"above {hi_c * 100:g}%"
    pos[z < -z_lo] = f"below {lo_c * 100:g}%"
    pos[z < -z_hi] = f"below {hi_c * 100:g}%"
    return pos


def overdispersed_funnel(count, n, target: float, *, kind: str = "pupils", multiplier: float = 100,
                         winsor: float = 0.1) -> tuple[pd.DataFrame, dict]:
    """Each unit's position on the plain and the overdispersion-adjusted funnel (Spiegelhalter
    2005, Stat Med 24:1185, sections 3-4; Qual Saf Health Care 14:347).

    ``count``, ``n``: the units' events (or people) and denominators; ``target``: the rate per
    ``multiplier`` (e.g. England's). Per unit: rate, sd (:func:`funnel_sd`), ``z = (rate - target) /
    sd``, ``z_adjusted = (rate - target) / sqrt(sd^2 + tau^2)`` with ``tau^2`` from
    :func:`overdispersion`, and their positions (:func:`funnel_position`: normal limits, so the plain
    position may differ from the exact Poisson/Wilson limits of :func:`funnel_limits` for very small
    units). Returns ``(units, summary)``; summary holds phi, tau2, tau (per ``multiplier``), n_units.
    """
    c = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    rate = c / n * multiplier
    sd = funnel_sd(target, n, kind=kind, multiplier=multiplier)
    z = (rate - target) / sd
    od = overdispersion(z, sd, winsor=winsor)
    z_adj = (rate - target) / np.sqrt(sd ** 2 + od["tau2"])
    units = pd.DataFrame({"count": c, "n": n, "rate": rate, "target": target, "sd": sd, "z": z,
                          "z_adjusted": z_adj, "position": funnel_position(z),
                          "position_adjusted": funnel_position(z_adj)})
    return units, od


def overdispersed_limits(target: float, n, tau2: float, *, kind: str = "pupils", multiplier: float = 100,
                         confidence: Sequence[float] = (0.95, 0.998)) -> pd.DataFrame:
    """Funnel limits with additive overdispersion (Spiegelhalter 2005, Stat Med 24:1185, eq. 6):
    ``target +/- z_alpha sqrt(s(n)^2 + tau^2)``. Columns as :func:`funnel_limits` (n, target,
    lower_95, upper_95, lower_99_8, upper_99_8), lower limits not below 0."""
    n = np.atleast_1d(np.asarray(n, dtype=float))
    sd = funnel_sd(target, n, kind=kind, multiplier=multiplier)
    out = pd.DataFrame({"n": n, "target": target})
    for c in confidence:
        z = float(_st.norm.ppf(c + (1 - c) / 2))
        half = z * np.sqrt(sd ** 2 + tau2)
        out[f"lower_{_tag(c)}"] = np.maximum(target - half, 0.0)
        out[f"upper_{_tag(c)}"] = target + half
    return out


def rank_interval(count, n, *, kind: str = "pupils", reps: int = 2000, seed: int = 20050401,
                  confidence: float = 0.95) -> pd.DataFrame:
    """Rank of each unit's rate (1 = highest) with an interval from a parametric bootstrap
    (Goldstein & Spiegelhalter 1996, J R Stat Soc A 159:385-443; Marshall & Spiegelhalter 1998,
    BMJ 316:1701): each replicate draws every unit's count from Poisson(count) (``kind="count"``)
    or Binomial(n, count / n) (``kind="pupils"``) and re-ranks; the interval is the replicates'
    equal-tailed ``confidence`` quantiles (nearest rank). It reflects sampling noise only, not
    differences between units beyond it. Columns: rank, rank_lower, rank_upper."""
    c = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    rng = np.random.default_rng(seed)
    rate = c / n
    obs = pd.Series(-rate).rank(method="min").to_numpy()
    if kind == "count":
        sims = rng.poisson(np.broadcast_to(c, (reps, len(c))))
    elif kind == "pupils":
        sims = rng.binomial(np.broadcast_to(n.astype(np.int64), (reps, len(c))), np.broadcast_to(rate, (reps, len(c))))
    else:
        raise ValueError(f"kind must be 'pupils' or 'count', got {kind!r}")
    r = sims / n
    ranks = (-r).argsort(axis=1).argsort(axis=1) + 1
    a = (1 - confidence) / 2
    lo = np.quantile(ranks, a, axis=0, method="nearest")
    hi = np.quantile(ranks, 1 - a, axis=0, method="nearest")
    return pd.DataFrame({"rank": obs.astype(int), "rank_lower": lo.astype(int), "rank_upper": hi.astype(int)})
