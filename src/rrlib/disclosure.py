"""Statistical disclosure control for every table the compendium publishes.

References:

* NHS England / NHS Digital, *Hospital Episode Statistics (HES) Analysis Guide*: sub-national
  counts of 1 to 7 are suppressed and other sub-national counts are rounded to the nearest 5
  (preset ``"nhs"``; this preset is for sub-national tables).
* Department for Education, statistics publications (e.g. "Suspensions and permanent
  exclusions in England"): counts of 1 or 2 are suppressed (preset ``"dfe"``).
* Government Statistical Service, *Symbols in tables, definitions and help* (2023): ``c``
  confidential (suppressed), ``z`` not applicable, ``low`` rounds to zero but is not zero,
  ``x`` not available.
* Secondary suppression follows the standard cell-suppression principle (e.g. ONS,
  *Disclosure control guidance for tables produced from surveys*; Hundepool et al. 2012,
  *Statistical Disclosure Control*, ch. 4): no suppressed cell may be recoverable exactly
  from the published cells and the declared totals.

Rules applied by :func:`publish`:

1. *Primary suppression*: a count ``v`` with ``0 < v <= threshold`` becomes ``c`` (zeros stay).
2. *Secondary suppression*: the caller declares the linear relations of the table
   (:class:`Totals`): column totals inside a row (``columns={"total": ["boys", "girls"]}``),
   a total row inside each group (``row=("school", "Total")``, ``groups=[...]``), or groups
   whose total is published elsewhere (``groups=[...]`` with ``external=True``). Further cells
   are suppressed (smallest non-zero count first) until no suppressed cell can be solved for
   exactly from those relations. This is checked by linear algebra (a suppressed cell is
   recoverable iff every solution of the relations gives it the same value), not just by
   "no relation with a single suppressed cell". Bounds from non-negativity are not considered.
3. *Derived cells*: a rate/percentage declared in ``derived`` (``{"rate": ["count", "pop"]}``)
   is suppressed in every row where any count it is built on is suppressed.
4. *Rounding* (``"nhs"``): unsuppressed counts are rounded to the nearest 5 (half up) after
   the suppression decisions; a non-zero count that rounds to 0 shows ``low``. Derived values
   are shown to ``decimals`` places; a non-zero value that rounds to 0 shows ``low``.
5. Missing values are written as ``z`` (not applicable; ``missing_symbol`` to change).

The record of what was suppressed (cells by row key and column, rule, never the suppressed
values) is returned and written next to the table as ``<name>.disclosure.json``; chapters
may also copy it into their provenance sidecar.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.linalg import null_space

from rrlib.io import atomic_write_text, write_json

__all__ = ["PRESETS", "Rules", "Totals", "SYMBOLS", "apply", "publish", "check", "suppressed_keys"]

SUPPRESSED, NOT_APPLICABLE, LOW = "c", "z", "low"
SYMBOLS = {SUPPRESSED: "confidential (suppressed)", NOT_APPLICABLE: "not applicable",
           LOW: "rounds to zero but is not zero", "x": "not available"}


@dataclass(frozen=True)
class Rules:
    """Suppression rules: counts 1..``threshold`` suppressed; optional rounding base."""

    name: str
    threshold: int
    rounding: int | None = None
    description: str = ""


PRESETS: dict[str, Rules] = {
    "nhs": Rules("nhs", 7, 5, "NHS HES sub-national: counts 1-7 suppressed, others rounded to nearest 5"),
    "dfe": Rules("dfe", 2, None, "DfE: counts 1-2 suppressed"),
}


def _rules(preset: str | None, threshold: int | None, rounding: int | None) -> Rules:
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown disclosure preset {preset!r}; use one of {sorted(PRESETS)} or "
                             "preset=None with threshold=")
        base = PRESETS[preset]
        return Rules(base.name, base.threshold if threshold is None else int(threshold),
                     base.rounding if rounding is None else (rounding or None), base.description)
    if threshold is None:
        raise ValueError("custom disclosure rules need threshold= (suppress counts 1..threshold)")
    if threshold < 0:
        raise ValueError("threshold must be >= 0")
    return Rules("custom", int(threshold), rounding or None,
                 f"custom: counts 1-{threshold} suppressed" + (f", rounded to {rounding}" if rounding else ""))


@dataclass(frozen=True)
class Totals:
    """The linear relations of a table, for secondary suppression.

    ``columns``: ``{total_column: [member columns]}`` -- in every row the total column is the
    sum of the members (e.g. a row-margin column).
    ``row``: ``(column, label)`` -- within each group, the row whose ``column`` equals
    ``label`` holds the sum of the other rows, for every count column (a total row).
    ``groups``: columns defining groups of rows (default: the whole table is one group when
    ``row`` is given).
    ``external``: with ``groups`` and no ``row``: each group's total of every count column is
    published elsewhere, so the group's rows must not reveal a single suppressed cell.
    """

    columns: Mapping[str, Sequence[str]] = field(default_factory=dict)
    row: tuple[str, Any] | None = None
    groups: Sequence[str] = ()
    external: bool = False

    @classmethod
    def coerce(cls, totals: "Totals | Mapping | None") -> "Totals | None":
        if totals is None or isinstance(totals, Totals):
            return totals
        if isinstance(totals, Mapping):
            unknown = set(totals) - {"columns", "row", "groups", "external"}
            if unknown:
                raise ValueError(f"totals: unknown keys {sorted(unknown)}")
            row = totals.get("row")
            return cls(columns=dict(totals.get("columns", {})), row=tuple(row) if row else None,
                       groups=list(totals.get("groups", [])), external=bool(totals.get("external", False)))
        raise TypeError("totals must be a Totals, a dict or None")


# --------------------------------------------------------------------------- relations
def _relations(df: pd.DataFrame, counts: list[str], totals: Totals | None) -> list[dict[int, float]]:
    """Linear relations over flat cell ids (row * ncols + col): sum(coef * cell) = known."""
    if totals is None:
        return []
    ncol = len(counts)
    pos = {c: j for j, c in enumerate(counts)}
    rels: list[dict[int, float]] = []
    nrow = len(df)
    for tot, members in totals.columns.items():
        for c in [tot, *members]:
            if c not in pos:
                raise ValueError(f"totals: column {c!r} is not one of the declared counts {counts}")
        for i in range(nrow):
            r = {i * ncol + pos[m]: 1.0 for m in members}
            r[i * ncol + pos[tot]] = -1.0
            rels.append(r)
    groups = list(totals.groups)
    for g in groups:
        if g not in df.columns:
            raise ValueError(f"totals: group column {g!r} not in the table")
    if totals.row is not None or (groups and totals.external):
        keys = (df[groups].astype(str).agg("\x1f".join, axis=1) if groups
                else pd.Series("", index=df.index))
        codes = pd.factorize(keys.to_numpy())[0]
        if totals.row is not None:
            col, label = totals.row
            if col not in df.columns:
                raise ValueError(f"totals: row label column {col!r} not in the table")
            is_total = (df[col] == label).to_numpy()
        else:
            is_total = np.zeros(nrow, dtype=bool)
        for gcode in np.unique(codes):
            rows = np.flatnonzero(codes == gcode)
            trows = rows[is_total[rows]]
            mrows = rows[~is_total[rows]]
            if totals.row is not None and len(trows) != 1:
                raise ValueError(f"totals: each group needs exactly one total row "
                                 f"({col} == {label!r}); found {len(trows)} in a group")
            for j in range(ncol):
                r = {int(i) * ncol + j: 1.0 for i in mrows}
                if len(trows):
                    r[int(trows[0]) * ncol + j] = -1.0
                rels.append(r)
    return rels


def _recoverable(rels: list[dict[int, float]], unknown: np.ndarray) -> np.ndarray:
    """Boolean mask over ``unknown`` cell ids: which are determined exactly by the relations."""
    if len(unknown) == 0 or not rels:
        return np.zeros(len(unknown), dtype=bool)
    col = {u: k for k, u in enumerate(unknown)}
    rows = [r for r in rels if any(c in col for c in r)]
    if not rows:
        return np.zeros(len(unknown), dtype=bool)
    A = np.zeros((len(rows), len(unknown)))
    for i, r in enumerate(rows):
        for c, v in r.items():
            if c in col:
                A[i, col[c]] = v
    N = null_space(A)
    if N.size == 0:
        return np.ones(len(unknown), dtype=bool)
    return np.all(np.abs(N) < 1e-9, axis=1)


def _secondary(values: np.ndarray, suppressed: np.ndarray, rels, max_iter: int = 10_000) -> np.ndarray:
    """Extend a flat suppression mask until no suppressed cell is recoverable."""
    sup = suppressed.copy()
    vals = np.nan_to_num(values, nan=0.0)
    usable = ~np.isnan(values)
    member_of: dict[int, list[int]] = {}
    for k, r in enumerate(rels):
        for c in r:
            member_of.setdefault(c, []).append(k)
    for _ in range(max_iter):
        # 1. direct leaks: a relation with exactly one suppressed cell. Suppress the open cell
        #    that closes the most leaks at once (then: members before totals, non-zero and
        #    smallest first), the usual cell-suppression heuristic.
        leaks = [k for k, r in enumerate(rels) if sum(1 for c in r if sup[c]) == 1]
        if leaks:
            score: dict[int, int] = {}
            for k in leaks:
                for c in rels[k]:
                    if not sup[c] and usable[c]:
                        score[c] = score.get(c, 0) + 1
            if not score:
                raise RuntimeError("secondary suppression could not protect a cell: a relation has "
                                   "no other cell to suppress")
            coef = {c: min(rels[k][c] for k in member_of[c]) for c in score}
            best = min(score, key=lambda c: (-score[c], coef[c] < 0, vals[c] == 0, vals[c], c))
            sup[best] = True
            continue
        # 2. indirect recovery through several relations (linear algebra)
        unknown = np.flatnonzero(sup)
        rec = _recoverable(rels, unknown)
        if not rec.any():
            return sup
        u = int(unknown[np.argmax(rec)])
        cands = {c for k in member_of.get(u, []) for c in rels[k] if not sup[c] and usable[c]}
        if not cands:
            cands = {c for k in member_of.get(u, []) for c0 in rels[k] if sup[c0]
                     for k2 in member_of.get(c0, []) for c in rels[k2] if not sup[c] and usable[c]}
        if not cands:
            raise RuntimeError("secondary suppression could not protect a cell")
        sup[min(cands, key=lambda c: (vals[c] == 0, vals[c], c))] = True
    raise RuntimeError("secondary suppression did not converge")


# --------------------------------------------------------------------------- main
def _row_key(df: pd.DataFrame, i: int, id_cols: list[str]) -> Any:
    if id_cols:
        return {c: _plain(df.iloc[i][c]) for c in id_cols}
    return {"row": int(i)}


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    return v


def _round_half_up(v: np.ndarray, base: int) -> np.ndarray:
    return np.floor(v / base + 0.5) * base


def _fmt_count(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def apply(df: pd.DataFrame, *, preset: str | None = "dfe", counts: Sequence[str],
          derived: Mapping[str, Sequence[str] | str] | None = None,
          totals: Totals | Mapping | None = None, threshold: int | None = None,
          rounding: int | None = None, decimals: int | Mapping[str, int] | None = None,
          missing_symbol: str = NOT_APPLICABLE, id_cols: Sequence[str] | None = None
          ) -> tuple[pd.DataFrame, dict]:
    """Apply the disclosure rules to ``df`` without writing anything.

    Returns ``(published, record)``: ``published`` has the same rows and columns, with count
    and derived columns as text (numbers or the symbols ``c``, ``z``, ``low``); ``record``
    lists the suppressed cells by row key (``id_cols``, default every column that is neither a
    count nor derived) and column, with the rule applied, never the suppressed values.
    See the module docstring for the rules and references.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError("disclosure: df must be a pandas DataFrame")
    if df.empty:
        raise ValueError("disclosure: the table is empty; nothing to publish")
    rules = _rules(preset, threshold, rounding)
    counts = list(counts)
    if not counts:
        raise ValueError("disclosure: declare the count columns (counts=[...])")
    derived = {k: ([v] if isinstance(v, str) else list(v)) for k, v in (derived or {}).items()}
    missing = [c for c in [*counts, *derived, *[d for v in derived.values() for d in v]] if c not in df.columns]
    if missing:
        raise ValueError(f"disclosure: column(s) {sorted(set(missing))} not in the table")
    for k, deps in derived.items():
        bad = [d for d in deps if d not in counts]
        if bad:
            raise ValueError(f"disclosure: derived column {k!r} depends on {bad}, which are not declared counts")
    if df.index.duplicated().any():
        raise ValueError("disclosure: the table's index has duplicate labels")
    vals = np.column_stack([pd.to_numeric(df[c], errors="raise").to_numpy(dtype=float) for c in counts])
    if np.any(vals[~np.isnan(vals)] < 0):
        raise ValueError("disclosure: counts must be non-negative")
    ncol = len(counts)
    flat = vals.reshape(-1)
    primary = (flat > 0) & (flat <= rules.threshold)
    tot = Totals.coerce(totals)
    rels = _relations(df.reset_index(drop=True), counts, tot)
    sup = _secondary(flat, primary, rels) if rels else primary.copy()
    secondary = sup & ~primary
    sup2 = sup.reshape(vals.shape)

    id_cols = list(id_cols) if id_cols is not None else [c for c in df.columns if c not in counts and c not in derived]
    record: dict[str, Any] = {
        "rules": {"preset": rules.name, "threshold": rules.threshold, "rounding": rules.rounding,
                  "description": rules.description},
        "symbols": {SUPPRESSED: SYMBOLS[SUPPRESSED], NOT_APPLICABLE: SYMBOLS[NOT_APPLICABLE], LOW: SYMBOLS[LOW]},
        "counts": counts, "derived": derived,
        "totals": None if tot is None else {"columns": {k: list(v) for k, v in tot.columns.items()},
                                             "row": list(tot.row) if tot.row else None,
                                             "groups": list(tot.groups), "external": tot.external},
        "cells": [],
    }
    for cell in np.flatnonzero(sup):
        i, j = divmod(int(cell), ncol)
        record["cells"].append({"key": _row_key(df, i, id_cols), "column": counts[j],
                                "rule": "primary" if primary[cell] else "secondary"})

    out = df.copy()
    shown = _round_half_up(vals, rules.rounding) if rules.rounding else vals
    for j, c in enumerate(counts):
        col = []
        for i in range(len(df)):
            v, s = vals[i, j], shown[i, j]
            if np.isnan(v):
                col.append(missing_symbol)
            elif sup2[i, j]:
                col.append(SUPPRESSED)
            elif v != 0 and s == 0:
                col.append(LOW)
            else:
                col.append(_fmt_count(s))
        out[c] = pd.Series(col, index=df.index, dtype=object)
    for k, deps in derived.items():
        dec = decimals.get(k) if isinstance(decimals, Mapping) else decimals
        is_int = pd.api.types.is_integer_dtype(df[k])
        dv = pd.to_numeric(df[k], errors="raise").to_numpy(dtype=float)
        hit = np.zeros(len(df), dtype=bool)
        for d in deps:
            hit |= sup2[:, counts.index(d)]
        col = []
        for i in range(len(df)):
            v = dv[i]
            if hit[i]:
                col.append(SUPPRESSED)
                record["cells"].append({"key": _row_key(df, i, id_cols), "column": k,
                                        "rule": f"derived from suppressed {', '.join(d for d in deps if sup2[i, counts.index(d)])}"})
            elif np.isnan(v):
                col.append(missing_symbol)
            elif dec is not None:
                r = round(v, dec)  # display rounding only
                col.append(LOW if (v != 0 and r == 0) else f"{v:.{dec}f}")
            else:
                col.append(str(int(v)) if is_int else repr(float(v)))
        out[k] = pd.Series(col, index=df.index, dtype=object)
    record["n_primary"] = int(primary.sum())
    record["n_secondary"] = int(secondary.sum())
    record["n_derived"] = sum(1 for c in record["cells"] if c["rule"].startswith("derived"))
    return out, record


