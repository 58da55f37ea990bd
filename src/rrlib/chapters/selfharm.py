"""Chapter 4, Self-harm readmissions: hospital admissions for self-harm among 10-24 year olds
against England, and whether young people who got the Resilience Coaches' self-harm support
came back to A&E.

Definitions
-----------
* **Admission for self-harm** (the national indicator, OHID Fingertips "Hospital
  admissions as a result of self-harm (10-24 years)"): an *emergency* admission (spell) of a
  resident aged 10-24 with an ICD-10 external cause code X60-X84 recorded. Admissions, not
  people: one person admitted three times counts three times.
* **Directly standardised rate (DSR)** per 100,000: European Standard Population 2013 weights
  for the bands 10-14, 15-19, 20-24 (5500, 5500, 6000); denominators the mid-year population of
  the year in which the financial year starts (2017/18 uses mid-2017). Dobson confidence limits
  (Dobson et al. 1991; PHE *Technical Guide: Confidence Intervals*), with the adjustment for
  non-independent events of PHEindicatormethods ``calculate_dsr(independent_events = FALSE)``
  because one person can be admitted repeatedly: person counts by (age band, number of
  admissions in the year) give the variance; frequencies are counted per person within each
  financial year and age band. :func:`rrlib.stats.dsr` implements both.
* **Official statistics** (OHID/PHE Fingertips indicator 90813, shipped as cuts in
  ``data/raw/public/``, read with :mod:`rrlib.public`): the published A10 and B07 figures are checked
  against them, never against the synthetic records. Blackpool's 2017/18 DSR (1009.63, 95%
  884.38-1147.65) and England's (421.20) are Fingertips' values and limits, recorded as official
  statistics and not recomputed: the cut has the total count and denominator but not the age-band
  counts :func:`rrlib.stats.dsr` would need. "About twice the national rate" is Blackpool's DSR over
  England's of the same year, read as a ratio within 10% of 2 (:data:`ABOUT_TWICE`: "about" for
  a rounded multiple; 2.4 would be "nearly two and a half times"). Blackpool's position among the
  upper-tier authorities: its rank by DSR (all authorities, rates only), and a funnel plot of the
  North West authorities, the only ones with counts (PHE's method for DSRs,
  :mod:`rrlib.stats.funnel`).
* **Financial year** of the "latest year" results: the ``financial_year`` parameter, by default
  the latest *complete* financial year of the admissions (one whose 1 April to 31 March lies
  within the admission dates). A10's year is fixed by the published figure (:data:`A10_YEAR`).
* **"One in every 100 children and young people aged 10-24 admitted"** (annual health report
  2019): read as admissions per 100 residents aged 10-24 (a crude rate); the distinct people
  admitted per 100 are reported beside it, since repeat admissions make them fewer.
* **Support cohort**, a target trial emulated (Hernan & Robins 2016): census pupils resident in
  Blackpool, aged ``age_min``-``age_max`` at an A&E attendance for self-harm in the support period
  (first to last referral in the support log, unless given). **Time zero** is the same for everyone:
  the first such attendance (the index). *Supported*: referred at the index attendance and first
  contacted within the grace period (:data:`GRACE_DAYS`, 7 days; contact follows within hours).
  *Not supported*: everyone else (never referred, referred and never contacted, or referred only at
  a later attendance, which comes after the outcome). Follow-up runs from time zero for both groups
  and is censored at the end of data for both.
* **Prior attendances**: self-harm A&E attendances in the ``prior_days`` (365) days before the
  index arrival.
* **Re-presentation**: a later self-harm A&E attendance (arrival after the index arrival).
  Time is counted in days from the index arrival (Kaplan-Meier, Cox) and censored at the end of
  data. For A09 ("82% have not returned to A&E with self-harm since receiving support"), time
  runs from first contact, and the share is taken among supported young people with a full
  follow-up window (``window_days``, default 365) before the end of data.

Intervals: proportions use the Wilson score method (:func:`rrlib.stats.proportion_ci`);
Kaplan-Meier with Greenwood (log-log) limits and the Cox model with Wald limits (lifelines).
The supported/not supported comparison is observational: referral was not random.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .. import chapter, disclosure, figures, stats
from ..calendar import start_year as fy_start_year
from ..chapter import NotComputed, require, require_values
from ..results import key_part
from ..results import values as _values
from ..stats import funnel

# ----------------------------------------------------------------------------- constants
#: European Standard Population 2013 weights for the 10-24 self-harm indicator's bands.
ESP2013_10_24 = {"10-14": 5500.0, "15-19": 5500.0, "20-24": 6000.0}
AGE_BANDS = tuple(ESP2013_10_24)
SELF_HARM_CODES = tuple(f"X{i}" for i in range(60, 85))
#: The focus area, as the processed tables name residence, and the column that holds it. Every
#: filter on residence goes through :func:`in_area` (one place to change if residence becomes a code).
AREA = "Blackpool"
AREA_COLUMN = "area"
#: The focus area and England in the official statistics.
AREA_CODE = "E06000009"
ENGLAND_CODE = "E92000001"
NORTH_WEST_CODE = "E12000002"
#: The year of the published A10 figures (234 admissions, "about twice", "one in every 100").
A10_YEAR = "2017/18"
#: "About twice": a ratio within 10% of 2.
ABOUT_TWICE = (1.8, 2.2)
OFFICIAL = ("OHID Fingertips, indicator 90813 'Hospital admissions as a result of self-harm (10-24 years)' "
            "(HES; ONS mid-year estimates)")
SOURCE_LINE = "A&E (ECDS-like) and hospital admissions (HES-like) extracts"


def in_area(df: pd.DataFrame, area: str = AREA) -> pd.Series:
    """Rows of ``df`` whose residence is ``area`` (the one place that reads the residence column)."""
    return df[AREA_COLUMN] == area


def age_band(age) -> pd.Series:
    """5-year band label (10-14, 15-19, 20-24) of ages 10-24; missing outside."""
    a = pd.Series(np.asarray(age, dtype=float))
    lab = pd.cut(a, bins=[9.5, 14.5, 19.5, 24.5], labels=list(AGE_BANDS))
    return lab.astype(object).where(lab.notna(), None)


# ----------------------------------------------------------------------------- admissions
def selfharm_admissions(admissions: pd.DataFrame, area: str = AREA,
                        ages: tuple[int, int] = (10, 24)) -> pd.DataFrame:
    """Admissions counted by the indicator: emergency, X60-X84 (``self_harm``), residents, ages 10-24.

    ``self_harm`` is re-derived from ``cause_code`` when that column is present, so the two
    cannot disagree silently. Adds ``age_band``.
    """
    a = admissions
    sh = a["cause_code"].isin(SELF_HARM_CODES) if "cause_code" in a else a["self_harm"].astype(bool)
    keep = sh & (a["admission_method"] == "emergency") & a["age"].between(*ages)
    if area is not None:
        keep &= in_area(a, area)
    out = a.loc[keep].copy()
    out["age_band"] = age_band(out["age"]).to_numpy()
    return out.reset_index(drop=True)


def population_bands(population: pd.DataFrame, area: str = AREA) -> pd.DataFrame:
    """Population aged 10-24 by mid-year and age band (both sexes): year, age_band, population."""
    p = population[(population["age"].between(10, 24))]
    if area is not None and AREA_COLUMN in p:
        p = p[in_area(p, area)]
    p = p.assign(age_band=age_band(p["age"]).to_numpy())
    return (p.groupby(["year", "age_band"], as_index=False)["population"].sum()
            .sort_values(["year", "age_band"]).reset_index(drop=True))


def admissions_by_year(adm: pd.DataFrame, population: pd.DataFrame | None = None,
                       area: str = AREA) -> pd.DataFrame:
    """Per financial year: admissions, distinct people admitted, people admitted more than once.

    With ``population``: residents aged 10-24 at mid-year and the crude rates
    ``admissions_per_100`` and ``people_per_100`` (the "one in every 100" reading).
    """
    g = adm.groupby("financial_year")
    per_person = adm.groupby(["financial_year", "person_id"]).size()
    out = pd.DataFrame({
        "admissions": g.size(),
        "people": g["person_id"].nunique(),
        "people_repeat": (per_person > 1).groupby(level=0).sum(),
    }).reset_index()
    if population is not None:
        pb = population_bands(population, area).groupby("year")["population"].sum()
        out["population"] = fy_start_year(out["financial_year"]).map(pb).to_numpy()
        out["admissions_per_100"] = out["admissions"] / out["population"] * 100
        out["people_per_100"] = out["people"] / out["population"] * 100
    return out


def dsr_by_year(adm: pd.DataFrame, population: pd.DataFrame, *, area: str = AREA,
                independent_events: bool = False, confidence: float = 0.95,
                standard: dict[str, float] | None = None) -> pd.DataFrame:
    """DSR per 100,000 by financial year with Dobson limits (see the module docstring).

    ``adm``: the indicator's admissions (:func:`selfharm_admissions`). ``population``: the
    population table (area, year, sex, age, population); the financial year 2017/18 uses
    mid-year 2017. Returns financial_year, admissions, people, population, dsr, lower, upper,
    method. Years without a population are left out.
    """
    std = dict(standard or ESP2013_10_24)
    pop = population_bands(population, area)
    years = sorted(adm["financial_year"].unique()) if len(adm) else []
    grid = pd.MultiIndex.from_product([years, list(std)], names=["financial_year", "age_band"]).to_frame(index=False)
    grid["year"] = fy_start_year(grid["financial_year"]).to_numpy()
    grid = grid.merge(pop, on=["year", "age_band"], how="inner")
    grid = grid[grid["population"] > 0]
    grid["standard"] = grid["age_band"].map(std).astype(float)
    ok_years = sorted(grid["financial_year"].unique())
    if not ok_years:
        return pd.DataFrame(columns=["financial_year", "admissions", "people", "population", "dsr",
                                     "lower", "upper", "method"])
    if independent_events:
        cnt = adm.groupby(["financial_year", "age_band"]).size().rename("x").reset_index()
        g = grid.merge(cnt, on=["financial_year", "age_band"], how="left").fillna({"x": 0})
        g = g.sort_values(["financial_year", "age_band"])
        res = stats.dsr(g["x"].to_numpy(), g["population"].to_numpy(), g["standard"].to_numpy(),
                        confidence=confidence, groups=g["financial_year"].to_numpy())
    else:
        freq = (adm.groupby(["financial_year", "age_band", "person_id"]).size().rename("f").reset_index()
                .groupby(["financial_year", "age_band", "f"]).size().rename("x").reset_index())
        g = grid.merge(freq, on=["financial_year", "age_band"], how="left")
        g["f"] = g["f"].fillna(1.0)
        g["x"] = g["x"].fillna(0.0)
        g = g.sort_values(["financial_year", "age_band", "f"])
        res = stats.dsr(g["x"].to_numpy(), g["population"].to_numpy(), g["standard"].to_numpy(),
                        confidence=confidence, independent_events=False, eventfreq=g["f"].to_numpy(),
                        ageband=g["age_band"].to_numpy(), groups=g["financial_year"].to_numpy())
    out = pd.DataFrame({
        "financial_year": np.asarray(res.extra["group"], dtype=object),
        "admissions": np.asarray(res.extra["total_count"], dtype=float).astype(int),
        "population": np.asarray(res.extra["total_pop"], dtype=float).astype(int),
        "dsr": np.asarray(res.value, dtype=float),
        "lower": np.asarray(res.lower, dtype=float),
        "upper": np.asarray(res.upper, dtype=float),
    })
    people = adm.groupby("financial_year")["person_id"].nunique()
    out.insert(2, "people", out["financial_year"].map(people).fillna(0).astype(int).to_numpy())
    out["method"] = res.method if isinstance(res.method, str) else list(res.method)
    out = out[out["financial_year"].isin(ok_years)].reset_index(drop=True)
    # the population is per financial year here (sum of the band populations)
    return out


def financial_years(adm: pd.DataFrame) -> list[str]:
    """Financial years of the admissions, sorted."""
    return sorted(adm["financial_year"].dropna().astype(str).unique())


def latest_complete_financial_year(adm: pd.DataFrame, date_col: str = "admission_date") -> str:
    """The latest financial year whose 1 April to 31 March lies within the admission dates.

    Raises :class:`~rrlib.chapter.NotComputed` when no financial year is complete.
    """

    if not len(adm):
        raise NotComputed("no hospital admissions in the data")
    first, last = pd.Timestamp(adm[date_col].min()).normalize(), pd.Timestamp(adm[date_col].max()).normalize()
    for fy in reversed(financial_years(adm)):
        y = int(fy_start_year(pd.Series([fy])).iloc[0])
        if first <= pd.Timestamp(y, 4, 1) and pd.Timestamp(y + 1, 3, 31) <= last:
            return fy
    raise NotComputed(f"no complete financial year in the admissions ({first:%d %b %Y} to {last:%d %b %Y})")


def _fy(fy: str) -> str:
    return "fy" + key_part(fy)


def _frame(rows: list[dict]) -> pd.DataFrame:
    cols = ["key", "value", "lower", "upper", "unit", "method", "n", "note"]
    return pd.DataFrame(rows).reindex(columns=cols)


def rates(admissions: pd.DataFrame, population: pd.DataFrame, independent_events: bool = False,
          area: str = AREA) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The indicator's admissions, their counts by year and their DSRs: (admissions, by_year, dsr).

    Raises :class:`~rrlib.chapter.NotComputed` when no self-harm admission has a population.
    """

    adm = selfharm_admissions(admissions, area)
    dsr = dsr_by_year(adm, population, area=area, independent_events=independent_events)
    require(len(dsr) > 0, f"no self-harm admissions of {area} residents aged 10-24 in a year with a population")
    return adm, admissions_by_year(adm, population, area), dsr


