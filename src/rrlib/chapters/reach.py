"""Chapter 1, Reach: how many opportunities the Resilience Revolution created, for whom, where,
and whether people came back.

Definitions (they reproduce the published reach figures A01, A02, A05, A06, B02, B03)
-------------------------------------------------------------------------------------
The programme's monitoring log has two tables (see :mod:`rrlib.data.programme`):
``activities`` (one row per session, meeting, event, training or course) and ``attendance``
(one row per person registered for an activity, with a role and whether they attended).

* **Opportunity** (the published unit): an *attended place*, that is one ``attendance`` row
  with ``attended`` true. A young person who comes to ten co-production meetings has had ten
  opportunities; a place booked but not attended is not an opportunity.
* **Opportunities for young people** (A01): attended places with role ``young_person``, in
  every project and strand (universal, targeted, co-production, workforce: young people who
  co-deliver trainings count too).
* **Opportunities for adults who support young people** (A02): attended places with role
  ``parent_carer`` or ``school_staff`` (the two groups the evidence submission names), in every
  project. Practitioners and volunteers are reported by role but are not part of A02.
* **Training and workforce activities** (A05): activities of the strand ``workforce``
  (project "Training and workforce development"); their *participants* are the attended places
  in them, every role counted (a person at two trainings is two participants, as in a register
  count); unique people are reported as well.
* **Co-production attendance** (A06): attended places / registered places (all rows) in the
  activities of the strand ``co-production``, every role; Wilson score interval (PHE). The
  interval treats places as independent, which they are not quite (the same people come
  back): it is a lower bound on the uncertainty.
* **Unique young people aged 10-16 reached** (B02): distinct young people with at least one
  attended place at which they were aged 10 to 16. Age at an activity is whole years from the
  census month and year of birth, counting the birthday as the first of the birth month.
* **Resilience Coach and Walk and Talk young people in the first two years** (B03): distinct
  young people with an attended place in that project dated 1 September 2016 to 31 August 2018
  (school years 2016/17 and 2017/18).
* **School year**: 1 September to 31 August ("2016/17").
* **Young people who attended an ARA school** (A03): distinct pupils on roll at the January 2021
  census (school year 2020/21, the last before the 2021 submission) whose school's
  ``ara_start_date`` is on or before census day (the third Thursday of January): :func:`ara_pupils`.
* **Beating Bullying Charter schools** (A04): schools with a ``charter_signed_date`` on or before
  the reference date (default: every signed school).
* **Free school meals** (A13): distinct pupils on roll at the January 2015 or January 2016 census
  (the two before the 2016 bid) and, of them, those recorded on free school meals at either:
  :func:`fsm_share`.

Intervals: proportions use the Wilson score method (PHE *Technical Guide: Confidence
Intervals*; :func:`rrlib.stats.proportion_ci`). Reach equity ratios divide the Wilson interval
of a group's share of the young people reached by its share of the census (a full count,
treated as fixed).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .. import stats
from ..calendar import academic_year
from ..calendar import start_year as year_start

# ----------------------------------------------------------------------------- definitions
YOUNG_PERSON = "young_person"
#: Roles counted in A02, "opportunities for those that play a supportive role (school staff, parents/carers)".
SUPPORTING_ADULT_ROLES = ("parent_carer", "school_staff")
OTHER_ADULT_ROLES = ("practitioner", "volunteer")
ROLES = (YOUNG_PERSON,) + SUPPORTING_ADULT_ROLES + OTHER_ADULT_ROLES
WORKFORCE_STRAND = "workforce"
COPRODUCTION_STRAND = "co-production"
STRANDS = ("universal", "targeted", "co-production", "workforce")
RESILIENCE_COACH = "Resilience Coach 1:1 and group"
WALK_AND_TALK = "Walk and Talk"
FIRST_TWO_YEARS = ("2016-09-01", "2018-08-31")
AGE_MIN, AGE_MAX = 10, 16
GROUP_LABELS = {YOUNG_PERSON: "young people", "supporting_adults": "supporting adults",
                "other_adults": "practitioners and volunteers"}
SOURCE = "Source: HeadStart Blackpool monitoring log (activities, attendance) and January school census"
DEPTH_BINS = ((1, 1, "1"), (2, 5, "2-5"), (6, np.inf, "6+"))
DEPTH_BINS_FINE = ((1, 1, "1"), (2, 2, "2"), (3, 5, "3-5"), (6, 10, "6-10"), (11, 20, "11-20"),
                   (21, 50, "21-50"), (51, np.inf, "51+"))


def census_date(ay) -> pd.Series:
    """January census day of a school year: the third Thursday of January of its second calendar year."""
    y = year_start(ay) + 1
    jan1 = pd.to_datetime(y.astype(str) + "-01-01")
    first_thu = jan1 + pd.to_timedelta((3 - jan1.dt.weekday) % 7, unit="D")
    return first_thu + pd.Timedelta(days=14)


def age_at(dates, birth_year, birth_month) -> np.ndarray:
    """Age in whole years at ``dates`` from year and month of birth (birthday = 1st of the month)."""
    d = pd.to_datetime(pd.Series(dates).reset_index(drop=True))
    by = np.asarray(birth_year, dtype=float)
    bm = np.asarray(birth_month, dtype=float)
    return d.dt.year.to_numpy() - by - (d.dt.month.to_numpy() < bm)


def _with_year(att: pd.DataFrame) -> pd.DataFrame:
    if "academic_year" not in att.columns:
        att = att.assign(academic_year=academic_year(att["activity_date"]).to_numpy())
    return att


def _need(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{what} lacks columns {missing} (has {list(df.columns)})")


def role_group(role: pd.Series) -> pd.Series:
    """young_person, supporting_adults (parents/carers, school staff) or other_adults."""
    r = pd.Series(role)
    # classify the few distinct roles, then spread back (vectorised; no per-row str conversion)
    codes, uniq = pd.factorize(r, use_na_sentinel=False)
    u = pd.Series(uniq, dtype=object).astype(str)
    lab = np.where(u == YOUNG_PERSON, YOUNG_PERSON,
                   np.where(u.isin(SUPPORTING_ADULT_ROLES), "supporting_adults", "other_adults")).astype(object)
    return pd.Series(lab[codes], index=r.index)


def opportunities(attendance: pd.DataFrame) -> pd.DataFrame:
    """The opportunities: attended places (``attended`` true), with their role ``group``."""
    _need(attendance, ["activity_id", "person_id", "role", "attended"], "attendance")
    opp = attendance.loc[attendance["attended"].astype(bool)].copy()
    opp["group"] = role_group(opp["role"]).to_numpy()
    return opp.reset_index(drop=True)


# ----------------------------------------------------------------------------- opportunities
def opportunity_totals(attendance: pd.DataFrame) -> pd.DataFrame:
    """Opportunities (attended places) in total by role group and role, with registered places.

    Columns: ``group``, ``role``, ``registered`` (rows), ``opportunities`` (attended rows),
    ``people`` (distinct persons with an attended place). A01 is the ``young_person`` row,
    A02 the sum of the ``supporting_adults`` rows.
    """
    _need(attendance, ["person_id", "role", "attended"], "attendance")
    a = attendance.assign(group=role_group(attendance["role"]).to_numpy(),
                          attended=attendance["attended"].astype(bool))
    g = a.groupby(["group", "role"], sort=False)
    out = pd.DataFrame({
        "registered": g.size(),
        "opportunities": g["attended"].sum(),
        "people": a.loc[a["attended"]].groupby(["group", "role"])["person_id"].nunique(),
    }).fillna(0).astype(int).reset_index()
    order = {r: i for i, r in enumerate(ROLES)}
    out = out.sort_values("role", key=lambda s: s.map(order).fillna(99)).reset_index(drop=True)
    return out


def young_people_opportunities(attendance: pd.DataFrame) -> int:
    """A01: number of attended places of young people."""
    a = attendance
    return int(((a["role"] == YOUNG_PERSON) & a["attended"].astype(bool)).sum())


def supporting_adult_opportunities(attendance: pd.DataFrame) -> int:
    """A02: number of attended places of parents/carers and school staff."""
    a = attendance
    return int((a["role"].isin(SUPPORTING_ADULT_ROLES) & a["attended"].astype(bool)).sum())


def opportunities_by(attendance: pd.DataFrame, by: str | Sequence[str]) -> pd.DataFrame:
    """Opportunities of young people and of supporting adults by one or more activity columns.

    ``by`` may name ``project``, ``strand``, ``setting``, ``format``, ``school_id`` or
    ``academic_year`` (computed from ``activity_date`` if absent). Returns one row per level
    with columns ``young_people``, ``supporting_adults``, ``other_adults``, ``activities``
    (activities with at least one opportunity) and ``young_people_unique``.
    """
    by = [by] if isinstance(by, str) else list(by)
    att = _with_year(attendance) if "academic_year" in by else attendance
    _need(att, by, "attendance")
    opp = opportunities(att)
    keys = [opp[c].fillna("(none)") if opp[c].dtype == object else opp[c] for c in by]
    counts = (opp.groupby(keys + [opp["group"]]).size().unstack("group", fill_value=0))
    for g in (YOUNG_PERSON, "supporting_adults", "other_adults"):
        if g not in counts.columns:
            counts[g] = 0
    counts = counts[[YOUNG_PERSON, "supporting_adults", "other_adults"]].rename(
        columns={YOUNG_PERSON: "young_people"})
    counts["activities"] = opp.groupby(keys)["activity_id"].nunique()
    yp = opp["role"] == YOUNG_PERSON
    counts["young_people_unique"] = (opp.loc[yp].groupby([k[yp] for k in keys])["person_id"]
                                     .nunique())
    counts = counts.fillna(0).astype(int)
    counts.columns.name = None
    return counts.reset_index()


# ----------------------------------------------------------------------------- young people
def _person_census(pupils: pd.DataFrame) -> pd.DataFrame:
    """One row per pupil: sex and month/year of birth (first census record)."""
    _need(pupils, ["pupil_id", "birth_year", "birth_month", "sex"], "pupils")
    # sort on integer codes of the two text keys (same order as sorting the texts, much faster)
    pid = pd.factorize(pupils["pupil_id"], sort=True)[0]
    ay = pd.factorize(pupils["academic_year"], sort=True)[0]
    order = np.lexsort((ay, pid))
    ps = pid[order]
    first = order[np.r_[True, ps[1:] != ps[:-1]]] if len(order) else order
    return pupils.iloc[first][["pupil_id", "sex", "birth_year", "birth_month"]].set_index("pupil_id")


def young_people_places(attendance: pd.DataFrame, pupils: pd.DataFrame) -> pd.DataFrame:
    """Attended places of young people with the person's age at the activity (whole years)."""
    _need(attendance, ["activity_date"], "attendance")
    opp = opportunities(_with_year(attendance))
    opp = opp.loc[opp["role"] == YOUNG_PERSON].reset_index(drop=True)
    person = _person_census(pupils)
    p = person.reindex(opp["person_id"])
    opp["age"] = age_at(opp["activity_date"], p["birth_year"].to_numpy(), p["birth_month"].to_numpy())
    opp["aged_10_16"] = (opp["age"] >= AGE_MIN) & (opp["age"] <= AGE_MAX)
    return opp


