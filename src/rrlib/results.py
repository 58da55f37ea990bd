"""Machine-readable results of a chapter: ``<out>/results/<chapter>.json``.

Every headline number a chapter reports is recorded here under a stable dotted key
(``reach.opportunities.young_people``). The claims checker, the report and the tests
read these files, never the notebooks' text.

File format (canonical JSON, sorted keys)::

    {
      "chapter": "reach",
      "data": {"folder": "synthetic", "synthetic": true, "manifest_sha256": "..."},
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

from .io import _plain, write_json

KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


@dataclass
class Results:
    """Collects a chapter's headline numbers; :meth:`save` writes them."""

    chapter: str
    path: Path
    data: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)

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
        entry = {"value": _plain(value)}
        for name, v in (("lower", lower), ("upper", upper), ("unit", unit), ("method", method),
                        ("n", n), ("note", note)):
            if v is not None:
                entry[name] = _plain(v)
        self.results[key] = entry
        return value

    def get(self, key: str) -> Any:
        return self.results[key]["value"]

    def save(self) -> Path:
        return write_json(self.path, {"chapter": self.chapter, "data": self.data,
                                      "results": self.results})


def load(path: str | Path) -> dict:
    """Read a results file written by :meth:`Results.save`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_all(results_dir: str | Path) -> dict[str, dict]:
    """All results entries of a run, merged: ``{dotted key: entry}``."""
    merged: dict[str, dict] = {}
    for f in sorted(Path(results_dir).glob("*.json")):
        merged.update(load(f)["results"])
    return merged
