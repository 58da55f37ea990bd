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
  tables it contributes to ``data/processed/`` (given every validated raw table).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

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


def domain_modules():
    """The domain modules that exist (chapters add theirs), in dependency order."""
    mods = []
    for name in DOMAINS:
        try:
            mods.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return mods


def tables() -> dict[str, Table]:
    """Every registered raw table, by name, in dependency order."""
    out: dict[str, Table] = {}
    for mod in domain_modules():
        for t in getattr(mod, "TABLES", ()):
            out[t.name] = t
    return out
