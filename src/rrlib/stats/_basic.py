"""Proportions, crude rates, directly standardised rates and means with confidence limits.

Methods follow Public Health England, *Technical Guide: Confidence Intervals* (Public Health
Data Science, 2018) and the Fingertips "Public health technical guidance", as implemented in
the R package PHEindicatormethods (files ``R/utils.R``: ``wilson_lower``/``wilson_upper``,
``byars_lower``/``byars_upper``; ``R/Proportions.R``; ``R/Rates.R``; ``R/DSR.R`` /
``R/phe_DSR.R`` and ``calculate_dsr``; ``R/Means.R``):

* proportions: Wilson score interval (Wilson 1927; Newcombe & Altman 2000);
* crude rates: exact Poisson limits from the chi-squared distribution when the count is
  below 10 (Armitage & Berry 2002), Byar's approximation from 10 (Breslow & Day 1987);
* directly standardised rates: Dobson et al. (1991) limits built on Byar's limits for the
  total count; no value when the total count is under 10 (PHE guidance; Morris et al. 2020);
  optional adjustment for non-independent events (PHEindicatormethods ``calculate_dsr``
  with ``independent_events = FALSE``);
* means: Student's t distribution.

All functions are vectorised with numpy: scalars in, floats out; arrays in, arrays out.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from ._result import CIResult, normalise_confidence, z_value

__all__ = [
    "proportion_ci", "rate_ci", "dsr", "mean_ci",
    "wilson_lower", "wilson_upper", "byars_lower", "byars_upper",
    "exact_poisson_lower", "exact_poisson_upper", "ESP2013",
]

#: European Standard Population 2013, 5-year bands 0-4 ... 85-89, 90+ (sum 100,000).
ESP2013 = np.array([5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000,
                    6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000], dtype=float)


# ----------------------------------------------------------------------------- helpers
def _arrays(*args: Any) -> tuple[list[np.ndarray], bool, Any]:
    """Broadcast inputs to float arrays; report whether all were scalars and any pandas index."""
    index = None
    for a in args:
        if isinstance(a, pd.Series):
            index = a.index
            break
    scalar = all(np.ndim(a) == 0 for a in args)
    arrs = [np.asarray(a, dtype=float) for a in args]
    try:
        arrs = list(np.broadcast_arrays(*arrs))
    except ValueError as exc:
        raise ValueError(f"inputs have incompatible shapes: {[a.shape for a in arrs]}") from exc
    arrs = [np.atleast_1d(a).astype(float) for a in arrs]
    if index is not None and len(index) != arrs[0].shape[0]:
        index = None
    return arrs, scalar, index


def _check_counts(x: np.ndarray, n: np.ndarray, what: str = "denominators") -> None:
    if np.any(x < 0):
        raise ValueError("numerators must be greater than or equal to zero")
    if np.any(n <= 0):
        raise ValueError(f"{what} must be greater than zero")


# ----------------------------------------------------------------------------- limits
def wilson_lower(x, n, confidence: float = 0.95) -> np.ndarray:
    """Lower Wilson score limit for a proportion x/n (Wilson 1927; PHEindicatormethods ``wilson_lower``)."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    if confidence == 1:
        return np.zeros(np.broadcast(x, n).shape)
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (2 * x + z**2 - z * np.sqrt(z**2 + 4 * x * (1 - x / n))) / 2 / (n + z**2)


