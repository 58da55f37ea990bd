"""Reading and validating raw tables against the data contract.

Every problem is reported with the file, the column, the rule and the first offending rows
(line numbers count the header as line 1), all problems of a run in one
:class:`DataValidationError`. Raw files are only ever opened for reading.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from .. import log
from .problems import MAX_PROBLEMS_SHOWN, MAX_ROWS_SHOWN, DataValidationError, Problem, bad_rows, schema_problems
from .reader import dtype_name, find_file, read_raw, read_table
from .table import Table
from .table import tables as registered_tables
from .window import StudyWindow, WindowError

__all__ = ["DataValidationError", "Problem", "KeyColumns", "MAX_PROBLEMS_SHOWN", "MAX_ROWS_SHOWN", "bad_rows",
           "check", "find_file", "iter_validate", "print_progress", "read_raw", "selected", "validate"]

# The CSV engine (decoding, typing, Arrow and chunked pandas reading) is rrlib.data.reader; problems and
# their messages (pandera failures included) are rrlib.data.problems. This module checks the tables.


_TEXT_DTYPES = ("str", "object", "string", "string[python]")


def _without_text_dtype(schema):
    """``schema`` without pandera's dtype test on text columns.

    pandera tests a ``str`` column cell by cell (``isinstance`` per value: millions of Python
    calls on long tables). Frames checked here come from :func:`_read`, whose text columns
    are by construction object columns holding only ``str`` values or missing values (the
    CSV parser's text), so that test cannot fail; every other rule of the column is kept.
    """
    text = [c for c, col in schema.columns.items() if dtype_name(col) in _TEXT_DTYPES]
    return schema.update_columns({c: {"dtype": None} for c in text}) if text else schema


def _key_problems(t: Table, df: pd.DataFrame, fname: str) -> list[Problem]:
    if not t.key:
        return []
    key = list(t.key)
    if len(key) == 1 and getattr(t.schema.columns.get(key[0]), "unique", False):
        return []  # the schema's own uniqueness rule reports it
    dup = df.duplicated(key, keep=False).to_numpy()
    if not dup.any():
        return []
    idx = np.flatnonzero(dup)
    rows = [(int(i) + 2, tuple(df.iloc[i][key]) if len(key) > 1 else df.iloc[i][key[0]])
            for i in idx[:MAX_ROWS_SHOWN]]
    return [Problem(fname, f"unique key ({', '.join(key)})", ", ".join(key), rows, count=len(idx),
                    detail="duplicate id")]


class KeyColumns:
    """The distinct values of the columns that foreign keys refer to, kept as tables are checked
    one at a time: what the foreign-key checks need, and what a later domain's ``prepare`` is
    given of earlier domains' tables (:func:`rrlib.data.prepare.iter_outputs`)."""

    def __init__(self, specs: dict[str, Table]):
        self.referenced = sorted({(o, oc) for t in specs.values() for _, o, oc in t.foreign_keys})
        self.values: dict[tuple[str, str], pd.Index] = {}

    def add(self, name: str, df: pd.DataFrame) -> None:
        """Keep the referenced columns of table ``name`` (their distinct, non-missing values)."""
        for table, col in self.referenced:
            if table == name and col in df:
                self.values[(table, col)] = pd.Index(pd.unique(df[col].dropna()), name=col)

    def frames(self, exclude=()) -> dict[str, pd.DataFrame]:
        """``{table: frame of its kept key columns}`` for the tables not in ``exclude``."""
        out: dict[str, list[pd.Series]] = {}
        for (table, col), idx in self.values.items():
            if table not in exclude:
                out.setdefault(table, []).append(pd.Series(idx.to_numpy(), name=col))
        return {t: pd.concat(cols, axis=1) for t, cols in out.items()}


def _fk_problems(t: Table, df: pd.DataFrame, fname: str, keys: KeyColumns, files: dict) -> list[Problem]:
    """Foreign keys of ``t`` checked against the referenced columns' distinct values; a
    referenced table that was not checked (``only``, absent) is skipped."""
    problems = []
    for column, other, other_col in t.foreign_keys:
        if (other, other_col) not in keys.values or column not in df:
            continue
        s = df[column]
        bad = (s.notna() & ~s.isin(keys.values[(other, other_col)])).to_numpy()
        if bad.any():
            problems.append(Problem(
                fname, f"foreign key {column} -> {other}.{other_col}", column, bad_rows(bad, s),
                count=int(bad.sum()),
                detail=f"values not found in {files.get(other, other)} column '{other_col}'"))
    return problems


def _absent_reference_problems(t: Table, fname: str, absent: set[str], files: dict) -> list[Problem]:
    """A table present while a table its foreign keys refer to is absent (optional, not there)."""
    return [Problem(fname, f"foreign key {column} -> {other}.{other_col}", column,
                    detail=(f"the folder has no {other} table ({files.get(other, other)}), which {t.name} "
                            f"refers to: add it, or leave {t.name} out as well"))
            for column, other, other_col in t.foreign_keys if other in absent]


def _check_one(data_dir: Path, t: Table) -> tuple[pd.DataFrame | None, list[Problem], str]:
    """Read one table and check it against its own rules (types, schema, unique key)."""
    df, p, fname = read_table(data_dir, t)
    if df is not None:
        bad_cols = {q.column for q in p if q.column}
        check_df, schema = df, _without_text_dtype(t.schema)
        if bad_cols:  # columns that failed to parse are reported once, not again by pandera;
            # table-wide row rules wait until every column parses
            schema = copy.deepcopy(schema.remove_columns([c for c in bad_cols if c in schema.columns]))
            schema.checks = []
            check_df = df.drop(columns=list(bad_cols))
        p += schema_problems(schema, check_df, fname)
        p += _key_problems(t, df, fname)
    return df, p, fname


def selected(only: list[str] | None) -> dict[str, Table]:
    specs = registered_tables()
    if only is not None:
        unknown = [n for n in only if n not in specs]
        if unknown:
            raise KeyError(f"unknown tables {unknown}; registered: {', '.join(specs)}")
        specs = {n: t for n, t in specs.items() if n in only}
    seen: set[str] = set()
    for name, t in specs.items():  # the registry's order must let keys be checked in one pass
        later = [o for _, o, _ in t.foreign_keys if o in specs and o not in seen and o != name]
        if later:
            raise ValueError(f"table {name!r} has a foreign key to {later[0]!r}, registered after it; "
                             "register referenced tables first (rrlib.data.DOMAINS order)")
        seen.add(name)
    return specs


def iter_validate(data_dir: str | Path, *, only: list[str] | None = None,
                  progress: Callable[[str, str, int, float], None] | None = None,
                  keys: KeyColumns | None = None,
                  window=None) -> Iterator[tuple[str, pd.DataFrame, bool]]:
    """Check the tables of ``data_dir`` one at a time, in the registry's order (referenced
    tables first), and yield ``(name, typed frame, clean)`` for each table that could be read;
    ``clean`` is whether no problem at all has been found so far (this table included).

    Only the distinct values of referenced key columns are kept between tables (for the
    foreign keys; in ``keys`` when the caller passes a :class:`KeyColumns` to reuse them), so a
    caller that drops each frame holds one table at a time. After the last table, raises
    :class:`DataValidationError` listing every problem of every table.

    ``window`` is the folder's :class:`~rrlib.data.window.StudyWindow` (default: the one its
    MANIFEST declares); dates of the tables' window columns outside a declared window are
    problems, and the span seen is kept in ``window.seen`` (the derived window).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataValidationError([Problem(str(data_dir), "data folder exists",
                                           detail="no such folder")], data_dir)
    specs = selected(only)
    keys = KeyColumns(specs) if keys is None else keys
    files: dict[str, str] = {}
    problems: list[Problem] = []
    if window is None:
        try:
            window = StudyWindow.of_folder(data_dir)
        except WindowError as exc:
            raise DataValidationError([Problem("MANIFEST", "window", detail=str(exc))], data_dir) from None
    absent: set[str] = set()
    for name, t in specs.items():
        t0 = time.perf_counter()
        df, p, fname = _check_one(data_dir, t)
        files[name] = fname
        if df is None and not p:
            absent.add(name)  # an optional table the folder does not have
        if df is not None:
            p += _absent_reference_problems(t, fname, absent, files)
            p += _fk_problems(t, df, fname, keys, files)
            if not any(q.column in t.window_dates for q in p):  # unparsed dates: reported already
                p += window.problems(t, df, fname)
            keys.add(name, df)  # kept even with problems: still usable for the keys
        problems += p
        if progress is not None:
            progress(name, fname, 0 if df is None else len(df), time.perf_counter() - t0)
        if df is not None:
            yield name, df, not problems
        del df
    if problems:
        raise DataValidationError(problems, data_dir)


def validate(data_dir: str | Path, *, only: list[str] | None = None,
             progress: Callable[[str, str, int, float], None] | None = None,
             window=None) -> dict[str, pd.DataFrame]:
    """Check every registered table of ``data_dir`` and the cross-table foreign keys.

    Returns ``{table name: typed DataFrame}`` (optional tables that are absent are left out).
    Raises :class:`DataValidationError` listing every problem (file, column, rule, first rows).
    ``only`` restricts the check to some tables (their foreign keys to tables outside ``only``
    are not checked). ``progress(table, file, rows, seconds)`` is called after each table.
    Holds every table in memory: :func:`check` does the same checks one table at a time.
    """
    return {name: df for name, df, _ in iter_validate(data_dir, only=only, progress=progress, window=window)}


def check(data_dir: str | Path, *, only: list[str] | None = None,
          progress: Callable[[str, str, int, float], None] | None = None,
          window=None) -> dict[str, int]:
    """:func:`validate` without keeping the tables: ``{table name: rows}``.

    Memory is one table (plus the referenced key columns' distinct values), whatever the
    number of tables: what ``rr validate`` runs on national extracts.
    """
    return {name: len(df) for name, df, _ in iter_validate(data_dir, only=only, progress=progress,
                                                           window=window)}


# --------------------------------------------------------------------------- command line

def print_progress(stream=None, advance=None):
    """One message per table read or written (the ``rrlib`` logger, or ``stream`` when given); each
    is also a step of the current run log, and advances the progress bar ``advance`` if any."""

    logger = log.get("data")

    def report(name, fname, rows, seconds):
        line = f"  {fname:<28} {rows:>10,} rows  {seconds:6.2f} s"
        if stream is not None:
            print(line, file=stream, flush=True)
        else:
            logger.info(line)
        log.record_step(f"{name}: {fname.strip()}", seconds, rows=rows)
        if advance is not None:
            advance(1, fname.strip())
    return report