def publish(df: pd.DataFrame, name: str, out_dir: str | Path, *, preset: str | None = "dfe",
            counts: Sequence[str], derived: Mapping[str, Sequence[str] | str] | None = None,
            totals: Totals | Mapping | None = None, threshold: int | None = None,
            rounding: int | None = None, decimals: int | Mapping[str, int] | None = None,
            missing_symbol: str = NOT_APPLICABLE, id_cols: Sequence[str] | None = None,
            index: bool = False) -> tuple[pd.DataFrame, dict]:
    """Apply disclosure control and write ``<out_dir>/<name>.csv`` and ``<name>.disclosure.json``.

    The single entry point chapters use for every published table (DESIGN.md, Conventions).
    Rules and references: module docstring (NHS HES Analysis Guide; DfE; GSS symbols).
    Writes are atomic (:func:`rrlib.io.atomic_write_text`) and deterministic (same input,
    same bytes: ``\\n`` line endings, no timestamps). Returns ``(published, record)``; the
    record (suppressed cells by key, rules, counts) is also written as JSON next to the CSV so
    the provenance sidecar can reference it.
    """
    if not name or any(ch in name for ch in "/\\") or name.startswith("."):
        raise ValueError(f"publish: invalid table name {name!r}")
    out, record = apply(df, preset=preset, counts=counts, derived=derived, totals=totals,
                        threshold=threshold, rounding=rounding, decimals=decimals,
                        missing_symbol=missing_symbol, id_cols=id_cols)
    out_dir = Path(out_dir)
    csv_path = out_dir / f"{name}.csv"
    text = out.to_csv(index=index, lineterminator="\n")
    atomic_write_text(csv_path, text)
    record = {"table": f"{name}.csv", **record}
    write_json(out_dir / f"{name}.disclosure.json", record)
    return out, record


