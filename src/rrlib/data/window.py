"""The study window of a data folder: a property of the data, not a constant of the code.

The programme's own records (activities, targeted support episodes, questionnaires, goals and
their ratings, the self-harm support log, schools' ARA and Charter dates) carry dates that must
fall in the study window. Which columns those are is declared per table
(:attr:`rrlib.data.Table.window_dates`). The window itself comes from the folder:

* declared in its ``MANIFEST``::

      window: {start: 2016-09-01, end: 2022-08-31}

  then a date outside it is an error naming the file, the column, the window and the rows;
* or, when the MANIFEST declares none (or there is no MANIFEST), derived from the data: the
  earliest and latest of those dates, which ``rr validate`` reports (and which can then be
  declared).

Census, exclusions, attendance and health extracts are not bound to it: their coverage is
their years (academic or financial), which the chapters' sections check.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import manifest
from .problems import Problem, bad_rows

MANIFEST_KEY = "window"


class WindowError(ValueError):
    """The MANIFEST's ``window`` is not two dates ``start <= end``."""


def _as_date(value, what: str) -> pd.Timestamp:
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return pd.Timestamp(value).normalize()
    try:
        return pd.Timestamp(dt.date.fromisoformat(str(value).strip()))
    except ValueError:
        raise WindowError(f"MANIFEST window {what} {value!r} is not a date YYYY-MM-DD") from None


@dataclass
class StudyWindow:
    """The study window of one folder, and what validation saw of the window columns.

    ``start``/``end`` are None when the folder declares no window (then it is derived:
    :meth:`derived`). ``seen`` = earliest and latest window date of each table checked.
    """

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    seen: dict = field(default_factory=dict)

    @property
    def declared(self) -> bool:
        return self.start is not None

    @classmethod
    def parse(cls, doc) -> "StudyWindow":
        """From a MANIFEST's ``window`` entry (mapping with ``start`` and ``end``) or None."""
        if doc is None:
            return cls()
        if not isinstance(doc, dict) or set(doc) != {"start", "end"}:
            raise WindowError(f"MANIFEST window must be a mapping {{start: YYYY-MM-DD, end: YYYY-MM-DD}}, "
                              f"got {doc!r}")
        start, end = _as_date(doc["start"], "start"), _as_date(doc["end"], "end")
        if end < start:
            raise WindowError(f"MANIFEST window ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})")
        return cls(start, end)

    @classmethod
    def of_folder(cls, data_dir: str | Path) -> "StudyWindow":
        """The window a folder's MANIFEST declares (an undeclared window when it has none)."""
        return cls.parse(manifest.read(data_dir).get(MANIFEST_KEY))

    def text(self) -> str:
        return f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"

    def derived(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """Earliest and latest window date seen over the tables checked (None if none)."""
        if not self.seen:
            return None
        return min(v[0] for v in self.seen.values()), max(v[1] for v in self.seen.values())

    def describe(self) -> str:
        """One line for ``rr validate``: the declared window, or the one derived from the data."""
        span = self.derived()
        if self.declared:
            return f"study window (declared in MANIFEST): {self.text()}"
        if span is None:
            return "study window: not declared in MANIFEST, and no dated programme records to derive it from"
        return (f"study window (derived from the data, not declared): {span[0]:%Y-%m-%d} to "
                f"{span[1]:%Y-%m-%d}; declare it in MANIFEST as "
                f"`window: {{start: {span[0]:%Y-%m-%d}, end: {span[1]:%Y-%m-%d}}}`")

    def problems(self, table, df: pd.DataFrame, fname: str) -> list:
        """The rows of ``table``'s window columns outside the declared window (one problem per
        column), and what was seen (for the derived window)."""
        out = []
        lo = hi = None
        for col in getattr(table, "window_dates", ()):
            if col not in df:
                continue
            d = as_dates(df[col])
            if d.notna().any():
                cmin, cmax = d.min(), d.max()
                lo = cmin if lo is None else min(lo, cmin)
                hi = cmax if hi is None else max(hi, cmax)
            if not self.declared:
                continue
            day = d.dt.normalize()
            bad = (d.notna() & ((day < self.start) | (day > self.end))).to_numpy()
            if bad.any():
                out.append(Problem(
                    fname, "date in the study window", col, bad_rows(bad, df[col]), count=int(bad.sum()),
                    detail=(f"dates outside the study window {self.text()} declared in the folder's "
                            f"MANIFEST (change `window:` there if the extract covers more)")))
        if lo is not None:
            self.seen[table.name] = (lo, hi)
        return out


def as_dates(s: pd.Series) -> pd.Series:
    """A date column, or a date-time text column (``YYYY-MM-DD HH:MM``) as timestamps."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    parsed = pd.to_datetime(pd.Series(uniq, dtype=object).astype(str), errors="coerce").to_numpy()
    out = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[ns]")
    has = codes >= 0
    out[has] = parsed[codes[has]]
    return pd.Series(out, index=s.index)
