"""Real public aggregates: loaders and schemas for the tables in ``data/raw/public/``.

The compendium ships a few small tables of *real* published statistics beside its synthetic
data (see ``data/raw/public/README.md`` for each table's citation and licence). This module
reads them, checks them against their schemas and returns typed DataFrames. It also reads
the *full* files they were cut from (e.g. the DfE local-authority exclusion statistics for
every local authority), which a user passes to a chapter as a parameter; those files are
never copied into the project.

Every problem is reported as a :class:`PublicDataError` that names the file, the column, the
rule and the first offending rows (line numbers count the header as line 1).

Tables
------
``dfe_exclusions_blackpool_nw_england``
    DfE SFR35/2017 local-authority time series, Blackpool, North West and England, all
    state-funded and special schools ("Total") and state-funded secondary, 2006/07-2016/17
    (:func:`load_dfe_exclusions`). Cut from the DfE file read by :func:`read_dfe_la_file`.

DfE conventions (DfE, *Permanent and fixed-period exclusions in England: 2015 to 2016*,
technical notes; Government Statistical Service symbols)
    ``x`` suppressed (1 or 2 pupils, or a rate based on them; now ``c``); ``.``, ``:`` and ``z``
    not applicable (e.g. no pupils on roll). Both are read as missing (NaN). Rates are per 100
    pupils on roll at the January census. Regional and national counts are rounded to the
    nearest 5 while their rates come from unrounded counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from . import paths
from .calendar import year_label
from .cuts.dfe_exclusions_la_2006_2023 import make
from .data.problems import MAX_ROWS_SHOWN, schema_problems
from .data.reader import TextFileError, read_text_frame

__all__ = [
    "PublicDataError", "PublicTable", "TABLES", "register", "table_path", "load",
    "DFE_EXCLUSIONS", "DFE_LA_COLUMNS", "DFE_COUNT_RATE", "load_dfe_exclusions",
    "read_dfe_la_file", "read_dfe_national_characteristics",
    "SUPPRESSED", "NOT_APPLICABLE", "load_dfe_exclusions_la", "load_fsm_2016",
    "ONS_POPULATION", "load_ons_population", "DFE_FSM", "load_dfe_fsm",
    "STATISTICAL_NEIGHBOURS", "LA_CODES", "load_statistical_neighbours", "load_la_codes",
    "DFE_EXCLUSIONS_LA_SECONDARY", "load_dfe_exclusions_la_secondary",
]

#: Cells meaning "suppressed" (DfE: ``x``, now ``c``).
SUPPRESSED = frozenset({"x", "c"})
#: Cells meaning "not applicable / not available" (``.``, ``:``, ``z``).
NOT_APPLICABLE = frozenset({".", ":", "z"})


class PublicDataError(ValueError):
    """A public table breaks its schema. The message names file, column, rule and rows."""

    def __init__(self, file: str | Path, problems: list[str]):
        self.file = str(file)
        self.problems = list(problems)
        lines = [f"{self.file} does not match its schema ({len(problems)} problem"
                 f"{'s' if len(problems) != 1 else ''}):"]
        lines += [f"  - {p}" for p in problems[:40]]
        if len(problems) > 40:
            lines.append(f"  ... and {len(problems) - 40} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class PublicTable:
    """One shipped public table: where it is, what it is, how to read it."""

    name: str
    filename: str
    title: str
    citation: str
    licence: str
    columns: dict[str, str]
    reader: Callable[[Path], pd.DataFrame] = field(repr=False)

    @property
    def path(self) -> Path:
        return paths.PUBLIC_DIR / self.filename


#: Registry of the shipped public tables, by name.
TABLES: dict[str, PublicTable] = {}


def register(table: PublicTable) -> PublicTable:
    """Add a public table to :data:`TABLES` (a name may be registered once)."""
    if table.name in TABLES:
        raise ValueError(f"public table {table.name!r} is registered twice")
    TABLES[table.name] = table
    return table


def register_cut(cut, *, title: str, reader: Callable[[Path], pd.DataFrame],
                 columns: dict[str, str] | None = None) -> PublicTable:
    """Register the public table a cut (:class:`rrlib.cuts.Cut`) ships: its file, citation and licence come
    from the cut, so the citation is written once (in ``src/rrlib/cuts/<name>.py``)."""
    return register(PublicTable(name=cut.name, filename=f"{cut.name}.csv", title=title, citation=cut.citation,
                                licence=cut.licence, columns=dict(columns or {}), reader=reader))


def table_path(name: str) -> Path:
    """The shipped file of public table ``name``."""
    if name not in TABLES:
        raise KeyError(f"unknown public table {name!r}; known: {', '.join(sorted(TABLES))}")
    return TABLES[name].path


#: The file each public table was last read from in this process (name -> path): the shipped cut, or the
#: file a chapter parameter pointed at. A figure or table of official statistics names its sources by
#: table name (:class:`rrlib.chapter.Part`); its sidecar records the file actually read
#: (:func:`source_path`).
READ: dict[str, Path] = {}


def source_path(name: str, path: str | Path | None = None) -> Path:
    """The file to read for public table ``name`` (``path``, default the shipped cut), remembered in
    :data:`READ`."""
    p = Path(path) if path is not None else table_path(name)
    READ[name] = p
    return p


def read_path(name: str) -> Path:
    """The file public table ``name`` was read from in this process (:data:`READ`), else its shipped cut."""
    return READ.get(name) or table_path(name)


def load(name: str, path: str | Path | None = None) -> pd.DataFrame:
    """Read, type and validate public table ``name`` (from ``path``, default the shipped file)."""
    if name not in TABLES:
        raise KeyError(f"unknown public table {name!r}; known: {', '.join(sorted(TABLES))}")
    return TABLES[name].reader(source_path(name, path))


# --------------------------------------------------------------------------- helpers
def _read_text_csv(path: Path) -> pd.DataFrame:
    """Every cell as text (empty cells as ""); clear error for a missing or unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"public table file {path} does not exist")
    try:
        return read_text_frame(path)  # the data contract's text rules (rrlib.data.reader)
    except TextFileError as exc:
        raise PublicDataError(path, [p.format(file=False) for p in exc.problems]) from None


