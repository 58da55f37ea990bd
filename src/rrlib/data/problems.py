"""Problems with data, and the messages that name them: one broken rule in one file (and column).

Shared by every reader of tabular data (:mod:`rrlib.data.reader` and the data contract's checks in
:mod:`rrlib.data.validate`, the domain modules' cross-table rules, the study window, the public tables of
:mod:`rrlib.public`): a :class:`Problem` names the file, the column, the rule and the first offending rows
(line numbers count the header as line 1); :class:`DataValidationError` lists every problem of a run;
:func:`schema_problems` turns a pandera schema's failures into problems. Imports no other rrlib module.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors as pe

#: How many offending rows a message shows per problem.
MAX_ROWS_SHOWN = 5
#: How many problems a message lists before "... and N more".
MAX_PROBLEMS_SHOWN = 40


@dataclass
class Problem:
    """One broken rule in one file (and column)."""

    file: str
    rule: str
    column: str | None = None
    rows: list[tuple[int | None, object]] = field(default_factory=list)  # (line, value)
    count: int | None = None  # number of offending rows/values, when known
    detail: str = ""

    def format(self, file: bool = True) -> str:
        """One line; ``file=False`` leaves the file name out (a message that names it once)."""
        where = ", ".join(([self.file] if file else []) + ([f"column '{self.column}'"] if self.column else []))
        text = f"{where}: rule '{self.rule}'" if where else f"rule '{self.rule}'"
        if self.detail:
            text += f": {self.detail}"
        if self.rows:
            n = self.count if self.count is not None else len(self.rows)
            shown = ", ".join(_fmt_row(line, v) for line, v in self.rows[:MAX_ROWS_SHOWN])
            text += f"; {n} offending row{'s' if n != 1 else ''}, first: {shown}"
        return text


def merge_problems(found: dict, problems) -> None:
    """Fold one chunk's problems into ``found`` (one per rule: first rows kept, counts added)."""
    for q in problems:
        have = found.get(q.rule)
        if have is None:
            found[q.rule] = q
        else:
            have.rows = (have.rows + q.rows)[:MAX_ROWS_SHOWN]
            have.count = (have.count or 0) + (q.count or 0)


def _fmt_row(line, value) -> str:
    v = _short(value)
    return f"line {line} {v}" if line is not None else v


def plain_value(v):
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return None if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")
    return v.item() if hasattr(v, "item") else v


def _short(value, width: int = 40) -> str:
    if isinstance(value, dict):
        s = "{" + ", ".join(f"{k}={plain_value(v)!r}" for k, v in value.items()) + "}"
        return s if len(s) <= 3 * width else s[: 3 * width - 3] + "..."
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "(missing)"
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
        s = repr(ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat())
        return s
    s = repr(value.item() if hasattr(value, "item") else value)
    return s if len(s) <= width else s[: width - 3] + "..."


