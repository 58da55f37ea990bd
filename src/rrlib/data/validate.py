"""Reading and validating raw tables against the data contract.

Every problem is reported with the file, the column, the rule and the first offending rows
(line numbers count the header as line 1), all problems of a run in one
:class:`DataValidationError`. Raw files are only ever opened for reading.
"""
from __future__ import annotations

import codecs
import copy
import gzip
import io
import re
import time
import zlib
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from .table import Table
from .table import tables as registered_tables

#: How many offending rows a message shows per problem.
MAX_ROWS_SHOWN = 5
#: How many problems a message lists before "... and N more".
MAX_PROBLEMS_SHOWN = 40

_INT_RE = re.compile(r"^[+-]?\d+$")
_TRUE = {"true", "1", "t", "yes", "y"}
_FALSE = {"false", "0", "f", "no", "n"}


@dataclass
class Problem:
    """One broken rule in one file (and column)."""

    file: str
    rule: str
    column: str | None = None
    rows: list[tuple[int | None, object]] = field(default_factory=list)  # (line, value)
    count: int | None = None  # number of offending rows/values, when known
    detail: str = ""

    def format(self) -> str:
        where = self.file + (f", column '{self.column}'" if self.column else "")
        text = f"{where}: rule '{self.rule}'"
        if self.detail:
            text += f": {self.detail}"
        if self.rows:
            n = self.count if self.count is not None else len(self.rows)
            shown = ", ".join(_fmt_row(line, v) for line, v in self.rows[:MAX_ROWS_SHOWN])
            text += f"; {n} offending row{'s' if n != 1 else ''}, first: {shown}"
        return text


def _merge_problems(found: dict, problems) -> None:
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


def _plain_value(v):
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return None if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")
    return v.item() if hasattr(v, "item") else v


def _short(value, width: int = 40) -> str:
    if isinstance(value, dict):
        s = "{" + ", ".join(f"{k}={_plain_value(v)!r}" for k, v in value.items()) + "}"
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


# --------------------------------------------------------------------------- reading

def _as_table(table: str | Table) -> Table:
    if isinstance(table, Table):
        return table
    specs = registered_tables()
    if table not in specs:
        raise KeyError(f"unknown table {table!r}; registered tables: {', '.join(specs) or '(none)'}")
    return specs[table]


def find_file(data_dir: str | Path, name: str) -> Path | None:
    """``<name>.csv`` or ``<name>.csv.gz`` in ``data_dir``; None if neither exists.

    Raises :class:`DataValidationError` when both exist (which one is meant is unclear).
    """
    d = Path(data_dir)
    found = [p for p in (d / f"{name}.csv", d / f"{name}.csv.gz") if p.is_file()]
    if len(found) == 2:
        raise DataValidationError([Problem(
            file=f"{name}.csv", rule="one file per table",
            detail=f"both {name}.csv and {name}.csv.gz exist; keep one")], d)
    return found[0] if found else None


#: Bytes decoded at a time when checking that a file is UTF-8 (the text itself is not kept).
_UTF8_BLOCK = 1 << 24


def _is_utf8(raw: bytes) -> bool:
    """Whether ``raw`` is valid UTF-8, without holding the decoded text (checked block by block)."""
    if raw.isascii():
        return True
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    mv = memoryview(raw)
    try:
        for i in range(0, len(raw), _UTF8_BLOCK):
            dec.decode(mv[i: i + _UTF8_BLOCK], final=i + _UTF8_BLOCK >= len(raw))
    except UnicodeDecodeError:
        return False
    return True


def _decode(path: Path) -> tuple[bytes | None, list[Problem]]:
    """The file's bytes (gunzipped, byte-order mark removed), checked to be strict UTF-8."""
    raw = path.read_bytes()
    fname = path.name
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            return None, [Problem(fname, "gzip format", detail=f"not a readable gzip file ({exc})")]
    if not raw or raw.isspace():
        return None, [Problem(fname, "not empty", detail="the file is empty (no header, no rows)")]
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\0" in raw:  # a NUL byte is never text: a binary or corrupted file
        at = raw.index(b"\0")
        return None, [Problem(fname, "no NUL bytes", rows=[(raw[:at].count(b"\n") + 1, "NUL")],
                              count=raw.count(b"\0"),
                              detail="the file holds NUL (0x00) bytes: not a text CSV file")]
    if _is_utf8(raw):
        return raw, []
    try:
        raw.decode("utf-8", errors="strict")
        return raw, []  # pragma: no cover - _is_utf8 said otherwise
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start: exc.start + 4]
        n_bad = len(raw.decode("utf-8", errors="replace").split("\ufffd")) - 1
        return None, [Problem(
            fname, "UTF-8 encoding", rows=[(line, bad)], count=n_bad,
            detail=(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte offset {exc.start}); "
                    "re-save the file as UTF-8"))]


