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

from .. import figures, stats
from ..calendar import academic_year
from ..calendar import start_year as year_start
from ..chapter import NotComputed
from ..public import DFE_FSM_SOURCE, ONS_POPULATION_SOURCE
from ..results import frame as results_frame
from ..results import values as _values

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
SOURCE = "HeadStart Blackpool monitoring log and January school census"
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
        held = sorted(p.loc[p["area"] == area, "year"].unique())
        raise NotComputed(f"population estimates for {area}, mid-{year}: not in the data (it holds "
                          f"{', '.join(map(str, held)) or 'no year for that area'})")
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
                        start: str | None = None, end: str | None = None) -> dict:
    """Schools with at least one activity, and schools open at some point in the period.

    The period defaults to the monitoring log's first and last activity dates (from the data,
    not fixed programme dates); the dict gives the ``start`` and ``end`` used.
    """
    s = schools
    dates = pd.to_datetime(activities["activity_date"])
    start = pd.Timestamp(start) if start is not None else dates.min().normalize()
    end = pd.Timestamp(end) if end is not None else dates.max().normalize()
    opened = pd.to_datetime(s["open_date"])
    closed = pd.to_datetime(s["close_date"])
    open_in = (opened <= pd.Timestamp(end)) & (closed.isna() | (closed >= pd.Timestamp(start)))
    took_part = set(activities["school_id"].dropna())
    return {"start": start, "end": end, "schools_taking_part": len(took_part),
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
    have = set(pupils["academic_year"].astype(str))
    missing = [y for y in years if y not in have]
    if missing:
        held = sorted(have)
        raise NotComputed(f"census year(s) {', '.join(missing)}: not in the data (it holds "
                          f"{held[0] + ' to ' + held[-1] if held else 'none'})")
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
def _finish(fig, ax, title: str, source: str = SOURCE, *, legend_below: int = 0, legend_title: str | None = None):
    """Title, layout and source line. ``legend_below``: move the panel's legend under it, in
    that many columns, so that it never covers the data (issue 29: Figures 1.1 and 1.5)."""
    ax.set_title(title, loc="left")
    bottom = 0.05
    if legend_below:
        handles, labels = ax.get_legend_handles_labels()
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        rows = int(np.ceil(len(labels) / legend_below))
        fig.legend(handles, labels, loc="lower center", ncol=legend_below, frameon=False, fontsize=8,
                   title=legend_title, title_fontsize=8, bbox_to_anchor=(0.5, 0))
        bottom = (0.25 + 0.22 * rows + (0.2 if legend_title else 0)) / fig.get_figheight()
    fig.tight_layout(rect=(0, bottom, 1, 1))
    figures.source_note(fig, source)
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
        total = float(wide[s].sum())
        if total == 0:
            continue   # a strand with nothing for this group is left out, not drawn as nothing
        # the total in the legend: a strand too small to see in the stack is still read there
        ax.bar(wide.index, wide[s].to_numpy(), bottom=bottom, label=f"{s} ({total:,.0f} in all)",
               color=colours.get(s))
        bottom += wide[s].to_numpy()
    ax.set_xlabel("School year (September to August; 2021/22 to March)")
    who = GROUP_LABELS.get(value, value.replace("_", " "))
    ax.set_ylabel(f"Opportunities for {who} (attended places)")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend()
    return _finish(fig, ax, f"Opportunities for {who} by school year and strand", legend_below=4,
                   legend_title="Strand")


def plot_cumulative_reach(cum: pd.DataFrame, population_2016: int | None = None,
                          ever_population: int | None = None, first_year: int = 2016):
    """Cumulative distinct young people reached, against the 10-16 population."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot(cum["period_end"], cum["young_people"], label="young people reached (any age)",
            color="#4C72B0", lw=1.5, ls="--")
    ax.plot(cum["period_end"], cum["young_people_10_16"], label="young people reached at age 10-16",
            color="#4C72B0", lw=2.2)
    if population_2016 is not None:
        ax.axhline(population_2016, color="#C44E52", lw=1, ls=":",
                   label=f"population aged 10-16, mid-{first_year}")
    if ever_population is not None:
        ax.axhline(ever_population, color="#C44E52", lw=1.2, ls="-.",
                   label="population ever aged 10-16 in the period (cohorts)")
    ax.set_xlabel("Date")
    ax.set_ylabel("Distinct young people (cumulative)")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    return _finish(fig, ax, f"Young people reached since {pd.Timestamp(cum['period_end'].min()):%B %Y}",
                   SOURCE + "; population table of the data folder")


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
    ax.legend()
    return _finish(fig, ax, "Who is reached: reach equity ratios with 95% intervals",
                   SOURCE + " (Years 6-11); Wilson intervals", legend_below=4)


def plot_schools_over_time(ara: pd.DataFrame, charter: pd.DataFrame):
    """Step plot: schools providing the Academic Resilience Approach and Charter schools over time."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.step(ara["date"], ara["schools"], where="post", label="providing the Academic Resilience Approach",
            color="#4C72B0")
    ax.step(charter["date"], charter["schools"], where="post",
            label="signed the Blackpool Beating Bullying Charter", color="#DD8452")
    # the final values as points with their number: a step plot ends in a vertical tick otherwise
    for d, colour in ((ara, "#4C72B0"), (charter, "#DD8452")):
        if len(d):
            x, y = d["date"].iloc[-1], d["schools"].iloc[-1]
            ax.plot([x], [y], "o", color=colour, ms=4)
            ax.annotate(f"{y:,.0f}", (x, y), xytext=(4, 0), textcoords="offset points", va="center",
                        fontsize=8, color=colour)
    ax.set_xlabel("End of school year (31 August)")
    ax.set_ylabel("Schools (cumulative)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    return _finish(fig, ax, "Schools in the whole-school approaches",
                   "schools table (ARA start and Charter signing dates)")