def _rows(mask: np.ndarray, values: pd.Series) -> str:
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    shown = ", ".join(f"line {i + 2} {values.iloc[i]!r}" for i in idx[:MAX_ROWS_SHOWN])
    return f"{len(idx)} offending row{'s' if len(idx) != 1 else ''}, first: {shown}"


def _check_columns(df: pd.DataFrame, expected: list[str], path: Path) -> None:
    missing = [c for c in expected if c not in df.columns]
    extra = [c for c in df.columns if c not in expected]
    problems = []
    if missing:
        problems.append(f"rule 'columns': missing column(s) {', '.join(missing)}")
    if extra:
        problems.append(f"rule 'columns': unexpected column(s) {', '.join(extra)}")
    if problems:
        raise PublicDataError(path, problems + [f"expected columns: {', '.join(expected)}"])


def _numeric(df: pd.DataFrame, col: str, problems: list[str], *, integer: bool) -> pd.Series:
    """Parse a DfE numeric column: numbers, or suppression / not-applicable symbols (-> NaN)."""
    s = df[col].str.strip()
    # thousands separators ("749,750", a few rows of the DfE national file)
    grouped = s.str.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?")
    s = s.where(~grouped, s.str.replace(",", "", regex=False))
    symbol = s.isin(SUPPRESSED | NOT_APPLICABLE)
    num = pd.to_numeric(s.where(~symbol), errors="coerce")
    bad = (~symbol & num.isna()).to_numpy()
    if bad.any():
        problems.append(f"column '{col}': rule 'number or DfE symbol (x, c, ., :, z)': "
                        + _rows(bad, df[col]))
    if integer:
        frac = (num.notna() & (num != np.floor(num))).to_numpy()
        if frac.any():
            problems.append(f"column '{col}': rule 'whole number': " + _rows(frac, df[col]))
    return num.astype(float)


def _year_ok(s: pd.Series) -> np.ndarray:
    m = s.str.extract(r"^(\d{4})/(\d{2})$")
    ok = m[0].notna() & m[1].notna()
    nxt = (pd.to_numeric(m[0], errors="coerce") + 1) % 100
    return (ok & (nxt == pd.to_numeric(m[1], errors="coerce"))).to_numpy()


def _pandera(df: pd.DataFrame, schema: pa.DataFrameSchema, path: Path) -> pd.DataFrame:
    try:
        return schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors:
        problems = schema_problems(schema, df, Path(path).name)  # one message maker (rrlib.data.problems)
        raise PublicDataError(path, [p.format(file=False) for p in problems]) from None


# --------------------------------------------------------------------------- DfE LA time series
#: Columns of the DfE local-authority time series (SFR35/2017 ``clean_la_data.csv``).
DFE_LA_COLUMNS = ["year", "level", "la_name", "school_type", "num_schools", "headcount",
                  "perm_excl", "perm_excl_rate", "fixed_excl", "fixed_excl_rate",
                  "one_plus_fixed", "one_or_more_fixed_excl_rate"]
_DFE_COUNTS = ["num_schools", "headcount", "perm_excl", "fixed_excl", "one_plus_fixed"]
_DFE_RATES = ["perm_excl_rate", "fixed_excl_rate", "one_or_more_fixed_excl_rate"]
#: Count column -> its published rate column (per 100 pupils).
DFE_COUNT_RATE = {"fixed_excl": "fixed_excl_rate", "one_plus_fixed": "one_or_more_fixed_excl_rate",
                  "perm_excl": "perm_excl_rate"}
LEVELS = ("National", "Region", "Local authority")
SCHOOL_TYPES = ("Total", "Primary", "Secondary", "Special")


def _dfe_la_schema(strict: bool) -> pa.DataFrameSchema:
    count = dict(checks=pa.Check.ge(0), nullable=True)
    rate = dict(checks=[pa.Check.ge(0), pa.Check.le(100 if strict else 1000)], nullable=True)
    return pa.DataFrameSchema(
        {
            "year": pa.Column(str, pa.Check.str_matches(r"^\d{4}/\d{2}$")),
            "level": pa.Column(str, pa.Check.isin(LEVELS)),
            "la_name": pa.Column(str, pa.Check.str_length(min_value=1)),
            "school_type": pa.Column(str, pa.Check.isin(SCHOOL_TYPES)),
            "num_schools": pa.Column(float, pa.Check.ge(0), nullable=not strict),
            "headcount": pa.Column(float, pa.Check.gt(0) if strict else pa.Check.ge(0),
                                   nullable=not strict),
            **{c: pa.Column(float, **count) for c in ("perm_excl", "fixed_excl", "one_plus_fixed")},
            **{c: pa.Column(float, **rate) for c in _DFE_RATES},
        },
        checks=[
            pa.Check(lambda d: ~(d["one_plus_fixed"] > d["fixed_excl"]),
                     name="one_plus_fixed <= fixed_excl (pupils with a suspension <= suspensions)"),
            pa.Check(lambda d: ~((d["one_plus_fixed"] > d["headcount"]) & (d["headcount"] > 0)),
                     name="one_plus_fixed <= headcount (where there are pupils)"),
        ],
        unique=["year", "level", "la_name", "school_type"],
        strict=True,
        ordered=False,
    )


