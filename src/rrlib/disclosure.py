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
   "no relation with a single suppressed cell". Relations a reader can see without being told
   are added automatically (:func:`detect_links`: each variable of a long variable/category
   table adds up to the same total; total rows; total columns; :func:`margin_links`: another
   table of the same run that publishes this table's group sums). Then bounds: a primary cell
   is known to be 1..threshold and any suppressed cell >= 0, so cells are suppressed until the
   feasible interval of every suppressed cell, by linear programming
   (:func:`scipy.optimize.linprog`), is at least as wide as the primary range
   (``threshold - 1``) and never one value (Hundepool et al. 2012, 4.3-4.4, interval
   protection). :func:`attack` runs the same attack on a published table and its record.
3. *Derived cells*: a rate/percentage declared in ``derived`` (``{"rate": ["count", "pop"]}``)
   is suppressed in every row where any count it is built on is suppressed.
4. *Rounding* (``"nhs"``): unsuppressed counts are rounded to the nearest 5 (half up) after
   the suppression decisions; a non-zero count that rounds to 0 shows ``low``. Derived values
   are shown to ``decimals`` places; a non-zero value that rounds to 0 shows ``low``.
5. Missing values are written as ``z`` (not applicable; ``missing_symbol`` to change).
6. *Statistics of small groups* (issue 27): a mean, interval or test declared in ``statistics``
   is shown only where its group's count is shown and at least :func:`min_group` (10, SACRO/ACRO's
   safe threshold, on every preset); a column that is a count minus a constant (a model's residual
   degrees of freedom, ``follows``) is shown as the published count minus that constant.
7. *Definitions*: relations that follow from what cells mean (a subset capped by its whole, band
   movements between two tables: ``definitions``, inequalities) enter secondary suppression and
   the attack like the totals.

Every published table's record lists each statistic or derived column shown beside its counts
with the rule applied (``statistics``), and each withheld cell with its reason (``cells``).
:func:`attack_run` attacks a whole run together: every table and every figure's data
(:func:`rrlib.figures.publish_data`), with the group sums any table of the run publishes, the
definitions, the figure data's source cells, statistics of small groups and degrees of freedom.

The record of what was suppressed (cells by row key and column, rule, never the suppressed
values) is returned and written next to the table as ``<name>.disclosure.json``; chapters
may also copy it into their provenance sidecar.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.linalg import null_space
from scipy.optimize import linprog

from rrlib.io import atomic_write_text, plain, write_json

__all__ = ["PRESETS", "Rules", "Totals", "SYMBOLS", "apply", "publish", "check", "suppressed_keys", "attack",
           "attack_folder", "attack_run", "capped", "min_group", "STATISTICS_MIN_GROUP", "statistics_findings",
           "follows_findings"]

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
    "tre": Rules("tre", 9, None, "TRE output checking (SACRO/ACRO default safe_threshold 10): counts 1-9 "
                 "suppressed, so every count shown is at least 10"),
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


#: Labels of a total row that :func:`detect_links` recognises (compared case-insensitively).
TOTAL_LABELS = ("total", "all", "all pupils", "all young people", "overall")
#: Names of the column that says which variable a long (variable, category) table breaks down by.
VARIABLE_COLUMNS = ("variable", "characteristic", "breakdown", "dimension")


def _group_codes(df: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    if not cols:
        return np.zeros(len(df), dtype=int)
    keys = df[list(cols)].astype(str).agg("\x1f".join, axis=1)
    return pd.factorize(keys.to_numpy())[0]


def detect_links(df: pd.DataFrame, counts: Sequence[str], id_cols: Sequence[str],
                 totals: "Totals | None" = None) -> list[dict]:
    """Linear relations a reader can see in a table without being told, found from the data.

    * ``equal_totals``: a long table with a ``variable`` column (``variable, category, n``):
      when each variable's categories add up to the same total for a count column (sex, free
      school meals, ethnicity ... each partition the same pupils), every variable's sum equals
      every other's: a suppressed category is the difference of two sums (Hundepool et al.
      2012, 4.3, linked tables).
    * ``total_row``: a row labelled ``Total``/``All`` in an id column whose counts are the sum of
      the other rows of its group (the remaining id columns but the label's).
    * ``total_column``: a count column equal in every row to the sum of two, or of all, other
      count columns.

    Each link is checked against the values (it must hold exactly in every row or group it
    covers), so only true relations are added; declared :class:`Totals` are kept as well.
    """
    counts = list(counts)
    id_cols = [c for c in id_cols if c in df.columns]
    vals = {c: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) for c in counts}
    links: list[dict] = []
    declared_cols = set((totals.columns if totals else {}) or {})
    # long variable/category tables
    for var in [c for c in id_cols if str(c).lower() in VARIABLE_COLUMNS]:
        rest = [c for c in id_cols if c != var]
        if not rest:
            continue
        for within in [[]] + [[c] for c in rest]:  # e.g. (reach, characteristic, group): within reach
            if len(within) == len(rest):
                continue  # the category column itself
            outer = _group_codes(df, within)
            cols = []
            for c in counts:
                v = vals[c]
                if np.isnan(v).any():
                    continue
                ok = False
                for o in np.unique(outer):
                    rows = outer == o
                    codes = pd.factorize(df[var].astype(str).to_numpy()[rows])[0]
                    if codes.max() < 1:
                        continue
                    sums = np.bincount(codes, weights=v[rows])
                    if not (np.all(sums == sums[0]) and sums[0] > 0):
                        ok = False
                        break
                    ok = True
                if ok:
                    cols.append(c)
            if cols:
                links.append({"kind": "equal_totals", "by": var, "within": within, "columns": cols})
                break
    # total rows
    for lab_col in id_cols:
        labels = df[lab_col].astype(str).str.strip().str.lower()
        is_total = labels.isin(TOTAL_LABELS).to_numpy()
        if not is_total.any() or is_total.all():
            continue
        if totals is not None and totals.row is not None and totals.row[0] == lab_col:
            continue
        label = str(df[lab_col].to_numpy()[np.flatnonzero(is_total)[0]])
        groups = [c for c in id_cols if c != lab_col]
        codes = _group_codes(df, groups)
        cols = []
        for c in counts:
            v = vals[c]
            ok = True
            for g in np.unique(codes):
                rows = codes == g
                t = rows & is_total
                if t.sum() != 1 or np.isnan(v[rows]).any() or (rows & ~is_total).sum() == 0 or \
                        v[t][0] != v[rows & ~is_total].sum():
                    ok = False
                    break
            if ok:
                cols.append(c)
        if cols:
            links.append({"kind": "total_row", "label_column": lab_col, "label": label,
                          "groups": groups, "columns": cols})
    # total columns
    for t in counts:
        if t in declared_cols or np.isnan(vals[t]).any():
            continue
        others = [c for c in counts if c != t and not np.isnan(vals[c]).any()]
        found = None
        if len(others) > 2 and np.array_equal(sum(vals[c] for c in others), vals[t]):
            found = others
        else:
            for i, a in enumerate(others):
                for b in others[i + 1:]:
                    if np.array_equal(vals[a] + vals[b], vals[t]) and vals[t].any():
                        found = [a, b]
                        break
                if found:
                    break
        if found:
            links.append({"kind": "total_column", "total": t, "members": found})
    return links