# ----------------------------------------------------------------------------- results frames
# Each function returns a tidy frame (key, value, lower, upper, unit, method, n, note) that the
# notebook records with one ``ch.record_frame`` call: the results keys live here, not in the notebook.
# one results-frame builder for every chapter (rrlib.results.frame: object columns keep counts whole)
_frame = results_frame


#: The processed tables the chapter reads.
TABLES = ("activities", "attendance", "pupils", "schools", "population")


def need(tables: dict, *names: str):
    """The named frames of ``tables``; :class:`NotComputed` naming those the data folder lacks."""
    missing = [n for n in names if n not in tables]
    if missing:
        raise NotComputed("the data folder has no " + ", ".join(f"`{n}`" for n in missing)
                          + (" table" if len(missing) == 1 else " tables"))
    out = tuple(tables[n] for n in names)
    return out[0] if len(out) == 1 else out


def data_summary(tables: dict) -> str:
    """One paragraph on what the data folder holds (whichever of :data:`TABLES` exist)."""
    parts = []
    if "activities" in tables and "attendance" in tables:
        a = tables["activities"]["activity_date"]
        parts.append(f"Monitoring log: {len(tables['activities']):,} activities from {a.min():%d %B %Y} to "
                     f"{a.max():%d %B %Y}, {len(tables['attendance']):,} registered places.")
    if "pupils" in tables:
        p = tables["pupils"]
        parts.append(f"Census: {p['pupil_id'].nunique():,} pupils, {p['academic_year'].min()} to "
                     f"{p['academic_year'].max()}.")
    if "schools" in tables:
        parts.append(f"{len(tables['schools'])} schools.")
    if "population" in tables:
        y = tables["population"]["year"]
        parts.append(f"Population estimates mid-{y.min()} to mid-{y.max()}.")
    missing = [n for n in TABLES if n not in tables]
    if missing:
        parts.append("Not in this data folder: " + ", ".join(f"`{n}`" for n in missing)
                     + " (the sections that need them say so).")
    return " ".join(parts)