def _read_dfe_la(path: Path, *, strict: bool) -> pd.DataFrame:
    path = Path(path)
    raw = _read_text_csv(path)
    _check_columns(raw, DFE_LA_COLUMNS, path)
    problems: list[str] = []
    out = pd.DataFrame(index=raw.index)
    out["year"] = year_label(raw["year"])
    bad_year = ~_year_ok(out["year"])
    if bad_year.any():
        problems.append("column 'year': rule 'academic year YYYY/YY (or DfE code YYYYYY) with "
                        "consecutive years': " + _rows(bad_year, raw["year"]))
    for c in ("level", "la_name", "school_type"):
        out[c] = raw[c].str.strip()
    dropped = pd.DataFrame()
    if not strict:
        # The DfE file has two rows with no area name ("NULL", 2006/07, no pupils): unusable, dropped.
        noname = out["la_name"].isin(["", "NULL", "NA"]).to_numpy()
        dropped = raw[noname]
        out, raw = out[~noname], raw[~noname]
    for c in _DFE_COUNTS:
        # strict (the shipped table): whole numbers. The full DfE file has a handful of
        # non-integer "counts" (e.g. Brent 2009/10 permanent exclusions 45.9412: DfE
        # estimates); they are kept and flagged in ``estimated_counts``.
        out[c] = _numeric(raw, c, problems, integer=strict or c in ("num_schools", "headcount"))
    for c in _DFE_RATES:
        out[c] = _numeric(raw, c, problems, integer=False)
    if problems:
        raise PublicDataError(path, problems)
    out = _pandera(out, _dfe_la_schema(strict), path).reset_index(drop=True)
    # rates are published only where there are pupils
    if not strict:
        out.insert(len(out.columns), "estimated_counts",
                   (out[["perm_excl", "fixed_excl", "one_plus_fixed"]]
                    .apply(lambda s: s.notna() & (s != np.floor(s))).any(axis=1)))
    out.attrs["source_file"] = str(path)
    out.attrs["dropped_rows"] = int(len(dropped))
    return out


def load_dfe_exclusions(path: str | Path | None = None) -> pd.DataFrame:
    """The shipped DfE table (Blackpool, North West, England; Total and Secondary; 2006/07-2016/17).

    Columns as the DfE file (:data:`DFE_LA_COLUMNS`); ``year`` as ``"2016/17"``; counts and
    rates as floats, NaN where the DfE suppressed (``x``) a value. Source: DfE SFR35/2017
    (Open Government Licence v3.0); see ``data/raw/public/README.md``.
    """
    return _read_dfe_la(source_path(DFE_EXCLUSIONS, path), strict=True)


def read_dfe_la_file(path: str | Path) -> pd.DataFrame:
    """The full DfE local-authority time series (``clean_la_data.csv``, SFR35/2017).

    Same columns as :func:`load_dfe_exclusions` plus ``estimated_counts`` (True where the DfE
    file gives a non-integer count, i.e. an estimate; such rows cannot be recomputed exactly).
    Rows without an area name (a few in 2006/07 with no pupils) are dropped; their number is in
    ``df.attrs["dropped_rows"]``. Local authorities with no pupils that year (headcount 0, e.g.
    the new unitary authorities in 2008/09) are kept, with missing rates.
    """
    return _read_dfe_la(Path(path), strict=False)


# --------------------------------------------------------------------------- DfE national characteristics
NATIONAL_COLUMNS = ["year", "level", "country_code", "country", "school_type", "characteristic_desc",
                    "characteristic_1", "characteristic_2", "headcount", "perm_excl", "perm_excl_rate",
                    "fixed_excl", "fixed_excl_rate", "one_plus_fixed", "one_plus_fixed_rate"]


def read_dfe_national_characteristics(path: str | Path | None = None) -> pd.DataFrame:
    """England's exclusions by pupil characteristic (``SFR35_2017_National_characteristics.csv``).

    ``path`` defaults to the shipped cut ``dfe_exclusions_national_characteristics.csv`` (the
    rows the chapter reads); the full DfE file can be given instead.

    DfE SFR35/2017 national tables, 2011/12-2015/16, by school type and characteristic
    (gender, age, ethnicity, NC year, FSM, SEN provision, SEN primary need, IDACI decile).
    ``year`` becomes ``"2015/16"``; counts and rates are floats (NaN for ``x``, ``.``, ``:``).
    """
    path = Path(path) if path is not None else paths.PUBLIC_DIR / "dfe_exclusions_national_characteristics.csv"
    raw = _read_text_csv(path)
    _check_columns(raw, NATIONAL_COLUMNS, path)
    problems: list[str] = []
    out = pd.DataFrame(index=raw.index)
    out["year"] = year_label(raw["year"])
    bad = ~_year_ok(out["year"])
    if bad.any():
        problems.append("column 'year': rule 'academic year YYYY/YY (or DfE code YYYYYY)': "
                        + _rows(bad, raw["year"]))
    for c in NATIONAL_COLUMNS[1:8]:
        out[c] = raw[c].str.strip()
    for c in NATIONAL_COLUMNS[8:]:
        out[c] = _numeric(raw, c, problems, integer=False)
    if problems:
        raise PublicDataError(path, problems)
    schema = pa.DataFrameSchema(
        {
            "characteristic_desc": pa.Column(str, pa.Check.str_length(min_value=1)),
            "headcount": pa.Column(float, pa.Check.ge(0), nullable=True),
            **{c: pa.Column(float, pa.Check.ge(0), nullable=True)
               for c in NATIONAL_COLUMNS[9:]},
        },
        unique=["year", "level", "country", "school_type", "characteristic_desc",
                "characteristic_1", "characteristic_2"],
    )
    out = _pandera(out, schema, path)
    out.attrs["source_file"] = str(path)
    return out


