"""Pseudonymisation of real extracts: keyed hashing (HMAC-SHA256) of identifier columns.

Before a real extract goes into a data folder, every direct identifier (pupil matching
reference, NHS number, school URN, ...) is replaced by a pseudonym::

    pseudonym = prefix + first 64 bits of HMAC-SHA256(key, identifier) as 16 decimal digits

* The key comes from the environment variable ``RR_PSEUDONYMISE_KEY`` (at least 16 bytes, e.g.
  ``python -c "import secrets; print(secrets.token_hex(32))"``). It is never written to disk,
  never logged, never put in an error message. Without it, nothing runs.
* The same key gives the same pseudonym for the same identifier in every file and column, so
  tables still join (pupils to exclusions to attendance). Keep the key in the data controller's
  safe place: a new key breaks linkage with earlier extracts.
* The letters an identifier starts with are kept (``P`` for pupils, ``S`` for schools) so the
  pseudonymised file still meets the data contract (``P`` + digits); ``keep_prefix=False``
  drops them. Empty cells stay empty; every other cell of the file is copied unchanged.
* Two different identifiers that would get the same pseudonym stop the run (never silently merged).
"""
from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .data.reader import TextFileError, read_text
from .io import atomic_write_bytes

KEY_ENV = "RR_PSEUDONYMISE_KEY"
MIN_KEY_BYTES = 16
DIGITS = 16
_PREFIX_RE = re.compile(r"^[A-Za-z]*")


class PseudonymiseError(RuntimeError):
    """Pseudonymisation cannot run (no key, bad input); the message never contains the key."""


def get_key(env: dict | None = None) -> bytes:
    """The key from ``RR_PSEUDONYMISE_KEY``; raises :class:`PseudonymiseError` without it."""
    env = os.environ if env is None else env
    value = env.get(KEY_ENV, "")
    if not value:
        raise PseudonymiseError(
            f"no pseudonymisation key: set the environment variable {KEY_ENV} to a secret of at least "
            f"{MIN_KEY_BYTES} bytes (e.g. the output of `python -c \"import secrets; "
            f"print(secrets.token_hex(32))\"`), kept by the data controller; it is never stored or logged")
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymiseError(
            f"the key in {KEY_ENV} is too short ({len(key)} bytes; at least {MIN_KEY_BYTES} needed)")
    return key


def pseudonym(identifier: str, key: bytes, *, keep_prefix: bool = True) -> str:
    """The pseudonym of one identifier (see the module docstring)."""
    digest = hmac.new(key, str(identifier).encode("utf-8"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big") % (10 ** DIGITS)
    prefix = _PREFIX_RE.match(str(identifier)).group(0) if keep_prefix else ""
    return f"{prefix}{number:0{DIGITS}d}"


def pseudonymise_series(s: pd.Series, key: bytes, *, keep_prefix: bool = True) -> pd.Series:
    """Pseudonyms of a column (computed once per distinct value; empty and missing cells kept)."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    mapped = np.array([pseudonym(u, key, keep_prefix=keep_prefix) if str(u) != "" else ""
                       for u in uniq], dtype=object)
    nonempty = np.array([str(u) != "" for u in uniq], dtype=bool)
    if len(set(mapped[nonempty])) != int(nonempty.sum()):
        raise PseudonymiseError(f"column {s.name!r}: two identifiers got the same pseudonym "
                                "(a hash collision); nothing written")
    out = np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(mapped) else "", s.to_numpy(dtype=object))
    return pd.Series(out, index=s.index, name=s.name, dtype=object)


def pseudonymise_frame(df: pd.DataFrame, columns, key: bytes, *, keep_prefix: bool = True) -> pd.DataFrame:
    columns = _columns(columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise PseudonymiseError(f"columns not in the file: {', '.join(missing)} "
                                f"(the header has: {', '.join(map(str, df.columns))})")
    out = df.copy()
    for c in columns:
        out[c] = pseudonymise_series(out[c], key, keep_prefix=keep_prefix)
    return out


def _columns(columns) -> list[str]:
    if isinstance(columns, str):
        columns = columns.split(",")
    cols = [c.strip() for c in columns if c and c.strip()]
    if not cols:
        raise PseudonymiseError("no identifier columns given")
    return cols


def _read_text(path: Path) -> str:
    """The file's text, by the data contract's rules (rrlib.data.reader: gzip, BOM, strict UTF-8)."""
    try:
        return read_text(path)
    except TextFileError as exc:
        raise PseudonymiseError(f"{path}: {exc}; re-save the file as UTF-8 text") from None


def pseudonymise_file(in_file, out_file, columns, *, key: bytes | None = None,
                      keep_prefix: bool = True) -> dict:
    """Read a CSV (``.csv`` or ``.csv.gz``), pseudonymise ``columns``, write ``out_file`` atomically.

    The input is never modified (``out_file`` must be another file). Returns a summary (rows,
    distinct identifiers per column); the key is not part of it.
    """

    key = get_key() if key is None else key
    src, dst = Path(in_file), Path(out_file)
    if not src.is_file():
        raise PseudonymiseError(f"{src}: no such file")
    if dst.resolve() == src.resolve():
        raise PseudonymiseError("the output must be a new file: the input extract is never modified")
    df = pd.read_csv(io.StringIO(_read_text(src)), dtype=str, keep_default_na=False, na_filter=False)
    out = pseudonymise_frame(df, columns, key, keep_prefix=keep_prefix)
    data = out.to_csv(index=False, lineterminator="\n").encode("utf-8")
    if dst.name.endswith(".gz"):
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(data)
        data = buf.getvalue()
    atomic_write_bytes(dst, data)
    return {"rows": len(df), "columns": {c: int(df[c].replace("", np.nan).nunique()) for c in _columns(columns)}}
