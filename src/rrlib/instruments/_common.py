"""Shared checks for instrument scoring: required columns and allowed answers.

Out-of-range answers are never clipped: they raise a ``ValueError`` naming the column, the
rule and the first offending rows (index label and value).

Answers are checked and read one column and one block of rows at a time (:class:`Answers`,
:func:`row_chunks`), as small integers with a separate "answered" mask: nullable integer
columns (``Int8`` ... ``Int64``) are read from their own data and mask without a float copy,
so scoring a large survey never holds a float copy of its items, and the arrays of a block
stay in the CPU cache (time linear in the rows).
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

__all__ = ["require_columns", "check_values", "Answers", "row_chunks", "CHUNK_ROWS",
           "round_half_up_ratio"]

_SHOW = 5


def require_columns(df: pd.DataFrame, columns: Sequence[str], instrument: str) -> None:
    """Raise ``ValueError`` listing any of ``columns`` missing from ``df``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{instrument}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{instrument}: missing column(s) {missing}")


#: rows scored per block: the arrays of a block stay in the CPU cache, so the time of a
#: score grows linearly with the rows
CHUNK_ROWS = 1 << 15


def row_chunks(n: int, size: int | None = None) -> Iterator[slice]:
    """Slices of at most ``size`` rows (default :data:`CHUNK_ROWS`) covering ``range(n)`` in
    order (one empty slice if n is 0)."""
    size = size or CHUNK_ROWS
    if n == 0:
        yield slice(0, 0)
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _raise(instrument: str, col, raw: pd.Series, bad: np.ndarray, allowed_arr: np.ndarray) -> None:
    rows = raw[bad].head(_SHOW)
    shown = ", ".join(f"{idx!r}: {(val.item() if isinstance(val, np.generic) else val)!r}"
                      for idx, val in rows.items())
    lo, hi = allowed_arr.min(), allowed_arr.max()
    n_bad = int(bad.sum())
    raise ValueError(
        f"{instrument}: column {col!r} breaks the rule 'answers are whole numbers "
        f"{lo:g} to {hi:g} or missing': {n_bad} offending row(s), first "
        f"{min(n_bad, _SHOW)} (index: value): {shown}")