# --------------------------------------------------------------------------- registry
DFE_EXCLUSIONS = "dfe_exclusions_blackpool_nw_england"

register(PublicTable(
    name=DFE_EXCLUSIONS,
    filename=f"{DFE_EXCLUSIONS}.csv",
    title="Permanent and fixed-period exclusions, Blackpool, North West and England, 2006/07-2016/17",
    citation=("Department for Education (2018). Permanent and fixed-period exclusions in England: "
              "2016 to 2017 (SFR35/2017 local-authority time series), as packaged in "
              "dfe-analytical-services/exclusion-statistics, data/clean_la_data.csv "
              "(commit 7e9dffa183129c79d1e738eb572ab3d25dd1e625)."),
    licence="Open Government Licence v3.0",
    columns={
        "year": "academic year, e.g. 2016/17",
        "level": "National, Region or Local authority",
        "la_name": "area: Blackpool, North West or England",
        "school_type": "Total (state-funded primary, secondary and special schools) or Secondary",
        "num_schools": "number of schools",
        "headcount": "pupils on roll at the January school census",
        "perm_excl": "permanent exclusions (x = suppressed)",
        "perm_excl_rate": "permanent exclusions per 100 pupils on roll",
        "fixed_excl": "fixed-period exclusions (suspensions)",
        "fixed_excl_rate": "fixed-period exclusions per 100 pupils on roll",
        "one_plus_fixed": "pupils with one or more fixed-period exclusions",
        "one_or_more_fixed_excl_rate": "pupils with one or more fixed-period exclusions per 100 pupils",
    },
    reader=lambda p: _read_dfe_la(p, strict=True),
))


# --------------------------------------------------------------------------- ONS mid-year population (MYE2)
ONS_POPULATION = "ons_mye2_blackpool_nw_england"
ONS_POPULATION_SOURCE = ("ONS, mid-year population estimates (MYE2), single year of age, "
                         "mid-2015 to mid-2020, editions as first published")
ONS_AREAS = {"E06000009": "Blackpool", "E12000002": "North West", "E92000001": "England"}
_ONS_AGES = [f"age_{a}" for a in range(90)] + ["age_90plus"]
ONS_COLUMNS = ["mid_year", "sex", "code", "name", "all_ages", *_ONS_AGES]


def _read_ons_population(path: Path) -> pd.DataFrame:
    path = Path(path)
    raw = _read_text_csv(path)
    _check_columns(raw, ONS_COLUMNS, path)
    problems: list[str] = []
    nums = {c: _numeric(raw, c, problems, integer=True) for c in ["mid_year", "all_ages", *_ONS_AGES]}
    if problems:
        raise PublicDataError(path, problems)
    wide = pd.DataFrame(nums)
    if wide.isna().any().any():
        col = wide.columns[wide.isna().any()][0]
        raise PublicDataError(path, [f"column '{col}': rule 'no missing values': "
                                     + _rows(wide[col].isna().to_numpy(), raw[col])])
    bad = (wide[_ONS_AGES].sum(axis=1) != wide["all_ages"]).to_numpy()
    if bad.any():
        raise PublicDataError(path, ["column 'all_ages': rule 'single years of age sum to all ages': "
                                     + _rows(bad, raw["all_ages"])])
    for c, allowed in (("sex", {"Persons", "Males", "Females"}), ("code", set(ONS_AREAS))):
        badv = ~raw[c].isin(allowed).to_numpy()
        if badv.any():
            raise PublicDataError(path, [f"column '{c}': rule 'one of {sorted(allowed)}': " + _rows(badv, raw[c])])
    if raw.duplicated(["mid_year", "sex", "code"]).any():
        raise PublicDataError(path, ["rows: rule 'one row per mid_year, sex and code': "
                                     + _rows(raw.duplicated(["mid_year", "sex", "code"]).to_numpy(),
                                             raw["code"])])
    long = wide[_ONS_AGES].set_axis(list(range(91)), axis=1)
    long.index = pd.MultiIndex.from_arrays([wide["mid_year"].astype(int), raw["sex"], raw["code"]],
                                           names=["mid_year", "sex", "code"])
    out = long.stack().rename("population").reset_index().rename(columns={"level_3": "age"})
    out["area"] = out["code"].map(ONS_AREAS)
    out["age"] = out["age"].astype(int)
    out["population"] = out["population"].astype("int64")
    out = out[["mid_year", "sex", "code", "area", "age", "population"]]
    out.attrs["source_file"] = str(path)
    return out


def load_ons_population(path: str | Path | None = None) -> pd.DataFrame:
    """ONS mid-year population estimates (MYE2), Blackpool, North West and England, mid-2015 to mid-2020.

    Long form: ``mid_year`` (int), ``sex`` (Persons, Males, Females), ``code`` (ONS area code),
    ``area`` (Blackpool, North West, England), ``age`` (0-90; 90 means 90 and over) and
    ``population``. Checked: whole numbers, single years summing to all ages, one row per
    year, sex and area. Editions as first published (not rebased after Census 2021).
    Source: ONS (Open Government Licence v3.0); see ``data/raw/public/README.md``.
    """
    return _read_ons_population(source_path(ONS_POPULATION, path))