def nhs_count(n) -> str:
    """A count as the NHS rules publish it (1-7 suppressed as c, others rounded to 5), for counts quoted in text."""

    shown = disclosure.apply(pd.DataFrame({"n": [int(n)]}), preset="nhs", counts=["n"])[0]["n"].iloc[0]
    return f"{int(shown):,}" if str(shown).isdigit() else str(shown)


def trend_results(dsr: pd.DataFrame) -> pd.DataFrame:
    """Tidy results of :func:`dsr_by_year`: admissions, people and DSR of every financial year."""
    rows = []
    for r in dsr.itertuples(index=False):
        k = f"selfharm.admissions.{_fy(r.financial_year)}"
        rows += [dict(key=k + ".count", value=int(r.admissions), unit="count",
                      note="emergency admissions, ICD-10 X60-X84, residents aged 10-24"),
                 dict(key=k + ".people", value=int(r.people), unit="count", note="distinct people admitted")]
        if np.isfinite(r.dsr):
            rows.append(dict(key=k + ".dsr", value=float(r.dsr), lower=float(r.lower), upper=float(r.upper),
                             unit="rate_per_100000", method=f"{r.method}; ESP 2013 bands 10-14, 15-19, 20-24"))
    return _frame(rows)


def year_results(dsr: pd.DataFrame, by_year: pd.DataFrame, year: str, prefix: str,
                 england: pd.Series | None = None, why: str = "") -> pd.DataFrame:
    """One financial year: count, people, crude rates per 100 and, where England's official DSR
    for that year is given (``england``: DSR by financial year), the ratio to England.

    Raises :class:`~rrlib.chapter.NotComputed` when the year has no admissions or no population.
    """

    have = [str(y) for y in dsr["financial_year"]]
    if str(year) not in have:
        raise NotComputed(f"{why}no self-harm admissions with a population in financial year {year} "
                          f"(the data has {', '.join(have) or 'none'})")
    d = dsr.set_index("financial_year").loc[year]
    b = by_year.set_index("financial_year").loc[year]
    pop = int(b["population"])
    rows = [dict(key=f"{prefix}.financial_year", value=str(year), note="financial year of these results"),
            dict(key=f"{prefix}.count", value=int(d["admissions"]), unit="count",
                 note="emergency admissions, ICD-10 X60-X84, residents aged 10-24"),
            dict(key=f"{prefix}.people", value=int(d["people"]), unit="count", note="distinct people admitted"),
            dict(key=f"{prefix}.per_100", value=float(b["admissions_per_100"]), unit="rate_per_100", n=pop,
                 note="admissions per 100 residents aged 10-24 (crude; the 'one in every 100' reading)"),
            dict(key=f"{prefix}.people_per_100", value=float(b["people_per_100"]), unit="rate_per_100", n=pop,
                 note="distinct people admitted per 100 residents aged 10-24")]
    if np.isfinite(d["dsr"]):
        rows.append(dict(key=f"{prefix}.dsr", value=float(d["dsr"]), lower=float(d["lower"]),
                         upper=float(d["upper"]), unit="rate_per_100000", method=str(d["method"])))
        if england is not None and year in england.index:
            e = float(england[year])
            rows.append(dict(key=f"{prefix}.ratio_to_england", value=float(d["dsr"]) / e,
                             lower=float(d["lower"]) / e, upper=float(d["upper"]) / e, unit="ratio",
                             method=f"DSR over England's official DSR {year} ({e:g}, Fingertips 90813); "
                                    "limits: the DSR's limits over England's value"))
    return _frame(rows)


