"""``prepare``: validated raw tables -> cleaned and scored Parquet tables in ``processed_dir``.

The run is all-or-nothing. Everything is computed in memory and written to a temporary folder
beside ``processed_dir`` first; only when every table is written are the files moved into
``processed_dir`` (each by an atomic rename), the stamp last. A failure at any point before
leaves ``processed_dir`` exactly as it was. Raw files are only read.

The stamp ``processed_dir/.prepared.json`` names the data folder, whether it is synthetic,
the MANIFEST's sha256 sums, the sha256 of every raw file read and of every table written.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import __version__, manifest
from ..io import dumps, sha256_file
from .table import domain_modules
from .validate import DataValidationError, KeyColumns, Problem, find_file, iter_validate, selected

STAMP_NAME = ".prepared.json"


def domain_outputs(mod, raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """One domain's processed tables (default: its validated raw tables)."""
    names = [t.name for t in getattr(mod, "TABLES", ())]
    fn = getattr(mod, "prepare", None)
    res = fn(raw) if fn is not None else {n: raw[n] for n in names if n in raw}
    if not isinstance(res, dict):
        raise TypeError(f"{mod.__name__}.prepare must return a dict of DataFrames, got {type(res).__name__}")
    for name, df in res.items():
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"{mod.__name__}.prepare: {name!r} is a {type(df).__name__}, not a DataFrame")
    return res


def _outputs(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each domain's processed tables from every validated raw table at once, in domain order."""
    out: dict[str, pd.DataFrame] = {}
    for mod in domain_modules():
        for name, df in domain_outputs(mod, raw).items():
            if name in out:
                raise ValueError(f"processed table {name!r} is produced twice (again by {mod.__name__})")
            out[name] = df
    return out


def iter_outputs(data_dir: str | Path, *, progress=None):
    """Validate ``data_dir`` and yield ``(table name, processed frame)``, one domain at a time.

    Tables are read and checked one at a time (:func:`~rrlib.data.validate.iter_validate`);
    a domain's raw tables are held only until its last table is checked and its ``prepare``
    has run, and that ``prepare`` sees earlier domains' tables as their referenced key columns
    only (distinct values). Once any problem is found no further domain is prepared, but
    every table is still checked, and :class:`DataValidationError` lists every problem at the
    end. Peak memory is one domain's raw and processed tables, not the whole folder's.
    """
    mods = list(domain_modules())
    specs = selected(None)
    owner = {t.name: i for i, mod in enumerate(mods) for t in getattr(mod, "TABLES", ())}
    last_of = {owner[n]: n for n in specs}  # the last registered table of each domain
    keys = KeyColumns(specs)  # filled by iter_validate: checked tables' referenced key columns
    held: dict[str, pd.DataFrame] = {}
    produced: set[str] = set()
    done: set[int] = set()

    def flush(i):
        done.add(i)
        for name, df in domain_outputs(mods[i], {**keys.frames(exclude=held), **held}).items():
            if name in produced:
                raise ValueError(f"processed table {name!r} is produced twice (again by {mods[i].__name__})")
            produced.add(name)
            yield name, df
        held.clear()

    current, clean = None, True
    for name, df, clean in iter_validate(data_dir, progress=progress, keys=keys):
        i = owner[name]
        if current is not None and i != current:  # the previous domain's last tables are absent
            if clean:
                yield from flush(current)
            held.clear()
        current = i
        held[name] = df
        del df
        if name == last_of[i]:
            if clean:
                yield from flush(i)
            held.clear()
            current = None
    if current is not None:
        yield from flush(current)
    for i in range(len(mods)):  # domains none of whose (optional) tables are present
        if i not in done:
            yield from flush(i)


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
        df = df.reset_index(drop=True)
    df.to_parquet(path, index=False, engine="pyarrow", compression="snappy")


def _check_dirs(data_dir: Path, processed_dir: Path) -> None:
    if processed_dir == data_dir or data_dir in processed_dir.parents:
        raise DataValidationError([Problem(str(processed_dir), "processed folder outside the raw folder",
                                           detail="raw data folders are never written to")], data_dir)


def prepare(data_dir: str | Path, processed_dir: str | Path, *, verify_manifest: bool = True,
            progress: Callable[[str, str, int, float], None] | None = None) -> dict[str, Path]:
    """Validate ``data_dir``, clean and score it, and write Parquet tables to ``processed_dir``.

    Returns ``{table: path}`` of the processed tables. Raises :class:`DataValidationError` (bad
    data) or :class:`rrlib.manifest.ManifestError` (files differ from the MANIFEST) before
    anything is written. ``progress(table, file, rows, seconds)`` is called per raw table read
    and per processed table written.
    """
    data_dir = Path(data_dir).resolve()
    processed_dir = Path(processed_dir).resolve()
    _check_dirs(data_dir, processed_dir)
    has_manifest = (data_dir / manifest.MANIFEST_NAME).exists()
    doc = manifest.verify(data_dir) if (verify_manifest and has_manifest) else manifest.read(data_dir) \
        if has_manifest else {}
    processed_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{processed_dir.name}.tmp-", dir=processed_dir.parent))
    try:
        written = {}
        for name, df in iter_outputs(data_dir, progress=progress):
            t0 = time.perf_counter()
            _write_parquet(df, tmp / f"{name}.parquet")
            written[name] = {"file": f"{name}.parquet", "rows": int(len(df)),
                             "columns": [str(c) for c in df.columns],
                             "sha256": sha256_file(tmp / f"{name}.parquet")}
            if progress is not None:
                progress(name, f"-> {name}.parquet", len(df), time.perf_counter() - t0)
            del df
        # sums the MANIFEST check has just confirmed are not computed again
        verified = (doc.get("files") or {}) if (verify_manifest and has_manifest) else {}
        raw_files = {}
        for t in selected(None):
            f = find_file(data_dir, t)
            if f is not None:
                raw_files[f.name] = verified.get(f.name) or sha256_file(f)
        outputs = list(written)
        stamp = {
            "data_folder": data_dir.name,  # by name and content (sha256 sums), never its path
            "synthetic": doc.get("synthetic") if doc else None,
            "manifest": ({"sha256": sha256_file(data_dir / manifest.MANIFEST_NAME),
                          "generator": doc.get("generator"), "seed": doc.get("seed"),
                          "scale": doc.get("scale"), "files": doc.get("files") or {}}
                         if doc else None),
            "raw_files": raw_files,
            "tables": written,
            "rrlib": __version__,
        }
        (tmp / STAMP_NAME).write_text(dumps(stamp), encoding="utf-8")
        # Move into place: old stamp out first (an interrupted move leaves no stamp, so the
        # folder reads as "not prepared"), then every table, then stale tables, stamp last.
        processed_dir.mkdir(parents=True, exist_ok=True)
        (processed_dir / STAMP_NAME).unlink(missing_ok=True)
        for name in outputs:
            os.replace(tmp / f"{name}.parquet", processed_dir / f"{name}.parquet")
        for old in processed_dir.glob("*.parquet"):
            if old.stem not in outputs:
                old.unlink()
        os.replace(tmp / STAMP_NAME, processed_dir / STAMP_NAME)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {name: processed_dir / f"{name}.parquet" for name in outputs}
