"""Chapter 3: the HeadStart Wellbeing Measurement Framework (WMF), Blackpool against the other areas.

Analysis functions take the processed table ``wmf_scores`` (made by ``rr prepare`` with
:func:`rrlib.data.wmf.prepare`) or a part of it, and return tidy DataFrames; plotting functions
return matplotlib Figures. Methods and references:

* Prevalence of problems: SDQ self-report four-band categorisation (sdqinfo.org); a young person
  has *emotional problems* when the emotional symptoms score is in the band "high" or "very
  high" (6-10), *behavioural problems* when the conduct problems score is (5-10). Proportions
  with Wilson score intervals (:func:`rrlib.stats.proportion_ci`; PHE technical guide).
* Adjusted differences: linear mixed model with a random intercept (schools, or respondents
  for the cohort), fitted by restricted maximum likelihood (REML; Patterson & Thompson 1971;
  Laird & Ware 1982) with :func:`rrlib.stats.models.fit_random_intercept`, the compendium's one
  mixed-model API (exact for one grouping factor; tested against statsmodels ``MixedLM``).
  Wald intervals (normal quantile), as statsmodels.
* Standardised differences: Hedges' g for an adjusted difference, ``g = J * b / s_pooled`` with
  ``s_pooled`` the pooled within-group standard deviation of the outcome (Blackpool and the
  reference areas, model sample) and ``J = 1 - 3 / (4 (n1 + n2) - 9)`` (Hedges & Olkin 1985);
  its interval is the model's interval for ``b`` on the same scale (s_pooled treated as known).
* Means by area and wave: Student's t intervals (:func:`rrlib.stats.mean_ci`).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import figures, palette, stats
from ..calendar import start_year
from ..chapter import NotComputed
from ..instruments import srs as _srs
from ..results import key_part
from ..stats.models import MixedFit, design, fit_random_intercept  # noqa: F401 (the model API, rrlib.stats)

#: The shipped data's areas and waves (documentation and examples only: every function takes the
#: areas and waves that are in the data it is given; a seventh area or a sixth wave works the same).
AREAS = ("Blackpool", "Cornwall", "Hull", "Kent", "Newham", "Wolverhampton")
WAVES = ("2016/17", "2017/18", "2018/19", "2019/20", "2020/21")
FOCUS = "Blackpool"
FIRST_WAVE = "2016/17"   # B04: the first HeadStart survey (2017)
CLAIM_WAVE = "2019/20"   # A20: "a cross comparison of WMF data from 2019-2020"

#: outcomes of the area comparison: score column -> label
OUTCOMES = {
    "srs_family_connection": "Family connection (support at home)",
    "srs_school_connection": "School connection (support at school)",
    "srs_peer_support": "Peer support",
    "swemwbs_metric": "Wellbeing (SWEMWBS, metric)",
    "sdq_total": "Total difficulties (SDQ)",
}
#: problems counted in the prevalence analyses: SDQ scale -> label
PROBLEMS = {"emotion": "emotional problems", "conduct": "behavioural problems"}
PROBLEM_BANDS = ("high", "very high")
SEX_LABELS = {"F": "girls", "M": "boys"}
NOT_STATED = "not stated"

#: scored columns per instrument, for the scoring summary
SCORES = {
    "SWEMWBS": ["swemwbs_metric"],
    "SDQ": ["sdq_emotion", "sdq_conduct", "sdq_hyper", "sdq_peer", "sdq_prosoc", "sdq_total", "sdq_impact"],
    "SRS": ["srs_family_connection", "srs_school_connection", "srs_community_connection",
            "srs_participation_home_school", "srs_participation_community", "srs_peer_support",
            "srs_self_esteem", "srs_empathy", "srs_problem_solving", "srs_goals_aspirations"],
}
MISSING_COUNTS = {"SWEMWBS": "swemwbs_items_missing", "SDQ": "sdq_items_missing",
                  "SDQ impact (ebddiff)": "sdq_impact_missing", "SRS": "srs_items_missing"}

#: B04: Deighton et al. (2018), HeadStart evidence briefing 1, first HeadStart survey (2017),
#: pupils aged 11-14 in the six areas. "Over 30,000 pupils" is compared as 30,000.
PUBLISHED_B04 = {
    "pupils": ("pupils surveyed (over)", 30000, "count"),
    "schools": ("schools", 114, "count"),
    "emotional.overall": ("emotional problems, all pupils", 18.4, "percent"),
    "emotional.girls": ("emotional problems, girls", 24.9, "percent"),
    "emotional.boys": ("emotional problems, boys", 10.9, "percent"),
    "behavioural.boys": ("behavioural problems, boys (about)", 23.0, "percent"),
    "behavioural.girls": ("behavioural problems, girls (about)", 15.0, "percent"),
}
SOURCE = "HeadStart Wellbeing Measurement Framework survey (secondary), HeadStart areas"


#: short names of outcomes in results keys
OUTCOME_KEYS = {"swemwbs_metric": "wellbeing", "sdq_total": "difficulties"}


def outcome_key(outcome: str) -> str:
    """Results-key form of an outcome: "srs_school_connection" -> "school_connection",
    "swemwbs_metric" -> "wellbeing", "sdq_total" -> "difficulties"."""
    return OUTCOME_KEYS.get(outcome, outcome.removeprefix("srs_").removeprefix("sdq_"))


def wave_key(wave: str) -> str:
    """Results-key form of a wave: "2019/20" -> "2019_20"."""
    return key_part(wave)


def _check_columns(df: pd.DataFrame, cols, fn: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{fn}: missing column(s) {missing}")


# =============================================================================== data steps
def areas_of(scores: pd.DataFrame) -> list:
    """The survey areas in the data, sorted."""
    return sorted(scores["area"].dropna().astype(str).unique())


def waves_of(scores: pd.DataFrame) -> list:
    """The survey waves in the data, in order ("2016/17" < "2017/18" ...)."""
    return sorted(scores["wave"].dropna().astype(str).unique())


def reference_of(scores: pd.DataFrame, focus: str = FOCUS, reference=None) -> list:
    """The reference areas: ``reference`` if given, else every area in the data but ``focus``."""
    return list(reference) if reference is not None else [a for a in areas_of(scores) if a != focus]


def area_key(area: str) -> str:
    """Results-key form of an area: "Blackpool" -> "blackpool", "Isle of Wight" -> "isle_of_wight"."""
    return re.sub(r"[^a-z0-9]+", "_", str(area).lower()).strip("_")


def select(scores: pd.DataFrame, areas=None, waves=None) -> pd.DataFrame:
    """Rows of ``scores`` in ``areas`` and ``waves`` (default: every area / wave in the data;
    raises on unknown names)."""
    _check_columns(scores, ["area", "wave"], "select")
    areas = areas_of(scores) if areas is None else areas
    waves = waves_of(scores) if waves is None else waves
    unknown = sorted(set(areas) - set(scores["area"].unique()))
    if unknown:
        raise ValueError(f"select: areas not in the data: {unknown}")
    unknown = sorted(set(waves) - set(scores["wave"].unique()))
    if unknown:
        raise ValueError(f"select: waves not in the data: {unknown}")
    out = scores[scores["area"].isin(list(areas)) & scores["wave"].isin(list(waves))]
    return out.reset_index(drop=True)


def year9_series(scores: pd.DataFrame) -> pd.DataFrame:
    """The Year 9 series: every Year 9 respondent of each wave (the snapshot sample; in 2018/19
    the cohort, which was then in Year 9)."""
    return scores[scores["year_group"] == 9].reset_index(drop=True)


def cohort(scores: pd.DataFrame) -> pd.DataFrame:
    """The cohort sample (Year 7 in 2016/17 followed to Year 11; respondent_id links waves)."""
    return scores[scores["sample"] == "cohort"].reset_index(drop=True)


def sex_group(sex: pd.Series) -> pd.Series:
    """Sex as analysed: "F", "M" or "not stated" (other / prefer not to say / not answered)."""
    return sex.astype(object).where(sex.notna(), NOT_STATED)


# =============================================================================== description
def scoring_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """How many respondents each score could be computed for (per instrument and score).

    Columns: instrument, score, respondents, scored, not_scored, percent_scored.
    """
    n = len(scores)
    rows = []
    for inst, cols in SCORES.items():
        for c in cols:
            if c in scores.columns:
                k = int(scores[c].notna().sum())
                rows.append({"instrument": inst, "score": c, "respondents": n, "scored": k,
                             "not_scored": n - k, "percent_scored": 100 * k / n if n else np.nan})
    return pd.DataFrame(rows)


def item_missingness(scores: pd.DataFrame) -> pd.DataFrame:
    """Item missingness per instrument, from the ``*_items_missing`` counts of ``wmf_scores``.

    Columns: instrument, respondents, any_missing (respondents with at least one item missing),
    percent_any_missing, mean_items_missing, all_missing (respondents with every item missing).
    """

    totals = {"SWEMWBS": 7, "SDQ": 25, "SDQ impact (ebddiff)": 1, "SRS": sum(_srs.SUBSCALES.values())}
    rows = []
    for inst, col in MISSING_COUNTS.items():
        if col not in scores.columns:
            continue
        m = scores[col].to_numpy()
        k, n = totals[inst], len(m)
        rows.append({"instrument": inst, "items": k, "respondents": n, "any_missing": int((m > 0).sum()),
                     "percent_any_missing": 100 * float((m > 0).mean()) if n else np.nan,
                     "mean_items_missing": float(m.mean()) if n else np.nan,
                     "all_missing": int((m >= k).sum())})
    return pd.DataFrame(rows)


def sample_description(scores: pd.DataFrame) -> pd.DataFrame:
    """Respondents and schools by wave, area, sample and year group (cohort and snapshot apart).

    Columns: wave, area, sample, year_group, respondents, schools.
    """
    _check_columns(scores, ["wave", "area", "sample", "year_group", "school_id"], "sample_description")
    g = scores.groupby(["wave", "area", "sample", "year_group"], observed=True)
    out = g.agg(respondents=("school_id", "size"), schools=("school_id", "nunique")).reset_index()
    return out.sort_values(["wave", "area", "sample", "year_group"]).reset_index(drop=True)


def sample_totals(scores: pd.DataFrame, wave: str) -> dict:
    """Pupils (questionnaires) and schools in one wave."""
    w = scores[scores["wave"] == wave]
    return {"pupils": int(len(w)), "schools": int(w["school_id"].nunique())}


def data_text(scores: pd.DataFrame, focus: str, reference, waves) -> str:
    """The survey the comparisons read: questionnaires, young people and schools of ``scores``, the focus
    area against the ``reference`` areas, over ``waves``."""
    return (f"{len(scores):,} questionnaires from {scores['respondent_id'].nunique():,} young people in "
            f"{scores['school_id'].nunique()} schools; focus area {focus}, against {', '.join(reference)}; "
            f"waves {', '.join(waves)}.")


def cohort_retention(scores: pd.DataFrame) -> pd.DataFrame:
    """Cohort members answering each wave, per area, and as a percent of the first wave's members.

    Columns: area, wave, respondents, first_wave, percent_of_first, also_in_first.
    """
    c = cohort(scores)
    first = c[c["wave"] == c["wave"].min()]
    ids = first.groupby("area")["respondent_id"].apply(set)
    rows = []
    for (area, wave), g in c.groupby(["area", "wave"]):
        base = ids.get(area, set())
        rows.append({"area": area, "wave": wave, "respondents": len(g), "first_wave": len(base),
                     "also_in_first": int(g["respondent_id"].isin(base).sum())})
    out = pd.DataFrame(rows, columns=["area", "wave", "respondents", "first_wave", "also_in_first"])
    out["percent_of_first"] = 100 * out["also_in_first"] / out["first_wave"]
    return out


# =============================================================================== prevalence
def problem_flags(scores: pd.DataFrame, scales=tuple(PROBLEMS)) -> pd.DataFrame:
    """1/0 per respondent and scale: band high or very high (NaN when the scale is not scored)."""
    out = pd.DataFrame(index=scores.index)
    for s in scales:
        band = scores[f"sdq_{s}_band"]
        out[s] = np.where(band.isna(), np.nan, band.isin(PROBLEM_BANDS).astype(float))
    return out


def prevalence(scores: pd.DataFrame, by=("wave", "area", "sex"), scales=tuple(PROBLEMS),
               confidence: float = 0.95) -> pd.DataFrame:
    """Prevalence of SDQ problems (band high or very high) by groups, with Wilson intervals.

    ``by`` columns (``sex`` is shown as F / M / "not stated"); respondents whose scale could
    not be scored are left out of its denominator. Columns: the ``by`` columns, scale, problem,
    problems (numerator), respondents (denominator), percent, lower, upper, method.
    """
    by = list(by)
    _check_columns(scores, [c for c in by] + [f"sdq_{s}_band" for s in scales], "prevalence")
    d = scores[by].copy()
    if "sex" in by:
        d["sex"] = sex_group(d["sex"])
    flags = problem_flags(scores, scales)
    parts = []
    for s in scales:
        f = flags[s]
        ok = f.notna()
        dd = d[ok].assign(_x=f[ok].to_numpy())
        if by:
            g = dd.groupby(by, observed=True, dropna=False)["_x"].agg(["sum", "size"]).reset_index()
        else:
            g = pd.DataFrame({"sum": [dd["_x"].sum()], "size": [len(dd)]})
        g = g.rename(columns={"sum": "problems", "size": "respondents"})
        g.insert(len(by), "scale", s)
        g.insert(len(by) + 1, "problem", PROBLEMS.get(s, s))
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    out["problems"] = out["problems"].astype("int64")
    out["respondents"] = out["respondents"].astype("int64")
    ci = stats.proportion_ci(out["problems"].to_numpy(), out["respondents"].to_numpy(),
                             confidence=confidence, multiplier=100)
    out["percent"] = np.asarray(ci.value, float)
    out["lower"] = np.asarray(ci.lower, float)
    out["upper"] = np.asarray(ci.upper, float)
    out["method"] = "Wilson score"
    return out


def b04_comparison(scores: pd.DataFrame, wave: str = FIRST_WAVE, confidence: float = 0.95) -> pd.DataFrame:
    """The first wave against the published national figures of B04 (Deighton et al. 2018).

    One row per measure: key, measure, published, computed, lower, upper, numerator,
    denominator, unit. Prevalences use :func:`prevalence` (band high or very high).
    """
    w = scores[scores["wave"] == wave]
    if w.empty:
        raise NotComputed(f"B04 compares the first survey, wave {wave}: not in the data (it holds "
                          f"{', '.join(waves_of(scores)) or 'no wave'})")
    tot = sample_totals(scores, wave)
    allp = prevalence(w, by=(), confidence=confidence).set_index("scale")
    bysex = prevalence(w, by=("sex",), confidence=confidence).set_index(["scale", "sex"])
    rows = []
    for key, (label, pub, unit) in PUBLISHED_B04.items():
        if key in ("pupils", "schools"):
            rows.append({"key": key, "measure": label, "published": pub, "computed": tot[key],
                         "lower": np.nan, "upper": np.nan, "numerator": tot[key],
                         "denominator": np.nan, "unit": unit})
            continue
        kind, who = key.split(".")
        scale = "emotion" if kind == "emotional" else "conduct"
        r = allp.loc[scale] if who == "overall" else bysex.loc[(scale, {"girls": "F", "boys": "M"}[who])]
        rows.append({"key": key, "measure": label, "published": pub, "computed": float(r["percent"]),
                     "lower": float(r["lower"]), "upper": float(r["upper"]),
                     "numerator": int(r["problems"]), "denominator": int(r["respondents"]), "unit": unit})
    return pd.DataFrame(rows)


# =============================================================================== mixed models
def _model_frame(df: pd.DataFrame, outcome: str, extra=()) -> pd.DataFrame:
    """Complete cases for ``outcome``, free school meals and ``extra`` columns; sex grouped."""
    d = df.dropna(subset=[outcome, "fsm", *extra]).copy()
    d["sex_g"] = sex_group(d["sex"])
    d["fsm_i"] = d["fsm"].astype(bool).astype(float)
    return d


def hedges_j(n1, n2):
    """Hedges' small-sample correction J = 1 - 3 / (4 (n1 + n2) - 9) (Hedges & Olkin 1985)."""
    return 1 - 3 / (4 * (np.asarray(n1, float) + np.asarray(n2, float)) - 9)


