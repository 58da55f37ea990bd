"""Health domain: A&E attendances, hospital admissions and the Resilience Coaches' self-harm support log.

Raw tables (one file each in the data folder):

``ed_attendances``
    A&E attendances of young people aged 10-24 at the local emergency department, one row per
    attendance, shaped like the Emergency Care Data Set (ECDS). ``self_harm`` marks attendances
    for self-harm (ECDS chief complaint / injury intent "self-inflicted").
``admissions``
    Hospital admissions (spells) of young people aged 10-24, shaped like Hospital Episode
    Statistics (HES) Admitted Patient Care. ``self_harm`` is true when an ICD-10 external cause
    code X60-X84 (intentional self-harm) is recorded, as in the national indicator "Hospital
    admissions as a result of self-harm (10-24 years)" (OHID Fingertips),
    which counts *emergency* admissions (``admission_method == "emergency"``) of residents.
``selfharm_support``
    The Resilience Coaches' self-harm support log: one row per referral of a young person who
    presented at A&E with self-harm (the *index attendance*), with the referral time, the time
    of first contact (the service aimed to contact young people within 24 hours) and how
    support ended.

Person identifiers: young people who appear in the January school census use their census
``pupil_id`` ("P" + 7 digits); everyone else (young adults who left school before the census
extract began, residents of other areas, young people educated outside the town's state
schools) has a health-only id "H" + 6 digits. Real extracts are linked the same way (NHS
number to census by the local data linkage service) before they are pseudonymised.

Date-times are text ``YYYY-MM-DD HH:MM`` (local time) in the raw files, because the raw-data
reader parses only plain ISO dates; :func:`prepare` turns them into timestamps.
"""
from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from ..calendar import financial_year
from .areas import LOOKUP_SOURCE, ONS_CODE_RE, area_names, lookup
from .table import PUPIL_ID, Table, id_pattern, matches_check, sorted_by

#: Names of residence areas in the shipped synthetic data (processed column ``area``; the raw
#: column ``area_code`` holds ONS codes, named by :mod:`rrlib.data.areas`). Not a rule.
AREAS = ("Blackpool", "Fylde", "Wyre", "Other")
SEXES = ("F", "M")
DISPOSALS = ("admitted", "discharged", "referred", "left_before_treatment")
ADMISSION_METHODS = ("emergency", "elective", "transfer", "other")
END_REASONS = ("completed", "disengaged", "moved_away", "transferred")

#: a census pupil or, for young adults not in the census, a health-only person id
PERSON_RE = rf"^({PUPIL_ID[1:-1]}|{id_pattern('H', 6)[1:-1]})$"
DATETIME_RE = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"
FY_RE = r"^\d{4}/\d{2}$"
#: ICD-10 intentional self-harm external causes (X60-X84), as the national indicator counts.
SELF_HARM_CODES = tuple(f"X{i}" for i in range(60, 85))


def _fy_matches(df: pd.DataFrame, date_col: str) -> pd.Series:
    d = pd.to_datetime(df[date_col].astype(str).str.slice(0, 10), errors="coerce")
    ok = d.notna()
    out = pd.Series(True, index=df.index)
    out[ok] = financial_year(d[ok]).to_numpy() == df.loc[ok, "financial_year"].to_numpy()
    return out


def _valid_datetime(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="%Y-%m-%d %H:%M", errors="coerce").notna() | s.isna()


ED_SCHEMA = pa.DataFrameSchema(
    {
        "attendance_id": pa.Column(str, matches_check(id_pattern("E", 7)), unique=True),
        "person_id": pa.Column(str, matches_check(PERSON_RE)),
        "arrival_datetime": pa.Column(str, [matches_check(DATETIME_RE),
                                            pa.Check(_valid_datetime, name="valid date-time")]),
        "financial_year": pa.Column(str, matches_check(FY_RE)),
        "age": pa.Column(int, pa.Check.in_range(10, 24)),
        "sex": pa.Column(str, pa.Check.isin(SEXES)),
        "area_code": pa.Column(str, matches_check(ONS_CODE_RE), nullable=True),
        "self_harm": pa.Column(bool),
        "disposal": pa.Column(str, pa.Check.isin(DISPOSALS), nullable=True),
    },
    checks=[pa.Check(lambda df: _fy_matches(df, "arrival_datetime"),
                     name="financial_year is the NHS financial year of arrival_datetime")],
    strict=True, coerce=False,
)

