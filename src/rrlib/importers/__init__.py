"""``rr import SOURCE FILES... --to DATA_DIR``: real extracts, in their own layouts, onto the data contract.

Sources (one mapping file each in ``rrlib/importers/mappings/``, documented in
``data/raw/IMPORTERS.md``, made by ``rr codebook``):

====================  =========================================  =======================
source                extract                                    contract table(s)
====================  =========================================  =======================
``npd-census``        NPD spring school census, pupil level      pupils
``npd-exclusions``    NPD exclusions, one row per exclusion      exclusions
``hes-apc``           HES Admitted Patient Care, episodes        admissions (spells)
``ecds``              Emergency Care Data Set, attendances       ed_attendances
``headstart-survey``  HeadStart cohort survey, UKDS SN 9150      wmf_survey
``contract``          files already in the contract's layout     the table named by the file
====================  =========================================  =======================

What an import does, in order; any problem stops it before anything is written:

1. reads each file (UTF-8 CSV, ``.gz`` allowed; never modified; a file that does not parse
   stops the import) and matches its fields to the source's mapping: a required field that is
   absent stops the import with one line naming the field, the file and the source; fields the
   mapping does not need, known or not, are left out and listed in the import report; several
   fields with one meaning (``PROCODE3``/``PROCODET``) are resolved by the mapping's order of
   preference;
2. recodes (ADMIMETH groups, ICD-10 X60-X84 as intentional self-harm, the SNOMED CT self-harm
   codes, DfE exclusion categories and reasons, ethnicity and SEN codes) and derives the contract's
   columns; an unknown code stops the import naming it; rows the contract cannot hold (ages
   outside 10-24, lunchtime exclusions, nursery years, subsidiary dual registrations, unfinished
   HES episodes...) are left out by the mapping's named rules and counted per file;
3. pseudonymises every identifier (:mod:`rrlib.pseudonymise`, key from ``RR_PSEUDONYMISE_KEY``);
4. checks each table it made against the contract's schema (``rr validate``'s rules);
5. writes ``<table>.csv.gz`` into DATA_DIR (replacing that table, keeping the others), the
   import report ``IMPORT_REPORT.md`` and ``IMPORT_REPORT.json`` (per source and file: rows read,
   rows written, rows folded into another row, rows left out by reason, which must add up; HES
   spells built and self-harm spells by diagnosis position and code format; fields ignored; no
   paths), and rewrites the folder's ``MANIFEST``: ``synthetic: false``, the sha256 of every file, and per
   source the extract files (base names and sha256, never paths), the mapping's sha256, rows
   written and rows left out by reason.

Import every source into one folder, then ``rr validate DATA_DIR`` checks the cross-table keys and
``make all DATA_DIR=...`` runs the chapters.
"""
from __future__ import annotations

import gzip
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterable

import pandas as pd

from .. import __version__, manifest, pseudonymise
from ..data import DataValidationError
from ..data import check as check_tables
from .base import Dropped, ImportFieldError, load_mapping, match_fields, read_extract, sha256_bytes
from .report import REPORT_JSON, REPORT_MD, file_accounts, render_report
from .sources import SOURCES

__all__ = ["SOURCES", "ImportFieldError", "run_import", "main_import", "load_mapping"]

DESCRIPTION = ("Real extracts imported with `rr import` (rrlib.importers) onto the data contract; identifiers "
               "pseudonymised (keyed HMAC-SHA256, rrlib.pseudonymise). Confidential: stays in the secure "
               "environment; only outputs that pass disclosure control and output checking leave it.")


