"""Chapter 2, part B: exclusions from pupil records (the January school census and the exclusions
return: synthetic by default, the real extracts when given): the town's rates, who is excluded,
and exclusions among the young people who got targeted support (A07, A08, A19).

Definitions and intervals as in :mod:`rrlib.chapters.exclusions.official`; matching for the
targeted-support comparison in :mod:`rrlib.stats.matching`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib import ticker as mticker

from ... import calendar, figures
from ... import stats as rstats
from ...chapter import require_values
from ...data import education, school_phase, take_rows
from ...disclosure import suppressed_keys
from ...stats.matching import cem_weights, weighted_proportions
from ..common import back_on_track_windows, count_in_windows
from .official import AREA, AREA_COLOURS, DFE_NATIONAL_SOURCE, DFE_SOURCE, MEASURES, NATION, rate_intervals, year_key

__all__ = ["PUBLISH", "A11_CONTEXT", "A11_YEAR", "GROUPS", "GROUP_LABELS", "DFE_TOTAL_PHASES", "town_rates",
           "compare_with_dfe", "pupil_years", "group_rates", "rates_by_age", "peak_age", "exclusion_model",
           "first_starts", "not_permanently_excluded_after_start", "matched_comparison", "A08_STRANDS",
           "A08_PROJECTS", "activity_exclusions", "back_on_track_exclusions", "plot_forest", "plot_town_vs_dfe",
           "plot_targeted_comparison", "targeted_comparison_figure", "plot_age_profile", "town_results", "a11_pupil_result",
           "a11_pupil_text", "hidden_groups", "shown", "who_results", "adjusted_table", "targeted_results", "activity_results",
           "back_on_track_results", "town_table"]


def _fin(v):
    return float(v) if v is not None and np.isfinite(v) else None



# =========================================================================== part B: pupils
#: Published context for A11 (sources: the "Inclusion not Exclusion" campaign slides, 2021):
#: fixed-period exclusion rates of the North West and England that Blackpool's 12.48 was set
#: against. Not in the shipped DfE table (which ends in 2016/17); shown as published context only.
A11_CONTEXT = {"North West": 5.30, "England": 5.36}
A11_YEAR = "2018/19"
#: Groups for "who is excluded" (A12), with their reference category.
GROUPS = {
    "sex": "F",
    "fsm": False,
    "sen_provision": "none",
    "ethnicity_major": "WHIT",
    "looked_after": False,
}
GROUP_LABELS = {"sex": "Sex", "fsm": "Free school meals", "sen_provision": "SEN provision",
                "ethnicity_major": "Ethnicity (major group)", "ethnicity_minor": "Ethnicity",
                "looked_after": "Looked after", "age": "Age (31 August)"}
DFE_TOTAL_PHASES = ("primary", "secondary", "special")
_YES_NO = {"True": "yes", "False": "no", "1": "yes", "0": "no"}
#: Category codes in words, for figures (the published tables keep the DfE's codes).
CATEGORY_LABELS = {"sex": {"F": "girls", "M": "boys"}, "fsm": _YES_NO, "looked_after": _YES_NO,
                   "sen_provision": {"none": "no SEN", "sen_support": "SEN support", "ehc_plan": "EHC plan"},
                   "ethnicity_major": education.ETHNICITY_MAJOR,
                   "ethnicity_minor": {k: v[1] for k, v in education.ETHNICITY_MINOR.items()}}


def category_label(variable: str, category) -> str:
    """``("sen_provision", "ehc_plan")`` -> ``EHC plan``; ``("ethnicity_major", "BLAC")`` -> ``Black or Black British``."""
    return CATEGORY_LABELS.get(variable, {}).get(str(category), str(category))


def _scope_mask(phase: pd.Series, scope: str) -> pd.Series:
    if scope == "Total":
        return phase.isin(DFE_TOTAL_PHASES)
    if scope == "Secondary":
        return phase == "secondary"
    if scope == "All":
        return pd.Series(True, index=phase.index)
    raise ValueError(f"scope must be 'Total', 'Secondary' or 'All', got {scope!r}")


def _phase_of(df: pd.DataFrame, schools: pd.DataFrame | None) -> pd.Series:
    """The ``phase`` column of ``df``, or its school's phase from ``schools`` (NaN if unknown)."""
    if "phase" in df.columns:
        return df["phase"]
    if schools is None:
        raise ValueError("table has no 'phase' column: pass schools= to attach it")
    return pd.Series(school_phase(df["school_id"], schools), index=df.index, name="phase")


def _rate_frame(year, measure, count, headcount, confidence=0.95) -> pd.DataFrame:
    out = pd.DataFrame({"year": year, "measure": measure, "count": np.asarray(count, float),
                        "headcount": np.asarray(headcount, float)})
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate"] = np.where(out["headcount"] > 0, out["count"] / out["headcount"] * 100, np.nan)
    lo, hi, meth = rate_intervals(out["measure"], out["count"].to_numpy(), out["headcount"].to_numpy(), confidence)
    out["lower"], out["upper"], out["ci_method"] = lo, hi, meth
    return out