def check(df: pd.DataFrame, preset: str | None = "dfe", *, counts: Sequence[str],
          derived: Mapping[str, Sequence[str] | str] | None = None,
          totals: Totals | Mapping | None = None, threshold: int | None = None,
          rounding: int | None = None) -> list[dict]:
    """Scan a published table (as written: numbers as text or numbers, symbols) for breaches.

    Returns a list of violations, each ``{"row", "column", "value", "rule"}``; empty if the
    table keeps the preset's rules: no count in 1..threshold shown; counts rounded to the
    preset's base; only known symbols; derived cells suppressed where a count they depend on
    is; and, when ``totals`` are declared, no suppressed cell recoverable from the published
    cells and totals (as in :func:`publish`).
    """
    rules = _rules(preset, threshold, rounding)
    counts = list(counts)
    derived = {k: ([v] if isinstance(v, str) else list(v)) for k, v in (derived or {}).items()}
    missing = [c for c in [*counts, *derived] if c not in df.columns]
    if missing:
        raise ValueError(f"check: column(s) {missing} not in the table")
    out: list[dict] = []
    allowed_symbols = {SUPPRESSED, NOT_APPLICABLE, LOW, "x"}
    vals = np.full((len(df), len(counts)), np.nan)
    sup = np.zeros((len(df), len(counts)), dtype=bool)
    for j, c in enumerate(counts):
        for i, raw in enumerate(df[c].tolist()):
            if isinstance(raw, str) and raw.strip() in allowed_symbols:
                sup[i, j] = raw.strip() == SUPPRESSED
                continue
            try:
                v = float(raw)
            except (TypeError, ValueError):
                out.append({"row": i, "column": c, "value": raw, "rule": "not a number or a known symbol"})
                continue
            if math.isnan(v):
                out.append({"row": i, "column": c, "value": raw, "rule": "missing value not marked with a symbol"})
                continue
            vals[i, j] = v
            if 0 < v <= rules.threshold:
                out.append({"row": i, "column": c, "value": raw,
                            "rule": f"count 1-{rules.threshold} shown ({rules.name})"})
            if rules.rounding and v % rules.rounding != 0:
                out.append({"row": i, "column": c, "value": raw,
                            "rule": f"count not rounded to {rules.rounding} ({rules.name})"})
    for k, deps in derived.items():
        for d in deps:
            if d not in counts:
                raise ValueError(f"check: derived column {k!r} depends on {d!r}, not a declared count")
        for i, raw in enumerate(df[k].tolist()):
            if any(sup[i, counts.index(d)] for d in deps) and str(raw).strip() != SUPPRESSED:
                out.append({"row": i, "column": k, "value": raw,
                            "rule": "derived value shown although a count it depends on is suppressed"})
    tot = Totals.coerce(totals)
    if tot is not None:
        rels = _relations(df.reset_index(drop=True), counts, tot)
        unknown = np.flatnonzero(sup.reshape(-1))
        rec = _recoverable(rels, unknown)
        for cell in unknown[rec]:
            i, j = divmod(int(cell), len(counts))
            out.append({"row": i, "column": counts[j], "value": SUPPRESSED,
                        "rule": "suppressed cell recoverable from the totals"})
    return out


def suppressed_keys(published: pd.DataFrame, id_cols: Sequence[str], columns: Sequence[str]) -> set[tuple]:
    """Row keys of a published table whose cells in ``columns`` are suppressed (``c``).

    For hiding, beside a published table, whatever would give a suppressed count back (a group's
    ratio, a point in a figure): the keys are tuples of the ``id_cols`` values as text, so a
    caller matches them with ``tuple(str(v) for v in row)``.
    """
    missing = [c for c in [*id_cols, *columns] if c not in published.columns]
    if missing:
        raise ValueError(f"suppressed_keys: column(s) {missing} not in the published table")
    hit = published[list(columns)].astype(str).eq(SUPPRESSED).any(axis=1)
    return {tuple(str(v) for v in row) for row in published.loc[hit, list(id_cols)].itertuples(index=False)}
