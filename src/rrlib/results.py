"""Machine-readable results of a chapter: ``<out>/results/<chapter>.json``.

Every headline number a chapter reports is recorded here under a stable dotted key
(``reach.opportunities.young_people``). The claims checker, the report and the tests
read these files, never the notebooks' text.

File format (canonical JSON, sorted keys)::

    {
      "chapter": "reach",
      "data": {"folder": "synthetic", "synthetic": true, "seed": 20160901, "scale": 1.0,
               "tables": ["pupils", "schools"]},
      "results": {
        "reach.opportunities.young_people": {"value": 76783, "unit": "count"},
        "reach.coverage.share": {"value": 0.61, "lower": 0.6, "upper": 0.62,
                                  "unit": "proportion", "method": "Wilson score"}
      }
    }
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .io import plain, write_json

KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


#: The ``data.folder`` of a chapter that reads no data folder, only the shipped official statistics
#: (:meth:`rrlib.chapter.Chapter.banner` with ``official_only``).
OFFICIAL_FOLDER = "official statistics"


def official_only(doc: dict) -> bool:
    """Whether a results document (as :func:`load` reads it) is of a chapter of official statistics only."""
    return (doc.get("data") or {}).get("folder") == OFFICIAL_FOLDER


#: The columns of a results frame, in order: what :meth:`Results.record_frame` records. The estimate is
#: ``value`` in every chapter (``estimate`` is still accepted by ``record_frame`` for older code).
RESULT_COLUMNS = ("key", "value", "lower", "upper", "unit", "method", "n", "note")


def row(key: str, value, *, lower=None, upper=None, unit=None, method=None, n=None, note=None) -> dict:
    """One results row (a headline number) for :func:`frame`; ``n`` is kept a whole number."""
    return {"key": key, "value": value, "lower": lower, "upper": upper, "unit": unit, "method": method,
            "n": None if n is None else int(n), "note": note}


def frame(rows: list[dict]) -> pd.DataFrame:
    """A tidy results frame (:data:`RESULT_COLUMNS`) from row dicts (:func:`row`, or dicts with those keys).

    ``value`` and ``n`` are object columns, so counts stay whole numbers in the results file (a float
    column would record 4789 as 4789.0); ``lower`` and ``upper`` are numbers (missing: NaN).
    """
    out = pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype=object) for c in RESULT_COLUMNS},
                       columns=list(RESULT_COLUMNS))
    for c in ("lower", "upper"):
        out[c] = pd.to_numeric(out[c], errors="coerce")
    return out


def values(results: pd.DataFrame, prefix: str = "") -> pd.Series:
    """A results frame's values by key (``prefix`` taken off the keys that start with it), for the
    chapters' sentences (``*_text``)."""
    v = results.set_index("key")["value"]
    return v.rename(lambda k: k[len(prefix):] if k.startswith(prefix) else k) if prefix else v


def key_part(label) -> str:
    """A year, wave or financial-year label as a part of a results key: ``"2019/20"`` -> ``"2019_20"``.

    The one slug of the compendium (a key part is lower-case letters, digits and ``_``); chapters prefix
    it as they need (``"fy" + key_part("2018/19")``, ``f"y{key_part(year)}"``).
    """
    return str(label).replace("/", "_")


