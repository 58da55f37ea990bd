"""Education domain: Blackpool's schools, the January school census, exclusions, school
attendance, and the population denominators.

Real-world counterparts: the Department for Education's school census (pupil-level, January),
the exclusions return (census "exclusions" module, one row per exclusion with DfE category and
reason code), the school attendance return (sessions possible and attended per term), Get
Information about Schools (school phase, open and close dates), the programme's own records of
which schools started the Academic Resilience Approach and signed the Blackpool Beating Bullying
Charter, and the Office for National Statistics mid-year population estimates.

DfE definitions used throughout: headcount = pupils on roll at the January census; suspension
(fixed-period exclusion; renamed in 2021/22) rate = suspensions / headcount x 100; one-or-more
rate = pupils with at least one suspension / headcount x 100; permanent exclusion rate =
permanent exclusions / headcount x 100. DfE's "Total" covers state-funded primary, state-funded
secondary and special schools: pupils and exclusions of the alternative provision school
(phase `alternative_provision`, Blackpool's pupil referral unit) are outside it and reported
separately, as DfE does. Age is the age on 31 August before the academic year (DfE convention):
Year 8 pupils are 12, Year 9 pupils 13.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .. import calendar
from .table import Table, academic_year_check, id_check, school_phase

# --------------------------------------------------------------------------- codes

PHASES = {
    "primary": "state-funded primary school (Reception to Year 6)",
    "secondary": "state-funded secondary school (Years 7-11; Blackpool's secondaries have no sixth forms)",
    "special": "special school (pupils with an education, health and care plan; all year groups)",
    "alternative_provision": "alternative provision / pupil referral unit (outside DfE's 'Total')",
}

SEN_PROVISION = {
    "none": "no special educational need recorded (census code N)",
    "sen_support": "SEN support (census code K; before 2014/15 School Action / School Action Plus, 'SEN without a statement')",
    "ehc_plan": "education, health and care plan or statement (census code E/S)",
}

#: DfE school census SEN primary need codes.
SEN_PRIMARY_NEED = {
    "SPLD": "Specific learning difficulty",
    "MLD": "Moderate learning difficulty",
    "SLD": "Severe learning difficulty",
    "PMLD": "Profound and multiple learning difficulty",
    "SEMH": "Social, emotional and mental health",
    "SLCN": "Speech, language and communication needs",
    "HI": "Hearing impairment",
    "VI": "Visual impairment",
    "MSI": "Multi-sensory impairment",
    "PD": "Physical disability",
    "ASD": "Autistic spectrum disorder",
    "OTH": "Other difficulty or disability",
    "NSA": "SEN support but no specialist assessment of type of need",
}

#: DfE ethnicity major groups (as in DfE's statistics by pupil characteristic).
ETHNICITY_MAJOR = {
    "WHIT": "White",
    "MIXD": "Mixed / dual background",
    "ASIA": "Asian or Asian British",
    "BLAC": "Black or Black British",
    "CHIN": "Chinese",
    "AOEG": "Any other ethnic group",
    "UNCL": "Unclassified (refused or not obtained)",
}

#: DfE school census ethnicity main codes -> (major group, meaning).
ETHNICITY_MINOR = {
    "WBRI": ("WHIT", "White - British"),
    "WIRI": ("WHIT", "White - Irish"),
    "WIRT": ("WHIT", "Traveller of Irish heritage"),
    "WROM": ("WHIT", "Gypsy / Roma"),
    "WOTH": ("WHIT", "Any other White background"),
    "MWBC": ("MIXD", "White and Black Caribbean"),
    "MWBA": ("MIXD", "White and Black African"),
    "MWAS": ("MIXD", "White and Asian"),
    "MOTH": ("MIXD", "Any other mixed background"),
    "AIND": ("ASIA", "Indian"),
    "APKN": ("ASIA", "Pakistani"),
    "ABAN": ("ASIA", "Bangladeshi"),
    "AOTH": ("ASIA", "Any other Asian background"),
    "BCRB": ("BLAC", "Black Caribbean"),
    "BAFR": ("BLAC", "Black - African"),
    "BOTH": ("BLAC", "Any other Black background"),
    "CHNE": ("CHIN", "Chinese"),
    "OOTH": ("AOEG", "Any other ethnic group"),
    "REFU": ("UNCL", "Refused"),
    "NOBT": ("UNCL", "Information not yet obtained"),
}

EXCLUSION_CATEGORY = {
    "suspension": "fixed-period exclusion (called 'suspension' from 2021/22; census category FIXD)",
    "permanent": "permanent exclusion (census category PERM)",
}

#: DfE exclusion reason codes (school census exclusions module, main reason), every year's.
#: Sources: DfE school census guides (exclusions module, reason codes; the twelve codes used to
#: 2019/20); from 1 September 2020 (academic year 2020/21) DfE added OW, LG, DS, MT and PH and
#: withdrew OT "Other" (as local authorities' guidance to schools recorded the change, e.g. North
#: Yorkshire Council, "Suspensions/Exclusions from School Update": "in the Autumn 2020 they revised
#: the suspension/exclusion codes to include some additional codes and removed the use of OT";
#: Derbyshire County Council: "The DfE has amended the exclusion reason codes and descriptions with
#: effect from 1 September 2020"). See also DfE, "Pupil exclusion statistics: methodology"
#: (explore-education-statistics.service.gov.uk).
REASON_CODES = {
    "PP": "Physical assault against a pupil",
    "PA": "Physical assault against an adult",
    "VP": "Verbal abuse / threatening behaviour against a pupil",
    "VA": "Verbal abuse / threatening behaviour against an adult",
    "OW": "Use or threat of use of an offensive weapon or prohibited item",
    "BU": "Bullying",
    "RA": "Racist abuse",
    "LG": "Abuse against sexual orientation and gender identity (for example LGBT+)",
    "DS": "Abuse relating to disability",
    "SM": "Sexual misconduct",
    "DA": "Drug and alcohol related",
    "DM": "Damage",
    "TH": "Theft",
    "PD": "Persistent disruptive behaviour",
    "MT": "Inappropriate use of social media or online technology",
    "PH": "Wilful and repeated transgression of protective measures in place to protect public health",
    "OT": "Other",
}

#: First and last academic year (its first calendar year: 2020 = 2020/21) each code is valid
#: for; None = open (every year before / every year since).
REASON_CODE_YEARS = {code: (None, None) for code in REASON_CODES}
REASON_CODE_YEARS.update({"OT": (None, 2019),
                          **{c: (2020, None) for c in ("OW", "LG", "DS", "MT", "PH")}})


def reason_code_years(code: str) -> str:
    """The academic years a reason code applies to, in words ("every year", "to 2019/20", ...)."""
    first, last = REASON_CODE_YEARS[code]
    def lab(y: int) -> str:
        return f"{y}/{(y + 1) % 100:02d}"

    if first is None and last is None:
        return "every year"
    if first is None:
        return f"to {lab(last)}"
    if last is None:
        return f"from {lab(first)}"
    return f"{lab(first)} to {lab(last)}"


def reason_codes_of_year(academic_year: str) -> list[str]:
    """The reason codes valid in one academic year (``"2020/21"``)."""
    y = int(str(academic_year)[:4])
    return [c for c, (a, b) in REASON_CODE_YEARS.items() if (a is None or y >= a) and (b is None or y <= b)]


TERMS = {
    "autumn": "autumn term (September to December)",
    "spring": "spring term (January to Easter)",
    "summer": "summer term (Easter to July)",
}

SEXES = {"F": "female", "M": "male"}

# --------------------------------------------------------------------------- row-wise rules


def _need_matches_provision(df: pd.DataFrame) -> pd.Series:
    none = df["sen_provision"] == "none"
    has_need = df["sen_primary_need"].notna()
    return (none & ~has_need) | (~none & has_need)


def _minor_in_major(df: pd.DataFrame) -> pd.Series:
    major = df["ethnicity_minor"].map({k: v[0] for k, v in ETHNICITY_MINOR.items()})
    return major == df["ethnicity_major"]


def _age_fits_year_group(df: pd.DataFrame) -> pd.Series:
    start = pd.to_numeric(df["academic_year"].astype(str).str[:4], errors="coerce")
    age = start - df["birth_year"] - (df["birth_month"] >= 9).astype(int)
    return (age - df["nc_year"]).between(3, 5)  # normal: age = year group + 4; one year either way allowed


def _date_in_academic_year(date_col: str):
    def ok(df: pd.DataFrame) -> pd.Series:
        start = pd.to_numeric(df["academic_year"].astype(str).str[:4], errors="coerce")
        d = df[date_col]
        ay = d.dt.year - (d.dt.month < 9).astype(int)
        return ay == start
    return ok


def _reason_valid_for_year(df: pd.DataFrame) -> pd.Series:
    """reason_code is one DfE used in the academic year (unknown codes: the isin rule reports them)."""
    start = pd.to_numeric(df["academic_year"].astype(str).str[:4], errors="coerce")
    years = df["reason_code"].map(REASON_CODE_YEARS)
    known = years.notna() & start.notna()
    first = years.where(known, None).map(lambda v: v[0] if isinstance(v, tuple) and v[0] is not None else -1)
    last = years.where(known, None).map(lambda v: v[1] if isinstance(v, tuple) and v[1] is not None else 9999)
    return ~known | ((start >= first) & (start <= last))


def _sessions_for_suspensions(df: pd.DataFrame) -> pd.Series:
    return (df["category"] != "suspension") | df["sessions"].notna()


def _attended_le_possible(df: pd.DataFrame) -> pd.Series:
    return df["attended_sessions"] <= df["possible_sessions"]


def _close_after_open(df: pd.DataFrame) -> pd.Series:
    return df["close_date"].isna() | (df["close_date"] > df["open_date"])


# --------------------------------------------------------------------------- schemas

SCHOOLS = Table(
    name="schools",
    description=(
        "Schools in Blackpool (one row per school): the state-funded primary, secondary and special "
        "schools of DfE's 'Total' and the alternative provision school, with the dates each started "
        "the Academic Resilience Approach and signed the Blackpool Beating Bullying Charter."),
    source=("Get Information about Schools (GIAS; establishment type, open and close dates) and the "
            "Resilience Revolution's programme records (ARA start, Charter sign-up)."),
    counterpart="GIAS establishment records for Blackpool local authority (LA 890) plus the programme team's school log.",
    key=("school_id",),
    dates=("open_date", "close_date", "ara_start_date", "charter_signed_date"),
    window_dates=("ara_start_date", "charter_signed_date"),
    columns={
        "school_id": "Pseudonymous school identifier `S` + 3 digits (real extracts: hash of the URN).",
        "school_name": "School name (synthetic in the shipped data: 'Synthetic Primary 07').",
        "phase": "School phase (GIAS phase and establishment type grouped as DfE's statistics do).",
        "open_date": "Date the school opened (GIAS); 2000-09-01 stands for 'before the study period'.",
        "close_date": "Date the school closed (GIAS), empty if open.",
        "ara_start_date": "Date the school started the Academic Resilience Approach (programme records); empty if it never did.",
        "charter_signed_date": "Date the school signed the Blackpool Beating Bullying Charter mark; empty if it has not.",
    },
    codes={"phase": PHASES},
    schema=pa.DataFrameSchema(
        {
            "school_id": pa.Column(str, id_check("S", 3), unique=True),
            "school_name": pa.Column(str),
            "phase": pa.Column(str, pa.Check.isin(list(PHASES))),
            "open_date": pa.Column("datetime64[ns]"),
            "close_date": pa.Column("datetime64[ns]", nullable=True),
            "ara_start_date": pa.Column("datetime64[ns]", nullable=True),
            "charter_signed_date": pa.Column("datetime64[ns]", nullable=True),
        },
        checks=[pa.Check(_close_after_open, name="close_date_after_open_date",
                         error="close_date must be after open_date")],
        strict=True, name="schools"),
)

PUPILS = Table(
    name="pupils",
    description=(
        "The January school census: one row per pupil per academic year (2014/15 to 2021/22) for "
        "every pupil on roll in a Blackpool school on census day, with the characteristics recorded "
        "in that census."),
    source="DfE school census (spring/January return) and alternative provision census, pupil level.",
    counterpart=("National Pupil Database / local authority extract of the January census for Blackpool "
                 "schools (pupil matching reference replaced by a pseudonymous id)."),
    key=("pupil_id", "academic_year"),
    foreign_keys=(("school_id", "schools", "school_id"),),
    columns={
        "pupil_id": "Pseudonymous pupil identifier `P` + 7 digits; the same young person keeps it across years and tables.",
        "academic_year": "Academic year of the census, e.g. `2016/17` (census taken in January 2017).",
        "school_id": "School the pupil is on roll at on census day (main registration).",
        "nc_year": "National curriculum year group: 0 = Reception, 1-11 = Years 1-11 (12-13 sixth form; none in Blackpool's schools).",
        "sex": "Sex as recorded in the census.",
        "birth_year": "Year of birth.",
        "birth_month": "Month of birth (1-12); day withheld.",
        "fsm": "Eligible for and claiming free school meals on census day (census FSMeligible).",
        "sen_provision": "Special educational needs provision on census day.",
        "sen_primary_need": "Primary type of SEN (DfE code); empty when sen_provision is none.",
        "ethnicity_major": "DfE ethnicity major group.",
        "ethnicity_minor": "DfE ethnicity main code (within the major group).",
        "looked_after": "Looked after by the local authority ('Our Children') on census day (matched from the SSDA903 return).",
    },
    codes={"sex": SEXES, "sen_provision": SEN_PROVISION, "sen_primary_need": SEN_PRIMARY_NEED,
           "ethnicity_major": ETHNICITY_MAJOR,
           "ethnicity_minor": {k: f"{v[1]} (major group {v[0]})" for k, v in ETHNICITY_MINOR.items()}},
    notes=(
        "DfE 'Total' headcount = pupils of phase primary, secondary and special schools; pupils of the "
        "alternative_provision school are outside it (DfE reports pupil referral units separately).",
        "Age on 31 August before the academic year = nc_year + 4 for nearly every pupil (DfE's age "
        "convention: Year 8 = age 12); the schema allows one year either way.",
    ),
    schema=pa.DataFrameSchema(
        {
            "pupil_id": pa.Column(str, id_check("P", 7)),
            "academic_year": pa.Column(str, academic_year_check()),
            "school_id": pa.Column(str, id_check("S", 3)),
            "nc_year": pa.Column(int, pa.Check.in_range(0, 13)),
            "sex": pa.Column(str, pa.Check.isin(list(SEXES))),
            "birth_year": pa.Column(int, pa.Check.in_range(1990, 2022)),
            "birth_month": pa.Column(int, pa.Check.in_range(1, 12)),
            "fsm": pa.Column(bool),
            "sen_provision": pa.Column(str, pa.Check.isin(list(SEN_PROVISION))),
            "sen_primary_need": pa.Column(str, pa.Check.isin(list(SEN_PRIMARY_NEED)), nullable=True),
            "ethnicity_major": pa.Column(str, pa.Check.isin(list(ETHNICITY_MAJOR))),
            "ethnicity_minor": pa.Column(str, pa.Check.isin(list(ETHNICITY_MINOR))),
            "looked_after": pa.Column(bool),
        },
        checks=[
            pa.Check(_need_matches_provision, name="sen_primary_need_iff_sen_provision",
                     error="sen_primary_need is given exactly when sen_provision is not 'none'"),
            pa.Check(_minor_in_major, name="ethnicity_minor_within_major",
                     error="ethnicity_minor belongs to ethnicity_major"),
            pa.Check(_age_fits_year_group, name="age_fits_nc_year",
                     error="age on 31 August = nc_year + 4 (one year either way)"),
        ],
        strict=True, name="pupils"),
)

EXCLUSIONS = Table(
    name="exclusions",
    required=False,  # optional: sections that need it say so when it is absent
       description=(
        "Exclusions from Blackpool schools: one row per suspension (fixed-period exclusion) or "
        "permanent exclusion, with its DfE category, length and reason."),
    source="DfE school census exclusions module / local authority exclusions return.",
    counterpart="Blackpool Council's exclusions database (the source of the DfE exclusions return).",
    key=("exclusion_id",),
    dates=("exclusion_date",),
    foreign_keys=(("pupil_id", "pupils", "pupil_id"), ("school_id", "schools", "school_id")),
    columns={
        "exclusion_id": "Identifier of the exclusion `E` + 7 digits.",
        "pupil_id": "The excluded pupil (in the census: every exclusion's pupil is in `pupils`).",
        "school_id": "The excluding school.",
        "exclusion_date": "Start date of the exclusion.",
        "academic_year": "Academic year of the exclusion date (1 September to 31 August).",
        "category": "DfE category: suspension (fixed period) or permanent.",
        "sessions": "Length of a suspension in sessions (half days, 1-90); empty for permanent exclusions.",
        "reason_code": "DfE reason code (main reason).",
    },
    codes={"category": EXCLUSION_CATEGORY,
           "reason_code": {c: f"{m} ({reason_code_years(c)})" for c, m in REASON_CODES.items()}},
    notes=(
        "Counts follow DfE: suspensions = rows of category suspension; pupils with one or more "
        "suspensions = distinct pupil_id among them; permanent exclusions = rows of category permanent, "
        "each in the academic year of its date; DfE 'Total' excludes the alternative_provision school.",
        "Reason codes change over the years: from 2020/21 DfE added OW, LG, DS, MT and PH and withdrew "
        "OT; each code's years are listed with it and an exclusion's code must be valid in its academic "
        "year. Sources: DfE school census guides (exclusions module); DfE, Pupil exclusion statistics: "
        "methodology; North Yorkshire Council, Suspensions/Exclusions from School Update (autumn 2020 "
        "changes, OT removed). The synthetic data draw the former OT share of 2020/21 onwards from the "
        "new codes (assumption, see params/education.yml).",
    ),
    schema=pa.DataFrameSchema(
        {
            "exclusion_id": pa.Column(str, id_check("E", 7), unique=True),
            "pupil_id": pa.Column(str, id_check("P", 7)),
            "school_id": pa.Column(str, id_check("S", 3)),
            "exclusion_date": pa.Column("datetime64[ns]"),
            "academic_year": pa.Column(str, academic_year_check()),
            "category": pa.Column(str, pa.Check.isin(list(EXCLUSION_CATEGORY))),
            "sessions": pa.Column("Int64", pa.Check.in_range(1, 90), nullable=True),
            "reason_code": pa.Column(str, pa.Check.isin(list(REASON_CODES))),
        },
        checks=[
            pa.Check(_date_in_academic_year("exclusion_date"), name="exclusion_date_in_academic_year",
                     error="exclusion_date falls in academic_year (1 September to 31 August)"),
            pa.Check(_reason_valid_for_year, name="reason_code_valid_in_academic_year",
                     error="reason_code is one DfE used in the exclusion's academic_year (see the codes' years)"),
            pa.Check(_sessions_for_suspensions, name="suspension_has_sessions",
                     error="a suspension has a length in sessions"),
        ],
        strict=True, name="exclusions"),
)

SCHOOL_ATTENDANCE = Table(
    name="school_attendance",
    required=False,  # optional: sections that need it say so when it is absent
       description=(
        "School attendance: sessions possible and attended per pupil, academic year, term and school "
        "(a pupil who moved school in a term has a row for each school)."),
    source="DfE school census attendance module (sessions possible, authorised and unauthorised absence), pupil level.",
    counterpart="Termly attendance returns of Blackpool schools held by the local authority.",
    key=("pupil_id", "academic_year", "term", "school_id"),
    foreign_keys=(("pupil_id", "pupils", "pupil_id"), ("school_id", "schools", "school_id")),
    columns={
        "pupil_id": "The pupil (in the census).",
        "academic_year": "Academic year, e.g. `2018/19`.",
        "term": "School term.",
        "school_id": "School the sessions were recorded at.",
        "possible_sessions": "Sessions (half days) the pupil could have attended.",
        "attended_sessions": "Sessions attended (present or approved educational activity); absence = possible - attended, including sessions lost to suspension.",
    },
    codes={"term": TERMS},
    notes=(
        "Overall absence rate (DfE) = (possible - attended) / possible, summed over the pupils and terms "
        "of interest.",
        "No attendance was collected for the summer term 2019/20 (school closures, COVID-19); in the "
        "spring term 2020/21 only sessions after schools reopened on 8 March 2021 count as possible.",
    ),
    schema=pa.DataFrameSchema(
        {
            "pupil_id": pa.Column(str, id_check("P", 7)),
            "academic_year": pa.Column(str, academic_year_check()),
            "term": pa.Column(str, pa.Check.isin(list(TERMS))),
            "school_id": pa.Column(str, id_check("S", 3)),
            "possible_sessions": pa.Column(int, pa.Check.in_range(0, 200)),
            "attended_sessions": pa.Column(int, pa.Check.in_range(0, 200)),
        },
        checks=[pa.Check(_attended_le_possible, name="attended_le_possible",
                         error="attended_sessions <= possible_sessions")],
        strict=True, name="school_attendance"),
)

POPULATION = Table(
    name="population",
    required=False,  # optional: sections that need it say so when it is absent
       description="Mid-year resident population by area, calendar year, sex and single year of age (0-24).",
    source="ONS mid-year population estimates (MYE2), local authority level.",
    counterpart="ONS mid-year estimates for Blackpool (E06000009), single year of age and sex.",
    key=("area", "year", "sex", "age"),
    columns={
        "area": "Area name (local authority; 'Blackpool').",
        "year": "Calendar year of the mid-year (30 June) estimate.",
        "sex": "Sex.",
        "age": "Age in completed years on 30 June.",
        "population": "Number of residents.",
    },
    codes={"sex": SEXES},
    notes=("Rates per 100,000 for the 10-24 self-harm indicator use the bands 10-14, 15-19, 20-24 of "
           "this table and the European Standard Population 2013.",),
    schema=pa.DataFrameSchema(
        {
            "area": pa.Column(str, pa.Check.str_length(1, 60)),
            "year": pa.Column(int, pa.Check.in_range(2000, 2030)),
            "sex": pa.Column(str, pa.Check.isin(list(SEXES))),
            "age": pa.Column(int, pa.Check.in_range(0, 24)),
            "population": pa.Column(int, pa.Check.ge(0)),
        },
        strict=True, name="population"),
)

TABLES = [SCHOOLS, PUPILS, EXCLUSIONS, SCHOOL_ATTENDANCE, POPULATION]


# --------------------------------------------------------------------------- processed tables

_DFE_TOTAL_PHASES = ["primary", "secondary", "special"]


def prepare(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Processed education tables: the validated raw tables plus derived columns.

    - ``pupils`` + ``phase`` (of the census school), ``age`` (on 31 August before the academic
      year, DfE convention), ``in_dfe_total`` (school phase primary, secondary or special: the
      pupils DfE's "Total" headcount counts).
    - ``exclusions`` + ``phase``, ``in_dfe_total`` (of the excluding school), ``term``, and the
      pupil's census characteristics of that academic year (``nc_year``, ``age``, ``sex``,
      ``fsm``, ``sen_provision``, ``ethnicity_major``, ``ethnicity_minor``, ``looked_after``;
      empty when the pupil is not in that year's census).
    - ``school_attendance`` + ``absent_sessions``.
    - ``schools`` and ``population`` unchanged.

    Only ``schools`` and ``pupils`` are required; the other tables are processed when the folder
    has them.

    The big tables (pupils, school attendance) are not copied: the processed frames share the raw
    columns and only the derived columns are new. Exclusions are matched to the census rows of
    their pupils only (not the whole census).
    """
    out = {n: raw[n] for n in ("schools", "population") if n in raw}
    schools = raw["schools"]
    pupils = raw["pupils"].copy(deep=False)
    start = calendar.start_year(pupils["academic_year"]).to_numpy()
    pupils["phase"] = school_phase(pupils["school_id"], schools)
    pupils["age"] = (start - pupils["birth_year"].to_numpy()
                     - (pupils["birth_month"].to_numpy() >= 9).astype(int)).astype("int64")
    pupils["in_dfe_total"] = pupils["phase"].isin(_DFE_TOTAL_PHASES).to_numpy()

    out["pupils"] = pupils
    if "exclusions" in raw:
        out["exclusions"] = _exclusions(raw["exclusions"], pupils, schools, start)
    if "school_attendance" in raw:
        att = raw["school_attendance"].copy(deep=False)
        att["absent_sessions"] = att["possible_sessions"].to_numpy() - att["attended_sessions"].to_numpy()
        out["school_attendance"] = att
    return {n: out[n] for n in ("schools", "pupils", "exclusions", "school_attendance", "population") if n in out}