def town_rates(pupils: pd.DataFrame, exclusions: pd.DataFrame, *, scope: str = "Total",
               schools: pd.DataFrame | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """DfE-definition exclusion rates of the town by academic year, from pupil records.

    headcount = census rows of the year in scope; suspensions and permanent exclusions =
    exclusion rows of that academic year at schools in scope; one-or-more = distinct pupils with
    at least one suspension that year. ``scope``: "Total" (state-funded primary, secondary and
    special, as DfE's Total: alternative provision is outside), "Secondary", or "All".
    Long format: year, measure, count, headcount, rate, lower, upper, ci_method.
    """
    # only the columns counted are selected (filtering the wide census copies every column)
    p_in = _scope_mask(_phase_of(pupils, schools), scope).to_numpy(dtype=bool)
    e_in = _scope_mask(_phase_of(exclusions, schools), scope).to_numpy(dtype=bool)
    year = pupils["academic_year"][p_in]
    e = exclusions.loc[e_in, ["academic_year", "category", "pupil_id"]]
    head = year.groupby(year).size()
    sus = e[e["category"] == "suspension"]
    counts = pd.DataFrame({
        "suspension": sus.groupby("academic_year").size(),
        "one_plus": sus.groupby("academic_year")["pupil_id"].nunique(),
        "permanent": e[e["category"] == "permanent"].groupby("academic_year").size(),
    }).reindex(head.index).fillna(0)
    frames = [_rate_frame(head.index, m, counts[m].to_numpy(), head.to_numpy(), confidence) for m in MEASURES]
    out = pd.concat(frames, ignore_index=True)
    out.insert(2, "scope", scope)
    out["measure"] = pd.Categorical(out["measure"], categories=list(MEASURES))
    return out.sort_values(["measure", "year"]).reset_index(drop=True)


def compare_with_dfe(town: pd.DataFrame, rates: pd.DataFrame, *, area: str = AREA,
                     school_type: str = "Total") -> pd.DataFrame:
    """The town's rates from pupil records beside the DfE's published rates, for the years both cover.

    Columns: year, measure, town_rate, town_lower, town_upper, dfe_rate, difference, dfe_in_ci.
    """
    d = rates[(rates["area"] == area) & (rates["school_type"] == school_type)][
        ["year", "measure", "published_rate", "count", "headcount"]].copy()
    d["measure"] = d["measure"].astype(str)
    t = town.assign(measure=town["measure"].astype(str))[["year", "measure", "rate", "lower", "upper",
                                                            "count", "headcount"]]
    m = t.merge(d, on=["year", "measure"], suffixes=("_town", "_dfe"))
    m = m.rename(columns={"rate": "town_rate", "lower": "town_lower", "upper": "town_upper",
                          "published_rate": "dfe_rate"})
    m["difference"] = m["town_rate"] - m["dfe_rate"]
    m["dfe_in_ci"] = (m["town_lower"] <= m["dfe_rate"]) & (m["dfe_rate"] <= m["town_upper"])
    return m.sort_values(["measure", "year"]).reset_index(drop=True)


def pupil_years(pupils: pd.DataFrame, exclusions: pd.DataFrame, *, scope: str = "Total",
                years: Sequence[str] | None = None, schools: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per pupil and academic year in scope, with that year's exclusion outcomes.

    Adds ``suspensions`` (count), ``one_plus`` (0/1: at least one suspension), ``permanent``
    (0/1) and, when missing, ``age`` on 31 August before the year (DfE convention). Exclusions
    are matched on pupil and academic year (the census school's year).
    """
    # one selection (no merge / join of the wide census frame: those copy it several times),
    # counts matched on integer keys (linear in rows; no per-row Python)
    phase = _phase_of(pupils, schools)
    keep = _scope_mask(phase, scope).to_numpy(dtype=bool)
    if years is not None:
        keep &= pupils["academic_year"].isin(list(years)).to_numpy(dtype=bool)
    p = take_rows(pupils, np.flatnonzero(keep))
    if "phase" not in p.columns:
        p["phase"] = phase.to_numpy()[keep]
    if "age" not in p.columns:
        codes, uniq = pd.factorize(p["academic_year"])
        start = pd.to_numeric(pd.Series(uniq, dtype=object).astype(str).str[:4]).to_numpy()[codes]
        p["age"] = pd.Series(start, index=p.index) - p["birth_year"] - (p["birth_month"] >= 9).astype(int)
    e = exclusions
    n = len(p)
    pid = pd.factorize(pd.concat([p["pupil_id"], e["pupil_id"]], ignore_index=True))[0]
    ay, ay_u = pd.factorize(pd.concat([p["academic_year"], e["academic_year"]], ignore_index=True))
    key = np.where((pid >= 0) & (ay >= 0), pid.astype(np.int64) * max(len(ay_u), 1) + ay, -1)
    kp, ke = key[:n], key[n:]
    cat = e["category"].to_numpy()

    def count(category: str) -> np.ndarray:
        k = ke[(cat == category) & (ke >= 0)]
        uniq, cnt = np.unique(k, return_counts=True)
        i = np.searchsorted(uniq, kp)
        i_ok = np.minimum(i, max(len(uniq) - 1, 0))
        hit = (i < len(uniq)) & (uniq[i_ok] == kp) if len(uniq) else np.zeros(n, dtype=bool)
        return np.where(hit, cnt[i_ok] if len(uniq) else 0, 0).astype(int)

    p["suspensions"] = count("suspension")
    p["one_plus"] = (p["suspensions"] > 0).astype(int)
    p["permanent"] = (count("permanent") > 0).astype(int)
    return p


def group_rates(py: pd.DataFrame, groups: dict | None = None, *, outcome: str = "one_plus",
                confidence: float = 0.95) -> pd.DataFrame:
    """Share of pupil-years with the outcome by characteristic, with risk ratios against a reference.

    ``py``: :func:`pupil_years`. ``groups``: ``{column: reference category}`` (default
    :data:`GROUPS`; reference None = no ratios). Shares are percentages with Wilson intervals
    (:func:`rrlib.stats.proportion_ci`); risk ratios use the log method
    (:func:`rrlib.stats.risk_ratio`: Altman et al. 2000). Columns: variable, category,
    reference, n (pupil-years), events, percent, lower, upper, rr, rr_lower, rr_upper, p_value.
    """
    groups = GROUPS if groups is None else groups
    rows = []
    for var, ref in groups.items():
        g = py.groupby(var, observed=True)[outcome].agg(n="size", events="sum").reset_index()
        g = g.rename(columns={var: "category"})
        ci = rstats.proportion_ci(g["events"].to_numpy(), g["n"].to_numpy(), confidence=confidence, multiplier=100)
        g["percent"], g["lower"], g["upper"] = ci.value, ci.lower, ci.upper
        g["variable"] = var
        g["reference"] = g["category"] == ref if ref is not None else False
        if ref is not None and (g["category"] == ref).any():
            r = g[g["category"] == ref].iloc[0]
            rr = rstats.risk_ratio(g["events"].to_numpy(), g["n"].to_numpy(), r["events"], r["n"],
                                   confidence=confidence)
            g["rr"], g["rr_lower"], g["rr_upper"], g["p_value"] = (
                rr["estimate"].to_numpy(), rr["lower"].to_numpy(), rr["upper"].to_numpy(), rr["p_value"].to_numpy())
            g.loc[g["reference"], ["rr_lower", "rr_upper", "p_value"]] = np.nan
        else:
            g["rr"] = g["rr_lower"] = g["rr_upper"] = g["p_value"] = np.nan
        g["category"] = g["category"].astype(str)
        rows.append(g)
    out = pd.concat(rows, ignore_index=True)
    return out[["variable", "category", "reference", "n", "events", "percent", "lower", "upper",
                "rr", "rr_lower", "rr_upper", "p_value"]]


def rates_by_age(py: pd.DataFrame, *, ages: Sequence[int] = range(4, 17), confidence: float = 0.95) -> pd.DataFrame:
    """Exclusion rates by age (31 August before the year; DfE convention), pooled over the years in ``py``.

    Columns: age, headcount, and per measure count / rate / lower / upper (suspensions and
    permanent exclusions: Byars/exact; one-or-more: Wilson), long format like :func:`town_rates`
    with ``year`` replaced by ``age``.
    """
    # only the four columns it needs (filtering the whole pupil-year frame copies every column)
    d = py[["age", "suspensions", "one_plus", "permanent"]]
    d = d[d["age"].isin(list(ages))]
    g = d.groupby("age").agg(headcount=("age", "size"), suspension=("suspensions", "sum"),
                             one_plus=("one_plus", "sum"), permanent=("permanent", "sum"))
    frames = [_rate_frame(g.index.to_numpy(), m, g[m].to_numpy(), g["headcount"].to_numpy(), confidence)
              for m in MEASURES]
    return pd.concat(frames, ignore_index=True).rename(columns={"year": "age"})


def peak_age(by_age: pd.DataFrame, measure: str = "one_plus") -> int:
    """The age with the highest rate of ``measure`` (see :func:`rates_by_age`)."""
    d = by_age[by_age["measure"] == measure]
    return int(d.loc[d["rate"].idxmax(), "age"])


def exclusion_model(py: pd.DataFrame, *, outcome: str = "one_plus",
                    covariates: Sequence[str] = ("sex", "fsm", "sen_provision", "ethnicity_major",
                                                 "looked_after", "age_band", "academic_year"),
                    cluster: str = "school_id", references: dict | None = None) -> pd.DataFrame:
    """Adjusted risk ratios: modified Poisson regression with school-clustered standard errors.

    A Poisson GLM (log link) of a binary outcome with cluster-robust (sandwich) standard errors
    estimates risk ratios directly (Zou G (2004) Am J Epidemiol 159:702-6; clustered: Zou &
    Donner (2013) Stat Methods Med Res 22:661-70), so that overlapping characteristics (FSM,
    SEN, looked after) are not double counted. Fitted by :func:`rrlib.stats.fit_glm`.
    ``age_band`` (4-10, 11, 12, 13, 14, 15-16) is derived from ``age`` when absent. Returns the
    tidy table of :func:`rrlib.stats.fit_glm` with ``variable`` and ``category`` columns.
    """
    d = py.copy()
    if "age_band" in covariates and "age_band" not in d.columns:
        d["age_band"] = pd.cut(d["age"], [-1, 10, 11, 12, 13, 14, 30],
                               labels=["4-10", "11", "12", "13", "14", "15-16"]).astype(str)
    refs = {**GROUPS, "age_band": "4-10", **(references or {})}
    terms = []
    for c in covariates:
        if c in refs and refs[c] is not None:
            ref = refs[c]
            ref_txt = repr(ref) if isinstance(ref, str) else str(ref)
            if d[c].dtype == bool:
                d[c] = d[c].astype(int)
                ref_txt = str(int(ref))
            terms.append(f"C({c}, Treatment({ref_txt}))")
        else:
            terms.append(f"C({c})")
    d[outcome] = d[outcome].astype(float)
    res = rstats.fit_glm(d, f"{outcome} ~ " + " + ".join(terms), family="poisson", cluster=cluster)
    parsed = res["term"].str.extract(r"^C\((?P<variable>\w+)[^)]*\)\)?\[T\.(?P<category>[^\]]+)\]$")
    res.insert(1, "variable", parsed["variable"])
    res.insert(2, "category", parsed["category"])
    res["method"] = ("modified Poisson regression (Zou 2004): adjusted risk ratios, "
                     f"cluster-robust SEs by {cluster}")
    return res


# --------------------------------------------------------------------------- targeted support (A07, A08, A19)
def first_starts(interventions: pd.DataFrame, programmes: Sequence[str] | None = None) -> pd.DataFrame:
    """Each young person's first start of targeted support: person_id, start_date, programme."""
    iv = interventions[interventions["start_date"].notna()]
    if programmes is not None:
        iv = iv[iv["programme"].isin(list(programmes))]
    iv = iv.sort_values(["person_id", "start_date", "programme"], kind="stable")
    return iv.drop_duplicates("person_id")[["person_id", "start_date", "programme"]].reset_index(drop=True)


def not_permanently_excluded_after_start(interventions: pd.DataFrame, exclusions: pd.DataFrame, *,
                                         programmes: Sequence[str] | None = None,
                                         confidence: float = 0.95) -> dict:
    """A07: share of young people with targeted support not permanently excluded after it started.

    Young people = distinct ``person_id`` with at least one started episode (``start_date``);
    excluded after = a permanent exclusion dated on or after their first start. Percentage with
    a Wilson interval. Returns n, excluded, not_excluded, percent, lower, upper, method.
    """
    fs = first_starts(interventions, programmes)
    perm = exclusions[exclusions["category"] == "permanent"][["pupil_id", "exclusion_date"]]
    m = fs.merge(perm, left_on="person_id", right_on="pupil_id", how="left")
    after = m[m["exclusion_date"] >= m["start_date"]]["person_id"].nunique()
    n = len(fs)
    if n == 0:
        raise ValueError("no young person with a started targeted intervention")
    ci = rstats.proportion_ci(n - after, n, confidence=confidence, multiplier=100)
    return {"n": n, "excluded": int(after), "not_excluded": int(n - after), "percent": ci.value,
            "lower": ci.lower, "upper": ci.upper, "method": "Wilson score"}


def matched_comparison(interventions: pd.DataFrame, pupils: pd.DataFrame, exclusions: pd.DataFrame, *,
                       match_on: Sequence[str] = ("academic_year", "school_id", "sex", "fsm", "sen_provision",
                                                  "looked_after", "prior_suspension"),
                       programmes: Sequence[str] | None = None,
                       follow_up_end: str | pd.Timestamp | None = None,
                       confidence: float = 0.95) -> tuple[dict, pd.DataFrame]:
    """Young people with targeted support against similar pupils without it (exact / coarsened matching).

    Observational: matching removes differences in the matched characteristics only.

    * Supported: each young person's first start (index date), characteristics from the census
      of that academic year (``supported_in_census``); must not have been permanently excluded
      before the index date (``supported_at_risk``).
    * Pool: pupils in the same academic year's census never referred to targeted support, not
      permanently excluded before the index date.
    * ``prior_suspension``: any suspension in the 365 days before the index date (0/1).
    * Matching: exact on ``match_on`` (coarsened exact matching, Iacus, King & Porro 2012;
      :func:`rrlib.stats.matching.cem_weights`);
      controls in a stratum take the median index date of the supported young people there and
      get weight (supported in stratum / controls in stratum) x (matched controls / matched
      supported); unmatched supported young people are reported, not dropped silently.
    * Outcome: a permanent exclusion from the index date to ``follow_up_end`` (default: the
      last exclusion date in the data).

    Returns ``(summary, table)``: summary with the supported and weighted comparison percentages
    not permanently excluded, Wilson intervals (comparison on its Kish effective size), the
    difference (Newcombe hybrid score interval, :func:`rrlib.stats.proportion_difference`, on the
    effective size) and match counts; ``table`` a two-row tidy table for plotting/publishing.
    """
    fs = first_starts(interventions, programmes).rename(columns={"start_date": "index_date"})
    fs["academic_year"] = calendar.academic_year(fs["index_date"])
    end = pd.Timestamp(follow_up_end) if follow_up_end is not None else pd.to_datetime(exclusions["exclusion_date"]).max()
    chars = ["pupil_id", "academic_year", "school_id", "sex", "fsm", "sen_provision", "looked_after"]
    chars = list(dict.fromkeys(chars + [c for c in match_on if c in pupils.columns]))
    cen = pupils[chars]
    treated = fs.merge(cen, left_on=["person_id", "academic_year"], right_on=["pupil_id", "academic_year"],
                       how="left")
    n_supported = len(treated)
    treated = treated[treated["pupil_id"].notna()].drop(columns=["person_id"])
    n_in_census = len(treated)
    ever = set(interventions["person_id"])
    exc = exclusions[["pupil_id", "exclusion_date", "category"]].copy()
    exc["exclusion_date"] = pd.to_datetime(exc["exclusion_date"])
    perm = exc[exc["category"] == "permanent"].groupby("pupil_id")["exclusion_date"].min()
    sus = exc[exc["category"] == "suspension"]

    def flag(df: pd.DataFrame, events: pd.DataFrame, lo_days: int | None, name: str,
             after: bool) -> pd.Series:
        """1 where the pupil has an event in the window around its index date (vectorised)."""
        k = df[["pupil_id", "index_date"]].drop_duplicates()
        m = events.merge(k, on="pupil_id")
        if after:
            m = m[(m["exclusion_date"] >= m["index_date"]) & (m["exclusion_date"] <= end)]
        else:
            m = m[(m["exclusion_date"] < m["index_date"])
                  & (m["exclusion_date"] >= m["index_date"] - pd.Timedelta(days=lo_days))]
        hit = m[["pupil_id", "index_date"]].drop_duplicates().assign(**{name: 1})
        return df[["pupil_id", "index_date"]].merge(hit, how="left", on=["pupil_id", "index_date"])[name] \
            .fillna(0).astype(int).to_numpy()

    def prior_and_outcome(df: pd.DataFrame) -> pd.DataFrame:
        df = df.reset_index(drop=True)
        df["perm_before"] = (df["pupil_id"].map(perm) < df["index_date"]).to_numpy()
        df["prior_suspension"] = flag(df, sus, 365, "prior_suspension", after=False)
        df["permanent_after"] = flag(df, exc[exc["category"] == "permanent"], None, "permanent_after", after=True)
        return df

    treated = prior_and_outcome(treated)
    treated = treated[~treated["perm_before"]]
    keys = [k for k in match_on if k != "prior_suspension"]
    # index date of a stratum: median of its supported young people's first starts
    strata_dates = (treated.groupby(keys, observed=True)["index_date"]
                    .agg(lambda s: s.sort_values().iloc[(len(s) - 1) // 2]).rename("index_date").reset_index())
    pool = cen[~cen["pupil_id"].isin(ever)].merge(strata_dates, on=keys, how="inner")
    pool = prior_and_outcome(pool)
    pool = pool[~pool["perm_before"]]
    try:
        tm, cm, n_strata = cem_weights(treated, pool, match_on)
    except ValueError:
        raise ValueError("no supported young person has a matched comparison pupil; coarsen match_on") from None
    w = cm["weight"].to_numpy()
    wp = weighted_proportions(1 - tm["permanent_after"].to_numpy(), 1 - cm["permanent_after"].to_numpy(), w,
                              confidence=confidence)
    summary = {
        "supported": n_supported, "supported_in_census": int(n_in_census),
        "supported_at_risk": int(len(treated)),
        "matched_supported": int(len(tm)), "matched_controls": int(len(cm)),
        "strata": n_strata, "effective_controls": wp["effective_controls"],
        "supported_percent": wp["treated_percent"], "supported_lower": wp["treated_lower"],
        "supported_upper": wp["treated_upper"], "comparison_percent": wp["comparison_percent"],
        "comparison_lower": wp["comparison_lower"], "comparison_upper": wp["comparison_upper"],
        "difference": wp["difference"], "difference_lower": wp["difference_lower"],
        "difference_upper": wp["difference_upper"],
        "supported_prior_suspension": float(tm["prior_suspension"].mean() * 100),
        "comparison_prior_suspension": float(np.sum(w * cm["prior_suspension"]) / np.sum(w) * 100),
        "match_on": ", ".join(match_on), "follow_up_end": str(end.date()),
        "method": ("coarsened exact matching (Iacus, King & Porro 2012); Wilson intervals; comparison "
                   "on its Kish effective sample size; difference by Newcombe's hybrid score"),
    }
    # young_people: supported young people, and comparison pupil-years (a never-referred pupil can
    # be a comparison in more than one school year)
    table = pd.DataFrame({
        "group": ["Targeted support (matched)", "Comparison (matched, weighted)"],
        "young_people": [len(tm), len(cm)],
        "permanently_excluded_after": [int(tm["permanent_after"].sum()),
                                       int(cm["permanent_after"].sum())],
        "percent_not_excluded": [wp["treated_percent"], wp["comparison_percent"]],
        "lower": [wp["treated_lower"], wp["comparison_lower"]], "upper": [wp["treated_upper"], wp["comparison_upper"]],
    })
    return summary, table


#: Projects of the programme's activity log for A08: the co-production strand and Friend for Life.
A08_STRANDS = ("co-production",)
A08_PROJECTS = ("Friend for Life",)


def activity_exclusions(attendance: pd.DataFrame, exclusions: pd.DataFrame, *,
                        strands: Sequence[str] = A08_STRANDS, projects: Sequence[str] = A08_PROJECTS) -> pd.DataFrame:
    """A08: young people who took part in co-production or Friend for Life, and their exclusions.

    Young people = distinct ``person_id`` of attended ``young_person`` places in activities of
    the given strands or projects (the processed ``attendance`` table carries each activity's
    project, strand and date). For each group (each strand/project and all together): people,
    those with any exclusion ever, any exclusion on or after their first attended activity,
    and a permanent exclusion on or after it.
    """
    a = attendance[(attendance["role"] == "young_person") & attendance["attended"].astype(bool)]
    date_col = "activity_date" if "activity_date" in a.columns else "date"
    a = a[a["strand"].isin(list(strands)) | a["project"].isin(list(projects))].copy()
    a["group"] = np.where(a["project"].isin(list(projects)), a["project"], a["strand"])
    exc = exclusions[["pupil_id", "exclusion_date", "category"]]
    rows = []
    for name, g in [*a.groupby("group", sort=True), ("all", a)]:
        first = g.groupby("person_id")[date_col].min().rename("first").reset_index()
        m = first.merge(exc, left_on="person_id", right_on="pupil_id", how="left")
        after = m["exclusion_date"] >= m["first"]
        rows.append({"group": name, "young_people": len(first),
                     "excluded_ever": int(m.loc[m["exclusion_date"].notna(), "person_id"].nunique()),
                     "excluded_after_first": int(m.loc[after, "person_id"].nunique()),
                     "permanent_after_first": int(m.loc[after & (m["category"] == "permanent"), "person_id"].nunique())})
    return pd.DataFrame(rows)


def back_on_track_exclusions(interventions: pd.DataFrame, exclusions: pd.DataFrame, *,
                             referred_from: str = "2016-11-01", cutoff: str = "2020-08-31",
                             consent_only: bool = True, window_days: int = 365,
                             confidence: float = 0.95) -> tuple[dict, pd.DataFrame]:
    """A19: Back on Track suspensions before, during and after support.

    Episodes of ``back_on_track`` referred from ``referred_from`` to ``cutoff`` with a start date
    (and, by default, ``education_data_consent``: the evaluation's education data request).
    Windows per episode: before = the ``window_days`` before the start; during = start to end
    (or the cutoff if still open); after = the ``window_days`` after the end, truncated at the
    cutoff. Counts of suspensions per window, and rates per pupil-year (suspensions / years in
    the window) with exact/Byars intervals (:func:`rrlib.stats.rate_ci`, multiplier 1).

    Returns ``(summary, by_period)``: summary = young people, those with a suspension before or
    during, suspensions before and during, suspensions after, those with one after; by_period =
    one row per period with suspensions, pupil_years, rate, lower, upper.
    """
    cut = pd.Timestamp(cutoff)
    iv = interventions[(interventions["programme"] == "back_on_track") & interventions["start_date"].notna()
                       & (interventions["referral_date"] >= pd.Timestamp(referred_from))
                       & (interventions["referral_date"] <= cut)].copy()
    if consent_only and "education_data_consent" in iv.columns:
        iv = iv[iv["education_data_consent"].astype(bool)]
    iv = iv[iv["start_date"] <= cut]
    # the one definition of the windows, shared with the targeted chapter (rrlib.chapters.common)

    win = back_on_track_windows(iv, cutoff=cut, before_days=window_days, after_days=window_days)
    sus = exclusions[exclusions["category"] == "suspension"]
    long = count_in_windows(win, sus).rename(columns={"window": "period", "events": "suspensions",
                                                      "years": "pupil_years"})
    long["period"] = long["period"].astype(str)
    tot = long.groupby("period", sort=False).agg(young_people=("person_id", "nunique"),
                                                 with_suspension=("suspensions", lambda s: int((s > 0).sum())),
                                                 suspensions=("suspensions", "sum"),
                                                 pupil_years=("pupil_years", "sum")).reset_index()
    ok = tot["pupil_years"] > 0
    tot["rate"] = np.nan
    tot["lower"] = np.nan
    tot["upper"] = np.nan
    if ok.any():
        ci = rstats.rate_ci(tot.loc[ok, "suspensions"].to_numpy(), tot.loc[ok, "pupil_years"].to_numpy(),
                            confidence=confidence, multiplier=1)
        tot.loc[ok, "rate"], tot.loc[ok, "lower"], tot.loc[ok, "upper"] = ci.value, ci.lower, ci.upper
    bd = long[long["period"].isin(["before", "during"])].groupby("person_id")["suspensions"].sum()
    af = long[long["period"] == "after"].groupby("person_id")["suspensions"].sum()
    summary = {"young_people": int(iv["person_id"].nunique()), "episodes": int(len(iv)),
               "with_suspension_before_during": int((bd > 0).sum()),
               "suspensions_before_during": int(bd.sum()),
               "suspensions_after": int(af.sum()), "with_suspension_after": int((af > 0).sum()),
               "cutoff": str(cut.date()), "window_days": window_days}
    return summary, tot


# --------------------------------------------------------------------------- part B figures
def plot_forest(groups: pd.DataFrame, adjusted: pd.DataFrame | None = None, *, source: str = "", official: bool = False):
    """Forest plot of risk ratios (one or more suspensions in a year) by characteristic.

    ``groups``: :func:`group_rates` (crude risk ratios, black); ``adjusted``: optional
    :func:`exclusion_model` (adjusted risk ratios, red, same variable/category). Log scale,
    reference categories marked at 1.
    """
    import matplotlib.pyplot as plt

    g = groups.copy()
    g["label"] = (g["variable"].map(lambda v: GROUP_LABELS.get(v, v)) + ": "
                  + [category_label(v, c) for v, c in zip(g["variable"], g["category"])]
                  + np.where(g["reference"], " (ref.)", ""))
    # groups with no events have a risk ratio of 0 and no interval: not drawable on a log scale
    g = g[g["rr"].notna() & (g["rr"] > 0)].reset_index(drop=True)
    y = np.arange(len(g))[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(g) + 1.4))
    ok = g["rr_lower"].notna()
    ax.errorbar(g.loc[ok, "rr"], y[ok.to_numpy()],
                xerr=[g.loc[ok, "rr"] - g.loc[ok, "rr_lower"], g.loc[ok, "rr_upper"] - g.loc[ok, "rr"]],
                fmt="o", color="black", ms=4, capsize=2, label="crude (log method)")
    ax.plot(g.loc[~ok, "rr"], y[~ok.to_numpy()], "s", color="grey", ms=4)
    if adjusted is not None:
        a = adjusted.dropna(subset=["variable"])
        key = dict(zip(zip(a["variable"], a["category"].astype(str)), a.index))
        ys, r, lo, hi = [], [], [], []
        for i, row in g.iterrows():
            cat = row["category"]
            cat = {"True": "1", "False": "0"}.get(cat, cat)
            j = key.get((row["variable"], cat))
            if j is not None:
                ys.append(y[i] - 0.25)
                r.append(a.loc[j, "ratio"])
                lo.append(a.loc[j, "ratio_lower"])
                hi.append(a.loc[j, "ratio_upper"])
        if ys:
            r, lo, hi = map(np.asarray, (r, lo, hi))
            ax.errorbar(r, ys, xerr=[r - lo, hi - r], fmt="o", color=AREA_COLOURS[AREA], ms=4, capsize=2,
                        label="adjusted (modified Poisson, school-clustered)")
    ax.axvline(1, color="grey", lw=0.8)
    ax.set_xscale("log")
    # plain-number ticks on the log axis (0.25, 0.5, 1, 2, 4...), no overlapping 3x10^-1 minor labels
    lo = float(np.nanmin(np.r_[g["rr_lower"].dropna(), g["rr"]]))
    hi = float(np.nanmax(np.r_[g["rr_upper"].dropna(), g["rr"]]))
    ticks = [t for t in (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32) if lo / 1.5 <= t <= hi * 1.5] or [1]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax.set_yticks(y, g["label"], fontsize=7.5)
    ax.set_xlabel("Risk ratio: one or more suspensions in the school year (95% CI, log scale)")
    ax.set_title("Who is suspended: risk ratios by pupil characteristic", fontsize=10)
    # the legend under the panel, clear of every estimate
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, frameon=False, loc="lower center", ncol=2, bbox_to_anchor=(0.5, 0))
    if source:
        figures.source_note(fig, source, official=official)
    fig.tight_layout(rect=(0, 0.5 / fig.get_figheight(), 1, 1))
    return fig


def plot_town_vs_dfe(town: pd.DataFrame, wide: pd.DataFrame, *, measures: Sequence[str] = tuple(MEASURES),
                     source: str = DFE_SOURCE, official: bool = True, synthetic: bool | None = True):
    """Rates from pupil records (points, 95% CI), over the DfE's published series (lines) only when the
    pupil records are real (``synthetic`` is False): synthetic and official values are never drawn on one
    axis (the official series has its own figure, :func:`plot_time_series`)."""
    import matplotlib.pyplot as plt

    real = synthetic is False
    d = wide[wide["school_type"] == "Total"] if real else wide.iloc[0:0]
    years = sorted(set(d["year"]) | set(town["year"]))
    pos = {y: i for i, y in enumerate(years)}
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.8), squeeze=False)
    for ax, m in zip(axes[0], measures):
        for area, g in d.groupby("area", sort=False):
            ax.plot([pos[y] for y in g["year"]], g[f"{m}_rate"], color=AREA_COLOURS.get(area, "black"),
                    lw=1, label=f"{area} (DfE, published)")
        t = town[town["measure"].astype(str) == m]
        x = np.array([pos[y] for y in t["year"]])
        ax.errorbar(x, t["rate"], yerr=[t["rate"] - t["lower"], t["upper"] - t["rate"]], fmt="o", ms=3.5,
                    color="black", capsize=2, label="Town, pupil records")
        ax.set_xticks(range(0, len(years), 2), years[::2], rotation=45, ha="right", fontsize=7)
        ax.set_title(MEASURES[m]["label"], fontsize=9)
        ax.set_ylabel("per 100 pupils on roll")
        ax.set_ylim(bottom=0)
    axes[0][0].legend(fontsize=7, frameon=False)
    fig.suptitle("Exclusion rates from pupil records (DfE definitions) against the published DfE series" if real
                 else "Exclusion rates from the data folder's pupil records (DfE definitions; the official series "
                      "is drawn on its own)", fontsize=10)
    if real and source:
        figures.source_note(fig, source, official=official, note="Town: pupil records of the data folder.")
    else:
        figures.source_note(fig, "pupil records of the data folder (census and exclusions return)")
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    return fig


def targeted_comparison_figure(published: pd.DataFrame) -> figures.FigureData:
    """What the targeted-vs-comparison figure draws: the published ``exclusions_targeted_vs_comparison``
    (share not permanently excluded with its interval, and the group's size); a share the table
    suppresses (a count of exclusions under the threshold) is not drawn (issue 27)."""
    return figures.from_table(published, "exclusions_targeted_vs_comparison", x="group", y="percent_not_excluded",
                              lower="lower", upper="upper", n="young_people", series_label="percent not excluded",
                              key=("group",))


def plot_targeted_comparison(data: pd.DataFrame, *, source: str = "", official: bool = False):
    """Share not permanently excluded after support started: supported vs matched comparison, from the
    published figure data (:func:`targeted_comparison_figure`; a suppressed share is marked, not drawn)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 2.6))
    y = np.arange(len(data))[::-1]
    colours = [AREA_COLOURS[AREA], "#555555"]
    for i, (_, r) in enumerate(data.iterrows()):
        size = "c" if pd.isna(r["n"]) else f"{int(r['n']):,}"
        what = "young people" if i == 0 else "pupil-years"
        if pd.isna(r["y"]):
            ax.annotate(f"c ({size} {what}: suppressed)", (100, y[i]), ha="right", va="center", fontsize=8)
            continue
        ax.errorbar(r["y"], y[i], xerr=[[r["y"] - r["lower"]], [r["upper"] - r["y"]]],
                    fmt="o", color=colours[i % 2], capsize=3, ms=6)
        ax.annotate(f"{r['y']:.1f}% ({size} {what})", (r["y"], y[i]), xytext=(0, 8), textcoords="offset points",
                    ha="center", fontsize=8)
    ax.set_yticks(y, data["x"], fontsize=8)
    ax.set_ylim(-0.7, len(data) - 0.3)
    lo = float(min(data["lower"].min(), 95)) if data["lower"].notna().any() else 95.0
    ax.set_xlim(max(lo - 1, 0), 100.2)
    ax.set_xlabel("% not permanently excluded after support started (95% CI)")
    ax.set_title("Targeted support and permanent exclusion: observational comparison", fontsize=10)
    if source:
        figures.source_note(fig, source, official=official)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_age_profile(by_age: pd.DataFrame, national: pd.DataFrame | None = None, *, measure: str = "one_plus",
                     source: str | None = None, official: bool = True):
    """Rate by age (31 August) in the town's pupil records, with England's (DfE national file) if given."""
    import matplotlib.pyplot as plt

    d = by_age[by_age["measure"] == measure]
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    ax.errorbar(d["age"], d["rate"], yerr=[d["rate"] - d["lower"], d["upper"] - d["rate"]], fmt="o-",
                color=AREA_COLOURS[AREA], ms=4, capsize=2, label="Town, pupil records")
    if national is not None:
        a = national[(national["group"] == "age") & national["characteristic_1"].str.fullmatch(r"Age_\d+")]
        ages = a["characteristic_1"].str[4:].astype(int)
        keep = ages.between(d["age"].min(), d["age"].max())
        ax.plot(ages[keep], a.loc[keep, f"{measure}_rate"], "s--", color=AREA_COLOURS[NATION], ms=3.5,
                label=f"England {a['year'].iloc[0]} (DfE, published)")
    ax.set_xlabel("Age on 31 August before the school year")
    ax.set_ylabel("per 100 pupils")
    ax.set_title(f"{MEASURES[measure]['label']} by age", fontsize=10)
    if source is None:
        source = DFE_NATIONAL_SOURCE if national is not None else ""
    ax.legend(fontsize=7, frameon=False)
    ax.set_ylim(bottom=0)
    if source:
        figures.source_note(fig, source, official=official, note="Town: pupil records of the data folder.")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def town_results(town: pd.DataFrame) -> pd.DataFrame:
    """Rates from pupil records by school year: ``exclusions.town.y<year>.<measure>_rate``."""
    return pd.DataFrame({
        "key": [f"exclusions.town.y{year_key(y)}.{m}_rate" for y, m in zip(town["year"], town["measure"].astype(str))],
        "value": town["rate"].astype(float), "lower": town["lower"].astype(float),
        "upper": town["upper"].astype(float), "unit": "rate_per_100", "method": town["ci_method"].astype(str),
        "n": town["headcount"].astype(int), "note": "pupil records, DfE definitions, state-funded and special schools"})


def a11_pupil_result(town: pd.DataFrame, year: str) -> pd.DataFrame:
    """A11 from pupil records: the suspension rate of ``year`` (NotComputed without that census)."""
    require_values(town["year"], year, "a school census for A11's year")
    a = town[(town["year"] == year) & (town["measure"].astype(str) == "suspension")].iloc[0]
    return pd.DataFrame([{"key": "exclusions.a11.suspension_rate", "value": float(a["rate"]),
                          "lower": float(a["lower"]), "upper": float(a["upper"]), "unit": "rate_per_100",
                          "method": str(a["ci_method"]), "n": int(a["headcount"]),
                          "note": f"{year}, suspensions per 100 pupils (DfE Total), pupil records"}])


def a11_pupil_text(results: pd.DataFrame, year: str) -> str:
    """A11 from pupil records (from :func:`a11_pupil_result`)."""
    a = results.iloc[0]
    return (f"**A11 (pupil records).** {year}: **{a['value']:.2f}** suspensions per 100 pupils "
            f"(95% CI {a['lower']:.2f} to {a['upper']:.2f}; {a['n']:,} pupils).")


def _group_key(variable, category) -> tuple[str, str]:
    return str(variable), {"True": "1", "False": "0"}.get(str(category), str(category))


def hidden_groups(published: pd.DataFrame) -> set[tuple[str, str]]:
    """(variable, category) of the published "who is suspended" table whose events are suppressed."""
    return {_group_key(v, c) for v, c in suppressed_keys(published, ["variable", "category"], ["events"])}


def shown(frame: pd.DataFrame, hidden: set) -> pd.Series:
    """True for the rows of ``frame`` (variable, category) that are not hidden."""
    return pd.Series([_group_key(v, c) not in hidden for v, c in zip(frame["variable"], frame["category"])],
                     index=frame.index)


def who_results(who: pd.DataFrame, model: pd.DataFrame, eth: pd.DataFrame, by_age: pd.DataFrame,
                hidden: set, years: Sequence[str]) -> pd.DataFrame:
    """Who is suspended (A12) as results: crude and adjusted risk ratios (groups not hidden), the
    White and Black Caribbean share, the peak age and "boys more likely"."""
    yrs = "; ".join(years)
    rows = []
    for _, r in who[~who["reference"] & who["rr"].notna() & shown(who, hidden)].iterrows():
        rows.append({"key": f"exclusions.who.rr.{r['variable']}_{str(r['category']).lower()}", "value": float(r["rr"]),
                     "lower": _fin(r["rr_lower"]), "upper": _fin(r["rr_upper"]), "unit": "ratio",
                     "method": "risk ratio, log method", "n": int(r["n"]),
                     "note": f"one or more suspensions in the year, {yrs}, against the reference group"
                             + ("" if np.isfinite(r["rr_lower"]) else "; no interval (zero events)")})
    adj = model.dropna(subset=["variable"])
    adj = adj[adj["variable"].isin(list(GROUPS))]
    for _, r in adj[shown(adj, hidden)].iterrows():
        rows.append({"key": f"exclusions.who.adjusted_rr.{r['variable']}_{str(r['category']).lower()}",
                     "value": float(r["ratio"]), "lower": _fin(r["ratio_lower"]), "upper": _fin(r["ratio_upper"]),
                     "unit": "ratio", "method": str(r["method"]), "n": int(r["n"])})
    e = eth.set_index("category")
    if "MWBC" in e.index:
        rows.append({"key": "exclusions.who.white_black_caribbean_percent", "value": float(e.loc["MWBC", "percent"]),
                     "lower": float(e.loc["MWBC", "lower"]), "upper": float(e.loc["MWBC", "upper"]),
                     "unit": "percent", "method": "Wilson score", "n": int(e.loc["MWBC", "n"]),
                     "note": f"White and Black Caribbean pupils with one or more suspensions, {yrs}"})
    pk = peak_age(by_age, "one_plus")
    boys = who[(who["variable"] == "sex") & (who["category"] == "M")].iloc[0]
    rows += [{"key": "exclusions.who.peak_age", "value": pk, "unit": "count",
              "note": "age (31 August) with the highest one-or-more suspension rate"},
             {"key": "exclusions.who.peak_age_12_to_13", "value": bool(pk in (12, 13)), "unit": "boolean",
              "note": f"the one-or-more suspension rate peaks at age 12 or 13 (peak: {pk})"},
             {"key": "exclusions.who.boys_more_likely", "value": bool(boys["rr_lower"] > 1), "unit": "boolean",
              "note": f"boys' risk ratio {boys['rr']:.2f} (95% CI {boys['rr_lower']:.2f} to {boys['rr_upper']:.2f}) "
                      "for one or more suspensions: lower limit above 1"}]
    return pd.DataFrame(rows)


def adjusted_table(model: pd.DataFrame, hidden: set) -> pd.DataFrame:
    """The model's adjusted risk ratios for display, ``c`` where the group's count is suppressed."""
    adj = model.dropna(subset=["variable"])
    out = adj[["variable", "category"]].assign(
        **{c: adj[c].map("{:.2f}".format) for c in ("ratio", "ratio_lower", "ratio_upper")},
        p_value=adj["p_value"].map(lambda p: "<0.0001" if p < 1e-4 else f"{p:.4f}"))
    out.loc[~shown(adj, hidden).to_numpy(), ["ratio", "ratio_lower", "ratio_upper", "p_value"]] = "c"
    return out


def targeted_results(a07: dict, matched: dict) -> pd.DataFrame:
    """A07 and the matched comparison as results ``exclusions.targeted.*``."""
    return pd.DataFrame([
        {"key": "exclusions.targeted.not_permanently_excluded_percent", "value": float(a07["percent"]),
         "lower": float(a07["lower"]), "upper": float(a07["upper"]), "unit": "percent", "method": a07["method"],
         "n": a07["n"], "note": "young people with a started targeted intervention not permanently excluded on or "
                                "after their first start date"},
        {"key": "exclusions.targeted.young_people", "value": a07["n"], "unit": "count"},
        {"key": "exclusions.targeted.matched.supported_percent", "value": float(matched["supported_percent"]),
         "lower": float(matched["supported_lower"]), "upper": float(matched["supported_upper"]), "unit": "percent",
         "n": matched["matched_supported"], "method": matched["method"]},
        {"key": "exclusions.targeted.matched.comparison_percent", "value": float(matched["comparison_percent"]),
         "lower": float(matched["comparison_lower"]), "upper": float(matched["comparison_upper"]),
         "unit": "percent", "n": matched["matched_controls"], "method": matched["method"],
         "note": f"weighted; effective size {matched['effective_controls']:.0f}; matched on {matched['match_on']}"},
        {"key": "exclusions.targeted.matched.difference", "value": float(matched["difference"]),
         "lower": float(matched["difference_lower"]), "upper": float(matched["difference_upper"]), "unit": "points",
         "method": matched["method"], "note": "supported minus comparison, percentage points; observational"}])


def activity_results(a08: pd.DataFrame) -> pd.DataFrame:
    """Co-production and Friend for Life (A08) as results ``exclusions.coproduction_ffl.*``."""
    r = a08.set_index("group").loc["all"]
    p = "exclusions.coproduction_ffl."
    return pd.DataFrame([
        {"key": p + "young_people", "value": int(r["young_people"]), "unit": "count"},
        {"key": p + "excluded_after_first", "value": int(r["excluded_after_first"]), "unit": "count",
         "note": "young people with any exclusion on or after their first attended activity"},
        {"key": p + "excluded_ever", "value": int(r["excluded_ever"]), "unit": "count"},
        {"key": p + "none_excluded", "value": bool(r["excluded_ever"] == 0), "unit": "boolean",
         "note": "no young person in co-production or Friend for Life has any exclusion in the exclusions return"}])


def back_on_track_results(a19: dict, periods: pd.DataFrame, note: str) -> pd.DataFrame:
    """Back on Track (A19) as results ``exclusions.back_on_track.*``."""
    rows = [{"key": f"exclusions.back_on_track.{k}", "value": a19[k], "unit": "count", "note": note}
            for k in ("young_people", "with_suspension_before_during", "suspensions_before_during",
                      "suspensions_after", "with_suspension_after")]
    rows += [{"key": f"exclusions.back_on_track.rate_{r['period']}", "value": float(r["rate"]),
              "lower": float(r["lower"]), "upper": float(r["upper"]), "unit": "rate",
              "method": "exact Poisson (< 10) / Byars", "note": "suspensions per pupil-year"}
             for _, r in periods.iterrows() if np.isfinite(r["rate"])]
    return pd.DataFrame(rows)


def town_table(town: pd.DataFrame) -> pd.DataFrame:
    """Rates from pupil records wide by measure: year, headcount, <measure>_count|rate|lower|upper."""
    tw = town.assign(measure=town["measure"].astype(str)).pivot(index="year", columns="measure",
                                                                  values=["count", "rate", "lower", "upper"])
    tw.columns = [f"{m}_{v}" for v, m in tw.columns]
    tw = tw.reset_index().merge(town.groupby("year")["headcount"].first().astype(int).reset_index(), on="year")
    return tw[["year", "headcount"] + [f"{m}_{v}" for m in MEASURES for v in ("count", "rate", "lower", "upper")]]


#: Disclosure specifications of the pupil-record tables this chapter publishes (``ch.publish(df, name,
#: **PUBLISH[name])``), as reach, WMF and targeted do: counts, what derives from them, statistics of groups.
_WHO = ["percent", "lower", "upper", "rr", "rr_lower", "rr_upper"]
_TARGETED = ["percent_not_excluded", "lower", "upper"]
_BOT = ["rate", "lower", "upper"]
PUBLISH = {
    "exclusions_who_is_suspended": dict(preset="dfe", counts=["n", "events"], derived={c: ["events"] for c in _WHO},
                                        decimals={c: 2 for c in _WHO}, id_cols=["variable", "category"]),
    "exclusions_targeted_vs_comparison": dict(preset="dfe", counts=["young_people", "permanently_excluded_after"],
                                              derived={c: ["permanently_excluded_after"] for c in _TARGETED},
                                              decimals={c: 2 for c in _TARGETED}, id_cols=["group"]),
    "exclusions_back_on_track_periods": dict(
        preset="dfe", counts=["young_people", "with_suspension", "suspensions"],
        statistics={"pupil_years": "young_people", **{c: ["young_people", "suspensions"] for c in _BOT}},
        decimals={"pupil_years": 2, **{c: 2 for c in _BOT}}, id_cols=["period"]),
}