register(PublicTable(
    name=ONS_POPULATION,
    filename=f"{ONS_POPULATION}.csv",
    title="ONS mid-year population estimates by single year of age, Blackpool, North West, England, 2015-2020",
    citation=("Office for National Statistics. Population estimates for the UK, England and Wales, Scotland "
              "and Northern Ireland, mid-2015 to mid-2020 (MYE2), as first published."),
    licence="Open Government Licence v3.0",
    columns={"mid_year": "year of the estimate (30 June)", "sex": "Persons, Males or Females",
             "code": "ONS area code", "name": "area name as in the workbook",
             "all_ages": "population, all ages", **{c: f"population aged {c[4:]}" for c in _ONS_AGES}},
    reader=_read_ons_population,
))


# --------------------------------------------------------------------------- DfE free school meals
DFE_FSM = "dfe_fsm_blackpool_england"
DFE_FSM_SOURCE = ("DfE, Schools, pupils and their characteristics: pupils eligible for free school meals "
                  "at the January census, by local authority")
DFE_FSM_COLUMNS = ["academic_year", "exam_year", "area_code", "area", "school_type", "fsm_pupils", "pupils",
                   "fsm_share"]
FSM_SCHOOL_TYPES = ("Total", "primary", "secondary", "special")


def _read_dfe_fsm(path: Path) -> pd.DataFrame:
    path = Path(path)
    raw = _read_text_csv(path)
    _check_columns(raw, DFE_FSM_COLUMNS, path)
    problems: list[str] = []
    out = pd.DataFrame(index=raw.index)
    out["academic_year"] = year_label(raw["academic_year"])
    bad = ~_year_ok(out["academic_year"])
    if bad.any():
        problems.append("column 'academic_year': rule 'DfE year code YYYYYY with consecutive years': "
                        + _rows(bad, raw["academic_year"]))
    for c in ("area_code", "area", "school_type"):
        out[c] = raw[c].str.strip()
    for c in ("fsm_pupils", "pupils"):
        out[c] = _numeric(raw, c, problems, integer=True)
    out["fsm_share"] = _numeric(raw, "fsm_share", problems, integer=False)
    if problems:
        raise PublicDataError(path, problems)
    schema = pa.DataFrameSchema(
        {"academic_year": pa.Column(str),
         "area_code": pa.Column(str, pa.Check.str_matches(r"^E(\d{8}|0)$")),  # England is "E0" there
         "area": pa.Column(str, pa.Check.str_length(min_value=1)),
         "school_type": pa.Column(str, pa.Check.isin(FSM_SCHOOL_TYPES)),
         "fsm_pupils": pa.Column(float, pa.Check.ge(0)),
         "pupils": pa.Column(float, pa.Check.gt(0)),
         "fsm_share": pa.Column(float, [pa.Check.ge(0), pa.Check.le(1)])},
        checks=[pa.Check(lambda d: d["fsm_pupils"] <= d["pupils"], name="fsm_pupils <= pupils"),
                pa.Check(lambda d: (d["fsm_pupils"] / d["pupils"] - d["fsm_share"]).abs() < 1e-6,
                         name="fsm_share = fsm_pupils / pupils")],
        unique=["academic_year", "area_code", "school_type"], strict=True)
    out = _pandera(out, schema, path).reset_index(drop=True)
    for c in ("fsm_pupils", "pupils"):
        out[c] = out[c].astype("int64")
    out.insert(1, "census", "January " + (out["academic_year"].str[:4].astype(int) + 1).astype(str))
    out.attrs["source_file"] = str(path)
    return out


def load_dfe_fsm(path: str | Path | None = None) -> pd.DataFrame:
    """Pupils eligible for free school meals at the January census, Blackpool and England, by school type.

    Columns ``academic_year`` (``2015/16`` is the January 2016 census), ``census`` ("January 2016"),
    ``area_code``, ``area``, ``school_type`` (Total = state-funded primary, secondary and special,
    or primary, secondary, special), ``fsm_pupils``, ``pupils`` and ``fsm_share`` (a fraction, as
    published). Checked: whole counts, share = count / pupils, one row per year, area, school type.
    Source: DfE (Open Government Licence v3.0); see ``data/raw/public/README.md``.
    """
    return _read_dfe_fsm(source_path(DFE_FSM, path))


register(PublicTable(
    name=DFE_FSM,
    filename=f"{DFE_FSM}.csv",
    title="Pupils eligible for free school meals, Blackpool and England, January 2016 onwards",
    citation=("Department for Education. Schools, pupils and their characteristics (January census), pupils "
              "eligible for free school meals by local authority, as reshaped in cadwalladered/rsic_resources."),
    licence="Open Government Licence v3.0",
    columns={"academic_year": "DfE year code (201516 = January 2016 census)",
             "exam_year": "calendar year of the census",
             "area_code": "ONS area code", "area": "Blackpool or England",
             "school_type": "Total, primary, secondary or special", "fsm_pupils": "pupils eligible for FSM",
             "pupils": "pupils on roll", "fsm_share": "fsm_pupils / pupils (fraction)"},
    reader=_read_dfe_fsm,
))


# --------------------------------------------------------------------------- Fingertips self-harm 10-24
#: OHID/PHE Fingertips indicator 90813, "Hospital admissions as a result of self-harm (10-24 years)".
FINGERTIPS_SELFHARM_NW = "fingertips_selfharm_10_24_nw_2017_18"
FINGERTIPS_SELFHARM_UTLA = "fingertips_selfharm_10_24_utla_2011_2018"
FINGERTIPS_SOURCE = ("OHID (formerly PHE) Fingertips, indicator 90813 'Hospital admissions as a result of "
                     "self-harm (10-24 years)'")
_FT_NW_TEXT = ["area_code", "area_name", "area_type", "parent_name", "sex", "age", "period",
               "compared_to_england"]
_FT_NW_NUMBERS = ["value", "lower_95", "upper_95", "lower_998", "upper_998", "count", "denominator"]
_FT_UTLA = ["area_code", "area_name", "period", "value", "significance"]


