"""Chapter 2, part A: exclusions on official statistics (DfE SFR35/2017 and the 2006/07-2022/23
series): rates recomputed from counts and checked, Blackpool against the North West, England and
comparable authorities, ranks and funnel plots, England's pattern by pupil characteristic.


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

import re
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as st

from ... import calendar, figures
from ... import public as pub
from ... import stats as rstats
from ...chapter import NotComputed, Part, require_values
from ...public import DFE_COUNT_RATE
from ...results import values as result_values
from ...stats import its
from ...stats.funnel import funnel_limits
from ...stats.rounding import round_half_up_rate

__all__ = ["MEASURES", "AREA", "REGION", "NATION", "AREA_COLOURS", "DFE_SOURCE", "DFE_2023_SOURCE",
           "DFE_NATIONAL_SOURCE", "PROGRAMME_START", "COVID_YEARS", "SUSPENSION_RENAMED", "SUSPENSION_LABEL",
           "Z95", "dfe_long", "rate_intervals", "dfe_rates", "recomputation_check", "area_rates", "rank_area",
           "funnel_data", "year_key", "latest_year", "choose_comparators", "series", "COMPARISONS",
           "before_after", "a11_official", "rank_and_funnel", "plot_before_after", "NATIONAL_GROUPS",
           "national_pattern", "national_peak_age", "plot_time_series", "plot_funnel", "dfe_reference_results",
           "all_la_check_results", "timeseries_part", "NATIONAL_FACTS", "national_results", "rate_table_spec", "before_after_table",
           "comparators_text", "rank_text", "reference_prefix", "tables_text", "reference_text",
           "a11_official_text"]

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
DFE_SOURCE = ("DfE, Permanent and fixed-period exclusions in England (SFR35/2017), "
              "local-authority tables, Open Government Licence v3.0")
DFE_2023_SOURCE = ("DfE, Suspensions and permanent exclusions in England, 2022/23 release "
                   "(exc_nat_region_la.csv), Open Government Licence v3.0")
DFE_NATIONAL_SOURCE = ("DfE, Permanent and fixed-period exclusions in England (SFR35/2017), national tables "
                       "by pupil characteristic, Open Government Licence v3.0")
#: First school year of the programme (HeadStart Blackpool, from September 2016).
PROGRAMME_START = "2016/17"
#: Partial school years (COVID-19 school closures; the DfE's notes say so).
COVID_YEARS = ("2019/20", "2020/21")
#: From 2021/22 the DfE calls the fixed-period exclusion a "suspension".
SUSPENSION_RENAMED = "2021/22"
SUSPENSION_LABEL = "Suspensions (fixed-period exclusions before 2021/22) per 100 pupils"
Z95 = float(st.norm.ppf(0.975))


# --------------------------------------------------------------------------- part A: DfE rates
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


def rate_intervals(measure: pd.Series, count: np.ndarray, n: np.ndarray,
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
              confidence: float = 0.95, dp: int | None = None) -> pd.DataFrame:
    """DfE rates recomputed from counts, checked against the published rates, with intervals.

    ``df``: rows of the DfE local-authority file (:func:`rrlib.public.load_dfe_exclusions` or
    :func:`rrlib.public.read_dfe_la_file`). Returns :func:`dfe_long` plus

    * ``rate``: count / headcount x 100 (unrounded);
    * ``rate_2dp``: the same rounded half up to ``dp`` places (the published precision: 2 in
      SFR35/2017, 5 in the 2022/23 release; default ``df.attrs["rate_decimals"]`` or 2)
      (local authorities only: their counts
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
    dp = int(df.attrs.get("rate_decimals", 2)) if dp is None else dp
    out["rate_2dp"] = np.where(exact, round_half_up_rate(c, n, dp=dp), np.nan)
    pub = out["published_rate"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        slack = np.where(n > 0, 2.5 / n * 100 + 0.005 + 1e-9, np.nan)
        match = np.where(la, np.isclose(out["rate_2dp"], pub, rtol=0, atol=1e-9),
                         np.abs(out["rate"].to_numpy() - pub) <= slack)
    known = np.where(la, np.isfinite(out["rate_2dp"]), np.isfinite(out["rate"])) & np.isfinite(pub)
    out["matches_published"] = pd.array(np.where(known, match, False), dtype="boolean")
    out.loc[~known, "matches_published"] = pd.NA
    want = out["level"].isin(list(interval_levels)).to_numpy()
    lo, hi, meth = rate_intervals(out["measure"].astype(str), np.where(want, c, np.nan), n, confidence)
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
    g["rule"] = np.where(g["level"] == "Local authority", "exact at the published precision (half up)",
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


# --------------------------------------------------------------------------- part A: 2006/07-2022/23
def year_key(year: str) -> str:
    """``2016/17`` -> ``2016_17`` (the year part of result keys)."""
    return str(year).replace("/", "_")


def latest_year(df: pd.DataFrame, area: str = AREA) -> str:
    """The latest school year in which ``area`` has a headcount (the default year of part A)."""
    y = df[(df["la_name"] == area) & (df["headcount"] > 0)]["year"]
    if y.empty:
        raise NotComputed(f"the DfE table has no rows for {area}")
    return str(sorted(y)[-1])


def choose_comparators(la: pd.DataFrame, fsm: pd.DataFrame, *, year: str = "2015/16", k: int = 5,
                       area: str = AREA) -> pd.DataFrame:
    """The ``k`` local authorities closest to ``area`` on ``year``'s suspension rate and FSM share.

    Used when the DfE's statistical-neighbour list is not at hand: Euclidean distance on the two
    variables, each standardised by its standard deviation across local authorities (z-scores), in
    ``year`` (the last school year before the programme) and the FSM share of the January census of
    that year (:func:`rrlib.public.load_fsm_2016`). Matched on ``area_code`` (the 2022/23 file's
    ``new_la_code``). Returns area, area_code, suspension_rate, fsm_percent, distance, rank
    (``area`` itself first, distance 0).
    """
    if "area_code" not in la.columns:
        raise NotComputed("the DfE table has no area codes (the SFR35/2017 layout) to match the FSM table on")
    d = la[(la["level"] == "Local authority") & (la["year"] == year) & (la["headcount"] > 0)]
    d = d[["la_name", "area_code", "fixed_excl_rate"]].merge(fsm[["area_code", "fsm_percent"]], on="area_code")
    d = d.dropna()
    if area not in set(d["la_name"]):
        raise NotComputed(f"{area} has no {year} suspension rate or January FSM share to match on")
    z = (d[["fixed_excl_rate", "fsm_percent"]] - d[["fixed_excl_rate", "fsm_percent"]].mean()) \
        / d[["fixed_excl_rate", "fsm_percent"]].std()
    me = z[d["la_name"] == area].iloc[0]
    d = d.assign(distance=np.sqrt(((z - me) ** 2).sum(axis=1)))
    d = d.sort_values(["distance", "la_name"]).head(k + 1).reset_index(drop=True)
    d = d.rename(columns={"la_name": "area", "fixed_excl_rate": "suspension_rate"})
    d["rank"] = np.arange(len(d))
    return d[["area", "area_code", "suspension_rate", "fsm_percent", "distance", "rank"]]


def series(rates: pd.DataFrame, comparators: Sequence[str], *, measure: str = "suspension",
           areas: Sequence[str] = (AREA, REGION, NATION)) -> pd.DataFrame:
    """Published ``measure`` rate by year for ``areas``, each comparator and their mean.

    ``rates``: :func:`dfe_rates` of :func:`rrlib.public.load_dfe_exclusions_la`. Long frame:
    year, start (first calendar year of the school year), area, rate, group ("area", "comparator",
    "comparators' mean"), covid (a partial school year), label of the measure for that year
    (fixed-period exclusion or suspension).
    """
    r = rates[(rates["measure"].astype(str) == measure) & (rates["school_type"] == "Total")]
    r = r[r["area"].isin(list(areas) + list(comparators))][["year", "area", "published_rate"]]
    r = r.rename(columns={"published_rate": "rate"})
    r["group"] = np.where(r["area"].isin(list(comparators)), "comparator", "area")
    mean = (r[r["group"] == "comparator"].groupby("year", as_index=False)["rate"].mean()
            .assign(area="Comparable authorities (mean)", group="comparators' mean"))
    out = pd.concat([r, mean], ignore_index=True)
    out["start"] = np.asarray(calendar.start_year(out["year"]), dtype=int)
    out["covid"] = out["year"].isin(COVID_YEARS)
    out["name"] = np.where(out["year"] >= SUSPENSION_RENAMED, "suspension", "fixed-period exclusion")
    return out.sort_values(["group", "area", "year"]).reset_index(drop=True)


#: Comparison series of the before/after analysis: key -> area name in :func:`series`.
COMPARISONS = {"comparators": "Comparable authorities (mean)", "north_west": REGION, "england": NATION}


def before_after(ser: pd.DataFrame, *, start: str = PROGRAMME_START, covid: Sequence[str] = COVID_YEARS,
                 measure: str = "suspension", area: str = AREA, maxlags: int = 1) -> pd.DataFrame:
    """Comparative interrupted time series of ``area`` against each comparison series.

    For each comparison (:data:`COMPARISONS`) and each handling of the partial COVID-19 years
    (``excluded``, the main analysis, and ``included``, the sensitivity analysis):
    :func:`rrlib.stats.its.comparative_its` on the gap (``area`` minus comparison, rate per 100
    pupils) with the programme's first school year ``start``. Tidy frame for
    :meth:`rrlib.chapter.Chapter.record_frame`: key ``exclusions.its.<measure>.<comparison>.<covid>.<term>``,
    value (the estimate), lower, upper, unit ("points"), method, n (school years), note.
    """

    s0 = int(str(start)[:4])
    rows = []
    for ck, cname in COMPARISONS.items():
        if cname not in set(ser["area"]):
            continue
        gap = its.gap_series(ser, time="start", value="rate", group="area", treated=area, comparison=cname)
        for handling, excl in (("excluded", [int(y[:4]) for y in covid]), ("included", [])):
            r = its.comparative_its(gap, start=s0, exclude=excl, maxlags=maxlags, label=f"{ck}.{handling}")
            first, last = int(gap["time"].min()), int(gap["time"].max())
            for _, t in r.iterrows():
                rows.append({
                    "key": f"exclusions.its.{measure}.{ck}.covid_{handling}.{t['term']}",
                    "value": t["estimate"], "lower": t["lower"], "upper": t["upper"], "unit": "points",
                    "method": t["method"], "n": int(t["n"]),
                    "note": (f"{area} minus {cname}, {measure} rate per 100 pupils, school years "
                             f"{first}/{(first + 1) % 100:02d}-{last}/{(last + 1) % 100:02d}; after = from {start}; "
                             f"COVID-19 partial years {', '.join(covid)} {handling}; observational "
                             "(whole-town comparison)")})
    if not rows:
        raise NotComputed("no comparison series (comparable authorities, North West, England) in the DfE table")
    return pd.DataFrame(rows)


def a11_official(rates: pd.DataFrame, year: str = "2018/19",
                 areas: dict | None = None) -> pd.DataFrame:
    """A11's three rates in ``year`` recomputed from the DfE counts (suspensions / headcount x 100).

    Tidy frame: key ``exclusions.a11.official.<area>_rate``, value, lower, upper (Byars), unit,
    method, n (pupils), note (the counts and the published rate).
    """
    areas = areas or {"blackpool": AREA, "north_west": REGION, "england": NATION}
    r = rates[(rates["year"] == year) & (rates["measure"].astype(str) == "suspension")
              & (rates["school_type"] == "Total")].set_index("area")
    missing = [a for a in areas.values() if a not in r.index]
    if missing:
        raise NotComputed(f"the DfE table has no {year} suspension rate for {', '.join(missing)}")
    rows = []
    for k, a in areas.items():
        x = r.loc[a]
        ci = rstats.rate_ci(float(x["count"]), float(x["headcount"]), multiplier=100)
        rows.append({"key": f"exclusions.a11.official.{k}_rate", "value": float(x["rate"]),
                     "lower": float(ci.lower), "upper": float(ci.upper), "unit": "rate_per_100",
                     "method": "count / headcount x 100; Byars interval", "n": int(x["headcount"]),
                     "note": f"{a}, {year}, Total: {int(x['count']):,} suspensions / {int(x['headcount']):,} pupils "
                             f"(published {x['published_rate']:.2f}); official statistics (DfE 2022/23 release)"})
    return pd.DataFrame(rows)


def rank_and_funnel(rates: pd.DataFrame, year: str, *, area: str = AREA) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Ranks (every year) and the funnel-plot data of ``year``, with their results as a tidy frame.

    Returns (ranks, results, funnels): ranks from :func:`rank_area`; results with keys
    ``exclusions.dfe.<area>.y<year>.total.<measure>_rank`` and ``..._above_99_8_plain`` (the plain
    exact limits, which ignore overdispersion: most authorities lie outside them; the adjusted
    position is :func:`rrlib.chapters.exclusions.honest_funnel`'s); funnels measure -> (points,
    limits) of :func:`funnel_data`.
    """
    ranks = rank_area(rates, area)
    yk, ak = year_key(year), re.sub(r"[^a-z0-9]+", "_", area.lower()).strip("_")
    rows, funnels = [], {}
    for _, r in ranks[ranks["year"] == year].iterrows():
        rows.append({"key": f"exclusions.dfe.{ak}.y{yk}.total.{r['measure']}_rank", "value": int(r["rank"]),
                     "unit": "count", "n": int(r["n_areas"]),
                     "note": f"rank among {int(r['n_areas'])} local authorities (1 = highest rate; ties share the "
                             "best rank); official statistics"})
    for m in MEASURES:
        pts, lim = funnel_data(rates, year, m, highlight=area)
        funnels[m] = (pts, lim)
        h = pts[pts["highlight"]]
        if len(h):
            rows.append({"key": f"exclusions.dfe.{ak}.y{yk}.total.{m}_above_99_8_plain",
                         "value": bool(h["position"].iloc[0] == "above 99.8%"), "unit": "boolean",
                         "note": f"plain exact funnel limits, no overdispersion: {h['position'].iloc[0]} (target "
                                 f"England {h['target'].iloc[0]:.2f}); official statistics"})
    return ranks, pd.DataFrame(rows), funnels


def plot_before_after(ser: pd.DataFrame, *, start: str = PROGRAMME_START, covid: Sequence[str] = COVID_YEARS,
                      source: str = DFE_2023_SOURCE):
    """Blackpool's suspension rate against the North West, England and comparable authorities.

    Comparators thin grey, their mean dashed; the programme's start a vertical line; the
    partial COVID-19 school years shaded; the measure is labelled fixed-period exclusion before
    2021/22 and suspension from it.
    """
    import matplotlib.pyplot as plt

    years = sorted(ser["year"].unique())
    pos = {y: i for i, y in enumerate(years)}
    fig, ax = plt.subplots(figsize=(8.2, 4.4))
    for y in covid:
        if y in pos:
            ax.axvspan(pos[y] - 0.5, pos[y] + 0.5, color="#f4d03f", alpha=0.25, lw=0)
    if start in pos:
        ax.axvline(pos[start] - 0.5, color="black", lw=0.8, ls="--")
        ax.text(pos[start] - 0.4, 0.98, "Resilience Revolution from " + start, transform=ax.get_xaxis_transform(),
                fontsize=7, va="top")
    colours = {**AREA_COLOURS, "Comparable authorities (mean)": "#7d3c98"}
    for (grp, area), g in ser.groupby(["group", "area"], sort=True):
        x = g["year"].map(pos)
        if grp == "comparator":
            ax.plot(x, g["rate"], color="#bbbbbb", lw=0.8, label=None)
        else:
            ax.plot(x, g["rate"], marker="o", ms=3, lw=1.6 if area == AREA else 1.2,
                    ls="--" if grp == "comparators' mean" else "-", color=colours.get(area, "black"), label=area)
    ax.plot([], [], color="#bbbbbb", lw=0.8, label="Comparable authorities")
    ax.plot([], [], color="#f4d03f", alpha=0.5, lw=6, label="Partial school years (COVID-19)")
    ax.set_xticks(range(len(years)), years, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("per 100 pupils on roll")
    ax.set_ylim(bottom=0)
    ax.set_title(SUSPENSION_LABEL + ",\nall state-funded and special schools", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figures.source_note(fig, source, official=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


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
    figures.source_note(fig, source, official=True)
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    return fig


def timeseries_part(la: pd.DataFrame, secondary: pd.DataFrame | None = None) -> Part:
    """Figures ``exclusions_dfe_timeseries_total`` (and ``_secondary``): Blackpool, the North West and
    England over every year of the DfE's 2006/07-2022/23 local-authority files (:func:`plot_time_series`),
    official statistics whose sidecars name the files read."""
    figs = {"exclusions_dfe_timeseries_total": plot_time_series(area_rates(dfe_rates(la)), source=DFE_2023_SOURCE)}
    sources = [pub.DFE_EXCLUSIONS_LA]
    if secondary is not None:
        figs["exclusions_dfe_timeseries_secondary"] = plot_time_series(
            area_rates(dfe_rates(secondary)), school_type="Secondary", source=DFE_2023_SOURCE)
        sources.append(pub.DFE_EXCLUSIONS_LA_SECONDARY)
    return Part(figures=figs, sources=tuple(sources))


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
                 f"({points['school_type'].iloc[0]})\n{kind} around England's rate", fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    ax.set_ylim(bottom=0)
    figures.source_note(fig, source, official=True)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


# =========================================================================== results as tidy frames
def reference_prefix(year: str, area: str = AREA) -> str:
    """The key prefix of :func:`dfe_reference_results`: ``exclusions.dfe.<area>.y<year>.total.``."""
    return f"exclusions.dfe.{area.lower().replace(' ', '_')}.y{year_key(year)}.total."


def dfe_reference_results(rates: pd.DataFrame, check: pd.DataFrame, year: str, *, area: str = AREA,
                          source: str = "DfE SFR35/2017") -> pd.DataFrame:
    """Results of ``area``'s DfE rates, counts and headcount in ``year`` (Total), and the checks.

    Keys ``exclusions.dfe.<area>.y<year>.total.<measure>_rate|_count``, ``...headcount`` and
    ``exclusions.dfe.check.*``. Raises NotComputed if ``year`` is not in the table.
    """
    require_values(rates[rates["area"] == area]["year"], year, f"DfE rates of {area} for school year")
    ref = rates[(rates["area"] == area) & (rates["school_type"] == "Total") & (rates["year"] == year)]
    ref = ref.set_index(ref["measure"].astype(str))
    p = reference_prefix(year, area)
    notes = {"suspension": "suspensions", "one_plus": "pupils with one or more suspensions",
             "permanent": "permanent exclusions"}
    rows = []
    for m, what in notes.items():
        r = ref.loc[m]
        rows.append({"key": p + f"{m}_rate", "value": float(r["rate"]), "lower": float(r["lower"]),
                     "upper": float(r["upper"]), "unit": "rate_per_100", "method": str(r["ci_method"]),
                     "n": int(r["headcount"]),
                     "note": f"recomputed from DfE counts ({what} / pupils on roll x 100); published "
                             f"{r['published_rate']:.2f}; official statistics ({source})"})
        rows.append({"key": p + f"{m}_count", "value": int(r["count"]), "unit": "count",
                     "note": f"{what}, {area}, all state-funded and special schools ({source})"})
    rows.append({"key": p + "headcount", "value": int(ref["headcount"].iloc[0]), "unit": "count",
                 "note": f"pupils on roll at the January census ({source})"})
    la, nr = check[check["level"] == "Local authority"], check[check["level"] != "Local authority"]
    rows += [{"key": "exclusions.dfe.check.la_rates_compared", "value": int(la["compared"].sum()), "unit": "count",
              "note": f"{area} rates (3 measures x school types x years) recomputed from counts"},
             {"key": "exclusions.dfe.check.la_rates_disagree", "value": int(la["disagree"].sum()), "unit": "count",
              "note": "recomputed rates (2 dp, half up) that differ from the published ones"},
             {"key": "exclusions.dfe.check.region_nation_rates_outside_rounding", "value": int(nr["disagree"].sum()),
              "unit": "count", "note": "NW/England published rates outside the range their rounded counts allow"}]
    return pd.DataFrame(rows)


def all_la_check_results(check: pd.DataFrame) -> pd.DataFrame:
    """Results of the recomputation check over every local authority and year."""
    lac = check[check["level"] == "Local authority"]
    return pd.DataFrame([
        {"key": "exclusions.dfe.all_las.rates_compared", "value": int(lac["compared"].sum()), "unit": "count",
         "note": "local-authority rates recomputed from whole-number counts, every LA and year (2006/07-2022/23)"},
        {"key": "exclusions.dfe.all_las.rates_disagree", "value": int(lac["disagree"].sum()), "unit": "count",
         "note": "recomputed LA rates (published precision, half up) differing from the published ones"}])


#: England facts of the campaign (A12): key -> (group, characteristic_1, column, unit, note).
NATIONAL_FACTS = {
    "boys_suspension_ratio": ("sex", "Gender_male", "suspension_ratio", "ratio", "boys' suspension rate / girls'"),
    "fsm_suspension_ratio": ("fsm", "FSM_Eligible", "suspension_ratio", "ratio",
                             "FSM-eligible pupils' suspension rate / not eligible"),
    "sen_support_suspension_ratio": ("sen_provision", "SEN_provision_SEN_without_statement", "suspension_ratio",
                                     "ratio", "SEN without a statement (SEN support) / no SEN"),
    "gypsy_roma_suspension_rate": ("ethnicity", "Ethnicity_Minor_Gypsy_Roma", "suspension_rate", "rate_per_100",
                                   "Gypsy/Roma pupils, suspensions per 100 pupils"),
    "gypsy_roma_one_plus_rate": ("ethnicity", "Ethnicity_Minor_Gypsy_Roma", "one_plus_rate", "rate_per_100",
                                 "Gypsy/Roma pupils with one or more suspensions per 100"),
}


def national_results(national: pd.DataFrame) -> pd.DataFrame:
    """England's pattern (:func:`national_pattern`) as results ``exclusions.national.y<year>.*``."""
    year = national["year"].iloc[0]
    idx = national.set_index(["group", "characteristic_1"])
    rows = [{"key": f"exclusions.national.y{year_key(year)}.{k}", "value": float(idx.loc[(g, c), col]), "unit": unit,
             "note": f"England {year}, all schools; {note} (DfE SFR35/2017 national tables, official statistics)"}
            for k, (g, c, col, unit, note) in NATIONAL_FACTS.items()]
    rows.append({"key": f"exclusions.national.y{year_key(year)}.peak_age_suspension",
                 "value": national_peak_age(national)["age"], "unit": "count",
                 "note": "age (31 August) with England's highest suspension rate (official statistics)"})
    return pd.DataFrame(rows)


def rate_table_spec(id_cols: Sequence[str]) -> dict:
    """Disclosure arguments of a table of the three measures' counts, rates and intervals."""
    cols = [f"{m}_{v}" for m in MEASURES for v in ("rate", "lower", "upper")]
    return dict(preset="dfe", counts=[f"{m}_count" for m in MEASURES],
                derived={c: [c.rsplit("_", 1)[0] + "_count"] for c in cols}, decimals={c: 2 for c in cols},
                id_cols=list(id_cols))


def before_after_table(ba: pd.DataFrame) -> pd.DataFrame:
    """The before/after results for display: comparison, COVID years, term, estimate (95% CI)."""
    k = ba["key"].str.split(".", expand=True)
    out = pd.DataFrame({"comparison": k[3], "covid_years": k[4].str.replace("covid_", ""), "term": k[5],
                        "estimate": ba["value"].round(2), "lower": ba["lower"].round(2),
                        "upper": ba["upper"].round(2), "years": ba["n"]})
    return out[out["term"] != "pre_slope"].reset_index(drop=True)


def comparators_text(comparators: pd.DataFrame) -> str:
    """One sentence naming the comparable authorities with what they were matched on."""
    me = comparators.iloc[0]
    named = ", ".join(f"{a} ({r:.2f}, FSM {f:.1f}%)" for a, r, f in
                      comparators.iloc[1:][["area", "suspension_rate", "fsm_percent"]].itertuples(index=False))
    return (f"Comparable authorities (2015/16 suspension rate, January 2016 FSM share): {named}; "
            f"{me['area']} {me['suspension_rate']:.2f}, FSM {me['fsm_percent']:.1f}%.")


def rank_text(ranks: pd.DataFrame, year: str, *, area: str = AREA) -> str:
    """One sentence with the ranks of ``year`` (1 = highest rate)."""
    r = ranks[ranks["year"] == year].set_index("measure")
    if r.empty or not {"suspension", "one_plus", "permanent"} <= set(r.index):
        raise NotComputed(f"{area} has no published rate in {year} to rank (suppressed or missing: x, c, z or empty)")
    return (f"In {year} {area} ranked {r.loc['suspension', 'rank']} of {r.loc['suspension', 'n_areas']} local "
            f"authorities on suspensions, {r.loc['one_plus', 'rank']} on pupils with one or more suspensions and "
            f"{r.loc['permanent', 'rank']} on permanent exclusions (1 = highest rate). Ranks by year:")


def tables_text(dfe: pd.DataFrame, la: pd.DataFrame, latest: str) -> str:
    """What the two DfE tables hold (SFR35/2017 and the 2022/23 release), and the latest year the rank and
    funnel plot use."""
    return (f"DfE tables: SFR35/2017 {len(dfe)} rows ({dfe['year'].min()} to {dfe['year'].max()}); 2022/23 release "
            f"{len(la):,} rows ({la['year'].min()} to {la['year'].max()}, {la['la_name'].nunique()} areas). "
            f"Latest year (rank and funnel plot): **{latest}**.")


def reference_text(results: pd.DataFrame, year: str, *, area: str = AREA) -> str:
    """The section C rates of ``year`` and the recomputation check (from :func:`dfe_reference_results`)."""
    v = result_values(results)
    p = reference_prefix(year, area)
    return (f"In {year}, {area}'s schools had **{v[p + 'suspension_rate']:.2f}** suspensions, "
            f"**{v[p + 'one_plus_rate']:.2f}** pupils with one or more suspensions and "
            f"**{v[p + 'permanent_rate']:.2f}** permanent exclusions per 100 pupils. Of "
            f"{v['exclusions.dfe.check.la_rates_compared']:.0f} published {area} rates, "
            f"{v['exclusions.dfe.check.la_rates_disagree']:.0f} differ from their counts.")


def a11_official_text(results: pd.DataFrame, year: str) -> str:
    """A11's three rates on official statistics (from :func:`a11_official`), against Blackpool's published 12.48."""
    v = result_values(results)
    return (f"**A11 (official statistics).** In {year} the DfE's suspension rates were North West "
            f"**{v['exclusions.a11.official.north_west_rate']:.2f}** and England "
            f"**{v['exclusions.a11.official.england_rate']:.2f}** (the published comparators), and Blackpool "
            f"**{v['exclusions.a11.official.blackpool_rate']:.2f}**, not the published 12.48.")