def _link_relations(df: pd.DataFrame, counts: list[str], links: Sequence[dict]) -> list[dict[int, float]]:
    """The relations of :func:`detect_links`' links over flat cell ids (right-hand side 0)."""
    ncol = len(counts)
    pos = {c: j for j, c in enumerate(counts)}
    rels: list[dict[int, float]] = []
    for link in links:
        kind = link["kind"]
        if kind == "equal_totals":
            outer = _group_codes(df, link.get("within") or [])
            for o in np.unique(outer):
                rows = np.flatnonzero(outer == o)
                codes = pd.factorize(df[link["by"]].astype(str).to_numpy()[rows])[0]
                groups = [rows[codes == g] for g in np.unique(codes)]
                for c in link["columns"]:
                    j = pos[c]
                    for g in groups[1:]:  # each variable's sum equals the first's
                        r: dict[int, float] = {int(i) * ncol + j: 1.0 for i in g}
                        for i in groups[0]:
                            r[int(i) * ncol + j] = -1.0
                        rels.append(r)
        elif kind == "total_row":
            is_total = (df[link["label_column"]].astype(str) == str(link["label"])).to_numpy()
            codes = _group_codes(df, link["groups"])
            for g in np.unique(codes):
                rows = np.flatnonzero(codes == g)
                t = rows[is_total[rows]]
                m = rows[~is_total[rows]]
                if len(t) != 1:
                    continue
                for c in link["columns"]:
                    j = pos[c]
                    r = {int(i) * ncol + j: 1.0 for i in m}
                    r[int(t[0]) * ncol + j] = -1.0
                    rels.append(r)
        elif kind == "total_column":
            for i in range(len(df)):
                r = {i * ncol + pos[m]: 1.0 for m in link["members"]}
                r[i * ncol + pos[link["total"]]] = -1.0
                rels.append(r)
    return rels


def _system(rels, rhs, lower, col, nfree):
    A, b = [], []
    for r, v in zip(rels, rhs):
        if not any(c in col for c in r):
            continue
        row = np.zeros(nfree)
        const = 0.0
        for c, coef in r.items():
            if c in col:
                row[col[c]] += coef
            else:
                const += coef * lower[c]
        A.append(row)
        b.append(v - const)
    return A, b


def intervals(rels: list[dict[int, float]], rhs: Sequence[float], lower: np.ndarray, upper: np.ndarray,
              cells: Sequence[int], ineqs: Sequence[tuple[dict[int, float], float]] = ()
              ) -> dict[int, tuple[float, float]]:
    """The interval each of ``cells`` can take given the relations ``sum(coef * x) = rhs``, the
    inequalities ``sum(coef * x) <= rhs`` of ``ineqs`` (relations that follow from definitions:
    a subset capped by its whole, band movements) and the bounds ``lower <= x <= upper`` of every
    cell (``upper`` may be ``inf``): the attacker's view, by linear programming
    (:func:`scipy.optimize.linprog`, HiGHS), two programs per cell.

    Cells whose bounds are equal are constants; only relations with an unknown cell are used.
    """

    free = np.flatnonzero(lower < upper)
    col = {int(c): k for k, c in enumerate(free)}
    A, b = _system(rels, rhs, lower, col, len(free))
    Au, bu = _system([r for r, _ in ineqs], [v for _, v in ineqs], lower, col, len(free))
    out: dict[int, tuple[float, float]] = {}
    bounds = [(float(lower[c]), None if np.isinf(upper[c]) else float(upper[c])) for c in free]
    eq = dict(A_eq=np.array(A), b_eq=np.array(b)) if A else {}
    if Au:
        eq.update(A_ub=np.array(Au), b_ub=np.array(bu))
    for c in cells:
        c = int(c)
        if c not in col:
            out[c] = (float(lower[c]), float(upper[c]))
            continue
        if not eq:
            out[c] = (float(lower[c]), float(upper[c]))
            continue
        obj = np.zeros(len(free))
        obj[col[c]] = 1.0
        lo = linprog(obj, bounds=bounds, method="highs", **eq)
        hi = linprog(-obj, bounds=bounds, method="highs", **eq)
        lo_v = lo.fun if lo.status == 0 else float(lower[c])
        hi_v = -hi.fun if hi.status == 0 else (np.inf if hi.status == 3 else float(upper[c]))
        out[c] = (float(lo_v), float(hi_v))
    return out


def required_width(threshold: int) -> float:
    """How wide a suppressed cell's feasible interval must stay: as wide as the primary range
    ``1..threshold`` (``threshold - 1``), and never a single value."""
    return float(max(threshold - 1, 1))


def _narrow(values: np.ndarray, sup: np.ndarray, primary: np.ndarray, rels, threshold: int,
            ineqs=()) -> list[int]:
    """Suppressed cells whose interval (attacker knows every other cell exactly, that primary
    cells are 1..threshold and the others non-negative) is narrower than :func:`required_width`."""
    vals = np.nan_to_num(values, nan=0.0)
    lower = vals.copy()
    upper = vals.copy()
    lower[sup] = 0.0
    upper[sup] = np.inf
    lower[primary & sup] = 1.0
    upper[primary & sup] = float(threshold)
    rhs = [sum(coef * vals[c] for c, coef in r.items()) for r in rels]
    cells = np.flatnonzero(sup)
    iv = intervals(rels, rhs, lower, upper, cells, ineqs)
    need = required_width(threshold) - 1e-7
    return [c for c in cells if iv[int(c)][1] - iv[int(c)][0] < need and
            not (primary[c] and threshold <= 1)]


def _width(values, sup, primary, rels, threshold, cell, ineqs=()) -> float:
    vals = np.nan_to_num(values, nan=0.0)
    lower, upper = vals.copy(), vals.copy()
    lower[sup], upper[sup] = 0.0, np.inf
    lower[primary & sup], upper[primary & sup] = 1.0, float(threshold)
    rhs = [sum(coef * vals[c] for c, coef in r.items()) for r in rels]
    lo, hi = intervals(rels, rhs, lower, upper, [cell], ineqs)[int(cell)]
    return hi - lo


def _cell_index(values: np.ndarray, rels) -> tuple[np.ndarray, np.ndarray, dict[int, list[int]]]:
    """Values with NaN as 0, which cells hold a value, and the relations each cell is a member of."""
    member_of: dict[int, list[int]] = {}
    for k, r in enumerate(rels):
        for c in r:
            member_of.setdefault(c, []).append(k)
    return np.nan_to_num(values, nan=0.0), ~np.isnan(values), member_of


def _protect_bounds(values: np.ndarray, sup: np.ndarray, primary: np.ndarray, rels, threshold: int,
                    max_iter: int = 2000, ineqs=(), fixed: np.ndarray | None = None) -> np.ndarray:
    """Extend ``sup`` until every suppressed cell's feasible interval is at least
    :func:`required_width` wide (bounds and ``ineqs`` included, :func:`intervals`); then no
    suppressed cell is pinned to one value nor to a range narrower than the primary range.
    Cells marked ``fixed`` (another table's, already published) are never chosen."""
    sup = sup.copy()
    vals, usable, member_of = _cell_index(values, [*rels, *(r for r, _ in ineqs)])
    if fixed is not None:
        usable = usable & ~fixed
    rels_all = [*rels, *(r for r, _ in ineqs)]
    for _ in range(max_iter):
        weak = _narrow(values, sup, primary, rels, threshold, ineqs)
        if not weak:
            return sup
        cands, u = [], None
        for u in map(int, weak):
            cands = sorted({c for k in member_of.get(u, []) for c in rels_all[k] if not sup[c] and usable[c]},
                           key=lambda c: (vals[c] == 0, vals[c], c))
            if not cands:  # reach one relation further
                cands = sorted({c for k in member_of.get(u, []) for c0 in rels_all[k] if sup[c0]
                                for k2 in member_of.get(c0, []) for c in rels_all[k2]
                                if not sup[c] and usable[c]}, key=lambda c: (vals[c] == 0, vals[c], c))
            if cands:
                break
        if not cands:  # every cell the weak cells are linked with is suppressed: nothing more to do
            return sup
        # the smallest open cell that widens the weak cell enough; else the one that widens it most
        best, best_w = cands[0], -1.0
        for c in cands[:25]:
            trial = sup.copy()
            trial[c] = True
            w = _width(values, trial, primary, rels, threshold, u, ineqs)
            if w >= required_width(threshold) - 1e-7:
                best = c
                break
            if w > best_w + 1e-9:
                best, best_w = c, w
        sup[best] = True
    raise RuntimeError("secondary suppression (bounds) did not converge")


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
    vals, usable, member_of = _cell_index(values, rels)
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



