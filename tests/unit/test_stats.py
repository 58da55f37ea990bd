"""Tests of rrlib.stats against published worked values and the PHE methods' properties.

Sources of reference values are named at each test:
* PHE, APHO Technical Briefing 3 (2008) / Newcombe & Altman in *Statistics with
  Confidence* (2000): Wilson 65/100.
* Newcombe RG (1998a) Stat Med 17:857-872 (single proportion, score method) and
  Newcombe RG (1998b) Stat Med 17:873-890 (difference of proportions, method 10).
* Exact Poisson limits (Garwood 1936), as tabulated e.g. in Sahai & Khurshid (1993).
* PHE *Technical Guide: Confidence Intervals* (2018), Appendix 1: Byar's method is within
  0.2% of the exact limits for counts of 10 or more at 95%.
* Lakens D (2013) Front Psychol 4:863, Table 1 example (Hedges' g).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from rrlib.stats import (
    ESP2013,
    byars_lower,
    byars_upper,
    dsr,
    exact_poisson_lower,
    exact_poisson_upper,
    mean_ci,
    proportion_ci,
    rate_ci,
)

FAST = settings(max_examples=40, deadline=None)


# ------------------------------------------------------------------ proportions (Wilson)
def test_wilson_65_of_100_phe_worked_example():
    # PHE APHO Technical Briefing 3, p. 6; Newcombe & Altman (2000) p. 47: 0.55254 to 0.73636
    r = proportion_ci(65, 100)
    assert r.value == pytest.approx(0.65, abs=1e-12)
    assert r.lower == pytest.approx(0.55254, abs=5e-6)
    assert r.upper == pytest.approx(0.73636, abs=5e-6)
    assert r.method == "Wilson"
    assert isinstance(r.lower, float)


def test_wilson_81_of_263_newcombe_1998():
    # Newcombe (1998a) Table II, score method without continuity correction: 0.2553 to 0.3662
    r = proportion_ci(81, 263)
    assert (r.lower, r.upper) == pytest.approx((0.2553, 0.3662), abs=5e-5)


def test_wilson_percentage_multiplier_and_both_levels():
    r = proportion_ci(65, 100, confidence=(0.95, 0.998), multiplier=100)
    assert r.value == pytest.approx(65.0)
    assert r.lower == pytest.approx(55.254, abs=5e-4)
    lo998, hi998 = r.at(0.998)
    assert lo998 < r.lower and hi998 > r.upper
    f = r.to_frame()
    assert list(f["confidence"]) == [0.95, 0.998]
    assert {"estimate", "lower", "upper", "method"} <= set(f.columns)


def test_wilson_zero_and_all():
    lo, hi = proportion_ci([0, 10], [10, 10]).lower, proportion_ci([0, 10], [10, 10]).upper
    assert lo[0] == pytest.approx(0.0, abs=1e-15) and hi[1] == pytest.approx(1.0, abs=1e-15)


def test_proportion_vectorised_equals_scalar():
    x = np.array([0, 3, 65, 1045])
    n = np.array([10, 7, 100, 5000])
    r = proportion_ci(x, n)
    assert isinstance(r.lower, np.ndarray) and r.lower.shape == (4,)
    for i in range(4):
        s = proportion_ci(int(x[i]), int(n[i]))
        assert r.lower[i] == pytest.approx(s.lower, abs=1e-12)
        assert r.upper[i] == pytest.approx(s.upper, abs=1e-12)


def test_proportion_keeps_series_index():
    x = pd.Series([1, 2], index=["a", "b"])
    n = pd.Series([10, 10], index=["a", "b"])
    assert list(proportion_ci(x, n).to_frame().index) == ["a", "b"]


@pytest.mark.parametrize("x,n,msg", [(-1, 10, "greater than or equal to zero"),
                                     (1, 0, "greater than zero"),
                                     (11, 10, "less than or equal")])
def test_proportion_bad_input(x, n, msg):
    with pytest.raises(ValueError, match=msg):
        proportion_ci(x, n)


@pytest.mark.parametrize("conf", [0.5, 1.5, 89, 101, (0.9, 0.95), (0.95, 0.998, 0.99)])
def test_bad_confidence(conf):
    with pytest.raises(ValueError, match="confidence"):
        proportion_ci(1, 10, confidence=conf)


def test_confidence_as_percentage():
    assert proportion_ci(65, 100, confidence=95).lower == pytest.approx(proportion_ci(65, 100).lower)


@FAST
@given(n=st.integers(1, 5000), data=st.data())
def test_wilson_contains_estimate_and_is_monotone(n, data):
    x = data.draw(st.integers(0, n))
    r = proportion_ci(x, n, confidence=(0.95, 0.998))
    assert r.lower - 1e-12 <= r.value <= r.upper + 1e-12
    lo998, hi998 = r.at(0.998)
    assert lo998 <= r.lower + 1e-12 and hi998 >= r.upper - 1e-12
    if x < n:
        r2 = proportion_ci(x + 1, n)
        assert r2.lower > r.lower and r2.upper > r.upper


# ------------------------------------------------------------------ rates
def test_exact_poisson_limits_garwood_table():
    # Garwood (1936) exact 95% limits for a Poisson count: 0 -> (0, 3.689); 5 -> (1.6235, 11.6683)
    assert exact_poisson_upper(0) == pytest.approx(3.6889, abs=1e-4)
    assert exact_poisson_lower(0) == 0.0
    assert exact_poisson_lower(5) == pytest.approx(1.6235, abs=1e-4)
    assert exact_poisson_upper(5) == pytest.approx(11.6683, abs=1e-4)


def test_rate_switches_from_exact_to_byars_at_10():
    r = rate_ci([9, 10], [1000, 1000], multiplier=1000)
    assert list(r.method) == ["Exact", "Byars"]
    assert r.lower[0] == pytest.approx(exact_poisson_lower(9), rel=1e-12)
    assert r.lower[1] == pytest.approx(byars_lower(10), rel=1e-12)
    assert r.upper[1] == pytest.approx(byars_upper(10), rel=1e-12)


def test_byars_formula_against_breslow_day():
    # Breslow & Day (1987) / PHE guide Appendix 1, evaluated by hand for O = 100, z = 1.959964
    z = 1.959963984540054
    lo = 100 * (1 - 1 / 900 - z / 30) ** 3
    hi = 101 * (1 - 1 / 909 + z / (3 * math.sqrt(101))) ** 3
    assert byars_lower(100) == pytest.approx(lo, abs=1e-9)
    assert byars_upper(100) == pytest.approx(hi, abs=1e-9)


@pytest.mark.parametrize("x", [10, 11, 20, 50, 100, 389, 1000])
def test_byars_within_0_2_percent_of_exact(x):
    # PHE Technical Guide: Confidence Intervals, Appendix 1
    assert byars_lower(x) == pytest.approx(exact_poisson_lower(x), rel=2e-3)
    assert byars_upper(x) == pytest.approx(exact_poisson_upper(x), rel=2e-3)


def test_rate_scalar_and_frame():
    r = rate_ci(5, 1000)
    assert r.value == pytest.approx(500.0)
    assert r.lower == pytest.approx(162.35, abs=0.01) and r.upper == pytest.approx(1166.83, abs=0.01)
    assert r.method == "Exact"
    f = rate_ci([5, 50], [1000, 1000], confidence=(0.95, 0.998)).to_frame()
    assert len(f) == 4 and set(f["method"]) == {"Exact", "Byars"}


def test_rate_bad_input():
    with pytest.raises(ValueError, match="numerators"):
        rate_ci(-1, 10)
    with pytest.raises(ValueError, match="denominators"):
        rate_ci(1, 0)


@FAST
@given(x=st.integers(0, 3000), n=st.integers(1, 10**6))
def test_rate_contains_estimate_and_upper_monotone(x, n):
    r = rate_ci(x, n, confidence=(0.95, 0.998))
    assert r.lower <= r.value <= r.upper
    r2 = rate_ci(x + 1, n)
    assert r2.upper > r.upper
    assert r.at(0.998)[1] >= r.upper


# ------------------------------------------------------------------ DSR (Dobson)
def _dobson_loop(x, n, w, conf=0.95, mult=100_000):
    """Direct transcription of PHE Technical Guide Appendix 4, band by band."""
    W = sum(w)
    value = sum(xi * wi / ni for xi, ni, wi in zip(x, n, w)) / W
    var = sum(xi * (wi / ni) ** 2 for xi, ni, wi in zip(x, n, w)) / W**2
    O = sum(x)
    z = sst.norm.ppf(1 - (1 - conf) / 2)
    ol = O * (1 - 1 / (9 * O) - z / (3 * math.sqrt(O))) ** 3
    ou = (O + 1) * (1 - 1 / (9 * (O + 1)) + z / (3 * math.sqrt(O + 1))) ** 3
    sd = math.sqrt(var / O)
    return value * mult, (value + sd * (ol - O)) * mult, (value + sd * (ou - O)) * mult


def test_dsr_matches_dobson_formula_band_by_band():
    x = [1, 3, 7, 12, 20, 4, 0, 9, 15, 30, 41, 2, 8, 11, 19, 25, 6, 3, 1]
    n = [5200, 5100, 4800, 4700, 5000, 5600, 6100, 6000, 5900, 5800, 5300, 5000, 4800,
         4500, 4000, 3200, 2100, 1200, 700]
    v, lo, hi = _dobson_loop(x, n, ESP2013)
    r = dsr(x, n)  # default standard = ESP 2013
    assert (r.value, r.lower, r.upper) == pytest.approx((v, lo, hi), abs=1e-9)
    assert r.method == "Dobson" and r.extra["total_count"] == sum(x)


def test_dsr_self_harm_bands_10_24():
    # 10-24 indicator: ESP 2013 bands 10-14, 15-19, 20-24 (5500, 5500, 6000)
    x, n, w = [12, 60, 45], [9000, 8500, 8800], [5500, 5500, 6000]
    v, lo, hi = _dobson_loop(x, n, w)
    r = dsr(x, n, w)
    assert (r.value, r.lower, r.upper) == pytest.approx((v, lo, hi), abs=1e-9)


def test_dsr_reduces_to_crude_rate_when_standard_matches_population():
    # With standard proportional to the local population, DSR = crude rate and Dobson's
    # limits reduce to Byar's limits for the crude rate (PHE guide, Appendix 4).
    n = np.array([1000.0, 3000.0, 6000.0])
    x = np.array([5, 20, 40])
    r = dsr(x, n, n * 7.5)
    c = rate_ci(x.sum(), n.sum())
    assert (r.value, r.lower, r.upper) == pytest.approx((c.value, c.lower, c.upper), rel=1e-12)


def test_dsr_nan_below_10_and_vectorised_groups():
    w = [5500, 5500, 6000]
    r = dsr(np.array([[3, 3, 3], [10, 20, 30]]), np.array([[1000] * 3, [1000] * 3]), w)
    assert np.isnan(r.value[0]) and np.isnan(r.lower[0]) and np.isnan(r.upper[0])
    assert np.isfinite(r.value[1])
    one = dsr([10, 20, 30], [1000] * 3, w)
    assert r.upper[1] == pytest.approx(one.upper, abs=1e-9)
    long = dsr([3, 3, 3, 10, 20, 30], [1000] * 6, w * 2, groups=["a"] * 3 + ["b"] * 3)
    assert list(long.extra["group"]) == ["a", "b"]
    assert long.upper[1] == pytest.approx(one.upper, abs=1e-9)
    both = dsr([10, 20, 30], [1000] * 3, w, confidence=(0.95, 0.998))
    assert both.at(0.998)[0] < both.lower


def test_dsr_missing_counts_are_zero_and_errors():
    w = [5500, 5500, 6000]
    assert dsr([np.nan, 20, 30], [1000] * 3, w).value == pytest.approx(dsr([0, 20, 30], [1000] * 3, w).value)
    with pytest.raises(ValueError, match="numerators"):
        dsr([-1, 20, 30], [1000] * 3, w)
    with pytest.raises(ValueError, match="denominators"):
        dsr([1, 20, 30], [0, 1000, 1000], w)
    with pytest.raises(ValueError, match="standard population length"):
        dsr([1, 20, 30], [1000] * 3, [1, 2])


def test_dsr_non_independent_events():
    # PHEindicatormethods calculate_dsr(independent_events = FALSE): x = people per
    # (ageband, event frequency); variance = sum_f f^2 var_f; value uses events.
    age = ["10-14"] * 2 + ["15-19"] * 2 + ["20-24"] * 2
    f = [1, 2] * 3
    people = [8, 2, 30, 5, 20, 4]
    n = [9000, 9000, 8500, 8500, 8800, 8800]
    w = [5500, 5500, 5500, 5500, 6000, 6000]
    r = dsr(people, n, w, independent_events=False, eventfreq=f, ageband=age)
    events = [8 + 4, 30 + 10, 20 + 8]
    ind = dsr(events, [9000, 8500, 8800], [5500, 5500, 6000])
    assert r.value == pytest.approx(ind.value, abs=1e-9)
    assert r.extra["total_count"] == sum(events)
    # by hand: var_f from the people with frequency f, denominator sum of their bands' weights
    W = 17000.0
    var1 = (8 * (5500 / 9000) ** 2 + 30 * (5500 / 8500) ** 2 + 20 * (6000 / 8800) ** 2) / W**2
    var2 = (2 * (5500 / 9000) ** 2 + 5 * (5500 / 8500) ** 2 + 4 * (6000 / 8800) ** 2) / W**2
    var = var1 + 4 * var2
    O = sum(events)
    sd = math.sqrt(var / O)
    assert r.lower == pytest.approx(ind.value + sd * (byars_lower(O) - O) * 1e5, abs=1e-9)
    assert r.upper == pytest.approx(ind.value + sd * (byars_upper(O) - O) * 1e5, abs=1e-9)
    assert r.upper - r.lower > ind.upper - ind.lower  # repeat events widen the interval
    assert "non-independent" in r.method


def test_dsr_non_independent_does_not_depend_on_zero_rows():
    full = dsr([8, 0, 30, 5, 20, 0], [9000, 9000, 8500, 8500, 8800, 8800], [5500] * 4 + [6000] * 2,
               independent_events=False, eventfreq=[1, 2] * 3, ageband=["a", "a", "b", "b", "c", "c"])
    sparse = dsr([8, 30, 5, 20], [9000, 8500, 8500, 8800], [5500, 5500, 5500, 6000],
                 independent_events=False, eventfreq=[1, 1, 2, 1], ageband=["a", "b", "b", "c"])
    assert (sparse.value, sparse.lower, sparse.upper) == pytest.approx((full.value, full.lower, full.upper), abs=1e-9)


def test_dsr_non_independent_with_single_events_equals_independent():
    r = dsr([10, 20, 30], [1000] * 3, [5500, 5500, 6000], independent_events=False,
            eventfreq=[1, 1, 1], ageband=["a", "b", "c"])
    i = dsr([10, 20, 30], [1000] * 3, [5500, 5500, 6000])
    assert (r.value, r.lower, r.upper) == pytest.approx((i.value, i.lower, i.upper), abs=1e-9)


def test_dsr_non_independent_errors():
    with pytest.raises(ValueError, match="eventfreq"):
        dsr([1, 2], [10, 10], [1, 1], independent_events=False)
    with pytest.raises(ValueError, match="different populations"):
        dsr([1, 2], [10, 20], [1, 1], independent_events=False, eventfreq=[1, 2], ageband=["a", "a"])


@FAST
@given(st.lists(st.integers(0, 400), min_size=3, max_size=3), st.integers(1, 50))
def test_dsr_contains_value_and_is_monotone(x, extra):
    n, w = [20000, 21000, 19000], [5500, 5500, 6000]
    r = dsr(x, n, w)
    if sum(x) < 10:
        assert math.isnan(r.value)
        return
    assert r.lower <= r.value <= r.upper
    x2 = [x[0] + extra, x[1], x[2]]
    assert dsr(x2, n, w).value > r.value


# ------------------------------------------------------------------ means
def test_mean_phe_documentation_example():
    # PHEindicatormethods phe_mean example: values 30, 40, 50, 60 -> mean 45; sd 12.9099,
    # t(0.975, 3) = 3.182446 (Student's t table) -> 45 +/- 20.5426
    r = mean_ci([30, 40, 50, 60])
    assert r.value == 45
    assert r.lower == pytest.approx(45 - 3.182446 * 12.909944 / 2, abs=1e-5)
    assert r.upper == pytest.approx(45 + 3.182446 * 12.909944 / 2, abs=1e-5)
    assert r.method == "Student's t-distribution"


def test_mean_matches_scipy_and_groups():
    rng = np.random.default_rng(1)
    v = rng.normal(50, 10, 40)
    lo, hi = sst.t.interval(0.998, 39, loc=v.mean(), scale=sst.sem(v))
    r = mean_ci(v, confidence=(0.95, 0.998))
    assert r.at(0.998) == pytest.approx((lo, hi), abs=1e-9)
    g = mean_ci(np.r_[v, [1, 2, 3]], groups=["x"] * 40 + ["y"] * 3)
    assert list(g.extra["group"]) == ["x", "y"]
    assert g.lower[0] == pytest.approx(r.lower, abs=1e-9)
    assert g.value[1] == 2 and list(g.extra["n"]) == [40, 3]


def test_mean_drops_missing_and_rejects_empty():
    assert mean_ci([1, 2, np.nan, 3]).value == 2
    with pytest.raises(ValueError, match="no non-missing"):
        mean_ci([np.nan, np.nan])


@FAST
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=50))
def test_mean_interval_contains_mean(v):
    r = mean_ci(v)
    assert r.lower <= r.value + 1e-9 and r.value <= r.upper + 1e-9


# ------------------------------------------------------------------ comparisons
from rrlib.stats import (  # noqa: E402
    fit_cox,
    fit_glm,
    fit_mixed,
    hedges_g,
    hedges_g_paired,
    paired_t,
    proportion_difference,
    rate_ratio,
    risk_ratio,
    wilcoxon_signed_rank,
)


def test_newcombe_difference_published_examples():
    # Newcombe (1998b) Table II, method 10: (a) 56/70 - 48/80 -> 0.0524 to 0.3339;
    # (b) 9/10 - 3/10 -> 0.1705 to 0.8090
    r = proportion_difference([56, 9], [70, 10], [48, 3], [80, 10])
    assert r["estimate"].tolist() == pytest.approx([0.2, 0.6])
    assert r["lower"].tolist() == pytest.approx([0.0524, 0.1705], abs=5e-5)
    assert r["upper"].tolist() == pytest.approx([0.3339, 0.8090], abs=5e-5)
    # p-value equals Pearson's chi-squared test without continuity correction
    chi = sst.chi2_contingency([[56, 14], [48, 32]], correction=False)
    assert r["p_value"].iloc[0] == pytest.approx(chi.pvalue, rel=1e-9)


def test_newcombe_matches_statsmodels():
    from statsmodels.stats.proportion import confint_proportions_2indep
    lo, hi = confint_proportions_2indep(13, 40, 25, 61, method="newcomb")
    r = proportion_difference(13, 40, 25, 61)
    assert (r["lower"].item(), r["upper"].item()) == pytest.approx((lo, hi), abs=1e-9)


def test_risk_ratio_log_method():
    # Altman et al. (2000) ch. 7 formula, by hand for 20/100 vs 10/100
    r = risk_ratio(20, 100, 10, 100)
    se = math.sqrt(1 / 20 - 1 / 100 + 1 / 10 - 1 / 100)
    assert r["estimate"].item() == pytest.approx(2.0)
    assert r["lower"].item() == pytest.approx(math.exp(math.log(2) - 1.959963984540054 * se), abs=1e-9)
    assert r["upper"].item() == pytest.approx(math.exp(math.log(2) + 1.959963984540054 * se), abs=1e-9)
    from statsmodels.stats.contingency_tables import Table2x2
    t = Table2x2(np.array([[20, 80], [10, 90]]))
    assert (r["lower"].item(), r["upper"].item()) == pytest.approx(t.riskratio_confint(), abs=1e-9)
    assert r["p_value"].item() == pytest.approx(t.riskratio_pvalue(), abs=1e-9)
    z = risk_ratio(0, 100, 10, 100)
    assert z["estimate"].item() == 0 and np.isnan(z["lower"].item())
    with pytest.raises(ValueError):
        risk_ratio(5, 4, 1, 10)


def test_rate_ratio_log_method_and_poisson_glm_agree():
    r = rate_ratio(30, 1000, 15, 1200)
    assert r["estimate"].item() == pytest.approx((30 / 1000) / (15 / 1200))
    se = math.sqrt(1 / 30 + 1 / 15)
    assert r["se_log"].item() == pytest.approx(se)
    # a Poisson GLM with one binary covariate and log exposure gives the same ratio and SE
    df = pd.DataFrame({"x": [10, 20, 5, 10], "t": [400, 600, 500, 700], "g": [1, 1, 0, 0]})
    m = fit_glm(df, "x ~ g", family="poisson", exposure="t").set_index("term")
    assert m.loc["g", "ratio"] == pytest.approx(r["estimate"].item(), rel=1e-8)
    assert m.loc["g", "ratio_lower"] == pytest.approx(r["lower"].item(), rel=1e-6)
    with pytest.raises(ValueError):
        rate_ratio(-1, 10, 1, 10)


def test_hedges_g_matches_statsmodels_and_borenstein():
    from statsmodels.stats.meta_analysis import effectsize_smd
    a = np.array([9, 7, 8, 9, 8, 9, 9, 10, 9, 9.])
    b = np.array([9, 6, 7, 8, 7, 9, 8, 8, 7, 7.])
    g_sm, _ = effectsize_smd(a.mean(), a.std(ddof=1), 10, b.mean(), b.std(ddof=1), 10)
    r = hedges_g(a, b)
    assert r["estimate"].item() == pytest.approx(g_sm, abs=1e-12)
    se = math.sqrt(20 / 100 + g_sm**2 / 40)  # Borenstein et al. (2009) eq. 4.20 with J applied
    assert r["upper"].item() - r["estimate"].item() == pytest.approx(1.959963984540054 * se, abs=1e-9)
    assert r["p_value"].item() == pytest.approx(sst.ttest_ind(a, b).pvalue)
    assert hedges_g(b, a)["estimate"].item() == pytest.approx(-g_sm)
    with pytest.raises(ValueError):
        hedges_g([1], [1, 2])


def test_paired_tests():
    before = np.array([10, 12, 9, 14, 11, 13, 8, 10, np.nan])
    after = np.array([12, 14, 9, 17, 12, 15, 9, 13, 20])
    t = paired_t(before, after)
    diff = (after - before)[:8]
    assert t["n"].item() == 8 and t["estimate"].item() == pytest.approx(diff.mean())
    lo, hi = sst.t.interval(0.95, 7, loc=diff.mean(), scale=sst.sem(diff))
    assert (t["lower"].item(), t["upper"].item()) == pytest.approx((lo, hi), abs=1e-9)
    assert t["p_value"].item() == pytest.approx(sst.ttest_rel(after[:8], before[:8]).pvalue)
    sd_av = (before[:8].std(ddof=1) + after[:8].std(ddof=1)) / 2
    g = diff.mean() / sd_av * (1 - 3 / (4 * 7 - 1))  # Lakens (2013) g_av
    assert t["effect_size"].item() == pytest.approx(g, abs=1e-12)
    assert hedges_g_paired(before, after)["estimate"].item() == pytest.approx(g, abs=1e-12)
    w = wilcoxon_signed_rank(before, after)
    assert w["p_value"].item() == pytest.approx(sst.wilcoxon(after[:8], before[:8]).pvalue)
    assert w["effect_size"].item() == 1.0  # all non-zero changes positive
    assert w["n_nonzero"].item() == 7
    with pytest.raises(ValueError, match="same length"):
        paired_t([1, 2], [1, 2, 3])


# ------------------------------------------------------------------ models
def _sim(n=1500, seed=3):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"school": rng.integers(0, 25, n), "fsm": rng.integers(0, 2, n)})
    u = rng.normal(0, 0.6, 25)
    df["y"] = rng.binomial(1, 1 / (1 + np.exp(-(-1 + 0.8 * df["fsm"] + u[df["school"]]))))
    df["score"] = 3 + 0.5 * df["fsm"] + 2 * u[df["school"]] + rng.normal(0, 1, n)
    df["t"] = rng.exponential(1 / np.exp(np.log(2) * df["fsm"]))
    df["e"] = (rng.random(n) < 0.85).astype(int)
    df["area"] = np.where(rng.random(n) < 0.5, "north", "south")
    return df


def test_fit_glm_logistic_equals_woolf_on_2x2():
    # one binary covariate: OR = cross-product ratio, SE = sqrt(1/a+1/b+1/c+1/d) (Woolf 1955)
    df = pd.DataFrame({"y": [1] * 30 + [0] * 70 + [1] * 15 + [0] * 85, "g": [1] * 100 + [0] * 100})
    m = fit_glm(df, "y ~ g").set_index("term")
    assert m.loc["g", "ratio"] == pytest.approx((30 * 85) / (70 * 15), rel=1e-8)
    assert m.loc["g", "se"] == pytest.approx(math.sqrt(1 / 30 + 1 / 70 + 1 / 15 + 1 / 85), rel=1e-6)
    assert m.loc["g", "n"] == 200 and "odds ratios" in m.loc["g", "method"]


def test_fit_glm_cluster_robust_and_missing_rows():
    df = _sim()
    df.loc[:9, "fsm"] = np.nan
    naive = fit_glm(df, "y ~ fsm").set_index("term")
    rob = fit_glm(df, "y ~ fsm", cluster="school").set_index("term")
    assert rob.loc["fsm", "estimate"] == pytest.approx(naive.loc["fsm", "estimate"])
    assert rob.loc["fsm", "se"] != pytest.approx(naive.loc["fsm", "se"], rel=1e-3)
    assert rob.loc["fsm", "n"] == 1490 and rob.loc["fsm", "n_groups"] == 25
    assert rob.loc["fsm", "ratio_lower"] < rob.loc["fsm", "ratio"] < rob.loc["fsm", "ratio_upper"]
    assert {"term", "estimate", "ratio", "lower", "upper", "p_value", "n", "method"} <= set(rob.reset_index().columns)


def test_fit_mixed_recovers_fixed_effect():
    m = fit_mixed(_sim(), "score ~ fsm", "school").set_index("term")
    assert m.loc["fsm", "estimate"] == pytest.approx(0.5, abs=0.15)
    assert m.loc["fsm", "lower"] < 0.5 < m.loc["fsm", "upper"]
    assert m.loc["group_var", "estimate"] > 0.5 and np.isnan(m.loc["fsm", "ratio"])


def test_fit_mixed_matches_statsmodels_mixedlm_reml():
    import statsmodels.formula.api as smf
    d = _sim()
    ours = fit_mixed(d, "score ~ fsm", "school").set_index("term")
    ref = smf.mixedlm("score ~ fsm", d.dropna(subset=["score", "fsm", "school"]),
                      groups=d.dropna(subset=["score", "fsm", "school"])["school"]).fit(reml=True)
    ci = ref.conf_int()
    for term in ("Intercept", "fsm"):
        assert ours.loc[term, "estimate"] == pytest.approx(ref.fe_params[term], abs=1e-5)
        assert ours.loc[term, "se"] == pytest.approx(ref.bse[term], rel=1e-3)
        assert ours.loc[term, "lower"] == pytest.approx(ci.loc[term, 0], rel=1e-4, abs=1e-4)
        assert ours.loc[term, "p_value"] == pytest.approx(ref.pvalues[term], rel=1e-2, abs=1e-12)
    assert ours.loc["group_var", "estimate"] == pytest.approx(float(ref.cov_re.iloc[0, 0]), rel=1e-3)
    with pytest.raises(ValueError, match="REML"):
        fit_mixed(d, "score ~ fsm", "school", reml=False)


def test_fit_cox_hazard_ratio_and_categorical():
    m = fit_cox(_sim(), "t", "e", ["fsm", "area"]).set_index("term")
    assert m.loc["fsm", "ratio"] == pytest.approx(2.0, rel=0.2)
    assert "area[T.south]" in m.index
    assert m.loc["fsm", "p_value"] < 1e-6


def test_models_fail_clearly_on_empty_or_bad_input():
    empty = pd.DataFrame({"y": [], "g": []})
    with pytest.raises(ValueError, match="no complete rows"):
        fit_glm(empty, "y ~ g")
    with pytest.raises(ValueError, match="no complete rows"):
        fit_cox(pd.DataFrame({"t": [np.nan], "e": [1], "x": [1]}), "t", "e", ["x"])
    with pytest.raises(ValueError, match="family"):
        fit_glm(_sim(), "y ~ fsm", family="gamma")
    with pytest.raises(ValueError, match="not in the data"):
        fit_mixed(_sim(), "score ~ fsm", "nope")


def test_wilcoxon_exact_permutation_p_equals_scipys():
    """With ties or zeros among <= 13 pairs, scipy's "auto" rule uses the exact permutation
    distribution; ours (one matrix product) must give the same p value and statistic, bit for
    bit, and the no-tie and larger cases are scipy's own."""
    from rrlib.stats import wilcoxon_signed_rank

    rng = np.random.default_rng(20160901)
    checked = 0
    # mostly small samples (scipy's own permutation loop is slow past ~10 pairs), a few at the
    # 13-pair limit and a few past it (scipy's normal approximation, used as it is)
    for n in [int(rng.integers(2, 11)) for _ in range(40)] + [13, 13, 12, 14, 16, 20]:
        before = rng.integers(0, 6, n).astype(float)
        after = before + rng.integers(-3, 4, n)
        if (after == before).all():
            continue
        w = wilcoxon_signed_rank(before, after).iloc[0]
        ref = sst.wilcoxon(after, before, zero_method="wilcox")
        assert w["p_value"] == float(ref.pvalue) and w["statistic"] == float(ref.statistic)
        checked += 1
    assert checked > 40
    # a worked case: 12 pairs, 2 zeros, tied ranks; the permutation p computed by enumeration
    d = np.array([1, 1, 2, -1, 0, 3, 3, -2, 1, 2, 0, 5.0])
    w = wilcoxon_signed_rank(np.zeros(12), d).iloc[0]
    nz = d[d != 0]
    ranks = sst.rankdata(np.abs(nz))
    signs = np.array(list(__import__("itertools").product([0, 1], repeat=nz.size)))
    null = signs @ ranks
    obs = ranks[nz > 0].sum()
    assert w["p_value"] == pytest.approx(min(1, 2 * min((null <= obs).mean(), (null >= obs).mean())))