def _read_fingertips(path: Path, text: list[str], numbers: list[str], integers: tuple[str, ...],
                     unique: list[str]) -> pd.DataFrame:
    path = Path(path)
    raw = _read_text_csv(path)
    _check_columns(raw, text + numbers, path)
    problems: list[str] = []
    out = raw[text].apply(lambda s: s.str.strip())
    bad = ~_year_ok(out["period"])
    if bad.any():
        problems.append("column 'period': rule 'financial year YYYY/YY': " + _rows(bad, raw["period"]))
    for c in numbers:
        s = raw[c].str.strip()
        num = pd.to_numeric(s.where(s != ""), errors="coerce")
        wrong = (s.ne("") & num.isna()).to_numpy()
        if wrong.any():
            problems.append(f"column '{c}': rule 'number or empty': " + _rows(wrong, raw[c]))
        if c in integers:
            frac = (num.notna() & (num != np.floor(num))).to_numpy()
            if frac.any():
                problems.append(f"column '{c}': rule 'whole number': " + _rows(frac, raw[c]))
        out[c] = num.astype(float)
    if problems:
        raise PublicDataError(path, problems)
    schema = pa.DataFrameSchema(
        {"area_code": pa.Column(str, pa.Check.str_matches(r"^E\d{8}$")),
         **{c: pa.Column(float, pa.Check.ge(0), nullable=True) for c in numbers}},
        checks=([pa.Check(lambda d: ~((d["lower_95"] > d["value"]) | (d["value"] > d["upper_95"])),
                          name="lower_95 <= value <= upper_95")] if "lower_95" in numbers else []),
        unique=unique)
    out = _pandera(out, schema, path).reset_index(drop=True)
    out.attrs["source_file"] = str(path)
    return out


def load_fingertips_selfharm_nw(path: str | Path | None = None) -> pd.DataFrame:
    """Fingertips 90813, 2017/18: England, the North West region and its 23 upper-tier authorities.

    Columns: area_code, area_name, area_type, parent_name, sex, age, period, compared_to_england
    (text) and value (directly standardised rate per 100,000, ESP 2013), lower_95, upper_95,
    lower_998, upper_998, count (admissions), denominator (ONS mid-2017 population 10-24) as
    floats. Official statistics (Open Government Licence v3.0); see data/raw/public/README.md.
    """
    return _read_fingertips(source_path(FINGERTIPS_SELFHARM_NW, path),
                            _FT_NW_TEXT, _FT_NW_NUMBERS, ("count", "denominator"), ["area_code", "period"])


def load_fingertips_selfharm_utla(path: str | Path | None = None) -> pd.DataFrame:
    """Fingertips 90813, England and every upper-tier authority, 2011/12-2017/18 (rates only).

    Columns: area_code, area_name, period, significance (text) and value (directly standardised
    rate per 100,000; NaN where Fingertips published none: City of London, Isles of Scilly).
    """
    return _read_fingertips(source_path(FINGERTIPS_SELFHARM_UTLA, path),
                            ["area_code", "area_name", "period", "significance"], ["value"], (),
                            ["area_code", "period"])


for _name, _title, _reader, _cols in (
        (FINGERTIPS_SELFHARM_NW, "Hospital admissions for self-harm (10-24), North West authorities, 2017/18",
         load_fingertips_selfharm_nw, {**{c: c for c in _FT_NW_TEXT}, **{c: c for c in _FT_NW_NUMBERS}}),
        (FINGERTIPS_SELFHARM_UTLA, "Hospital admissions for self-harm (10-24), upper-tier authorities, "
         "2011/12-2017/18", load_fingertips_selfharm_utla, {c: c for c in _FT_UTLA})):
    register(PublicTable(name=_name, filename=f"{_name}.csv", title=_title,
                         citation=FINGERTIPS_SOURCE + ", official statistics; see data/raw/public/README.md",
                         licence="Open Government Licence v3.0", columns=_cols, reader=_reader))
# --------------------------------------------------------------------------- DfE 2006/07-2022/23 (every area)
DFE_EXCLUSIONS_LA = "dfe_exclusions_la_2006_2023"
#: Columns of the shipped cut ``dfe_exclusions_la_2006_2023.csv``.
DFE_LA_2023_COLUMNS = ["year", "level", "area_code", "area", "headcount", "perm_excl", "perm_excl_rate",
                       "suspension", "susp_rate", "one_plus_susp", "one_plus_susp_rate"]
_LA_2023_LEVELS = {"National": "National", "Regional": "Region", "Local authority": "Local authority"}