class _Rule:
    __slots__ = ("allowed", "contiguous", "lo", "hi", "whole", "instrument")

    def __init__(self, allowed: Sequence[float], instrument: str):
        self.allowed = np.asarray(sorted(set(allowed)), dtype=float)
        a = self.allowed
        self.whole = bool(len(a)) and all(float(x).is_integer() for x in a)
        self.contiguous = self.whole and np.array_equal(a, np.arange(a[0], a[-1] + 1))
        self.lo, self.hi = (int(a[0]), int(a[-1])) if self.whole else (None, None)
        self.instrument = instrument

    def bad_int(self, data: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        if self.contiguous:  # Python int bounds: compared in the data's own (narrow) type
            bad = (data < self.lo) | (data > self.hi)
        else:
            bad = ~np.isin(data, self.allowed)
        if mask is not None:
            bad &= ~mask
        return bad

    def bad_float(self, num: np.ndarray, nan: np.ndarray) -> np.ndarray:
        if self.contiguous:
            bad = (num < self.lo) | (num > self.hi) | (np.trunc(num) != num)
        else:
            bad = ~np.isin(num, self.allowed)
        return bad & ~nan


class Answers:
    """Questionnaire answers of a frame, checked and read one block of rows at a time.

    ``add(columns, allowed, instrument)`` declares the allowed answers of columns;
    ``read(col, rows)`` returns the answers of a block of rows as integers (0 where missing)
    with a boolean mask of the answered rows, after checking them; ``sum(columns, rows)`` adds
    them up. Nullable integer columns (``Int8`` ... ``Int64``) are read from their own data and
    mask (no float copy); float columns are checked as floats; anything else (text) is coerced
    with ``pd.to_numeric`` once. An answer outside its allowed values, found in any block,
    raises ``ValueError`` naming the first offending column in the order declared, its rule
    and its first offending rows over the whole frame (index label and value). Missing values
    (NaN/None/pd.NA) are allowed.
    """

    def __init__(self, df: pd.DataFrame):
        self.df = df
        self._rules: dict[str, _Rule] = {}
        self._src: dict[str, tuple[bool, np.ndarray, np.ndarray | None]] = {}

    def add(self, columns: Iterable[str], allowed: Sequence[float], instrument: str) -> "Answers":
        rule = _Rule(allowed, instrument)
        for col in columns:
            self._rules[col] = rule
        return self

    def _source(self, col: str) -> tuple[bool, np.ndarray, np.ndarray | None]:
        """(is_float, data over all rows, extra): for integer data ``extra`` is the missing
        mask (or None); for float data, the rows holding text that is not a number (or None)."""
        if col in self._src:
            return self._src[col]
        raw = self.df[col]
        arr = raw.array
        if isinstance(arr, pd.arrays.IntegerArray):
            src = (False, arr._data, arr._mask)
        elif isinstance(raw.dtype, np.dtype) and pd.api.types.is_integer_dtype(raw.dtype):
            src = (False, raw.values, None)
        elif isinstance(raw.dtype, np.dtype) and pd.api.types.is_float_dtype(raw.dtype):
            src = (True, raw.values, None)
        else:  # text, objects, booleans...: coerced once
            num = pd.to_numeric(raw, errors="coerce").astype(float).to_numpy()
            src = (True, num, raw.notna().to_numpy() & np.isnan(num))
        self._src[col] = src
        return src

    def _bad(self, col: str, rows: slice = slice(None)) -> np.ndarray:
        is_float, data, extra = self._source(col)
        rule = self._rules[col]
        d = data[rows]
        if not is_float:
            return rule.bad_int(d, None if extra is None else extra[rows])
        bad = rule.bad_float(d, np.isnan(d))
        return bad if extra is None else bad | extra[rows]

    def check_all(self) -> None:
        """Check every declared column over all rows, in order; raise for the first bad one."""
        for col, rule in self._rules.items():
            bad = self._bad(col)
            if bad.any():
                _raise(rule.instrument, col, self.df[col], bad, rule.allowed)

    def read(self, col: str, rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """Checked answers of ``rows``: (integer values, 0 where missing; answered mask)."""
        rule = self._rules[col]
        if not rule.whole:
            raise ValueError(f"{rule.instrument}: answers of {col!r} are not whole numbers")
        if self._bad(col, rows).any():
            self.check_all()  # raises, naming the first bad column over all rows
        is_float, data, extra = self._source(col)
        d = data[rows]
        if is_float:
            nan = np.isnan(d)
            return np.where(nan, 0, d).astype(np.int64), ~nan
        m = None if extra is None else extra[rows]
        if m is None:
            return d, np.ones(len(d), dtype=bool)
        return np.where(m, 0, d), ~m

    def sum(self, columns: Iterable[str], rows: slice = slice(None),
            recode: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
        """Per row of ``rows``: the sum of the answered values of ``columns`` and how many.

        Both int32 (answers are small whole numbers). ``recode`` maps a column to a function
        applied to its integer values first (e.g. reverse scoring); missing answers count 0.
        """
        total = count = None
        for col in columns:
            v, ans = self.read(col, rows)
            if recode and col in recode:
                v = np.where(ans, recode[col](v.astype(np.int32)), 0)
            if total is None:
                total, count = v.astype(np.int32), ans.astype(np.int32)
            else:
                total += v
                count += ans
        if total is None:
            raise ValueError("Answers.sum: no columns")
        return total, count


def check_values(df: pd.DataFrame, columns: Iterable[str], allowed: Sequence[float],
                 instrument: str) -> pd.DataFrame:
    """Return ``df[columns]`` as floats after checking every non-missing value is in ``allowed``.

    Missing values (NaN/None/pd.NA) are allowed. Anything else outside ``allowed`` (including
    text and non-integers) raises ``ValueError`` with the column, the rule and the first
    offending rows. Checked and converted one column at a time.
    """
    columns = list(columns)
    ans = Answers(df).add(columns, allowed, instrument)
    ans.check_all()
    out = {}
    for col in columns:
        is_float, data, mask = ans._source(col)
        if is_float:
            out[col] = data  # NaN where missing (text was checked above)
        else:
            out[col] = data.astype(float)
            if mask is not None:
                out[col][mask] = np.nan
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