def _id_columns(pub: pd.DataFrame, record: Mapping) -> list[str]:
    derived = record.get("derived") or {}
    others = {s.get("column") for s in record.get("statistics") or []}
    return [c for c in pub.columns if c not in record["counts"] and c not in derived and c not in others]


def _shown_number(text) -> float | None:
    try:
        return float(str(text).strip())
    except ValueError:
        return None


#: Tables published by this process, by folder, in order (see :func:`margin_links`).
_PUBLISHED: dict[str, list[str]] = {}


def _nested_keys(fine: pd.DataFrame, coarse: pd.DataFrame, by: list) -> tuple[pd.Series, pd.Series] | None:
    """Row keys of a finer and a coarser table on the columns ``by``, or None unless each coarser key is
    one row and every finer key is one of them (the finer table's rows nest in the coarser's)."""
    fkey = fine[by].astype(str).agg("\x1f".join, axis=1)
    ckey = coarse[by].astype(str).agg("\x1f".join, axis=1)
    if ckey.duplicated().any() or not set(fkey) <= set(ckey):
        return None
    return fkey, ckey


def _summing_columns(fine: pd.DataFrame, coarse: pd.DataFrame, by: list, shared: Sequence[str], *,
                     fine_shown: bool, coarse_shown: bool) -> list[str]:
    """The columns of ``shared`` whose finer groups (rows of ``fine`` by ``by``) sum to the coarser table's
    cells. A published table (``*_shown``) is read as shown (suppressed cells missing) and, for the finer
    one, only its groups shown in full are checked; an unpublished one is read as numbers."""
    keys = _nested_keys(fine, coarse, by)
    if keys is None:
        return []
    fkey, ckey = keys
    cols = []
    for c in shared:
        fv = fine[c].map(_shown_number) if fine_shown else pd.to_numeric(fine[c], errors="coerce")
        cv = coarse[c].map(_shown_number) if coarse_shown else pd.to_numeric(coarse[c], errors="coerce")
        full = fv.notna().groupby(fkey).all() if fine_shown else pd.Series(True, index=pd.unique(fkey))
        if _sums_match(fv, cv, fkey, ckey, full):
            cols.append(c)
    return cols


def _sums_match(fv: pd.Series, cv: pd.Series, fkey: pd.Series, ckey: pd.Series, full: pd.Series) -> bool:
    """Whether the finer values ``fv`` summed by ``fkey`` give the coarser values ``cv`` (rows ``ckey``)
    wherever the finer group is shown in full (``full``) and the coarser value is shown; at least one
    group must be checked."""
    sums = fv.groupby(fkey).sum(min_count=1)
    cmap = pd.Series(pd.to_numeric(pd.Series(list(cv)), errors="coerce").to_numpy(dtype=float),
                     index=np.asarray(ckey))
    checked = [k for k in sums.index if full.get(k, False) and pd.notna(cmap.get(k))]
    return bool(checked) and all(abs(sums[k] - cmap[k]) < 1e-9 for k in checked)


_READ: dict[tuple[str, int, int], pd.DataFrame] = {}


def _read_published(path: Path) -> pd.DataFrame:
    """A published table's text, read once per process while the file is unchanged (its path, size and
    modification time are the key): each table a chapter publishes is compared with every one before it."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _READ:
        if len(_READ) > 512:  # a long-lived process (a test worker) runs many chapters
            _READ.clear()
        _READ[key] = pd.read_csv(path, dtype=str, keep_default_na=False)
    return _READ[key].copy()


def margin_links(df: pd.DataFrame, counts: Sequence[str], id_cols: Sequence[str], tables_dir: Path,
                 name: str) -> list[dict]:
    """Other tables already published in ``tables_dir`` that share margins with this one.

    A published table ``X`` whose id columns are a strict subset of this table's, with count
    columns in common, is a *coarser* table when, for every row of ``X`` whose count is shown
    (and not rounded), this table's rows of that group add up to it: ``X`` then publishes the
    group totals of this table (``{"table", "by", "columns", "direction": "coarser"}``). The
    other way round (this table coarser than an ``X`` published before it, checked on the rows
    of ``X`` shown in full) is ``"direction": "finer"``. Hundepool et al. (2012), 4.3: linked
    tables must be protected together.
    """
    links: list[dict] = []
    if tables_dir is None or not Path(tables_dir).is_dir():
        return links
    ids = [c for c in id_cols if c in df.columns]
    # only tables published by this process (this chapter's run, in its fixed order): a table
    # left by an earlier run or written by another chapter running at the same time must not
    # change the result (same inputs, same bytes)
    for other in _PUBLISHED.get(str(Path(tables_dir).resolve()), []):
        rec_file = Path(tables_dir) / f"{other}.disclosure.json"
        if other == name or not (Path(tables_dir) / f"{other}.csv").exists() or not rec_file.exists():
            continue
        try:
            rec = json.loads(rec_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (rec.get("rules") or {}).get("rounding"):
            continue  # rounded margins are not exact totals
        if not any(c in rec.get("counts", []) for c in counts):
            continue  # no count column in common: nothing to read
        try:
            pub = _read_published(Path(tables_dir) / f"{other}.csv")
        except (OSError, ValueError):
            continue
        shared = [c for c in counts if c in rec.get("counts", []) and c in pub.columns]
        if not shared:
            continue
        x_ids = [c for c in _id_columns(pub, rec) if c in pub.columns]
        if x_ids and set(x_ids) < set(ids):
            fine, coarse, coarse_is_other = df, pub, True
            by = x_ids
        elif ids and set(ids) < set(x_ids):
            fine, coarse, coarse_is_other = pub, df, False
            by = ids
        else:
            continue
        cols = _summing_columns(fine, coarse, by, shared, fine_shown=not coarse_is_other,
                                coarse_shown=coarse_is_other)
        if cols:
            links.append({"table": other, "by": by, "columns": cols,
                          "direction": "coarser" if coarse_is_other else "finer"})
    return links


def _margin_effects(df, counts, links, tables_dir, threshold, vals):
    """Relations this table gains from coarser published tables (group sums known), and the cells
    of this table to suppress so that a finer published table's suppressed cells stay protected."""

    ncol = len(counts)
    rels: list[dict[int, float]] = []
    forced = np.zeros(vals.size, dtype=bool)
    for link in links:
        pub = pd.read_csv(Path(tables_dir) / f"{link['table']}.csv", dtype=str, keep_default_na=False)
        by = link["by"]
        if link["direction"] == "coarser":
            key = df[by].astype(str).agg("\x1f".join, axis=1).to_numpy()
            ckey = pub[by].astype(str).agg("\x1f".join, axis=1)
            for c in link["columns"]:
                shown = dict(zip(ckey, pub[c].map(_shown_number)))
                j = counts.index(c)
                for g in pd.unique(key):
                    if shown.get(g) is None or pd.isna(shown.get(g)):
                        continue
                    rels.append({int(i) * ncol + j: 1.0 for i in np.flatnonzero(key == g)})
        else:  # the other table is finer: does showing our totals pin its suppressed cells?
            rec = json.loads((Path(tables_dir) / f"{link['table']}.disclosure.json").read_text())
            fkey = pub[by].astype(str).agg("\x1f".join, axis=1).to_numpy()
            key = df[by].astype(str).agg("\x1f".join, axis=1).to_numpy()
            for c in link["columns"]:
                j = counts.index(c)
                for i, g in enumerate(key):
                    rows = np.flatnonzero(fkey == g)
                    sup_rows = [r for r in rows if str(pub[c].iloc[r]).strip() == SUPPRESSED]
                    if not sup_rows or forced[i * ncol + j]:
                        continue
                    # the suppressed cells of the group with our total known
                    lo = np.array([1.0 if any(cl.get("rule") == "primary" and cl["column"] == c and
                                              all(str(pub[k].iloc[r]) == str(v) for k, v in cl["key"].items()
                                                  if k in pub.columns)
                                              for cl in rec.get("cells", [])) else 0.0 for r in sup_rows])
                    hi = np.where(lo > 0, float(threshold), np.inf)
                    rest = sum(_shown_number(pub[c].iloc[r]) or 0.0 for r in rows if r not in sup_rows)
                    total = vals[i, j] - rest
                    iv = intervals([{k: 1.0 for k in range(len(sup_rows))}], [total], lo, hi,
                                   list(range(len(sup_rows))))
                    if any(iv[k][1] - iv[k][0] < required_width(threshold) - 1e-7 for k in iv):
                        forced[i * ncol + j] = True
    return rels, forced