def unique_young_people(attendance: pd.DataFrame, pupils: pd.DataFrame,
                        aged_10_16: bool = True) -> int:
    """B02: distinct young people with an attended place (at which they were aged 10-16 if asked)."""
    yp = young_people_places(attendance, pupils)
    if aged_10_16:
        yp = yp.loc[yp["aged_10_16"]]
    return int(yp["person_id"].nunique())


def cumulative_reach(attendance: pd.DataFrame, pupils: pd.DataFrame, freq: str = "MS") -> pd.DataFrame:
    """Cumulative distinct young people reached by the end of each period (default: month).

    Columns: ``period_end`` (last day of the period), ``young_people`` (any age) and
    ``young_people_10_16`` (first reached at age 10-16), both cumulative.
    """
    yp = young_people_places(attendance, pupils)
    d = pd.to_datetime(yp["activity_date"])
    periods = pd.date_range(d.min().to_period("M").to_timestamp(), d.max(), freq=freq)
    ends = (periods[1:] - pd.Timedelta(days=1)).append(pd.DatetimeIndex([d.max().normalize()]))
    first_any = yp.groupby("person_id")["activity_date"].min().sort_values().to_numpy()
    first_1016 = (yp.loc[yp["aged_10_16"]].groupby("person_id")["activity_date"].min()
                  .sort_values().to_numpy())
    e = ends.to_numpy()
    return pd.DataFrame({
        "period_end": ends,
        "young_people": np.searchsorted(first_any, e, side="right"),
        "young_people_10_16": np.searchsorted(first_1016, e, side="right"),
    })


