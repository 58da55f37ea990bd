"""The data contract: one table specification per raw source table, validation, cleaning, loading.

Raw tables live in a data folder (``data/raw/synthetic/`` by default) as ``<table>.csv`` or
``<table>.csv.gz``. Each domain module of this package declares its tables and how they are
cleaned and scored:

========================  ==============================================================
module                    tables
========================  ==============================================================
``rrlib.data.education``  schools, pupils (school census), exclusions, school_attendance, population
``rrlib.data.programme``  activities, attendance (the programme's monitoring log)
``rrlib.data.targeted``   interventions, sdq_targeted, goals, goal_ratings
``rrlib.data.wmf``        wmf_survey (HeadStart Wellbeing Measurement Framework)
``rrlib.data.health``     ed_attendances (A&E, ECDS-like), admissions (hospital, HES-like)
========================  ==============================================================

A domain module defines

* ``TABLES``: a list of :class:`Table` (pandera schema, codebook text, foreign keys), and
* ``prepare(raw: dict[str, DataFrame]) -> dict[str, DataFrame]``: the cleaned and scored
  tables it contributes to ``data/processed/``. It is given its own validated raw tables in
  full and every earlier domain's tables as their referenced key columns only (distinct
  values; e.g. ``raw["pupils"]["pupil_id"]``), so one domain is in memory at a time.
  Optional: without it, the domain's validated raw tables are written as they are.

Public API
----------
``read_raw(data_dir, table)``
    One raw table, read as strict UTF-8 and typed from its schema (no other checks).
``validate(data_dir)``
    Every registered table checked against its schema and the cross-table foreign keys;
    returns ``{name: typed DataFrame}`` or raises :class:`DataValidationError`.
``check(data_dir)`` / ``iter_validate(data_dir)``
    The same checks holding one table at a time (``check`` returns row counts;
    ``iter_validate`` yields each typed table in turn): for extracts too big to hold at once.
``prepare(data_dir, processed_dir)``
    validate, then each domain's ``prepare``; Parquet files written atomically plus a
    ``.prepared.json`` stamp.
``load(table, processed_dir=None)``
    One processed table (for notebooks).
``rr validate`` / ``rr prepare``
    The command line's glue (short progress lines, an exit code, no traceback for bad data) is
    :mod:`rrlib.commands`; the CSV engine is :mod:`rrlib.data.reader`, problems and their messages
    :mod:`rrlib.data.problems`.

How a table is read (the rules a real extract must follow)
----------------------------------------------------------
* The file is ``<name>.csv`` or ``<name>.csv.gz`` (not both), UTF-8 (a byte-order mark is
  allowed), comma separated, with a header row naming exactly the schema's columns (any order).
* An empty cell is a missing value; every other cell is parsed by the column's type:
  integers as digits (``3``, not ``3.0``), decimals as numbers, booleans as
  ``true``/``false``/``1``/``0`` (any case), dates as ISO ``YYYY-MM-DD``, everything else as text.
"""
from __future__ import annotations

from .load import load, load_all, stamp
from .prepare import STAMP_NAME, prepare
from .table import (
    DOMAINS,
    PUPIL_ID,
    Table,
    academic_year_check,
    domain_modules,
    id_check,
    id_pattern,
    matches_check,
    on_uniques,
    school_phase,
    sorted_by,
    tables,
    take_rows,
)
from .validate import (
    DataValidationError,
    check,
    find_file,
    iter_validate,
    read_raw,
    validate,
)

__all__ = [
    "DOMAINS", "Table", "domain_modules", "tables", "PUPIL_ID", "id_pattern", "id_check", "matches_check",
    "academic_year_check", "on_uniques", "sorted_by", "school_phase", "take_rows",
    "DataValidationError", "find_file", "read_raw", "validate", "check", "iter_validate",
    "prepare", "STAMP_NAME", "load", "load_all", "stamp",
]