# --------------------------------------------------------------------------- definitions
#: Statistics of a group (a mean, a standard deviation, an interval, a test) are shown only for groups
#: of at least this many (and more than the preset's threshold): SACRO/ACRO's ``safe_threshold`` for
#: statistics (Green et al. 2021, *GRAIMatter*/SACRO guidance: "no statistic of fewer than 10
#: observations"); a mean and a Student's t interval of a group of 3 whole numbers admit few sets
#: of values (issue 27), so the rule holds on every preset.
STATISTICS_MIN_GROUP = 10


def min_group(threshold: int) -> int:
    """The smallest group whose statistics are shown under a preset of ``threshold``."""
    return max(STATISTICS_MIN_GROUP, int(threshold) + 1)


def capped(df: pd.DataFrame, id_cols: Sequence[str], part: str, whole: str, *,
           why: str = "a subset is capped by its whole") -> list[dict]:
    """Definitions (for ``definitions=``) that in every row ``part <= whole``: a subset of a group
    is never larger than the group (e.g. ``n_band <= n``)."""
    out = []
    for _, r in df.iterrows():
        key = {c: plain(r[c]) for c in id_cols}
        out.append({"terms": [{"key": key, "column": part, "coef": 1.0},
                              {"key": key, "column": whole, "coef": -1.0}], "rhs": 0.0, "why": why})
    return out


def _match_row(df: pd.DataFrame, key: Mapping) -> int | None:
    match = np.ones(len(df), dtype=bool)
    for k, v in key.items():
        if k not in df.columns:
            return None
        match &= (df[k].astype(str) == str(v)).to_numpy()
    rows = np.flatnonzero(match)
    return int(rows[0]) if len(rows) == 1 else None


def _published_cell(tables_dir, table: str, key: Mapping, column: str, cache: dict, ranges: bool):
    """``(lower, upper, suppressed, primary)`` of a cell of another published table, as a reader
    sees it (a rounded count as its range when ``ranges``), or None when it cannot be found."""
    if table not in cache:
        f = Path(tables_dir) / f"{table}.csv" if tables_dir is not None else None
        r = Path(tables_dir) / f"{table}.disclosure.json" if tables_dir is not None else None
        cache[table] = (pd.read_csv(f, dtype=str, keep_default_na=False),
                        json.loads(r.read_text(encoding="utf-8"))) if f and f.exists() and r.exists() else None
    if cache[table] is None:
        return None
    pub, rec = cache[table]
    i = _match_row(pub, key)
    if i is None or column not in pub.columns or column not in rec.get("counts", []):
        return None
    text = str(pub[column].iloc[i]).strip()
    rules = rec.get("rules") or {}
    T = int(rules.get("threshold") or 0)
    half = int(rules.get("rounding") or 0) // 2 if ranges else 0
    if text == SUPPRESSED:
        keys = {c: str(v) for c, v in key.items()}
        prim = any(cl.get("rule") == "primary" and cl.get("column") == column and
                   {c: str(v) for c, v in cl["key"].items() if c in keys} == keys for cl in rec.get("cells", []))
        return (1.0, float(T), True, True) if prim else (0.0, np.inf, True, False)
    if text == LOW:
        return 1.0, float(max(half, 1)), False, False
    v = _shown_number(text)
    if v is None:
        return 0.0, 0.0, False, False
    return (max(0.0, v - half), v + half, False, False) if half and v else (v, v, False, False)


def _definitions(df: pd.DataFrame, counts: Sequence[str], definitions: Sequence[Mapping], tables_dir,
                 *, strict: bool, ranges: bool, with_origin: bool = False):
    """The inequalities ``sum(coef * cell) <= rhs`` of ``definitions`` over flat cell ids, with the
    cells of other published tables they name appended after this table's cells (``extras``: one
    dict each with ``lower``, ``upper``, ``suppressed``, ``primary``, ``table``, ``key``, ``column``)."""
    ncol = len(counts)
    base = len(df) * ncol
    cache: dict = {}
    extras: list[dict] = []
    index: dict[tuple, int] = {}
    ineqs = []
    origin: list[int] = []
    for o, d in enumerate(definitions):
        rel: dict[int, float] = {}
        ok = True
        for t in d["terms"]:
            coef = float(t.get("coef", 1.0))
            if t.get("table"):
                ident = (t["table"], tuple(sorted((k, str(v)) for k, v in t["key"].items())), t["column"])
                if ident not in index:
                    cell = _published_cell(tables_dir, t["table"], t["key"], t["column"], cache, ranges)
                    if cell is None:
                        ok = False
                        break
                    index[ident] = base + len(extras)
                    extras.append({"lower": cell[0], "upper": cell[1], "suppressed": cell[2], "primary": cell[3],
                                   "table": t["table"], "key": dict(t["key"]), "column": t["column"]})
                c = index[ident]
            else:
                i = _match_row(df, t["key"])
                if i is None or t["column"] not in counts:
                    if strict:
                        raise ValueError(f"definitions: no single row {t['key']} with count column "
                                         f"{t['column']!r} in the table")
                    ok = False
                    break
                c = i * ncol + list(counts).index(t["column"])
            rel[c] = rel.get(c, 0.0) + coef
        if ok:
            ineqs.append((rel, float(d.get("rhs", 0.0))))
            origin.append(o)
    if with_origin:
        return ineqs, extras, origin
    return ineqs, extras


# --------------------------------------------------------------------------- main
def _row_key(df: pd.DataFrame, i: int, id_cols: list[str]) -> Any:
    if id_cols:
        return {c: plain(df.iloc[i][c]) for c in id_cols}
    return {"row": int(i)}



def _round_half_up(v: np.ndarray, base: int) -> np.ndarray:
    return np.floor(v / base + 0.5) * base