# ----------------------------------------------------------------------------- official statistics
def official_series(utla: pd.DataFrame, code: str = ENGLAND_CODE) -> pd.Series:
    """Official DSR per 100,000 by financial year for one area code (Fingertips 90813, all authorities)."""
    e = utla[utla["area_code"] == code]
    return e.set_index("period")["value"].astype(float).sort_index().rename_axis("financial_year")


def official_trend_results(utla: pd.DataFrame, codes: dict | None = None) -> pd.DataFrame:
    """Official DSRs by year for England and the focus area: keys ``selfharm.official.<name>.<fy>``."""
    codes = codes or {ENGLAND_CODE: "england", AREA_CODE: "blackpool"}
    rows = []
    for code, name in codes.items():
        for fy, v in official_series(utla, code).dropna().items():
            rows.append(dict(key=f"selfharm.official.{name}.{_fy(fy)}", value=float(v), unit="rate_per_100000",
                             method="official statistics: " + OFFICIAL + ", as published in 2019; not recomputed"))
    return _frame(rows)


def official_a10(nw: pd.DataFrame, year: str = A10_YEAR, code: str = AREA_CODE,
                 about: tuple[float, float] = ABOUT_TWICE) -> pd.DataFrame:
    """A10 on the official statistics: admissions, DSR with limits, England's DSR, the ratio.

    ``nw``: :func:`rrlib.public.load_fingertips_selfharm_nw`. The DSRs and limits are Fingertips'
    (the cut has no age-band counts to recompute them). The ratio's limits are Blackpool's limits
    over England's value (England's own interval is narrow: 417.1-425.3). ``about_twice`` is true
    when the ratio is within ``about``.
    """

    require_values(nw["period"], year, "Fingertips 90813 rows for")
    d = nw[nw["period"] == year].set_index("area_code")
    a, e, r = d.loc[code], d.loc[ENGLAND_CODE], d.loc[NORTH_WEST_CODE]
    src = "official statistics: " + OFFICIAL + f", {year}; Fingertips' value and 95% limits, not recomputed"
    k = f"selfharm.official.{_fy(year)}"
    ratio = float(a["value"]) / float(e["value"])
    return _frame([
        dict(key=f"{k}.blackpool.count", value=int(a["count"]), unit="count", n=int(a["denominator"]),
             method=src, note="admissions for self-harm, residents aged 10-24 (n: population aged 10-24)"),
        dict(key=f"{k}.blackpool.dsr", value=float(a["value"]), lower=float(a["lower_95"]),
             upper=float(a["upper_95"]), unit="rate_per_100000", n=int(a["denominator"]), method=src),
        dict(key=f"{k}.blackpool.crude_per_100", value=float(a["count"]) / float(a["denominator"]) * 100,
             unit="rate_per_100", n=int(a["denominator"]), method="count / denominator of the official statistics"),
        dict(key=f"{k}.england.dsr", value=float(e["value"]), lower=float(e["lower_95"]),
             upper=float(e["upper_95"]), unit="rate_per_100000", n=int(e["denominator"]), method=src),
        dict(key=f"{k}.north_west.dsr", value=float(r["value"]), lower=float(r["lower_95"]),
             upper=float(r["upper_95"]), unit="rate_per_100000", n=int(r["denominator"]), method=src),
        dict(key=f"{k}.ratio_to_england", value=ratio, lower=float(a["lower_95"]) / float(e["value"]),
             upper=float(a["upper_95"]) / float(e["value"]), unit="ratio",
             method="Blackpool's official DSR over England's (same year); limits: Blackpool's over England's value"),
        dict(key=f"{k}.ratio_to_north_west", value=float(a["value"]) / float(r["value"]),
             lower=float(a["lower_95"]) / float(r["value"]), upper=float(a["upper_95"]) / float(r["value"]),
             unit="ratio", method="Blackpool's official DSR over the North West's (same year); limits: Blackpool's "
             "over the North West's value"),
        dict(key=f"{k}.about_twice", value=bool(about[0] <= ratio <= about[1]), unit="boolean",
             note=f"'about twice' read as a ratio from {about[0]} to {about[1]} (within 10% of 2)"),
    ])


def official_rank(utla: pd.DataFrame, year: str = A10_YEAR, code: str = AREA_CODE) -> pd.DataFrame:
    """The area's rank by DSR among the upper-tier authorities with a published value (1 = highest)."""

    require_values(utla["period"], year, "Fingertips 90813 rates for")
    d = utla[(utla["period"] == year) & (utla["area_code"] != ENGLAND_CODE) & utla["value"].notna()]
    rank = d["value"].rank(ascending=False, method="min")
    mine = d["area_code"] == code
    k = f"selfharm.official.{_fy(year)}.blackpool"
    worse = d["significance"].eq("Worse")
    return _frame([
        dict(key=f"{k}.rank", value=int(rank[mine].iloc[0]), unit="count", n=int(len(d)),
             method="rank by official DSR among upper-tier authorities with a published value (1 = highest)"),
        dict(key=f"selfharm.official.{_fy(year)}.authorities_worse_than_england", value=int(worse.sum()),
             unit="count", n=int(len(d)), note="Fingertips' comparison with England (95% limits)"),
    ])