def wilson_upper(x, n, confidence: float = 0.95) -> np.ndarray:
    """Upper Wilson score limit for a proportion x/n (Wilson 1927; PHEindicatormethods ``wilson_upper``)."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    if confidence == 1:
        return np.ones(np.broadcast(x, n).shape)
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (2 * x + z**2 + z * np.sqrt(z**2 + 4 * x * (1 - x / n))) / 2 / (n + z**2)


def byars_lower(x, confidence: float = 0.95) -> np.ndarray:
    """Byar's lower limit for a Poisson count (Breslow & Day 1987; PHEindicatormethods ``byars_lower``).

    O_lower = O (1 - 1/(9O) - z/(3 sqrt(O)))^3; negative results (tiny counts) are NaN, as in the package.
    """
    x = np.asarray(x, float)
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
    return np.where(lo < 0, np.nan, lo)


def byars_upper(x, confidence: float = 0.95) -> np.ndarray:
    """Byar's upper limit for a Poisson count (Breslow & Day 1987; PHEindicatormethods ``byars_upper``).

    O_upper = (O+1) (1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3.
    """
    x = np.asarray(x, float)
    z = z_value(confidence)
    return (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3


def exact_poisson_lower(x, confidence: float = 0.95) -> np.ndarray:
    """Exact lower limit for a Poisson count: chi2_{(1-c)/2, 2O} / 2 (Armitage & Berry 2002); 0 for O = 0."""
    x = np.asarray(x, float)
    with np.errstate(invalid="ignore"):
        lo = _st.chi2.ppf((1 - confidence) / 2, 2 * x) / 2
    return np.where(x == 0, 0.0, lo)


def exact_poisson_upper(x, confidence: float = 0.95) -> np.ndarray:
    """Exact upper limit for a Poisson count: chi2_{c + (1-c)/2, 2O+2} / 2 (Armitage & Berry 2002)."""
    x = np.asarray(x, float)
    return _st.chi2.ppf(confidence + (1 - confidence) / 2, 2 * x + 2) / 2


# ----------------------------------------------------------------------------- proportions
def proportion_ci(x, n, confidence: float | Sequence[float] = 0.95, multiplier: float = 1) -> CIResult:
    """Proportion x/n with Wilson score confidence limits.

    Reference: PHE *Technical Guide: Confidence Intervals*, Appendix 3 (Wilson score
    method); PHEindicatormethods ``phe_proportion`` / ``calculate_proportion``. Worked
    example (Newcombe & Altman 2000; PHE APHO Technical Briefing 3): 65 of 100 gives
    0.65 (95% CI 0.55254 to 0.73636).

    ``multiplier=100`` gives percentages. ``x`` and ``n`` may be scalars or arrays
    (broadcast together); NaN propagates. Raises ``ValueError`` for x < 0, n <= 0 or x > n.
    """
    levels = normalise_confidence(confidence)
    (x, n), scalar, index = _arrays(x, n)
    _check_counts(x, n)
    if np.any(x > n):
        raise ValueError("numerators must be less than or equal to denominators for a Wilson score")
    limits = {c: (wilson_lower(x, n, c) * multiplier, wilson_upper(x, n, c) * multiplier) for c in levels}
    stat = ("proportion" if multiplier == 1
            else ("percentage" if multiplier == 100 else f"proportion per {multiplier:g}"))
    return CIResult.build(x / n * multiplier, limits, "Wilson", levels, stat, scalar,
                          extra={"numerator": x, "denominator": n}, index=index)


# ----------------------------------------------------------------------------- crude rates
def _count_limits(x: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    small = x < 10
    lo = np.where(small, exact_poisson_lower(x, c), byars_lower(np.where(small, 10, x), c))
    hi = np.where(small, exact_poisson_upper(x, c), byars_upper(x, c))
    nan = np.isnan(x)
    return np.where(nan, np.nan, lo), np.where(nan, np.nan, hi)


def rate_ci(x, n, confidence: float | Sequence[float] = 0.95, multiplier: float = 100_000) -> CIResult:
    """Crude rate x/n * multiplier with Poisson confidence limits.

    Reference: PHE Fingertips technical guidance, "Rates"; PHE *Technical Guide:
    Confidence Intervals*, Appendices 1-2; PHEindicatormethods ``phe_rate``: exact limits
    from the chi-squared distribution (chi2_{alpha/2, 2O}/2, chi2_{1-alpha/2, 2O+2}/2)
    when the count is below 10 (method "Exact"), Byar's approximation from 10 (method "Byars").
    """
    levels = normalise_confidence(confidence)
    (x, n), scalar, index = _arrays(x, n)
    _check_counts(x, n)
    limits = {}
    for c in levels:
        lo, hi = _count_limits(x, c)
        limits[c] = (lo / n * multiplier, hi / n * multiplier)
    method = np.where(x < 10, "Exact", "Byars").astype(object)
    return CIResult.build(x / n * multiplier, limits, method, levels, f"rate per {multiplier:g}",
                          scalar, extra={"numerator": x, "denominator": n}, index=index)


# ----------------------------------------------------------------------------- DSR
def dsr(x, n, standard=ESP2013, confidence: float | Sequence[float] = 0.95,
        multiplier: float = 100_000, independent_events: bool = True, eventfreq=None,
        ageband=None, groups=None, min_count: int = 10) -> CIResult:
    """Directly standardised rate with Dobson confidence limits.

    Reference: PHE *Technical Guide: Confidence Intervals*, Appendix 4 (Dobson's method);
    Dobson A, Kuulasmaa K, Eberle E, Scherer J (1991) Stat Med 10:457-62; PHEindicatormethods
    ``phe_dsr`` / ``calculate_dsr``::

        DSR      = sum_i w_i x_i / n_i / sum_i w_i * multiplier
        var(DSR) = sum_i x_i (w_i / n_i)^2 / (sum_i w_i)^2
        limit    = DSR + sqrt(var(DSR) / O) * (O_limit - O) * multiplier

    with O the total count and O_limit its Byar's limit. When O < ``min_count`` (10, PHE
    guidance) the value and limits are NaN. Missing counts in a band are counted as 0.

    Shapes: ``x``, ``n`` 1-D over standardisation categories (one DSR, scalar result); 2-D
    ``(groups, categories)`` (one DSR per row, arrays); or 1-D long data with ``groups``
    labels per row (one DSR per group, ordered by sorted group label, in ``extra['group']``).
    ``standard`` is a vector over categories (default ESP 2013, 19 bands) or a per-row array.

    Non-independent events (``independent_events=False``; PHEindicatormethods
    ``calculate_dsr(..., independent_events = FALSE, eventfreq, ageband)``): ``x`` is the
    number of *people* in each (ageband, eventfreq) row, ``eventfreq`` the number of events
    each of those people had. Following the package: the variance is
    ``sum_f f^2 * var_f`` where ``var_f = sum_a x_{a,f} (w_a / n_a)^2 / W^2`` is the Dobson
    variance of the person counts of frequency f, and the DSR and total count use the events
    ``sum_f f * x_{a,f}`` in each ageband. ``n`` and ``standard`` must be constant within a
    (group, ageband). One deliberate difference: the package divides ``var_f`` by the
    standard population summed over the rows present for frequency f, so its result changes
    if zero rows are left out; here W is always the group's full standard population (sum over
    its distinct agebands). On a complete ageband x eventfreq grid, as in the package's
    documented example, the two agree.
    """
    levels = normalise_confidence(confidence)
    if not independent_events:
        return _dsr_nonindependent(x, n, standard, levels, multiplier, eventfreq, ageband, groups, min_count)
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    std = np.asarray(standard, dtype=float)
    if x.shape != n.shape:
        raise ValueError(f"x and n must have the same shape, got {x.shape} and {n.shape}")
    if x.size == 0:
        raise ValueError("dsr needs at least one standardisation category")
    group_labels = None
    if groups is not None:
        if x.ndim != 1:
            raise ValueError("groups= needs 1-D (long) x and n")
        g = pd.Index(np.asarray(groups))
        if len(g) != x.shape[0]:
            raise ValueError("groups must have one label per row of x")
        codes, group_labels = pd.factorize(g, sort=True)
        std = np.broadcast_to(std, x.shape) if std.shape == x.shape else None
        if std is None:
            raise ValueError("with groups=, standard must give one value per row")
        scalar = False
    else:
        scalar = x.ndim == 1
        x2 = np.atleast_2d(x)
        if np.atleast_1d(std).shape[-1] != x2.shape[-1]:
            raise ValueError(f"standard population length ({np.atleast_1d(std).shape[-1]}) must equal "
                             f"the number of categories ({x2.shape[-1]})")
        std = np.broadcast_to(std, x2.shape) if std.ndim <= 1 else std
    _check_dsr_inputs(x, n, std)
    x0 = np.nan_to_num(x, nan=0.0)
    wt = x0 * std / n
    sq = x0 * (std / n) ** 2
    if group_labels is not None:
        k = len(group_labels)
        sums = {name: np.bincount(codes, weights=a, minlength=k) for name, a in
                (("wt", wt), ("sq", sq), ("std", std), ("x", x0), ("n", n))}
    else:
        sh = np.atleast_2d
        sums = {"wt": sh(wt).sum(-1), "sq": sh(sq).sum(-1), "std": sh(std).sum(-1) * np.ones(sh(x).shape[0]),
                "x": sh(x0).sum(-1), "n": sh(n).sum(-1)}
    vardsr = sums["sq"] / sums["std"] ** 2
    res = _dobson(sums["wt"] / sums["std"], vardsr, sums["x"], levels, multiplier, min_count)
    extra = {"total_count": sums["x"], "total_pop": sums["n"]}
    if group_labels is not None:
        extra = {"group": np.asarray(group_labels, dtype=object), **extra}
    return CIResult.build(res[0], res[1], "Dobson", levels, f"dsr per {multiplier:g}", scalar, extra=extra)


def _check_dsr_inputs(x, n, std) -> None:
    if np.any(np.asarray(x) < 0):
        raise ValueError("numerators must all be greater than or equal to zero")
    if np.any(~(np.asarray(n) > 0)):
        raise ValueError("denominators must all be greater than zero (and not missing)")
    if np.any(~(np.asarray(std) >= 0)):
        raise ValueError("standard populations must be >= 0 and not missing")


def _dobson(base, vardsr, total, levels, multiplier, min_count):
    value = base * multiplier
    limits = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(vardsr / total)
        for c in levels:
            lo = value + sd * (byars_lower(total, c) - total) * multiplier
            hi = value + sd * (byars_upper(total, c) - total) * multiplier
            small = total < min_count
            limits[c] = (np.where(small, np.nan, lo), np.where(small, np.nan, hi))
    value = np.where(total < min_count, np.nan, value)
    return value, limits


def _dsr_nonindependent(x, n, standard, levels, multiplier, eventfreq, ageband, groups, min_count):
    if eventfreq is None or ageband is None:
        raise ValueError("independent_events=False needs eventfreq= and ageband= (one value per row of x)")
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError("independent_events=False needs long 1-D data: one row per (ageband, eventfreq)")
    m = x.shape[0]
    df = pd.DataFrame({
        "x": x,
        "n": np.broadcast_to(np.asarray(n, dtype=float), (m,)),
        "std": np.broadcast_to(np.asarray(standard, dtype=float), (m,)),
        "f": np.asarray(eventfreq, dtype=float),
        "age": np.asarray(ageband),
        "g": np.zeros(m, dtype=int) if groups is None else np.asarray(groups),
    })
    if df["f"].isna().any():
        raise ValueError("eventfreq must not have missing values")
    if pd.isna(df["age"]).any():
        raise ValueError("ageband must not have missing values")
    _check_dsr_inputs(df["x"], df["n"], df["std"])
    chk = df.groupby(["g", "age"], sort=True).agg(nn=("n", "nunique"), ns=("std", "nunique"))
    if ((chk["nn"] > 1) | (chk["ns"] > 1)).any():
        raise ValueError("rows with the same group and ageband have different populations (n) or "
                         "standard populations")
    x0 = df["x"].fillna(0.0)
    df["sq"] = x0 * (df["std"] / df["n"]) ** 2
    df["ev"] = x0 * df["f"]
    # pass 1: Dobson variance per (group, eventfreq) from person counts, each divided by the
    # group's total standard population W (sum over its distinct agebands), times f^2
    w_tot = df.drop_duplicates(["g", "age"]).groupby("g", sort=True)["std"].sum()
    per_f = df.groupby(["g", "f"], sort=True)["sq"].sum().reset_index()
    per_f["fv"] = per_f["sq"] / per_f["g"].map(w_tot) ** 2 * per_f["f"] ** 2
    custom_var = per_f.groupby("g", sort=True)["fv"].sum()
    # pass 2: events per (group, ageband)
    ev = df.groupby(["g", "age"], sort=True).agg(x=("ev", "sum"), n=("n", "first"), std=("std", "first"))
    ev["wt"] = ev["x"] * ev["std"] / ev["n"]
    tot = ev.groupby(level="g", sort=True).agg(wt=("wt", "sum"), std=("std", "sum"), x=("x", "sum"), n=("n", "sum"))
    value, limits = _dobson((tot["wt"] / tot["std"]).to_numpy(), custom_var.reindex(tot.index).to_numpy(),
                            tot["x"].to_numpy(), levels, multiplier, min_count)
    scalar = groups is None
    extra = {"total_count": tot["x"].to_numpy(), "total_pop": tot["n"].to_numpy()}
    if not scalar:
        extra = {"group": tot.index.to_numpy(dtype=object), **extra}
    return CIResult.build(value, limits, "Dobson, with confidence adjusted for non-independent events",
                          levels, f"dsr per {multiplier:g}", scalar, extra=extra)


# ----------------------------------------------------------------------------- means
def mean_ci(values, confidence: float | Sequence[float] = 0.95, groups=None) -> CIResult:
    """Mean with Student's t confidence limits.

    Reference: PHE *Technical Guide: Confidence Intervals* (means); PHEindicatormethods
    ``phe_mean``: mean +/- |t_{(1-c)/2, n-1}| * sd / sqrt(n), sd with n - 1 denominator.
    Worked example from the package documentation: values 30, 40, 50, 60 give mean 45.

    ``values``: 1-D array-like (one mean, scalar result) or, with ``groups`` (one label per
    value), one mean per group (sorted labels in ``extra['group']``); a 2-D array gives one
    mean per row. Missing values are dropped (the count ``n`` is of non-missing values); a
    group with fewer than 2 values has NaN limits.
    """
    levels = normalise_confidence(confidence)
    v = np.asarray(values, dtype=float)
    if groups is not None:
        if v.ndim != 1:
            raise ValueError("groups= needs 1-D values")
        codes, labels = pd.factorize(pd.Index(np.asarray(groups)), sort=True)
        if len(codes) != len(v):
            raise ValueError("groups must have one label per value")
        ok = ~np.isnan(v) & (codes >= 0)
        k = len(labels)
        cnt = np.bincount(codes[ok], minlength=k).astype(float)
        s = np.bincount(codes[ok], weights=v[ok], minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s / cnt
            dev = np.bincount(codes[ok], weights=(v[ok] - mean[codes[ok]]) ** 2, minlength=k)
        scalar = False
        extra_g = {"group": np.asarray(labels, dtype=object)}
    else:
        if v.ndim == 0:
            v = v.reshape(1)
        scalar = v.ndim == 1
        v2 = np.atleast_2d(v)
        ok = ~np.isnan(v2)
        cnt = ok.sum(-1).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(ok, v2, 0).sum(-1) / cnt
            dev = np.where(ok, (v2 - mean[:, None]) ** 2, 0).sum(-1)
        extra_g = {}
    if np.all(cnt == 0):
        raise ValueError("mean_ci: no non-missing values")
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(dev / (cnt - 1))
        se = sd / np.sqrt(cnt)
        limits = {}
        for c in levels:
            t = np.abs(_st.t.ppf((1 - c) / 2, cnt - 1))
            limits[c] = (mean - t * se, mean + t * se)
    return CIResult.build(mean, limits, "Student's t-distribution", levels, "mean", scalar,
                          extra={**extra_g, "n": cnt, "sd": sd})