def pooled_sd(a, b) -> float:
    """Pooled within-group standard deviation of two samples (n - 1 weights)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n1, n2 = len(a), len(b)
    return float(np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2)))


def compare_areas(scores: pd.DataFrame, outcomes=tuple(OUTCOMES), waves=None, focus: str = FOCUS,
                  reference=None, confidence: float = 0.95) -> pd.DataFrame:
    """Blackpool (``focus``) against the ``reference`` areas, per wave and outcome.

    Model (per wave, all respondents of the wave in the focus and reference areas, complete
    cases): ``outcome ~ focus + year group + sex + free school meals + (1 | school)``, REML
    (:func:`fit_random_intercept`). Year group and sex are categorical (reference Year 7 or the
    wave's lowest year group, boys); sex "not stated" is its own level.

    Columns: wave, outcome, label, n, n_focus, n_reference, n_schools, mean_focus,
    mean_reference, sd_pooled, diff, se, lower, upper, p_value, g, g_lower, g_upper, icc, method.
    ``diff`` is the adjusted difference focus minus reference in the outcome's units; ``g`` is
    Hedges' g of that difference (see the module docstring).
    """
    waves = waves_of(scores) if waves is None else list(waves)
    reference = reference_of(scores, focus, reference)
    if focus in reference:
        raise ValueError("compare_areas: the focus area is also in the reference set")
    rows = []
    base = scores[scores["area"].isin([focus, *reference]) & scores["wave"].isin(list(waves))]
    for wave in waves:
        w = base[base["wave"] == wave]
        for oc in outcomes:
            d = _model_frame(w, oc)
            is_f = (d["area"] == focus).to_numpy()
            if is_f.sum() < 2 or (~is_f).sum() < 2:
                continue
            d = d.assign(focus=is_f.astype(float))
            yg_ref = int(d["year_group"].min())
            X = design(d, numeric=["focus", "fsm_i"], categorical={"year_group": yg_ref, "sex_g": "M"})
            fit = fit_random_intercept(d[oc], X, d["school_id"], confidence, outcome=oc, group="school")
            c = fit.contrast({"focus": 1.0})
            y = d[oc].to_numpy(float)
            sp = pooled_sd(y[is_f], y[~is_f])
            j = float(hedges_j(is_f.sum(), (~is_f).sum()))
            rows.append({"wave": wave, "outcome": oc, "label": OUTCOMES.get(oc, oc), "n": fit.n,
                         "n_focus": int(is_f.sum()), "n_reference": int((~is_f).sum()),
                         "n_schools": fit.n_groups, "mean_focus": float(y[is_f].mean()),
                         "mean_reference": float(y[~is_f].mean()), "sd_pooled": sp,
                         "diff": c["estimate"], "se": c["se"], "lower": c["lower"], "upper": c["upper"],
                         "p_value": c["p_value"], "g": j * c["estimate"] / sp,
                         "g_lower": j * c["lower"] / sp, "g_upper": j * c["upper"] / sp,
                         "icc": fit.icc, "method": fit.method})
    return pd.DataFrame(rows)


def trend(scores: pd.DataFrame, outcome: str, series: str = "year9", focus: str = FOCUS,
          reference=None, confidence: float = 0.95) -> pd.DataFrame:
    """Change over the waves in the focus area against the reference areas.

    ``series="year9"``: the Year 9 respondents of each wave (:func:`year9_series`), model
    ``outcome ~ focus * wave_index + sex + fsm + (1 | school)``: the same age each wave, so the
    slopes are changes over calendar time. ``series="cohort"``: the cohort (Year 7 to 11), model
    ``outcome ~ focus * wave_index + sex + fsm + (1 | respondent)``: the slopes combine ageing
    and calendar time; their difference (the interaction) is the focus area's relative change.

    Returns one row per contrast (``relative``: focus slope minus reference slope, per wave;
    ``focus``: the focus area's own slope; ``reference``: the reference areas' slope), with
    estimate, se, lower, upper, p_value, n, n_groups, outcome, series, method.
    """
    if series == "year9":
        d, group, gname = year9_series(scores), "school_id", "school"
    elif series == "cohort":
        d, group, gname = cohort(scores), "respondent_id", "respondent"
    else:
        raise ValueError(f"trend: series must be 'year9' or 'cohort', not {series!r}")
    reference = reference_of(scores, focus, reference)
    d = d[d["area"].isin([focus, *reference])]
    if "wave_index" not in d.columns:  # waves counted from the first in the data
        sy = start_year(d["wave"])
        d = d.assign(wave_index=sy - sy.min())
    d = _model_frame(d, outcome, extra=("wave_index",))
    is_f = (d["area"] == focus).to_numpy(float)
    d = d.assign(focus=is_f, wave_index=d["wave_index"].astype(float),
                 focus_x_wave=is_f * d["wave_index"].to_numpy(float))
    if d["wave_index"].nunique() < 2:
        raise NotComputed(f"the {series} trend needs respondents in at least two waves")
    X = design(d, numeric=["focus", "wave_index", "focus_x_wave", "fsm_i"], categorical={"sex_g": "M"})
    fit = fit_random_intercept(d[outcome], X, d[group], confidence, outcome=outcome, group=gname)
    rows = []
    for name, w in (("relative", {"focus_x_wave": 1.0}), ("focus", {"wave_index": 1.0, "focus_x_wave": 1.0}),
                    ("reference", {"wave_index": 1.0})):
        rows.append({"contrast": name, **fit.contrast(w), "n": fit.n, "n_groups": fit.n_groups,
                     "outcome": outcome, "series": series, "method": fit.method})
    return pd.DataFrame(rows)


def area_means(scores: pd.DataFrame, outcome: str, series: str = "year9", focus: str = FOCUS,
               reference=None, confidence: float = 0.95) -> pd.DataFrame:
    """Mean of ``outcome`` per area and wave (plus the reference areas pooled as "Other areas"),
    with Student's t intervals. Columns: series, outcome, area, wave, n, mean, lower, upper."""
    reference = reference_of(scores, focus, reference)
    d = year9_series(scores) if series == "year9" else cohort(scores)
    d = d[d["area"].isin([focus, *reference])].dropna(subset=[outcome])
    d = pd.concat([d, d[d["area"].isin(list(reference))].assign(area="Other areas")], ignore_index=True)
    rows = []
    for (area, wave), g in d.groupby(["area", "wave"], sort=True):
        ci = stats.mean_ci(g[outcome].to_numpy(float), confidence=confidence)
        rows.append({"series": series, "outcome": outcome, "area": area, "wave": wave, "n": len(g),
                     "mean": float(ci.value), "lower": float(ci.lower), "upper": float(ci.upper)})
    return pd.DataFrame(rows)


def a20_directions(comparison: pd.DataFrame, year9_trend: pd.DataFrame, cohort_trend: pd.DataFrame | None = None,
                   wave: str = "2019/20") -> pd.DataFrame:
    """A20's statements as booleans, each from an estimate whose interval excludes zero.

    * ``school_support_higher``: in ``wave``, Blackpool's adjusted school connection is higher
      than the other areas' (lower limit > 0);
    * ``school_connection_increased``: Blackpool's Year 9 school connection rose over the waves
      (its own slope's lower limit > 0);
    * ``school_connection_gain_relative``: ... and rose relative to the other areas (interaction);
    * ``home_support_lower``: in ``wave``, Blackpool's adjusted family connection is lower than
      the other areas' (upper limit < 0).

    Columns: statement, value (bool), estimate, lower, upper, basis.
    """
    def cmp_row(outcome):
        r = comparison[(comparison["wave"] == wave) & (comparison["outcome"] == outcome)]
        if r.empty:
            raise ValueError(f"a20_directions: no comparison for {outcome} in {wave}")
        return r.iloc[0]

    def tr(t, contrast):
        return t[t["contrast"] == contrast].iloc[0]

    sc, fc = cmp_row("srs_school_connection"), cmp_row("srs_family_connection")
    own, rel = tr(year9_trend, "focus"), tr(year9_trend, "relative")
    rows = [
        {"statement": "school_support_higher", "value": bool(sc["lower"] > 0), "estimate": sc["diff"],
         "lower": sc["lower"], "upper": sc["upper"],
         "basis": f"adjusted difference in school connection, {wave} (points, 1-5 scale)"},
        {"statement": "school_connection_increased", "value": bool(own["lower"] > 0), "estimate": own["estimate"],
         "lower": own["lower"], "upper": own["upper"],
         "basis": "Blackpool Year 9 school connection, change per wave (points)"},
        {"statement": "school_connection_gain_relative", "value": bool(rel["lower"] > 0),
         "estimate": rel["estimate"], "lower": rel["lower"], "upper": rel["upper"],
         "basis": "Blackpool minus other areas, Year 9 change per wave (points)"},
        {"statement": "home_support_lower", "value": bool(fc["upper"] < 0), "estimate": fc["diff"],
         "lower": fc["lower"], "upper": fc["upper"],
         "basis": f"adjusted difference in family connection, {wave} (points, 1-5 scale)"},
    ]
    if cohort_trend is not None:
        c = tr(cohort_trend, "relative")
        rows.append({"statement": "cohort_school_connection_gain_relative", "value": bool(c["lower"] > 0),
                     "estimate": c["estimate"], "lower": c["lower"], "upper": c["upper"],
                     "basis": "cohort (Year 7 to 11): Blackpool minus other areas, change per wave (points)"})
    return pd.DataFrame(rows)


# =============================================================================== figures
def _plt():
    import matplotlib.pyplot as plt
    return plt


def plot_forest(comparison: pd.DataFrame, focus: str = FOCUS):
    """Forest plot: Hedges' g of the adjusted focus-minus-others difference, one panel per outcome,
    one line per wave, with intervals."""
    plt = _plt()
    outcomes = list(dict.fromkeys(comparison["outcome"]))
    waves = sorted(comparison["wave"].unique())
    fig, axes = plt.subplots(1, len(outcomes), figsize=(2.6 * len(outcomes) + 1, 3.6), sharey=True,
                             squeeze=False)
    lim = float(np.nanmax(np.abs(comparison[["g_lower", "g_upper"]].to_numpy()))) * 1.15 if len(comparison) else 1
    for ax, oc in zip(axes[0], outcomes):
        d = comparison[comparison["outcome"] == oc].set_index("wave").reindex(waves)
        ypos = np.arange(len(waves))[::-1]
        ax.axvline(0, color="grey", lw=0.8)
        err = np.vstack([d["g"] - d["g_lower"], d["g_upper"] - d["g"]])
        ax.errorbar(d["g"], ypos, xerr=err, fmt="o", color="tab:blue", ms=4, capsize=2)
        ax.set_xlim(-lim, lim)
        label = OUTCOMES.get(oc, oc)
        ax.set_title(label.replace(" (", "\n("), fontsize=9)
        ax.set_xlabel("Hedges' g")
        ax.set_yticks(ypos)
        ax.set_yticklabels(waves)
    axes[0][0].set_ylabel("wave")
    fig.suptitle(f"{focus} against the other HeadStart areas: adjusted standardised differences "
                 "(positive = higher in " + focus + "; for difficulties, more difficulties)", fontsize=10)
    figures.source_note(fig, SOURCE, note="Mixed model: school random intercept; year group, sex, free "
                        "school meals. 95% intervals.")
    fig.tight_layout(rect=(0, 0.05, 1, 0.93))
    return fig


def plot_trends(means: pd.DataFrame, focus: str = FOCUS):
    """Trend lines by area with intervals: one panel per (series, outcome) in ``means``
    (from :func:`area_means`); the focus area and the other areas pooled drawn bold."""
    plt = _plt()
    panels = list(dict.fromkeys(zip(means["series"], means["outcome"])))
    ncol = min(2, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(6 * ncol, 3.6 * nrow), squeeze=False)
    waves = sorted(means["wave"].unique())
    titles = {"year9": "Year 9 each wave", "cohort": f"Cohort, {waves[0]} to {waves[-1]}" if waves else "Cohort"}
    for ax, (series, oc) in zip(axes.ravel(), panels):
        d = means[(means["series"] == series) & (means["outcome"] == oc)]
        colours = palette.area_colours(sorted(d["area"].unique()), focus=focus, pooled="Other areas")
        for area, g in d.groupby("area", sort=True):
            g = g.set_index("wave").reindex(waves)
            x = np.arange(len(waves))
            bold = area in (focus, "Other areas")
            # colour-blind-safe: the focus area in vermillion, the others apart from it (palette.PALETTE)
            style = dict(lw=2.2, color=colours[area]) if bold else dict(lw=0.9, color=colours[area], alpha=0.8)
            ax.plot(x, g["mean"], marker="o", ms=3, label=area, **style)
            if bold:
                ax.fill_between(x, g["lower"], g["upper"], alpha=0.15, color=style["color"], lw=0)
        ax.set_xticks(np.arange(len(waves)))
        ax.set_xticklabels(waves, fontsize=8)
        ax.set_title(f"{OUTCOMES.get(oc, oc)}: {titles.get(series, series)}", fontsize=9)
        ax.set_ylabel("mean score (95% CI)")
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7, ncol=2)
    figures.source_note(fig, SOURCE, note=f"Student's t intervals shown for {focus} and the other areas pooled.")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def plot_prevalence(prev: pd.DataFrame, title: str = ""):
    """Prevalence bars by area and sex with Wilson intervals, one panel per problem
    (``prev`` from :func:`prevalence` with ``by=("area", "sex")``)."""
    plt = _plt()
    problems = list(dict.fromkeys(prev["problem"]))
    fig, axes = plt.subplots(1, len(problems), figsize=(5.5 * len(problems), 3.8), sharey=True, squeeze=False)
    sexes = [s for s in ("F", "M") if s in set(prev["sex"])]
    colours = {"F": "tab:purple", "M": "tab:green"}
    for ax, pr in zip(axes[0], problems):
        d = prev[(prev["problem"] == pr) & prev["sex"].isin(sexes)]
        areas = sorted(d["area"].unique())
        x = np.arange(len(areas))
        width = 0.38
        for k, s in enumerate(sexes):
            g = d[d["sex"] == s].set_index("area").reindex(areas)
            pos = x + (k - (len(sexes) - 1) / 2) * width
            ax.bar(pos, g["percent"], width, color=colours[s], alpha=0.8, label=SEX_LABELS[s])
            ax.errorbar(pos, g["percent"], yerr=np.vstack([g["percent"] - g["lower"], g["upper"] - g["percent"]]),
                        fmt="none", color="black", capsize=2, lw=0.8)
        ax.set_xticks(x)
        ax.set_xticklabels(areas, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{pr.capitalize()} (SDQ band high or very high)", fontsize=9)
        ax.set_ylabel("percent of pupils (95% Wilson CI)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=len(labels), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    figures.source_note(fig, SOURCE)
    fig.tight_layout(rect=(0, 0.04, 1, 0.95 if title else 1))
    return fig


# =============================================================================== results frames
# Each returns a tidy frame (key, value, lower, upper, unit, method, n, note) for ``ch.record_frame``:
# the results keys live here, not in the notebook.
_FRAME = ["key", "value", "lower", "upper", "unit", "method", "n", "note"]


def _frame(d: dict) -> pd.DataFrame:
    n = max(len(v) for v in d.values() if isinstance(v, (list, np.ndarray, pd.Series)))
    cols = {c: (pd.Series(list(v), dtype=object) if isinstance(v, (list, np.ndarray, pd.Series))
                else pd.Series([v] * n, dtype=object)) for c, v in d.items()}
    return pd.DataFrame({c: cols.get(c, pd.Series([None] * n, dtype=object)) for c in _FRAME})


SCORING_KEYS = {"swemwbs_metric": "swemwbs", "sdq_total": "sdq_total", "sdq_emotion": "sdq_emotion",
                "srs_school_connection": "srs_school_connection", "srs_family_connection": "srs_family_connection"}
MISSING_KEYS = {"SWEMWBS": "swemwbs", "SDQ": "sdq", "SDQ impact (ebddiff)": "sdq_ebddiff", "SRS": "srs"}


def scoring_results(scores: pd.DataFrame, scoring: pd.DataFrame, missing: pd.DataFrame) -> pd.DataFrame:
    """Respondents, share scored per instrument and item missingness (``wmf.scoring.*``, ``wmf.missing.*``)."""
    sc = scoring[scoring["score"].isin(list(SCORING_KEYS))]
    ms = missing[missing["instrument"].isin(list(MISSING_KEYS))]
    return pd.concat([
        _frame({"key": ["wmf.scoring.respondents"], "value": [int(len(scores))], "unit": "count"}),
        _frame({"key": ("wmf.scoring." + sc["score"].map(SCORING_KEYS) + ".percent_scored").tolist(),
                "value": sc["percent_scored"].astype(float).tolist(), "unit": "percent",
                "n": sc["respondents"].astype(int).tolist(),
                "note": [f"{int(k)} respondents scored" for k in sc["scored"]]}),
        _frame({"key": ("wmf.missing." + ms["instrument"].map(MISSING_KEYS) + ".percent_any_missing").tolist(),
                "value": ms["percent_any_missing"].astype(float).tolist(), "unit": "percent",
                "n": ms["respondents"].astype(int).tolist(), "note": "respondents with at least one item missing"}),
    ], ignore_index=True)


def first_wave_results(scores_all: pd.DataFrame, first_wave: str = FIRST_WAVE) -> pd.DataFrame:
    """B04's sample: questionnaires and schools in ``first_wave``, every area (``wmf.sample.first_wave.*``).

    Not computed when the data has no ``first_wave`` (the published figure fixes it).
    """
    if first_wave not in set(scores_all["wave"]):
        raise NotComputed(f"B04 counts the first survey, wave {first_wave}: not in the data (it holds "
                          f"{', '.join(waves_of(scores_all)) or 'no wave'})")
    tot = sample_totals(scores_all, first_wave)
    n_areas = scores_all.loc[scores_all["wave"] == first_wave, "area"].nunique()
    return _frame({"key": ["wmf.sample.first_wave.pupils", "wmf.sample.first_wave.schools"],
                   "value": [tot["pupils"], tot["schools"]], "unit": "count",
                   "note": [f"questionnaires in {first_wave}, {n_areas} areas", f"schools in {first_wave}, {n_areas} areas"]})


def retention_results(retention: pd.DataFrame) -> pd.DataFrame:
    """Cohort members of the first wave who answered in the last wave in the data
    (``wmf.sample.cohort_retention_last_wave``); not computed without a cohort sample."""
    if retention.empty:
        raise NotComputed("the survey has no cohort sample")
    last_wave, first = retention["wave"].max(), retention["wave"].min()
    last = retention[retention["wave"] == last_wave]
    return _frame({"key": ["wmf.sample.cohort_retention_last_wave"],
                   "value": [float(100 * last["also_in_first"].sum() / last["first_wave"].sum())], "unit": "percent",
                   "note": f"cohort members of {first} who answered in {last_wave}, all selected areas"})


def b04_results(b04: pd.DataFrame, first_wave: str = FIRST_WAVE) -> pd.DataFrame:
    """B04's prevalences from :func:`b04_comparison` (``wmf.b04.<problem>.<group>``)."""
    b = b04[b04["unit"] != "count"]
    n_note = f"{first_wave}, every HeadStart area in the data"
    return _frame({"key": ("wmf.b04." + b["key"]).tolist(), "value": b["computed"].astype(float).tolist(),
                   "lower": b["lower"].astype(float).tolist(), "upper": b["upper"].astype(float).tolist(),
                   "unit": "percent", "method": "Wilson score; SDQ self-report band high or very high",
                   "n": b["denominator"].astype(int).tolist(), "note": n_note})


def prevalence_results(p_area: pd.DataFrame, focus: str = FOCUS) -> pd.DataFrame:
    """The focus area's prevalences by wave (``wmf.prevalence.<scale>.<wave>.<area>``)."""
    p = p_area[p_area["area"] == focus]
    return _frame({"key": [f"wmf.prevalence.{s}.{wave_key(w)}.{area_key(focus)}" for s, w in zip(p["scale"], p["wave"])],
                   "value": p["percent"].astype(float).tolist(), "lower": p["lower"].astype(float).tolist(),
                   "upper": p["upper"].astype(float).tolist(), "unit": "percent", "method": "Wilson score",
                   "n": p["respondents"].astype(int).tolist()})


def comparison_results(comparison: pd.DataFrame) -> pd.DataFrame:
    """Adjusted differences and Hedges' g per wave and outcome (``wmf.compare.<wave>.<outcome>.{diff,g}``)."""
    c = comparison
    base = [f"wmf.compare.{wave_key(w)}.{outcome_key(o)}" for w, o in zip(c["wave"], c["outcome"])]
    n = c["n"].astype(int).tolist()
    return pd.concat([
        _frame({"key": [b + ".diff" for b in base], "value": c["diff"].astype(float).tolist(),
                "lower": c["lower"].astype(float).tolist(), "upper": c["upper"].astype(float).tolist(),
                "unit": "points", "n": n,
                "method": (c["method"] + "; fixed effects area, year group, sex, free school meals").tolist()}),
        _frame({"key": [b + ".g" for b in base], "value": c["g"].astype(float).tolist(),
                "lower": c["g_lower"].astype(float).tolist(), "upper": c["g_upper"].astype(float).tolist(),
                "unit": "hedges_g", "n": n, "method": "adjusted difference / pooled SD, Hedges' correction"}),
    ], ignore_index=True)


def trend_results(trends: pd.DataFrame, focus: str = FOCUS) -> pd.DataFrame:
    """Slopes per wave (``wmf.trend.<series>.<outcome>.<contrast>``)."""
    t = trends
    notes = {"relative": f"{focus} slope minus the reference areas' slope", "focus": f"{focus}'s own slope",
             "reference": "the reference areas' slope"}
    return _frame({"key": [f"wmf.trend.{s}.{outcome_key(o)}.{c}" for s, o, c in
                           zip(t["series"], t["outcome"], t["contrast"])],
                   "value": t["estimate"].astype(float).tolist(), "lower": t["lower"].astype(float).tolist(),
                   "upper": t["upper"].astype(float).tolist(), "unit": "points per wave",
                   "method": t["method"].tolist(), "n": t["n"].astype(int).tolist(),
                   "note": t["contrast"].map(notes).tolist()})


def a20(scores: pd.DataFrame, wave: str = CLAIM_WAVE, focus: str = FOCUS, reference=None,
        confidence: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A20 on its own: the ``wave`` comparison of school and family connection and the Year 9 and
    cohort trends of school connection (the same models as :func:`compare_areas` and :func:`trend`).

    Returns ``(directions, results)``: :func:`a20_directions` and the tidy results frame
    (``wmf.a20.<statement>`` booleans and ``wmf.a20.family_connection_gap``). Not computed when
    ``wave`` (fixed by the published figure) is not in the data.
    """
    if wave not in set(scores["wave"]):
        raise NotComputed(f"A20 compares wave {wave}: not in the data (it holds {', '.join(waves_of(scores))})")
    outcomes = ["srs_school_connection", "srs_family_connection"]
    comparison = compare_areas(scores, outcomes=outcomes, waves=[wave], focus=focus, reference=reference,
                               confidence=confidence)
    if set(comparison["outcome"]) != set(outcomes):
        raise NotComputed(f"A20: fewer than two respondents with school and family connection in {focus} "
                          f"or the other areas in {wave}")
    t9 = trend(scores, "srs_school_connection", "year9", focus, reference, confidence)
    c = cohort(scores)
    tc = (trend(scores, "srs_school_connection", "cohort", focus, reference, confidence)
          if c["wave"].nunique() >= 2 else None)
    d = a20_directions(comparison, t9, tc, wave=wave)
    fc = comparison[comparison["outcome"] == "srs_family_connection"].iloc[0]
    res = pd.concat([
        _frame({"key": ("wmf.a20." + d["statement"]).tolist(), "value": [bool(v) for v in d["value"]],
                "unit": "boolean",
                "note": [f"{b}: estimate {e:.3f} ({lo:.3f} to {hi:.3f})" for b, e, lo, hi in
                         zip(d["basis"], d["estimate"], d["lower"], d["upper"])]}),
        _frame({"key": ["wmf.a20.family_connection_gap"], "value": [float(fc["diff"])], "lower": float(fc["lower"]),
                "upper": float(fc["upper"]), "unit": "points", "method": fc["method"], "n": int(fc["n"]),
                "note": f"{focus} minus the other areas, family connection, {wave}"}),
    ], ignore_index=True)
    return d, res


#: Disclosure-control settings of each published table (``ch.publish(df, name, **PUBLISH[name])``).
_PCT = {c: ["problems", "respondents"] for c in ("percent", "lower", "upper")}
PUBLISH = {
    "wmf_scoring_summary": dict(counts=["respondents", "scored", "not_scored"], decimals=1,
                                derived={"percent_scored": ["scored", "respondents"]},
                                totals={"columns": {"respondents": ["scored", "not_scored"]}}),
    "wmf_item_missingness": dict(counts=["respondents", "any_missing", "all_missing"],
                                 derived={"percent_any_missing": ["any_missing", "respondents"]},
                                 decimals={"percent_any_missing": 2}, id_cols=["instrument"]),
    "wmf_sample_by_area_wave": dict(counts=["respondents"]),
    "wmf_cohort_retention": dict(counts=["respondents", "first_wave", "also_in_first"], decimals=1,
                                 derived={"percent_of_first": ["also_in_first", "first_wave"]},
                                 id_cols=["area", "wave"]),
    "wmf_b04_first_wave": dict(counts=["numerator", "denominator"], decimals=2,
                               derived={c: ["numerator", "denominator"] for c in ("computed", "lower", "upper")}),
    "wmf_prevalence_by_area_sex": dict(counts=["problems", "respondents"], derived=_PCT, decimals=1),
    "wmf_prevalence_by_year_group": dict(counts=["problems", "respondents"], derived=_PCT, decimals=1),
    "wmf_prevalence_by_area": dict(counts=["problems", "respondents"], derived=_PCT, decimals=1),
    "wmf_blackpool_vs_others": dict(counts=["n", "n_focus", "n_reference"], decimals=4,
                                    derived={"mean_focus": ["n_focus"], "mean_reference": ["n_reference"]}),
    "wmf_means_by_area_wave": dict(counts=["n"], derived={c: ["n"] for c in ("mean", "lower", "upper")}, decimals=3),
}