def _dtype_name(col) -> str:
    return str(getattr(col, "dtype", "") or "")


def bad_rows(mask: np.ndarray, values: pd.Series, offset: int = 0) -> list[tuple[int, object]]:
    """(line, value) of the first offending rows; ``offset`` = data rows before ``values``."""
    idx = np.flatnonzero(mask)[:MAX_ROWS_SHOWN]
    return [(int(i) + 2 + offset, values.iloc[i]) for i in idx]


def _parse_uniques(uniq: pd.Series, kind: str):
    """Parse the distinct (non-missing) texts of a column; returns (values, ok mask)."""
    text = uniq.astype(str).str.strip()
    if kind == "date":
        vals = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        ok = vals.notna().to_numpy()
    elif kind == "int":
        ok = text.str.match(_INT_RE, na=False).to_numpy(dtype=bool)
        vals = pd.to_numeric(text.where(ok), errors="coerce")
    elif kind == "float":
        vals = pd.to_numeric(text, errors="coerce")
        ok = vals.notna().to_numpy()
    else:  # bool
        low = text.str.lower()
        is_t = low.isin(_TRUE).to_numpy()
        ok = is_t | low.isin(_FALSE).to_numpy()
        vals = pd.Series(is_t)
    return vals.to_numpy(), ok


_INT_DTYPES = ("int64", "int32", "int16", "int8", "Int64", "Int32", "Int16", "Int8")


def _kind(col, is_date: bool) -> tuple[str | None, str | None]:
    """How a column's text is parsed and the rule named when it cannot be (None: kept as text)."""
    dt = _dtype_name(col)
    if is_date or dt.startswith("datetime64"):
        return "date", "type date (ISO YYYY-MM-DD)"
    if dt in _INT_DTYPES:
        return "int", "type integer"
    if dt in ("float64", "float32"):
        return "float", "type number"
    if dt in ("bool", "boolean"):
        return "bool", "type boolean (true/false)"
    return None, None  # text (str / object / string) and anything else: pandera checks it


def _parse_column(s: pd.Series, col, fname: str, name: str, is_date: bool, offset: int = 0):
    """Parse one text column to the schema's type. Returns (series, problems).

    Works on the column's distinct values (fast for ids, codes, years, dates, counts).
    ``s`` may be one chunk of the file: ``offset`` = data rows before it (for line numbers).
    """
    kind, _ = _kind(col, is_date)
    if kind is None:
        return s, []
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    out, problems = _parse_codes(codes, pd.Series(uniq, dtype=object), col, fname, name, is_date,
                                 offset, lambda i: s.iloc[i])
    return out.set_axis(s.index), problems


def _parse_codes(codes: np.ndarray, uniq: pd.Series, col, fname: str, name: str, is_date: bool,
                 offset: int, text_of: Callable[[int], object]):
    """:func:`_parse_column` on a factorized column: ``codes`` index the distinct texts ``uniq``
    (-1 = missing); ``text_of(i)`` is row ``i``'s text (for the message)."""
    kind, rule = _kind(col, is_date)
    dt = _dtype_name(col)
    n = len(codes)

    def rows(mask):
        return [(int(i) + 2 + offset, text_of(int(i))) for i in np.flatnonzero(mask)[:MAX_ROWS_SHOWN]]

    problems: list[Problem] = []
    vals, ok_u = _parse_uniques(uniq, kind)
    present = codes >= 0
    ok = np.zeros(n, dtype=bool)
    ok[present] = ok_u[codes[present]]
    bad = present & ~ok
    if bad.any():
        problems.append(Problem(fname, rule, name, rows(bad), int(bad.sum())))
    good = present & ok
    missing = ~present
    nullable = bool(getattr(col, "nullable", False))
    if kind == "date":
        out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        out[good] = vals.astype("datetime64[ns]")[codes[good]]
        return pd.Series(out), problems
    if kind == "float":
        out = np.full(n, np.nan)
        out[good] = vals.astype(float)[codes[good]]
        return pd.Series(out, dtype=dt), problems
    if kind == "int":
        width = np.dtype(dt.lower())
        if width != np.int64:  # a narrower integer type: values that do not fit are type errors
            info = np.iinfo(width)
            fits = np.zeros(len(uniq), dtype=bool)
            fits[ok_u] = (vals[ok_u] >= info.min) & (vals[ok_u] <= info.max)
            out_of_range = present & ok & ~fits[np.where(present, codes, 0)]
            if out_of_range.any():
                problems.append(Problem(fname, f"{rule} ({info.min} to {info.max})", name,
                                        rows(out_of_range), int(out_of_range.sum())))
                bad = bad | out_of_range
            ok_u = ok_u & fits
            ok[present] = ok_u[codes[present]]
            good = present & ok
        arr = np.zeros(n, dtype=width)
        arr[good] = vals[codes[good]].astype(width) if good.any() else 0
        out = pd.Series(pd.arrays.IntegerArray(arr, ~good))
        strict = dt[0] == "i"
    else:
        arr = np.zeros(n, dtype=bool)
        arr[good] = np.asarray(vals, dtype=bool)[codes[good]]
        out = pd.Series(pd.arrays.BooleanArray(arr, ~good))
        strict = dt == "bool"
    if strict and not nullable:
        if missing.any():
            problems.append(Problem(fname, "not_nullable (no missing values)", name,
                                    rows(missing), int(missing.sum())))
        elif not bad.any():
            out = pd.Series(arr.astype(dt))
    return out, problems


def _read(data_dir: Path, t: Table) -> tuple[pd.DataFrame | None, list[Problem], str]:
    """Read and type one table. Returns (frame or None, problems, file name)."""
    try:
        path = find_file(data_dir, t.name)
    except DataValidationError as exc:
        return None, exc.problems, f"{t.name}.csv"
    if path is None:
        if not t.required:
            return None, [], f"{t.name}.csv.gz"
        return None, [Problem(f"{t.name}.csv.gz", "file present",
                              detail=f"missing: expected {t.name}.csv.gz or {t.name}.csv in {data_dir}")], \
            f"{t.name}.csv.gz"
    fname = path.name
    raw, problems = _decode(path)
    if raw is None:
        return None, problems, fname
    typed = _read_arrow_typed(raw, t)
    if typed is not None:  # Arrow refuses ragged rows: every row has the header's fields
        return typed, [], fname
    shape = _row_shape_problems(raw, fname)
    if shape:  # values shifted by a lost or extra field: nothing else in the file is trusted
        return None, shape, fname
    fast = _read_arrow(raw, t, fname)
    if fast is not None:
        return fast[0], fast[1], fname
    # Parsed in chunks of about _CHUNK_CELLS cells: only one chunk's cells are ever held as
    # Python strings; each chunk is typed (numbers, dates, booleans) before the next is read.
    ncols = raw[: raw.find(b"\n")].count(b",") + 1
    try:
        reader = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, na_values=[""],
                             skip_blank_lines=True, encoding="utf-8",
                             chunksize=max(1000, _CHUNK_CELLS // max(ncols, 1)))
        with reader:
            out, problems = _read_chunks(reader, t, fname)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        return None, [Problem(fname, "CSV format", detail=str(exc).strip())], fname
    return out, problems, fname


#: Rule named when a data row does not have the header's number of fields.
ROW_SHAPE_RULE = "same number of fields in every row"


def _row_shape_problems(raw: bytes, fname: str) -> list[Problem]:
    """Every data row must have exactly the header's number of fields.

    A row that lost an empty field (values shifted left) or has one too many would otherwise
    be read with its values under the wrong columns (pandas pads short rows with missing values
    and takes an extra leading field as the index). One problem for the file, naming the
    lines: "line L: N fields, the header has M". Counted with Python's :mod:`csv` module
    (the contract's dialect: comma, double quotes), line by line, so a quote left open does not
    swallow the rest of the file; line numbers count the header as line 1 and blank lines are
    skipped, as the readers skip them.
    """
    import csv

    if not _arrow_sees_ragged_rows(raw):  # the C++ parser first: most files that get here are fine
        return []
    bad: list[tuple[int, int]] = []
    n_bad = 0
    header_n = None
    text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="replace", newline="")
    for lineno, line in enumerate(text, start=1):
        body = line.rstrip("\r\n")
        if not body.strip():
            continue
        if '"' not in body and "\0" not in body:
            n = body.count(",") + 1
        else:
            try:
                n = len(next(csv.reader([body.replace("\0", "")], strict=False)))
            except (csv.Error, StopIteration):
                n = body.count(",") + 1
        if header_n is None:
            header_n = n
            continue
        if n != header_n:
            n_bad += 1
            if len(bad) < MAX_ROWS_SHOWN:
                bad.append((lineno, n))
    if not n_bad:
        return []
    shown = "; ".join(f"line {ln}: {n} fields, the header has {header_n}" for ln, n in bad)
    more = f" (and {n_bad - len(bad)} more)" if n_bad > len(bad) else ""
    return [Problem(fname, ROW_SHAPE_RULE, None, [], n_bad,
                    detail=f"{n_bad} row{'s' if n_bad != 1 else ''} with a different number of fields "
                           f"than the header: {shown}{more}")]


def _arrow_sees_ragged_rows(raw: bytes) -> bool:
    """Whether pyarrow's CSV parser (C++, one pass) finds a row whose number of fields differs
    from the header's (True also when it cannot parse the file: the line scan then decides)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    found = []

    def handler(row):
        found.append(row.number)
        return "skip"
    try:
        reader = pacsv.open_csv(pa.BufferReader(raw), read_options=pacsv.ReadOptions(
            use_threads=False, block_size=_ARROW_BLOCK), parse_options=pacsv.ParseOptions(
            delimiter=",", quote_char='"', double_quote=True, escape_char=False,
            newlines_in_values=False, ignore_empty_lines=True, invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(column_types={}, check_utf8=False,
                                                 auto_dict_encode=False, strings_can_be_null=True))
        for _ in reader:
            if found:
                return True
    except (pa.ArrowException, ValueError):
        return True
    return bool(found)


_NULLABLE = {"int64": "Int64", "bool": "boolean"}
#: Bytes of CSV the fast reader parses at a time.
_ARROW_BLOCK = 1 << 24


#: Texts Arrow reads as booleans in :func:`_read_arrow_typed` (the rule's words in three common
#: cases; any other spelling falls back to the rule's own parser, which accepts every case).
_ARROW_TRUE = sorted({w for v in _TRUE for w in (v, v.upper(), v.title())})
_ARROW_FALSE = sorted({w for v in _FALSE for w in (v, v.upper(), v.title())})


def _arrow_csv_options(column_types: dict, *, threads: bool, **convert) -> dict:
    """pyarrow CSV options of the data contract: comma separated, double quotes, no line breaks
    in values, blank lines skipped, empty cells missing, strict UTF-8."""
    import pyarrow.csv as pacsv

    return {"read_options": pacsv.ReadOptions(block_size=_ARROW_BLOCK, use_threads=threads),
            "parse_options": pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True,
                                                escape_char=False, newlines_in_values=False,
                                                ignore_empty_lines=True),
            "convert_options": pacsv.ConvertOptions(
                column_types=column_types, null_values=[""], strings_can_be_null=True,
                quoted_strings_can_be_null=True, check_utf8=True, **convert)}


def _arrow_type(col, is_date: bool):
    import pyarrow as pa

    kind, _ = _kind(col, is_date)
    if kind == "date":
        return pa.date32()
    if kind == "int":
        return pa.from_numpy_dtype(np.dtype(_dtype_name(col).lower()))
    if kind == "float":
        return pa.float64()
    if kind == "bool":
        return pa.bool_()
    return pa.dictionary(pa.int32(), pa.string())  # text: each distinct value once


def _read_arrow_typed(raw: bytes, t: Table) -> pd.DataFrame | None:
    """The fastest path of :func:`_read`, for files that meet the contract: pyarrow parses every
    column straight to the schema's type (C++, no Python object per number, date or boolean).

    Arrow's parsers accept a subset of what the rules accept (digits only for integers, exact
    ``YYYY-MM-DD`` for dates; spaces around a value are dropped as the rules drop them; a file
    holding ``0x`` is never read here, as Arrow takes hexadecimal integers), so a file it reads
    is a file the rules read the same way; anything else (a bad value, a missing value in a column that allows
    none, a header that differs from the schema, a ``nan`` text in a number column) returns
    None and the file is read by :func:`_read_arrow` or the pandas reader, which name the
    problem. Each column is converted and released in turn.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if b"0x" in raw or b"0X" in raw:  # Arrow reads 0x1F as 31; the rules take digits only
        return None
    expected = t.column_names
    cols = t.schema.columns
    try:
        types = {c: _arrow_type(cols[c], c in t.dates) for c in expected}
        table = pacsv.read_csv(pa.BufferReader(raw), **_arrow_csv_options(
            types, threads=True, true_values=_ARROW_TRUE, false_values=_ARROW_FALSE))
    except (pa.ArrowException, ValueError, TypeError):
        return None
    names = table.column_names
    if table.num_rows == 0 or len(names) != len(expected) or set(names) != set(expected) or \
            any(table.schema.field(c).type != types[c] for c in expected):
        return None
    data = {}
    for c in expected:
        kind, _ = _kind(cols[c], c in t.dates)
        dt = _dtype_name(cols[c])
        if kind is None:  # text: one Python string per distinct value; missing text is NaN
            chunks = table.column(c).unify_dictionaries().chunks
            table = table.drop_columns([c])
            uniq = np.append(np.asarray(chunks[0].dictionary.to_pylist() if chunks else [], dtype=object),
                             np.nan).astype(object)
            codes = np.concatenate([pc.fill_null(ch.indices, -1).to_numpy(zero_copy_only=False)
                                    for ch in chunks]) if chunks else np.zeros(0, dtype=np.int32)
            data[c] = pd.Series(uniq[codes], dtype=object)
            del chunks, codes
            continue
        arr = table.column(c).combine_chunks()
        table = table.drop_columns([c])
        missing = arr.is_null().to_numpy(zero_copy_only=False)
        if kind == "date":
            data[c] = pd.Series(pc.cast(arr, pa.timestamp("ns")).to_numpy(zero_copy_only=False),
                                dtype="datetime64[ns]")
        elif kind == "float":
            values = pc.fill_null(arr, np.nan).to_numpy(zero_copy_only=False)
            if np.isnan(values[~missing]).any():  # a "nan" text: the rules do not take it
                return None
            data[c] = pd.Series(values, dtype=dt)
        else:
            nullable_type = dt[0] in "IB" or dt == "boolean"
            if missing.any() and not nullable_type:
                return None  # a missing value where none is allowed: let the rules name it
            values = pc.fill_null(arr, False if kind == "bool" else 0).to_numpy(zero_copy_only=False)
            if not nullable_type:
                data[c] = pd.Series(values.astype(dt, copy=False))
            elif kind == "int":
                data[c] = pd.Series(pd.arrays.IntegerArray(values, missing))
            else:
                data[c] = pd.Series(pd.arrays.BooleanArray(values, missing))
        del arr
    return pd.DataFrame(data, copy=False)


def _read_arrow(raw: bytes, t: Table, fname: str) -> tuple[pd.DataFrame, list[Problem]] | None:
    """The fast path of :func:`_read` for plain files: pyarrow's CSV reader, every column read as
    text, block by block; each block's columns are dictionary-encoded in Arrow and only their
    distinct texts are parsed (the same :func:`_parse_uniques` rules), so number, date and
    boolean cells never become Python strings, and text columns share one string per distinct
    value. Returns None when the file is not plain: a header that is not exactly the schema's
    columns, no data rows, or anything pyarrow refuses (ragged or short rows, quotes, line
    breaks in values); the pandas reader then reads the file and names the problem as before.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    expected = t.column_names
    cols = t.schema.columns
    try:
        reader = pacsv.open_csv(pa.BufferReader(raw), **_arrow_csv_options(
            {c: pa.string() for c in expected}, threads=False))
        names = reader.schema.names
        if len(names) != len(expected) or set(names) != set(expected) or \
                any(reader.schema.field(c).type != pa.string() for c in expected):
            return None
        pos = {c: names.index(c) for c in expected}
        parts: dict[str, list] = {c: [] for c in expected}
        found: dict[str, dict[str, Problem]] = {c: {} for c in expected}
        offset = 0
        for batch in reader:
            n = batch.num_rows
            if n == 0:
                continue
            for c in expected:
                enc = pc.dictionary_encode(batch.column(pos[c]))
                codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
                uniq = np.asarray(enc.dictionary.to_pylist(), dtype=object)
                kind, _ = _kind(cols[c], c in t.dates)
                if kind is None:  # text: one Python string per distinct value
                    series = pd.Series(np.append(uniq, np.nan).astype(object)[codes], dtype=object)
                    p = []
                else:
                    def text_of(i, codes=codes, uniq=uniq):
                        return uniq[codes[i]] if codes[i] >= 0 else np.nan
                    series, p = _parse_codes(codes, pd.Series(uniq, dtype=object), cols[c], fname, c,
                                             c in t.dates, offset, text_of)
                parts[c].append(series)
                _merge_problems(found[c], p)
            offset += n
    except (pa.ArrowException, ValueError):
        return None
    if offset == 0:
        return None
    return _assemble(parts, found, expected)


def _assemble(parts: dict[str, list], found: dict[str, dict[str, Problem]], expected: list[str]):
    """Concatenate the typed chunks of every column; problems in column order, for each column
    the type rule before the missing-value rule (as one pass over the whole file gives them)."""
    data, problems = {}, []
    for c in expected:
        ps = parts.pop(c)
        if len({str(x.dtype) for x in ps}) > 1:  # some chunks had missing or bad values
            ps = [x.astype(_NULLABLE.get(str(x.dtype), x.dtype)) for x in ps]
        data[c] = ps[0].reset_index(drop=True) if len(ps) == 1 else pd.concat(ps, ignore_index=True)
        problems += sorted(found[c].values(), key=lambda q: q.rule.startswith("not_nullable"))
    return pd.DataFrame(data, copy=False), problems

#: Cells parsed at a time (see :func:`_read`).
_CHUNK_CELLS = 4_000_000


def _header_problems(header: list[str], t: Table, fname: str) -> list[Problem]:
    expected = t.column_names
    dups = sorted({re.sub(r"\.\d+$", "", c) for c in header if re.search(r"\.\d+$", c)} & set(expected))
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected and re.sub(r"\.\d+$", "", c) not in dups]
    problems = []
    for c in missing:
        problems.append(Problem(fname, "column present", c,
                                detail=f"missing column; the header has: {', '.join(header)}"))
    for c in extra:
        problems.append(Problem(fname, "no unexpected columns", c,
                                detail=f"column not in the data contract (expected: {', '.join(expected)})"))
    for c in dups:
        problems.append(Problem(fname, "column names unique", c, detail="column appears more than once"))
    return problems


def _read_chunks(reader, t: Table, fname: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Type a file chunk by chunk. Problems of a column are merged over the chunks (first
    offending rows, total count), in the order one pass over the whole file gives them."""
    expected = t.column_names
    cols = t.schema.columns
    first = next(iter(reader))
    problems = _header_problems([str(c) for c in first.columns], t, fname)
    if len(first) == 0:
        problems.append(Problem(fname, "not empty", detail="the file has a header but no data rows"))
    if problems:
        for _ in reader:  # a malformed row further down is reported instead, as before
            pass
        return None, problems
    parts: dict[str, list[pd.Series]] = {c: [] for c in expected}
    found: dict[str, dict[str, Problem]] = {c: {} for c in expected}
    offset = 0
    chunk = first
    while chunk is not None:
        for c in expected:
            series, p = _parse_column(chunk[c], cols[c], fname, c, c in t.dates, offset)
            if series.dtype == object:  # text: its own array, not a view holding the chunk
                series = pd.Series(np.array(series.to_numpy(), dtype=object))
            parts[c].append(series.reset_index(drop=True))
            _merge_problems(found[c], p)
        offset += len(chunk)
        del chunk
        chunk = next(reader, None)
    out, more = _assemble(parts, found, expected)
    return out, problems + more


def read_raw(data_dir: str | Path, table: str | Table) -> pd.DataFrame:
    """One raw table from ``data_dir`` (``<table>.csv`` or ``.csv.gz``), typed from its schema.

    Strict UTF-8; empty cells are missing values; columns in the schema's order. Checks the
    file, the header and the types only (see :func:`validate` for the rest); raises
    :class:`DataValidationError` naming the file, column, rule and first offending rows.
    """
    t = _as_table(table)
    data_dir = Path(data_dir)
    df, problems, _ = _read(data_dir, t)
    if problems:
        raise DataValidationError(problems, data_dir)
    if df is None:
        raise DataValidationError([Problem(f"{t.name}.csv.gz", "file present",
                                           detail=f"missing (optional table) in {data_dir}")], data_dir)
    return df


# --------------------------------------------------------------------------- checking

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


_TEXT_DTYPES = ("str", "object", "string", "string[python]")


def _without_text_dtype(schema):
    """``schema`` without pandera's dtype test on text columns.

    pandera tests a ``str`` column cell by cell (``isinstance`` per value: millions of Python
    calls on long tables). Frames checked here come from :func:`_read`, whose text columns
    are by construction object columns holding only ``str`` values or missing values (the
    CSV parser's text), so that test cannot fail; every other rule of the column is kept.
    """
    text = [c for c, col in schema.columns.items() if _dtype_name(col) in _TEXT_DTYPES]
    return schema.update_columns({c: {"dtype": None} for c in text}) if text else schema


