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
* **England comparison**: England's published DSRs (B07) are read from the shipped public table
  ``data/raw/public/self_harm_england.csv``, never recomputed. The 2017/18 ratio (A10 "about
  twice the national rate") is Blackpool's 2017/18 DSR over England's value for the reference
  year (default 2016/17, the latest published England value at or before 2017/18 in the table;
  the sensitivity against 2019/20 is reported as well).
* **"One in every 100 children and young people aged 10-24 admitted"** (annual health report
  2019): read as admissions per 100 residents aged 10-24 (a crude rate); the distinct people
  admitted per 100 are reported beside it, since repeat admissions make them fewer.
* **Support cohort**: census pupils resident in Blackpool, aged ``age_min``-``age_max`` at an
  A&E attendance for self-harm in the support period (first to last referral in the support
  log, unless given). *Supported*: referred to the Resilience Coaches and contacted (a first
  contact is recorded); the index is the attendance that led to the referral. *Not supported*:
  everyone else in the cohort (never referred, or referred and never contacted); the index is
  their first self-harm attendance in the support period.
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

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .. import stats
from ..calendar import start_year as fy_start_year

# ----------------------------------------------------------------------------- constants
#: European Standard Population 2013 weights for the 10-24 self-harm indicator's bands.
ESP2013_10_24 = {"10-14": 5500.0, "15-19": 5500.0, "20-24": 6000.0}
AGE_BANDS = tuple(ESP2013_10_24)
SELF_HARM_CODES = tuple(f"X{i}" for i in range(60, 85))
ENGLAND_FILE = "self_harm_england.csv"
SOURCE_LINE = "Source: A&E (ECDS-like) and hospital admissions (HES-like) extracts; England: OHID Fingertips (B07)."


def age_band(age) -> pd.Series:
    """5-year band label (10-14, 15-19, 20-24) of ages 10-24; missing outside."""
    a = pd.Series(np.asarray(age, dtype=float))
    lab = pd.cut(a, bins=[9.5, 14.5, 19.5, 24.5], labels=list(AGE_BANDS))
    return lab.astype(object).where(lab.notna(), None)


# ----------------------------------------------------------------------------- admissions
def selfharm_admissions(admissions: pd.DataFrame, area: str = "Blackpool",
                        ages: tuple[int, int] = (10, 24)) -> pd.DataFrame:
    """Admissions counted by the indicator: emergency, X60-X84 (``self_harm``), residents, ages 10-24.

    ``self_harm`` is re-derived from ``cause_code`` when that column is present, so the two
    cannot disagree silently. Adds ``age_band``.
    """
    a = admissions
    sh = a["cause_code"].isin(SELF_HARM_CODES) if "cause_code" in a else a["self_harm"].astype(bool)
    keep = sh & (a["admission_method"] == "emergency") & a["age"].between(*ages)
    if area is not None:
        keep &= a["area"] == area
    out = a.loc[keep].copy()
    out["age_band"] = age_band(out["age"]).to_numpy()
    return out.reset_index(drop=True)


def population_bands(population: pd.DataFrame, area: str = "Blackpool") -> pd.DataFrame:
    """Population aged 10-24 by mid-year and age band (both sexes): year, age_band, population."""
    p = population[(population["age"].between(10, 24))]
    if area is not None and "area" in p:
        p = p[p["area"] == area]
    p = p.assign(age_band=age_band(p["age"]).to_numpy())
    return (p.groupby(["year", "age_band"], as_index=False)["population"].sum()
            .sort_values(["year", "age_band"]).reset_index(drop=True))


def admissions_by_year(adm: pd.DataFrame, population: pd.DataFrame | None = None,
                       area: str = "Blackpool") -> pd.DataFrame:
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


def dsr_by_year(adm: pd.DataFrame, population: pd.DataFrame, *, area: str = "Blackpool",
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


def read_england(public_dir: str | Path | None = None) -> pd.DataFrame:
    """England's (and the North West's) published DSRs, B07, from the shipped public table, as given."""
    if public_dir is None:
        from .. import paths
        public_dir = paths.PUBLIC_DIR
    f = Path(public_dir) / ENGLAND_FILE
    df = pd.read_csv(f, dtype={"financial_year": str, "area_name": str})
    need = {"area_name", "financial_year", "value"}
    if not need <= set(df.columns):
        raise ValueError(f"{f}: columns {sorted(need - set(df.columns))} missing")
    return df


def england_series(england: pd.DataFrame, area_name: str = "England") -> pd.Series:
    """Published DSR per 100,000 by financial year for one area (England by default)."""
    e = england[england["area_name"] == area_name]
    return e.set_index("financial_year")["value"].astype(float).sort_index()


def compare_with_england(dsr: pd.DataFrame, england: pd.DataFrame, year: str = "2017/18",
                         reference_year: str = "2016/17") -> dict:
    """Blackpool's DSR in ``year`` over England's published DSR in ``reference_year``.

    The limits divide Blackpool's Dobson limits by England's value (England's published value
    is treated as fixed). Returns a dict: value, lower, upper, blackpool, england, reference_year.
    """
    eng = england_series(england)
    if reference_year not in eng.index:
        raise KeyError(f"England has no published value for {reference_year}; have {list(eng.index)}")
    row = dsr.set_index("financial_year").loc[year]
    e = float(eng[reference_year])
    return {"value": float(row["dsr"]) / e, "lower": float(row["lower"]) / e, "upper": float(row["upper"]) / e,
            "blackpool": float(row["dsr"]), "england": e, "reference_year": reference_year, "year": year}


# ----------------------------------------------------------------------------- support cohort
def _contacted(support: pd.DataFrame) -> pd.Series:
    return support["first_contact_datetime"].notna()


def support_cohort(ed: pd.DataFrame, support: pd.DataFrame, *, census_ids: Iterable[str] | None = None,
                   area: str = "Blackpool", age_min: int = 10, age_max: int = 16,
                   period: tuple | None = None, prior_days: int = 365) -> pd.DataFrame:
    """One row per young person in the comparison (see the module docstring).

    ``ed``: processed A&E attendances (``arrival_datetime`` a timestamp). ``support``: processed
    support log (``referral_datetime``, ``first_contact_datetime`` timestamps). ``census_ids``:
    pupil ids of the school census (default: ids starting with "P"). ``period``: (first, last)
    referral date; default from the support log.

    Columns: person_id, group ("supported"/"not supported"), supported (0/1),
    index_attendance_id, index_arrival, first_contact, age, sex, male (0/1), prior_attendances.
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
    elig = sh[in_census & (sh["area"] == area) & sh["age"].between(age_min, age_max)
              & (sh["arrival_datetime"] >= start) & (sh["arrival_datetime"] < end_excl)]
    # supported: contacted referrals, one per person (their first contacted referral)
    s = sup[_contacted(sup)].merge(
        sh[["attendance_id", "arrival_datetime", "age", "sex", "person_id", "area"]]
        .rename(columns={"attendance_id": "index_attendance_id", "person_id": "_pid"}),
        on="index_attendance_id", how="inner")
    s = s[(s["_pid"] == s["person_id"]) & s["age"].between(age_min, age_max) & (s["area"] == area)]
    s = s.sort_values("referral_datetime").drop_duplicates("person_id")
    sup_rows = pd.DataFrame({
        "person_id": s["person_id"].to_numpy(), "group": "supported",
        "index_attendance_id": s["index_attendance_id"].to_numpy(),
        "index_arrival": s["arrival_datetime"].to_numpy(),
        "first_contact": s["first_contact_datetime"].to_numpy(),
        "age": s["age"].to_numpy(), "sex": s["sex"].to_numpy()})
    rest = elig[~elig["person_id"].isin(set(sup_rows["person_id"]))]
    rest = rest.sort_values(["arrival_datetime", "attendance_id"]).drop_duplicates("person_id")
    not_rows = pd.DataFrame({
        "person_id": rest["person_id"].to_numpy(), "group": "not supported",
        "index_attendance_id": rest["attendance_id"].to_numpy(),
        "index_arrival": rest["arrival_datetime"].to_numpy(),
        "first_contact": pd.NaT,
        "age": rest["age"].to_numpy(), "sex": rest["sex"].to_numpy()})
    c = pd.concat([sup_rows, not_rows], ignore_index=True)
    c["first_contact"] = pd.to_datetime(c["first_contact"])
    c["index_arrival"] = pd.to_datetime(c["index_arrival"])
    c["supported"] = (c["group"] == "supported").astype(int)
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
    """Cox proportional hazards model of time to first re-presentation (lifelines ``CoxPHFitter``).

    Covariates: ``supported`` (1/0) and ``adjust`` among age (years), male (1/0) and log_prior
    (log(1 + prior self-harm attendances)); Efron ties. Returns a tidy frame: term, hr, lower,
    upper, p, n, events, model ("adjusted" or "crude" when ``adjust`` is empty).
    """
    from lifelines import CoxPHFitter

    d = reps.assign(log_prior=np.log1p(reps["prior_attendances"]))
    cols = ["supported", *adjust]
    m = CoxPHFitter(alpha=1 - confidence)
    m.fit(d[["days", "event", *cols]], duration_col="days", event_col="event")
    s = m.summary
    lo_col = [c for c in s.columns if c.startswith("exp(coef) lower")][0]
    hi_col = [c for c in s.columns if c.startswith("exp(coef) upper")][0]
    out = pd.DataFrame({"term": s.index.to_numpy(), "hr": s["exp(coef)"].to_numpy(),
                        "lower": s[lo_col].to_numpy(), "upper": s[hi_col].to_numpy(), "p": s["p"].to_numpy()})
    out["n"] = int(len(d))
    out["events"] = int(d["event"].sum())
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
        sh = sh[sh["area"] == area]
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
        sh = sh[sh["area"] == area]
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


# ----------------------------------------------------------------------------- figures
def plot_dsr(dsr: pd.DataFrame, england: pd.DataFrame, area_label: str = "Blackpool"):
    """DSR per 100,000 by financial year, Blackpool (Dobson 95% limits) against England's published values."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.6))
    yrs = list(dsr["financial_year"])
    x = np.arange(len(yrs))
    ax.errorbar(x, dsr["dsr"], yerr=[dsr["dsr"] - dsr["lower"], dsr["upper"] - dsr["dsr"]], fmt="o-",
                color="tab:red", capsize=3, label=f"{area_label} (95% CI, Dobson)")
    for name, style in (("England", dict(color="black", marker="s")),
                        ("North West", dict(color="tab:blue", marker="^"))):
        e = england_series(england, name)
        pos = {y: i for i, y in enumerate(yrs)}
        ex = [pos[y] for y in e.index if y in pos]
        ev = [float(v) for y, v in e.items() if y in pos]
        if ex:
            ax.plot(ex, ev, linestyle="none", markersize=7, label=f"{name} (published)", **style)
    ax.set_xticks(x, yrs, rotation=45, ha="right")
    ax.set_ylim(0, None)
    ax.set_xlabel("Financial year")
    ax.set_ylabel("Admissions per 100,000 (directly standardised)")
    ax.set_title("Hospital admissions for self-harm, ages 10-24")
    ax.legend(loc="lower left", fontsize=8)
    fig.text(0.01, 0.005, SOURCE_LINE + " ESP 2013.", fontsize=7, ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
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
    fig.text(0.01, 0.005, "Source: A&E (ECDS-like) extract and the Resilience Coaches' support log; "
             "observational comparison.", fontsize=7, ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def plot_repeats(dist: pd.DataFrame):
    """Share of people and of attendances by number of self-harm attendances per person."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    x = np.arange(len(dist))
    w = 0.4
    ax.bar(x - w / 2, dist["share_people"], width=w, color="tab:blue", label="people")
    ax.bar(x + w / 2, dist["share_attendances"], width=w, color="tab:orange", label="attendances")
    ax.set_xticks(x, dist["attendances_per_person"])
    ax.set_xlabel("Self-harm A&E attendances per person (whole extract)")
    ax.set_ylabel("Percent")
    ax.set_title("Repeat self-harm attendance: a few people account for many attendances")
    ax.legend()
    fig.text(0.01, 0.005, "Source: A&E (ECDS-like) extract, young people aged 10-24.", fontsize=7,
             ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig
