"""Short Warwick-Edinburgh Mental Wellbeing Scale (SWEMWBS).

Reference: Stewart-Brown S, Tennant A, Tennant R, Platt S, Parkinson J, Weich S (2009)
Health Qual Life Outcomes 7:15; raw-to-metric (Rasch) conversion table, Warwick Medical
School ("Using SWEMWBS", Warwick Medical School, as in section D of
``shared/reference/published_figures.md``).

Seven items ``swemwbs_1`` .. ``swemwbs_7`` answered 1 (none of the time) to 5 (all of the
time). Raw score = sum (7-35), missing if any item is missing (no prorating); metric score
from the conversion table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import Answers, require_columns, row_chunks

__all__ = ["ITEMS", "METRIC", "score", "to_metric"]

ITEMS = [f"swemwbs_{i}" for i in range(1, 8)]

#: raw score (7-35) -> metric score (Rasch conversion, Warwick Medical School)
METRIC = {
    7: 7.00, 8: 9.51, 9: 11.25, 10: 12.40, 11: 13.33, 12: 14.08, 13: 14.75, 14: 15.32,
    15: 15.84, 16: 16.36, 17: 16.88, 18: 17.43, 19: 17.98, 20: 18.59, 21: 19.25, 22: 19.98,
    23: 20.73, 24: 21.54, 25: 22.35, 26: 23.21, 27: 24.11, 28: 25.03, 29: 26.02, 30: 27.03,
    31: 28.13, 32: 29.31, 33: 30.70, 34: 32.55, 35: 35.00,
}
_TABLE = np.array([METRIC[r] for r in range(7, 36)])


def to_metric(raw) -> np.ndarray:
    """Convert raw SWEMWBS totals (7-35, or NaN) to metric scores by the Warwick table."""
    raw = np.asarray(raw, dtype=float)
    bad = ~np.isnan(raw) & ((raw < 7) | (raw > 35) | (raw % 1 != 0))
    if bad.any():
        raise ValueError(f"SWEMWBS: raw scores must be whole numbers 7-35, got {raw[bad][:5].tolist()}")
    idx = np.where(np.isnan(raw), 0, raw - 7).astype(int)
    return np.where(np.isnan(raw), np.nan, _TABLE[idx])


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Score SWEMWBS: ``swemwbs_raw`` (7-35) and ``swemwbs_metric`` (Stewart-Brown et al. 2009).

    Missing if any of the seven items is missing. Raises ``ValueError`` for missing columns
    or answers outside 1-5.
    """
    require_columns(df, ITEMS, "SWEMWBS")
    ans = Answers(df).add(ITEMS, (1, 2, 3, 4, 5), "SWEMWBS")
    n = len(df)
    raw, metric = np.empty(n), np.empty(n)
    for rows in row_chunks(n):  # one block of rows at a time: its arrays stay in cache
        total, answered = ans.sum(ITEMS, rows)
        raw[rows] = np.where(answered == len(ITEMS), total, np.nan)  # NaN if any item missing
        metric[rows] = to_metric(raw[rows])
    return pd.DataFrame({"swemwbs_raw": raw, "swemwbs_metric": metric}, index=df.index, copy=False)