def _format_table(df: pd.DataFrame, table: str) -> bytes:
    """The contract's CSV text of a table: ISO dates, true/false, whole numbers, empty = missing;
    gzip with no timestamp (same input, same bytes)."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
            out[c] = s.map(lambda v: "" if v is pd.NA or v is None else ("true" if v else "false"))
        elif pd.api.types.is_integer_dtype(s):
            out[c] = s.astype("Int64").astype("string").fillna("")
        else:
            out[c] = s.astype(object).where(s.notna(), "")
    text = out.to_csv(index=False, lineterminator="\n").encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
        gz.write(text)
    return buf.getvalue()


def run_import(source: str, files: Iterable[str | Path], to: str | Path, *, key: bytes | None = None,
               mapping: str | Path | None = None, allow_extra: Iterable[str] = ()) -> dict:
    """Import ``files`` of ``source`` into the data folder ``to``; returns the MANIFEST entry.

    Raises :class:`ImportFieldError` (fields, codes), :class:`rrlib.pseudonymise.PseudonymiseError`
    (no key) or :class:`rrlib.data.DataValidationError` (the result breaks the contract); in
    every case nothing is written.
    """

    if source not in SOURCES:
        raise ImportFieldError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    files = [Path(f) for f in files]
    if not files:
        raise ImportFieldError(f"source {source}: no files given")
    key = pseudonymise.get_key() if key is None else key
    m = load_mapping(source, mapping)
    to = Path(to)
    if to.exists() and manifest.is_synthetic(to):
        raise ImportFieldError(f"{to.name}: its MANIFEST says synthetic: true; import real extracts into "
                               "a new folder, never into the synthetic one")
    frames, file_info, fields = [], [], {}
    for f in files:
        raw = read_extract(f, source)
        if source == "contract":
            frames.append((f.name, raw, None))
        else:
            df, fm = match_fields(raw, m, f.name, allow_extra=allow_extra)
            frames.append((f.name, df, fm))
            fields[f.name] = fm.as_dict()
        file_info.append({"name": f.name, "sha256": sha256_bytes(f.read_bytes()), "rows": int(len(raw))})
    if len({fi["name"] for fi in file_info}) != len(file_info):
        raise ImportFieldError(f"source {source}: two files with one name; rename one (the report counts rows "
                               "per file name)")
    dropped = Dropped()
    made = SOURCES[source](frames, m, key, dropped)
    for name, extra in (dropped.details.pop("fields_ignored", {}) or {}).items():
        fields.setdefault(name, {"ignored_unknown": []})["ignored_unknown"] = list(extra)
    accounts = file_accounts(file_info, made, dropped)  # raises when rows in != rows out + left out
    made = {t: df.drop(columns=["_file"]) for t, df in made.items()}
    blobs = {t: _format_table(df, t) for t, df in made.items()}
    entry = {"tables": {t: int(len(df)) for t, df in made.items()},
             "mapping": {"file": m.path.name, "sha256": m.sha256},
             "files": file_info,
             "rows_left_out": dict(sorted(dropped.counts.items())),
             "importer": f"rrlib.importers {__version__}"}
    created = not to.exists()
    to.mkdir(parents=True, exist_ok=True)
    try:
        _write(to, source, blobs, entry, accounts, fields, dropped, m, check_tables)
    except BaseException:
        if created and not any(to.iterdir()):
            to.rmdir()  # nothing written: not even the folder
        raise
    return entry


def _write(to: Path, source: str, blobs: dict, entry: dict, accounts: dict, fields: dict, dropped: Dropped, m,
           check_tables) -> None:
    """Check the tables against the contract in a temporary folder inside ``to``, then move them
    and the import report in and rewrite the MANIFEST; a failed check leaves ``to`` as it was."""
    old_report = {}
    if (to / REPORT_JSON).is_file():
        try:
            old_report = json.loads((to / REPORT_JSON).read_text(encoding="utf-8"))
        except ValueError:
            old_report = {}
    sources = dict(old_report.get("sources") or {})
    sources[source] = {"files": accounts, "tables": entry["tables"], "mapping": entry["mapping"],
                       "fields": fields, "details": dropped.details, "rules": m.rules}
    report = {"report": "rr import", "importer": entry["importer"], "sources": dict(sorted(sources.items()))}
    report_json = json.dumps(report, indent=2, sort_keys=False, default=str) + "\n"
    with tempfile.TemporaryDirectory(dir=to, prefix=".import-") as tmp:
        for t, b in blobs.items():
            (Path(tmp) / f"{t}.csv.gz").write_bytes(b)
        check_tables(tmp, only=list(blobs))  # the contract's schema rules, before anything is written
        (Path(tmp) / REPORT_JSON).write_text(report_json, encoding="utf-8")
        (Path(tmp) / REPORT_MD).write_text(render_report(report), encoding="utf-8")
        for t in blobs:
            for old in (to / f"{t}.csv", to / f"{t}.csv.gz"):
                if old.exists():
                    old.unlink()
            shutil.move(str(Path(tmp) / f"{t}.csv.gz"), to / f"{t}.csv.gz")
        for name in (REPORT_JSON, REPORT_MD):
            shutil.move(str(Path(tmp) / name), to / name)
    doc = manifest.read(to) if (to / manifest.MANIFEST_NAME).exists() else {}
    imported = dict(doc.get("imported") or {})
    imported[source] = entry
    manifest.write(to, synthetic=False, description=DESCRIPTION,
                   imported=dict(sorted(imported.items())))


def main_import(source: str, files: list[str], to: str, *, mapping: str | None = None,
                allow_extra: Iterable[str] = ()) -> int:
    """What ``rr import`` runs: one line per table written, errors without a traceback."""

    try:
        entry = run_import(source, files, to, mapping=mapping, allow_extra=allow_extra)
    except (ImportFieldError, pseudonymise.PseudonymiseError, DataValidationError, OSError) as exc:
        print(f"rr import: error: {exc}", file=sys.stderr, flush=True)
        print("rr import: nothing written", file=sys.stderr, flush=True)
        return 1
    for t, n in entry["tables"].items():
        print(f"[rr import] {source}: {n:,} rows -> {Path(to).name}/{t}.csv.gz", flush=True)
    for reason, n in entry["rows_left_out"].items():
        print(f"[rr import] {source}: {n:,} rows left out: {reason}", flush=True)
    print(f"[rr import] report: {Path(to).name}/{REPORT_MD}", flush=True)
    return 0
