"""Chapter 2, Exclusions: are young people in Blackpool excluded from school more than elsewhere,
which young people, and what happened to exclusions among those who got targeted support?

Part A works on real public statistics (DfE SFR35/2017, :mod:`rrlib.public`); part B on pupil
records (the January school census ``pupils`` and the ``exclusions`` table: synthetic by
default, the real extracts when given).

Definitions (DfE, *Permanent and fixed-period exclusions in England*, technical notes; from
2021/22 "fixed-period exclusion" is called "suspension"):

* suspension rate = suspensions (fixed-period exclusions) / headcount x 100;
* one-or-more rate = pupils with at least one suspension / headcount x 100;
* permanent exclusion rate = permanent exclusions / headcount x 100;
* headcount = pupils on roll at the January school census. "Total" is all state-funded
  primary, secondary and special schools.

Intervals (Public Health England, *Technical Guide: Confidence Intervals*; :mod:`rrlib.stats`):
pupils with one or more suspensions are a proportion of pupils (Wilson score,
:func:`rrlib.stats.proportion_ci`); suspensions and permanent exclusions are counts of events
(a pupil can have several), with exact Poisson limits below 10 events and Byar's approximation
from 10 (:func:`rrlib.stats.rate_ci`, multiplier 100).

Funnel plots (Spiegelhalter DJ (2005) Funnel plots for comparing institutional performance,
Stat Med 24:1185-1202; PHE Fingertips technical guidance and PHEindicatormethods
``phe_funnels``): control limits at 95% and 99.8% around England's rate. For proportions
(one-or-more) the limits are PHE's Wilson-score limits: the observed proportion whose Wilson
interval just reaches the target, which is ``p0 +/- z sqrt(p0 (1 - p0) / n)``. For counts of
events (suspensions, permanent exclusions) they are exact Poisson limits with Spiegelhalter's
interpolation.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as st

from .. import stats as rstats
from ..public import DFE_COUNT_RATE

# --------------------------------------------------------------------------- constants
#: The three DfE measures: count column of the DfE files, published rate column, interval type.
MEASURES = {
    "suspension": {"count": "fixed_excl", "rate": "fixed_excl_rate", "kind": "count",
                   "label": "Suspensions (fixed-period exclusions) per 100 pupils"},
    "one_plus": {"count": "one_plus_fixed", "rate": "one_or_more_fixed_excl_rate", "kind": "pupils",
                 "label": "Pupils with one or more suspensions per 100 pupils"},
    "permanent": {"count": "perm_excl", "rate": "perm_excl_rate", "kind": "count",
                  "label": "Permanent exclusions per 100 pupils"},
}
assert all(DFE_COUNT_RATE[m["count"]] == m["rate"] for m in MEASURES.values())

AREA = "Blackpool"
REGION = "North West"
NATION = "England"
AREA_COLOURS = {AREA: "#c0392b", REGION: "#2471a3", NATION: "#555555"}
DFE_SOURCE = ("Source: DfE, Permanent and fixed-period exclusions in England (SFR35/2017), "
              "local-authority tables. Open Government Licence v3.0. Real public data.")
Z95 = float(st.norm.ppf(0.975))


# --------------------------------------------------------------------------- part A: DfE rates
def round_half_up_rate(count, headcount, dp: int = 2, multiplier: int = 100) -> np.ndarray:
    """count / headcount * multiplier rounded half up to ``dp`` places, in exact integer arithmetic.

    The DfE publishes rates rounded half up from unrounded counts; floating-point ``round`` (half
    to even on binary approximations) disagrees with it on a few local authorities, exact integer
    arithmetic on none. Counts must be whole numbers; NaN in, NaN out.
    """
    c = np.asarray(count, dtype=float)
    n = np.asarray(headcount, dtype=float)
    ok = np.isfinite(c) & np.isfinite(n) & (n > 0) & (c == np.floor(c))
    out = np.full(np.broadcast(c, n).shape, np.nan)
    ci = np.where(ok, c, 0).astype(np.int64)
    ni = np.where(ok, n, 1).astype(np.int64)
    scale = multiplier * 10**dp
    q = (2 * ci * scale + ni) // (2 * ni)
    out = np.where(ok, q / 10**dp, np.nan)
    return out if out.ndim else float(out)


def dfe_long(df: pd.DataFrame) -> pd.DataFrame:
    """DfE wide rows (one per year, area, school type) to one row per measure.

    Columns: year, level, area, school_type, headcount, measure, count, published_rate.
    """
    frames = []
    for measure, spec in MEASURES.items():
        f = df[["year", "level", "la_name", "school_type", "headcount"]].rename(columns={"la_name": "area"})
        f = f.assign(measure=measure, count=df[spec["count"]].to_numpy(float),
                     published_rate=df[spec["rate"]].to_numpy(float))
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out["measure"] = pd.Categorical(out["measure"], categories=list(MEASURES))
    return out.sort_values(["measure", "school_type", "area", "year"], kind="stable").reset_index(drop=True)


def _intervals(measure: pd.Series, count: np.ndarray, n: np.ndarray,
               confidence=0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower, upper limits and method name per row, vectorised by measure kind."""
    lo = np.full(len(count), np.nan)
    hi = np.full(len(count), np.nan)
    method = np.full(len(count), "", dtype=object)
    ok = np.isfinite(count) & np.isfinite(n) & (n > 0)
    pupils = np.asarray(measure.map(lambda m: MEASURES[m]["kind"] == "pupils"), dtype=bool)
    m = ok & pupils & (count <= n)
    if m.any():
        r = rstats.proportion_ci(count[m], n[m], confidence=confidence, multiplier=100)
        lo[m], hi[m], method[m] = r.lower, r.upper, "Wilson score"
    m = ok & ~pupils
    if m.any():
        r = rstats.rate_ci(count[m], n[m], confidence=confidence, multiplier=100)
        lo[m], hi[m] = r.lower, r.upper
        method[m] = np.where(count[m] < 10, "Exact Poisson", "Byars")
    return lo, hi, method