_SHARE = {c: ["fsm"] for c in ("share", "lower", "upper")}
_COUNTS = ["young_people", "supporting_adults", "other_adults", "activities", "young_people_unique"]
#: Disclosure-control settings of each published table (``ch.publish(df, name, **PUBLISH[name])``).
PUBLISH = {
    "reach_opportunities_by_role": dict(counts=["registered", "opportunities", "people"]),
    "reach_opportunities_by_project": dict(counts=_COUNTS),
    "reach_opportunities_by_setting": dict(counts=_COUNTS),
    "reach_opportunities_by_year_strand": dict(counts=_COUNTS),
    "reach_coverage_by_year": dict(counts=["young_people_10_16", "population_10_16"], decimals=1,
                                   derived={c: ["young_people_10_16"] for c in ("coverage", "lower", "upper")}),
    "reach_ara_pupils_by_year": dict(counts=["pupils", "pupils_at_ara_school"], decimals=1,
                                     derived={"share": ["pupils_at_ara_school"]}),
    "reach_workforce": dict(counts=["participants", "people", "activities"], totals={"row": ("role", "all")}),
    "reach_attendance_rate_by_strand": dict(counts=["attended", "registered"],
                                            derived={c: ["attended"] for c in ("rate", "lower", "upper")}),
    "reach_engagement_depth": dict(counts=["young_people", "opportunities"], decimals=1,
                                   derived={c: ["young_people"] for c in ("share", "lower", "upper")}
                                   | {"share_of_opportunities": ["opportunities"]}),
    "reach_equity": dict(counts=["census", "census_total", "reached", "reached_total"],
                         derived={c: ["reached", "census"] for c in ("census_share", "reached_share", "ratio",
                                                                      "lower", "upper", "reach_rate")},
                         decimals={"census_share": 1, "reached_share": 1, "ratio": 2, "lower": 2, "upper": 2,
                                   "reach_rate": 1},
                         totals={"groups": ["reach", "characteristic"], "external": True}),
    "reach_fsm_by_year": dict(counts=["fsm", "pupils"], derived=_SHARE, decimals=1),
    "reach_official_population_10_16": dict(counts=["population_10_16", "population_all_ages"]),
    "reach_official_fsm": dict(counts=["fsm_pupils", "pupils"], derived={"percent": ["fsm_pupils"]}, decimals=1),
}
EQUITY_COLUMNS = ["reach", "characteristic", "group", "census", "census_total", "reached", "reached_total",
                  "census_share", "reached_share", "ratio", "lower", "upper", "reach_rate"]


def opportunities_results(attendance: pd.DataFrame) -> pd.DataFrame:
    """A01, A02 and the other opportunity totals (``reach.opportunities.*``)."""
    totals = opportunity_totals(attendance)
    return _frame([
        {"key": "reach.opportunities.young_people", "value": young_people_opportunities(attendance),
         "unit": "count", "method": "attended places (attended = true) with role young_person, every project"},
        {"key": "reach.opportunities.supporting_adults", "value": supporting_adult_opportunities(attendance),
         "unit": "count", "method": "attended places with role parent_carer or school_staff, every project"},
        {"key": "reach.opportunities.practitioners_volunteers",
         "value": int(totals.loc[totals["group"] == "other_adults", "opportunities"].sum()), "unit": "count"},
        {"key": "reach.opportunities.registered_young_people",
         "value": int(totals.loc[totals["role"] == YOUNG_PERSON, "registered"].sum()), "unit": "count"},
    ])


def young_people_results(attendance: pd.DataFrame, pupils: pd.DataFrame) -> pd.DataFrame:
    """B02: distinct young people reached at 10-16 and at any age (``reach.young_people.*``)."""
    return _frame([
        {"key": "reach.young_people.unique_10_16", "value": unique_young_people(attendance, pupils, True),
         "unit": "count", "method": "distinct young people with an attended place at age 10-16"},
        {"key": "reach.young_people.unique_any_age", "value": unique_young_people(attendance, pupils, False),
         "unit": "count"},
    ])


def population_key(year: int) -> str:
    """The results key of B01 for ``year`` (``reach.context.population_10_16_2016``)."""
    return f"reach.context.population_10_16_{int(year)}"


def population_results(population: pd.DataFrame, year: int, area: str = "Blackpool") -> pd.DataFrame:
    """B01 from the data folder's population table: aged 10-16 in ``area``, mid-``year``."""
    return _frame([{"key": population_key(year),
                    "value": population_10_16(population, int(year), area), "unit": "count",
                    "method": f"population table, {area}, mid-{int(year)}, ages 10-16"}])


def coverage_results(cc: dict) -> pd.DataFrame:
    """Cumulative coverage of the population ever aged 10-16 (``reach.coverage.cumulative_share``)."""
    return _frame([{"key": "reach.coverage.cumulative_share", "value": cc["share"],
                    "lower": cc["lower"], "upper": cc["upper"], "unit": "percent", "n": cc["population"],
                    "method": "Wilson score; denominator: 10-16 in mid-first year plus later 10-year-olds",
                    "note": f"school years starting {cc['first_year']} to {cc['last_year']}"}])


