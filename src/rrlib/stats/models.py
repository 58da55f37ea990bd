"""Tidy wrappers around regression models (statsmodels, lifelines).

Each returns a DataFrame, one row per model term, with columns ``term``, ``estimate``
(coefficient), ``se``, ``lower``, ``upper`` (coefficient scale), ``ratio``, ``ratio_lower``,
``ratio_upper`` (exp of the coefficient and its limits: odds ratio for binomial GLMs, rate
ratio for Poisson GLMs, hazard ratio for Cox; NaN for linear mixed models), ``p_value``,
``n`` (observations used), ``n_groups`` (clusters or groups, where relevant), ``dof_resid``
(residual degrees of freedom: observations less estimated parameters, as statsmodels'
``df_resid``; what output checkers test against a minimum, ACRO's ``safe_dof_threshold`` of 10)
and ``method``.
Rows with a missing value in any variable the model uses are dropped first, so ``n`` is the
complete-case count.

References: statsmodels GLM with cluster-robust (sandwich) covariance, Cameron AC, Miller DL
(2015) "A practitioner's guide to cluster-robust inference", J Hum Resour 50:317-72;
linear mixed model with one random intercept by REML (Patterson & Thompson 1971; Harville 1977),
:func:`fit_random_intercept` (exact for one grouping factor, vectorised over groups; tested
against statsmodels MixedLM, Lindstrom & Bates 1988) with its formula front end :func:`fit_mixed`; Cox proportional
hazards model, Cox DR (1972) JRSS B 34:187-220, fitted with lifelines CoxPHFitter
(Davidson-Pilon 2019, JOSS 4:1317; Efron's method for ties).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, sparse
from scipy import stats as _st

from ._result import single_confidence

__all__ = ["fit_glm", "fit_mixed", "fit_cox", "fit_random_intercept", "design", "MixedFit"]


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


def _tidy(params, bse, pvalues, conf, n, method, n_groups=None, exp=True, dof_resid=None) -> pd.DataFrame:
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
    out["dof_resid"] = float(int(n) - len(params) if dof_resid is None else dof_resid)
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
    return _tidy(res.params, res.bse, res.pvalues, conf, res.nobs, f"GLM {link}{how}", n_groups,
                 dof_resid=res.df_resid)


def fit_mixed(df: pd.DataFrame, formula: str, group: str, confidence: float = 0.95,
              reml: bool = True) -> pd.DataFrame:
    """Linear mixed model with a random intercept per ``group``, REML: a formula front end to
    :func:`fit_random_intercept` (the design matrix from patsy, as statsmodels builds it).

    Returns the fixed effects (``ratio`` NaN: linear scale) plus a row ``term="group_var"``
    with the random-intercept variance (no CI or p-value). Same estimates as statsmodels
    ``MixedLM(...).fit(reml=True)`` (tested). Only REML is offered (``reml=False`` is refused).
    """
    import patsy

    if not reml:
        raise ValueError("fit_mixed: only REML is implemented (reml=True)")
    conf = _conf(confidence)
    d = _complete(df, _formula_columns(df, formula) + [group], "fit_mixed")
    if d[group].nunique() < 2:
        raise ValueError("fit_mixed: need at least 2 groups")
    y, X = patsy.dmatrices(formula, d, return_type="dataframe")
    fit = fit_random_intercept(y.iloc[:, 0], X, d.loc[y.index, group], conf, outcome=formula, group=group)
    t = fit.tidy()
    out = _tidy(t.set_index("term")["estimate"], t.set_index("term")["se"], t.set_index("term")["p_value"],
                conf, fit.n, fit.method, fit.n_groups, exp=False, dof_resid=int(fit.n) - len(t) - 1)
    var = pd.DataFrame([{"term": "group_var", "estimate": fit.tau2, "n": fit.n, "n_groups": fit.n_groups,
                         "dof_resid": out["dof_resid"].iloc[0], "confidence": conf, "method": fit.method}])
    return pd.concat([out, var], ignore_index=True)


class ModelDidNotConverge(ValueError):
    """A model's fit did not converge on the data given (e.g. monotone likelihood: a covariate whose
    every non-zero value has an event, so its coefficient runs to infinity). The message names the
    model, the rows and the events."""


def fit_cox(df: pd.DataFrame, duration: str, event: str, covariates: Sequence[str],
            confidence: float = 0.95, strata: Sequence[str] | None = None) -> pd.DataFrame:
    """Cox proportional hazards model (lifelines CoxPHFitter, Efron ties).

    ``covariates``: numeric or categorical columns; text/categorical ones are expanded to
    indicator columns with the first level (sorted) as reference, named ``<col>[T.<level>]``.
    ``ratio`` is the hazard ratio. ``n_groups`` is the number of events. A fit that does not converge
    raises :class:`ModelDidNotConverge` (never an estimate from a failed fit).
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

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
    try:
        cph.fit(X, duration_col=duration, event_col=event, strata=strata or None)
    except ConvergenceError as exc:
        raise ModelDidNotConverge(
            f"the Cox model ({', '.join(covariates)}) did not converge on {len(X)} people with {int(ev.sum())} "
            f"events: {str(exc).split('.')[0]} (too few events for its covariates, or one that separates them)"
        ) from exc
    s = cph.summary
    return _tidy(s["coef"], s["se(coef)"], s["p"], conf, len(X), "Cox proportional hazards (hazard ratios)",
                 int(ev.sum()))