def dfe_rates(df: pd.DataFrame, *, interval_levels: Iterable[str] = ("Local authority",),
              confidence: float = 0.95) -> pd.DataFrame:
    """DfE rates recomputed from counts, checked against the published rates, with intervals.

    ``df``: rows of the DfE local-authority file (:func:`rrlib.public.load_dfe_exclusions` or
    :func:`rrlib.public.read_dfe_la_file`). Returns :func:`dfe_long` plus

    * ``rate``: count / headcount x 100 (unrounded);
    * ``rate_2dp``: the same rounded half up to 2 places (local authorities only: their counts
      are exact; regional and national counts are rounded to 5, so no exact recomputation);
    * ``matches_published``: local authorities, ``rate_2dp == published_rate``; regions and
      England, the published rate lies within what counts rounded to the nearest 5 allow
      (``|rate - published| <= 2.5 / headcount x 100 + 0.005``); NA where either is missing;
    * ``lower``, ``upper``, ``ci_method``: interval for the rows whose level is in
      ``interval_levels`` (Wilson for pupils, exact/Byars for counts; see the module docstring).
    """
    out = dfe_long(df)
    c = out["count"].to_numpy(float)
    n = out["headcount"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate"] = np.where(n > 0, c / n * 100, np.nan)
    la = (out["level"] == "Local authority").to_numpy()
    exact = la & np.isfinite(c) & (c == np.floor(c))
    out["rate_2dp"] = np.where(exact, round_half_up_rate(c, n), np.nan)
    pub = out["published_rate"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        slack = np.where(n > 0, 2.5 / n * 100 + 0.005 + 1e-9, np.nan)
        match = np.where(la, np.isclose(out["rate_2dp"], pub, rtol=0, atol=1e-9),
                         np.abs(out["rate"].to_numpy() - pub) <= slack)
    known = np.where(la, np.isfinite(out["rate_2dp"]), np.isfinite(out["rate"])) & np.isfinite(pub)
    out["matches_published"] = pd.array(np.where(known, match, False), dtype="boolean")
    out.loc[~known, "matches_published"] = pd.NA
    want = out["level"].isin(list(interval_levels)).to_numpy()
    lo, hi, meth = _intervals(out["measure"].astype(str), np.where(want, c, np.nan), n, confidence)
    out["lower"], out["upper"], out["ci_method"] = lo, hi, meth
    out["confidence"] = confidence
    return out


def recomputation_check(rates: pd.DataFrame) -> pd.DataFrame:
    """How many published rates the counts reproduce, by level and measure.

    Columns: level, measure, compared (rows with count, headcount and published rate),
    agree, disagree, rule ("exact to 2 dp" for local authorities, "within rounding of counts
    to 5" for regions and England).
    """
    r = rates.assign(measure=rates["measure"].astype(str))
    known = r["matches_published"].notna()
    g = (r[known].groupby(["level", "measure"], sort=True)["matches_published"]
         .agg(compared="size", agree=lambda s: int(s.astype(bool).sum())).reset_index())
    g["disagree"] = g["compared"] - g["agree"]
    g["rule"] = np.where(g["level"] == "Local authority", "exact to 2 dp (half up)",
                         "published rate within rounding of counts to 5")
    return g


def area_rates(rates: pd.DataFrame, areas: Sequence[str] = (AREA, REGION, NATION)) -> pd.DataFrame:
    """Rates of the named areas (Blackpool, North West, England by default), wide by measure.

    One row per (area, school_type, year); for each measure its published rate and, for
    local authorities, the recomputed rate and interval: ``<measure>_rate`` (published),
    ``<measure>_count``, ``<measure>_lower``, ``<measure>_upper``.
    """
    r = rates[rates["area"].isin(list(areas))].copy()
    r["measure"] = r["measure"].astype(str)
    r = r.rename(columns={"published_rate": "rate_pub"})
    wide = r.set_index(["area", "level", "school_type", "year", "headcount", "measure"])[
        ["count", "rate_pub", "lower", "upper"]].unstack("measure")
    wide.columns = [f"{m}_{'rate' if v == 'rate_pub' else v}" for v, m in wide.columns]
    cols = [f"{m}_{v}" for m in MEASURES for v in ("count", "rate", "lower", "upper")]
    wide = wide.reindex(columns=cols).reset_index()
    order = {a: i for i, a in enumerate(areas)}
    return wide.sort_values(["school_type", "area", "year"], key=lambda s: s.map(order) if s.name == "area"
                            else s, kind="stable").reset_index(drop=True)


def rank_area(rates: pd.DataFrame, area: str = AREA, *, school_type: str = "Total",
              measures: Sequence[str] = tuple(MEASURES)) -> pd.DataFrame:
    """Rank of ``area`` among all local authorities, per year and measure (1 = highest rate).

    Ranks the unrounded rates recomputed from counts (published rate where a count is an
    estimate); local authorities without pupils or with a suppressed value are left out of
    that year's ranking. Ties share the best rank (``min``). Columns: year, measure, area,
    rate (published), rank, n_areas, percentile (rank / n_areas x 100: share of LAs at or above).
    """
    la = rates[(rates["level"] == "Local authority") & (rates["school_type"] == school_type)
               & rates["measure"].astype(str).isin(list(measures))].copy()
    la["measure"] = la["measure"].astype(str)
    key = la["rate"].where(la["count"] == np.floor(la["count"]), la["published_rate"])
    la = la.assign(key=key)
    la = la[np.isfinite(la["key"]) & (la["headcount"] > 0)]
    la["rank"] = la.groupby(["year", "measure"])["key"].rank(ascending=False, method="min")
    la["n_areas"] = la.groupby(["year", "measure"])["key"].transform("size")
    out = la[la["area"] == area][["year", "measure", "area", "published_rate", "rank", "n_areas"]]
    out = out.rename(columns={"published_rate": "rate"})
    out["rank"] = out["rank"].astype(int)
    out["percentile"] = out["rank"] / out["n_areas"] * 100
    return out.sort_values(["measure", "year"]).reset_index(drop=True)


# --------------------------------------------------------------------------- funnel plots
def funnel_limits(target: float, n, *, kind: str = "pupils",
                  confidence: Sequence[float] = (0.95, 0.998), multiplier: float = 100) -> pd.DataFrame:
    """Funnel-plot control limits around ``target`` (a rate per ``multiplier``) for sizes ``n``.

    ``kind="pupils"`` (a proportion): PHE's Wilson-score limits (PHEindicatormethods
    ``sigma_adjustment``): the observed proportion whose Wilson interval just reaches the
    target, ``p0 +/- z sqrt(p0 (1 - p0) / n)``, clipped to [0, 1].
    ``kind="count"`` (events, Poisson): exact Poisson limits with Spiegelhalter's (2005)
    interpolation: with ``r`` the ``q``-quantile of Poisson(``p0 n``) and
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
        tag = f"{c * 100:g}".replace(".", "_")
        if kind == "pupils":
            z = float(st.norm.ppf(c + (1 - c) / 2))
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


def _poisson_limit(lam: np.ndarray, q: float) -> np.ndarray:
    """Spiegelhalter's interpolated Poisson quantile (Stat Med 2005, appendix A.1.2)."""
    r = st.poisson.ppf(q, lam)
    f_r = st.poisson.cdf(r, lam)
    f_r1 = st.poisson.cdf(r - 1, lam)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(f_r > f_r1, (f_r - q) / (f_r - f_r1), 0.0)
    return np.maximum(r - a, 0.0)


def funnel_data(rates: pd.DataFrame, year: str, measure: str = "suspension", *,
                school_type: str = "Total", target_area: str = NATION,
                highlight: str = AREA) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points and limits of a funnel plot of local authorities for one year and measure.

    Target: ``target_area``'s published rate (England's, computed by the DfE from unrounded
    counts). Returns ``(points, limits)``: points = local authorities with their headcount,
    count, rate and ``position`` ("above 99.8%", "above 95%", "within", "below 95%",
    "below 99.8%"), ``highlight`` True for ``highlight``; limits = :func:`funnel_limits`
    on a log-spaced grid of headcounts spanning the points.
    """
    r = rates[(rates["year"] == year) & (rates["school_type"] == school_type)
              & (rates["measure"].astype(str) == measure)]
    tgt = r[r["area"] == target_area]["published_rate"]
    if tgt.empty or not np.isfinite(tgt.iloc[0]):
        raise ValueError(f"no published {measure} rate for {target_area} ({school_type}, {year})")
    target = float(tgt.iloc[0])
    pts = r[(r["level"] == "Local authority") & (r["headcount"] > 0) & np.isfinite(r["rate"])].copy()
    kind = MEASURES[measure]["kind"]
    lim_pts = funnel_limits(target, pts["headcount"].to_numpy(), kind=kind)
    rate = pts["rate"].to_numpy()
    pos = np.full(len(pts), "within", dtype=object)
    pos[rate > lim_pts["upper_95"].to_numpy()] = "above 95%"
    pos[rate > lim_pts["upper_99_8"].to_numpy()] = "above 99.8%"
    pos[rate < lim_pts["lower_95"].to_numpy()] = "below 95%"
    pos[rate < lim_pts["lower_99_8"].to_numpy()] = "below 99.8%"
    pts = pts.assign(position=pos, highlight=pts["area"] == highlight, target=target)
    pts = pts[["year", "area", "school_type", "measure", "headcount", "count", "rate",
               "published_rate", "target", "position", "highlight"]].reset_index(drop=True)
    grid = np.unique(np.geomspace(max(pts["headcount"].min() * 0.8, 10), pts["headcount"].max() * 1.2, 200))
    limits = funnel_limits(target, grid, kind=kind)
    return pts, limits


# --------------------------------------------------------------------------- national characteristics
#: Characteristic groups of the DfE national file used for the England pattern, with the
#: reference category for rate ratios.
NATIONAL_GROUPS = {
    "sex": ("Gender", "Gender_female"),
    "fsm": ("FSM_Eligible", "FSM_NotEligible"),
    "sen_provision": ("SEN_provision", "SEN_Provision_No_SEN"),
    "sen_primary_need": ("SEN_primary_need", None),
    "ethnicity": ("Ethnicity", "Ethnicity_Minor_White_British"),
    "age": ("Age", None),
}

_PREFIXES = ("Ethnicity_Major_", "Ethnicity_Minor_", "Ethnicity_", "SEN_primary_need_", "SEN_provision_",
             "SEN_Provision_", "Gender_", "FSM_", "Age_")


def _label(code: str) -> str:
    for p in _PREFIXES:
        if code.startswith(p):
            code = code[len(p):]
            break
    return code.replace("_", " ")


def national_pattern(nat: pd.DataFrame, *, year: str | None = None,
                     school_type: str = "Total") -> pd.DataFrame:
    """England's exclusion rates by pupil characteristic from the DfE national file.

    ``nat``: :func:`rrlib.public.read_dfe_national_characteristics`. ``year`` defaults to the
    latest. One row per (group, category): headcount, the three published rates, and for
    groups with a reference category (:data:`NATIONAL_GROUPS`) the ratio of each rate to the
    reference's (published rates, so the ratio of rounded rates). Categories with no pupils
    ("unclassified" rows stay in: the DfE publishes them) keep NaN rates.
    """
    year = year or sorted(nat["year"].unique())[-1]
    d = nat[(nat["year"] == year) & (nat["school_type"] == school_type) & (nat["characteristic_2"] == "Total")]
    rows = []
    for group, (desc, ref) in NATIONAL_GROUPS.items():
        g = d[d["characteristic_desc"] == desc].copy()
        if g.empty:
            continue
        g["group"] = group
        g["category"] = g["characteristic_1"].map(_label)
        for m, col in (("suspension", "fixed_excl_rate"), ("one_plus", "one_plus_fixed_rate"),
                       ("permanent", "perm_excl_rate")):
            g[f"{m}_rate"] = g[col]
            if ref is not None and (g["characteristic_1"] == ref).any():
                base = float(g.loc[g["characteristic_1"] == ref, col].iloc[0])
                g[f"{m}_ratio"] = g[col] / base if base > 0 else np.nan
            else:
                g[f"{m}_ratio"] = np.nan
        g["reference"] = g["characteristic_1"] == ref if ref else False
        rows.append(g)
    out = pd.concat(rows, ignore_index=True)
    return out[["year", "school_type", "group", "category", "characteristic_1", "reference", "headcount",
                "suspension_rate", "one_plus_rate", "permanent_rate",
                "suspension_ratio", "one_plus_ratio", "permanent_ratio"]]


def national_peak_age(pattern: pd.DataFrame, measure: str = "suspension") -> dict:
    """Age with the highest rate in England (age at the start of the school year, DfE)."""
    a = pattern[pattern["group"] == "age"].copy()
    a = a[a["characteristic_1"].str.fullmatch(r"Age_\d+")]
    a["age"] = a["characteristic_1"].str[4:].astype(int)
    row = a.loc[a[f"{measure}_rate"].idxmax()]
    return {"age": int(row["age"]), "rate": float(row[f"{measure}_rate"])}


# --------------------------------------------------------------------------- part A figures
def plot_time_series(wide: pd.DataFrame, *, school_type: str = "Total",
                     measures: Sequence[str] = tuple(MEASURES), source: str = DFE_SOURCE):
    """Blackpool against the North West and England, one panel per measure.

    ``wide``: :func:`area_rates`. Blackpool's 95% interval is shaded (Wilson for pupils,
    exact/Byars for counts). Returns a matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    d = wide[wide["school_type"] == school_type]
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.8), squeeze=False)
    for ax, m in zip(axes[0], measures):
        for area, g in d.groupby("area", sort=False):
            g = g.sort_values("year")
            x = np.arange(len(g))
            ax.plot(x, g[f"{m}_rate"], marker="o", ms=3, color=AREA_COLOURS.get(area, "black"), label=area)
            if g[f"{m}_lower"].notna().any():
                ax.fill_between(x, g[f"{m}_lower"], g[f"{m}_upper"], color=AREA_COLOURS.get(area, "black"),
                                alpha=0.18, lw=0)
            ax.set_xticks(x[::2], g["year"].iloc[::2], rotation=45, ha="right", fontsize=7)
        ax.set_title(MEASURES[m]["label"], fontsize=9)
        ax.set_ylabel("per 100 pupils on roll")
        ax.set_ylim(bottom=0)
    axes[0][0].legend(fontsize=8, frameon=False)
    title = "all state-funded and special schools" if school_type == "Total" else "state-funded secondary schools"
    fig.suptitle(f"School exclusions: Blackpool, North West and England, {title} "
                 f"(shaded: Blackpool 95% CI)", fontsize=10)
    fig.text(0.01, 0.005, source, fontsize=6.5, ha="left", va="bottom", color="#444444")
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    return fig