def _fmt_count(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _declared(df: pd.DataFrame, counts, derived, statistics, follows):
    """``apply``'s declarations checked against ``df``: counts, derived columns (statistics included),
    statistics' dependencies and group sizes, followers, and the counts as a float array."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError("disclosure: df must be a pandas DataFrame")
    if df.empty:
        raise ValueError("disclosure: the table is empty; nothing to publish")
    counts = list(counts)
    if not counts:
        raise ValueError("disclosure: declare the count columns (counts=[...])")
    derived = {k: ([v] if isinstance(v, str) else list(v)) for k, v in (derived or {}).items()}
    # {column: group size} or {column: [group size, other counts it is built on]}
    stat_deps = {k: ([v] if isinstance(v, str) else list(v)) for k, v in (statistics or {}).items()}
    statistics = {k: v[0] for k, v in stat_deps.items()}
    follows = dict(follows or {})
    both = sorted(set(statistics) & set(derived))
    if both:
        raise ValueError(f"disclosure: column(s) {both} declared both derived and statistics")
    derived.update(stat_deps)
    missing = [c for c in [*counts, *derived, *[d for v in derived.values() for d in v], *follows,
                           *follows.values()] if c not in df.columns]
    if missing:
        raise ValueError(f"disclosure: column(s) {sorted(set(missing))} not in the table")
    bad = sorted(c for c in follows.values() if c not in counts)
    if bad:
        raise ValueError(f"disclosure: follows= names {bad}, which are not declared counts")
    for k, deps in derived.items():
        bad = [d for d in deps if d not in counts]
        if bad:
            raise ValueError(f"disclosure: derived column {k!r} depends on {bad}, which are not declared counts")
    if df.index.duplicated().any():
        raise ValueError("disclosure: the table's index has duplicate labels")
    vals = np.column_stack([pd.to_numeric(df[c], errors="raise").to_numpy(dtype=float) for c in counts])
    if np.any(vals[~np.isnan(vals)] < 0):
        raise ValueError("disclosure: counts must be non-negative")
    return counts, derived, stat_deps, statistics, follows, vals


def _render(df, vals, sup2, rules, counts, derived, statistics, follows, withheld, decimals, missing_symbol,
            id_cols, record) -> pd.DataFrame:
    """The published table: counts rounded or suppressed, derived columns and statistics shown or
    suppressed with their rule (added to ``record["cells"]``), followers from the published count."""
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
        small = np.zeros(len(df), dtype=bool)
        if k in statistics:
            size = vals[:, counts.index(statistics[k])]
            small = ~np.isnan(size) & (size < min_group(rules.threshold)) & ~hit & ~np.isnan(dv)
        gives = {i: why for (i, c), why in withheld.items() if c == k}
        col = []
        for i in range(len(df)):
            v = dv[i]
            if hit[i]:
                col.append(SUPPRESSED)
                record["cells"].append({"key": _row_key(df, i, id_cols), "column": k,
                                        "rule": "derived from suppressed "
                                                + ", ".join(d for d in deps if sup2[i, counts.index(d)])})
            elif small[i]:
                col.append(SUPPRESSED)
                record["cells"].append({"key": _row_key(df, i, id_cols), "column": k,
                                        "rule": f"statistic of a group under {min_group(rules.threshold)}"})
            elif i in gives:
                col.append(SUPPRESSED)
                record["cells"].append({"key": _row_key(df, i, id_cols), "column": k,
                                        "rule": f"statistic withheld: with it, a suppressed cell is narrowed "
                                                f"({gives[i]})"})
            elif np.isnan(v):
                col.append(missing_symbol)
            elif dec is not None:
                r = round(v, dec)  # display rounding only
                col.append(LOW if (v != 0 and r == 0) else f"{v:.{dec}f}")
            else:
                col.append(str(int(v)) if is_int else repr(float(v)))
        out[k] = pd.Series(col, index=df.index, dtype=object)
    for k, c in follows.items():
        j = counts.index(c)
        fv = pd.to_numeric(df[k], errors="raise").to_numpy(dtype=float)
        col = []
        for i in range(len(df)):
            if np.isnan(fv[i]) or np.isnan(vals[i, j]):
                col.append(missing_symbol)
            elif sup2[i, j]:
                col.append(SUPPRESSED)
                record["cells"].append({"key": _row_key(df, i, id_cols), "column": k,
                                        "rule": f"follows suppressed {c}"})
            else:
                col.append(_fmt_count(shown[i, j] - (vals[i, j] - fv[i])))
        out[k] = pd.Series(col, index=df.index, dtype=object)
    return out


def apply(df: pd.DataFrame, *, preset: str | None = "dfe", counts: Sequence[str],
          derived: Mapping[str, Sequence[str] | str] | None = None,
          totals: Totals | Mapping | None = None, threshold: int | None = None,
          rounding: int | None = None, decimals: int | Mapping[str, int] | None = None,
          missing_symbol: str = NOT_APPLICABLE, id_cols: Sequence[str] | None = None,
          detect: bool = True, tables_dir: str | Path | None = None, name: str | None = None,
          statistics: Mapping[str, str | Sequence[str]] | None = None, follows: Mapping[str, str] | None = None,
          definitions: Sequence[Mapping] | None = None) -> tuple[pd.DataFrame, dict]:
    """Apply the disclosure rules to ``df`` without writing anything.

    Returns ``(published, record)``: ``published`` has the same rows and columns, with count
    and derived columns as text (numbers or the symbols ``c``, ``z``, ``low``); ``record``
    lists the suppressed cells by row key (``id_cols``, default every column that is neither a
    count nor derived) and column, with the rule applied, never the suppressed values.

    ``statistics`` (``{column: count column of its group's size}``, or ``{column: [group size,
    other counts it is built on]}``): a mean, interval, test, person-time or rate of a group, shown
    only where the counts it is built on are shown and the group's count is at least :func:`min_group`
    (10 on every preset). ``follows`` (``{column: count}``): a column that is the count minus a
    constant (a model's residual degrees of freedom, ``n - parameters``), shown as the published
    count minus that constant, so it is no more exact than the count. ``definitions``: relations
    that follow from what the cells mean, ``sum(coef * cell) <= rhs`` (each
    ``{"terms": [{"key", "column", "coef"[, "table"]}], "rhs", "why"}``; a term with ``table``
    names a cell of a table published before in ``tables_dir``): cells are suppressed until no
    suppressed cell, of this table or the other, is narrower than the rule with them.
    Every statistic, follower and definition is listed in the record.
    See the module docstring for the rules and references.
    """
    counts, derived, stat_deps, statistics, follows, vals = _declared(df, counts, derived, statistics, follows)
    rules = _rules(preset, threshold, rounding)
    ncol = len(counts)
    flat = vals.reshape(-1)
    primary = (flat > 0) & (flat <= rules.threshold)
    tot = Totals.coerce(totals)
    id_cols = list(id_cols) if id_cols is not None else [c for c in df.columns if c not in counts and
                                                         c not in derived and c not in follows]
    flat_df = df.reset_index(drop=True)
    links = detect_links(flat_df, counts, id_cols, tot) if detect else []
    rels = _relations(flat_df, counts, tot) + _link_relations(flat_df, counts, links)
    margins = margin_links(flat_df, counts, id_cols, Path(tables_dir), name) \
        if (detect and tables_dir is not None) else []
    forced = np.zeros(flat.size, dtype=bool)
    if margins:
        m_rels, forced = _margin_effects(flat_df, counts, margins, Path(tables_dir), rules.threshold, vals)
        rels = rels + m_rels
    start = primary | forced
    sup = _secondary(flat, start, rels) if rels else start.copy()
    defs = [dict(x) for x in definitions or []]
    ineqs, extras, origin = _definitions(flat_df, counts, defs, tables_dir, strict=True, ranges=False,
                                         with_origin=True) if defs else ([], [], [])
    withheld: dict[tuple[int, str], str] = {}  # statistics a definition would otherwise give away

    def hidden(d: Mapping, sup_now: np.ndarray) -> bool:
        """A definition that uses a statistic of this table holds only while the statistic is shown."""
        st = d.get("statistic")
        if not st:
            return False
        i = _match_row(flat_df, st["key"])
        col = st["column"]
        if i is None or col not in statistics:
            return True
        size = vals[i, counts.index(statistics[col])]
        return ((i, col) in withheld or bool(sup_now[i * ncol + counts.index(statistics[col])])
                or bool(np.isnan(size) or size < min_group(rules.threshold)))

    if ineqs:
        ext = np.array([e["suppressed"] for e in extras], dtype=bool)
        ev = np.array([np.nan if e["suppressed"] else e["lower"] for e in extras], dtype=float)
        # another table's shown cells enter as known values (their own rounding ignored: stricter)
        fixed = np.concatenate([np.zeros(flat.size, dtype=bool), np.ones(len(extras), dtype=bool)])
        values_x = np.concatenate([flat, np.nan_to_num(ev, nan=0.0)])
        primary_x = np.concatenate([primary, np.array([e["primary"] for e in extras], dtype=bool)])
        sup_x = np.concatenate([sup, ext])
        for _ in range(len(defs) + 1):
            active = [q for q, o in zip(ineqs, origin) if not hidden(defs[o], sup_x)]
            sup_x = _protect_bounds(values_x, sup_x, primary_x, rels, rules.threshold, ineqs=active, fixed=fixed)
            weak = set(map(int, _narrow(values_x, sup_x, primary_x, rels, rules.threshold, active)))
            culprits = [o for q, o in zip(ineqs, origin) if not hidden(defs[o], sup_x)
                        and defs[o].get("statistic") and weak & set(q[0])]
            if not culprits:
                break
            for o in culprits:
                st = defs[o]["statistic"]
                withheld[(_match_row(flat_df, st["key"]), st["column"])] = defs[o].get("why", "a definition")
        sup = sup_x[: flat.size]
    elif rels and sup.any():
        sup = _protect_bounds(flat, sup, primary, rels, rules.threshold)
    defs = [d for d in defs if not hidden(d, sup)]  # the record never holds a withheld statistic's bound
    secondary = sup & ~primary
    sup2 = sup.reshape(vals.shape)
    record: dict[str, Any] = {
        "rules": {"preset": rules.name, "threshold": rules.threshold, "rounding": rules.rounding,
                  "description": rules.description},
        "symbols": {SUPPRESSED: SYMBOLS[SUPPRESSED], NOT_APPLICABLE: SYMBOLS[NOT_APPLICABLE], LOW: SYMBOLS[LOW]},
        "counts": counts, "derived": derived,
        "totals": None if tot is None else {"columns": {k: list(v) for k, v in tot.columns.items()},
                                             "row": list(tot.row) if tot.row else None,
                                             "groups": list(tot.groups), "external": tot.external},
        "linked": links,
        "margins": margins,
        "statistics": [{"column": k, "group_size": v, "derived_from": stat_deps[k],
                        "min_group": min_group(rules.threshold),
                        "rule": f"shown only where {v} is shown and at least {min_group(rules.threshold)}"}
                       for k, v in statistics.items()]
                      + [{"column": k, "derived_from": list(v),
                          "rule": "shown where " + ", ".join(v) + (" is" if len(v) == 1 else " are")
                                  + " shown; suppressed with " + ("it" if len(v) == 1 else "any of them")}
                         for k, v in derived.items() if k not in statistics]
                      + [{"column": k, "follows": v,
                          "rule": f"shown as {v} as published minus the same constant (no more exact than {v})"}
                         for k, v in follows.items()],
        "definitions": defs,
        # columns shown as the chapter gave them: neither counts, nor statistics, nor row keys
        # (an output checker reviews them by hand: no rule of this module was applied)
        "shown_as_given": [c for c in df.columns if c not in counts and c not in derived and c not in follows
                           and c not in id_cols],
        "cells": [],
    }
    if tot is not None and tot.external and tot.groups and tot.row is None:
        # the group totals published elsewhere (what a reader holds beside this table); a
        # total that is itself 1..threshold is not given (it would be suppressed there)
        codes = _group_codes(flat_df, list(tot.groups))
        ext = []
        for g in np.unique(codes):
            rows = np.flatnonzero(codes == g)
            for j, c in enumerate(counts):
                k = float(np.nansum(vals[rows, j]))
                ext.append({"key": {gc: plain(flat_df.iloc[rows[0]][gc]) for gc in tot.groups},
                            "column": c,
                            "total": None if 0 < k <= rules.threshold else _fmt_count(k)})
        record["external_totals"] = ext
    for cell in np.flatnonzero(sup):
        i, j = divmod(int(cell), ncol)
        record["cells"].append({"key": _row_key(df, i, id_cols), "column": counts[j],
                                "rule": "primary" if primary[cell] else "secondary"})

    out = _render(df, vals, sup2, rules, counts, derived, statistics, follows, withheld, decimals, missing_symbol,
                  id_cols, record)
    record["n_primary"] = int(primary.sum())
    record["n_secondary"] = int(secondary.sum())
    record["n_derived"] = sum(1 for c in record["cells"] if c["rule"].startswith("derived"))
    return out, record


def publish(df: pd.DataFrame, name: str, out_dir: str | Path, *, preset: str | None = "dfe",
            counts: Sequence[str], derived: Mapping[str, Sequence[str] | str] | None = None,
            totals: Totals | Mapping | None = None, threshold: int | None = None,
            rounding: int | None = None, decimals: int | Mapping[str, int] | None = None,
            missing_symbol: str = NOT_APPLICABLE, id_cols: Sequence[str] | None = None,
            index: bool = False, detect: bool = True, statistics: Mapping[str, str | Sequence[str]] | None = None,
            follows: Mapping[str, str] | None = None, definitions: Sequence[Mapping] | None = None
            ) -> tuple[pd.DataFrame, dict]:
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
                        missing_symbol=missing_symbol, id_cols=id_cols, detect=detect,
                        tables_dir=out_dir, name=name, statistics=statistics, follows=follows,
                        definitions=definitions)
    out_dir = Path(out_dir)
    csv_path = out_dir / f"{name}.csv"
    text = out.to_csv(index=index, lineterminator="\n")
    atomic_write_text(csv_path, text)
    record = {"table": f"{name}.csv", **record}
    write_json(out_dir / f"{name}.disclosure.json", record)
    done = _PUBLISHED.setdefault(str(out_dir.resolve()), [])
    if name in done:
        done.remove(name)
    done.append(name)
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
def attack(published: pd.DataFrame, record: Mapping, *, tables_dir: str | Path | None = None,
           margins: Sequence[dict] | None = None) -> list[dict]:
    """Attack a published table as a reader would: every relation its record declares or
    detected (``totals``, ``linked``, ``external_totals``), the published cells (a rounded
    count ``v`` is ``v - base//2 .. v + base//2``; ``low`` is ``1 .. base//2``; ``z`` is 0),
    primary suppressed cells ``1..threshold`` and other suppressed cells ``>= 0``; the feasible
    interval of every suppressed cell by linear programming (:func:`intervals`).

    Returns one dict per suppressed count cell: ``row``, ``column``, ``rule``, ``lower``,
    ``upper``, ``ok`` (the interval is at least :func:`required_width` wide, or ``rule_only``:
    narrower only as far as the suppression pattern itself tells with no published value, e.g.
    girls, boys and their total all suppressed under a threshold of 9 put girls in 1..8, and not
    a single value). Relations that follow from definitions (the record's ``definitions``, cells
    of other tables of ``tables_dir`` included) are inequalities of the program; a narrowed cell
    of another table is returned with its ``table`` and ``key``.
    """
    counts = list(record["counts"])
    rules = record["rules"]
    T = int(rules["threshold"])
    base = int(rules.get("rounding") or 0)
    half = base // 2 if base else 0
    df = published.reset_index(drop=True)
    n, ncol = len(df), len(counts)
    lower = np.zeros(n * ncol)
    upper = np.zeros(n * ncol)
    sup = np.zeros(n * ncol, dtype=bool)
    for j, c in enumerate(counts):
        for i, raw in enumerate(df[c].tolist()):
            k = i * ncol + j
            text = str(raw).strip()
            if text == SUPPRESSED:
                sup[k] = True
                lower[k], upper[k] = 0.0, np.inf
            elif text == LOW:
                lower[k], upper[k] = 1.0, float(max(half, 1))
            elif text in (NOT_APPLICABLE, "x", "", "nan"):
                lower[k] = upper[k] = 0.0
            else:
                v = float(text)
                lower[k], upper[k] = (max(0.0, v - half), v + half) if base and v else (v, v)
    primary = np.zeros(n * ncol, dtype=bool)
    for cell in record.get("cells", []):
        if cell.get("rule") != "primary" or cell["column"] not in counts:
            continue
        key = cell["key"]
        if set(key) == {"row"} and "row" not in df.columns:
            rows = [int(key["row"])]
        else:
            match = np.ones(n, dtype=bool)
            for kk, v in key.items():
                match &= (df[kk].astype(str) == str(v)).to_numpy()
            rows = list(np.flatnonzero(match))
        for i in rows:
            k = int(i) * ncol + counts.index(cell["column"])
            if sup[k]:
                primary[k] = True
                lower[k], upper[k] = 1.0, float(T)
    tot = record.get("totals")
    tot = Totals.coerce(tot) if tot else None
    links = list(record.get("linked") or [])
    # what a reader can see for themselves: in a long (variable, category) table, the variables
    # whose cells are all shown and add up to the same sum tell that every variable does
    for var in [c for c in df.columns if str(c).lower() in VARIABLE_COLUMNS]:
        if any(lk.get("kind") == "equal_totals" and lk.get("by") == var for lk in links):
            continue
        cols = []
        for j, c in enumerate(counts):
            known = {}
            for v, rows in df.groupby(var, sort=False).indices.items():
                ks = [int(i) * ncol + j for i in rows]
                if not any(sup[k] for k in ks) and all(lower[k] == upper[k] for k in ks):
                    known[v] = sum(lower[k] for k in ks)
            if len(known) >= 2 and len(set(known.values())) == 1:
                cols.append(c)
        if cols:
            links.append({"kind": "equal_totals", "by": var, "within": [], "columns": cols})
    rels = _relations(df, counts, tot) + _link_relations(df, counts, links)
    rhs = [0.0] * len(rels)
    if tot is not None and tot.external and tot.groups and tot.row is None:
        # relations of external groups, in _relations' order: one per (group, column)
        known = {(tuple(sorted((k, str(v)) for k, v in e["key"].items())), e["column"]): e["total"]
                 for e in record.get("external_totals") or []}
        start = len(tot.columns) * n if tot.columns else 0
        codes = _group_codes(df, list(tot.groups))
        keep = list(range(start))
        pos = start
        for g in np.unique(codes):
            row0 = int(np.flatnonzero(codes == g)[0])
            gkey = tuple(sorted((gc, str(df.iloc[row0][gc])) for gc in tot.groups))
            for c in counts:
                k = known.get((gkey, c))
                if k is not None:
                    rhs[pos] = float(k)
                    keep.append(pos)
                pos += 1
        keep += list(range(pos, len(rels)))
        rels = [rels[i] for i in keep]
        rhs = [rhs[i] for i in keep]
    # group totals published by coarser tables (``margins``, default the record's own)
    links = list(margins) if margins is not None else \
        [m for m in record.get("margins") or [] if m.get("direction") == "coarser"]
    if tables_dir is not None:
        for link in links:
            f = Path(tables_dir) / f"{link['table']}.csv"
            if not f.exists():
                continue
            cpub = pd.read_csv(f, dtype=str, keep_default_na=False)
            key = df[link["by"]].astype(str).agg("\x1f".join, axis=1).to_numpy()
            ckey = cpub[link["by"]].astype(str).agg("\x1f".join, axis=1)
            for c in link["columns"]:
                shown = dict(zip(ckey, cpub[c].map(_shown_number)))
                j = counts.index(c)
                for g in pd.unique(key):
                    k = shown.get(g)
                    if k is None or pd.isna(k):
                        continue
                    rels.append({int(i) * ncol + j: 1.0 for i in np.flatnonzero(key == g)})
                    rhs.append(float(k))
    # relations that follow from definitions, with the cells of other tables they name
    ineqs, extras = _definitions(df, counts, record.get("definitions") or [], tables_dir, strict=False,
                                 ranges=True)
    if extras:
        lower = np.concatenate([lower, [e["lower"] for e in extras]])
        upper = np.concatenate([upper, [e["upper"] for e in extras]])
        sup = np.concatenate([sup, [e["suppressed"] for e in extras]]).astype(bool)
        primary = np.concatenate([primary, [e["primary"] for e in extras]]).astype(bool)
    cells = np.flatnonzero(sup)
    iv = intervals(rels, rhs, lower, upper, cells, ineqs) if len(cells) else {}
    need = required_width(T) - 1e-6
    narrow = [int(c) for c in cells if iv[int(c)][1] - iv[int(c)][0] < need]
    own = {}
    if narrow:
        # what the rule itself tells, with no published value: the same suppression pattern and
        # relations (those with a published total left out), every shown cell any count >= 0
        lo0, hi0 = np.where(sup, lower, 0.0), np.where(sup, upper, np.inf)
        keep = [k for k, v in enumerate(rhs) if abs(v) < 1e-12]
        own = intervals([rels[k] for k in keep], [0.0] * len(keep), lo0, hi0, narrow,
                        [(r, v) for r, v in ineqs if abs(v) < 1e-12])
    out = []
    for c in cells:
        lo, hi = iv[int(c)]
        ok = bool(hi - lo >= need)
        # narrowed only to the rule's own range: nothing published narrows it further (and it is
        # not pinned): the same interval the suppression pattern alone gives
        by_rule = bool(not ok and int(c) in own and hi - lo > 0.5 and lo <= own[int(c)][0] + 1e-6
                       and hi >= own[int(c)][1] - 1e-6)
        if c >= n * ncol:
            e = extras[int(c) - n * ncol]
            out.append({"table": e["table"], "key": e["key"], "column": e["column"],
                        "rule": "primary" if e["primary"] else "secondary", "lower": lo, "upper": hi,
                        "ok": ok or by_rule, "rule_only": by_rule})
            continue
        i, j = divmod(int(c), ncol)
        out.append({"row": i, "column": counts[j], "rule": "primary" if primary[c] else "secondary",
                    "lower": lo, "upper": hi, "ok": ok or by_rule, "rule_only": by_rule})
    return out


def attack_folder(tables_dir: str | Path) -> dict[str, dict]:
    """:func:`attack` on every published table of a folder (``<name>.csv`` with its
    ``<name>.disclosure.json``), each with the group totals every coarser table of the folder
    publishes (its own record's margins and those other records point at it). Returns
    ``{table: {"suppressed": n, "narrow": [cells whose interval is narrower than the rule]}}``."""

    tables_dir = Path(tables_dir)
    records = {f.name[: -len(".disclosure.json")]: json.loads(f.read_text(encoding="utf-8"))
               for f in sorted(tables_dir.glob("*.disclosure.json"))}
    out = {}
    for name, record in records.items():
        pub = pd.read_csv(tables_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        margins = [m for m in record.get("margins") or [] if m["direction"] == "coarser"]
        margins += [{**m, "table": other, "direction": "coarser"} for other, r in records.items()
                    for m in r.get("margins") or [] if m["direction"] == "finer" and m["table"] == name]
        hits = attack(pub, record, tables_dir=tables_dir, margins=margins)
        out[name] = {"suppressed": len(hits), "narrow": [h for h in hits if not h["ok"]]}
    return out


# --------------------------------------------------------------------------- the attack on a whole run
#: Names of statistic columns (a mean, its interval, a test) when a record does not declare them.
STATISTIC_WORDS = ("mean", "median", "sd", "lower", "upper", "change", "hedges", "_p", "t_", "estimate")


def statistics_findings(published: pd.DataFrame, record: Mapping) -> list[dict]:
    """Statistics shown for a group under :func:`min_group` (or whose size is suppressed): the
    statistics a record declares (``statistics``), and derived columns of a group size ``n``
    named like a statistic (a record written without the rule). A mean and an interval of a
    few whole numbers admit few sets of values (issue 27)."""
    T = int((record.get("rules") or {}).get("threshold") or 0)
    m = min_group(T)
    pairs = {s["column"]: s["group_size"] for s in record.get("statistics") or [] if "group_size" in s}
    for k, deps in (record.get("derived") or {}).items():
        if k not in pairs and list(deps) == ["n"] and any(w in str(k).lower() for w in STATISTIC_WORDS):
            pairs[k] = "n"
    out = []
    for col, size in pairs.items():
        if col not in published.columns or size not in published.columns:
            continue
        for i, (v, g) in enumerate(zip(published[col].astype(str), published[size].astype(str))):
            if _shown_number(v) is None:
                continue
            gn = _shown_number(g)
            if gn is None and g.strip() in (NOT_APPLICABLE, "x", ""):
                continue
            if gn is None or gn < m:
                out.append({"row": i, "column": col, "group_size": g,
                            "rule": f"statistic of a group under {m} shown"})
    return out


def follows_findings(published: pd.DataFrame, record: Mapping) -> list[dict]:
    """Columns that are a count minus a constant (residual degrees of freedom ``dof*``) shown more
    exactly than the rounded count they follow: ``n - parameters`` then gives ``n`` back."""
    base = int((record.get("rules") or {}).get("rounding") or 0)
    declared = {s["column"] for s in record.get("statistics") or [] if "follows" in s}
    out = []
    if not base:
        return out
    for col in published.columns:
        if col in declared or not str(col).lower().startswith(("dof", "df_resid")):
            continue
        for i, v in enumerate(published[col].astype(str)):
            x = _shown_number(v)
            if x is not None and x % base:
                out.append({"row": i, "column": col, "value": v,
                            "rule": f"degrees of freedom not rounded to {base} beside counts that are"})
    return out


def _margins_in_run(records: Mapping[str, dict], pubs: Mapping[str, pd.DataFrame]) -> dict[str, list[dict]]:
    """For every table, the other tables of the run (any chapter) that publish its group sums:
    a table ``X`` (not rounded) whose id columns are a strict subset of this table's and whose
    counts equal the sums of this table's groups wherever those are shown in full."""
    out: dict[str, list[dict]] = {n: [] for n in records}
    ids = {n: [c for c in _id_columns(pubs[n], r) if c in pubs[n].columns] for n, r in records.items()}
    for fine, frec in records.items():
        for coarse, crec in records.items():
            if coarse == fine or (crec.get("rules") or {}).get("rounding") or (frec.get("rules") or {}).get("rounding"):
                continue
            by = ids[coarse]
            if not by or not set(by) < set(ids[fine]):
                continue
            shared = [c for c in frec["counts"] if c in crec.get("counts", []) and c in pubs[coarse].columns]
            if not shared:
                continue
            cols = _summing_columns(pubs[fine], pubs[coarse], by, shared, fine_shown=True, coarse_shown=True)
            if cols:
                out[fine].append({"table": coarse, "by": by, "columns": cols, "direction": "coarser"})
    return out


def attack_run(tables_dir: str | Path, figures_dir: str | Path | None = None,
               definitions: Mapping[str, Sequence[Mapping]] | None = None) -> dict:
    """The attack on everything a run releases (issue 27): every table of ``tables_dir`` and every
    figure's data (``<name>.data.csv`` in ``figures_dir``) with its record, together.

    * :func:`attack` on each, with its declared and detected relations, the group sums every other
      table of the run publishes (any chapter: :func:`_margins_in_run`), and the relations that
      follow from definitions (the record's ``definitions``, plus ``definitions`` given here by
      table, e.g. an attacker's own reading of a band-movement table);
    * a figure's data drawn from a table (its record's ``sources``): a value the figure shows where
      the table suppresses the cell gives the cell back exactly;
    * statistics of small groups (:func:`statistics_findings`) and degrees of freedom more exact
      than the counts they follow (:func:`follows_findings`).

    Returns ``{"suppressed": distinct suppressed cells, "rule_only": cells narrower than the rule's
    width only as far as the suppression pattern itself tells (:func:`attack`; counted as protected),
    "narrowed": [cells narrower than the rule,
    distinct, each {"table", "row", "column", "lower", "upper", "how"}], "statistics": [...],
    "follows": [...], "tables": {name: per-table attack}}``.
    """
    tables_dir = Path(tables_dir)
    recs: dict[str, dict] = {}
    pubs: dict[str, pd.DataFrame] = {}
    where: dict[str, Path] = {}
    for d in [tables_dir, *([Path(figures_dir)] if figures_dir is not None else [])]:
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.disclosure.json")):
            name = f.name[: -len(".disclosure.json")]
            csv = d / f"{name}.csv"
            if not csv.exists():
                continue
            recs[name] = json.loads(f.read_text(encoding="utf-8"))
            pubs[name] = pd.read_csv(csv, dtype=str, keep_default_na=False)
            where[name] = d
    extra_defs = dict(definitions or {})
    run_margins = _margins_in_run({n: r for n, r in recs.items() if where[n] == tables_dir}, pubs)
    narrowed: dict[tuple, dict] = {}
    suppressed: set[tuple] = set()
    per: dict[str, dict] = {}
    stats_f, follows_f = [], []
    rule_only: set[tuple] = set()

    def note(table, row, column, lo, hi, how):
        k = (table, int(row), column)
        if k not in narrowed or hi - lo < narrowed[k]["upper"] - narrowed[k]["lower"]:
            narrowed[k] = {"table": table, "row": int(row), "column": column, "lower": lo, "upper": hi, "how": how}

    for name, rec in recs.items():
        pub = pubs[name]
        rec = {**rec, "definitions": [*(rec.get("definitions") or []), *extra_defs.get(name, [])]}
        margins = [m for m in rec.get("margins") or [] if m.get("direction") == "coarser"]
        margins += [{**m, "table": o, "direction": "coarser"} for o, r in recs.items()
                    for m in r.get("margins") or [] if m.get("direction") == "finer" and m.get("table") == name]
        seen = {m["table"] for m in margins}
        margins += [m for m in run_margins.get(name, []) if m["table"] not in seen]
        hits = attack(pub, rec, tables_dir=tables_dir, margins=margins)
        per[name] = {"suppressed": sum(1 for h in hits if "table" not in h),
                     "narrow": [h for h in hits if not h["ok"]]}
        for h in hits:
            if "table" in h:
                i = _match_row(pubs[h["table"]], h["key"]) if h["table"] in pubs else None
                if i is None:
                    continue
                t, row = h["table"], i
            else:
                t, row = name, h["row"]
            suppressed.add((t, int(row), h["column"]))
            if h.get("rule_only"):
                rule_only.add((t, int(row), h["column"]))
            if not h["ok"]:
                note(t, row, h["column"], h["lower"], h["upper"], f"relations of {name}")
        stats_f += [{"table": name, **f} for f in statistics_findings(pub, rec)]
        follows_f += [{"table": name, **f} for f in follows_findings(pub, rec)]
        # a figure's data drawn from a table: what it shows of a cell the table suppresses
        for i, src in enumerate(rec.get("sources") or []):
            t = src.get("table")
            if t not in pubs or i >= len(pub):
                continue
            j = _match_row(pubs[t], src.get("key") or {})
            if j is None:
                continue
            for dcol, tcol in (src.get("values") or {}).items():
                if tcol not in pubs[t].columns or dcol not in pub.columns:
                    continue
                if str(pubs[t][tcol].iloc[j]).strip() == SUPPRESSED:
                    v = _shown_number(pub[dcol].iloc[i])
                    if v is not None and tcol in recs[t].get("counts", []):
                        suppressed.add((t, j, tcol))
                        note(t, j, tcol, v, v, f"figure data {name} draws it")
                    elif v is not None:
                        stats_f.append({"table": name, "row": i, "column": dcol,
                                        "rule": f"figure draws {t}.{tcol}, which the table suppresses"})
    return {"suppressed": len(suppressed), "rule_only": len(rule_only - set(narrowed)),
            "narrowed": sorted(narrowed.values(), key=lambda d: (d["table"], d["row"],
                                                                                                   d["column"])),
            "statistics": stats_f, "follows": follows_f, "tables": per}
