"""The data contract's building blocks: :class:`Table`, the domain registry and shared checks.

Every domain module (``education``, ``targeted``, ``programme``, ``wmf``, ``health``) builds its
tables from these; :mod:`rrlib.data.validate` reads and checks them. This module imports no other
module of the package (the domains are found at call time), so the data layer has no import cycle.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

PACKAGE = "rrlib.data"

#: Domain modules in dependency order (a table's foreign keys point to earlier tables).
DOMAINS = ("education", "targeted", "programme", "wmf", "health")


@dataclass(frozen=True)
class Table:
    """Specification of one raw table.

    ``schema`` is a ``pandera.pandas.DataFrameSchema`` (names, dtypes, allowed codes, ranges,
    unique ids). ``columns`` maps every column to its codebook description (source system and
    real-world counterpart). ``foreign_keys`` are ``(column, other_table, other_column)``:
    every non-missing value of ``column`` must occur in ``other_table.other_column``.
    ``dates`` are the columns parsed as dates (ISO ``YYYY-MM-DD``).

    Optional extras (all with defaults, so older specs keep working):

    ``key``
        the columns that identify a row (checked unique, also when several columns;
        synthetic tables are sorted by them).
    ``codes``
        ``{column: {code: meaning}}`` for coded columns, printed in the codebook.
    ``notes``
        free-text codebook notes (calibration, caveats).
    ``required``
        a missing file is an error (True) or the table is skipped (False).
    ``window_dates``
        the date (or date-time text) columns that must fall in the folder's study window
        (:mod:`rrlib.data.window`: declared in the MANIFEST, or derived from the data).
    """

    name: str
    schema: object
    description: str
    source: str
    columns: dict[str, str]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    dates: tuple[str, ...] = ()
    required: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)
    key: tuple[str, ...] = ()
    codes: dict = field(default_factory=dict)
    counterpart: str = ""
    window_dates: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        """The schema's columns in their declared order."""
        return list(self.schema.columns)


def domain_modules():
    """The domain modules that exist (chapters add theirs), in dependency order."""
    mods = []
    for name in DOMAINS:
        try:
            mods.append(importlib.import_module(f"{PACKAGE}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{PACKAGE}.{name}":
                raise
    return mods


def tables() -> dict[str, Table]:
    """Every registered raw table, by name, in dependency order."""
    out: dict[str, Table] = {}
    for mod in domain_modules():
        for t in getattr(mod, "TABLES", ()):
            if t.name in out:
                raise ValueError(f"table {t.name!r} is registered twice (in {mod.__name__})")
            out[t.name] = t
    return out


# --------------------------------------------------------------------------- shared checks
# Small pandera checks every domain can use in its schemas (vectorised; named so that the
# validation message and the codebook say what the rule is).

def on_uniques(s, fn):
    """Apply a vectorised test ``fn`` to the distinct values of ``s`` only (fast on long tables
    with few distinct values: ids, codes, years) and spread the answer back. Missing values pass
    (pandera's nullable rule handles them)."""

    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    res = np.asarray(fn(pd.Series(uniq, dtype=object)), dtype=bool)
    out = np.ones(len(codes), dtype=bool)
    has = codes >= 0
    out[has] = res[codes[has]]
    return pd.Series(out, index=s.index)


def sorted_by(df, col: str):
    """``df.sort_values(col).reset_index(drop=True)`` for a key column, without the sort (or a
    copy of the data) when ``col`` is already strictly increasing (as shipped tables are)."""

    v = df[col].to_numpy()
    try:
        in_order = len(v) < 2 or bool((v[1:] > v[:-1]).all())
    except TypeError:  # missing values: let sort_values place them
        in_order = False
    out = df.copy(deep=False) if in_order else df.sort_values(col)
    out.index = pd.RangeIndex(len(out))
    return out


def school_phase(school_id, schools):
    """Each row's school phase from ``schools`` (``school_id``, ``phase``), NaN for an unknown
    school: one hash look-up per row, no merge (which would copy the whole table)."""

    if not schools["school_id"].is_unique:
        raise ValueError("schools: school_id is not unique (one phase per school is needed)")
    pos = pd.Index(schools["school_id"]).get_indexer(school_id)  # -1: unknown school
    return np.append(schools["phase"].to_numpy(dtype=object), np.nan)[pos]


def take_rows(df, idx):
    """Rows of ``df`` at positions ``idx`` (``-1``: a row of missing values), gathered column by
    column with each column's dtype kept and a fresh RangeIndex: unlike ``df.iloc[idx]`` or a
    merge, it never consolidates (copies) the whole frame first."""

    idx = np.asarray(idx, dtype=np.intp)
    fill = bool((idx < 0).any())
    data = {}
    for c in df.columns:
        col = df[c]
        if isinstance(col.dtype, np.dtype) and not fill:
            data[c] = col.to_numpy()[idx]
        else:
            data[c] = col.array.take(idx, allow_fill=fill)
    return pd.DataFrame(data, index=pd.RangeIndex(len(idx)), columns=df.columns, copy=False)


def academic_year_check():
    """Academic year written ``2016/17`` (second part = first year + 1)."""

    def ok_unique(u):
        st = u.astype(str)
        m = st.str.fullmatch(r"\d{4}/\d{2}").fillna(False).astype(bool)
        first = pd_to_int(st.str[:4])
        second = pd_to_int(st.str[5:7])
        return m & ((first + 1) % 100 == second)

    return pa.Check(lambda s: on_uniques(s, ok_unique), name="academic_year_format",
                    error="academic year written like 2016/17")


def id_pattern(prefix: str, digits: int | None = None) -> str:
    """Regular expression of an identifier: a prefix and at least ``digits`` digits (``P0000123``).

    *At least*, not exactly: ``rr pseudonymise`` keeps the prefix and writes 16 digits, so a
    pseudonymised real extract meets the same rules as the synthetic data. Every domain builds its
    id rules from this one function."""
    return rf"^{prefix}\d{{{digits},}}$" if digits else rf"^{prefix}\d+$"


#: a census pupil's identifier (every table that refers to pupils uses it)
PUPIL_ID = id_pattern("P", 7)


def id_check(prefix: str, digits: int | None = None):
    """Identifier with a prefix and digits (``P0000123``); ``digits`` = minimum number of digits."""
    return matches_check(id_pattern(prefix, digits))


def matches_check(pattern: str):
    """Text matching the regular expression ``pattern`` (``re.match``: anchored at the start),
    like ``pa.Check.str_matches`` (same name, pattern and message) but tested on the distinct
    values only: ids, codes and date-times repeat, so long tables cost a few regex calls."""

    return pa.Check(lambda s: on_uniques(s, lambda u: u.astype(str).str.match(pattern).fillna(False)),
                    name="str_matches", statistics={"pattern": pattern},
                    error=f"str_matches('{pattern}')")


def pd_to_int(s):
    return pd.to_numeric(s, errors="coerce")
