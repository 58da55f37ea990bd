"""Comparisons between groups or time points, as tidy DataFrames.

Every function returns a DataFrame with (at least) the columns ``estimate``, ``lower``,
``upper``, ``p_value``, ``method`` and sample sizes, one row per comparison (vectorised
over array inputs for the count-based functions). The second group is the reference.

References:

* Risk ratio and rate ratio, log method: Altman DG, Machin D, Bryant TN, Gardner MJ (eds)
  (2000) *Statistics with Confidence*, 2nd edn, BMJ Books, ch. 7; Rothman KJ, Greenland S,
  Lash TL (2008) *Modern Epidemiology*, 3rd edn, ch. 14.
* Difference of two independent proportions: Newcombe RG (1998) "Interval estimation for
  the difference between independent proportions: comparison of eleven methods", Stat Med
  17:873-890, method 10 (hybrid score, built on Wilson limits; the PHE-consistent choice).
* Hedges' g: Hedges LV, Olkin I (1985) *Statistical Methods for Meta-Analysis*; Lakens D
  (2013) "Calculating and reporting effect sizes...", Front Psychol 4:863 (g_s, g_av);
  Borenstein M et al. (2009) *Introduction to Meta-Analysis*, ch. 4 (variances).
* Paired t test and Wilcoxon signed-rank test (scipy.stats); matched-pairs rank-biserial
  correlation: Kerby DS (2014) Compr Psychol 3:11.IT.3.1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as _st

from ._basic import wilson_lower, wilson_upper
from ._result import single_confidence, z_value

__all__ = ["risk_ratio", "rate_ratio", "proportion_difference", "hedges_g", "hedges_g_paired",
           "paired_t", "wilcoxon_signed_rank"]


def _conf(confidence: float) -> float:
    return single_confidence(confidence, "comparisons")


def _arr(*a):
    arrs = [np.atleast_1d(np.asarray(v, dtype=float)) for v in a]
    return np.broadcast_arrays(*arrs)


def _log_ratio(est, se, conf, method, cols):
    z = z_value(conf)
    with np.errstate(divide="ignore", invalid="ignore"):
        log = np.log(est)
        ok = np.isfinite(log) & np.isfinite(se) & (est > 0)
        lower = np.where(ok, np.exp(log - z * se), np.nan)
        upper = np.where(ok, np.exp(log + z * se), np.nan)
        p = np.where(ok, 2 * _st.norm.sf(np.abs(log / se)), np.nan)
    return pd.DataFrame({"estimate": est, "lower": lower, "upper": upper, "p_value": p,
                         "se_log": se, "confidence": conf, "method": method, **cols})


def risk_ratio(x1, n1, x2, n2, confidence: float = 0.95) -> pd.DataFrame:
    """Risk ratio (x1/n1) / (x2/n2), group 2 the reference, with a log-method CI.

    SE(log RR) = sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2) (Altman et al. 2000, ch. 7); Wald p-value
    on the log scale. With a zero count the limits and p-value are NaN (no continuity
    correction is applied silently).
    """
    conf = _conf(confidence)
    x1, n1, x2, n2 = _arr(x1, n1, x2, n2)
    if np.any((x1 < 0) | (x2 < 0) | (x1 > n1) | (x2 > n2) | (n1 <= 0) | (n2 <= 0)):
        raise ValueError("risk_ratio: need 0 <= x <= n and n > 0 in both groups")
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (x1 / n1) / (x2 / n2)
        se = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return _log_ratio(est, se, conf, "risk ratio, log method (reference: group 2)",
                      {"x1": x1, "n1": n1, "x2": x2, "n2": n2})


def rate_ratio(x1, t1, x2, t2, confidence: float = 0.95) -> pd.DataFrame:
    """Rate ratio (x1/t1) / (x2/t2), group 2 the reference, with a log-method CI.

    SE(log RR) = sqrt(1/x1 + 1/x2) for Poisson counts x over person-time or population t
    (Rothman et al. 2008, ch. 14); Wald p-value on the log scale; NaN limits with a zero count.
    """
    conf = _conf(confidence)
    x1, t1, x2, t2 = _arr(x1, t1, x2, t2)
    if np.any((x1 < 0) | (x2 < 0) | (t1 <= 0) | (t2 <= 0)):
        raise ValueError("rate_ratio: need counts >= 0 and denominators > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (x1 / t1) / (x2 / t2)
        se = np.sqrt(1 / x1 + 1 / x2)
    return _log_ratio(est, se, conf, "rate ratio, log method (reference: group 2)",
                      {"x1": x1, "t1": t1, "x2": x2, "t2": t2})


def proportion_difference(x1, n1, x2, n2, confidence: float = 0.95) -> pd.DataFrame:
    """Difference p1 - p2 with Newcombe's hybrid score interval (Newcombe 1998, method 10).

    L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2) with
    (l_i, u_i) the Wilson limits of each proportion. Worked example (Newcombe 1998, Table II
    (a)): 56/70 - 48/80 = 0.2, 95% CI 0.0524 to 0.3339. The p-value is from the two-sample
    z test with pooled proportion (equivalent to Pearson's chi-squared test without
    continuity correction); NaN when both proportions are 0 or 1.
    """
    conf = _conf(confidence)
    x1, n1, x2, n2 = _arr(x1, n1, x2, n2)
    if np.any((x1 < 0) | (x2 < 0) | (x1 > n1) | (x2 > n2) | (n1 <= 0) | (n2 <= 0)):
        raise ValueError("proportion_difference: need 0 <= x <= n and n > 0 in both groups")
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_lower(x1, n1, conf), wilson_upper(x1, n1, conf)
    l2, u2 = wilson_lower(x2, n2, conf), wilson_upper(x2, n2, conf)
    d = p1 - p2
    lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    pp = (x1 + x2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = d / np.sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2))
        p = np.where(np.isfinite(z), 2 * _st.norm.sf(np.abs(z)), np.nan)
    return pd.DataFrame({"estimate": d, "lower": lower, "upper": upper, "p_value": p,
                         "confidence": conf,
                         "method": "difference of proportions, Newcombe hybrid score (reference: group 2)",
                         "p1": p1, "p2": p2, "x1": x1, "n1": n1, "x2": x2, "n2": n2})


def _clean(v, name):
    v = np.asarray(v, dtype=float).ravel()
    v = v[~np.isnan(v)]
    if v.size < 2:
        raise ValueError(f"{name}: need at least 2 non-missing values")
    return v


def hedges_g(a, b, confidence: float = 0.95) -> pd.DataFrame:
    """Hedges' g for two independent groups (a minus b; b the reference).

    d_s = (mean_a - mean_b) / pooled SD; g = d_s * J, J = 1 - 3 / (4 (n_a + n_b) - 9)
    (Hedges & Olkin 1985; Lakens 2013, eq. 1 and 4). SE(g) = sqrt((n_a + n_b)/(n_a n_b) +
    g^2 / (2 (n_a + n_b))) with a normal-approximation CI (Borenstein et al. 2009, eq. 4.20).
    p-value: Student's two-sample t test (equal variances), matching the pooled SD.
    Worked example (Lakens 2013, Table 1 movie ratings): d_s = 1.13, g_s = 1.08, t(18) = 2.52.
    """
    conf = _conf(confidence)
    a, b = _clean(a, "hedges_g"), _clean(b, "hedges_g")
    na, nb = a.size, b.size
    sp = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if sp == 0:
        raise ValueError("hedges_g: both groups have zero variance")
    d = (a.mean() - b.mean()) / sp
    j = 1 - 3 / (4 * (na + nb) - 9)
    g = d * j
    se = np.sqrt((na + nb) / (na * nb) + g**2 / (2 * (na + nb)))
    z = z_value(conf)
    t = _st.ttest_ind(a, b, equal_var=True)
    return pd.DataFrame([{"estimate": g, "lower": g - z * se, "upper": g + z * se,
                          "p_value": float(t.pvalue), "statistic": float(t.statistic),
                          "df": na + nb - 2, "d": d, "mean_difference": a.mean() - b.mean(),
                          "confidence": conf, "method": "Hedges' g (pooled SD), Student's t test",
                          "n1": na, "n2": nb}])


def _pairs(before, after, name):
    b = np.asarray(before, dtype=float).ravel()
    a = np.asarray(after, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"{name}: before and after must have the same length")
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 2:
        raise ValueError(f"{name}: need at least 2 complete pairs")
    return b[ok], a[ok]


def _g_av(b, a, conf):
    n = b.size
    diff = a - b
    sd_av = (b.std(ddof=1) + a.std(ddof=1)) / 2
    if sd_av == 0:
        return np.nan, np.nan, np.nan
    d_av = diff.mean() / sd_av
    g = d_av * (1 - 3 / (4 * (n - 1) - 1))
    r = np.corrcoef(b, a)[0, 1] if b.std() > 0 and a.std() > 0 else 0.0
    se = np.sqrt((1 / n + g**2 / (2 * n)) * 2 * (1 - r))
    z = z_value(conf)
    return g, g - z * se, g + z * se


def hedges_g_paired(before, after, confidence: float = 0.95) -> pd.DataFrame:
    """Hedges' g_av for paired (before/after) data: mean change / average SD, bias-corrected.

    g_av = mean(after - before) / ((SD_before + SD_after) / 2) * (1 - 3 / (4 (n - 1) - 1))
    (Lakens 2013, eq. 10 with Hedges' correction). The CI is a normal approximation with
    Var = (1/n + g^2 / (2n)) * 2 (1 - r), r the before-after correlation (Borenstein et al.
    2009, eq. 4.28), an approximation for g_av. p-value from the paired t test.
    Incomplete pairs are dropped.
    """
    conf = _conf(confidence)
    b, a = _pairs(before, after, "hedges_g_paired")
    g, lo, hi = _g_av(b, a, conf)
    t = _st.ttest_rel(a, b)
    return pd.DataFrame([{"estimate": g, "lower": lo, "upper": hi, "p_value": float(t.pvalue),
                          "confidence": conf, "method": "Hedges' g_av (paired), paired t test",
                          "n": b.size}])


def paired_t(before, after, confidence: float = 0.95) -> pd.DataFrame:
    """Paired t test of after - before: mean change with Student's t CI, p-value, and g_av.

    Reference: scipy.stats.ttest_rel; effect size as :func:`hedges_g_paired` (Lakens 2013).
    Incomplete pairs are dropped; ``n`` is the number of complete pairs.
    """
    conf = _conf(confidence)
    b, a = _pairs(before, after, "paired_t")
    diff = a - b
    n = diff.size
    se = diff.std(ddof=1) / np.sqrt(n)
    tcrit = _st.t.ppf(1 - (1 - conf) / 2, n - 1)
    t = _st.ttest_rel(a, b)
    g, glo, ghi = _g_av(b, a, conf)
    return pd.DataFrame([{"estimate": diff.mean(), "lower": diff.mean() - tcrit * se,
                          "upper": diff.mean() + tcrit * se, "p_value": float(t.pvalue),
                          "statistic": float(t.statistic), "df": n - 1,
                          "effect_size": g, "effect_size_lower": glo, "effect_size_upper": ghi,
                          "effect_size_name": "Hedges' g_av", "confidence": conf,
                          "method": "paired t test (after - before)", "n": n}])


#: Up to this many pairs, a Wilcoxon test with tied or zero differences takes its p value from the
#: exact permutation distribution (scipy.stats.wilcoxon's ``method="auto"`` rule: 2**13 sign
#: patterns are fewer than its 9999 resamples, so the permutation test is exact).
_PERMUTATION_MAX_N = 13


def _signed_rank_permutation(nz: np.ndarray, ranks: np.ndarray) -> tuple[float, float]:
    """Exact two-sided p value and statistic of the signed-rank test by sign flipping.

    What ``scipy.stats.wilcoxon(method="auto")`` computes for n <= 13 with ties or zeros
    (``scipy.stats.permutation_test``, ``permutation_type="samples"``, statistic R+ = the sum
    of the ranks of the positive differences; p = 2 min(P(R+ <= r), P(R+ >= r)), at most 1,
    with its relative tolerance of 100 machine epsilons), computed in one matrix product: the
    ranks of |d| do not change when signs flip, so the null distribution of R+ over the 2**n
    sign patterns is ``patterns @ ranks``. Zero differences (dropped, "wilcox") flip to
    themselves and only repeat every pattern, so the non-zero ones are enumerated. The
    statistic returned is scipy's: min(R+, R-).
    """
    m = nz.size
    patterns = (np.arange(2 ** m)[:, None] >> np.arange(m)[None, :]) & 1
    null = patterns @ ranks
    r_plus = float(ranks[nz > 0].sum())
    gamma = abs(np.finfo(np.float64).eps * 100 * r_plus)
    p = 2 * min(np.mean(null <= r_plus + gamma), np.mean(null >= r_plus - gamma))
    return float(min(p, 1.0)), float(min(r_plus, ranks.sum() - r_plus))


def wilcoxon_signed_rank(before, after) -> pd.DataFrame:
    """Wilcoxon signed-rank test of after - before, with the matched-pairs rank-biserial r.

    Reference: scipy.stats.wilcoxon (zero differences dropped, "wilcox" method; with ties or
    zeros among at most 13 pairs the exact permutation p value, computed here in one matrix
    product rather than scipy's loop, see :func:`_signed_rank_permutation`); effect
    size r = (R+ - R-) / (R+ + R-) over non-zero differences (Kerby 2014). ``estimate`` is
    the median change; no CI is given (``lower``/``upper`` NaN). Incomplete pairs dropped.
    """
    b, a = _pairs(before, after, "wilcoxon_signed_rank")
    diff = a - b
    nz = diff[diff != 0]
    if nz.size == 0:
        p, stat, r = 1.0, 0.0, 0.0
    else:
        ranks = _st.rankdata(np.abs(nz))
        if diff.size <= _PERMUTATION_MAX_N and (nz.size < diff.size or np.unique(ranks).size < nz.size):
            p, stat = _signed_rank_permutation(nz, ranks)
        else:
            res = _st.wilcoxon(a, b, zero_method="wilcox")
            p, stat = float(res.pvalue), float(res.statistic)
        rp, rm = ranks[nz > 0].sum(), ranks[nz < 0].sum()
        r = (rp - rm) / (rp + rm)
    return pd.DataFrame([{"estimate": float(np.median(diff)), "lower": np.nan, "upper": np.nan,
                          "p_value": p, "statistic": stat, "effect_size": r,
                          "effect_size_name": "matched-pairs rank-biserial r",
                          "method": "Wilcoxon signed-rank test (after - before)",
                          "n": diff.size, "n_nonzero": int(nz.size)}])