def nw_funnel(nw: pd.DataFrame, year: str = A10_YEAR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Funnel plot of the North West upper-tier authorities (PHE's method for DSRs, :mod:`rrlib.stats.funnel`).

    Returns (points, limits): points has area_code, area_name, count, value (DSR),
    denominator_derived, centre, significance; limits is :func:`~rrlib.stats.funnel.dsr_funnel_limits`.
    """

    d = nw[(nw["period"] == year) & (nw["area_type"] != "England") & (nw["area_type"] != "Region")]
    d = d.reset_index(drop=True)
    sig = funnel.dsr_funnel_significance(d["count"], d["value"])
    pts = pd.concat([d[["area_code", "area_name", "count", "value", "denominator"]],
                     sig[["denominator_derived", "centre", "significance"]]], axis=1)
    return pts, funnel.dsr_funnel_limits(d["count"], d["value"])


def admissions_table(dsr: pd.DataFrame, by_year: pd.DataFrame, england: pd.Series) -> pd.DataFrame:
    """Admissions, people and DSR by financial year, with England's official DSR and its source."""
    t = dsr.merge(by_year[["financial_year", "people_repeat"]], on="financial_year")
    t = t.merge(england.rename("england_official").reset_index(), on="financial_year", how="left")
    t = t[["financial_year", "admissions", "people", "people_repeat", "dsr", "lower", "upper", "england_official"]]
    return t.assign(england_source=np.where(t["england_official"].notna(), "OHID Fingertips 90813 (official statistics)",
                                            "not in the shipped official statistics"))


def official_table(points: pd.DataFrame, nw: pd.DataFrame, year: str = A10_YEAR) -> pd.DataFrame:
    """The North West table for publication: Fingertips' values with the funnel's verdict and the source."""
    d = nw[nw["period"] == year][["area_code", "area_name", "count", "denominator", "value", "lower_95",
                                  "upper_95", "compared_to_england"]]
    out = d.merge(points[["area_code", "denominator_derived", "significance"]], on="area_code", how="left")
    out = out.rename(columns={"value": "dsr", "significance": "funnel_nw_average"})
    out["denominator"] = out["denominator"].round().astype("Int64")
    out["denominator_derived"] = out["denominator_derived"].round(1)
    out["source"] = f"{OFFICIAL}, {year} (official statistics)"
    return out


def funnel_results(points: pd.DataFrame, year: str = A10_YEAR, code: str = AREA_CODE) -> pd.DataFrame:
    """Tidy results of :func:`nw_funnel`: the centre line, the focus area's place, areas above the 99.8% limit."""
    k = f"selfharm.official.{_fy(year)}.nw_funnel"
    mine = points[points["area_code"] == code].iloc[0]
    return _frame([
        dict(key=f"{k}.centre", value=float(points["centre"].iloc[0]), unit="rate_per_100000", n=int(len(points)),
             method="PHE funnel plot for DSRs: weighted average of the North West authorities "
                    "(events over derived denominators)"),
        dict(key=f"{k}.blackpool", value=str(mine["significance"]), n=int(mine["count"]),
             method="PHE funnel plot for DSRs (Byar's limits on the derived denominator)"),
        dict(key=f"{k}.above_998", value=int(points["significance"].eq("High (0.001)").sum()), unit="count",
             n=int(len(points)), note="North West authorities above the 99.8% limit"),
        dict(key=f"{k}.blackpool_highest", value=bool(mine["value"] == points["value"].max()), unit="boolean",
             note="Blackpool has the highest DSR of the North West authorities"),
    ])


# ----------------------------------------------------------------------------- support cohort
def _contacted(support: pd.DataFrame) -> pd.Series:
    return support["first_contact_datetime"].notna()


#: Grace period (days) for the start of support after time zero: first contact by then counts as
#: supported (:func:`support_cohort`). Contact follows the index attendance within hours.
GRACE_DAYS = 7


def support_cohort(ed: pd.DataFrame, support: pd.DataFrame, *, census_ids: Iterable[str] | None = None,
                   area: str = AREA, age_min: int = 10, age_max: int = 16,
                   period: tuple | None = None, prior_days: int = 365,
                   grace_days: float = GRACE_DAYS) -> pd.DataFrame:
    """One row per young person in the comparison, emulating a target trial (Hernan & Robins 2016,
    "Using big data to emulate a target trial when a randomized trial is not available", Am J
    Epidemiol 183:758-764).

    Eligibility: census pupils resident in ``area`` with a self-harm A&E attendance at ages
    ``age_min``-``age_max`` in the support period. **Time zero** is the same for everyone: the
    first such attendance (the index). **Supported**: referred at the index attendance and first
    contacted within ``grace_days`` of its arrival (a grace period; contact follows within hours).
    Everyone else is not supported, including young people referred only at a later attendance:
    that referral comes after their first re-presentation, the outcome, so it cannot be the
    exposure of an analysis from time zero (indexing them at the later attendance would give the
    two groups different time zeros). Prior attendances are counted before time zero.

    ``ed``: processed A&E attendances (``arrival_datetime`` a timestamp). ``support``: processed
    support log (``referral_datetime``, ``first_contact_datetime`` timestamps). ``census_ids``:
    pupil ids of the school census (default: ids starting with "P"). ``period``: (first, last)
    referral date; default from the support log.

    Columns: person_id, group ("supported"/"not supported"), supported (0/1),
    index_attendance_id, index_arrival, first_contact, referred_later (0/1: referred only at a
    later attendance), age, sex, male (0/1), prior_attendances.
    """
    sh = ed[ed["self_harm"].astype(bool)]
    sup = support.copy()
    if period is None:
        start = sup["referral_datetime"].min().normalize()
        end = sup["referral_datetime"].max().normalize()
    else:
        start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
    end_excl = end + pd.Timedelta(days=1)
    if census_ids is None:
        in_census = sh["person_id"].astype(str).str.startswith("P")
    else:
        in_census = sh["person_id"].isin(set(census_ids))
    elig = sh[in_census & in_area(sh, area) & sh["age"].between(age_min, age_max)
              & (sh["arrival_datetime"] >= start) & (sh["arrival_datetime"] < end_excl)]
    first = elig.sort_values(["arrival_datetime", "attendance_id"]).drop_duplicates("person_id")
    # the exposure: a referral at the index attendance, contacted within the grace period
    ref = sup.merge(first[["attendance_id", "person_id", "arrival_datetime"]].rename(
        columns={"attendance_id": "index_attendance_id", "person_id": "_pid"}), on="index_attendance_id")
    ref = ref[ref["_pid"] == ref["person_id"]]
    ok = _contacted(ref) & (ref["first_contact_datetime"] - ref["arrival_datetime"]
                            <= pd.Timedelta(days=grace_days))
    contact = ref[ok].sort_values("first_contact_datetime").drop_duplicates("person_id").set_index(
        "person_id")["first_contact_datetime"]
    later = set(sup.loc[~sup["index_attendance_id"].isin(set(first["attendance_id"])), "person_id"])
    c = pd.DataFrame({
        "person_id": first["person_id"].to_numpy(),
        "index_attendance_id": first["attendance_id"].to_numpy(),
        "index_arrival": pd.to_datetime(first["arrival_datetime"].to_numpy()),
        "age": first["age"].to_numpy(), "sex": first["sex"].to_numpy()})
    c["first_contact"] = pd.to_datetime(c["person_id"].map(contact))
    c["supported"] = c["first_contact"].notna().astype(int)
    c.insert(1, "group", np.where(c["supported"] == 1, "supported", "not supported"))
    c["referred_later"] = (c["person_id"].isin(later) & (c["supported"] == 0)).astype(int)
    c["male"] = (c["sex"] == "M").astype(int)
    c["prior_attendances"] = prior_attendances(sh, c, prior_days)
    return c.sort_values(["index_arrival", "person_id"]).reset_index(drop=True)


def prior_attendances(sh: pd.DataFrame, cohort: pd.DataFrame, prior_days: int = 365) -> np.ndarray:
    """Self-harm attendances of each cohort member in the ``prior_days`` days before the index arrival."""
    m = sh[["person_id", "arrival_datetime"]].merge(cohort[["person_id", "index_arrival"]], on="person_id")
    w = (m["arrival_datetime"] < m["index_arrival"]) & (
        m["arrival_datetime"] >= m["index_arrival"] - pd.Timedelta(days=prior_days))
    n = m[w].groupby("person_id").size()
    return cohort["person_id"].map(n).fillna(0).astype(int).to_numpy()


def contact_times(cohort: pd.DataFrame, within_hours: float = 24, confidence: float = 0.95) -> dict:
    """Hours from the index arrival to first contact (supported young people).

    Returns n, median, q1, q3 (hours), within (count contacted within ``within_hours``), and the
    share within with its Wilson interval (proportion).
    """
    s = cohort[cohort["supported"] == 1]
    h = (s["first_contact"] - s["index_arrival"]).dt.total_seconds().to_numpy() / 3600
    n = int(len(h))
    x = int(np.sum(h <= within_hours))
    ci = stats.proportion_ci(x, n, confidence=confidence) if n else None
    return {"n": n, "within": x, "share": ci.value if ci else np.nan,
            "lower": ci.lower if ci else np.nan, "upper": ci.upper if ci else np.nan,
            "median": float(np.median(h)) if n else np.nan,
            "q1": float(np.percentile(h, 25)) if n else np.nan,
            "q3": float(np.percentile(h, 75)) if n else np.nan, "hours": h}


def contact_hours_table(cohort: pd.DataFrame, bins: Sequence[float] = (0, 6, 12, 24, 48, 72, np.inf)) -> pd.DataFrame:
    """Supported young people by hours from index arrival to first contact (bands)."""
    s = cohort[cohort["supported"] == 1]
    h = (s["first_contact"] - s["index_arrival"]).dt.total_seconds() / 3600
    labels = [f"{int(a)}-{int(b)} h" if np.isfinite(b) else f"{int(a)} h or more" for a, b in zip(bins[:-1], bins[1:])]
    cut = pd.cut(h, bins=list(bins), labels=labels, right=True, include_lowest=True)
    return cut.value_counts(sort=False).rename_axis("hours_to_first_contact").rename("young_people").reset_index()


def representations(cohort: pd.DataFrame, ed: pd.DataFrame, end_of_data=None) -> pd.DataFrame:
    """Time to the first self-harm re-presentation after the index, in days, censored at the end of data.

    Adds to the cohort: next_arrival (first self-harm arrival after the index arrival; NaT if none
    before the end of data), days (to the event or to censoring), event (1/0), and from first
    contact (supported only): days_from_contact, event_from_contact. ``end_of_data`` defaults to
    the end of the day of the last arrival in ``ed``.
    """
    sh = ed[ed["self_harm"].astype(bool)][["person_id", "arrival_datetime", "attendance_id"]]
    end = _end_of_data(ed, end_of_data)
    m = sh.merge(cohort[["person_id", "index_arrival", "index_attendance_id"]], on="person_id")
    m = m[(m["arrival_datetime"] > m["index_arrival"]) & (m["attendance_id"] != m["index_attendance_id"])
          & (m["arrival_datetime"] <= end)]
    nxt = m.groupby("person_id")["arrival_datetime"].min()
    out = cohort.copy()
    out["next_arrival"] = out["person_id"].map(nxt)
    out["event"] = out["next_arrival"].notna().astype(int)
    stop = out["next_arrival"].fillna(end)
    out["days"] = (stop - out["index_arrival"]).dt.total_seconds() / 86400
    # from first contact (A09): re-presentations after the first contact
    mc = m.merge(out[["person_id", "first_contact"]], on="person_id")
    mc = mc[mc["first_contact"].notna() & (mc["arrival_datetime"] > mc["first_contact"])]
    nxt_c = mc.groupby("person_id")["arrival_datetime"].min()
    nc = out["person_id"].map(nxt_c)
    out["event_from_contact"] = np.where(out["first_contact"].notna(), nc.notna().astype(int), np.nan)
    out["days_from_contact"] = (nc.fillna(end) - out["first_contact"]).dt.total_seconds() / 86400
    out.attrs["end_of_data"] = end
    return out


def _end_of_data(ed: pd.DataFrame, end_of_data=None) -> pd.Timestamp:
    if end_of_data is not None:
        return pd.Timestamp(end_of_data) + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    return ed["arrival_datetime"].max().normalize() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)


def no_return_share(reps: pd.DataFrame, window_days: int = 365, confidence: float = 0.95) -> dict:
    """A09: share of supported young people with no self-harm A&E attendance within ``window_days``
    of first contact, among those followed for the whole window (Wilson interval).

    Returns n (followed for the full window), returned, no_return, share, lower, upper, and
    excluded (supported young people with less than a full window before the end of data).
    """
    s = reps[reps["supported"] == 1]
    end = reps.attrs.get("end_of_data")
    if end is None:
        raise ValueError("reps has no end_of_data (make it with representations())")
    full = (s["first_contact"] + pd.Timedelta(days=window_days)) <= end
    f = s[full]
    returned = (f["event_from_contact"] == 1) & (f["days_from_contact"] <= window_days)
    n = int(len(f))
    x = int(n - returned.sum())
    ci = stats.proportion_ci(x, n, confidence=confidence) if n else None
    return {"n": n, "returned": int(returned.sum()), "no_return": x,
            "share": ci.value if ci else np.nan, "lower": ci.lower if ci else np.nan,
            "upper": ci.upper if ci else np.nan, "excluded": int((~full).sum()), "window_days": window_days}


def kaplan_meier(reps: pd.DataFrame, times: Sequence[float] = (0, 30, 91, 182, 365, 730),
                 confidence: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kaplan-Meier estimates of staying free of re-presentation, by group (lifelines).

    Returns (curve, summary): ``curve`` has group, days, survival, lower, upper (every event
    time); ``summary`` has group, days, at_risk (numbers at risk at each of ``times``), events
    (cumulative re-presentations by then), survival, lower, upper.
    """
    from lifelines import KaplanMeierFitter

    curves, rows = [], []
    for grp, d in reps.groupby("group", sort=True):
        km = KaplanMeierFitter(alpha=1 - confidence)
        km.fit(d["days"], event_observed=d["event"], label=grp)
        sf = km.survival_function_.iloc[:, 0]
        ci = km.confidence_interval_survival_function_
        curves.append(pd.DataFrame({"group": grp, "days": sf.index.to_numpy(), "survival": sf.to_numpy(),
                                    "lower": ci.iloc[:, 0].to_numpy(), "upper": ci.iloc[:, 1].to_numpy()}))
        for t in times:
            at_risk = int((d["days"] >= t).sum())
            events = int(((d["event"] == 1) & (d["days"] <= t)).sum())
            s = float(km.survival_function_at_times(t).iloc[0])
            lo = float(np.interp(t, ci.index.to_numpy(), ci.iloc[:, 0].to_numpy()))
            hi = float(np.interp(t, ci.index.to_numpy(), ci.iloc[:, 1].to_numpy()))
            # step function: limits at the last event time at or before t
            idx = ci.index.to_numpy()
            j = np.searchsorted(idx, t, side="right") - 1
            if j >= 0:
                lo, hi = float(ci.iloc[j, 0]), float(ci.iloc[j, 1])
            rows.append({"group": grp, "days": t, "at_risk": at_risk, "events": events,
                         "survival": s, "lower": lo, "upper": hi})
    return pd.concat(curves, ignore_index=True), pd.DataFrame(rows)


def cox_model(reps: pd.DataFrame, adjust: Sequence[str] = ("age", "male", "log_prior"),
              confidence: float = 0.95) -> pd.DataFrame:
    """Cox proportional hazards model of time to first re-presentation (:func:`rrlib.stats.fit_cox`:
    lifelines ``CoxPHFitter``, Efron ties, Wald limits).

    Covariates: ``supported`` (1/0) and ``adjust`` among age (years), male (1/0) and log_prior
    (log(1 + prior self-harm attendances)). Returns a tidy frame: term, hr, lower, upper, p, n,
    events, dof_resid, model ("adjusted" or "crude" when ``adjust`` is empty). A model that does not
    converge (small cohorts: a covariate separating the events) is :class:`NotComputed`, with the reason.
    """
    d = reps.assign(log_prior=np.log1p(reps["prior_attendances"]))
    try:
        fit = stats.fit_cox(d, "days", "event", ["supported", *adjust], confidence=confidence)
    except stats.ModelDidNotConverge as exc:
        raise NotComputed(str(exc)) from None
    out = pd.DataFrame({"term": fit["term"].to_numpy(), "hr": fit["ratio"].to_numpy(),
                        "lower": fit["ratio_lower"].to_numpy(), "upper": fit["ratio_upper"].to_numpy(),
                        "p": fit["p_value"].to_numpy()})
    out["n"] = int(len(d))
    out["events"] = int(d["event"].sum())
    out["dof_resid"] = fit["dof_resid"].to_numpy()
    out["model"] = "adjusted" if adjust else "crude"
    return out


def cohort_summary(reps: pd.DataFrame) -> pd.DataFrame:
    """Cohort description by group: young people, female, mean age, with prior attendances, re-presented."""
    g = reps.groupby("group", sort=True)
    return pd.DataFrame({
        "young_people": g.size(),
        "female": g["male"].apply(lambda s: int((s == 0).sum())),
        "with_prior_attendances": g["prior_attendances"].apply(lambda s: int((s > 0).sum())),
        "re_presented": g["event"].sum().astype(int),
        "mean_age": g["age"].mean(),
    }).reset_index()


# ----------------------------------------------------------------------------- repeat attendance
def repeat_distribution(ed: pd.DataFrame, bins: Sequence[int] = (1, 2, 3, 4, 5, 10),
                        area: str | None = None) -> pd.DataFrame:
    """People by number of self-harm A&E attendances (whole extract), and the attendances they account for.

    Bands: 1, 2, 3, 4, 5-9, 10+ (from ``bins``). Columns: attendances_per_person, people,
    attendances, share_people, share_attendances (percent).
    """
    sh = ed[ed["self_harm"].astype(bool)]
    if area is not None:
        sh = sh[in_area(sh, area)]
    per = sh.groupby("person_id").size()
    edges = list(bins) + [np.inf]
    labels = []
    for a, b in zip(edges[:-1], edges[1:]):
        labels.append(str(a) if b == a + 1 else (f"{a}+" if not np.isfinite(b) else f"{a}-{int(b) - 1}"))
    band = pd.cut(per, bins=[x - 0.5 for x in edges], labels=labels)
    out = pd.DataFrame({"people": per.groupby(band, observed=False).size(),
                        "attendances": per.groupby(band, observed=False).sum()})
    out.index = out.index.astype(str)
    out = out.rename_axis("attendances_per_person").reset_index()
    out["share_people"] = out["people"] / out["people"].sum() * 100
    out["share_attendances"] = out["attendances"] / out["attendances"].sum() * 100
    return out


def concentration(ed: pd.DataFrame, top_share: float = 0.1, area: str | None = None) -> dict:
    """How many attendances the most frequent attenders account for.

    Returns people, attendances, repeaters (people with 2+), share_repeaters (percent of
    people), top_people (the ``top_share`` most frequent attenders, rounded up), top_attendances,
    top_share_attendances (percent of attendances).
    """
    sh = ed[ed["self_harm"].astype(bool)]
    if area is not None:
        sh = sh[in_area(sh, area)]
    per = np.sort(sh.groupby("person_id").size().to_numpy())[::-1]
    k = int(np.ceil(top_share * len(per)))
    return {"people": int(len(per)), "attendances": int(per.sum()), "repeaters": int((per > 1).sum()),
            "share_repeaters": float((per > 1).mean() * 100) if len(per) else np.nan,
            "top_people": k, "top_attendances": int(per[:k].sum()),
            "top_share_attendances": float(per[:k].sum() / per.sum() * 100) if len(per) else np.nan}


def interval_distribution(ed: pd.DataFrame, bins: Sequence[float] = (0, 7, 30, 91, 182, 365, np.inf)) -> pd.DataFrame:
    """Intervals between consecutive self-harm attendances of the same person, by band (days)."""
    sh = ed[ed["self_harm"].astype(bool)].sort_values(["person_id", "arrival_datetime"])
    gap = sh.groupby("person_id")["arrival_datetime"].diff().dt.total_seconds() / 86400
    gap = gap.dropna()
    labels = [f"{int(a)}-{int(b)} days" if np.isfinite(b) else f"over {int(a)} days"
              for a, b in zip(bins[:-1], bins[1:])]
    cut = pd.cut(gap, bins=list(bins), labels=labels, include_lowest=True)
    out = cut.value_counts(sort=False).rename_axis("interval").rename("intervals").reset_index()
    out["interval"] = out["interval"].astype(str)
    out["cumulative_percent"] = out["intervals"].cumsum() / max(out["intervals"].sum(), 1) * 100
    return out


# ----------------------------------------------------------------------------- results frames
def contact_results(ct: dict, within_hours: float = 24) -> pd.DataFrame:
    """Tidy results of :func:`contact_times`."""
    return _frame([
        dict(key="selfharm.support.contacted_within_24h", value=ct["share"] * 100, lower=ct["lower"] * 100,
             upper=ct["upper"] * 100, unit="percent", n=ct["n"], method="Wilson score",
             note=f"first contact within {within_hours:g} hours of the index A&E arrival"),
        dict(key="selfharm.support.contact_median_hours", value=ct["median"], unit="hours", n=ct["n"],
             note=f"interquartile range {ct['q1']:.1f} to {ct['q3']:.1f} hours"),
        dict(key="selfharm.support.young_people", value=ct["n"], unit="count"),
    ])


def no_return_results(nr: dict) -> pd.DataFrame:
    """Tidy result of :func:`no_return_share` (A09)."""
    return _frame([dict(
        key="selfharm.support.no_return_share", value=nr["share"] * 100, lower=nr["lower"] * 100,
        upper=nr["upper"] * 100, unit="percent", n=nr["n"], method="Wilson score",
        note=f"no self-harm A&E attendance within {nr['window_days']} days of first contact; supported young "
             f"people followed for the whole window ({nr['excluded']} with a shorter follow-up left out)")])


def km_results(km: pd.DataFrame, day: int = 365) -> pd.DataFrame:
    """Share free of re-presentation at ``day`` by group, from :func:`kaplan_meier`'s summary."""
    at0 = km[km["days"] == 0].set_index("group")["at_risk"]
    r = km[km["days"] == day]
    return _frame([dict(key=f"selfharm.representation.km_free_{day}d." + g.replace(" ", "_"),
                        value=s * 100, lower=lo * 100, upper=hi * 100, unit="percent", n=int(at0.get(g, 0)),
                        method="Kaplan-Meier, Greenwood (log-log) limits",
                        note=f"no self-harm re-presentation within {day} days of the index attendance")
                   for g, s, lo, hi in zip(r["group"], r["survival"], r["lower"], r["upper"])])


def cox_results(cox: pd.DataFrame) -> pd.DataFrame:
    """Hazard ratios of being supported (adjusted and crude) from :func:`cox_model` frames."""
    s = cox[cox["term"] == "supported"].set_index("model")
    adj, crude = s.loc["adjusted"], s.loc["crude"]
    return _frame([
        dict(key="selfharm.representation.hr_adjusted", value=float(adj["hr"]), lower=float(adj["lower"]),
             upper=float(adj["upper"]), unit="ratio", n=int(adj["n"]),
             method="Cox proportional hazards (Efron ties, Wald limits), adjusted for age, sex and "
                    "log(1 + prior self-harm attendances); observational"),
        dict(key="selfharm.representation.hr_crude", value=float(crude["hr"]), lower=float(crude["lower"]),
             upper=float(crude["upper"]), unit="ratio", n=int(crude["n"]),
             method="Cox proportional hazards, supported only; observational"),
        dict(key="selfharm.representation.events", value=int(adj["events"]), unit="count"),
    ])


def repeat_results(conc: dict, intervals: pd.DataFrame) -> pd.DataFrame:
    """Tidy results of :func:`concentration` and :func:`interval_distribution`."""
    iv = intervals.set_index("interval")
    within30 = float(iv.loc["7-30 days", "cumulative_percent"]) if "7-30 days" in iv.index else np.nan
    return _frame([
        dict(key="selfharm.repeats.share_repeaters", value=conc["share_repeaters"], unit="percent",
             n=conc["people"], note="people with two or more self-harm A&E attendances"),
        dict(key="selfharm.repeats.top10_share_of_attendances", value=conc["top_share_attendances"],
             unit="percent", n=conc["attendances"],
             note="share of self-harm attendances by the 10% most frequent attenders"),
        dict(key="selfharm.repeats.intervals_within_30_days", value=within30, unit="percent",
             note="re-attendance intervals of 30 days or less"),
    ])


# ----------------------------------------------------------------------------- figures
def plot_dsr(dsr: pd.DataFrame, england: pd.Series, area_label: str = AREA, *, synthetic: bool | None = True):
    """DSR per 100,000 by financial year from the data folder (Dobson 95% limits), with England's
    official DSRs (``england``: :func:`official_series`) for the years Fingertips gives only when the data
    folder is real (``synthetic`` False): synthetic and official values are never drawn on one axis (the
    official series has its own figure, :func:`plot_official_trend`)."""
    import matplotlib.pyplot as plt

    real = synthetic is False
    fig, ax = plt.subplots(figsize=(8, 4.6))
    yrs = list(dsr["financial_year"])
    x = np.arange(len(yrs))
    ax.errorbar(x, dsr["dsr"], yerr=[dsr["dsr"] - dsr["lower"], dsr["upper"] - dsr["dsr"]], fmt="o-",
                color="tab:red", capsize=3, label=f"{area_label}, data folder (95% CI, Dobson)")
    pos = {y: i for i, y in enumerate(yrs)}
    e = england[[y in pos for y in england.index]].dropna() if real else england.iloc[0:0]
    if len(e):
        ax.plot([pos[y] for y in e.index], e.to_numpy(), linestyle="none", marker="s", color="black",
                markersize=7, label="England (official statistics)")
    ax.set_xticks(x, yrs, rotation=45, ha="right")
    ax.set_ylim(0, None)
    ax.set_xlabel("Financial year")
    ax.set_ylabel("Admissions per 100,000 (directly standardised)")
    ax.set_title("Hospital admissions for self-harm, ages 10-24" + ("" if real else ", data folder"))
    ax.legend(loc="lower left", fontsize=8)
    figures.source_note(fig, f"{SOURCE_LINE}; England: OHID Fingertips 90813 (official statistics)" if real
                        else SOURCE_LINE, note="ESP 2013.")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def plot_official_trend(utla: pd.DataFrame, code: str = AREA_CODE, label: str = AREA):
    """Official DSRs 2011/12-2017/18: the focus area against England (Fingertips 90813)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.4))
    for c, name, style in ((code, label, dict(color="tab:red", marker="o")),
                           (ENGLAND_CODE, "England", dict(color="black", marker="s"))):
        s = official_series(utla, c).dropna()
        ax.plot(list(s.index), s.to_numpy(), label=name, **style)
    ax.set_ylim(0, None)
    ax.set_xlabel("Financial year")
    ax.set_ylabel("Admissions per 100,000 (directly standardised)")
    ax.set_title(f"Hospital admissions for self-harm, ages 10-24: {label} and England")
    ax.legend(loc="lower right")
    figures.source_note(fig, OFFICIAL + ", as published in 2019", official=True)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def plot_funnel(points: pd.DataFrame, limits: pd.DataFrame, code: str = AREA_CODE, year: str = A10_YEAR):
    """Funnel plot of DSR against derived denominator (PHE's method), the focus area labelled."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for side, ls, lab in (("2s", "--", "95% limits"), ("3s", ":", "99.8% limits")):
        ax.plot(limits[f"lower_{side}_population_1_year"], limits[f"lower_{side}_limit"], ls, color="grey",
                label=lab)
        ax.plot(limits[f"upper_{side}_population_1_year"], limits[f"upper_{side}_limit"], ls, color="grey")
    ax.axhline(limits["baseline"].iloc[0], color="black", lw=1, label="North West average (weighted)")
    mine = points["area_code"] == code
    ax.scatter(points.loc[~mine, "denominator_derived"], points.loc[~mine, "value"], color="tab:blue",
               label="North West authorities", zorder=3)
    ax.scatter(points.loc[mine, "denominator_derived"], points.loc[mine, "value"], color="tab:red", s=60,
               zorder=4)
    for r in points[mine].itertuples():
        ax.annotate(r.area_name, (r.denominator_derived, r.value), xytext=(6, 4), textcoords="offset points")
    ax.set_xlim(0, points["denominator_derived"].max() * 1.05)
    ax.set_ylim(0, max(points["value"].max(), limits["upper_2s_limit"].iloc[-1]) * 1.15)
    ax.set_xlabel("Population (derived: admissions x 100,000 / DSR)")
    ax.set_ylabel("Admissions per 100,000 (directly standardised)")
    ax.set_title(f"Self-harm admissions, ages 10-24, North West authorities, {year}")
    ax.legend(loc="upper right", fontsize=8)
    figures.source_note(fig, OFFICIAL + f", {year}", official=True,
                        note="Funnel limits: PHE method for DSRs.")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def plot_km(curve: pd.DataFrame, summary: pd.DataFrame, max_days: float = 730):
    """Kaplan-Meier curves of staying free of self-harm re-presentation, by group, with numbers at risk."""
    import matplotlib.pyplot as plt

    fig, (ax, tab) = plt.subplots(2, 1, figsize=(8, 5.6), gridspec_kw={"height_ratios": [4, 1]}, sharex=True)
    colours = {"supported": "tab:green", "not supported": "tab:grey"}
    for grp, d in curve.groupby("group", sort=True):
        d = d[d["days"] <= max_days]
        c = colours.get(grp, None)
        ax.step(d["days"], d["survival"], where="post", color=c, label=grp)
        ax.fill_between(d["days"], d["lower"], d["upper"], step="post", color=c, alpha=0.15)
    ax.set_ylim(0, 1)
    ax.set_ylabel("Share not re-presented")
    ax.set_title("Time to first A&E re-presentation with self-harm after the index attendance")
    ax.legend(loc="lower left")
    s = summary[summary["days"] <= max_days]
    groups = sorted(s["group"].unique())
    for i, grp in enumerate(groups):
        r = s[s["group"] == grp]
        last = -np.inf
        for _, row in r.iterrows():
            if row["days"] - last < 0.08 * max_days:  # keep the labels apart
                continue
            last = row["days"]
            tab.text(row["days"], i, str(row["at_risk_shown"] if "at_risk_shown" in r else row["at_risk"]),
                     ha="center", va="center", fontsize=8)
    tab.set_yticks(range(len(groups)), groups)
    tab.set_ylim(-0.7, len(groups) - 0.3)
    tab.set_xlabel("Days since the index attendance")
    tab.set_title("Numbers at risk (disclosure-controlled)", fontsize=8, loc="left")
    for sp in ("top", "right", "bottom"):
        tab.spines[sp].set_visible(False)
    tab.tick_params(axis="y", length=0)
    figures.source_note(fig, "A&E (ECDS-like) extract and the Resilience Coaches' support log",
                        note="Observational comparison.")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def repeats_figure(published: pd.DataFrame) -> figures.FigureData:
    """What the repeat-attendance figure draws: the shares of people and of attendances by attendances
    per person, from the published ``selfharm_repeat_attendance`` (NHS rules: counts rounded to 5,
    shares of suppressed counts not drawn)."""
    return figures.combine(*[
        figures.from_table(published, "selfharm_repeat_attendance", x="attendances_per_person", y=f"share_{what}",
                           n=what, series_label=what, key=("attendances_per_person",), preset="nhs")
        for what in ("people", "attendances")])


def plot_repeats(data: pd.DataFrame):
    """Share of people and of attendances by number of self-harm attendances per person, from the
    published figure data (:func:`repeats_figure`)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    people = data[data["series"] == "people"].reset_index(drop=True)
    att = data[data["series"] == "attendances"].set_index("x").reindex(people["x"]).reset_index()
    x = np.arange(len(people))
    w = 0.4
    ax.bar(x - w / 2, people["y"].fillna(0), width=w, color="tab:blue", label="people")
    ax.bar(x + w / 2, att["y"].fillna(0), width=w, color="tab:orange", label="attendances")
    ax.set_xticks(x, people["x"])
    ax.set_xlabel("Self-harm A&E attendances per person (whole extract)")
    ax.set_ylabel("Percent")
    ax.set_title("Repeat self-harm attendance: a few people account for many attendances")
    ax.legend()
    figures.source_note(fig, "A&E (ECDS-like) extract, young people aged 10-24")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


# ----------------------------------------------------------------------------- text
def check_parameters(params: dict, admission_years: Sequence[str]) -> None:
    """Bad parameters are one clear error (:class:`~rrlib.chapter.ParameterError`)."""

    chapter.check_type("financial_year", params.get("financial_year"), str, 'a financial year as text, e.g. "2021/22"')
    for name in ("follow_up_days", "contact_hours", "age_min", "age_max", "prior_days", "km_max_days"):
        chapter.check_type(name, params.get(name), (int, float), "a number, e.g. 365")
    if params.get("financial_year") is not None:
        chapter.check_choice("financial_year", params["financial_year"], admission_years,
                             "financial years of the admissions")


def official_text(frame: pd.DataFrame, year: str = A10_YEAR) -> str:
    """What the official statistics say about A10 (from the recorded frame)."""
    o = _values(frame, f"selfharm.official.{_fy(year)}.")
    n = int(frame.set_index("key").loc[f"selfharm.official.{_fy(year)}.blackpool.rank", "n"])
    lo, hi = ABOUT_TWICE
    return (f"**Official statistics (Fingertips 90813), {year}:** {o['blackpool.count']} admissions of Blackpool "
            f"residents aged 10-24, a directly standardised rate of **{o['blackpool.dsr']:.2f} per 100,000** against "
            f"England's {o['england.dsr']:.2f}: **{o['ratio_to_england']:.2f} times** England's rate "
            f"({'within' if o['about_twice'] else 'outside'} {lo}-{hi}, the reading of 'about twice'). Blackpool "
            f"ranks {o['blackpool.rank']} of {n} upper-tier authorities with a published rate; among the North West "
            f"authorities it is {o['nw_funnel.blackpool']} on the funnel plot (PHE's method for DSRs).")


def year_text(frame: pd.DataFrame, prefix: str, chosen: bool = True) -> str:
    """One financial year's admissions, rates and ratio to England (from :func:`year_results`)."""
    v = _values(frame, prefix + ".")
    how = "" if chosen else ", the latest complete financial year in the data"
    text = (f"In {v['financial_year']}{how}: **{v['count']} admissions** for self-harm of about "
            f"{nhs_count(v['people'])} young people aged 10-24, {v['per_100']:.2f} admissions per 100 residents of "
            f"that age ({v['people_per_100']:.2f} people per 100)")
    if "dsr" in v:
        text += f"; DSR {v['dsr']:.0f} per 100,000"
    if "ratio_to_england" in v:
        return text + f", **{v['ratio_to_england']:.2f} times** England's official rate that year."
    return text + " (England's official rate for that year is not in the shipped statistics, which end in 2017/18)."


def support_text(ct: dict, nr: dict | None = None, hours: float = 24) -> str:
    """Contact times, or (with ``nr``) the A09 share, in words."""
    if nr is not None:
        return (f"Of about {nhs_count(nr['n'])} supported young people followed for {nr['window_days']} days after "
                f"first contact, **{nr['share'] * 100:.1f}%** (95% CI {nr['lower'] * 100:.1f}% to "
                f"{nr['upper'] * 100:.1f}%) did not return to A&E with self-harm within that window (A09); about "
                f"{nhs_count(nr['excluded'])} with a shorter follow-up are not counted.")
    return (f"About {nhs_count(ct['n'])} young people were supported. **{ct['share'] * 100:.1f}%** were contacted "
            f"within {hours:g} hours of arriving at A&E (95% CI {ct['lower'] * 100:.1f}% to {ct['upper'] * 100:.1f}%, "
            f"Wilson); median {ct['median']:.1f} hours (IQR {ct['q1']:.1f} to {ct['q3']:.1f}).")


def hazard_text(frame: pd.DataFrame) -> str:
    """The Cox hazard ratios in words (from :func:`cox_results`)."""
    f = frame.set_index("key")
    a, c = f.loc["selfharm.representation.hr_adjusted"], f.loc["selfharm.representation.hr_crude"]
    return (f"Adjusted hazard ratio of re-presenting, supported against not supported: **{a['value']:.2f}** "
            f"(95% CI {a['lower']:.2f} to {a['upper']:.2f}); crude {c['value']:.2f} "
            f"({c['lower']:.2f} to {c['upper']:.2f}).")


def repeat_text(conc: dict, frame: pd.DataFrame) -> str:
    """Repeat attendance in words (from :func:`concentration` and :func:`repeat_results`)."""
    w = _values(frame)["selfharm.repeats.intervals_within_30_days"]
    return (f"About {nhs_count(conc['people'])} young people made about {nhs_count(conc['attendances'])} A&E "
            f"attendances for self-harm; {conc['share_repeaters']:.0f}% came more than once, and the 10% who came "
            f"most often account for **{conc['top_share_attendances']:.0f}%** of attendances. {w:.0f}% of "
            "re-attendances came within 30 days.")


def data_text(ed: pd.DataFrame, adm: pd.DataFrame, support: pd.DataFrame | None = None) -> str:
    """The data folder's A&E attendances, admissions and referrals, counts rounded as the NHS rules publish them."""
    ref = "no self-harm support log" if support is None else f"{nhs_count(len(support))} referrals to the self-harm support"
    return (f"About {nhs_count(len(ed))} A&E attendances ({nhs_count(ed['self_harm'].sum())} for self-harm), "
            f"{nhs_count(len(adm))} admissions and {ref} (counts rounded to 5 as the NHS rules publish them); A&E data "
            f"from {ed['arrival_datetime'].min():%d %B %Y} to {ed['arrival_datetime'].max():%d %B %Y} (the censoring date).")