def population_10_16(population: pd.DataFrame, year: int, area: str = "Blackpool",
                     ages: tuple[int, int] = (AGE_MIN, AGE_MAX)) -> int:
    """Mid-year population aged 10-16 (inclusive) of ``area`` in ``year`` (B01 for 2016)."""
    _need(population, ["area", "year", "age", "population"], "population")
    p = population
    sel = (p["area"] == area) & (p["year"] == year) & p["age"].between(*ages)
    if not sel.any():
        raise ValueError(f"population has no rows for area {area!r}, year {year}, ages {ages}")
    return int(p.loc[sel, "population"].sum())


def ever_10_16_population(population: pd.DataFrame, first_year: int, last_year: int,
                          area: str = "Blackpool") -> int:
    """Young people who were aged 10-16 at some point between mid-``first_year`` and mid-``last_year``.

    Cohort count from single-year mid-year estimates: those aged 10-16 in ``first_year`` plus
    each later year's 10-year-olds (migration ignored).
    """
    p = population.loc[population["area"] == area]
    base = population_10_16(p, first_year, area)
    later = p.loc[p["year"].between(first_year + 1, last_year) & (p["age"] == AGE_MIN), "population"]
    return int(base + later.sum())


def coverage_by_year(attendance: pd.DataFrame, pupils: pd.DataFrame, population: pd.DataFrame,
                     area: str = "Blackpool", confidence: float = 0.95) -> pd.DataFrame:
    """Share of the 10-16 population reached in each school year, with Wilson intervals.

    Numerator: distinct young people with an attended place in the school year at which they
    were aged 10-16. Denominator: mid-year population aged 10-16 of the calendar year in which
    the school year starts (the estimate for 30 June, two months before). Columns
    ``academic_year``, ``young_people_10_16``, ``population_10_16``, ``coverage`` (percent),
    ``lower``, ``upper``.
    """
    yp = young_people_places(attendance, pupils)
    yp = yp.loc[yp["aged_10_16"]]
    reached = yp.groupby("academic_year")["person_id"].nunique()
    years = reached.index.to_series()
    pop = [population_10_16(population, int(y), area) for y in year_start(years)]
    out = pd.DataFrame({"academic_year": years.to_numpy(), "young_people_10_16": reached.to_numpy(),
                        "population_10_16": pop})
    ci = stats.proportion_ci(np.minimum(out["young_people_10_16"], out["population_10_16"]),
                             out["population_10_16"], confidence=confidence, multiplier=100)
    out["coverage"] = 100 * out["young_people_10_16"] / out["population_10_16"]
    out["lower"], out["upper"] = ci.lower, ci.upper
    return out


