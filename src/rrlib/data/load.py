"""Loading processed tables (for notebooks and the chapter helpers)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import paths
from .prepare import STAMP_NAME


def _processed_dir(processed_dir) -> Path:
    if processed_dir is None:
        return paths.layout().processed_dir
    return Path(processed_dir)


def stamp(processed_dir: str | Path | None = None) -> dict:
    """The ``.prepared.json`` stamp of a processed folder (``{}`` when it was never prepared)."""
    f = _processed_dir(processed_dir) / STAMP_NAME
    return json.loads(f.read_text(encoding="utf-8")) if f.exists() else {}


def load(table: str, processed_dir: str | Path | None = None) -> pd.DataFrame:
    """One processed table (``<processed_dir>/<table>.parquet``).

    ``processed_dir`` defaults to the run's layout (:func:`rrlib.paths.layout`, which follows
    ``RR_DATA_DIR`` / ``RR_OUT_DIR``).
    """
    d = _processed_dir(processed_dir)
    f = d / f"{table}.parquet"
    if not f.exists():
        have = sorted(p.stem for p in d.glob("*.parquet")) if d.is_dir() else []
        hint = (f"available: {', '.join(have)}" if have else
                "the folder has no processed tables; run `make data` (or `rr prepare`) first")
        raise FileNotFoundError(f"no processed table {table!r} in {d} ({hint})")
    return pd.read_parquet(f)


def load_all(processed_dir: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Every processed table of a folder, by name."""
    d = _processed_dir(processed_dir)
    return {p.stem: pd.read_parquet(p) for p in sorted(d.glob("*.parquet"))}
