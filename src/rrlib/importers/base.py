"""The machinery every importer shares: mapping files, reading extracts, field checks, recoding,
pseudonymisation and writing a data folder with its MANIFEST.

A *mapping* (``rrlib/importers/mappings/<source>.yml``, documented and editable) names the
source's fields, which contract column each becomes, the code lists used to recode them, and
the public documentation the names come from. The Python module of each source does what a
table of names cannot (spells from episodes, self-harm flags from codes, ids).

Field names are matched case-insensitively after removing a suffix the source adds per
collection (NPD: ``_SPR16``, ``_EX17``...); a field may have several accepted names (``Sex`` or
``Gender``), listed in order of preference: when an extract carries more than one of them
(HES: ``PROCODE3`` and ``PROCODET``), the first in the mapping's order is used and the others are
reported as not used. Fields named by a pattern (``field_patterns``: HES ``DIAG_4_nn``) keep their
own names. A required field that is absent stops the import with an :class:`ImportFieldError`
naming the field, the file and the source; nothing is written. A field the mapping does not know
is left out and listed in the import report (``IMPORT_REPORT.md``), never a stop.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import yaml

from .. import pseudonymise
from ..data.reader import TextFileError, parse_flags, read_text_frame

MAPPINGS_DIR = Path(__file__).with_name("mappings")


class ImportFieldError(ValueError):
    """An extract does not have the fields (or codes) its source's mapping expects."""


@dataclass
class Mapping:
    """One source's mapping file, parsed."""

    source: str
    title: str
    tables: list[str]
    citations: list[str]
    fields: dict[str, dict]
    codes: dict[str, dict] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)
    ignore_patterns: list[str] = field(default_factory=list)
    field_patterns: dict[str, dict] = field(default_factory=dict)
    rules: list[dict] = field(default_factory=list)
    suffix: str | None = None
    notes: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path else ""

    def accepted_names(self, canonical: str) -> list[str]:
        spec = self.fields[canonical]
        return [canonical, *spec.get("also", [])]


def load_mapping(source: str, path: str | Path | None = None) -> Mapping:
    """The mapping of ``source`` (``mappings/<source>.yml``, or ``path`` for an edited copy)."""
    p = Path(path) if path else MAPPINGS_DIR / f"{source}.yml"
    if not p.is_file():
        raise ImportFieldError(f"no mapping file for source {source!r} ({p.name})")
    doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    missing = [k for k in ("source", "title", "tables", "citations", "fields") if k not in doc]
    if missing:
        raise ImportFieldError(f"mapping {p.name}: missing keys {missing}")
    if doc["source"] != source:
        raise ImportFieldError(f"mapping {p.name} is for source {doc['source']!r}, not {source!r}")
    fields = {str(k): (v or {}) for k, v in doc["fields"].items()}
    for k, v in fields.items():
        v["also"] = [str(a) for a in v.get("also", [])]
    codes = {str(k): {_code_key(c): m for c, m in (v or {}).items()} for k, v in (doc.get("codes") or {}).items()}
    return Mapping(source=source, title=doc["title"], tables=list(doc["tables"]),
                   citations=list(doc["citations"]), fields=fields, codes=codes,
                   ignore=[str(x) for x in doc.get("ignore", [])],
                   ignore_patterns=[str(x) for x in doc.get("ignore_patterns", [])],
                   field_patterns={str(k): (v or {}) for k, v in (doc.get("field_patterns") or {}).items()},
                   rules=list(doc.get("rules", [])), suffix=doc.get("suffix"),
                   notes=list(doc.get("notes", [])), path=p)


def _code_key(c) -> str:
    """Code list keys as text (YAML reads ``01`` as 1 and ``2A`` as text): ``"01"`` stays ``"01"``
    only when quoted in the file; unquoted numbers are written without leading zeros."""
    if isinstance(c, bool):
        return str(c).lower()
    return str(c)


# --------------------------------------------------------------------------- reading