def _exclusions(exc: pd.DataFrame, pupils: pd.DataFrame, schools: pd.DataFrame, start: np.ndarray) -> pd.DataFrame:
    """Exclusions with their school's phase, term and the pupil's census characteristics."""
    exc = exc.copy(deep=False)
    exc["phase"] = school_phase(exc["school_id"], schools)
    exc["in_dfe_total"] = exc["phase"].isin(_DFE_TOTAL_PHASES).to_numpy()
    exc["term"] = calendar.term(exc["exclusion_date"])
    chars = ["nc_year", "age", "sex", "fsm", "sen_provision", "ethnicity_major", "ethnicity_minor",
             "looked_after"]
    # Match on one integer key (pupil code x 10000 + first year of the academic year) and only
    # against the census rows of the excluded pupils: no hashing of object keys pairs, no copy of
    # the census. many_to_one is checked on those rows (the keys that matter).
    exc_code, exc_ids = pd.factorize(exc["pupil_id"])
    pupil_code = pd.Index(exc_ids).get_indexer(pupils["pupil_id"])
    rows = pupil_code >= 0
    census = pupils.loc[rows, chars]
    census["_key"] = pupil_code[rows].astype("int64") * 10000 + start[rows]
    exc["_key"] = exc_code.astype("int64") * 10000 + calendar.start_year(exc["academic_year"]).to_numpy()
    exc = exc.merge(census, on="_key", how="left", validate="many_to_one").drop(columns="_key")
    exc["nc_year"] = exc["nc_year"].astype("Int64")
    exc["age"] = exc["age"].astype("Int64")
    exc["fsm"] = exc["fsm"].astype("boolean")
    exc["looked_after"] = exc["looked_after"].astype("boolean")
    return exc
