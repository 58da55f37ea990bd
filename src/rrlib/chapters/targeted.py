"""Chapter 5, targeted interventions: Back on Track and the Resilience Coaches.

Analysis functions take and return tidy DataFrames (or small dicts of scalars); plotting
functions return matplotlib Figures. The notebook ``05_targeted_interventions.ipynb`` calls them.

Definitions (the published figures they reproduce are in brackets):

* **Cohort** (A14, B08): Back on Track episodes with a referral date in the cohort window;
  one young person = first referral. Age at referral in whole years from the census birth
  year and month (birthday taken as the 1st of the month). Support length in months
  (days / 30.4375) from start to end, for episodes that ended by the cut-off.
* **Taking part in a period**: an episode that started on or before the period's last day and
  had not ended before its first day.
* **SDQ before and after** (A15): episodes of the cohort with a start and an end questionnaire
  both dated on or before the cut-off; official scoring (Goodman 1997, sdqinfo.org) in
  ``rr prepare``. The evaluation's "N in 20" is read as N out of every 20 young people in the
  self-report high or very high band (see the parameter file ``targeted.yml`` for why the
  mean-score reading is impossible). "Difficulties decreased by about 14%": share whose total
  difficulties fell, and the mean relative fall among them; impact likewise.
* **Goals** (A16, A17): goals set in the goals window; change = last rating - first rating
  (Law & Jacob 2015); reliable change at :data:`rrlib.instruments.gbo.RELIABLE_CHANGE` (2.45)
  points (Edbrooke-Childs et al. 2015) by default. ``rr prepare`` scores the processed
  ``goal_change`` table at that default; the goal functions here take ``threshold=`` and
  recompute reliable change from the ``change`` column, so another threshold is honoured.
* **Education** (A18, A19): young people whose education data was requested
  (``education_data_consent``) and whose support ended by the cut-off. Attendance (DfE
  definition: sessions attended / possible sessions) in the school term containing the
  referral date and the term containing the end date, pooled over the young people.
  Exclusions before (365 days before the start), during (start to end) and after (365 days
  after the end, to the cut-off): the windows of
  :func:`rrlib.chapters.common.back_on_track_windows`, the one definition shared with the
  exclusions chapter's A19.

Sections and windows (issue 17). The notebook runs each part in a ``ch.section``; the
functions here raise :class:`rrlib.chapter.NotComputed` with a reason when the data cannot
give a part: a window fixed by a published figure (the A14 cohort and cut-off, A14's 2019/20
participation year, the goals window, the B08 cohort) that the data's dates stop before
(:func:`require_covered`, :func:`bot_cohort`), no episode of the programme, no SDQ pair, no goal,
nobody in the education cohort. The whole programme as the data holds it (:func:`data_window`)
is derived from the data. :func:`check_parameters` checks the notebook's parameters.

Results (issue 18). ``*_results`` functions return tidy frames (``key, estimate, lower, upper,
unit, method, n, note``) that the notebook records with one ``ch.record_frame`` per section: the
results keys live here, not in the notebook.

Totals relations: every count table states in its docstring the linear relations between its
cells (row totals, total rows). :data:`PUBLISH` declares exactly those to
``ch.publish(..., totals=...)`` (:class:`rrlib.disclosure.Totals`) so secondary suppression
leaves no suppressed cell recoverable from the totals.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .. import disclosure, stats
from ..calendar import academic_year, start_year
from ..calendar import term as term_of
from ..chapter import NotComputed, ParameterError, check_choice, check_type
from ..data.targeted import RESILIENCE_COACH_PROGRAMMES  # noqa: F401  (the notebook reads it from here)
from ..figures import FigureData, combine, from_table, source_note
from ..instruments import gbo, sdq
from ..results import frame as results_frame
from ..results import key_part
from ..results import row as results_row
from .common import back_on_track_windows, count_in_windows

DAYS_PER_MONTH = 30.4375
SDQ_SCALES = ("emotion", "conduct", "hyper", "peer", "total", "impact")
SDQ_LABELS = {"emotion": "Emotional symptoms", "conduct": "Conduct problems (behaviour)",
              "hyper": "Hyperactivity", "peer": "Peer problems", "total": "Total difficulties",
              "impact": "Impact on daily life", "prosoc": "Prosocial"}
SDQ_MAX = {"emotion": 10, "conduct": 10, "hyper": 10, "peer": 10, "total": 40, "impact": 10, "prosoc": 10}
BAND_ORDER = ["close to average", "slightly raised", "high", "very high"]
DOMAINS = ("Basics", "Belonging", "Learning", "Coping", "Core Self")
TOTAL = "Total"          # label of the total row of referrals_table, age_table, support_length_table
ALL_GOALS = "All goals"  # label of the total row of goal_change_by_domain
SOURCE = "HeadStart Blackpool case records linked to the school census"  # the synthetic mark is save_figure's


# --------------------------------------------------------------------------- helpers

def age_at(birth_year, birth_month, dates) -> np.ndarray:
    """Age in whole years at each date, the birthday taken as the 1st of the birth month."""
    d = pd.DatetimeIndex(pd.to_datetime(dates))
    return d.year.to_numpy() - np.asarray(birth_year, int) - (d.month.to_numpy() < np.asarray(birth_month, int))


def _ts(x) -> pd.Timestamp | None:
    return None if x is None else pd.Timestamp(x)


def _ci_row(res) -> dict:
    return {"estimate": float(res.value), "lower": float(res.lower), "upper": float(res.upper),
            "method": str(res.method)}


# --------------------------------------------------------------------------- cohort (A14, B08)

def cohort(interventions: pd.DataFrame, pupils: pd.DataFrame, *, programme: str = "back_on_track",
           start=None, end=None, cutoff=None) -> pd.DataFrame:
    """Episodes of ``programme`` referred in [start, end] with the young person's census details.

    One row per episode: identifiers, dates, ``academic_year`` of referral, ``sex``,
    ``age_at_referral``, ``looked_after``/``fsm``/``sen_provision`` in the census of the
    referral year (or the nearest year the pupil is on roll), ``ended`` (an end date on or
    before ``cutoff``; default: any end date), ``support_months`` for ended episodes, and
    ``education_data_consent``.
    """
    ep = interventions[interventions["programme"] == programme].copy()
    for c in ("referral_date", "start_date", "end_date"):
        ep[c] = pd.to_datetime(ep[c])
    if start is not None:
        ep = ep[ep["referral_date"] >= _ts(start)]
    if end is not None:
        ep = ep[ep["referral_date"] <= _ts(end)]
    ep = ep.sort_values(["referral_date", "episode_id"], kind="mergesort").reset_index(drop=True)
    ep["academic_year"] = academic_year(ep["referral_date"]).to_numpy()
    p = pupils[["pupil_id", "academic_year", "sex", "birth_year", "birth_month", "looked_after", "fsm",
                "sen_provision"]].copy()
    p["ys"] = p["academic_year"].astype(str).str[:4].astype(int)
    ep["ys"] = ep["academic_year"].str[:4].astype(int)
    m = ep[["episode_id", "person_id", "ys"]].merge(p.drop(columns="academic_year"), left_on="person_id",
                                                    right_on="pupil_id", how="left", suffixes=("", "_c"))
    m["dist"] = (m["ys_c"] - m["ys"]).abs()
    m = m.sort_values(["episode_id", "dist", "ys_c"], kind="mergesort").drop_duplicates("episode_id")
    m = m.set_index("episode_id")
    for c in ("sex", "birth_year", "birth_month", "looked_after", "fsm", "sen_provision"):
        ep[c] = ep["episode_id"].map(m[c]).to_numpy()
    ep["age_at_referral"] = age_at(ep["birth_year"], ep["birth_month"], ep["referral_date"])
    cut = _ts(cutoff)
    ended = ep["end_date"].notna() if cut is None else ep["end_date"].notna() & (ep["end_date"] <= cut)
    ep["ended"] = ended.to_numpy()
    ep["support_months"] = np.where(ended, (ep["end_date"] - ep["start_date"]).dt.days / DAYS_PER_MONTH, np.nan)
    cols = ["episode_id", "person_id", "referral_date", "start_date", "end_date", "end_reason", "academic_year",
            "sex", "age_at_referral", "looked_after", "fsm", "sen_provision", "ended", "support_months",
            "education_data_consent"]
    return ep[cols]


def first_referrals(c: pd.DataFrame) -> pd.DataFrame:
    """One row per young person: their first referral in the cohort."""
    return c.sort_values(["referral_date", "episode_id"], kind="mergesort").drop_duplicates("person_id")


def cohort_summary(c: pd.DataFrame) -> dict:
    """Young people, share male, age at referral (min, max, mean, SD) and length of support.

    Length of support (months) over episodes that ended: n, min, max, mean, SD (n - 1).
    """
    people = first_referrals(c)
    n = len(people)
    male = int((people["sex"] == "M").sum())
    age = people["age_at_referral"].astype(float)
    months = c.loc[c["ended"], "support_months"].astype(float)
    return {
        "young_people": n, "male": male, "male_pct": 100 * male / n if n else np.nan,
        "age_min": float(age.min()), "age_max": float(age.max()), "age_mean": float(age.mean()),
        "age_sd": float(age.std(ddof=1)) if n > 1 else np.nan,
        "looked_after_pct": 100 * float(people["looked_after"].astype(bool).mean()) if n else np.nan,
        "ended": int(len(months)), "months_min": float(months.min()) if len(months) else np.nan,
        "months_max": float(months.max()) if len(months) else np.nan,
        "months_mean": float(months.mean()) if len(months) else np.nan,
        "months_sd": float(months.std(ddof=1)) if len(months) > 1 else np.nan,
        "first_referral": people["referral_date"].min(), "last_referral": people["referral_date"].max(),
    }


def taking_part(c: pd.DataFrame, start, end) -> pd.DataFrame:
    """Episodes in progress at some time in [start, end]: started by ``end``, not ended before ``start``."""
    s, e = _ts(start), _ts(end)
    on = c["start_date"].notna() & (c["start_date"] <= e) & (c["end_date"].isna() | (c["end_date"] >= s))
    return c[on]


def _with_total_row(t: pd.DataFrame, label_col: str, label: str = TOTAL) -> pd.DataFrame:
    """``t`` with a last row labelled ``label`` in ``label_col`` holding the sum of every other column."""
    out = t.astype({label_col: object})
    total = {c: (label if c == label_col else int(out[c].sum())) for c in out.columns}
    out = pd.concat([out, pd.DataFrame([total], columns=out.columns)], ignore_index=True)
    return out.astype({c: "int64" for c in out.columns if c != label_col})


def _sex_table(people: pd.DataFrame, by: str, name: str, total: bool) -> pd.DataFrame:
    t = pd.crosstab(people[by], people["sex"]).reindex(columns=["F", "M"], fill_value=0)
    t = t.rename(columns={"F": "girls", "M": "boys"})
    t.columns.name = None
    t["total"] = t.sum(axis=1)
    t.index.name = name
    t = t.reset_index()
    return _with_total_row(t, name) if total else t


def referrals_table(c: pd.DataFrame, total: bool = True) -> pd.DataFrame:
    """Young people by school year of (first) referral and sex (counts), with a total row.

    Columns ``school_year``, ``girls``, ``boys``, ``total``; the last row (``school_year`` =
    :data:`TOTAL`, "Total") sums the year rows (left out with ``total=False``).
    Totals relations: ``total = girls + boys`` in every row, and the Total row = sum of the
    other rows in every count column. Declare them as
    ``totals={"columns": {"total": ["girls", "boys"]}, "row": ("school_year", "Total")}``.
    """
    return _sex_table(first_referrals(c), "academic_year", "school_year", total)


def age_table(c: pd.DataFrame, total: bool = True) -> pd.DataFrame:
    """Young people by age at referral (whole years) and sex (counts), with a total row.

    Columns ``age_at_referral`` (the ages, then the label :data:`TOTAL`, "Total", so the
    column holds objects), ``girls``, ``boys``, ``total`` (total row left out with
    ``total=False``). Totals relations: ``total = girls + boys`` in every row, and the Total
    row = sum of the age rows in every count column. Declare them as
    ``totals={"columns": {"total": ["girls", "boys"]}, "row": ("age_at_referral", "Total")}``.
    """
    return _sex_table(first_referrals(c), "age_at_referral", "age_at_referral", total)


def support_length_table(c: pd.DataFrame, bins: Sequence[float] = (0, 6, 12, 18, 24, 31),
                         total: bool = True) -> pd.DataFrame:
    """Ended episodes by length of support (months, intervals closed on the left), with a total row.

    Columns ``length`` (``"0-6 months"`` ...; then :data:`TOTAL`, "Total") and ``episodes``.
    Episodes longer than the last edge (support may run past two years in real extracts, whose
    dates run to 2023) get further 6-month bins, so the Total row, the sum of the length rows,
    is every ended episode; a negative length raises ``ValueError``. Totals relation: Total row
    = sum of the other rows; declare it as ``totals={"row": ("length", "Total")}``.
    """
    m = c.loc[c["ended"], "support_months"]
    bins = list(bins)
    while len(m) and m.max() >= bins[-1]:
        bins.append(bins[-1] + 6)
    labels = [f"{int(a)}-{int(b)} months" for a, b in zip(bins[:-1], bins[1:])]
    cat = pd.cut(m, bins=list(bins), right=False, labels=labels)
    outside = cat.isna() & m.notna()
    if outside.any():
        raise ValueError(f"support_length_table: {int(outside.sum())} ended episode(s) outside the bins "
                         f"{list(bins)} (first: {m[outside].round(1).head(3).tolist()} months); widen the bins")
    t = cat.value_counts(sort=False).rename_axis("length").reset_index(name="episodes")
    t["length"] = t["length"].astype(str)
    return _with_total_row(t, "length") if total else t


# --------------------------------------------------------------------------- SDQ (A15)

def sdq_pairs(scores: pd.DataFrame, episodes: Iterable[str], cutoff=None) -> pd.DataFrame:
    """Wide before/after scores for episodes with a start and an end questionnaire.

    ``scores`` is the processed ``sdq_targeted_scores``. Questionnaires dated after ``cutoff``
    are ignored. Columns ``<scale>_before``, ``<scale>_after`` for the scales of
    :data:`SDQ_SCALES` and prosocial, plus the episode and person ids.
    """
    s = scores[scores["episode_id"].isin(set(episodes))].copy()
    if cutoff is not None:
        s = s[pd.to_datetime(s["assessment_date"]) <= _ts(cutoff)]
    s = s.sort_values(["episode_id", "timepoint", "assessment_date"], kind="mergesort")
    s = s.drop_duplicates(["episode_id", "timepoint"], keep="first")
    cols = [f"sdq_{k}" for k in (*SDQ_SCALES, "prosoc")]
    w = s.pivot(index="episode_id", columns="timepoint", values=cols)
    if w.empty or "start" not in w.columns.get_level_values(1) or "end" not in w.columns.get_level_values(1):
        return pd.DataFrame(columns=["episode_id", "person_id"]
                            + [f"{k}_{t}" for k in (*SDQ_SCALES, "prosoc") for t in ("before", "after")])
    out = pd.DataFrame(index=w.index)
    for k in (*SDQ_SCALES, "prosoc"):
        out[f"{k}_before"] = w[(f"sdq_{k}", "start")].astype(float)
        out[f"{k}_after"] = w[(f"sdq_{k}", "end")].astype(float)
    both = w.xs("start", axis=1, level=1).notna().any(axis=1) & w.xs("end", axis=1, level=1).notna().any(axis=1)
    out = out[both]
    out.insert(0, "person_id", s.drop_duplicates("episode_id").set_index("episode_id")["person_id"]
               .reindex(out.index).to_numpy())
    return out.reset_index()


def sdq_change_table(pairs: pd.DataFrame, scales: Sequence[str] = SDQ_SCALES,
                     confidence: float = 0.95) -> pd.DataFrame:
    """Paired change per scale: means, mean change with Student's t CI, paired t and Wilcoxon tests,
    Hedges' g_av for paired data (Lakens 2013) with its CI, and how many fell, stayed, rose.

    Pairs with the scale missing at either time are dropped (``n`` per scale). Methods:
    :func:`rrlib.stats.paired_t`, :func:`rrlib.stats.wilcoxon_signed_rank`,
    :func:`rrlib.stats.hedges_g_paired`.

    Totals relation: ``n = n_decreased + n_same + n_increased`` in every row (no total row:
    the scales are not disjoint groups). Declare it as
    ``totals={"columns": {"n": ["n_decreased", "n_same", "n_increased"]}}``; the means,
    intervals and effect sizes are derived from ``n``.
    """
    rows = []
    for k in scales:
        b = pairs[f"{k}_before"].astype(float)
        a = pairs[f"{k}_after"].astype(float)
        ok = b.notna() & a.notna()
        b, a = b[ok].to_numpy(), a[ok].to_numpy()
        n = len(b)
        row = {"scale": k, "label": SDQ_LABELS[k], "n": n,
               "mean_before": b.mean() if n else np.nan, "mean_after": a.mean() if n else np.nan,
               "n_decreased": int((a < b).sum()), "n_same": int((a == b).sum()), "n_increased": int((a > b).sum())}
        if n >= 2 and np.std(a - b) > 0:
            t = stats.paired_t(b, a, confidence=confidence).iloc[0]
            w = stats.wilcoxon_signed_rank(b, a).iloc[0]
            g = stats.hedges_g_paired(b, a, confidence=confidence).iloc[0]
            row.update({"mean_change": t["estimate"], "change_lower": t["lower"], "change_upper": t["upper"],
                        "t": t["statistic"], "t_p": t["p_value"], "wilcoxon_p": w["p_value"],
                        "hedges_g": g["estimate"], "g_lower": g["lower"], "g_upper": g["upper"]})
        else:
            row.update({"mean_change": (a - b).mean() if n else np.nan, "change_lower": np.nan,
                        "change_upper": np.nan, "t": np.nan, "t_p": np.nan, "wilcoxon_p": np.nan,
                        "hedges_g": np.nan, "g_lower": np.nan, "g_upper": np.nan})
        row["pct_decreased"] = 100 * row["n_decreased"] / n if n else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _bands(values: pd.Series, scale: str) -> pd.Series:
    return sdq.band(values.astype(float), scale)


def sdq_band_share(pairs: pd.DataFrame, scales: Sequence[str] = SDQ_SCALES, band_from: str = "high",
                   confidence: float = 0.95) -> pd.DataFrame:
    """Young people in the ``band_from`` band or above, before and after, per scale.

    Self-report four bands (sdqinfo.org). ``in_20`` = share x 20, the evaluation's "N in 20"
    (rounded to a whole number in ``in_20_rounded``). Wilson intervals for the shares
    (:func:`rrlib.stats.proportion_ci`).
    """
    lvl = BAND_ORDER.index(band_from)
    rows = []
    for k in scales:
        b, a = pairs[f"{k}_before"], pairs[f"{k}_after"]
        ok = b.notna() & a.notna()
        n = int(ok.sum())
        for when, v in (("before", b[ok]), ("after", a[ok])):
            codes = _bands(v, k).cat.codes
            x = int((codes >= lvl).sum())
            ci = stats.proportion_ci(x, n, confidence=confidence) if n else None
            rows.append({"scale": k, "label": SDQ_LABELS[k], "when": when, "n": n, "n_band": x,
                         "pct": 100 * x / n if n else np.nan,
                         "pct_lower": 100 * ci.lower if ci else np.nan,
                         "pct_upper": 100 * ci.upper if ci else np.nan,
                         "in_20": 20 * x / n if n else np.nan,
                         "in_20_rounded": int(np.floor(20 * x / n + 0.5)) if n else np.nan})
    return pd.DataFrame(rows)


def sdq_decrease_summary(pairs: pd.DataFrame, scale: str = "total", confidence: float = 0.95) -> dict:
    """Share of young people whose ``scale`` score fell, and the mean relative fall among them.

    Relative fall = (before - after) / before, in percent. Wilson interval for the share.
    """
    b, a = pairs[f"{scale}_before"].astype(float), pairs[f"{scale}_after"].astype(float)
    ok = b.notna() & a.notna()
    b, a = b[ok], a[ok]
    n = len(b)
    dec = a < b
    ci = stats.proportion_ci(int(dec.sum()), n, confidence=confidence)
    rel = 100 * (b[dec] - a[dec]) / b[dec]
    return {"scale": scale, "n": n, "n_decreased": int(dec.sum()), "pct_decreased": 100 * float(ci.value),
            "pct_lower": 100 * float(ci.lower), "pct_upper": 100 * float(ci.upper),
            "mean_pct_reduction": float(rel.mean()) if len(rel) else np.nan,
            "mean_score_change_pct": float(100 * (a.mean() - b.mean()) / b.mean()) if b.mean() else np.nan}


def sdq_band_movement(pairs: pd.DataFrame, scales: Sequence[str] = SDQ_SCALES) -> pd.DataFrame:
    """Per scale, how many young people moved to a lower band, stayed, or moved to a higher band.

    Self-report four bands (sdqinfo.org). Totals relation: ``n = moved_down + same_band +
    moved_up`` in every row (no total row: the scales are not disjoint groups). Declare it as
    ``totals={"columns": {"n": ["moved_down", "same_band", "moved_up"]}}``.
    """
    rows = []
    for k in scales:
        b, a = pairs[f"{k}_before"], pairs[f"{k}_after"]
        ok = b.notna() & a.notna()
        cb = _bands(b[ok], k).cat.codes.to_numpy()
        ca = _bands(a[ok], k).cat.codes.to_numpy()
        rows.append({"scale": k, "label": SDQ_LABELS[k], "n": int(ok.sum()),
                     "moved_down": int((ca < cb).sum()), "same_band": int((ca == cb).sum()),
                     "moved_up": int((ca > cb).sum())})
    return pd.DataFrame(rows)


def detectable_effect(n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest standardised paired effect (Cohen's d_z) a two-sided paired t test with ``n`` pairs
    detects with the given power (statsmodels ``TTestPower``; Cohen 1988)."""
    from statsmodels.stats.power import TTestPower

    if n < 3:
        return np.nan
    return float(TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power,
                                          alternative="two-sided"))