def first_two_years_results(attendance: pd.DataFrame, start: str = FIRST_TWO_YEARS[0],
                            end: str = FIRST_TWO_YEARS[1]) -> pd.DataFrame:
    """B03: young people with Resilience Coaches and Walk and Talk from ``start`` to ``end``.

    Not computed when the monitoring log does not cover the window's school years (its first
    activity in a later school year than ``start``, or its last in an earlier one than ``end``):
    a partial window would undercount.
    """
    d = pd.to_datetime(attendance["activity_date"])
    ay = academic_year(pd.Series([d.min(), d.max(), pd.Timestamp(start), pd.Timestamp(end)])) if len(d) else None
    if ay is None or ay.iloc[0] > ay.iloc[2] or ay.iloc[1] < ay.iloc[3]:
        held = f"{d.min():%d %B %Y} to {d.max():%d %B %Y}" if len(d) else "no activities"
        raise NotComputed(f"the monitoring log does not cover {start} to {end} (it holds {held})")
    method = f"distinct young people with an attended place, {start} to {end}"
    return _frame([
        {"key": "reach.first_two_years.resilience_coach", "value": unique_in_window(attendance, RESILIENCE_COACH,
                                                                                    start, end),
         "unit": "count", "method": method},
        {"key": "reach.first_two_years.walk_and_talk", "value": unique_in_window(attendance, WALK_AND_TALK,
                                                                                 start, end),
         "unit": "count", "method": method},
    ])


def ara_results(pupils: pd.DataFrame, schools: pd.DataFrame, census_year: str = "2020/21") -> pd.DataFrame:
    """A03 at the January census of ``census_year`` (fixed by the published figure; not computed if absent)."""
    years = sorted(pupils["academic_year"].astype(str).unique())
    if census_year not in years:
        raise NotComputed(f"census year {census_year} (A03: the January 2021 census): not in the data "
                          f"(it holds {years[0] + ' to ' + years[-1] if years else 'none'})")
    return _frame([{"key": "reach.ara.young_people", "value": ara_pupils(pupils, schools, census_year),
                    "unit": "count",
                    "method": f"pupils on roll at the {census_year} January census at a school with ARA by census day"}])