def load_dfe_exclusions_la(path: str | Path | None = None, *, school_type: str = "Total",
                           _table: str = DFE_EXCLUSIONS_LA) -> pd.DataFrame:
    """DfE suspensions and permanent exclusions, every area, Total, 2006/07-2022/23.

    Reads the shipped cut (default) or, given a path, a file laid out like the cut, the full
    explore-education-statistics file ``exc_nat_region_la.csv``, or the older SFR35/2017
    ``clean_la_data.csv`` (read by :func:`read_dfe_la_file`, to 2016/17) (cut on the fly with
    :mod:`rrlib.cuts.dfe_exclusions_la_2006_2023`). Returns the columns of the SFR35 loaders
    (:data:`DFE_LA_COLUMNS` names, so :mod:`rrlib.chapters.exclusions` reads both alike):
    ``year``, ``level`` (National, Region, Local authority), ``la_name`` (the area), ``area_code``,
    ``school_type`` ("Total"), ``headcount``, ``perm_excl``, ``perm_excl_rate``, ``fixed_excl``
    (suspensions), ``fixed_excl_rate``, ``one_plus_fixed``, ``one_or_more_fixed_excl_rate``,
    ``estimated_counts``. Published rates have 5 decimals (``df.attrs["rate_decimals"]``).
    ``school_type`` names the rows' school type (``"Secondary"`` for the secondary cut, read by
    :func:`load_dfe_exclusions_la_secondary`).
    """
    path = source_path(_table, path)
    raw = _read_text_csv(path)
    if set(raw.columns) == set(DFE_LA_COLUMNS):                # the older SFR35/2017 layout (to 2016/17)
        return read_dfe_la_file(path)
    if "time_period" in raw.columns and "geographic_level" in raw.columns:   # the full DfE file
        raw = make(path).astype(str)
    _check_columns(raw, DFE_LA_2023_COLUMNS, path)
    problems: list[str] = []
    out = pd.DataFrame(index=raw.index)
    out["year"] = year_label(raw["year"])
    bad = ~_year_ok(out["year"])
    if bad.any():
        problems.append("column 'year': rule 'academic year YYYY/YY': " + _rows(bad, raw["year"]))
    lvl = raw["level"].str.strip()
    bad = ~lvl.isin(list(_LA_2023_LEVELS)).to_numpy()
    if bad.any():
        problems.append(f"column 'level': rule 'one of {', '.join(_LA_2023_LEVELS)}': " + _rows(bad, raw["level"]))
    out["level"] = lvl.map(_LA_2023_LEVELS)
    out["la_name"] = raw["area"].str.strip()
    out["area_code"] = raw["area_code"].str.strip()
    out["school_type"] = school_type
    names = {"suspension": "fixed_excl", "susp_rate": "fixed_excl_rate", "one_plus_susp": "one_plus_fixed",
             "one_plus_susp_rate": "one_or_more_fixed_excl_rate"}
    for c in ("headcount", "perm_excl", "suspension", "one_plus_susp"):
        out[names.get(c, c)] = _numeric(raw, c, problems, integer=c == "headcount")
    for c in ("perm_excl_rate", "susp_rate", "one_plus_susp_rate"):
        out[names.get(c, c)] = _numeric(raw, c, problems, integer=False)
    if problems:
        raise PublicDataError(path, problems)
    schema = pa.DataFrameSchema(
        {"la_name": pa.Column(str, pa.Check.str_length(min_value=1)),
         "headcount": pa.Column(float, pa.Check.ge(0)),
         **{c: pa.Column(float, pa.Check.ge(0), nullable=True)
            for c in ("perm_excl", "fixed_excl", "one_plus_fixed")},
         **{c: pa.Column(float, [pa.Check.ge(0), pa.Check.le(1000)], nullable=True) for c in _DFE_RATES}},
        checks=[pa.Check(lambda d: ~((d["one_plus_fixed"] > d["fixed_excl"])),
                         name="one_plus_fixed <= fixed_excl (pupils with a suspension <= suspensions)")],
        unique=["year", "level", "la_name"],
    )
    out = _pandera(out, schema, path).reset_index(drop=True)
    out["estimated_counts"] = (out[["perm_excl", "fixed_excl", "one_plus_fixed"]]
                               .apply(lambda s: s.notna() & (s != np.floor(s))).any(axis=1))
    out.attrs.update(source_file=str(path), rate_decimals=5, dropped_rows=0)
    return out


DFE_EXCLUSIONS_LA_SECONDARY = "dfe_exclusions_la_secondary_2006_2023"


def load_dfe_exclusions_la_secondary(path: str | Path | None = None) -> pd.DataFrame:
    """As :func:`load_dfe_exclusions_la`, state-funded secondary schools (``school_type`` "Secondary")."""
    return load_dfe_exclusions_la(path, school_type="Secondary", _table=DFE_EXCLUSIONS_LA_SECONDARY)


# --------------------------------------------------------------------------- DfE statistical neighbours
STATISTICAL_NEIGHBOURS = "dfe_statistical_neighbours"
LA_CODES = "dfe_la_codes"
SN_COLUMNS = ["version", "la_code", "la_name", "region", "rank", "neighbour_code", "closeness", "neighbour_name"]
#: The statistical-neighbour models shipped: version label -> name used in the text.
SN_VERSIONS = {"2021-04": "April 2021", "2025-05": "May 2025"}


def load_statistical_neighbours(path: str | Path | None = None) -> pd.DataFrame:
    """The DfE's children's services statistical neighbours (April 2021 and May 2025 models).

    One row per (version, authority, rank): version (``2021-04``, ``2025-05``), la_code (DfE old
    LA code, text, e.g. ``"890"``), la_name, region, rank (1-10, int), neighbour_code,
    closeness (band as published; the 2025 model writes "Very close" where 2021 writes "Very
    Close"), neighbour_name. Checks: codes are three digits, ranks 1-10 unique per authority,
    no authority is its own neighbour. Official statistics; see data/raw/public/README.md.
    """
    path = source_path(STATISTICAL_NEIGHBOURS, path)
    raw = _read_text_csv(path)
    _check_columns(raw, SN_COLUMNS, path)
    problems: list[str] = []
    out = raw[SN_COLUMNS].apply(lambda s: s.str.strip())
    rank = _numeric(raw, "rank", problems, integer=True)
    for c in ("la_code", "neighbour_code"):
        bad = ~out[c].str.fullmatch(r"\d{3}").to_numpy()
        if bad.any():
            problems.append(f"column '{c}': rule 'three-digit DfE LA code': " + _rows(bad, raw[c]))
    bad = ~out["version"].isin(list(SN_VERSIONS)).to_numpy()
    if bad.any():
        problems.append(f"column 'version': rule 'one of {', '.join(SN_VERSIONS)}': " + _rows(bad, raw["version"]))
    if problems:
        raise PublicDataError(path, problems)
    out["rank"] = rank.astype(int)
    out = _pandera(out, pa.DataFrameSchema(
        {"rank": pa.Column(int, [pa.Check.ge(1), pa.Check.le(10)])},
        checks=[pa.Check(lambda d: d["la_code"] != d["neighbour_code"], name="not its own neighbour")],
        unique=["version", "la_code", "rank"]), path)
    out.attrs["source_file"] = str(path)
    return out.reset_index(drop=True)