ADM_SCHEMA = pa.DataFrameSchema(
    {
        "admission_id": pa.Column(str, matches_check(id_pattern("A", 7)), unique=True),
        "person_id": pa.Column(str, matches_check(PERSON_RE)),
        "admission_date": pa.Column("datetime64[ns]"),
        "discharge_date": pa.Column("datetime64[ns]"),
        "financial_year": pa.Column(str, matches_check(FY_RE)),
        "age": pa.Column(int, pa.Check.in_range(10, 24)),
        "sex": pa.Column(str, pa.Check.isin(SEXES)),
        "area_code": pa.Column(str, matches_check(ONS_CODE_RE), nullable=True),
        "admission_method": pa.Column(str, pa.Check.isin(ADMISSION_METHODS)),
        "cause_code": pa.Column(str, matches_check(r"^[V-Y]\d{2}$"), nullable=True),
        "self_harm": pa.Column(bool),
    },
    checks=[
        pa.Check(lambda df: df["discharge_date"] >= df["admission_date"],
                 name="discharge_date on or after admission_date"),
        pa.Check(lambda df: df["self_harm"] == df["cause_code"].isin(SELF_HARM_CODES),
                 name="self_harm is true exactly when cause_code is X60-X84"),
        pa.Check(lambda df: _fy_matches(df, "admission_date"),
                 name="financial_year is the NHS financial year of admission_date"),
    ],
    strict=True, coerce=False,
)


def _contact_after_referral(df: pd.DataFrame) -> pd.Series:
    r = pd.to_datetime(df["referral_datetime"], format="%Y-%m-%d %H:%M", errors="coerce")
    c = pd.to_datetime(df["first_contact_datetime"], format="%Y-%m-%d %H:%M", errors="coerce")
    return c.isna() | r.isna() | (c >= r)


def _end_after_referral(df: pd.DataFrame) -> pd.Series:
    r = pd.to_datetime(df["referral_datetime"].astype(str).str.slice(0, 10), errors="coerce")
    return df["end_date"].isna() | r.isna() | (df["end_date"] >= r)


SUPPORT_SCHEMA = pa.DataFrameSchema(
    {
        "support_id": pa.Column(str, matches_check(id_pattern("SH", 5)), unique=True),
        "person_id": pa.Column(str, matches_check(PUPIL_ID)),
        "index_attendance_id": pa.Column(str, matches_check(id_pattern("E", 7))),
        "referral_datetime": pa.Column(str, [matches_check(DATETIME_RE),
                                             pa.Check(_valid_datetime, name="valid date-time")]),
        "first_contact_datetime": pa.Column(str, [matches_check(DATETIME_RE),
                                                  pa.Check(_valid_datetime, name="valid date-time")],
                                            nullable=True),
        "end_date": pa.Column("datetime64[ns]", nullable=True),
        "end_reason": pa.Column(str, pa.Check.isin(END_REASONS), nullable=True),
    },
    checks=[
        pa.Check(_contact_after_referral, name="first_contact_datetime on or after referral_datetime"),
        pa.Check(_end_after_referral, name="end_date on or after the referral date"),
        pa.Check(lambda df: df["end_date"].isna() == df["end_reason"].isna(),
                 name="end_reason given exactly when end_date is"),
    ],
    strict=True, coerce=False,
)

#: The codebook's list of residence codes: the lookup's (name as `area` after `rr prepare`).
_AREA_CODES = {**{c: f"{n}" for c, n in lookup().items()},
               "(any other ONS code)": "valid; named 'Other' (outside the lookup's areas)"}