def schools_results(activities: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """A04 and B02 (schools): Charter schools, schools open and schools taking part (``reach.charter``, ``reach.schools``)."""
    part = schools_taking_part(activities, schools)
    period = f"{part['start']:%d %B %Y} to {part['end']:%d %B %Y} (the monitoring log's first and last activity)"
    return _frame([
        {"key": "reach.charter.schools", "value": charter_schools(schools), "unit": "count",
         "method": "schools with a charter_signed_date"},
        {"key": "reach.schools.taking_part", "value": part["open_schools_taking_part"], "unit": "count",
         "method": "schools open during the programme with at least one activity", "note": period},
        {"key": "reach.schools.open", "value": part["schools_open"], "unit": "count", "note": period},
    ])


def workforce_results(wf: pd.DataFrame, co: dict) -> pd.DataFrame:
    """A05 (workforce) and A06 (co-production attendance)."""
    a = wf.set_index("role").loc["all"]
    return _frame([
        {"key": "reach.workforce.participants", "value": int(a["participants"]), "unit": "count",
         "method": "attended places in workforce-strand activities, every role"},
        {"key": "reach.workforce.activities", "value": int(a["activities"]), "unit": "count"},
        {"key": "reach.workforce.people", "value": int(a["people"]), "unit": "count"},
        {"key": "reach.coproduction.attendance_rate", "value": co["rate"], "lower": co["lower"],
         "upper": co["upper"], "unit": "percent", "n": co["registered"],
         "method": "attended / registered places, co-production strand; Wilson score"},
    ])


DEPTH_KEYS = {"1": "once", "2-5": "two_to_five", "6+": "six_plus"}


def depth_results(depth: pd.DataFrame, summary: dict) -> pd.DataFrame:
    """Depth of engagement: shares by band (``reach.depth.<band>_share``), median and mean."""
    d = depth[depth["band"].isin(list(DEPTH_KEYS))]
    out = pd.DataFrame({"key": "reach.depth." + d["band"].map(DEPTH_KEYS) + "_share", "value": d["share"],
                        "lower": d["lower"], "upper": d["upper"], "unit": "percent", "method": "Wilson score",
                        "n": summary["young_people"]})
    return pd.concat([out, _frame([
        {"key": "reach.depth.median", "value": summary["median"], "unit": "count"},
        {"key": "reach.depth.mean", "value": summary["mean"], "unit": "count"}])], ignore_index=True)


EQUITY_KEYS = {"free school meals": "fsm", "SEN support": "sen_support", "EHC plan": "ehc_plan",
               "looked after": "looked_after", "boys": "boys"}


def equity_results(equity: pd.DataFrame) -> pd.DataFrame:
    """Reach equity ratios of the groups in :data:`EQUITY_KEYS` (``reach.equity.<reach>.<group>_ratio``)."""
    e = equity[equity["group"].isin(list(EQUITY_KEYS)) & np.isfinite(equity["ratio"].astype(float))]
    return pd.DataFrame({"key": "reach.equity." + e["reach"] + "." + e["group"].map(EQUITY_KEYS) + "_ratio",
                         "value": e["ratio"], "lower": e["lower"], "upper": e["upper"], "unit": "ratio",
                         "n": e["reached_total"].astype(int),
                         "method": "share reached / census share; Wilson interval of the share reached"})


def fsm_results(fsm: dict) -> pd.DataFrame:
    """A13 from the data folder's census (``reach.context.fsm_share``, ``fsm_pupils``, ``fsm_census_pupils``)."""
    years = " or ".join(fsm["years"])
    return _frame([
        {"key": "reach.context.fsm_share", "value": fsm["share"], "lower": fsm["lower"], "upper": fsm["upper"],
         "unit": "percent", "n": fsm["pupils"],
         "method": f"distinct pupils on roll at the {years} census on FSM at either"},
        {"key": "reach.context.fsm_pupils", "value": fsm["fsm"], "unit": "count"},
        {"key": "reach.context.fsm_census_pupils", "value": fsm["pupils"], "unit": "count"},
    ])


# ----------------------------------------------------------------------------- the chapter's sentences
# Each takes the results the notebook recorded (and, where a sentence quotes more, the summary the section
# computed) and returns markdown; the notebook shows it with ``ch.show``.
def opportunities_text(results: pd.DataFrame) -> str:
    """A01 and A02 (from :func:`opportunities_results`)."""
    v = _values(results)
    return (f"**{v['reach.opportunities.young_people']:,} opportunities for young people** (A01) and "
            f"**{v['reach.opportunities.supporting_adults']:,} for the adults who support them** (A02).")


def young_people_text(results: pd.DataFrame) -> str:
    """B02's young people reached (from :func:`young_people_results`)."""
    v = _values(results)
    return (f"**{v['reach.young_people.unique_10_16']:,} young people** were reached at ages 10-16 "
            f"(B02: \"around 19,000\"); {v['reach.young_people.unique_any_age']:,} at any age.")


def population_text(results: pd.DataFrame, year: int, area: str = "Blackpool") -> str:
    """B01 (from :func:`population_results`)."""
    return f"{_values(results)[population_key(year)]:,} young people aged 10-16 in {area}, mid-{year} (B01)."


def first_two_years_text(results: pd.DataFrame, start: str = FIRST_TWO_YEARS[0],
                         end: str = FIRST_TWO_YEARS[1]) -> str:
    """B03 (from :func:`first_two_years_results`)."""
    v = _values(results)
    return (f"From {start} to {end}, Resilience Coaches supported **{v['reach.first_two_years.resilience_coach']}** "
            f"young people and Walk and Talk **{v['reach.first_two_years.walk_and_talk']}** (B03).")


def ara_text(results: pd.DataFrame, census_year: str) -> str:
    """A03 (from :func:`ara_results`)."""
    return (f"**{_values(results)['reach.ara.young_people']:,} young people** were on roll at an ARA school at the "
            f"{census_year} census (A03).")


def schools_text(results: pd.DataFrame) -> str:
    """A04 and B02's schools (from :func:`schools_results`)."""
    sc = results.set_index("key")
    return (f"**{sc.loc['reach.charter.schools', 'value']} schools** signed the Beating Bullying Charter (A04); "
            f"**{sc.loc['reach.schools.taking_part', 'value']} of the {sc.loc['reach.schools.open', 'value']} "
            f"schools** open from {sc.loc['reach.schools.open', 'note']} hosted at least one activity (B02).")


def workforce_text(results: pd.DataFrame, co: dict) -> str:
    """A05 (from :func:`workforce_results`) and A06 (:func:`attendance_rate` of the co-production strand)."""
    w = _values(results)
    return (f"**{w['reach.workforce.participants']:,} participants in {w['reach.workforce.activities']} training and "
            f"workforce activities** (A05). Co-production attendance **{co['rate']:.2f}%** "
            f"({co['attended']:,} of {co['registered']:,} places, {co['lower']:.2f}% to {co['upper']:.2f}%; A06).")


def depth_text(depth: pd.DataFrame) -> str:
    """How often the young people reached came (from :func:`engagement_depth`)."""
    d = depth.set_index("band")
    return (f"{d.loc['1', 'share']:.0f}% of the young people reached came once, {d.loc['2-5', 'share']:.0f}% two to "
            f"five times, {d.loc['6+', 'share']:.0f}% six or more (with {d.loc['6+', 'share_of_opportunities']:.0f}% "
            "of opportunities).")


def equity_text(equity: pd.DataFrame) -> str:
    """The targeted projects' reach equity ratios (from :func:`reach_equity`)."""
    t = equity[equity["reach"] == "targeted"].set_index("group")["ratio"]
    return (f"Targeted projects reach pupils on free school meals {t['free school meals']:.1f}, with an EHC plan "
            f"{t['EHC plan']:.1f} and looked after {t['looked after']:.1f} times their share of the census.")


def fsm_text(fsm: dict) -> str:
    """A13 from the data folder's census (from :func:`fsm_share`)."""
    return (f"{fsm['fsm']:,} of {fsm['pupils']:,} young people ({fsm['share']:.1f}%) on roll at the "
            f"{' or '.join(fsm['years'])} censuses were on free school meals (A13).")


# ----------------------------------------------------------------------------- official statistics (real)
def official_population_10_16(ons: pd.DataFrame, area: str = "Blackpool") -> pd.DataFrame:
    """ONS mid-year estimates aged 10-16 (persons) of ``area``, every mid-year in ``ons``.

    ``ons``: :func:`rrlib.public.load_ons_population` (real official statistics). Columns
    ``mid_year``, ``area``, ``population_10_16``, ``population_all_ages``, ``source``.
    """

    p = ons[(ons["area"] == area) & (ons["sex"] == "Persons")]
    if p.empty:
        raise NotComputed(f"the ONS estimates have no rows for {area}")
    g = p.groupby("mid_year")
    out = pd.DataFrame({"population_10_16": g.apply(lambda d: int(d.loc[d["age"].between(AGE_MIN, AGE_MAX),
                                                                          "population"].sum()),
                                                    include_groups=False),
                        "population_all_ages": g["population"].sum()}).reset_index()
    out.insert(1, "area", area)
    out["source"] = f"{ONS_POPULATION_SOURCE} ({figures.OFFICIAL})"
    return out


def official_population_results(ons: pd.DataFrame, year: int, area: str = "Blackpool") -> pd.DataFrame:
    """B01 on official statistics: ONS mid-``year`` estimate aged 10-16 (``reach.context.official.population_10_16_<year>``)."""
    o = official_population_10_16(ons, area).set_index("mid_year")
    if int(year) not in o.index:
        raise NotComputed(f"ONS mid-{year} estimates: not in the shipped cut (it holds "
                          f"{o.index.min()} to {o.index.max()})")
    return _frame([{"key": f"reach.context.official.population_10_16_{int(year)}",
                    "value": int(o.loc[int(year), "population_10_16"]), "unit": "count",
                    "method": f"ONS MYE2 mid-{int(year)}, {area}, persons, single years of age 10 to 16 summed",
                    "note": "official statistics (ONS, as first published)"}])


def official_fsm(dfe: pd.DataFrame, area: str = "Blackpool", school_type: str = "Total") -> pd.DataFrame:
    """DfE free school meals at each January census of ``area``: pupils, FSM-eligible, share (percent).

    ``dfe``: :func:`rrlib.public.load_dfe_fsm`. The share is recomputed from the counts
    (``100 * fsm_pupils / pupils``). Columns ``academic_year``, ``census``, ``area``,
    ``school_type``, ``fsm_pupils``, ``pupils``, ``percent``, ``source``.
    """

    d = dfe[(dfe["area"] == area) & (dfe["school_type"] == school_type)]
    if d.empty:
        raise NotComputed(f"the DfE free-school-meals table has no rows for {area}, {school_type}")
    out = d[["academic_year", "census", "area", "school_type", "fsm_pupils", "pupils"]].copy()
    out["percent"] = 100 * out["fsm_pupils"] / out["pupils"]
    out["source"] = f"{DFE_FSM_SOURCE} ({figures.OFFICIAL})"
    return out.sort_values("academic_year").reset_index(drop=True)


def official_fsm_results(dfe: pd.DataFrame, censuses=("2015/16", "2016/17"), area: str = "Blackpool") -> pd.DataFrame:
    """A13 on official statistics: DfE FSM-eligible pupils, pupils and percent at each January census.

    Keys ``reach.context.official.fsm_jan<YYYY>.{fsm_pupils, pupils, percent}`` (``2015/16`` is
    January 2016). All state-funded primary, secondary and special schools (DfE ``Total``).
    """
    o = official_fsm(dfe, area)
    have = list(o["academic_year"])
    missing = [c for c in censuses if c not in have]
    if missing:
        raise NotComputed(f"DfE census year(s) {', '.join(missing)}: not in the shipped cut (it holds "
                          f"{have[0]} to {have[-1]})")
    rows = []
    for r in o[o["academic_year"].isin(list(censuses))].itertuples(index=False):
        base = f"reach.context.official.fsm_jan{int(r.academic_year[:4]) + 1}"
        method = (f"DfE January census {int(r.academic_year[:4]) + 1}, {area}, state-funded primary, secondary "
                  "and special schools")
        rows += [{"key": base + ".fsm_pupils", "value": int(r.fsm_pupils), "unit": "count", "method": method},
                 {"key": base + ".pupils", "value": int(r.pupils), "unit": "count", "method": method},
                 {"key": base + ".percent", "value": float(r.percent), "unit": "percent", "n": int(r.pupils),
                  "method": method + "; 100 x FSM-eligible / pupils on roll (a full count: no interval)"}]
    return _frame(rows)


def plot_official_fsm(dfe: pd.DataFrame, areas=("Blackpool", "England")):
    """Share of pupils eligible for free school meals at each January census, ``areas`` (DfE,
    all state-funded schools): official statistics, with their source line."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    for area, colour in zip(areas, ("#C44E52", "#4C72B0", "#55A868")):
        o = official_fsm(dfe, area)
        ax.plot(o["census"].str[-4:], o["percent"], marker="o", ms=4, color=colour, label=area)
    ax.set_xlabel("January census")
    ax.set_ylabel("Pupils eligible for free school meals (%)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    ax.set_title("Pupils eligible for free school meals, January census", loc="left")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    figures.source_note(fig, f"{DFE_FSM_SOURCE}; all state-funded schools", official=True)
    return fig


def coverage_text(cc: dict, by_year: pd.DataFrame) -> str:
    """One sentence on coverage (:func:`cumulative_coverage`, :func:`coverage_by_year`); when more young
    people were reached than the resident cohorts hold, it says why a share can exceed 100%."""
    text = (f"{cc['population']:,} were aged 10-16 at some point in the school years starting {cc['first_year']} to "
            f"{cc['last_year']} (cohorts); the programme reached {cc['share']:.1f}% of them")
    if cc["young_people_10_16"] > cc["population"]:
        text += (f" ({cc['young_people_10_16']:,} young people: more than the resident cohorts, because the census "
                 "includes pupils living outside the town and the cohort count leaves out those who moved in)")
    return text + (f", {by_year['coverage'].min():.0f}% to {by_year['coverage'].max():.0f}% in a single school "
                   "year.")


def official_text(results: pd.DataFrame) -> str:
    """One sentence from the official results frames (:func:`official_population_results` and
    :func:`official_fsm_results`): the ONS 10-16 estimate and each DfE census's FSM count."""
    v = _values(results)
    parts = [f"ONS mid-{k[-4:]}: **{v[k]:,}** aged 10-16" for k in v.index if ".population_10_16_" in k]
    for k in [k for k in v.index if k.endswith(".fsm_pupils")]:
        base = k.removesuffix(".fsm_pupils")
        parts.append(f"DfE January {base[-4:]} census: **{v[k]:,} of {v[base + '.pupils']:,}** pupils on free "
                     f"school meals ({v[base + '.percent']:.1f}%)")
    return "Official statistics: " + "; ".join(parts) + "."