def read_extract(path: str | Path, source: str | None = None) -> pd.DataFrame:
    """A CSV extract (``.csv``/``.csv.gz``/``.tsv``; UTF-8, BOM allowed) read as text, empty = missing.

    A file that cannot be read as such (not UTF-8, not gzip, ragged rows) stops the import with
    one line naming the file (and ``source``) and the problem."""
    p = Path(path)
    try:
        return _read_extract(p)
    except ImportFieldError as exc:
        if source is None:
            raise
        msg = str(exc)
        raise ImportFieldError(msg.replace(f"{p.name}: ", f"{p.name} (source {source}): ", 1)) from None


def _read_extract(p: Path) -> pd.DataFrame:
    if not p.is_file():
        raise ImportFieldError(f"{p.name}: no such file")
    sep = "\t" if p.name.endswith((".tsv", ".tsv.gz", ".txt")) else ","
    try:
        df = read_text_frame(p, sep=sep)  # the data contract's text rules (rrlib.data.reader)
    except TextFileError as exc:
        why = "; ".join(pr.detail or pr.rule for pr in exc.problems)
        raise ImportFieldError(f"{p.name}: {why}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = " ".join(str(exc).split())
        raise ImportFieldError(f"{p.name}: does not parse as {'TSV' if sep == chr(9) else 'CSV'}: {msg}") from None
    if df.columns.duplicated().any() or any(str(c).startswith("Unnamed: ") for c in df.columns):
        raise ImportFieldError(f"{p.name}: does not parse as CSV: empty or repeated field names in the header")
    df = df.apply(lambda s: s.str.strip())
    return df.where(df != "", np.nan)


@dataclass
class FieldMatch:
    """What :func:`match_fields` found in one file's header (reported in IMPORT_REPORT)."""

    used: dict[str, str] = field(default_factory=dict)            # canonical -> field of the file
    not_used: dict[str, list[str]] = field(default_factory=dict)  # canonical -> same-meaning fields left
    ignored: list[str] = field(default_factory=list)               # known to the mapping, not needed
    unknown: list[str] = field(default_factory=list)               # not in the mapping: left out
    suffixes: dict[str, str] = field(default_factory=dict)         # canonical -> suffix removed

    def as_dict(self) -> dict:
        return {"used": dict(self.used), "same_meaning_not_used": {k: list(v) for k, v in self.not_used.items()},
                "ignored_known": list(self.ignored), "ignored_unknown": list(self.unknown)}


def match_fields(df: pd.DataFrame, m: Mapping, file_name: str, *, allow_extra: Iterable[str] = ()
                 ) -> tuple[pd.DataFrame, FieldMatch]:
    """Rename the extract's fields to the mapping's canonical names.

    Returns ``(frame, match)``: the frame has every canonical field (absent optional ones
    empty) plus the fields named by ``field_patterns`` (upper case); ``match`` says which field
    gave each canonical name, the same-meaning fields not used (``PROCODET`` when ``PROCODE3`` is
    there), the suffix removed (``{"FSMeligible": "_SPR16"}``) and the fields left out (known to
    the mapping as not needed, or unknown to it: both listed, neither a stop). Raises
    :class:`ImportFieldError` naming missing required fields (with the file and the source).
    """
    suffix_re = re.compile(f"({m.suffix})$", re.IGNORECASE) if m.suffix else None
    rank: dict[str, tuple[str, int]] = {}
    for canon in m.fields:
        for i, name in enumerate(m.accepted_names(canon)):
            rank.setdefault(name.lower(), (canon, i))
    ignore = {x.lower() for x in [*m.ignore, *allow_extra]}
    pats = [(re.compile(rx, re.IGNORECASE), rx) for rx in m.field_patterns]
    found: dict[str, list[tuple[int, str, str]]] = {}
    fm = FieldMatch()
    keep_pattern: dict[str, str] = {}
    for col in df.columns:
        base, suf = str(col), ""
        if suffix_re is not None:
            mm = suffix_re.search(base)
            if mm and mm.start() > 0:
                base, suf = base[: mm.start()], mm.group(1)
        hit = rank.get(base.lower())
        if hit is not None:
            found.setdefault(hit[0], []).append((hit[1], str(col), suf))
            continue
        if any(rx.fullmatch(base) for rx, _ in pats):
            name = base.upper()
            if name in keep_pattern.values():
                raise ImportFieldError(f"{file_name} (source {m.source}): field {base!r} appears twice")
            keep_pattern[col] = name
            continue
        if (base.lower() in ignore or str(col).lower() in ignore
                or any(re.search(rx, base, re.IGNORECASE) for rx in m.ignore_patterns)):
            fm.ignored.append(str(col))
        else:
            fm.unknown.append(str(col))
    rename = {}
    for canon, cands in found.items():
        cands.sort()
        _, col, suf = cands[0]
        rename[col] = canon
        fm.used[canon] = col
        if suf:
            fm.suffixes[canon] = suf
        if len(cands) > 1:
            fm.not_used[canon] = [c for _, c, _ in cands[1:]]
    missing = [c for c, spec in m.fields.items() if spec.get("required", True) and c not in fm.used]
    if missing:
        names = "; ".join(" or ".join(m.accepted_names(c)) for c in missing)
        raise ImportFieldError(f"{file_name} (source {m.source}): missing required field(s): {names} "
                               f"(needed by the contract; see {m.path.name if m.path else 'the mapping'})")
    out = df[list(rename)].rename(columns=rename)
    for col, name in keep_pattern.items():
        out[name] = df[col]
    for canon in m.fields:
        if canon not in out.columns:
            out[canon] = np.nan
    return out, fm


_YEAR_IN_NAME = (
    # (pattern on a field suffix or a file/table name, how the year is read)
    (r"(?:^|[^0-9])(20\d{2})[-_/]?(\d{2})(?:[^0-9]|$)", "span"),   # 2016_17, 201617, 2016-17
    (r"_(?:SPR|AUT|SUM|EXC?|PRU|AP)_?(\d{2})(\d{2})(?:[^0-9]|$)", "span2"),  # _EXC1617
    (r"_(?:SPR|AUT|SUM|EXC?|PRU|AP)_?(\d{2})(?:[^0-9]|$)", "end"),  # _SPR17, _EX17: 2016/17
)


def year_from_names(*names: str) -> tuple[str, str] | None:
    """The academic year (``2016/17``) a collection suffix or a table/file name gives, with the
    name it came from: ``_SPR17``, ``_EX17``, ``_EXC17`` (the collection of the year ending in 2017,
    i.e. 2016/17, as the NPD labels its spring census), ``_EXC1617``, ``2016_17``, ``201617``.
    ``None`` when no name carries a year."""
    for name in names:
        if not name:
            continue
        for rx, how in _YEAR_IN_NAME:
            mm = re.search(rx, name, re.IGNORECASE)
            if not mm:
                continue
            if how == "end":
                end = 2000 + int(mm.group(1))
                return f"{end - 1}/{end % 100:02d}", name
            a, b = int(mm.group(1)), int(mm.group(2))
            a = a if a > 100 else 2000 + a
            if (a + 1) % 100 == b:
                return f"{a}/{b:02d}", name
    return None


# --------------------------------------------------------------------------- recoding


class Dropped:
    """Where every row of every file went (reported in IMPORT_REPORT and the MANIFEST).

    ``counts``: rows left out by reason (all files). ``per_file``: per file, rows left out by
    reason (``left_out``) and rows folded into another written row (``combined``, e.g. the later
    episodes of a HES spell). ``details``: what the source's importer wants reported (spells
    built, self-harm spells by diagnosis position and code format, the year's origin...)."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.per_file: dict[str, dict[str, dict[str, int]]] = {}
        self.details: dict = {}

    def add(self, reason: str, n: int, file: str | None = None, *, kind: str = "left_out") -> None:
        if not n:
            return
        if kind == "left_out":
            self.counts[reason] = self.counts.get(reason, 0) + int(n)
        if file is not None:
            d = self.per_file.setdefault(file, {"left_out": {}, "combined": {}})[kind]
            d[reason] = d.get(reason, 0) + int(n)

    def rows(self, files: pd.Series, reason: str, *, kind: str = "left_out") -> None:
        """Count rows (one entry per row: the file each came from) under ``reason``."""
        for f, n in files.value_counts(sort=False).items():
            self.add(reason, int(n), str(f), kind=kind)


def drop_rows(df: pd.DataFrame, mask, reason: str, dropped: Dropped) -> pd.DataFrame:
    """Leave out the rows of ``df`` where ``mask`` holds, counted under ``reason`` per file
    (``df`` carries the file of each row in ``_file``)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        dropped.rows(df.loc[mask, "_file"], reason)
    return df.loc[~mask].reset_index(drop=True)


def drop_coded(df: pd.DataFrame, mapped: pd.Series, dropped: Dropped) -> tuple[pd.DataFrame, pd.Series]:
    """Rows whose code maps to ``drop: <reason>`` (a rule of the mapping file) are left out and
    counted under that reason; returns the remaining rows and their mapped values."""
    txt = mapped.astype("string")
    is_drop = txt.str.startswith("drop").fillna(False).to_numpy(dtype=bool)
    for reason in sorted(set(txt[is_drop])):
        why = reason.partition(":")[2].strip() or f"{mapped.name}: code marked drop in the mapping"
        sel = (txt == reason).fillna(False).to_numpy(dtype=bool)
        df_sel = df.loc[sel]
        dropped.rows(df_sel["_file"], why)
    keep = ~is_drop
    return df.loc[keep].reset_index(drop=True), mapped[keep].reset_index(drop=True)


def recode(s: pd.Series, m: Mapping, code_list: str, file_name: str, *, field_name: str | None = None
           ) -> pd.Series:
    """Map the codes of ``s`` through ``m.codes[code_list]``; missing stays missing.

    A code not in the list stops the import (the error names the codes, the field, the file and
    the source, and the mapping file to extend). Values are compared as text, with integer-like
    values also tried without leading zeros and decimals (``"02"`` and ``"2.0"`` match ``2``).
    A ``"*"`` entry maps every other code (e.g. residence outside the study area -> Other).
    A mapped value ``drop: <reason>`` marks rows to leave out (:func:`drop_coded` drops and
    counts them under that reason).
    """
    table = m.codes[code_list]
    vals = s.astype("string")

    def look(v):
        if v in table:
            return table[v]
        try:
            f = float(v)
            if f.is_integer() and str(int(f)) in table:
                return table[str(int(f))]
        except (TypeError, ValueError):
            pass
        up = str(v).upper()
        return table.get(up, table.get("*", _UNKNOWN))

    uniq = vals.dropna().unique()
    mapped = {v: look(v) for v in uniq}
    bad = sorted(str(v) for v, r in mapped.items() if r is _UNKNOWN)
    if bad:
        shown = ", ".join(repr(b) for b in bad[:12]) + (f" and {len(bad) - 12} more" if len(bad) > 12 else "")
        raise ImportFieldError(
            f"{file_name} (source {m.source}), field {field_name or code_list}: unknown code(s) {shown}; "
            f"known: {', '.join(sorted(map(str, table)))} (add them under codes.{code_list} in "
            f"{m.path.name if m.path else 'the mapping'})")
    return vals.map(lambda v: mapped.get(v) if v is not pd.NA else None).astype(object).where(vals.notna(), None)


_UNKNOWN = object()


def parse_dates(s: pd.Series, file_name: str, source: str, field_name: str) -> pd.Series:
    """Dates given as ISO ``YYYY-MM-DD``, ``DD/MM/YYYY`` or ``YYYYMMDD`` (the forms the NPD and NHS
    extracts use); anything else stops the import naming the field and a few values."""
    txt = s.astype("string").str.slice(0, 10)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt, rx in (("%Y-%m-%d", r"^\d{4}-\d{2}-\d{2}$"), ("%d/%m/%Y", r"^\d{2}/\d{2}/\d{4}$"),
                    ("%Y%m%d", r"^\d{8}$")):
        hit = txt.str.fullmatch(rx).fillna(False).astype(bool)
        if hit.any():
            out[hit] = pd.to_datetime(txt[hit], format=fmt, errors="coerce")
    bad = txt.notna() & out.isna()
    if bad.any():
        vals = ", ".join(repr(v) for v in txt[bad].unique()[:5])
        raise ImportFieldError(f"{file_name} (source {source}), field {field_name}: {int(bad.sum())} "
                               f"value(s) not a date (YYYY-MM-DD, DD/MM/YYYY or YYYYMMDD): {vals}")
    return out


def to_int(s: pd.Series, file_name: str, source: str, field_name: str) -> pd.Series:
    """Whole numbers (``"3"``, ``"3.0"``); anything else stops the import."""
    num = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & (num.isna() | (num.notna() & (num % 1 != 0)))
    if bad.any():
        vals = ", ".join(repr(v) for v in s[bad].unique()[:5])
        raise ImportFieldError(f"{file_name} (source {source}), field {field_name}: "
                               f"{int(bad.sum())} value(s) not a whole number: {vals}")
    return num.astype("Int64")


def to_bool(s: pd.Series, file_name: str, source: str, field_name: str) -> pd.Series:
    """Flags written 1/0, true/false, Y/N, T/F (any case)."""
    t = s.astype("string").str.strip().str.lower()
    # the contract's true/false words (rrlib.data.reader), and 1.0/0.0 as exported by some systems
    out = parse_flags(s, extra_true=("1.0",), extra_false=("0.0",))
    bad = t.notna() & out.isna()
    if bad.any():
        vals = ", ".join(repr(v) for v in s[bad].unique()[:5])
        raise ImportFieldError(f"{file_name} (source {source}), field {field_name}: "
                               f"value(s) not a flag (1/0, true/false, Y/N): {vals}")
    return out.astype("boolean")


def academic_year_label(s: pd.Series, file_name: str, source: str, field_name: str) -> pd.Series:
    """Academic years as the contract writes them (``2016/17``) from ``2016/17``, ``2016/2017``,
    ``2016-17``, ``201617`` or ``2016`` (the year it starts)."""
    t = s.astype("string").str.strip()
    first = pd.Series(pd.NA, index=s.index, dtype="Int64")
    for rx in (r"^(\d{4})[/-](\d{2})$", r"^(\d{4})[/-](\d{4})$", r"^(\d{4})(\d{2})$", r"^(\d{4})$"):
        mm = t.str.extract(rx)
        ok = mm[0].notna()
        if len(mm.columns) > 1:
            a = pd.to_numeric(mm[0], errors="coerce")
            b = pd.to_numeric(mm[1], errors="coerce")
            ok &= ((a + 1) % 100 == b % 100)
        first[ok & first.isna()] = pd.to_numeric(mm[0][ok & first.isna()])
    bad = t.notna() & first.isna()
    if bad.any():
        vals = ", ".join(repr(v) for v in s[bad].unique()[:5])
        raise ImportFieldError(f"{file_name} (source {source}), field {field_name}: not an academic year "
                               f"(2016/17, 2016/2017, 201617): {vals}")
    return first.map(lambda y: None if y is pd.NA else f"{int(y)}/{(int(y) + 1) % 100:02d}").astype(object)


# --------------------------------------------------------------------------- identifiers


def pseudo_ids(s: pd.Series, key: bytes, prefix: str, *, allowed: tuple[str, ...] = ()) -> pd.Series:
    """Pseudonymise an identifier column with :func:`rrlib.pseudonymise.pseudonym`.

    Each pseudonym is ``prefix`` + the 16 keyed-hash digits of the identifier *as given* (so the
    same raw identifier in two extracts, or in a file pseudonymised with ``rr pseudonymise``
    whose identifiers start with that prefix, gets the same pseudonym and tables still join).
    With ``allowed`` (e.g. ``("P", "H")``), a raw value that starts with one of those letters
    keeps it as its prefix. Missing stays missing; two identifiers with one pseudonym stop.
    """
    codes, uniq = pd.factorize(s.astype("string"), use_na_sentinel=True)
    out_u = []
    for u in uniq:
        u = str(u)
        p = prefix
        for a in allowed:
            if u.startswith(a) and u[len(a):len(a) + 1].isdigit():
                p = a
        out_u.append(p + pseudonymise.pseudonym(u, key, keep_prefix=False))
    if len(set(out_u)) != len(out_u):
        raise pseudonymise.PseudonymiseError(f"column {s.name!r}: two identifiers got the same pseudonym")
    arr = np.array(out_u + [None], dtype=object)
    return pd.Series(arr[np.where(codes >= 0, codes, len(out_u))], index=s.index, name=s.name)


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()
