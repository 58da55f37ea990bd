"""Shared checks for instrument scoring: required columns and allowed answers.

Out-of-range answers are never clipped: they raise a ``ValueError`` naming the column, the
rule and the first offending rows (index label and value).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["require_columns", "check_values", "round_half_up_ratio"]

_SHOW = 5


def require_columns(df: pd.DataFrame, columns: Sequence[str], instrument: str) -> None:
    """Raise ``ValueError`` listing any of ``columns`` missing from ``df``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{instrument}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{instrument}: missing column(s) {missing}")


def check_values(df: pd.DataFrame, columns: Iterable[str], allowed: Sequence[float],
                 instrument: str) -> pd.DataFrame:
    """Return ``df[columns]`` as floats after checking every non-missing value is in ``allowed``.

    Missing values (NaN/None/pd.NA) are allowed. Anything else outside ``allowed`` (including
    text and non-integers) raises ``ValueError`` with the column, the rule and the first
    offending rows.
    """
    columns = list(columns)
    allowed_arr = np.asarray(sorted(allowed), dtype=float)
    if columns and all(pd.api.types.is_integer_dtype(df[c]) or pd.api.types.is_float_dtype(df[c])
                       for c in columns):
        # numeric columns (the usual case): one float block, checked at once; the per-column
        # pass below only runs to name the first offending column
        block = np.column_stack([df[c].to_numpy(dtype=float, na_value=np.nan) for c in columns])
        if (np.isnan(block) | np.isin(block, allowed_arr)).all():
            return pd.DataFrame(block, index=df.index, columns=columns)
    out = {}
    for col in columns:
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = (raw.notna() & num.isna()) | (num.notna() & ~num.isin(allowed_arr))
        if bad.any():
            rows = raw[bad].head(_SHOW)
            shown = ", ".join(f"{idx!r}: {val!r}" for idx, val in rows.items())
            lo, hi = allowed_arr.min(), allowed_arr.max()
            raise ValueError(
                f"{instrument}: column {col!r} breaks the rule 'answers are whole numbers "
                f"{lo:g} to {hi:g} or missing': {int(bad.sum())} offending row(s), first "
                f"{min(int(bad.sum()), _SHOW)} (index: value): {shown}")
        out[col] = num.to_numpy()
    return pd.DataFrame(out, index=df.index)


def round_half_up_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Round num/den half up (2.5 -> 3), exactly, for non-negative integer-valued arrays.

    floor(num/den + 1/2) = floor((2 num + den) / (2 den)); NaN where den == 0 or inputs NaN.
    Python's round() rounds half to even and is not used.
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.floor((2 * num + den) / (2 * den))
    return np.where((den > 0) & np.isfinite(num), out, np.nan)
