"""Tidy wrappers around regression models (statsmodels, lifelines).

Each returns a DataFrame, one row per model term, with columns ``term``, ``estimate``
(coefficient), ``se``, ``lower``, ``upper`` (coefficient scale), ``ratio``, ``ratio_lower``,
``ratio_upper`` (exp of the coefficient and its limits: odds ratio for binomial GLMs, rate
ratio for Poisson GLMs, hazard ratio for Cox; NaN for linear mixed models), ``p_value``,
``n`` (observations used), ``n_groups`` (clusters or groups, where relevant) and ``method``.
Rows with a missing value in any variable the model uses are dropped first, so ``n`` is the
complete-case count.

References: statsmodels GLM with cluster-robust (sandwich) covariance, Cameron AC, Miller DL
(2015) "A practitioner's guide to cluster-robust inference", J Hum Resour 50:317-72;
statsmodels MixedLM (random intercept, REML), Lindstrom & Bates (1988); Cox proportional
hazards model, Cox DR (1972) JRSS B 34:187-220, fitted with lifelines CoxPHFitter
(Davidson-Pilon 2019, JOSS 4:1317; Efron's method for ties).
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from ._result import single_confidence

__all__ = ["fit_glm", "fit_mixed", "fit_cox"]


def _conf(confidence: float) -> float:
    return single_confidence(confidence, "model fits")


def _formula_columns(df: pd.DataFrame, formula: str) -> list[str]:
    cols = [c for c in df.columns if isinstance(c, str)
            and re.search(rf"(?<![\w.]){re.escape(c)}(?![\w.])", formula)]
    if not cols:
        raise ValueError(f"formula {formula!r} uses no column of the data")
    return cols


def _complete(df: pd.DataFrame, cols: Sequence[str], fn: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{fn}: df must be a pandas DataFrame")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{fn}: column(s) {missing} not in the data")
    d = df[list(dict.fromkeys(cols))].dropna()
    if d.empty:
        raise ValueError(f"{fn}: no complete rows to fit (data empty, or every row has a missing "
                         f"value in {list(cols)})")
    return d


def _tidy(params, bse, pvalues, conf, n, method, n_groups=None, exp=True) -> pd.DataFrame:
    z = _st.norm.ppf(1 - (1 - conf) / 2)
    out = pd.DataFrame({"term": list(params.index), "estimate": params.to_numpy(dtype=float),
                        "se": bse.to_numpy(dtype=float)})
    out["lower"] = out["estimate"] - z * out["se"]
    out["upper"] = out["estimate"] + z * out["se"]
    if exp:
        out["ratio"] = np.exp(out["estimate"])
        out["ratio_lower"] = np.exp(out["lower"])
        out["ratio_upper"] = np.exp(out["upper"])
    else:
        out["ratio"] = out["ratio_lower"] = out["ratio_upper"] = np.nan
    out["p_value"] = pvalues.to_numpy(dtype=float)
    out["n"] = int(n)
    out["n_groups"] = np.nan if n_groups is None else int(n_groups)
    out["confidence"] = conf
    out["method"] = method
    return out


def fit_glm(df: pd.DataFrame, formula: str, family: str = "binomial", cluster: str | None = None,
            exposure: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Binomial (logit) or Poisson (log) GLM with optional cluster-robust SEs and exposure.

    ``formula``: a statsmodels/patsy formula (``"excluded ~ fsm + C(year)"``). ``cluster``:
    column whose values define clusters (e.g. school) for cluster-robust standard errors
    (statsmodels ``cov_type="cluster"``, with its default small-sample correction).
    ``exposure``: column of person-time/population for a Poisson rate model (log offset).
    ``ratio`` is the odds ratio (binomial) or rate ratio (Poisson). CIs are Wald intervals.
    """
    # statsmodels.genmod and .formula only: ``statsmodels.api`` would also import the time-series
    # and graphics modules (about a second per chapter) for the same GLM
    import statsmodels.formula.api as smf
    from statsmodels.genmod import families as smfam

    conf = _conf(confidence)
    families = {"binomial": smfam.Binomial(), "poisson": smfam.Poisson()}
    if family not in families:
        raise ValueError(f"fit_glm: family must be one of {sorted(families)}")
    if exposure is not None and family != "poisson":
        raise ValueError("fit_glm: exposure= is for Poisson models")
    cols = _formula_columns(df, formula) + [c for c in (cluster, exposure) if c is not None]
    d = _complete(df, cols, "fit_glm")
    kw = {}
    if exposure is not None:
        if (d[exposure] <= 0).any():
            raise ValueError(f"fit_glm: exposure column {exposure!r} must be > 0")
        kw["exposure"] = d[exposure].to_numpy(dtype=float)
    model = smf.glm(formula, data=d, family=families[family], **kw)
    if cluster is not None:
        groups = pd.factorize(d[cluster])[0]
        n_groups = int(groups.max()) + 1
        if n_groups < 2:
            raise ValueError("fit_glm: cluster-robust SEs need at least 2 clusters")
        res = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        how = f", cluster-robust SEs by {cluster}"
    else:
        res, n_groups, how = model.fit(), None, ""
    link = "logistic regression (odds ratios)" if family == "binomial" else "Poisson regression (rate ratios)"
    return _tidy(res.params, res.bse, res.pvalues, conf, res.nobs, f"GLM {link}{how}", n_groups)


