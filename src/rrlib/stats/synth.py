"""Synthetic control for one treated area (Abadie, Diamond & Hainmueller 2010, JASA 105:493-505;
Abadie 2021, J Econ Lit 59:391-425), checked against ``pysyncon`` (Fordham, MIT licence).

The synthetic area is the convex combination of donor areas (weights >= 0, summing to 1) whose
outcome best matches the treated area's in every pre-period year. The predictors are the
pre-period outcomes themselves, one per year, each scaled by its standard deviation across areas
(pysyncon's scaling), with equal predictor weights ``V = I``: with every pre-period outcome a
predictor, the nested choice of ``V`` adds little (Abadie 2021, section 5; Kaul et al. 2022) and
would make the placebo runs slow. The weights solve Abadie's constrained least squares
(:func:`abadie_weights`, exact NNLS; checked against pysyncon's ``Synth.fit(custom_V=...)``, which
solves the same problem by SLSQP but takes seconds per fit, too slow for 140 placebo refits).

Reported: the weights, the pre-period fit (root mean squared prediction error, RMSPE), the gap
(treated minus synthetic) by year and its mean over the post-period years, and the placebo-in-space
p-value: every donor in turn is treated as if treated, with the other donors as its pool, and the
treated area's post/pre RMSPE ratio is ranked among theirs, ``p = (1 + #{j: ratio_j >= ratio}) /
(1 + N)`` (Abadie et al. 2010, section 4.2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from .design import Window, complete_units, placebo_p

__all__ = ["SynthResult", "synthetic_control", "synth_placebos", "abadie_weights", "pysyncon_weights",
           "scaled_predictors"]


@dataclass
class SynthResult:
    la_code: str
    window: Window
    weights: pd.Series            # donor code -> weight (all donors)
    path: pd.DataFrame            # year, treated, synthetic, gap, period ("pre", "post", "excluded")
    rmspe_pre: float
    rmspe_post: float
    gap_post: float               # mean gap over the post-period years of the window

    @property
    def ratio(self) -> float:
        return self.rmspe_post / self.rmspe_pre if self.rmspe_pre > 0 else np.inf


def scaled_predictors(y1_pre: np.ndarray, Y0_pre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pre-period year (a predictor) divided by its standard deviation across the treated and
    donor areas (ddof 1), as pysyncon's ``Synth.fit`` scales its predictors."""
    X = np.column_stack([Y0_pre, y1_pre])
    sd = X.std(axis=1, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    return y1_pre / sd, Y0_pre / sd[:, None]


def abadie_weights(y1_pre: np.ndarray, Y0_pre: np.ndarray, *, penalty: float = 1e4) -> np.ndarray:
    """Abadie's synthetic-control weights with ``V = I`` on the scaled pre-period outcomes:
    ``argmin_w ||x1 - X0 w||^2`` subject to ``w >= 0`` and ``sum(w) = 1``.

    Solved exactly as non-negative least squares (Lawson & Hanson, ``scipy.optimize.nnls``) with the
    sum-to-one constraint as a heavily weighted extra row (``penalty`` times the predictors' scale),
    then renormalised: the same problem pysyncon's ``w_optimize`` solves by SLSQP with numerical
    gradients, in milliseconds rather than seconds, which makes the placebo runs feasible. The unit
    tests check the two agree (tests/unit/test_stats_design.py).
    """

    x1, X0 = scaled_predictors(np.asarray(y1_pre, float), np.asarray(Y0_pre, float))
    m = penalty * max(1.0, float(np.abs(X0).max()))
    A = np.vstack([X0, np.full((1, X0.shape[1]), m)])
    b = np.concatenate([x1, [m]])
    w, _ = nnls(A, b, maxiter=50 * A.shape[1])
    return w / w.sum()


def pysyncon_weights(y1_pre: np.ndarray, Y0_pre: np.ndarray) -> np.ndarray:
    """The same weights from pysyncon (``Synth.fit`` with ``custom_V`` = 1 for every pre-period year):
    the well-kept package's answer, used to check :func:`abadie_weights`."""
    from pysyncon import Synth

    k = Y0_pre.shape[0]
    cols = [f"d{i}" for i in range(Y0_pre.shape[1])]
    X0 = pd.DataFrame(Y0_pre, columns=cols)
    X1 = pd.Series(y1_pre, name="treated")
    s = Synth()
    s.fit(X0=X0, X1=X1, Z0=X0, Z1=X1, custom_V=np.ones(k))
    w = np.clip(np.asarray(s.W, float), 0, None)
    return w / w.sum()


def synthetic_control(panel: pd.DataFrame, la_code: str, donors: Sequence[str], window: Window = Window(),
                      *, through: int | None = None) -> SynthResult:
    """Synthetic ``la_code`` from ``donors`` (those with a value in every year of ``window`` and,
    if given, every year to ``through``). Pre-period: ``window.first``..``window.start - 1``;
    post-period: the window's years from ``window.start`` (excluded years are drawn but not averaged).
    """
    la_code = str(la_code)
    last = max(window.end, through or window.end)
    all_years = [y for y in range(window.first, last + 1) if y in panel.index]
    need = window.years
    dn = [d for d in complete_units(panel[[d for d in donors if d in panel.columns and d != la_code]], need)]
    if len(dn) < 2:
        raise ValueError(f"synthetic control for {la_code}: {len(dn)} donors with a complete series")
    if la_code not in complete_units(panel[[la_code]], need):
        raise ValueError(f"synthetic control: area {la_code} has no value in every year of the window")
    pre = [y for y in need if y < window.start]
    post = [y for y in need if y >= window.start]
    w = abadie_weights(panel.loc[pre, la_code].to_numpy(float), panel.loc[pre, dn].to_numpy(float))
    synth = panel.loc[all_years, dn].to_numpy(float) @ w
    treated = panel.loc[all_years, la_code].to_numpy(float)
    path = pd.DataFrame({"year": all_years, "treated": treated, "synthetic": synth, "gap": treated - synth})
    path["period"] = np.where(path["year"].isin(pre), "pre", np.where(path["year"].isin(post), "post", "excluded"))
    g_pre = path.loc[path["period"] == "pre", "gap"].to_numpy()
    g_post = path.loc[path["period"] == "post", "gap"].to_numpy()
    return SynthResult(la_code=la_code, window=window, weights=pd.Series(w, index=dn, name="weight"), path=path,
                       rmspe_pre=float(np.sqrt(np.mean(g_pre ** 2))), rmspe_post=float(np.sqrt(np.mean(g_post ** 2))),
                       gap_post=float(g_post.mean()))


def synth_placebos(panel: pd.DataFrame, la_code: str, donors: Sequence[str], window: Window = Window(),
                   result: SynthResult | None = None) -> tuple[pd.DataFrame, float, float]:
    """Placebo in space for the synthetic control: each donor (with a complete series) fitted from
    the other donors. Returns ``(placebos, p_ratio, p_gap)``: one row per donor (la_code, rmspe_pre,
    rmspe_post, ratio, gap_post); the rank p-value of the treated area's post/pre RMSPE ratio
    (Abadie et al. 2010; one-sided in the ratio, which is two-sided in the gap) and of its |mean
    post gap| (:func:`rrlib.stats.design.placebo_p`)."""
    res = result or synthetic_control(panel, la_code, donors, window)
    pool = list(res.weights.index)
    # every donor has a complete series (it is in the pool), so each placebo fit is synthetic_control's
    # arithmetic on the pool's columns without that donor, done here without re-checking the panel
    need = window.years
    pre = [y for y in need if y < window.start]
    years = [y for y in range(window.first, window.end + 1) if y in panel.index]
    on_pre, on_all = panel.loc[pre, pool], panel.loc[years, pool]
    is_pre = np.isin(years, pre)
    is_post = np.isin(years, [y for y in need if y >= window.start])
    rows = []
    for d in pool:
        w = abadie_weights(on_pre[d].to_numpy(float), on_pre.drop(columns=d).to_numpy(float))
        gap = on_all[d].to_numpy(float) - on_all.drop(columns=d).to_numpy(float) @ w
        r = SynthResult(la_code=d, window=window, weights=pd.Series(dtype=float), path=pd.DataFrame(),
                        rmspe_pre=float(np.sqrt(np.mean(gap[is_pre] ** 2))),
                        rmspe_post=float(np.sqrt(np.mean(gap[is_post] ** 2))), gap_post=float(gap[is_post].mean()))
        rows.append({"la_code": d, "rmspe_pre": r.rmspe_pre, "rmspe_post": r.rmspe_post, "ratio": r.ratio,
                     "gap_post": r.gap_post})
    pl = pd.DataFrame(rows)
    p_ratio = float((1 + np.sum(pl["ratio"].to_numpy() >= res.ratio - 1e-12)) / (1 + len(pl)))
    return pl, p_ratio, placebo_p(res.gap_post, pl["gap_post"])