_AREA_NOTE = (f"Residence codes are ONS local authority codes; names from the lookup "
              f"src/rrlib/data/ons_local_authorities.csv ({LOOKUP_SOURCE}).")

_COMMON = {
    "person_id": ("Pseudonymised person: the census pupil_id (P + 7 digits) for young people in the "
                  "January school census, otherwise a health-only id (H + 6 digits)."),
    "financial_year": "NHS financial year (1 April to 31 March), e.g. 2017/18.",
    "age": "Age in whole years at arrival/admission (ECDS/HES derived age).",
    "sex": "Sex as recorded (F, M).",
    "area_code": ("Local authority of residence, ONS code (E06000009 Blackpool, E07000119 Fylde, E07000128 "
                  "Wyre, ...; ECDS/HES residence LA). `rr prepare` adds its name as `area` from the lookup "
                  "src/rrlib/data/ons_local_authorities.csv ('Other' for codes outside it); empty when "
                  "not known (no name). The Blackpool rates count Blackpool residents only."),
}

TABLES = [
    Table(
        name="ed_attendances",
        required=False,  # optional: sections that need it say so when it is absent
               schema=ED_SCHEMA,
        description="A&E attendances of young people aged 10-24, one row per attendance (ECDS-like).",
        source="Emergency Care Data Set extract from the local acute trust (pseudonymised, linked).",
        counterpart="NHS Digital Emergency Care Data Set (ECDS)",
        columns={
            "attendance_id": "Attendance identifier (E + 7 digits); unique.",
            "person_id": _COMMON["person_id"],
            "arrival_datetime": "Arrival date and time, text YYYY-MM-DD HH:MM (ECDS arrival date/time).",
            "financial_year": _COMMON["financial_year"],
            "age": _COMMON["age"],
            "sex": _COMMON["sex"],
            "area_code": _COMMON["area_code"],
            "self_harm": ("Attendance for self-harm (ECDS chief complaint or injury intent "
                          "'self-inflicted'): true/false."),
            "disposal": ("Discharge destination grouped: admitted, discharged, referred, left_before_treatment; "
                         "empty when no destination was recorded (kept as unknown)."),
        },
        foreign_keys=(),
        dates=(),
        key=("attendance_id",),
        codes={"disposal": {d: d.replace("_", " ") for d in DISPOSALS}, "area_code": _AREA_CODES},
        notes=("Synthetic volumes of attendances that are not for self-harm are lower than real ones; "
               "the chapter uses self-harm attendances only.", _AREA_NOTE),
    ),
    Table(
        name="admissions",
        required=False,  # optional: sections that need it say so when it is absent
               schema=ADM_SCHEMA,
        description="Hospital admissions (spells) of young people aged 10-24 (HES-like).",
        source="Hospital Episode Statistics Admitted Patient Care extract (pseudonymised, linked).",
        counterpart="NHS England Hospital Episode Statistics, Admitted Patient Care",
        columns={
            "admission_id": "Spell identifier (A + 7 digits); unique.",
            "person_id": _COMMON["person_id"],
            "admission_date": "Date of admission (HES ADMIDATE).",
            "discharge_date": "Date of discharge (HES DISDATE).",
            "financial_year": _COMMON["financial_year"] + " Of the admission date.",
            "age": _COMMON["age"],
            "sex": _COMMON["sex"],
            "area_code": _COMMON["area_code"],
            "admission_method": ("HES ADMIMETH grouped: emergency (21-2B), elective (11-13), transfer "
                                 "(81), other (maternity and other)."),
            "cause_code": ("ICD-10 external cause code (3 characters, V01-Y98) recorded in any "
                           "diagnosis position; empty when none."),
            "self_harm": "Intentional self-harm: an ICD-10 cause code X60-X84 is recorded.",
        },
        dates=("admission_date", "discharge_date"),
        key=("admission_id",),
        codes={"admission_method": {"emergency": "HES ADMIMETH 21-2B", "elective": "HES ADMIMETH 11-13",
                                    "transfer": "HES ADMIMETH 81", "other": "maternity and other"},
               "area_code": _AREA_CODES},
        notes=("The national indicator (OHID Fingertips) counts emergency admissions of residents "
               "aged 10-24 with X60-X84; one person may be admitted several times.", _AREA_NOTE),
    ),
    Table(
        name="selfharm_support",
        required=False,  # optional: sections that need it say so when it is absent
               schema=SUPPORT_SCHEMA,
        description="The Resilience Coaches' self-harm support log: one row per referral after an A&E attendance.",
        source="HeadStart Blackpool case management system (Resilience Coaches).",
        counterpart="Programme monitoring data (not a national data set)",
        columns={
            "support_id": "Referral identifier (SH + 5 digits); unique.",
            "person_id": "Census pupil_id of the young person (P + 7 digits).",
            "index_attendance_id": "The A&E attendance (ed_attendances.attendance_id) that led to the referral.",
            "referral_datetime": "Date and time the referral was received, text YYYY-MM-DD HH:MM.",
            "first_contact_datetime": ("Date and time of the Resilience Coach's first contact, text "
                                       "YYYY-MM-DD HH:MM; empty if never contacted."),
            "end_date": "Date support ended (empty while open).",
            "end_reason": "Why support ended: completed, disengaged, moved_away, transferred.",
        },
        foreign_keys=(("index_attendance_id", "ed_attendances", "attendance_id"),
                      ("person_id", "pupils", "pupil_id")),
        dates=("end_date",),
        window_dates=("referral_datetime", "end_date"),
        key=("support_id",),
        codes={"end_reason": {r: r.replace("_", " ") for r in END_REASONS}},
    ),
]


