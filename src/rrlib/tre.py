"""Running in a trusted research environment (TRE): one disclosure preset for a whole run, and
the counts behind every published table kept (inside the environment) for output checking.

* ``RR_DISCLOSURE_PRESET`` (``make all DISCLOSURE=tre``) names a preset of
  :data:`rrlib.disclosure.PRESETS` that every chapter's ``publish`` uses instead of the preset the
  notebook names (``"tre"``: SACRO/ACRO's minimum cell count of 10). A threshold a notebook passes
  explicitly is kept only when it is stricter.
* :func:`keep_counts` writes the table a chapter handed to ``publish`` (before suppression) to
  ``<out>/private/counts/<name>.csv`` with a small JSON of its count columns. ``make outbox``
  re-checks those counts with ACRO's own rules (:mod:`rrlib.outbox`). The ``private/`` folder is
  never released: it holds unsuppressed counts and stays in the secure environment.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .disclosure import PRESETS
from .io import atomic_write_text, write_json

PRESET_ENV = "RR_DISCLOSURE_PRESET"
PRIVATE = "private"
README = ("Not for release. The counts behind each published table, before disclosure control, kept "
          "inside the secure environment so that `make outbox` can re-check them with ACRO's rules. "
          "Nothing in this folder goes into the outbox.\n")


def run_preset() -> str | None:
    """The preset chosen for the whole run (``RR_DISCLOSURE_PRESET``), or None."""

    name = os.environ.get(PRESET_ENV, "").strip()
    if not name:
        return None
    if name not in PRESETS:
        raise ValueError(f"{PRESET_ENV}={name!r} is not a disclosure preset; use one of {sorted(PRESETS)}")
    return name


def for_run(preset: str | None, kw: dict) -> tuple[str | None, dict]:
    """``(preset, kw)`` for :func:`rrlib.disclosure.publish` in this run: the run's preset when one
    is set (an explicit ``threshold=`` kept only if stricter, ``rounding=`` dropped), else as given."""

    name = run_preset()
    if name is None:
        return preset, kw
    kw = dict(kw)
    if kw.get("threshold") is not None:
        kw["threshold"] = max(int(kw["threshold"]), PRESETS[name].threshold)
    kw.pop("rounding", None)
    return name, kw


def counts_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / PRIVATE / "counts"


def keep_counts(df: pd.DataFrame, name: str, out_dir: str | Path, kw: dict) -> Path:
    """Write the unsuppressed table ``df`` and its count columns for the outbox's re-check."""
    d = counts_dir(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    readme = d.parent / "README.txt"
    if not readme.exists():
        atomic_write_text(readme, README)
    path = d / f"{name}.csv"
    atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"))
    derived = kw.get("derived") or {}
    write_json(d / f"{name}.json", {
        "table": f"{name}.csv",
        "counts": list(kw.get("counts") or []),
        "derived": {k: ([v] if isinstance(v, str) else list(v)) for k, v in derived.items()},
    })
    return path