def cumulative_coverage(attendance: pd.DataFrame, pupils: pd.DataFrame, population: pd.DataFrame,
                        area: str = "Blackpool", confidence: float = 0.95) -> dict:
    """Distinct young people reached at 10-16 against the population ever aged 10-16 in the period.

    Returns a dict with ``young_people_10_16``, ``population`` (:func:`ever_10_16_population`
    from the first to the last school year with activities), ``share`` (percent) and Wilson
    limits (NaN when the count exceeds the population, which migration into the town allows).
    """
    yp = young_people_places(attendance, pupils)
    years = year_start(pd.Series(sorted(yp["academic_year"].unique())))
    n = ever_10_16_population(population, int(years.min()), int(years.max()), area)
    x = int(yp.loc[yp["aged_10_16"], "person_id"].nunique())
    share = 100 * x / n
    lo = hi = np.nan
    if x <= n:
        ci = stats.proportion_ci(x, n, confidence=confidence, multiplier=100)
        lo, hi = ci.lower, ci.upper
    return {"young_people_10_16": x, "population": n, "share": share, "lower": lo, "upper": hi,
            "first_year": int(years.min()), "last_year": int(years.max())}


def unique_in_window(attendance: pd.DataFrame, project: str, start: str = FIRST_TWO_YEARS[0],
                     end: str = FIRST_TWO_YEARS[1]) -> int:
    """B03: distinct young people with an attended place in ``project`` between two dates (inclusive)."""
    _need(attendance, ["project", "activity_date"], "attendance")
    opp = opportunities(attendance)
    d = pd.to_datetime(opp["activity_date"])
    sel = ((opp["role"] == YOUNG_PERSON) & (opp["project"] == project)
           & (d >= pd.Timestamp(start)) & (d <= pd.Timestamp(end)))
    return int(opp.loc[sel, "person_id"].nunique())


# ----------------------------------------------------------------------------- schools
def schools_taking_part(activities: pd.DataFrame, schools: pd.DataFrame,
                        start: str = "2016-09-01", end: str = "2022-03-31") -> dict:
    """Schools with at least one activity, and schools open at some point in the period."""
    s = schools
    opened = pd.to_datetime(s["open_date"])
    closed = pd.to_datetime(s["close_date"])
    open_in = (opened <= pd.Timestamp(end)) & (closed.isna() | (closed >= pd.Timestamp(start)))
    took_part = set(activities["school_id"].dropna())
    return {"schools_taking_part": len(took_part),
            "schools_open": int(open_in.sum()),
            "open_schools_taking_part": int(s.loc[open_in, "school_id"].isin(took_part).sum())}


def ara_pupils(pupils: pd.DataFrame, schools: pd.DataFrame, census_year: str = "2020/21") -> int:
    """A03: distinct pupils on roll at one January census whose school provided the Academic
    Resilience Approach on census day (``ara_start_date`` on or before it).

    The default census, 2020/21 (21 January 2021), is the last before the 2021 evidence
    submission that published the figure (education domain's documented choice).
    """
    return int(ara_pupil_years(pupils, schools, census_year, census_year)["pupil_id"].nunique())


