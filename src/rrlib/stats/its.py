"""Comparative interrupted time series (difference-in-differences on a yearly series).

One treated unit (e.g. Blackpool) against a comparison series (e.g. the mean of comparable
authorities, or England), observed yearly before and after an intervention starts. Two
estimators on the *gap* series ``D_t = Y_treated,t - Y_comparison,t``:

* **difference in differences** (``method="did"``): ``D_t = a + b post_t + e_t``; ``b`` is the
  change in the mean gap after the start against before (Angrist & Pischke 2009, ch. 5;
  Wing, Simon & Bello-Gomez 2018, Annu Rev Public Health 39:453-469);
* **segmented regression** (``method="segmented"``): ``D_t = b0 + b1 t + b2 post_t +
  b3 post_t (t - t0) + e_t``: ``b2`` the change in level of the gap at the start, ``b3`` the
  change in its yearly slope (Wagner et al. 2002, J Clin Pharm Ther 27:299-309; Linden 2015,
  Stata J 15:480-500, the multiple-group ``itsa`` model, whose treated-minus-control
  interaction terms equal these coefficients when both series are observed every year;
  Bernal, Cummins & Gasparrini 2017, Int J Epidemiol 46:348-355).

Standard errors are Newey-West (HAC, Bartlett kernel, ``maxlags`` lags, small-sample
correction) from :mod:`statsmodels`, with Student's t intervals on the residual degrees of
freedom. Years can be left out (``exclude``, e.g. the partial school years of COVID-19
closures); the lags then run over the remaining years in order. A whole-area comparison is
observational: the estimate is the change in the gap, not the programme's effect.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

# the OLS class alone: statsmodels.api also imports the time-series, discrete and graphics modules (0.24 s
# of every chapter kernel's start)
from statsmodels.regression.linear_model import OLS

__all__ = ["gap_series", "comparative_its"]


def gap_series(df: pd.DataFrame, *, time: str, value: str, group: str, treated: str,
               comparison: Sequence[str] | str) -> pd.DataFrame:
    """Treated value, comparison value (mean of the ``comparison`` groups) and their gap by time.

    ``df``: long frame, one row per (``time``, ``group``). Times where the treated group or
    any comparison group is missing are dropped. Columns: time, treated, comparison, gap.
    """
    comp = [comparison] if isinstance(comparison, str) else list(comparison)
    missing = [g for g in [treated, *comp] if g not in set(df[group])]
    if missing:
        raise ValueError(f"gap_series: no rows for group(s) {missing} in column {group!r}")
    w = df.pivot_table(index=time, columns=group, values=value, aggfunc="first")
    w = w[[treated, *comp]].dropna()
    out = pd.DataFrame({"time": w.index, "treated": w[treated].to_numpy(float),
                        "comparison": w[comp].mean(axis=1).to_numpy(float)})
    out["gap"] = out["treated"] - out["comparison"]
    return out.reset_index(drop=True)


def comparative_its(gap: pd.DataFrame, *, start, exclude: Iterable = (), maxlags: int = 1,
                    confidence: float = 0.95, label: str = "") -> pd.DataFrame:
    """Difference-in-differences and segmented-regression estimates on a gap series.

    ``gap``: :func:`gap_series` (columns ``time`` numeric, e.g. the school year's start year,
    and ``gap``). ``start``: first time of the "after" period. ``exclude``: times left out.
    Returns a tidy frame: term (``did``, ``level_change``, ``slope_change``, ``pre_slope``),
    estimate, lower, upper, se, p_value, n (years used), n_pre, n_post, method, label.
    Needs at least 3 years before and 2 after (else ``ValueError`` naming what is missing).
    """
    d = gap[~gap["time"].isin(list(exclude))].sort_values("time").reset_index(drop=True)
    t = d["time"].to_numpy(float)
    post = (t >= float(start)).astype(float)
    n_pre, n_post = int((post == 0).sum()), int(post.sum())
    if n_pre < 3 or n_post < 2:
        raise ValueError(f"comparative_its: {n_pre} years before {start} and {n_post} from it; "
                         "need at least 3 before and 2 after")
    y = d["gap"].to_numpy(float)
    alpha = 1 - confidence
    rows = []
    designs = {
        "did": (np.column_stack([np.ones_like(t), post]), {"did": 1}),
        "segmented": (np.column_stack([np.ones_like(t), t - float(start), post, post * (t - float(start))]),
                      {"pre_slope": 1, "level_change": 2, "slope_change": 3}),
    }
    for method, (X, terms) in designs.items():
        fit = OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags, "use_correction": True},
                               use_t=True)
        ci = np.asarray(fit.conf_int(alpha=alpha))
        for term, j in terms.items():
            rows.append({"term": term, "estimate": float(fit.params[j]), "lower": float(ci[j, 0]),
                         "upper": float(ci[j, 1]), "se": float(fit.bse[j]), "p_value": float(fit.pvalues[j]),
                         "n": len(d), "n_pre": n_pre, "n_post": n_post,
                         "method": ("difference in differences (mean gap after - before)" if method == "did"
                                    else "segmented regression on the gap")
                                   + f", OLS with Newey-West SEs ({maxlags} lag{'s' if maxlags != 1 else ''})",
                         "label": label})
    return pd.DataFrame(rows)