@dataclass
class MixedFit:
    """A linear mixed model with one random intercept, fitted by REML (:func:`fit_random_intercept`)."""

    names: list
    beta: np.ndarray
    cov: np.ndarray
    sigma2: float
    tau2: float
    n: int
    n_groups: int
    outcome: str
    group: str
    confidence: float = 0.95
    method: str = field(default="")

    @property
    def icc(self) -> float:
        """Intra-class correlation tau2 / (tau2 + sigma2)."""
        return self.tau2 / (self.tau2 + self.sigma2)

    def tidy(self) -> pd.DataFrame:
        """Fixed effects: term, estimate, se, lower, upper, p_value, n, n_groups, method."""
        se = np.sqrt(np.diag(self.cov))
        z = _st.norm.ppf(0.5 + self.confidence / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * _st.norm.sf(np.abs(self.beta / se))
        return pd.DataFrame({"term": self.names, "estimate": self.beta, "se": se,
                             "lower": self.beta - z * se, "upper": self.beta + z * se, "p_value": p,
                             "n": self.n, "n_groups": self.n_groups, "method": self.method})

    def contrast(self, weights: dict) -> dict:
        """A linear combination sum(w * beta) with its Wald interval: estimate, se, lower, upper, p_value."""
        w = np.array([float(weights.get(n, 0.0)) for n in self.names])
        unknown = set(weights) - set(self.names)
        if unknown:
            raise KeyError(f"contrast: terms not in the model: {sorted(unknown)}")
        est = float(w @ self.beta)
        se = float(np.sqrt(w @ self.cov @ w))
        z = _st.norm.ppf(0.5 + self.confidence / 2)
        p = float(2 * _st.norm.sf(abs(est / se))) if se > 0 else np.nan
        return {"estimate": est, "se": se, "lower": est - z * se, "upper": est + z * se, "p_value": p}


def design(df: pd.DataFrame, numeric=(), categorical: dict | None = None) -> pd.DataFrame:
    """Design matrix: intercept, ``numeric`` columns as they are, and treatment-coded dummies of
    ``categorical`` (``{column: reference level}``; levels absent from ``df`` are dropped).
    Constant columns other than the intercept are dropped (e.g. one year group in a wave)."""
    cols = {"Intercept": np.ones(len(df))}
    for c in numeric:
        cols[c] = df[c].to_numpy(dtype=float)
    for c, ref in (categorical or {}).items():
        v = df[c].astype(object).to_numpy()
        for lev in sorted({x for x in v if x != ref}, key=str):
            cols[f"{c}[{lev}]"] = (v == lev).astype(float)
    X = pd.DataFrame(cols, index=df.index)
    keep = ["Intercept"] + [c for c in X.columns[1:] if X[c].nunique() > 1]
    return X[keep]


def fit_random_intercept(y, X: pd.DataFrame, groups, confidence: float = 0.95,
                         outcome: str = "y", group: str = "group") -> MixedFit:
    """Linear mixed model ``y = X b + u_group + e`` (random intercept), restricted maximum likelihood.

    With ``V_i = sigma2 (I + gamma J)`` for a group of size ``n_i`` (gamma = tau2 / sigma2),
    ``V_i^-1 = (I - c_i J) / sigma2`` with ``c_i = gamma / (1 + n_i gamma)``, so every quantity
    of the REML likelihood (Patterson & Thompson 1971; Harville 1977) reduces to group sums:
    ``A = X'X - sum_i c_i s_i s_i'`` (``s_i`` the column sums of X in group i), ``b = A^-1
    (X'y - sum_i c_i s_i t_i)``, residual form ``Q = y'y - sum_i c_i t_i^2 - b'(X'y - ...)``,
    and the profile REML log-likelihood ``-1/2 [(n - p) log(Q / (n - p)) + sum_i log(1 + n_i
    gamma) + log det A]`` is maximised over log gamma (bounded Brent search). Then ``sigma2 =
    Q / (n - p)``, ``tau2 = gamma sigma2``, ``cov(b) = sigma2 A^-1``. Same estimates as
    statsmodels ``MixedLM(...).fit(reml=True)``; rows with any missing value must be removed first.
    """
    y = np.asarray(y, dtype=float)
    Xv = np.asarray(X, dtype=float)
    names = list(X.columns) if isinstance(X, pd.DataFrame) else [f"x{i}" for i in range(Xv.shape[1])]
    n, p = Xv.shape
    if len(y) != n:
        raise ValueError("fit_random_intercept: y and X have different numbers of rows")
    if np.isnan(y).any() or np.isnan(Xv).any():
        raise ValueError("fit_random_intercept: missing values in y or X (use complete cases)")
    codes, uniq = pd.factorize(pd.Series(np.asarray(groups)), sort=True)
    if (codes < 0).any():
        raise ValueError("fit_random_intercept: missing group labels")
    m = len(uniq)
    if m < 2:
        raise ValueError("fit_random_intercept: need at least 2 groups")
    if n <= p + 1:
        raise ValueError("fit_random_intercept: too few observations for the model")
    G = sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(m, n))
    ni = np.asarray(G.sum(axis=1)).ravel()
    S = np.asarray(G @ Xv)              # m x p
    t = np.asarray(G @ y).ravel()       # m
    XtX, Xty, yty = Xv.T @ Xv, Xv.T @ y, float(y @ y)
    if np.linalg.matrix_rank(XtX) < p:
        raise ValueError(f"fit_random_intercept: the design matrix is rank deficient ({names})")

    def parts(theta):
        gam = np.exp(theta)
        c = gam / (1 + ni * gam)
        A = XtX - S.T @ (c[:, None] * S)
        bvec = Xty - S.T @ (c * t)
        beta = np.linalg.solve(A, bvec)
        Q = yty - float(c @ t**2) - float(bvec @ beta)
        return gam, A, beta, Q

    def negll(theta):
        gam, A, _, Q = parts(theta)
        sign, logdet = np.linalg.slogdet(A)
        return 0.5 * ((n - p) * np.log(Q / (n - p)) + np.log1p(ni * gam).sum() + logdet)

    res = optimize.minimize_scalar(negll, bounds=(-18.0, 8.0), method="bounded",
                                   options={"xatol": 1e-7})
    theta = float(res.x)
    gam, A, beta, Q = parts(theta)
    sigma2 = Q / (n - p)
    cov = sigma2 * np.linalg.inv(A)
    return MixedFit(names=names, beta=beta, cov=cov, sigma2=float(sigma2), tau2=float(gam * sigma2),
                    n=int(n), n_groups=int(m), outcome=outcome, group=group, confidence=confidence,
                    method=f"linear mixed model, random intercept by {group} (REML)")