def plot_funnel(points: pd.DataFrame, limits: pd.DataFrame, *, source: str = DFE_SOURCE):
    """Funnel plot: local-authority rates against headcount, 95% and 99.8% limits around England."""
    import matplotlib.pyplot as plt

    m = str(points["measure"].iloc[0])
    fig, ax = plt.subplots(figsize=(7, 4.6))
    ax.plot(limits["n"], limits["target"], color="black", lw=1, label=f"England {limits['target'].iloc[0]:.2f}")
    for c, ls in (("95", "--"), ("99_8", ":")):
        ax.plot(limits["n"], limits[f"upper_{c}"], color="#333333", ls=ls, lw=0.9,
                label=f"{c.replace('_', '.')}% control limits")
        ax.plot(limits["n"], limits[f"lower_{c}"], color="#333333", ls=ls, lw=0.9)
    other = points[~points["highlight"]]
    ax.scatter(other["headcount"], other["rate"], s=12, color="#7f8c8d", alpha=0.7, label="Other local authorities")
    h = points[points["highlight"]]
    ax.scatter(h["headcount"], h["rate"], s=40, color=AREA_COLOURS[AREA], zorder=3, label=AREA)
    for _, r in h.iterrows():
        ax.annotate(f"{r['area']} {r['rate']:.2f}", (r["headcount"], r["rate"]), xytext=(6, 4),
                    textcoords="offset points", fontsize=8, color=AREA_COLOURS[AREA])
    ax.set_xscale("log")
    ax.set_xlabel("Pupils on roll (January census, log scale)")
    ax.set_ylabel("per 100 pupils on roll")
    kind = ("Wilson-score limits" if MEASURES[m]["kind"] == "pupils"
            else "exact Poisson limits (Spiegelhalter 2005)")
    ax.set_title(f"{MEASURES[m]['label']}, local authorities, {points['year'].iloc[0]} "
                 f"({points['school_type'].iloc[0]}): {kind}", fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    ax.set_ylim(bottom=0)
    fig.text(0.01, 0.005, source, fontsize=6.5, ha="left", va="bottom", color="#444444")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig
