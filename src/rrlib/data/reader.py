"""Reading tabular text files: the CSV engine of the data contract, and the text rules every reader shares.

* :func:`decode`: a file's bytes, gunzipped (``.gz``), byte-order mark removed, checked to be strict UTF-8
  with no NUL byte and not empty; what is wrong comes back as :class:`~rrlib.data.problems.Problem`.
  :func:`read_text` and :func:`read_text_frame` raise instead (validate, :mod:`rrlib.public`, the importers
  and :mod:`rrlib.pseudonymise` read their files through them).
* :data:`TRUE_WORDS` / :data:`FALSE_WORDS`: the one list of words a true/false cell may hold (any case).
* :func:`read_raw`: one raw table typed from its :class:`~rrlib.data.table.Table` schema (Arrow when the
  file is clean, else pandas chunk by chunk), every parse problem with its first offending lines.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .problems import MAX_ROWS_SHOWN, DataValidationError, Problem, merge_problems
from .table import Table
from .table import tables as registered_tables

_INT_RE = re.compile(r"^[+-]?\d+$")
#: Words read as true / false in a boolean column (compared in lower case): the one list of them.
TRUE_WORDS = frozenset({"true", "1", "t", "yes", "y"})
FALSE_WORDS = frozenset({"false", "0", "f", "no", "n"})
_TRUE = TRUE_WORDS
_FALSE = FALSE_WORDS


class TextFileError(ValueError):
    """A text file cannot be read as UTF-8 CSV: ``problems`` say why (file, rule, line)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(p.format() for p in self.problems))


def parse_flags(s: pd.Series, extra_true=(), extra_false=()) -> pd.Series:
    """True/false words (:data:`TRUE_WORDS`, :data:`FALSE_WORDS`, any case, spaces stripped) as a
    nullable boolean Series; missing values and any other text are ``<NA>`` (the caller reports them)."""
    t = s.astype("string").str.strip().str.lower()
    yes, no = TRUE_WORDS | set(extra_true), FALSE_WORDS | set(extra_false)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[t.isin(yes).fillna(False).to_numpy(dtype=bool)] = True
    out[t.isin(no).fillna(False).to_numpy(dtype=bool)] = False
    return out


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


def decode(path: Path) -> tuple[bytes | None, list[Problem]]:
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


def read_text(path: str | Path) -> str:
    """The text of a file read as :func:`decode` reads it; raises :class:`TextFileError` (file, rule, line)."""
    path = Path(path)
    raw, problems = decode(path)
    if raw is None:
        raise TextFileError(problems)
    return raw.decode("utf-8")


def read_text_frame(path: str | Path, *, sep: str = ",") -> pd.DataFrame:
    """A CSV (or ``sep``-separated) file as a frame of text cells (empty cells as ``""``), read with
    :func:`read_text`'s rules."""
    return pd.read_csv(io.StringIO(read_text(path)), sep=sep, dtype=str, keep_default_na=False, na_filter=False)


def dtype_name(col) -> str:
    """The dtype a schema column declares, as text (``""`` when it declares none)."""
    return str(getattr(col, "dtype", "") or "")


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
    dt = dtype_name(col)
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
    dt = dtype_name(col)
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


def read_table(data_dir: Path, t: Table) -> tuple[pd.DataFrame | None, list[Problem], str]:
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
    raw, problems = decode(path)
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

    return {"read_options": pacsv.ReadOptions(block_size=_ARROW_BLOCK, use_threads=threads),
            "parse_options": pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True,
                                                escape_char=False, newlines_in_values=False,
                                                ignore_empty_lines=True),
            "convert_options": pacsv.ConvertOptions(
                column_types=column_types, null_values=[""], strings_can_be_null=True,
                quoted_strings_can_be_null=True, check_utf8=True, **convert)}


def _arrow_type(col, is_date: bool):
    kind, _ = _kind(col, is_date)
    if kind == "date":
        return pa.date32()
    if kind == "int":
        return pa.from_numpy_dtype(np.dtype(dtype_name(col).lower()))
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
        dt = dtype_name(cols[c])
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
                merge_problems(found[c], p)
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
            merge_problems(found[c], p)
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
    df, problems, _ = read_table(data_dir, t)
    if problems:
        raise DataValidationError(problems, data_dir)
    if df is None:
        raise DataValidationError([Problem(f"{t.name}.csv.gz", "file present",
                                           detail=f"missing (optional table) in {data_dir}")], data_dir)
    return df