def load_la_codes(path: str | Path | None = None) -> pd.DataFrame:
    """Old (three-digit) and ONS codes of the local authorities of the DfE exclusions series.

    Columns: old_la_code, new_la_code (``x`` for Bedfordshire and Cheshire, abolished in 2009),
    la_name, first_year, last_year (school years ``2006/07``), region_name (the DfE's region, with
    Inner and Outer London). An authority whose ONS code changed has one row per code; its old code
    and name do not change.
    """
    path = source_path(LA_CODES, path)
    raw = _read_text_csv(path)
    cols = ["old_la_code", "new_la_code", "la_name", "first_year", "last_year", "region_name"]
    _check_columns(raw, cols, path)
    out = raw[cols].apply(lambda s: s.str.strip())
    problems = []
    bad = ~out["old_la_code"].str.fullmatch(r"\d{3}").to_numpy()
    if bad.any():
        problems.append("column 'old_la_code': rule 'three-digit DfE LA code': " + _rows(bad, raw["old_la_code"]))
    for c in ("first_year", "last_year"):
        bad = ~_year_ok(out[c])
        if bad.any():
            problems.append(f"column '{c}': rule 'academic year YYYY/YY': " + _rows(bad, raw[c]))
    if problems:
        raise PublicDataError(path, problems)
    one_name = out.groupby("old_la_code")["la_name"].nunique()
    if (one_name > 1).any():
        raise PublicDataError(path, ["rule 'one name per old LA code': codes "
                                     + ", ".join(one_name[one_name > 1].index[:MAX_ROWS_SHOWN])])
    return out.reset_index(drop=True)


for _name, _title, _reader, _cols in (
        (STATISTICAL_NEIGHBOURS, "DfE children's services statistical neighbours, April 2021 and May 2025",
         load_statistical_neighbours, {c: c for c in SN_COLUMNS}),
        (LA_CODES, "Local-authority codes of the DfE exclusions series", load_la_codes, {}),
        (DFE_EXCLUSIONS_LA_SECONDARY, "Suspensions and permanent exclusions, state-funded secondary schools, "
         "every area, 2006/07-2022/23", load_dfe_exclusions_la_secondary, {})):
    register(PublicTable(name=_name, filename=f"{_name}.csv", title=_title,
                         citation="Department for Education, official statistics; see data/raw/public/README.md",
                         licence="Open Government Licence v3.0", columns=_cols, reader=_reader))


# --------------------------------------------------------------------------- DfE FSM January 2016
FSM_2016 = "dfe_fsm_la_2016"


def load_fsm_2016(path: str | Path | None = None) -> pd.DataFrame:
    """Pupils eligible for free school meals by local authority, January 2016 (shipped cut).

    Columns: census, area_code, area, fsm_pupils, pupils, fsm_share (a fraction, as published),
    fsm_percent (fsm_share x 100).
    """
    path = source_path(FSM_2016, path)
    raw = _read_text_csv(path)
    cols = ["census", "area_code", "area", "fsm_pupils", "pupils", "fsm_share"]
    _check_columns(raw, cols, path)
    problems: list[str] = []
    out = raw[["census", "area_code", "area"]].apply(lambda s: s.str.strip())
    out["fsm_pupils"] = _numeric(raw, "fsm_pupils", problems, integer=True)
    out["pupils"] = _numeric(raw, "pupils", problems, integer=True)
    out["fsm_share"] = _numeric(raw, "fsm_share", problems, integer=False)
    if problems:
        raise PublicDataError(path, problems)
    out = _pandera(out, pa.DataFrameSchema(
        {"area": pa.Column(str, pa.Check.str_length(min_value=1)),
         "pupils": pa.Column(float, pa.Check.gt(0)),
         "fsm_share": pa.Column(float, [pa.Check.ge(0), pa.Check.le(1)])},
        checks=[pa.Check(lambda d: d["fsm_pupils"] <= d["pupils"], name="fsm_pupils <= pupils")],
        unique=["area_code"]), path)
    out["fsm_percent"] = out["fsm_share"] * 100
    return out.reset_index(drop=True)


DFE_NATIONAL = "dfe_exclusions_national_characteristics"

for _name, _title, _cit, _reader in (
    (DFE_EXCLUSIONS_LA, "Suspensions and permanent exclusions, every area, 2006/07-2022/23",
     "Department for Education (2024). Suspensions and permanent exclusions in England, 2022/23 release "
     "(exc_nat_region_la.csv). Official statistics.", load_dfe_exclusions_la),
    (DFE_NATIONAL, "Exclusions in England by pupil characteristic, 2011/12-2015/16",
     "Department for Education (2017). Permanent and fixed-period exclusions in England: 2015 to 2016 "
     "(SFR35/2017), national tables. Official statistics.", lambda p: read_dfe_national_characteristics(p)),
    (FSM_2016, "Pupils eligible for free school meals by local authority, January 2016",
     "Department for Education. Schools, pupils and their characteristics: January 2016. Official statistics.",
     load_fsm_2016),
):
    register(PublicTable(name=_name, filename=f"{_name}.csv", title=_title, citation=_cit,
                         licence="Open Government Licence v3.0", columns={}, reader=_reader))
