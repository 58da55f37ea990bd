"""Result objects and shared argument checks for :mod:`rrlib.stats`.

Confidence levels follow Public Health England's conventions (PHEindicatormethods,
``R/utils.R`` and every ``phe_*`` function): a single level between 0.9 and 1 (or 90 and
100, read as a percentage), or the pair ``(0.95, 0.998)`` for the 95% and 99.8% limits
used on PHE's Fingertips profiles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

__all__ = ["CIResult", "normalise_confidence", "single_confidence", "z_value"]


def normalise_confidence(confidence: float | Sequence[float]) -> tuple[float, ...]:
    """Return confidence level(s) as a tuple of fractions, checked as PHEindicatormethods does.

    Accepts one level in [0.9, 1] or [90, 100] (a percentage), or exactly the pair
    (0.95, 0.998) (PHEindicatormethods: "two confidence levels can only be produced if they
    are specified as 0.95 and 0.998").
    """
    if isinstance(confidence, (int, float, np.integer, np.floating)):
        levels = (float(confidence),)
    else:
        levels = tuple(float(c) for c in confidence)
    if len(levels) == 0 or len(levels) > 2:
        raise ValueError("confidence: give one level, or the pair (0.95, 0.998)")
    scaled = []
    for c in levels:
        if not np.isfinite(c) or c < 0.9 or (1 < c < 90) or c > 100:
            raise ValueError(
                f"confidence level must be between 0.9 and 1 (or 90 and 100), got {c!r}"
            )
        scaled.append(c / 100 if c >= 90 else c)
    if len(scaled) == 2 and not (scaled[0] == 0.95 and scaled[1] == 0.998):
        raise ValueError("two confidence levels can only be (0.95, 0.998)")
    return tuple(scaled)


def single_confidence(confidence: float, what: str = "this method") -> float:
    """One confidence level, checked as :func:`normalise_confidence` does (comparisons, models)."""
    levels = normalise_confidence(confidence)
    if len(levels) != 1:
        raise ValueError(f"{what} takes a single confidence level")
    return levels[0]


def z_value(confidence: float) -> float:
    """Two-sided standard normal critical value: the 100(1 - alpha/2)th percentile."""
    return float(_st.norm.ppf(confidence + (1 - confidence) / 2))


def _out(a: Any, scalar: bool) -> Any:
    a = np.asarray(a)
    if scalar:
        v = a.reshape(-1)[0] if a.size else np.nan
        return v.item() if hasattr(v, "item") else v
    return a


@dataclass(frozen=True)
class CIResult:
    """An estimate with confidence limits, scalar or vectorised.

    ``value``, ``lower`` and ``upper`` are floats when the input was scalar and numpy
    arrays otherwise. ``lower``/``upper`` are the limits at the first requested level;
    ``intervals`` maps every requested level to its ``(lower, upper)`` pair (so with
    ``confidence=(0.95, 0.998)`` both are available, as in PHE outputs).
    ``method`` is the method name (a string, or an array of strings when it varies by
    element, as for rates: "Exact" below 10 events, "Byars" from 10).
    ``extra`` holds supporting columns (numerator, denominator, n, ...).
    """

    value: Any
    lower: Any
    upper: Any
    method: Any
    confidence: tuple[float, ...]
    statistic: str
    intervals: dict[float, tuple[Any, Any]] = field(repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    index: Any = field(default=None, repr=False)

    @classmethod
    def build(cls, value, limits: dict[float, tuple[np.ndarray, np.ndarray]], method,
              confidence: tuple[float, ...], statistic: str, scalar: bool,
              extra: dict[str, Any] | None = None, index=None) -> "CIResult":
        intervals = {c: (_out(lo, scalar), _out(hi, scalar)) for c, (lo, hi) in limits.items()}
        first = intervals[confidence[0]]
        if not isinstance(method, str):
            method = _out(np.asarray(method, dtype=object), scalar)
        ex = {k: _out(v, scalar) for k, v in (extra or {}).items()}
        return cls(value=_out(value, scalar), lower=first[0], upper=first[1], method=method,
                   confidence=confidence, statistic=statistic, intervals=intervals,
                   extra=ex, index=index)

    def at(self, confidence: float) -> tuple[Any, Any]:
        """The (lower, upper) limits at one of the requested levels."""
        c = normalise_confidence(confidence)[0]
        if c not in self.intervals:
            raise KeyError(f"confidence {c} was not requested; have {sorted(self.intervals)}")
        return self.intervals[c]

    def to_frame(self) -> pd.DataFrame:
        """Tidy output: one row per estimate and confidence level.

        Columns: ``estimate``, ``lower``, ``upper``, ``confidence``, ``method``,
        ``statistic`` and the supporting columns of ``extra``.
        """
        value = np.atleast_1d(np.asarray(self.value, dtype=float))
        k = value.shape[0]
        idx = self.index if self.index is not None else pd.RangeIndex(k)
        method = np.broadcast_to(np.atleast_1d(np.asarray(self.method, dtype=object)), (k,))
        frames = []
        for c, (lo, hi) in self.intervals.items():
            f = pd.DataFrame({
                "estimate": value,
                "lower": np.atleast_1d(np.asarray(lo, dtype=float)),
                "upper": np.atleast_1d(np.asarray(hi, dtype=float)),
                "confidence": c,
                "method": method,
                "statistic": self.statistic,
            }, index=idx)
            for name, v in self.extra.items():
                f[name] = np.broadcast_to(np.atleast_1d(np.asarray(v)), (k,))
            frames.append(f)
        return pd.concat(frames) if len(frames) > 1 else frames[0]

    def __iter__(self):
        """Unpack as ``value, lower, upper``."""
        return iter((self.value, self.lower, self.upper))