@dataclass
class Results:
    """Collects a chapter's headline numbers; :meth:`save` writes them."""

    chapter: str
    path: Path
    data: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    #: sections that could not be computed on this data: ``{section key: {"reason", "covers"}}``
    skipped: dict = field(default_factory=dict)

    def record(self, key: str, value: Any, *, lower: Any = None, upper: Any = None,
               unit: str | None = None, method: str | None = None, n: Any = None,
               note: str | None = None) -> Any:
        """Record one number (or a short list / string) under ``key``; returns ``value``.

        ``key`` must start with the chapter's name and be dotted lower-case
        (``reach.opportunities.young_people``). Recording a key twice replaces it.
        """
        if not KEY_RE.match(key) or not key.startswith(self.chapter + "."):
            raise ValueError(
                f"results key {key!r} must be dotted lower-case and start with '{self.chapter}.'")
        entry = {"value": plain(value)}
        for name, v in (("lower", lower), ("upper", upper), ("unit", unit), ("method", method),
                        ("n", n), ("note", note)):
            if v is not None:
                entry[name] = plain(v)
        self.results[key] = entry
        return value

    def record_frame(self, frame) -> int:
        """Record every row of a tidy results frame; returns the number of rows recorded.

        ``frame`` has a ``key`` column and a ``value`` (or ``estimate``) column, and optionally
        ``lower``, ``upper``, ``unit``, ``method``, ``n`` and ``note``; missing values (NaN, None)
        in the optional columns are left out of the entry. Chapter functions return such frames
        so that a notebook records a whole section with one call.
        """

        if "value" not in frame.columns and "estimate" in frame.columns:
            frame = frame.rename(columns={"estimate": "value"})
        missing = {"key", "value"} - set(frame.columns)
        if missing:
            raise ValueError(f"record_frame: the frame has no column(s) {sorted(missing)}")
        optional = [c for c in ("lower", "upper", "unit", "method", "n", "note") if c in frame.columns]
        for row in frame[["key", "value", *optional]].itertuples(index=False):
            kw = {}
            for name, v in zip(optional, row[2:]):
                if v is None or (not isinstance(v, (str, bool)) and pd.isna(v)):
                    continue
                if name == "n" and isinstance(v, float) and v.is_integer():
                    v = int(v)  # a count column with gaps is float in pandas; a count is recorded whole
                kw[name] = v
            self.record(row[0], row[1], **kw)
        return len(frame)

    def skip(self, section: str, reason: str, covers: list[str] | None = None,
             recorded_before: set | None = None) -> None:
        """Mark ``section`` as not computed, with ``reason``; drop anything it recorded.

        ``covers`` lists the dotted key prefixes whose results the section would have recorded
        (default: the section key itself); the claims report shows claims under them as
        *not computed* with this reason.
        """
        covers = list(covers or [section])
        for c in covers:
            if not KEY_RE.match(c) or not c.startswith(self.chapter + "."):
                raise ValueError(f"section key {c!r} must be dotted lower-case and start with '{self.chapter}.'")
        if recorded_before is not None:
            for k in [k for k in self.results if k not in recorded_before]:
                del self.results[k]
        self.skipped[section] = {"reason": str(reason), "covers": covers}

    def get(self, key: str) -> Any:
        return self.results[key]["value"]

    def save(self) -> Path:
        doc = {"chapter": self.chapter, "data": self.data, "results": self.results}
        if self.skipped:
            doc["skipped"] = self.skipped
        return write_json(self.path, doc)


def skip_reason(key: str, skipped: dict[str, dict]) -> str | None:
    """The reason a results ``key`` was not computed: the skipped section covering it (longest prefix)."""
    best, reason = -1, None
    for section, s in skipped.items():
        for prefix in s.get("covers") or [section]:
            if (key == prefix or key.startswith(prefix + ".")) and len(prefix) > best:
                best, reason = len(prefix), f"{section}: {s.get('reason')}"
    return reason


def load(path: str | Path) -> dict:
    """Read a results file written by :meth:`Results.save`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_skipped(results_dir: str | Path) -> dict[str, dict]:
    """Every skipped section of a run, merged: ``{section key: {"reason", "covers"}}``."""
    merged: dict[str, dict] = {}
    for f in sorted(Path(results_dir).glob("*.json")):
        merged.update(load(f).get("skipped") or {})
    return merged


def load_all(results_dir: str | Path) -> dict[str, dict]:
    """All results entries of a run, merged: ``{dotted key: entry}``."""
    merged: dict[str, dict] = {}
    for f in sorted(Path(results_dir).glob("*.json")):
        merged.update(load(f)["results"])
    return merged