class DataValidationError(ValueError):
    """Raw data break the data contract. ``problems`` lists every broken rule."""

    def __init__(self, problems: list[Problem] | str, data_dir: str | Path | None = None):
        if isinstance(problems, str):
            problems = [Problem(file=str(data_dir or "?"), rule="data contract", detail=problems)]
        self.problems = list(problems)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        head = (f"data folder {self.data_dir} does not meet the data contract"
                if self.data_dir is not None else "raw data do not meet the data contract")
        n = len(self.problems)
        lines = [f"{head} ({n} problem{'s' if n != 1 else ''}; see data/raw/README.md):"]
        lines += ["  - " + p.format() for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        if n > MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {n - MAX_PROBLEMS_SHOWN} more")
        super().__init__("\n".join(lines))


def bad_rows(mask: np.ndarray, values: pd.Series, offset: int = 0) -> list[tuple[int, object]]:
    """(line, value) of the first offending rows; ``offset`` = data rows before ``values``."""
    idx = np.flatnonzero(mask)[:MAX_ROWS_SHOWN]
    return [(int(i) + 2 + offset, values.iloc[i]) for i in idx]


_RULE_NAMES = [
    (re.compile(r"^field_uniqueness$"), lambda m: "unique (duplicate id)"),
    (re.compile(r"^multiple_fields_uniqueness$"), lambda m: "unique (duplicate key)"),
    (re.compile(r"^not_nullable$"), lambda m: "not_nullable (no missing values)"),
]


def _rule_name(check: str) -> str:
    check = str(check)
    for rx, f in _RULE_NAMES:
        m = rx.match(check)
        if m:
            return f(m)
    if len(check) > 120:
        check = check[:117] + "..."
    return check



def _failing_rows(check, df: pd.DataFrame) -> np.ndarray | None:
    """The sorted index labels of the rows of ``df`` that the table-wide pandera ``check`` fails (``None``:
    it passes). The check is called as pandera calls it (its null handling included); one that raises fails
    with no row named, as pandera reports it."""
    try:
        out = check(df).check_output
    except Exception:
        return np.array([], dtype=int)
    if isinstance(out, pd.DataFrame):
        out = out.all(axis="columns")
    if not isinstance(out, pd.Series):
        return None if bool(out) else np.array([], dtype=int)
    bad = out.index[~out.astype(bool).to_numpy()]
    return None if len(bad) == 0 else np.sort(pd.to_numeric(pd.Series(bad), errors="coerce").dropna()
                                              .astype(int).unique())


def _column_schema(schema):
    """``schema`` without its table-wide checks (:func:`schema_problems` runs those itself)."""
    s = copy.copy(schema)
    s.checks = []
    return s


def schema_problems(schema, df: pd.DataFrame, fname: str) -> list[Problem]:
    """The failures of a pandera ``schema`` on ``df`` (validated in place, lazily) as problems: one per
    column and rule with the first offending lines, and one per table-wide rule with the failing rows
    once each (the values of the columns the rule names). ``[]`` when ``df`` passes.

    The table-wide checks are called here rather than by ``schema.validate``: pandera reports a failing
    row of one as every column of that row, reshaped row by row, which took seconds for a rule broken by
    ten thousand rows of an 81-column table (a survey whose waves are coded differently)."""
    problems = []
    # table-wide (row) checks: each failing row once, with the values of the columns the rule names
    for chk in getattr(schema, "checks", []) or []:
        idx = _failing_rows(chk, df)
        if idx is None:
            continue
        check = str(chk.error) if chk.error else str(chk.name)
        name = str(chk.name or check)
        text = f"{name} ({check})" if chk.error and str(chk.error) != name else name
        cols = [c for c in df.columns if c in f"{name} {check}"] or list(df.columns)[:4]
        rows = [(int(i) + 2, {c: plain_value(df.at[i, c]) for c in cols}) for i in idx[:MAX_ROWS_SHOWN]]
        problems.append(Problem(fname, text, ", ".join(cols), rows, count=len(idx)))
    try:
        _column_schema(schema).validate(df, lazy=True, inplace=True)  # no copy: nothing is coerced
        return problems
    except pe.SchemaErrors as exc:
        fc = exc.failure_cases
    except pe.SchemaError as exc:  # pragma: no cover - lazy=True should collect
        return problems + [Problem(fname, "schema", detail=str(exc).splitlines()[0])]
    fc = fc.copy()
    fc["column"] = fc["column"].astype(object).where(fc["column"].notna(), None)
    fc["_order"] = np.arange(len(fc))
    for (column, check), g in fc.groupby(["column", "check"], dropna=False, sort=False):
        col = None if column is None or (isinstance(column, float) and np.isnan(column)) else str(column)
        idx = pd.to_numeric(g["index"], errors="coerce")
        g = g.assign(_line=idx + 2).sort_values(["_line", "_order"], na_position="last")
        rows = [(None if pd.isna(line) else int(line), v)
                for line, v in zip(g["_line"], g["failure_case"])][:MAX_ROWS_SHOWN]
        problems.append(Problem(fname, _rule_name(check), col, rows, count=len(g)))
    return problems