def _schema_problems(t: Table, df: pd.DataFrame, fname: str) -> list[Problem]:
    import pandera.errors as pe

    try:
        t.schema.validate(df, lazy=True, inplace=True)  # no copy: nothing is coerced (coerce=False)
        return []
    except pe.SchemaErrors as exc:
        fc = exc.failure_cases
    except pe.SchemaError as exc:  # pragma: no cover - lazy=True should collect
        return [Problem(fname, "schema", detail=str(exc).splitlines()[0])]
    problems = []
    fc = fc.copy()
    # table-wide (row) checks: pandera lists every column of every failing row; report each
    # failing row once, with the values of the columns the rule names
    frame_checks = {}
    for chk in getattr(t.schema, "checks", []) or []:
        frame_checks[str(chk.error) if chk.error else str(chk.name)] = chk
    is_frame = (fc["schema_context"] == "DataFrameSchema") & fc["check"].isin(list(frame_checks))
    for check, g in fc[is_frame].groupby("check", sort=False):
        chk = frame_checks[check]
        name = str(chk.name or check)
        text = f"{name} ({check})" if chk.error and str(chk.error) != name else name
        idx = pd.to_numeric(g["index"], errors="coerce").dropna().astype(int).unique()
        idx = np.sort(idx)
        cols = [c for c in df.columns if c in f"{name} {check}"] or list(df.columns)[:4]
        rows = [(int(i) + 2, {c: _plain_value(df.at[i, c]) for c in cols}) for i in idx[:MAX_ROWS_SHOWN]]
        problems.append(Problem(fname, text, ", ".join(cols), rows, count=len(idx)))
    fc = fc[~is_frame]
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
    df, p, fname = _read(data_dir, t)
    if df is not None:
        bad_cols = {q.column for q in p if q.column}
        check_df, schema = df, _without_text_dtype(t.schema)
        if bad_cols:  # columns that failed to parse are reported once, not again by pandera;
            # table-wide row rules wait until every column parses
            schema = copy.deepcopy(schema.remove_columns([c for c in bad_cols if c in schema.columns]))
            schema.checks = []
            check_df = df.drop(columns=list(bad_cols))
        p += _schema_problems(dc_replace(t, schema=schema), check_df, fname)
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
        from .window import StudyWindow, WindowError
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
    from .. import log

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


def main_validate(data_dir: str | Path, *, verify_manifest: bool = True) -> int:
    """``rr validate DATA_DIR``: check the MANIFEST (when present) and every table.

    Prints one line per table and a summary; on bad data prints the message (no traceback)
    to stderr and returns 1; returns 0 when the folder meets the contract.
    """
    from .. import log, manifest

    logger = log.get("data")
    log.setup()
    data_dir = Path(data_dir)
    t0 = time.perf_counter()
    try:
        doc = manifest.verify(data_dir) if verify_manifest and (data_dir / manifest.MANIFEST_NAME).exists() else {}
        flag = {True: "synthetic", False: "real (not synthetic)"}.get(doc.get("synthetic"), "no MANIFEST")
        logger.info(f"validating {data_dir} ({flag})")
        from .window import StudyWindow, WindowError
        try:
            window = StudyWindow.parse(doc.get("window")) if doc else StudyWindow.of_folder(data_dir)
        except WindowError as exc:
            raise DataValidationError([Problem("MANIFEST", "window", detail=str(exc))], data_dir) from None
        with log.progress(None, "validate", unit="table") as advance:
            frames = check(data_dir, progress=print_progress(advance=advance), window=window)
    except (DataValidationError, manifest.ManifestError) as exc:
        logger.error(str(exc))
        return 1
    logger.info(window.describe())
    logger.info(f"ok: {len(frames)} tables meet the data contract ({time.perf_counter() - t0:.1f} s)")
    return 0
