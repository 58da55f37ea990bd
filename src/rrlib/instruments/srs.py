"""Student Resilience Survey (SRS), HeadStart Wellbeing Measurement Framework version.

Reference: Lereya ST, Humphrey N, Patalay P, Wolpert M, Bohnke JR, Macdougall A, Deighton J
(2016) "The student resilience survey: psychometric validation and associations with mental
health", Child Adolesc Psychiatry Ment Health 10:44 (Table 1 lists the items of each
subscale). Items are rated 1 (never) to 5 (always).

Item counts (``SUBSCALES``): the first six subscales follow Lereya et al. (2016) Table 1
(family, school and community connection 4 items each; participation in home and school
life 4; participation in community life 2; self-esteem 3). For empathy, problem solving,
goals and aspirations and peer support the item counts could not be confirmed from the
sources available when this module was written; the counts used (3, 2, 2, 6) are plausible
choices and must be checked against the WMF codebook before scoring real data. Scoring only
depends on which ``srs_<subscale>_<k>`` columns exist, so changing a count here is enough.

Subscale score = mean of the answered items (range 1-5), reported when at least half of the
subscale's items (rounded up) are answered (``min_answered``), else missing. This minimum is
the compendium's stated rule: the WMF guidance does not publish one.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._common import Answers, require_columns, row_chunks

__all__ = ["SUBSCALES", "items", "score", "min_answered"]

#: subscale -> number of items (see module docstring for which counts are confirmed)
SUBSCALES: dict[str, int] = {
    "family_connection": 4,
    "school_connection": 4,
    "community_connection": 4,
    "participation_home_school": 4,
    "participation_community": 2,
    "peer_support": 6,
    "self_esteem": 3,
    "empathy": 3,
    "problem_solving": 2,
    "goals_aspirations": 2,
}


def items(subscale: str) -> list[str]:
    """Column names of one subscale's items: ``srs_<subscale>_1`` .. ``srs_<subscale>_<k>``."""
    if subscale not in SUBSCALES:
        raise ValueError(f"SRS: unknown subscale {subscale!r}; use one of {list(SUBSCALES)}")
    return [f"srs_{subscale}_{k}" for k in range(1, SUBSCALES[subscale] + 1)]


def min_answered(subscale: str) -> int:
    """Minimum answered items for a subscale score: half the items, rounded up."""
    return math.ceil(SUBSCALES[subscale] / 2)


def score(df: pd.DataFrame, subscales=None, minimum: dict[str, int] | None = None) -> pd.DataFrame:
    """Score SRS subscales as means of answered items (Lereya et al. 2016).

    ``subscales``: which to score (default all ten; their item columns must all exist).
    ``minimum``: optional override of the minimum answered items per subscale.
    Returns ``srs_<subscale>`` columns (floats 1-5 or NaN) with the input's index.
    Raises ``ValueError`` for missing columns or answers outside 1-5.
    """
    subscales = list(SUBSCALES) if subscales is None else list(subscales)
    cols = [c for s in subscales for c in items(s)]
    require_columns(df, cols, "SRS")
    ans = Answers(df).add(cols, (1, 2, 3, 4, 5), "SRS")
    n = len(df)
    out = {f"srs_{s}": np.empty(n) for s in subscales}
    need = {s: max((minimum or {}).get(s, min_answered(s)), 1) for s in subscales}
    for rows in row_chunks(n):  # one block of rows at a time: its arrays stay in cache
        for s in subscales:
            total, answered = ans.sum(items(s), rows)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / answered  # exact integer sum / count: the mean of the answered items
            out[f"srs_{s}"][rows] = np.where(answered >= need[s], mean, np.nan)
    return pd.DataFrame(out, index=df.index, copy=False)