def regression_to_mean(pairs: pd.DataFrame, scale: str = "total", high_from: float = 18) -> dict:
    """Mean change of those who started in the high band against those who did not.

    A larger fall among those who started high is what regression to the mean alone would
    produce when young people are referred at a difficult time; with no control group the two
    cannot be told apart.
    """
    b, a = pairs[f"{scale}_before"].astype(float), pairs[f"{scale}_after"].astype(float)
    ok = b.notna() & a.notna()
    b, a = b[ok], a[ok]
    hi = b >= high_from
    r = float(np.corrcoef(b, a)[0, 1]) if len(b) > 2 and b.std() > 0 and a.std() > 0 else np.nan
    return {"n_high": int(hi.sum()), "n_other": int((~hi).sum()),
            "change_high": float((a[hi] - b[hi]).mean()) if hi.any() else np.nan,
            "change_other": float((a[~hi] - b[~hi]).mean()) if (~hi).any() else np.nan,
            "before_after_correlation": r}


# --------------------------------------------------------------------------- goals (A16, A17)

def goals_in_window(goal_change: pd.DataFrame, programmes: Iterable[str] | None = None,
                    start=None, end=None, episodes: Iterable[str] | None = None) -> pd.DataFrame:
    """Goals (processed ``goal_change``) set in [start, end], for some programmes or episodes."""
    g = goal_change.copy()
    g["set_date"] = pd.to_datetime(g["set_date"])
    if programmes is not None:
        g = g[g["programme"].isin(list(programmes))]
    if episodes is not None:
        g = g[g["episode_id"].isin(set(episodes))]
    if start is not None:
        g = g[g["set_date"] >= _ts(start)]
    if end is not None:
        g = g[g["set_date"] <= _ts(end)]
    return g.reset_index(drop=True)