def fit_mixed(df: pd.DataFrame, formula: str, group: str, confidence: float = 0.95,
              reml: bool = True) -> pd.DataFrame:
    """Linear mixed model with a random intercept per ``group`` (statsmodels MixedLM, REML).

    Returns the fixed effects (``ratio`` NaN: linear scale) plus a row ``term="group_var"``
    with the random-intercept variance (no CI or p-value).
    """
    import statsmodels.formula.api as smf

    conf = _conf(confidence)
    d = _complete(df, _formula_columns(df, formula) + [group], "fit_mixed")
    n_groups = d[group].nunique()
    if n_groups < 2:
        raise ValueError("fit_mixed: need at least 2 groups")
    res = smf.mixedlm(formula, data=d, groups=d[group]).fit(reml=reml)
    fe = res.fe_params.index
    out = _tidy(res.fe_params, res.bse[fe], res.pvalues[fe], conf, res.nobs,
                f"linear mixed model, random intercept by {group} ({'REML' if reml else 'ML'})",
                n_groups, exp=False)
    var = pd.DataFrame([{"term": "group_var", "estimate": float(res.cov_re.iloc[0, 0]),
                         "n": int(res.nobs), "n_groups": n_groups, "confidence": conf,
                         "method": out["method"].iloc[0]}])
    return pd.concat([out, var], ignore_index=True)


def fit_cox(df: pd.DataFrame, duration: str, event: str, covariates: Sequence[str],
            confidence: float = 0.95, strata: Sequence[str] | None = None) -> pd.DataFrame:
    """Cox proportional hazards model (lifelines CoxPHFitter, Efron ties).

    ``covariates``: numeric or categorical columns; text/categorical ones are expanded to
    indicator columns with the first level (sorted) as reference, named ``<col>[T.<level>]``.
    ``ratio`` is the hazard ratio. ``n_groups`` is the number of events.
    """
    from lifelines import CoxPHFitter

    conf = _conf(confidence)
    covariates = list(covariates)
    if not covariates:
        raise ValueError("fit_cox: give at least one covariate")
    strata = list(strata or [])
    d = _complete(df, [duration, event, *covariates, *strata], "fit_cox")
    if (d[duration] < 0).any():
        raise ValueError(f"fit_cox: durations in {duration!r} must be >= 0")
    ev = d[event].astype(float)
    if not ev.isin([0, 1]).all():
        raise ValueError(f"fit_cox: event column {event!r} must be 0/1")
    if ev.sum() == 0:
        raise ValueError("fit_cox: no events")
    X = d[[duration, event, *strata]].copy()
    X[event] = ev
    for c in covariates:
        col = d[c]
        if pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype):
            X[c] = col.astype(float)
        else:
            levels = sorted(pd.unique(col.astype(str)))
            for lev in levels[1:]:
                X[f"{c}[T.{lev}]"] = (col.astype(str) == lev).astype(float)
    cph = CoxPHFitter(alpha=1 - conf)
    cph.fit(X, duration_col=duration, event_col=event, strata=strata or None)
    s = cph.summary
    return _tidy(s["coef"], s["se(coef)"], s["p"], conf, len(X), "Cox proportional hazards (hazard ratios)",
                 int(ev.sum()))