def _ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="%Y-%m-%d %H:%M", errors="raise")


def _with_area_name(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``area`` (the name of ``area_code``) inserted before ``area_code``."""
    df.insert(df.columns.get_loc("area_code"), "area", area_names(df["area_code"]))
    return df


def prepare(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Processed health tables: date-times parsed, tables sorted by their keys.

    ``ed_attendances``: ``arrival_datetime`` as a timestamp, plus ``arrival_date``.
    ``admissions``: sorted.
    Both: plus ``area``, the name of the residence code ``area_code`` (:mod:`rrlib.data.areas`:
    "Blackpool", "Fylde", "Wyre", ...; "Other" outside the lookup), placed before it.
    ``selfharm_support``: referral and first-contact timestamps, plus the index attendance's
    ``index_arrival_datetime`` and ``hours_to_first_contact`` (from index arrival to first contact).
    """
    out: dict[str, pd.DataFrame] = {}
    if "ed_attendances" in raw:
        ed = raw["ed_attendances"].copy(deep=False)
        ed["arrival_datetime"] = _ts(ed["arrival_datetime"])
        ed["arrival_date"] = ed["arrival_datetime"].dt.normalize()
        ed["self_harm"] = ed["self_harm"].astype(bool)
        out["ed_attendances"] = sorted_by(_with_area_name(ed), "attendance_id")
    if "admissions" in raw:
        adm = raw["admissions"].copy(deep=False)
        adm["self_harm"] = adm["self_harm"].astype(bool)
        out["admissions"] = sorted_by(_with_area_name(adm), "admission_id")
    if "selfharm_support" in raw:
        sup = raw["selfharm_support"].copy(deep=False)
        sup["referral_datetime"] = _ts(sup["referral_datetime"])
        sup["first_contact_datetime"] = _ts(sup["first_contact_datetime"])
        if "ed_attendances" in out:
            arr = out["ed_attendances"].set_index("attendance_id")["arrival_datetime"]
            sup["index_arrival_datetime"] = sup["index_attendance_id"].map(arr)
            sup["hours_to_first_contact"] = (
                (sup["first_contact_datetime"] - sup["index_arrival_datetime"]).dt.total_seconds() / 3600)
        out["selfharm_support"] = sorted_by(sup, "support_id")
    return out