def goals_per_person(g: pd.DataFrame) -> dict:
    """Goals, young people, and goals per young person (min, max, mean)."""
    per = g.groupby("person_id").size()
    return {"goals": int(len(g)), "young_people": int(per.size),
            "min": int(per.min()) if per.size else 0, "max": int(per.max()) if per.size else 0,
            "mean": float(per.mean()) if per.size else np.nan,
            "distribution": per.value_counts().sort_index().to_dict()}


def goals_by_domain(g: pd.DataFrame) -> pd.DataFrame:
    """Goals per Resilience Framework section (all five sections, zero when none)."""
    t = g["domain"].value_counts().reindex(list(DOMAINS), fill_value=0)
    out = t.rename_axis("domain").reset_index(name="goals")
    return out.sort_values("goals", ascending=False, kind="mergesort").reset_index(drop=True)


def _check_threshold(threshold: float) -> float:
    threshold = float(threshold)
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"reliable change threshold must be a positive number, got {threshold!r}")
    return threshold


def reliable_change(change: pd.Series | np.ndarray, threshold: float = gbo.RELIABLE_CHANGE
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Reliable improvement (change >= threshold) and deterioration (change <= -threshold) per goal.

    The rule of :func:`rrlib.instruments.gbo.change` (Edbrooke-Childs et al. 2015), recomputed
    from the change column so a threshold other than the one ``rr prepare`` scored with is
    honoured; missing change gives False for both.
    """
    t = _check_threshold(threshold)
    v = np.asarray(change, dtype=float)
    with np.errstate(invalid="ignore"):
        return (v >= t), (v <= -t)


def goal_change_summary(g: pd.DataFrame, confidence: float = 0.95,
                        threshold: float = gbo.RELIABLE_CHANGE) -> pd.DataFrame:
    """First-to-last change over goals rated at least twice, and per young person.

    Rows: ``per goal`` (mean change, Student's t CI, ``rrlib.stats.mean_ci``), ``per young
    person`` (mean of each young person's mean change), and the shares of goals with reliable
    improvement / deterioration (change of at least ``threshold`` points up / down, default
    :data:`rrlib.instruments.gbo.RELIABLE_CHANGE` = 2.45, Edbrooke-Childs et al. 2015; Wilson
    intervals), in percent, with their ``count``. Reliable change is recomputed from the
    ``change`` column with ``threshold`` (:func:`reliable_change`), not read from the processed
    flags (scored at the default). Paired t test of last against first rating per goal for the
    p-value. Totals relation: none inside the table (``count`` of each share is out of ``n``).
    """
    threshold = _check_threshold(threshold)
    r = g[g["change"].notna()]
    rows = []
    n = len(r)
    if n >= 2:
        m = stats.mean_ci(r["change"].to_numpy(float), confidence=confidence)
        t = stats.paired_t(r["first"].to_numpy(float), r["last"].to_numpy(float), confidence=confidence).iloc[0]
        rows.append({"measure": "mean change per goal", "n": n, **_ci_row(m), "p_value": t["p_value"]})
    per = r.groupby("person_id")["change"].mean()
    if per.size >= 2:
        m = stats.mean_ci(per.to_numpy(float), confidence=confidence)
        rows.append({"measure": "mean change per young person", "n": int(per.size), **_ci_row(m),
                     "p_value": np.nan})
    improved, deteriorated = reliable_change(r["change"], threshold)
    for flags, lab in ((improved, "goals with reliable improvement (%)"),
                       (deteriorated, "goals with reliable deterioration (%)")):
        if n:
            x = int(flags.sum())
            ci = stats.proportion_ci(x, n, confidence=confidence)
            rows.append({"measure": lab, "n": n, "estimate": 100 * float(ci.value),
                         "lower": 100 * float(ci.lower), "upper": 100 * float(ci.upper),
                         "method": str(ci.method), "p_value": np.nan, "count": x})
    return pd.DataFrame(rows)


def goal_change_by_domain(g: pd.DataFrame, confidence: float = 0.95,
                          threshold: float = gbo.RELIABLE_CHANGE, total: bool = True) -> pd.DataFrame:
    """Mean first-to-last change per Resilience Framework section, goals rated at least twice.

    One row per section of :data:`DOMAINS` (``n`` goals, ``mean_change`` with a Student's t CI,
    ``reliable_improvement``: goals whose change is at least ``threshold`` points, default
    :data:`rrlib.instruments.gbo.RELIABLE_CHANGE`, recomputed from ``change``), then an
    :data:`ALL_GOALS` ("All goals") row over every goal rated twice (left out with
    ``total=False``); its mean and interval equal the per-goal row of
    :func:`goal_change_summary`. Totals relation: the All goals row = sum of the section rows
    in ``n`` and ``reliable_improvement``; declare it as
    ``totals={"row": ("domain", "All goals")}`` (mean and limits are derived from ``n``).
    """
    threshold = _check_threshold(threshold)
    r = g[g["change"].notna()]
    unknown = sorted(set(r["domain"]) - set(DOMAINS))
    if unknown:
        raise ValueError(f"goal_change_by_domain: column 'domain' has values outside {list(DOMAINS)}: {unknown}")
    groups = [(d, r.loc[r["domain"] == d, "change"].to_numpy(float)) for d in DOMAINS]
    if total:
        groups.append((ALL_GOALS, r["change"].to_numpy(float)))
    rows = []
    for d, v in groups:
        improved = int(reliable_change(v, threshold)[0].sum())
        if len(v) >= 2:
            m = stats.mean_ci(v, confidence=confidence)
            rows.append({"domain": d, "n": len(v), "mean_change": float(m.value), "lower": float(m.lower),
                         "upper": float(m.upper), "reliable_improvement": improved})
        else:
            rows.append({"domain": d, "n": len(v), "mean_change": float(v.mean()) if len(v) else np.nan,
                         "lower": np.nan, "upper": np.nan, "reliable_improvement": improved})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- education (A18, A19)

def education_cohort(c: pd.DataFrame) -> pd.DataFrame:
    """Episodes of the cohort with education data: consent given and support ended by the cut-off."""
    return c[c["education_data_consent"].astype(bool) & c["ended"]].reset_index(drop=True)


def attendance_referral_end(ec: pd.DataFrame, school_attendance: pd.DataFrame) -> pd.DataFrame:
    """Attendance in the term of referral and the term support ended, per young person and pooled.

    DfE definition: attended sessions / possible sessions x 100. Returns one row per episode
    (``when`` = referral / end) and a final ``pooled`` row per ``when`` (sums of sessions over
    the young people with a record for that term).
    """
    a = school_attendance[["pupil_id", "academic_year", "term", "possible_sessions", "attended_sessions"]]
    rows = []
    for when, col in (("referral", "referral_date"), ("end", "end_date")):
        key = pd.DataFrame({"episode_id": ec["episode_id"].to_numpy(), "pupil_id": ec["person_id"].to_numpy(),
                            "academic_year": academic_year(ec[col]).to_numpy(), "term": term_of(ec[col]).to_numpy()})
        m = key.merge(a, on=["pupil_id", "academic_year", "term"], how="left")
        m = m.groupby(["episode_id", "pupil_id", "academic_year", "term"], as_index=False)[
            ["possible_sessions", "attended_sessions"]].sum(min_count=1)
        m["when"] = when
        rows.append(m)
    out = pd.concat(rows, ignore_index=True)
    out = out[out["possible_sessions"].fillna(0) > 0]
    out["attendance_pct"] = 100 * out["attended_sessions"] / out["possible_sessions"]
    pooled = out.groupby("when", as_index=False)[["possible_sessions", "attended_sessions"]].sum()
    pooled["n_young_people"] = out.groupby("when")["pupil_id"].nunique().reindex(pooled["when"]).to_numpy()
    pooled["attendance_pct"] = 100 * pooled["attended_sessions"] / pooled["possible_sessions"]
    pooled["episode_id"] = "pooled"
    return pd.concat([out, pooled], ignore_index=True)


def exclusions_windows(ec: pd.DataFrame, exclusions: pd.DataFrame, *, cutoff=None, before_days: int = 365,
                       after_days: int = 365) -> pd.DataFrame:
    """Suspensions and permanent exclusions per young person before, during and after support.

    Windows of :func:`rrlib.chapters.common.back_on_track_windows` (the one definition, shared
    with the exclusions chapter's A19): before = [start - before_days, start); during =
    [start, end]; after = (end, end + after_days], cut at ``cutoff``. ``years`` is each
    window's length in years (for rates per pupil-year). One row per episode and window.
    """
    w = back_on_track_windows(ec, cutoff=cutoff, before_days=before_days, after_days=after_days)
    out = count_in_windows(w, exclusions, by="category", levels=["suspension", "permanent"])
    out = out.rename(columns={"suspension": "suspensions", "permanent": "permanents"})
    out = out[["episode_id", "person_id", "window", "years", "suspensions", "permanents"]]
    return out.sort_values(["episode_id", "window"], kind="mergesort").reset_index(drop=True)


def exclusions_summary(xw: pd.DataFrame) -> pd.DataFrame:
    """Per window: young people, how many were suspended, suspensions, permanent exclusions, and the
    suspension rate per pupil-year with its exact/Byars interval (:func:`rrlib.stats.rate_ci`).

    ``pupil_years`` is shown to 2 decimals; the rates use the exact sum."""
    g = xw.groupby("window", observed=False)
    out = pd.DataFrame({
        "young_people": g["episode_id"].nunique(),
        "suspended": g["suspensions"].apply(lambda s: int((s > 0).sum())),
        "suspensions": g["suspensions"].sum().astype(int),
        "permanent": g["permanents"].sum().astype(int),
        "pupil_years": g["years"].sum(),
    }).reset_index()
    rc = stats.rate_ci(out["suspensions"].to_numpy(), np.maximum(out["pupil_years"].to_numpy(), 1e-9), multiplier=1)
    out["rate_per_pupil_year"] = np.where(out["pupil_years"] > 0, rc.value, np.nan)
    out["rate_lower"] = np.where(out["pupil_years"] > 0, rc.lower, np.nan)
    out["rate_upper"] = np.where(out["pupil_years"] > 0, rc.upper, np.nan)
    out["pupil_years"] = out["pupil_years"].round(2)  # shown to 2 decimals; the rates use the exact sum
    return out


def exclusions_headline(xw: pd.DataFrame) -> dict:
    """A19's numbers: young people with data, how many were suspended before or during support, their
    suspensions before and during, and young people suspended / suspensions after."""
    per = xw.pivot_table(index="episode_id", columns="window", values="suspensions", aggfunc="sum",
                         observed=False).fillna(0)
    bd = per.get("before", 0) + per.get("during", 0)
    after = per.get("after", pd.Series(0, index=per.index))
    return {"young_people": int(per.shape[0]), "suspended_before_during": int((bd > 0).sum()),
            "suspensions_before_during": int(bd.sum()), "suspended_after": int((after > 0).sum()),
            "suspensions_after": int(after.sum())}


# --------------------------------------------------------------------------- parameters and data coverage

#: Notebook parameters that are dates (text ``YYYY-MM-DD``), and the pairs that must be in order.
DATE_PARAMETERS = ("cohort_start", "cohort_end", "later_cohort_end", "goals_from", "goals_to")
DATE_ORDER = (("cohort_start", "cohort_end"), ("cohort_end", "later_cohort_end"), ("goals_from", "goals_to"))


def check_parameters(p: dict) -> None:
    """Check the chapter's parameters; raise :class:`rrlib.chapter.ParameterError` (one line) if one is bad.

    Dates (:data:`DATE_PARAMETERS`) are text ``YYYY-MM-DD`` (a YAML date given on the command
    line reaches the notebook as that text) in order (:data:`DATE_ORDER`); ``active_year`` a
    school year ``"2019/20"``; ``band_from`` one of the SDQ bands; ``reliable_change`` a positive
    number; ``before_days`` and ``after_days`` whole days >= 0; ``confidence`` in (0, 1).
    Parameters absent from ``p`` are not checked.
    """
    for name in DATE_PARAMETERS:
        if name in p:
            check_type(name, p[name], str, "a date as text, e.g. '2016-11-01'")
            try:
                pd.Timestamp(p[name])
            except ValueError:
                raise ParameterError(f"parameter {name} = {p[name]!r} is not a date; expected YYYY-MM-DD, "
                                     f"e.g. '2016-11-01'") from None
    for a, b in DATE_ORDER:
        if a in p and b in p and pd.Timestamp(p[a]) > pd.Timestamp(p[b]):
            raise ParameterError(f"parameter {a} = {p[a]!r} is after {b} = {p[b]!r}; expected {a} <= {b}")
    if "active_year" in p:
        check_type("active_year", p["active_year"], str, "a school year as text, e.g. '2019/20'")
        try:
            start_year([p["active_year"]])
        except ValueError:
            raise ParameterError(f"parameter active_year = {p['active_year']!r} is not a school year; "
                                 f"expected e.g. '2019/20'") from None
    if "band_from" in p:
        check_choice("band_from", p["band_from"], BAND_ORDER, "SDQ self-report bands")
    if "reliable_change" in p:
        check_type("reliable_change", p["reliable_change"], (int, float), "a number of points, e.g. 2.45")
        if isinstance(p["reliable_change"], bool) or not p["reliable_change"] > 0:
            raise ParameterError(f"parameter reliable_change = {p['reliable_change']!r}; expected a positive "
                                 f"number of points, e.g. 2.45")
    for name in ("before_days", "after_days"):
        if name in p:
            check_type(name, p[name], int, "a whole number of days, e.g. 365")
            if isinstance(p[name], bool) or p[name] < 0:
                raise ParameterError(f"parameter {name} = {p[name]!r}; expected a whole number of days >= 0")
    if "confidence" in p:
        check_type("confidence", p["confidence"], float, "a level such as 0.95")
        if not 0 < p["confidence"] < 1:
            raise ParameterError(f"parameter confidence = {p['confidence']!r}; expected a level between 0 and 1")


def threshold_note(threshold: float) -> str:
    """Markdown saying that goals use a reliable-change threshold other than the default ('' for the default)."""
    if float(threshold) == gbo.RELIABLE_CHANGE:
        return ""
    return (f"**Reliable change at {threshold:g} points**, not the default {gbo.RELIABLE_CHANGE:g} "
            "(Edbrooke-Childs et al. 2015): reliable change is recomputed from each goal's change.")


def school_year_window(label: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the school year ``"2019/20"`` (1 September to 31 August)."""
    y = int(start_year([label]).iloc[0])
    return pd.Timestamp(y, 9, 1), pd.Timestamp(y + 1, 8, 31)


def last_date(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Timestamp | None:
    """The latest date in ``columns`` of ``frame`` (None when there is none)."""
    d = pd.concat([pd.to_datetime(frame[c]) for c in columns if c in frame.columns], ignore_index=True)
    d = d.dropna()
    return d.max() if len(d) else None


def require_covered(frame: pd.DataFrame, columns: Sequence[str], until, what: str, table: str) -> None:
    """Raise :class:`NotComputed` unless the dates of ``table`` run to ``until`` (inclusive).

    A data extract that stops before the end of a window fixed by a published figure cannot
    reproduce that figure: the window's young people are not all in it, or their episodes are
    cut short. ``what`` names the window for the reason, e.g. ``"the A14 cohort window
    2016-11-01 to 2020-08-31 (cohort_start, cohort_end)"``. The start of a window is not
    checked: an extract that begins with the programme holds everything before it.
    """
    last = last_date(frame, columns)
    if last is None:
        raise NotComputed(f"the `{table}` table holds no dates, so it does not cover {what}")
    if last < pd.Timestamp(until):
        raise NotComputed(f"the `{table}` table ends on {last:%Y-%m-%d}, before the end of {what}")


INTERVENTION_DATES = ("referral_date", "start_date", "end_date")


def bot_cohort(interventions: pd.DataFrame, pupils: pd.DataFrame, *, start, end, cutoff=None,
               label: str = "the Back on Track cohort", programme: str = "back_on_track") -> pd.DataFrame:
    """:func:`cohort`, or :class:`NotComputed` when the data cannot give it.

    Skipped with the reason when the ``interventions`` table does not run to ``end`` (and to
    ``cutoff`` if later), or when no episode of ``programme`` was referred in [start, end].
    """
    until = max(pd.Timestamp(end), pd.Timestamp(cutoff)) if cutoff is not None else pd.Timestamp(end)
    window = f"{label} ({pd.Timestamp(start):%Y-%m-%d} to {until:%Y-%m-%d})"
    require_covered(interventions, INTERVENTION_DATES, until, window, "interventions")
    c = cohort(interventions, pupils, programme=programme, start=start, end=end, cutoff=cutoff)
    if c.empty:
        held = sorted(interventions["programme"].unique())
        raise NotComputed(f"no `{programme}` episode referred between {pd.Timestamp(start):%Y-%m-%d} and "
                          f"{pd.Timestamp(end):%Y-%m-%d} (programmes in the data: {', '.join(held) or 'none'})")
    return c


def data_window(interventions: pd.DataFrame, programme: str = "back_on_track") -> tuple[pd.Timestamp, pd.Timestamp]:
    """The window the data holds for ``programme``: its first referral to the table's last date.

    No published figure fixes it: it is derived from the data (the whole programme as at the
    end of the extract). :class:`NotComputed` when the data has no episode of ``programme``.
    """
    ref = pd.to_datetime(interventions.loc[interventions["programme"] == programme, "referral_date"])
    if ref.empty:
        held = sorted(interventions["programme"].unique())
        raise NotComputed(f"no `{programme}` episode in the data (programmes: {', '.join(held) or 'none'})")
    return ref.min(), last_date(interventions, INTERVENTION_DATES)


def cohort_sdq_pairs(scores: pd.DataFrame, c: pd.DataFrame, cutoff) -> pd.DataFrame:
    """:func:`sdq_pairs` of the cohort ``c`` as at ``cutoff``, or :class:`NotComputed` when the
    questionnaires (``sdq_targeted_scores``) stop before the cut-off."""
    require_covered(scores, ["assessment_date"], cutoff, f"the cohort's support (cut-off {pd.Timestamp(cutoff):%Y-%m-%d})",
                    "sdq_targeted_scores")
    return sdq_pairs(scores, c["episode_id"], cutoff=cutoff)


def goals_covered(goal_change: pd.DataFrame, programmes: Iterable[str], start, end,
                  episodes: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`goals_in_window`, or :class:`NotComputed` when the goal ratings stop before ``end``
    (the goals window of A16/A17 is fixed by the published figures)."""
    require_covered(goal_change, ["set_date", "last_date"], end,
                    f"the goals window {pd.Timestamp(start):%Y-%m-%d} to {pd.Timestamp(end):%Y-%m-%d}", "goal_change")
    return goals_in_window(goal_change, programmes, start, end, episodes=episodes)


def education_cohort_or_skip(c: pd.DataFrame) -> pd.DataFrame:
    """:func:`education_cohort`, or :class:`NotComputed` when it is empty."""
    ec = education_cohort(c)
    if ec.empty:
        raise NotComputed("no young person of the cohort consented to the education data request and ended "
                          "support by the cut-off")
    return ec


# --------------------------------------------------------------------------- tidy results frames

# one results-row builder for every chapter (rrlib.results.row / frame: the estimate is `value`)
_results = results_frame
_r = results_row


def values(frame: pd.DataFrame) -> dict:
    """``{last part of the key: value}`` of a results frame, for the notebook's sentences."""
    return {k.rsplit(".", 1)[-1]: v for k, v in zip(frame["key"], frame["value"])}


def cohort_results(c: pd.DataFrame, prefix: str, *, window: str | None = None) -> pd.DataFrame:
    """Young people, share of boys, age at referral and length of support of a cohort.

    Keys under ``prefix``: ``young_people``, ``male_pct``, ``looked_after_pct``, ``age_min``,
    ``age_max``, ``age_mean``, ``age_sd`` (first referral per young person) and
    ``support_months_min``/``max``/``mean``/``sd`` (episodes that ended by the cut-off), as
    :func:`cohort_summary` computes them. ``window`` goes into the note of ``young_people``.
    """
    s = cohort_summary(c)
    n, m = s["young_people"], s["ended"]
    rows = [_r(f"{prefix}.young_people", n, unit="count", n=n, note=f"referred {window}" if window else None),
            _r(f"{prefix}.male_pct", s["male_pct"], unit="percent", n=n),
            _r(f"{prefix}.looked_after_pct", s["looked_after_pct"], unit="percent", n=n,
               note="looked after in the census of the referral year")]
    rows += [_r(f"{prefix}.age_{k}", s[f"age_{k}"], unit="years", n=n) for k in ("min", "max", "mean", "sd")]
    rows += [_r(f"{prefix}.support_months_{k}", s[f"months_{k}"], unit="months", n=m,
                note="episodes that ended (by the cut-off, if any)") for k in ("min", "max", "mean", "sd")]
    return _results(rows)


def taking_part_results(c: pd.DataFrame, year: str, prefix: str = "targeted.bot") -> pd.DataFrame:
    """Young people of the cohort taking part at some time in school year ``year`` (A14).

    Key ``<prefix>.taking_part_<year>`` (``2019/20`` -> ``taking_part_2019_20``).
    """
    lo, hi = school_year_window(year)
    people = taking_part(c, lo, hi)["person_id"].nunique()
    return _results([_r(f"{prefix}.taking_part_{key_part(year)}", int(people), unit="count",
                        note=f"episodes in progress between {lo:%Y-%m-%d} and {hi:%Y-%m-%d}")])


def sdq_results(pairs: pd.DataFrame, *, band_from: str = "high", confidence: float = 0.95,
                prefix: str = "targeted.sdq") -> pd.DataFrame:
    """A15: SDQ before and after, as one tidy frame.

    Keys: ``pairs``; ``total_decreased_pct`` and ``impact_reduced_pct`` (Wilson) with
    ``total_mean_pct_reduction`` and ``impact_mean_pct_reduction`` (:func:`sdq_decrease_summary`);
    per scale ``<scale>_<before|after>_in_20`` and ``_band_pct`` (:func:`sdq_band_share`) and
    ``<scale>_mean_change`` (Student's t, paired), ``_hedges_g``, ``_mean_before``,
    ``_mean_after`` (:func:`sdq_change_table`). Raises :class:`NotComputed` without pairs.
    """
    if len(pairs) == 0:
        raise NotComputed("no young person of the cohort has an SDQ at the start and at the end of support")
    dec = sdq_decrease_summary(pairs, "total", confidence=confidence)
    imp = sdq_decrease_summary(pairs, "impact", confidence=confidence)
    rows = [_r(f"{prefix}.pairs", len(pairs), unit="count"),
            _r(f"{prefix}.total_decreased_pct", dec["pct_decreased"], lower=dec["pct_lower"], upper=dec["pct_upper"],
               unit="percent", method="Wilson score", n=dec["n"]),
            _r(f"{prefix}.total_mean_pct_reduction", dec["mean_pct_reduction"], unit="percent", n=dec["n_decreased"],
               note="mean relative fall among those whose total fell"),
            _r(f"{prefix}.impact_reduced_pct", imp["pct_decreased"], lower=imp["pct_lower"], upper=imp["pct_upper"],
               unit="percent", method="Wilson score", n=imp["n"]),
            _r(f"{prefix}.impact_mean_pct_reduction", imp["mean_pct_reduction"], unit="percent",
               n=imp["n_decreased"], note="mean relative fall among those whose impact fell")]
    for r in sdq_band_share(pairs, band_from=band_from, confidence=confidence).itertuples():
        rows.append(_r(f"{prefix}.{r.scale}_{r.when}_in_20", r.in_20, unit="count", n=r.n,
                       note=f"young people in the {band_from} band or above, per 20 (= {r.pct:.1f}%)"))
        rows.append(_r(f"{prefix}.{r.scale}_{r.when}_band_pct", r.pct, lower=r.pct_lower, upper=r.pct_upper,
                       unit="percent", method="Wilson score", n=r.n))
    for r in sdq_change_table(pairs, confidence=confidence).itertuples():
        rows += [_r(f"{prefix}.{r.scale}_mean_change", r.mean_change, lower=r.change_lower, upper=r.change_upper,
                    unit="points", method="Student's t (paired)", n=r.n),
                 _r(f"{prefix}.{r.scale}_hedges_g", r.hedges_g, lower=r.g_lower, upper=r.g_upper,
                    method="Hedges' g_av (paired)", n=r.n),
                 _r(f"{prefix}.{r.scale}_mean_before", r.mean_before, unit="points", n=r.n),
                 _r(f"{prefix}.{r.scale}_mean_after", r.mean_after, unit="points", n=r.n)]
    return _results(rows)


def sdq_limits_results(pairs: pd.DataFrame, *, alpha: float = 0.05, power: float = 0.8, high_from: float = 18,
                       prefix: str = "targeted.sdq") -> pd.DataFrame:
    """What so few pairs can show: the detectable effect (:func:`detectable_effect`) and the change of
    those who started high against the others (:func:`regression_to_mean`, total difficulties)."""
    mde = detectable_effect(len(pairs), alpha=alpha, power=power)
    rtm = regression_to_mean(pairs, "total", high_from=high_from)
    return _results([
        _r(f"{prefix}.detectable_effect_dz", mde, n=len(pairs),
           method=f"paired t test, two-sided, power {power:g} (statsmodels TTestPower)"),
        _r(f"{prefix}.rtm_change_high", rtm["change_high"], unit="points", n=rtm["n_high"],
           note=f"total difficulties {high_from:g} or more before"),
        _r(f"{prefix}.rtm_change_other", rtm["change_other"], unit="points", n=rtm["n_other"]),
        _r(f"{prefix}.before_after_correlation", rtm["before_after_correlation"], n=len(pairs),
           method="Pearson correlation of total difficulties before and after")])


def goal_results(g: pd.DataFrame, *, threshold: float = gbo.RELIABLE_CHANGE, confidence: float = 0.95,
                 prefix: str = "targeted.goals.bot") -> pd.DataFrame:
    """A16, A17: goals of Back on Track, as one tidy frame.

    Keys ``<prefix>_goals``, ``_young_people``, ``_min_per_person``, ``_max_per_person``
    (:func:`goals_per_person`), ``_mean_change`` (Student's t) and its paired t test
    ``_mean_change_p``, ``_person_mean_change``, ``_reliable_improvement_pct`` (Wilson)
    (:func:`goal_change_summary`). Raises :class:`NotComputed` when no goal is in ``g``.
    """
    if len(g) == 0:
        raise NotComputed("no goal of the cohort was set in the goals window")
    gp = goals_per_person(g)
    rows = [_r(f"{prefix}_goals", gp["goals"], unit="count"),
            _r(f"{prefix}_young_people", gp["young_people"], unit="count"),
            _r(f"{prefix}_min_per_person", gp["min"], unit="count"),
            _r(f"{prefix}_max_per_person", gp["max"], unit="count")]
    s = goal_change_summary(g, confidence=confidence, threshold=threshold).set_index("measure")
    if "mean change per goal" in s.index:
        r = s.loc["mean change per goal"]
        rows += [_r(f"{prefix}_mean_change", r["estimate"], lower=r["lower"], upper=r["upper"], unit="points",
                    method=r["method"], n=r["n"], note=f"paired t test p = {r['p_value']:.2g}"),
                 _r(f"{prefix}_mean_change_p", r["p_value"], method="paired t test (last vs first rating)")]
    if "mean change per young person" in s.index:
        r = s.loc["mean change per young person"]
        rows.append(_r(f"{prefix}_person_mean_change", r["estimate"], lower=r["lower"], upper=r["upper"],
                       unit="points", method=r["method"], n=r["n"]))
    if "goals with reliable improvement (%)" in s.index:
        r = s.loc["goals with reliable improvement (%)"]
        rows.append(_r(f"{prefix}_reliable_improvement_pct", r["estimate"], lower=r["lower"], upper=r["upper"],
                       unit="percent", method=r["method"], n=r["n"], note=f"change of {threshold:g} points or more"))
    return _results(rows)


#: Keys of :func:`goal_domain_results` (a section's ``covers``).
GOAL_DOMAIN_KEYS = tuple(f"targeted.goals.domain_{d.lower().replace(' ', '_')}" for d in DOMAINS)


def goal_domain_results(by_domain: pd.DataFrame) -> pd.DataFrame:
    """Goals per Resilience Framework section (:func:`goals_by_domain`), keys :data:`GOAL_DOMAIN_KEYS`."""
    keys = dict(zip(DOMAINS, GOAL_DOMAIN_KEYS))
    return _results([_r(keys[d], int(x), unit="count", note="all Resilience Coach support, goals window")
                     for d, x in zip(by_domain["domain"], by_domain["goals"])])


def attendance_results(ec: pd.DataFrame, att: pd.DataFrame, prefix: str = "targeted.education") -> pd.DataFrame:
    """A18: attendance in the term of referral and the term support ended, pooled (DfE definition).

    Keys ``young_people`` (the education cohort), ``attendance_referral_pct``,
    ``attendance_end_pct`` (:func:`attendance_referral_end`). Raises :class:`NotComputed` when
    no young person has a school attendance record for either term.
    """
    pooled = att[att["episode_id"] == "pooled"].set_index("when")
    missing = [w for w in ("referral", "end") if w not in pooled.index]
    if missing:
        raise NotComputed(f"no young person of the education cohort has school attendance in the term of "
                          f"{' or '.join(missing)}")
    how = "DfE: sessions attended / possible, pooled"
    return _results([_r(f"{prefix}.young_people", len(ec), unit="count")] + [
        _r(f"{prefix}.attendance_{w}_pct", pooled.loc[w, "attendance_pct"], unit="percent",
           n=pooled.loc[w, "n_young_people"], method=how) for w in ("referral", "end")])


def exclusion_results(xw: pd.DataFrame, prefix: str = "targeted.exclusions") -> pd.DataFrame:
    """A19: suspensions before, during and after support (:func:`exclusions_headline`), and the
    suspension rate per pupil-year in each window (:func:`exclusions_summary`, exact/Byars)."""
    h = exclusions_headline(xw)
    rows = [_r(f"{prefix}.{k}", v, unit="count") for k, v in h.items()]
    for r in exclusions_summary(xw).itertuples():
        if r.pupil_years > 0:
            rows.append(_r(f"{prefix}.rate_{r.window}", r.rate_per_pupil_year, lower=r.rate_lower, upper=r.rate_upper,
                           unit="suspensions per pupil-year", method="exact Poisson below 10 events, Byars from 10",
                           n=r.young_people, note=f"{int(r.suspensions)} suspensions in {r.pupil_years:.1f} pupil-years"))
    return _results(rows)


#: Keys of :func:`goal_results` with the default prefix (a section's ``covers``).
GOAL_BOT_KEYS = tuple(f"targeted.goals.bot_{k}" for k in (
    "goals", "young_people", "min_per_person", "max_per_person", "mean_change", "mean_change_p",
    "person_mean_change", "reliable_improvement_pct"))


def taking_part_key(year: str, prefix: str = "targeted.bot") -> str:
    """Results key of :func:`taking_part_results` for school year ``year``."""
    return f"{prefix}.taking_part_{key_part(year)}"


# --------------------------------------------------------------------------- the chapter's sentences
# Each takes the results frame the notebook recorded and returns markdown; the notebook shows it (ch.show).
def _month(date) -> str:
    return f"{pd.Timestamp(date):%B %Y}"


def _moved(change: float, unit: str = "") -> str:
    """``fell by 1.4<unit>``, ``rose by 1.4<unit>`` or ``did not change`` (a change: after minus before)."""
    if change == 0:
        return "did not change"
    return ("fell" if change < 0 else "rose") + f" by {abs(change):.1f}{unit}"


def cohort_text(results: pd.DataFrame, start, end) -> str:
    """Who was referred from ``start`` to ``end`` (A14; from :func:`cohort_results`)."""
    v = values(results)
    return (f"**{v['young_people']}** young people were referred between {_month(start)} and {_month(end)} "
            f"({v['male_pct']:.0f}% boys), aged {v['age_min']:.0f} to {v['age_max']:.0f} at referral; "
            f"{v['looked_after_pct']:.0f}% were looked after.")


def taking_part_text(results: pd.DataFrame, year: str) -> str:
    """How many of the cohort took part in school year ``year`` (A14; from :func:`taking_part_results`)."""
    return f"**{results['value'].iloc[0]}** of them took part at some time in {year}."


def later_cohort_text(results: pd.DataFrame, end) -> str:
    """The later cohort to ``end`` (B08; from :func:`cohort_results`): size, boys, age, length of support."""
    v = values(results)
    return (f"To {_month(end)}: **{v['young_people']}** young people ({v['male_pct']:.1f}% boys), mean age "
            f"{v['age_mean']:.2f} (SD {v['age_sd']:.2f}); support lasted {v['support_months_min']:.0f} to "
            f"{v['support_months_max']:.0f} months (mean {v['support_months_mean']:.1f}, SD "
            f"{v['support_months_sd']:.1f}).")


def programme_text(results: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> str:
    """The whole programme in the data, ``first`` referral to ``last`` date (from :func:`cohort_results`)."""
    v = values(results)
    return (f"The whole programme in the data (from its first referral, {first:%d %B %Y}, to its last date, "
            f"{last:%d %B %Y}): **{v['young_people']}** young people ({v['male_pct']:.0f}% boys); support lasted "
            f"{v['support_months_mean']:.1f} months on average (SD {v['support_months_sd']:.1f}) for those who ended.")


def sdq_text(results: pd.DataFrame, band_from: str = "high") -> str:
    """A15: pairs, and how many saw their total difficulties and impact fall (from :func:`sdq_results`)."""
    v = values(results)
    return (f"**{v['pairs']}** young people answered before and after (one of them is {100 / v['pairs']:.0f}% of "
            f"the pairs). Total difficulties fell for {v['total_decreased_pct']:.0f}% of them, by "
            f"{v['total_mean_pct_reduction']:.0f}% on average among them; the impact of difficulties fell for "
            f"{v['impact_reduced_pct']:.0f}%. Per 20 in the {band_from} band or above, before and after: every "
            "scale in the tables below.")


def sdq_limits_text(results: pd.DataFrame, power: float = 0.8) -> str:
    """What so few pairs can show (from :func:`sdq_limits_results` with the same ``power``): the detectable
    effect, and the change of those who started high against the others."""
    v = values(results)
    pairs = results.loc[results["key"].str.endswith(".detectable_effect_dz"), "n"].iloc[0]
    high, other = v["rtm_change_high"], v["rtm_change_other"]
    if np.isnan(high) or np.isnan(other):
        change = "None started with high total difficulties, or all did: no comparison"
    else:
        same = np.sign(high) == np.sign(other) != 0
        change = (f"Those who started with high total difficulties {_moved(high, ' points')} on average, the "
                  f"others {f'by {abs(other):.1f}' if same else _moved(other)}")
    return (f"Detectable effect with {pairs} pairs ({power:.0%} power): d_z = **{v['detectable_effect_dz']:.2f}**. "
            f"{change} (before-after correlation {v['before_after_correlation']:.2f}).")


def goals_text(results: pd.DataFrame, threshold: float = gbo.RELIABLE_CHANGE) -> str:
    """A16, A17: Back on Track's goals and how their ratings changed (from :func:`goal_results`)."""
    v = values(results)
    return (f"Back on Track: **{v['bot_goals']}** goals for **{v['bot_young_people']}** young people "
            f"({v['bot_min_per_person']} to {v['bot_max_per_person']} each). Goal ratings "
            f"{_moved(v['bot_mean_change'], ' points')} on average; {v['bot_reliable_improvement_pct']:.0f}% of goals "
            f"improved reliably ({threshold:g} points or more).")


def attendance_text(results: pd.DataFrame) -> str:
    """A18: school attendance in the term of referral and the term support ended (from :func:`attendance_results`)."""
    v = values(results)
    return (f"Education data for **{v['young_people']}** young people. Attendance {v['attendance_referral_pct']:.1f}% "
            f"in the term of referral and {v['attendance_end_pct']:.1f}% in the term support ended.")


def exclusions_text(results: pd.DataFrame) -> str:
    """A19: suspensions in the year before or during support and in the year after (from :func:`exclusion_results`)."""
    v = values(results)
    return (f"{v['suspended_before_during']} of {v['young_people']} young people had {v['suspensions_before_during']} "
            f"suspensions in the year before or during support; {v['suspended_after']} had any in the year after.")


def episodes_by_programme(interventions: pd.DataFrame) -> pd.DataFrame:
    """Episodes and young people per programme (counts)."""
    g = interventions.groupby("programme")
    return pd.DataFrame({"episodes": g["episode_id"].size(), "young_people": g["person_id"].nunique()}
                        ).reset_index()


def data_summary(interventions: pd.DataFrame) -> str:
    """One sentence on the episodes in the data and the dates they span."""
    first = min(pd.to_datetime(interventions[c]).min() for c in INTERVENTION_DATES)
    last = last_date(interventions, INTERVENTION_DATES)
    return (f"{len(interventions):,} support episodes for {interventions['person_id'].nunique():,} young people "
            f"in {interventions['programme'].nunique()} programmes; dates from {first:%d %B %Y} to {last:%d %B %Y}.")


#: Figures and published tables of the notebook, each with the section that writes it.
OUTPUTS = {
    "targeted_episodes_by_programme.csv": "targeted.data", "targeted_bot_referrals.csv": "targeted.bot_later",
    "targeted_bot_ages.csv": "targeted.bot_later", "targeted_bot_support_length.csv": "targeted.bot_later",
    "targeted_bot_referrals.svg": "targeted.bot_later", "targeted_sdq_paired_change.csv": "targeted.sdq",
    "targeted_sdq_band_share.csv": "targeted.sdq", "targeted_sdq_band_movement.csv": "targeted.sdq",
    "targeted_sdq_bands.svg": "targeted.sdq", "targeted_goal_change_by_domain.csv": "targeted.goals",
    "targeted_goal_change_by_domain.svg": "targeted.goals", "targeted_goals_by_domain.csv": "targeted.goals_domains",
    "targeted_bot_exclusions_windows.csv": "targeted.exclusions", "targeted_bot_education.svg": "targeted.education_figure",
}


def check_outputs(results: dict, skipped: dict, outputs) -> None:
    """The notebook's final checks.

    Every interval holds its estimate; every skipped section names its reason; every figure and
    table of :data:`OUTPUTS` was written unless its section was skipped, and none was written
    when it was.
    """
    for k, e in results.items():
        v, lo, hi = e.get("value"), e.get("lower"), e.get("upper")
        if lo is not None and hi is not None and v is not None and np.isfinite(v):
            assert lo - 1e-9 <= v <= hi + 1e-9, f"{k}: interval [{lo}, {hi}] does not contain {v}"
    for k, s in skipped.items():
        assert s.get("reason"), f"section {k} was skipped without a reason"
    written = {p.name for p in outputs}
    for name, section in OUTPUTS.items():
        if section in skipped:
            assert name not in written, f"{name} written by section {section}, which was skipped"
        else:
            assert name in written, f"{name} not written (section {section} was computed)"


_DEC2 = dict.fromkeys(("mean_before", "mean_after", "mean_change", "change_lower", "change_upper", "hedges_g",
                       "g_lower", "g_upper"), 2)
#: How each published table goes through disclosure control (``ch.publish(df, name, **PUBLISH[name])``):
#: count columns, columns derived from counts, decimals, identifying columns and the totals
#: relations each table's function states in its docstring.
PUBLISH = {
    "targeted_episodes_by_programme": dict(counts=["episodes", "young_people"], id_cols=["programme"]),
    "targeted_bot_referrals": dict(counts=["girls", "boys", "total"], id_cols=["school_year"],
                                   totals={"columns": {"total": ["girls", "boys"]}, "row": ("school_year", TOTAL)}),
    "targeted_bot_ages": dict(counts=["girls", "boys", "total"], id_cols=["age_at_referral"],
                              totals={"columns": {"total": ["girls", "boys"]}, "row": ("age_at_referral", TOTAL)}),
    "targeted_bot_support_length": dict(counts=["episodes"], id_cols=["length"], totals={"row": ("length", TOTAL)}),
    "targeted_sdq_paired_change": dict(
        counts=["n", "n_decreased", "n_same", "n_increased"],
        statistics={k: "n" for k in (*_DEC2, "t_p", "wilcoxon_p")},
        decimals={**_DEC2, "t_p": 3, "wilcoxon_p": 3}, id_cols=["label"],
        totals={"columns": {"n": ["n_decreased", "n_same", "n_increased"]}}),
    "targeted_sdq_band_share": dict(
        counts=["n", "n_band"], derived={k: ["n_band"] for k in ("pct", "pct_lower", "pct_upper", "in_20")},
        decimals={"pct": 1, "pct_lower": 1, "pct_upper": 1, "in_20": 1}, id_cols=["label", "when"]),
    "targeted_sdq_band_movement": dict(counts=["n", "moved_down", "same_band", "moved_up"], id_cols=["scale", "label"],
                                       totals={"columns": {"n": ["moved_down", "same_band", "moved_up"]}}),
    "targeted_goals_by_domain": dict(counts=["goals"], id_cols=["domain"]),
    "targeted_goal_change_by_domain": dict(
        counts=["n", "reliable_improvement"], statistics={"mean_change": "n", "lower": "n", "upper": "n"},
        decimals={"mean_change": 2, "lower": 2, "upper": 2}, id_cols=["domain"], totals={"row": ("domain", ALL_GOALS)}),
    "targeted_bot_exclusions_windows": dict(
        counts=["young_people", "suspended", "suspensions", "permanent"],
        # person-time and rates are statistics of the group of young people: pupil-years of a window
        # of one year are at most one per young person, so they would bound a suppressed group size
        statistics={"pupil_years": "young_people",
                    **{k: ["young_people", "suspensions"] for k in ("rate_per_pupil_year", "rate_lower", "rate_upper")}},
        decimals={"pupil_years": 1, "rate_per_pupil_year": 2, "rate_lower": 2, "rate_upper": 2}, id_cols=["window"]),
}


def definitions(name: str, table: pd.DataFrame) -> list[dict]:
    """The relations that follow from what the cells of table ``name`` mean, for
    ``ch.publish(..., definitions=...)`` (:func:`rrlib.disclosure.apply`): a subset is capped by
    its whole (``n_band <= n``, ``reliable_improvement <= n``), and a band movement ties the
    band-movement table to the tables published before it in the section: per scale, those in
    the band or above after are at least those before minus those who moved down a band and at
    most those before plus those who moved up; nobody moves down a band without a lower score
    (``moved_down <= n_decreased``, ``moved_up <= n_increased``) and nobody with the same score
    changes band (``n_same <= same_band``)."""
    if name == "targeted_sdq_band_share":
        return disclosure.capped(table, ["label", "when"], "n_band", "n")
    if name == "targeted_goal_change_by_domain":
        return disclosure.capped(table, ["domain"], "reliable_improvement", "n")
    if name != "targeted_sdq_band_movement":
        return []
    out = []
    share, change = "targeted_sdq_band_share", "targeted_sdq_paired_change"
    for _, r in table.iterrows():
        own = {"scale": str(r["scale"]), "label": str(r["label"])}

        def term(column, coef, table=None, **key):
            return {"column": column, "coef": coef, "key": key or own, **({"table": table} if table else {})}
        before = dict(label=str(r["label"]), when="before")
        after = dict(label=str(r["label"]), when="after")
        why = "band movement: those in the band after = before - left + entered"
        out += [{"terms": [term("n_band", 1, share, **after), term("n_band", -1, share, **before),
                           term("moved_up", -1)], "rhs": 0.0, "why": why},
                {"terms": [term("n_band", 1, share, **before), term("n_band", -1, share, **after),
                           term("moved_down", -1)], "rhs": 0.0, "why": why}]
        lab = dict(label=str(r["label"]))
        out += [{"terms": [term("moved_down", 1), term("n_decreased", -1, change, **lab)], "rhs": 0.0,
                 "why": "a lower band needs a lower score"},
                {"terms": [term("moved_up", 1), term("n_increased", -1, change, **lab)], "rhs": 0.0,
                 "why": "a higher band needs a higher score"},
                {"terms": [term("n_same", 1, change, **lab), term("same_band", -1)], "rhs": 0.0,
                 "why": "the same score is the same band"}]
    return out


def score_bounds(change: pd.DataFrame, band_from: str = "high") -> list[dict]:
    """Relations from bounded scores between the paired-change table (:func:`sdq_paired_change_table`,
    its means published to 2 decimals) and the band shares published before it
    (``targeted_sdq_band_share``): per scale and time, the ``n_band`` young people in the band or
    above score at least the band's lowest score ``c`` and nobody scores above the scale's maximum
    ``M``, so with the sum of scores ``S = n x mean`` (the published mean +- 0.005):
    ``c n_band <= S`` and ``S <= M n_band + (c - 1)(n - n_band)``. Each names its mean
    (``statistic``): where the bound would narrow a suppressed band share, the mean is withheld
    (:func:`rrlib.disclosure.apply`), and the record keeps no bound of a withheld mean."""
    lvl = BAND_ORDER.index(band_from)
    scale_of = {v: k for k, v in SDQ_LABELS.items()}
    out = []
    if lvl == 0:
        return out
    num = change.assign(**{c: pd.to_numeric(change[c], errors="coerce")  # a table as published reads too
                           for c in ("n", "mean_before", "mean_after")})
    for _, r in num.iterrows():
        k = scale_of.get(str(r["label"]))
        if k not in sdq.BANDS or pd.isna(r["n"]):
            continue
        n, c, M = float(r["n"]), sdq.BANDS[k][lvl - 1] + 1, SDQ_MAX[k]
        for when in ("before", "after"):
            if pd.isna(r[f"mean_{when}"]):
                continue
            m = round(float(r[f"mean_{when}"]), 2)  # as published
            hi, lo = round(n * (m + 0.005), 6), round(n * (m - 0.005), 6)
            cell = {"table": "targeted_sdq_band_share", "key": {"label": str(r["label"]), "when": when},
                    "column": "n_band"}
            stat = {"key": {"label": str(r["label"])}, "column": f"mean_{when}"}
            out += [{"terms": [{**cell, "coef": float(c)}], "rhs": hi, "statistic": stat,
                     "why": f"bounded scores: those in the band score at least {c}"},
                    {"terms": [{**cell, "coef": -float(M - c + 1)}], "rhs": round((c - 1) * n - lo, 6),
                     "statistic": stat, "why": f"bounded scores: no score above {M}"}]
    return out


def publish_args(name: str, table: pd.DataFrame, band_from: str = "high") -> dict:
    """``ch.publish(table, name, **publish_args(name, table))``: :data:`PUBLISH` with the table's
    :func:`definitions` (and, for the paired changes, :func:`score_bounds`)."""
    defs = definitions(name, table)
    if name == "targeted_sdq_paired_change":
        defs += score_bounds(table, band_from)
    return {**PUBLISH[name], "definitions": defs}


def sdq_paired_change_table(pairs: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """The published columns of :func:`sdq_change_table` (p-values to 3 decimals)."""
    return sdq_change_table(pairs, confidence=confidence)[
        ["label", "n", "mean_before", "mean_after", "mean_change", "change_lower", "change_upper", "t_p",
         "wilcoxon_p", "hedges_g", "g_lower", "g_upper", "n_decreased", "n_same", "n_increased"]
    ].round({"t_p": 3, "wilcoxon_p": 3})


def sdq_band_share_table(pairs: pd.DataFrame, band_from: str = "high", confidence: float = 0.95) -> pd.DataFrame:
    """The published columns of :func:`sdq_band_share`."""
    return sdq_band_share(pairs, band_from=band_from, confidence=confidence)[
        ["label", "when", "n", "n_band", "pct", "pct_lower", "pct_upper", "in_20"]]


# --------------------------------------------------------------------------- plots

def _source(fig, text: str = SOURCE):
    source_note(fig, text)


def published_table(tables_dir, name: str, written: Iterable | None = None) -> pd.DataFrame:
    """A table this run published (as text, symbols kept), for a figure drawn from it; raises
    :class:`NotComputed` when the section that publishes it did not run (``written``: the chapter's
    outputs so far, so that a table left by an earlier run is never read)."""
    f = Path(tables_dir) / f"{name}.csv"
    if not f.exists() or (written is not None and f not in {Path(w) for w in written}):
        raise NotComputed(f"the table {name} was not published in this run (its section was not computed)")
    return pd.read_csv(f, dtype=str, keep_default_na=False)


def referrals_figure(published: pd.DataFrame) -> FigureData:
    """What Figure 5.1 draws: young people referred per school year, the ``total`` column of the
    published ``targeted_bot_referrals`` (the girls/boys split, whose cells may be suppressed, is not
    drawn; a suppressed total is not drawn either)."""
    return from_table(published, "targeted_bot_referrals", x="school_year", y="total", kind="count",
                      series_label="young people referred", key=("school_year",),
                      rows=published["school_year"] != TOTAL)


def plot_referrals(data: pd.DataFrame, title: str = "Back on Track: young people referred, by school year"):
    """Bars of young people referred by school year, from the published figure data
    (:func:`referrals_figure`; a suppressed year is marked ``c``, not drawn)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.bar(data["x"], data["y"].fillna(0), color="#7b3294", label="young people referred")
    for x, y in zip(data["x"], data["y"]):
        if pd.isna(y):
            ax.text(x, 0, "c", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("young people referred")
    ax.set_xlabel("school year of referral (September to August)")
    ax.set_title(title)
    _source(fig)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def sdq_figure(published: pd.DataFrame) -> FigureData:
    """What Figure 5.2 draws: per scale, the share of young people in the band or above before and
    after, with its Wilson interval, from the published ``targeted_sdq_band_share`` (groups, never
    one mark per young person; a suppressed share is not drawn)."""
    return from_table(published, "targeted_sdq_band_share", x="when", series="label", y="pct",
                      lower="pct_lower", upper="pct_upper", n="n", kind="statistic")


def plot_sdq_bands(data: pd.DataFrame, band_from: str = "high",
                   title: str = "SDQ self-report before and after Back on Track"):
    """One panel per scale: the share in the ``band_from`` band or above before and after, with
    95% Wilson intervals, from the published figure data (:func:`sdq_figure`)."""
    import matplotlib.pyplot as plt

    labels = list(pd.unique(data["series"]))
    fig, axes = plt.subplots(1, len(labels), figsize=(2.0 * len(labels) + 1, 3.8), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, lab in zip(axes, labels):
        d = data[data["series"] == lab].set_index("x").reindex(["before", "after"])
        y = d["y"].to_numpy(float)
        err = np.vstack([y - d["lower"].to_numpy(float), d["upper"].to_numpy(float) - y])
        ax.bar([0, 1], np.nan_to_num(y), color=["#abd9e9", "#2c7bb6"])
        ax.errorbar([0, 1], y, yerr=err, fmt="none", color="black", capsize=3)
        for xi, yi in zip([0, 1], y):
            if np.isnan(yi):
                ax.text(xi, 1, "c", ha="center", va="bottom", fontsize=8)
        n = d["n"].dropna()
        if len(n):
            ax.text(0.5, 0.98, f"n = {int(n.iloc[0])}", transform=ax.transAxes, ha="center", va="top", fontsize=7)
        ax.set_xticks([0, 1], ["before", "after"])
        ax.set_ylim(0, 100)
        ax.set_title(str(lab).replace(" (behaviour)", ""), fontsize=8)
    axes[0].set_ylabel(f"% in the {band_from} band or above (95% CI)")
    fig.suptitle(title, fontsize=10)
    _source(fig)
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    return fig


def goal_figure(published: pd.DataFrame) -> FigureData:
    """What the goals figure draws: the published ``targeted_goal_change_by_domain`` (mean change
    and interval per section, and the All goals row); withheld statistics are not drawn."""
    return from_table(published, "targeted_goal_change_by_domain", x="domain", y="mean_change",
                      series_label="mean change", lower="lower", upper="upper", n="n", key=("domain",))


def education_figure(att: pd.DataFrame, published_windows: pd.DataFrame) -> FigureData:
    """What the education figure draws: pooled attendance in the term of referral and of the end of
    support (a statistic of the group of young people; no line per young person) and suspensions
    per pupil-year from the published ``targeted_bot_exclusions_windows``."""
    pooled = att[att["episode_id"] == "pooled"]
    a = FigureData(pd.DataFrame({"series": "attendance", "x": pooled["when"].astype(str).to_numpy(),
                                 "y": pooled["attendance_pct"].map(repr).to_numpy(), "lower": "", "upper": "",
                                 "n": pooled["n_young_people"].map(str).to_numpy()}), kind="statistic")
    b = from_table(published_windows, "targeted_bot_exclusions_windows", x="window", y="rate_per_pupil_year",
                   series_label="suspensions per pupil-year", lower="rate_lower", upper="rate_upper",
                   n="young_people", key=("window",))
    return combine(a, b)


def plot_goal_change(data: pd.DataFrame, title: str = "Back on Track goals: change by Resilience Framework section",
                     threshold: float = gbo.RELIABLE_CHANGE):
    """Mean change (points, 0-10 scale) per Resilience Framework section with its interval, from
    the published figure data (:func:`goal_figure`): a section whose statistics are withheld
    (a group under the rule's minimum) is listed without a point; the All goals row is the dashed
    line; dotted line at the reliable-change ``threshold`` (default
    :data:`rrlib.instruments.gbo.RELIABLE_CHANGE`; pass the one the tables used).
    """
    import matplotlib.pyplot as plt

    threshold = _check_threshold(threshold)
    d = data[(data["x"] != ALL_GOALS) & (data["n"].fillna(1) > 0)].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    y = np.arange(len(d))
    ax.errorbar(d["y"], y, xerr=np.nan_to_num([d["y"] - d["lower"], d["upper"] - d["y"]]),
                fmt="o", color="#2c7bb6", capsize=3)
    ax.set_yticks(y, [f"{r.x} (n={'c' if pd.isna(r.n) else int(r.n)})" + (" withheld" if pd.isna(r.y) else "")
                      for r in d.itertuples()])
    overall = data[data["x"] == ALL_GOALS]
    if len(overall) and pd.notna(overall["y"].iloc[0]):
        ax.axvline(float(overall["y"].iloc[0]), color="0.4", ls="--", lw=1, label="all goals")
        ax.legend(frameon=False, loc="lower right")
    ax.axvline(threshold, color="#d7191c", ls=":", lw=1)
    ax.text(threshold + 0.05, -0.45, f"reliable change ({threshold:g})", color="#d7191c", fontsize=7,
            va="center")
    ax.set_ylim(-0.7, len(d) - 0.5)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("mean change in goal rating (points; 95% CI, Student's t)")
    ax.set_title(title)
    _source(fig)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def plot_education(data: pd.DataFrame, title: str = "Back on Track: school attendance and suspensions"):
    """Left: pooled attendance in the term of referral and of the end of support (sessions, all
    young people together). Right: suspensions per pupil-year before, during and after support
    with exact/Byars intervals. From the published figure data (:func:`education_figure`)."""
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8.5, 3.8))
    att = data[data["series"] == "attendance"].set_index("x").reindex(["referral", "end"])
    a1.plot([0, 1], att["y"].to_numpy(float), color="black", lw=2.2, marker="o", label="pooled (sessions)")
    a1.legend(frameon=False, loc="lower left")
    a1.set_xticks([0, 1], ["term of referral", "term support ended"])
    a1.set_xlim(-0.3, 1.3)
    a1.set_ylabel("attendance (% of possible sessions)")
    a1.set_title("Attendance", fontsize=9)
    xs = data[data["series"] != "attendance"].reset_index(drop=True)
    x = np.arange(len(xs))
    a2.bar(x, xs["y"].fillna(0), color="#fdae61")
    err = np.vstack([xs["y"] - xs["lower"], xs["upper"] - xs["y"]])
    a2.errorbar(x, xs["y"], yerr=np.nan_to_num(err), fmt="none", color="black", capsize=3)
    a2.set_xticks(x, [str(w) + (" (c)" if pd.isna(v) else "") for w, v in zip(xs["x"], xs["y"])])
    a2.set_ylabel("suspensions per pupil-year")
    a2.set_title("Suspensions (95% CI)", fontsize=9)
    fig.suptitle(title, fontsize=10)
    _source(fig)
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    return fig