def ara_pupil_years(pupils: pd.DataFrame, schools: pd.DataFrame, first_year: str = "2016/17",
                    last_year: str | None = None) -> pd.DataFrame:
    """Census rows (pupil, school year) at a school that provided ARA on that census day."""
    _need(pupils, ["pupil_id", "academic_year", "school_id"], "pupils")
    last_year = last_year or str(pupils["academic_year"].max())
    p = pupils.loc[(pupils["academic_year"] >= first_year) & (pupils["academic_year"] <= last_year),
                   ["pupil_id", "academic_year", "school_id"]]
    start = pd.to_datetime(schools.set_index("school_id")["ara_start_date"])
    st = start.reindex(p["school_id"]).to_numpy()
    cd = census_date(p["academic_year"]).to_numpy()
    return p.loc[pd.notna(st) & (st <= cd)].reset_index(drop=True)


def ara_pupils_by_year(pupils: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """Pupils on roll at each January census and those at a school providing ARA on census day."""
    on_roll = pupils.groupby("academic_year")["pupil_id"].nunique().rename("pupils")
    ara = ara_pupil_years(pupils, schools, str(pupils["academic_year"].min()))
    at_ara = ara.groupby("academic_year")["pupil_id"].nunique().rename("pupils_at_ara_school")
    out = pd.concat([on_roll, at_ara], axis=1).fillna(0).astype(int).reset_index()
    out["share"] = 100 * out["pupils_at_ara_school"] / out["pupils"]
    return out


def schools_over_time(schools: pd.DataFrame, column: str, dates=None) -> pd.DataFrame:
    """Cumulative number of schools with ``column`` (a date) on or before each date.

    ``dates`` default: the 31 August ending each school year from the first to the last date
    found, plus the last date itself.
    """
    d = pd.to_datetime(schools[column]).dropna().sort_values().to_numpy()
    if dates is None:
        if len(d) == 0:
            return pd.DataFrame({"date": pd.DatetimeIndex([]), "schools": []})
        first = pd.Timestamp(d[0])
        last = pd.Timestamp(d[-1])
        y0 = first.year - (first.month < 9)
        y1 = last.year - (last.month < 9)
        dates = pd.DatetimeIndex([pd.Timestamp(f"{y + 1}-08-31") for y in range(y0, y1 + 1)])
    dates = pd.DatetimeIndex(pd.to_datetime(dates))
    return pd.DataFrame({"date": dates, "schools": np.searchsorted(d, dates.to_numpy(), side="right")})


def charter_schools(schools: pd.DataFrame, as_of: str | None = None) -> int:
    """A04: schools that signed the Blackpool Beating Bullying Charter (by ``as_of`` if given)."""
    d = pd.to_datetime(schools["charter_signed_date"])
    if as_of is not None:
        return int((d <= pd.Timestamp(as_of)).sum())
    return int(d.notna().sum())


# ----------------------------------------------------------------------------- workforce, co-production
def workforce_summary(attendance: pd.DataFrame, activities: pd.DataFrame) -> pd.DataFrame:
    """A05: training and workforce activities and their participants, by role and in total.

    Columns ``role``, ``participants`` (attended places), ``people`` (distinct persons);
    the ``all`` row also has ``activities`` (activities of the workforce strand).
    """
    _need(attendance, ["strand"], "attendance")
    wf = opportunities(attendance.loc[attendance["strand"] == WORKFORCE_STRAND])
    by_role = wf.groupby("role").agg(participants=("person_id", "size"), people=("person_id", "nunique"))
    by_role = by_role.reindex([r for r in ROLES if r in by_role.index]).reset_index()
    n_act = int((activities["strand"] == WORKFORCE_STRAND).sum())
    total = pd.DataFrame({"role": ["all"], "participants": [len(wf)], "people": [wf["person_id"].nunique()]})
    out = pd.concat([by_role, total], ignore_index=True)
    out["activities"] = np.where(out["role"] == "all", n_act, np.nan)
    return out


def attendance_rate(attendance: pd.DataFrame, strand: str = COPRODUCTION_STRAND,
                    confidence: float = 0.95) -> dict:
    """A06: attended places / registered places in a strand's activities, percent, Wilson interval."""
    _need(attendance, ["strand"], "attendance")
    a = attendance.loc[attendance["strand"] == strand, "attended"].astype(bool)
    if len(a) == 0:
        raise ValueError(f"no registered places in strand {strand!r}")
    ci = stats.proportion_ci(int(a.sum()), len(a), confidence=confidence, multiplier=100)
    return {"attended": int(a.sum()), "registered": int(len(a)), "rate": ci.value,
            "lower": ci.lower, "upper": ci.upper, "method": "Wilson score"}


def attendance_rates_by(attendance: pd.DataFrame, by: str | Sequence[str] = "strand",
                        confidence: float = 0.95) -> pd.DataFrame:
    """Attendance rate (percent, Wilson interval) of registered places by activity columns."""
    by = [by] if isinstance(by, str) else list(by)
    att = _with_year(attendance) if "academic_year" in by else attendance
    g = att.assign(attended=att["attended"].astype(bool)).groupby(by)["attended"]
    out = pd.DataFrame({"attended": g.sum(), "registered": g.size()}).reset_index()
    ci = stats.proportion_ci(out["attended"].to_numpy(), out["registered"].to_numpy(),
                             confidence=confidence, multiplier=100)
    out["rate"], out["lower"], out["upper"] = ci.value, ci.lower, ci.upper
    return out


# ----------------------------------------------------------------------------- depth of engagement
def places_per_young_person(attendance: pd.DataFrame) -> pd.Series:
    """Attended places per young person reached (index person_id)."""
    opp = opportunities(attendance)
    return opp.loc[opp["role"] == YOUNG_PERSON].groupby("person_id").size().rename("opportunities")


def engagement_depth(attendance: pd.DataFrame, bins=DEPTH_BINS, confidence: float = 0.95) -> pd.DataFrame:
    """Young people reached by number of opportunities (bins), with shares and Wilson intervals.

    Columns ``band``, ``young_people``, ``opportunities``, ``share`` (percent of young people
    reached), ``lower``, ``upper``, ``share_of_opportunities`` (percent).
    """
    n = places_per_young_person(attendance).to_numpy()
    rows = [(lab, int(((n >= lo) & (n <= hi)).sum()), int(n[(n >= lo) & (n <= hi)].sum()))
            for lo, hi, lab in bins]
    out = pd.DataFrame(rows, columns=["band", "young_people", "opportunities"])
    total = max(len(n), 1)
    ci = stats.proportion_ci(out["young_people"].to_numpy(), np.full(len(out), total),
                             confidence=confidence, multiplier=100)
    out["share"], out["lower"], out["upper"] = ci.value, ci.lower, ci.upper
    out["share_of_opportunities"] = 100 * out["opportunities"] / max(n.sum(), 1)
    return out


def depth_summary(attendance: pd.DataFrame) -> dict:
    """Mean, median, 90th percentile and maximum opportunities per young person reached."""
    n = places_per_young_person(attendance)
    return {"young_people": int(len(n)), "mean": float(n.mean()), "median": float(n.median()),
            "p90": float(n.quantile(0.9)), "max": int(n.max())}


# ----------------------------------------------------------------------------- equity
def census_people(pupils: pd.DataFrame, years: Sequence[str] | None = None,
                  nc_years: tuple[int, int] = (6, 11)) -> pd.DataFrame:
    """One row per pupil on roll in ``years`` in national curriculum years 6-11 (aged 10-16).

    Characteristics over those census records: ``sex``; ``fsm`` (ever eligible); ``sen``
    (highest provision: ehc_plan > sen_support > none); ``looked_after`` (ever).
    """
    _need(pupils, ["pupil_id", "academic_year", "nc_year", "sex", "fsm", "sen_provision",
                   "looked_after"], "pupils")
    p = pupils.loc[pupils["nc_year"].between(*nc_years)]
    if years is not None:
        p = p.loc[p["academic_year"].isin(list(years))]
    rank = p["sen_provision"].map({"none": 0, "sen_support": 1, "ehc_plan": 2}).fillna(0)
    g = p.assign(_sen=rank, fsm=p["fsm"].astype(bool),
                 looked_after=p["looked_after"].astype(bool)).groupby("pupil_id")
    out = pd.DataFrame({"sex": g["sex"].first(), "fsm": g["fsm"].max(), "_sen": g["_sen"].max(),
                        "looked_after": g["looked_after"].max()})
    out["sen"] = out.pop("_sen").map({0: "none", 1: "sen_support", 2: "ehc_plan"})
    return out


EQUITY_GROUPS = (
    ("sex", "F", "girls"), ("sex", "M", "boys"),
    ("fsm", True, "free school meals"), ("fsm", False, "no free school meals"),
    ("sen", "none", "no SEN"), ("sen", "sen_support", "SEN support"), ("sen", "ehc_plan", "EHC plan"),
    ("looked_after", True, "looked after"), ("looked_after", False, "not looked after"),
)


def reach_equity(attendance: pd.DataFrame, pupils: pd.DataFrame, strands: dict | None = None,
                 years: Sequence[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Reach equity table: each group's share of young people reached against its share of the census.

    Census: :func:`census_people` (pupils in Years 6-11 in the programme's school years).
    Reached: those of them with an attended place, in every strand (``all``) and in each
    selection of ``strands`` (default ``{"all": None, "targeted": ["targeted"]}``).
    ``ratio`` = share reached / share of census (1 = reached in proportion); its interval is the
    Wilson interval of the share reached divided by the census share (a full count, fixed).
    """
    att = _with_year(attendance)
    if years is None:
        years = sorted(att["academic_year"].dropna().unique())
    strands = strands if strands is not None else {"all": None, "targeted": ["targeted"]}
    census = census_people(pupils, years)
    opp = opportunities(att)
    opp = opp.loc[opp["role"] == YOUNG_PERSON]
    rows = []
    for label, sel in strands.items():
        o = opp if sel is None else opp.loc[opp["strand"].isin(sel)]
        reached = census.loc[census.index.isin(o["person_id"].unique())]
        for col, val, name in EQUITY_GROUPS:
            rows.append({"reach": label, "characteristic": col, "group": name,
                         "census": int((census[col] == val).sum()), "census_total": len(census),
                         "reached": int((reached[col] == val).sum()), "reached_total": len(reached)})
    out = pd.DataFrame(rows)
    out["census_share"] = 100 * out["census"] / out["census_total"]
    ok = out["reached_total"] > 0
    out["reached_share"] = np.where(ok, 100 * out["reached"] / out["reached_total"].clip(lower=1), np.nan)
    ci = stats.proportion_ci(out["reached"].to_numpy(), out["reached_total"].clip(lower=1).to_numpy(),
                             confidence=confidence, multiplier=100)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = out["reached_share"] / out["census_share"]
        out["lower"] = np.where(ok, ci.lower, np.nan) / out["census_share"]
        out["upper"] = np.where(ok, ci.upper, np.nan) / out["census_share"]
    out["reach_rate"] = np.where(out["census"] > 0, 100 * out["reached"] / out["census"].clip(lower=1), np.nan)
    return out


# ----------------------------------------------------------------------------- context
def fsm_share(pupils: pd.DataFrame, years: str | Sequence[str], confidence: float = 0.95) -> dict:
    """A13: young people on free school meals among those on roll at one or more January censuses.

    ``years``: one census year, or several (distinct pupils on roll at any of them; on FSM if
    recorded at any of them). The education domain reads A13 (5,093 of 21,780, from the 2016
    HeadStart bid) as the January 2015 and January 2016 censuses together. Percent, Wilson interval.
    """
    years = [years] if isinstance(years, str) else list(years)
    p = pupils.loc[pupils["academic_year"].isin(years)]
    if len(p) == 0:
        raise ValueError(f"the census has no rows for {years!r}")
    ever = p.assign(fsm=p["fsm"].astype(bool)).groupby("pupil_id")["fsm"].max()
    x, n = int(ever.sum()), int(len(ever))
    ci = stats.proportion_ci(x, n, confidence=confidence, multiplier=100)
    return {"years": years, "fsm": x, "pupils": n, "share": ci.value, "lower": ci.lower, "upper": ci.upper}


def fsm_share_by_year(pupils: pd.DataFrame) -> pd.DataFrame:
    """Free school meals share (percent, Wilson interval) in every census year."""
    g = pupils.assign(fsm=pupils["fsm"].astype(bool)).groupby("academic_year")["fsm"]
    out = pd.DataFrame({"fsm": g.sum(), "pupils": g.size()}).reset_index()
    ci = stats.proportion_ci(out["fsm"].to_numpy(), out["pupils"].to_numpy(), multiplier=100)
    out["share"], out["lower"], out["upper"] = ci.value, ci.lower, ci.upper
    return out


# ----------------------------------------------------------------------------- figures
def _finish(fig, ax, title: str, source: str = SOURCE):
    ax.set_title(title, loc="left")
    fig.text(0.01, -0.02, source, fontsize=7, color="dimgrey", ha="left", va="top")
    return fig


def plot_opportunities_by_year(by_year_strand: pd.DataFrame, value: str = "young_people"):
    """Stacked bars: opportunities (attended places) per school year by strand."""
    import matplotlib.pyplot as plt

    wide = by_year_strand.pivot_table(index="academic_year", columns="strand", values=value,
                                      aggfunc="sum", fill_value=0)
    wide = wide[[s for s in STRANDS if s in wide.columns]]
    fig, ax = plt.subplots()
    bottom = np.zeros(len(wide))
    colours = {"universal": "#4C72B0", "targeted": "#DD8452", "co-production": "#55A868",
               "workforce": "#8172B3"}
    for s in wide.columns:
        ax.bar(wide.index, wide[s].to_numpy(), bottom=bottom, label=s, color=colours.get(s))
        bottom += wide[s].to_numpy()
    ax.set_xlabel("School year (September to August; 2021/22 to March)")
    who = GROUP_LABELS.get(value, value.replace("_", " "))
    ax.set_ylabel(f"Opportunities for {who} (attended places)")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(title="Strand")
    return _finish(fig, ax, f"Opportunities for {who} by school year and strand")


def plot_cumulative_reach(cum: pd.DataFrame, population_2016: int | None = None,
                          ever_population: int | None = None):
    """Cumulative distinct young people reached, against the 10-16 population."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot(cum["period_end"], cum["young_people"], label="young people reached (any age)",
            color="#4C72B0", lw=1.5, ls="--")
    ax.plot(cum["period_end"], cum["young_people_10_16"], label="young people reached at age 10-16",
            color="#4C72B0", lw=2.2)
    if population_2016 is not None:
        ax.axhline(population_2016, color="#C44E52", lw=1, ls=":",
                   label="population aged 10-16, mid-2016")
    if ever_population is not None:
        ax.axhline(ever_population, color="#C44E52", lw=1.2, ls="-.",
                   label="population ever aged 10-16 in the period (cohorts)")
    ax.set_xlabel("Date")
    ax.set_ylabel("Distinct young people (cumulative)")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    return _finish(fig, ax, "Young people reached since September 2016",
                   SOURCE + "; ONS-style mid-year population estimates (data folder's population table)")


def plot_engagement_depth(per_person: pd.Series):
    """Distribution of opportunities per young person reached (bars by band, log-spaced)."""
    import matplotlib.pyplot as plt

    n = np.asarray(per_person)
    labels = [lab for _, _, lab in DEPTH_BINS_FINE]
    counts = [int(((n >= lo) & (n <= hi)).sum()) for lo, hi, _ in DEPTH_BINS_FINE]
    share = 100 * np.asarray(counts) / max(len(n), 1)
    fig, ax = plt.subplots()
    ax.bar(labels, share, color="#4C72B0")
    for i, (c, s) in enumerate(zip(counts, share)):
        ax.text(i, s, f"{s:.1f}%", ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("Opportunities (attended places) per young person")
    ax.set_ylabel("Share of young people reached (%)")
    return _finish(fig, ax, "Depth of engagement: how often young people came back")


def plot_reach_equity(equity: pd.DataFrame):
    """Dot plot: ratio of each group's share of young people reached to its census share, with intervals."""
    import matplotlib.pyplot as plt

    reaches = list(dict.fromkeys(equity["reach"]))
    groups = list(dict.fromkeys(equity["group"]))
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(groups) + 1.5))
    offsets = np.linspace(-0.15, 0.15, len(reaches)) if len(reaches) > 1 else [0.0]
    colours = ["#4C72B0", "#DD8452", "#55A868", "#8172B3"]
    for k, r in enumerate(reaches):
        e = equity.loc[equity["reach"] == r].set_index("group").reindex(groups)
        y = np.arange(len(groups)) + offsets[k]
        ax.errorbar(e["ratio"], y, xerr=[e["ratio"] - e["lower"], e["upper"] - e["ratio"]],
                    fmt="o", color=colours[k % len(colours)], ms=5, capsize=2,
                    label=f"{r} projects" if r != "all" else "all projects")
    ax.axvline(1, color="grey", lw=1, ls="--")
    ax.set_yticks(np.arange(len(groups)))
    ax.set_yticklabels(groups)
    ax.invert_yaxis()
    ax.set_xscale("log")
    lo = np.nanmin(equity["lower"].to_numpy(float)) if equity["lower"].notna().any() else 0.5
    hi = np.nanmax(equity["upper"].to_numpy(float)) if equity["upper"].notna().any() else 2.0
    ticks = [t for t in (0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 6, 8) if lo / 1.2 <= t <= hi * 1.2]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel("Share of young people reached / share of the census (log scale; 1 = in proportion)")
    ax.legend(loc="lower right")
    return _finish(fig, ax, "Who is reached: reach equity ratios with 95% intervals",
                   SOURCE + "; census: pupils in Years 6-11; Wilson intervals")


def plot_schools_over_time(ara: pd.DataFrame, charter: pd.DataFrame):
    """Step plot: schools providing the Academic Resilience Approach and Charter schools over time."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.step(ara["date"], ara["schools"], where="post", label="providing the Academic Resilience Approach",
            color="#4C72B0")
    ax.step(charter["date"], charter["schools"], where="post",
            label="signed the Blackpool Beating Bullying Charter", color="#DD8452")
    ax.set_xlabel("End of school year (31 August)")
    ax.set_ylabel("Schools (cumulative)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    return _finish(fig, ax, "Schools in the whole-school approaches",
                   "Source: schools table (ARA start and Charter signing dates)")
