"""Goal Based Outcomes (GBO).

Reference: Law D, Jacob J (2015) *Goals and Goal Based Outcomes (GBOs): some useful
information*, 3rd edn, CAMHS Press; Edbrooke-Childs J, Jacob J, Law D, Deighton J, Wolpert M
(2015) "Interpreting standardized and idiographic outcome measures in CAMHS", Child Adolesc
Ment Health 20:142-8 (reliable change on a goal: a change of at least 2.45 points).

Each goal is rated 0-10 (10 = goal reached) at several dates. Change = last rating minus
first rating; reliable improvement when change >= threshold (2.45), reliable deterioration
when change <= -threshold. A goal rated only once has no change (missing).

Input (long): one row per rating with columns ``person_id``, ``goal_id``, ``rating_date``,
``rating`` (0-10) and optionally ``domain``. Goals are identified by (person_id, goal_id).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import check_values, require_columns

__all__ = ["RELIABLE_CHANGE", "change", "person_summary"]

RELIABLE_CHANGE = 2.45
_REQUIRED = ["person_id", "goal_id", "rating_date", "rating"]


def _classify(delta: pd.Series, threshold: float) -> pd.Series:
    cat = np.select([delta >= threshold, delta <= -threshold, delta.notna()],
                    ["reliable improvement", "reliable deterioration", "no reliable change"],
                    default=None)
    return pd.Series(pd.Categorical(cat, categories=["reliable improvement", "no reliable change",
                                                     "reliable deterioration"]), index=delta.index)


def change(df: pd.DataFrame, threshold: float = RELIABLE_CHANGE) -> pd.DataFrame:
    """Per-goal first and last ratings, change and reliable change (Edbrooke-Childs et al. 2015).

    Returns one row per (person_id, goal_id) (sorted), with columns ``person_id``,
    ``goal_id``, [``domain``], ``n_ratings``, ``first_date``, ``last_date``, ``first``,
    ``last``, ``change`` (last - first; NaN with a single rating), ``reliable_change``
    (categorical), ``reliable_improvement`` and ``reliable_deterioration`` (booleans, False
    when change is missing). Rows with a missing rating are ignored. Raises ``ValueError``
    for missing columns, ratings outside 0-10 (whole numbers), missing or unparseable dates,
    or two ratings of the same goal on the same date (ambiguous order).
    """
    require_columns(df, _REQUIRED, "GBO")
    if threshold <= 0:
        raise ValueError("GBO: threshold must be positive")
    rating = check_values(df, ["rating"], range(0, 11), "GBO")["rating"]
    dates = pd.to_datetime(df["rating_date"], errors="coerce", format="mixed")
    bad = dates.isna()
    if bad.any():
        rows = df.loc[bad, "rating_date"].head(5)
        raise ValueError("GBO: column 'rating_date' breaks the rule 'a valid date': first rows "
                         + ", ".join(f"{i!r}: {v!r}" for i, v in rows.items()))
    keep = ["person_id", "goal_id"] + (["domain"] if "domain" in df.columns else [])
    d = df[keep].copy()
    d["rating_date"] = dates
    d["rating"] = rating
    d = d[d["rating"].notna()]
    if d[["person_id", "goal_id"]].isna().any().any():
        raise ValueError("GBO: person_id and goal_id must not be missing")
    dup = d.duplicated(["person_id", "goal_id", "rating_date"], keep=False)
    if dup.any():
        rows = d.loc[dup, ["person_id", "goal_id", "rating_date"]].head(5)
        raise ValueError("GBO: rule 'one rating per goal per date' broken (order of ratings is "
                         f"ambiguous); first rows:\n{rows}")
    d = d.sort_values(["person_id", "goal_id", "rating_date"], kind="mergesort")
    g = d.groupby(["person_id", "goal_id"], sort=True)
    agg = {"n_ratings": ("rating", "size"), "first_date": ("rating_date", "first"),
           "last_date": ("rating_date", "last"), "first": ("rating", "first"),
           "last": ("rating", "last")}
    if "domain" in d.columns:
        agg = {"domain": ("domain", "first"), **agg}
    out = g.agg(**agg).reset_index()
    out["change"] = (out["last"] - out["first"]).where(out["n_ratings"] >= 2)
    out["reliable_change"] = _classify(out["change"], threshold)
    out["reliable_improvement"] = (out["change"] >= threshold).fillna(False).astype(bool)
    out["reliable_deterioration"] = (out["change"] <= -threshold).fillna(False).astype(bool)
    return out


def person_summary(goals: pd.DataFrame, threshold: float = RELIABLE_CHANGE) -> pd.DataFrame:
    """Per-person GBO summary from :func:`change` output (or raw ratings, scored first).

    Reference: Law & Jacob (2015); Edbrooke-Childs et al. (2015). Per person, over goals
    with at least two ratings: ``n_goals`` (all goals), ``n_goals_rated_twice``,
    ``mean_first``, ``mean_last``, ``mean_change`` (means of per-goal values),
    ``reliable_change`` on the mean change (same threshold), and counts of goals with
    reliable improvement / deterioration. Indexed by ``person_id``.
    """
    if "change" not in goals.columns:
        goals = change(goals, threshold)
    require_columns(goals, ["person_id", "first", "last", "change"], "GBO person_summary")
    rated = goals["change"].notna()
    g2 = goals[rated].groupby("person_id", sort=True)
    out = pd.DataFrame({
        "n_goals": goals.groupby("person_id", sort=True).size(),
    })
    out["n_goals_rated_twice"] = g2.size().reindex(out.index, fill_value=0)
    out["mean_first"] = g2["first"].mean().reindex(out.index)
    out["mean_last"] = g2["last"].mean().reindex(out.index)
    out["mean_change"] = g2["change"].mean().reindex(out.index)
    out["reliable_change"] = _classify(out["mean_change"], threshold).to_numpy()
    out["n_goals_reliably_improved"] = (goals[rated]["change"] >= threshold).groupby(
        goals.loc[rated, "person_id"]).sum().reindex(out.index, fill_value=0).astype(int)
    out["n_goals_reliably_deteriorated"] = (goals[rated]["change"] <= -threshold).groupby(
        goals.loc[rated, "person_id"]).sum().reindex(out.index, fill_value=0).astype(int)
    return out
