"""What each source's importer does beyond renaming: recodes, derived columns, ids.

Every function takes the extract's files already matched to the mapping's canonical field names
(``[(file name, frame, suffixes)]``), the mapping, the pseudonymisation key and a
:class:`~rrlib.importers.base.Dropped` counter, and returns ``{contract table: frame}`` in the
contract's columns and types. See the mapping files for the field names and their sources.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..calendar import financial_year
from ..data import tables, wmf
from ..data.areas import ONS_CODE_RE
from .base import (
    Dropped,
    ImportFieldError,
    Mapping,
    academic_year_label,
    parse_dates,
    pseudo_ids,
    recode,
    to_bool,
    to_int,
)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)


def _school(df: pd.DataFrame, name: str, source: str) -> pd.Series:
    urn, laestab = df["URN"], df["LAEstab"]
    raw = urn.where(urn.notna(), laestab)
    if raw.isna().any():
        raise ImportFieldError(f"{name} (source {source}): {int(raw.isna().sum())} row(s) have neither "
                               "URN nor LAEstab (the school is needed)")
    return raw


def _drop_rows(df: pd.DataFrame, mask: pd.Series, reason: str, dropped: Dropped) -> pd.DataFrame:
    dropped.add(reason, int(mask.sum()))
    return df.loc[~mask.to_numpy()].reset_index(drop=True)


def _require(df: pd.DataFrame, cols, name: str, source: str) -> None:
    for c in cols:
        if df[c].isna().any():
            raise ImportFieldError(f"{name} (source {source}), field {c}: {int(df[c].isna().sum())} "
                                   "empty value(s); the contract needs it in every row")


# --------------------------------------------------------------------------- NPD


def npd_census(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    parts = []
    for name, df, suffixes in files:
        df = df.copy()
        _require(df, ["PupilMatchingRefAnonymous", "NCyearActual", "Gender", "YearOfBirth", "MonthOfBirth",
                      "FSMeligible", "SENprovision", "EthnicGroupMajor", "EthnicGroupMinor"], name, m.source)
        school = _school(df, name, m.source)
        if df["AcademicYear"].notna().all():
            ay = academic_year_label(df["AcademicYear"], name, m.source, "AcademicYear")
        else:
            suf = next((s for s in suffixes.values() if re.match(r"_SPR\d{2}$", s, re.IGNORECASE)), None)
            if suf is None:
                raise ImportFieldError(f"{name} (source {m.source}): no AcademicYear field (or empty values) "
                                       "and no _SPRyy suffix on the field names to take the year from")
            yy = int(suf[-2:])
            ay = pd.Series(f"{2000 + yy - 1}/{yy:02d}", index=df.index, dtype=object)
        nc = df["NCyearActual"].astype("string").str.upper().replace({"R": "0"})
        out = pd.DataFrame({
            "pupil_id": df["PupilMatchingRefAnonymous"],
            "academic_year": ay,
            "school_id": school,
            "nc_year": to_int(nc, name, m.source, "NCyearActual"),
            "sex": recode(df["Gender"], m, "Gender", name),
            "birth_year": to_int(df["YearOfBirth"], name, m.source, "YearOfBirth"),
            "birth_month": to_int(df["MonthOfBirth"], name, m.source, "MonthOfBirth"),
            "fsm": to_bool(df["FSMeligible"], name, m.source, "FSMeligible"),
            "sen_provision": recode(df["SENprovision"], m, "SENprovision", name),
            "sen_primary_need": recode(df["PrimarySENeedsType"], m, "PrimarySENeedsType", name),
            "ethnicity_major": recode(df["EthnicGroupMajor"], m, "EthnicGroupMajor", name),
            "ethnicity_minor": recode(df["EthnicGroupMinor"], m, "EthnicGroupMinor", name),
            "looked_after": to_bool(df["InCareAtCurrentSchool"].fillna("0"), name, m.source,
                                    "InCareAtCurrentSchool"),
        })
        if df["AgeAtStartOfAcademicYear"].notna().any():
            age = to_int(df["AgeAtStartOfAcademicYear"], name, m.source, "AgeAtStartOfAcademicYear")
            start = pd.to_numeric(out["academic_year"].str[:4])
            derived = start - out["birth_year"] - (out["birth_month"] >= 9).astype("Int64")
            bad = age.notna() & (age != derived)
            if bad.any():
                raise ImportFieldError(
                    f"{name} (source {m.source}): AgeAtStartOfAcademicYear differs from the age given by "
                    f"YearOfBirth and MonthOfBirth in {int(bad.sum())} row(s) (first at data row "
                    f"{int(np.flatnonzero(bad.to_numpy())[0]) + 1})")
        parts.append(out)
    out = _concat(parts)
    out["pupil_id"] = pseudo_ids(out["pupil_id"], key, "P")
    out["school_id"] = pseudo_ids(out["school_id"], key, "S")
    return {"pupils": out}


def npd_exclusions(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    parts = []
    for name, df, _ in files:
        _require(df, ["PupilMatchingRefAnonymous", "AcademicYear", "ExclusionStartDate", "CategoryOfExclusion",
                      "ExclusionReason"], name, m.source)
        cat = recode(df["CategoryOfExclusion"], m, "CategoryOfExclusion", name)
        lunch = (cat == "drop").to_numpy()
        dropped.add("lunchtime exclusions (LNCH), outside the contract", int(lunch.sum()))
        df, cat = df.loc[~lunch].reset_index(drop=True), cat[~lunch].reset_index(drop=True)
        out = pd.DataFrame({
            "pupil_id": df["PupilMatchingRefAnonymous"],
            "school_id": _school(df, name, m.source),
            "exclusion_date": parse_dates(df["ExclusionStartDate"], name, m.source, "ExclusionStartDate"),
            "academic_year": academic_year_label(df["AcademicYear"], name, m.source, "AcademicYear"),
            "category": cat,
            "sessions": to_int(df["SessionsExcluded"], name, m.source, "SessionsExcluded"),
            "reason_code": recode(df["ExclusionReason"], m, "ExclusionReason", name),
        })
        out.loc[out["category"] == "permanent", "sessions"] = pd.NA
        parts.append(out)
    out = _concat(parts)
    out["pupil_id"] = pseudo_ids(out["pupil_id"], key, "P")
    out["school_id"] = pseudo_ids(out["school_id"], key, "S")
    out = out.sort_values(["pupil_id", "exclusion_date", "school_id", "category", "sessions", "reason_code"],
                          kind="mergesort").reset_index(drop=True)
    out.insert(0, "exclusion_id", [f"E{i:07d}" for i in range(1, len(out) + 1)])
    return {"exclusions": out[["exclusion_id", "pupil_id", "school_id", "exclusion_date", "academic_year",
                               "category", "sessions", "reason_code"]]}


# --------------------------------------------------------------------------- health


def _icd_in(codes: pd.Series, lo: str, hi: str) -> pd.Series:
    """ICD-10 codes (any form: X60, X600, X60.0, X60X) whose 3-character category is in [lo, hi]."""
    c = codes.astype("string").str.upper().str.replace(".", "", regex=False).str.slice(0, 3)
    ok = c.str.fullmatch(r"[A-Z]\d{2}").fillna(False).astype(bool)
    return ok & (c >= lo) & (c <= hi)


def _ranges(m: Mapping, name: str) -> list[tuple[str, str]]:
    out = []
    for k in m.codes[name]:
        lo, _, hi = str(k).partition("-")
        out.append((lo.strip().upper(), (hi or lo).strip().upper()))
    return out


def _person(df: pd.DataFrame, token: str, key: bytes) -> pd.Series:
    """A linked pupil reference (P + hash) when present, else the person token (H + hash)."""
    pupil = pseudo_ids(df["PupilMatchingRefAnonymous"], key, "P") if "PupilMatchingRefAnonymous" in df else None
    health = pseudo_ids(df[token], key, "H")
    return health if pupil is None else pupil.where(pupil.notna(), health)


def _ages(df: pd.DataFrame, col: str, name: str, source: str, dropped: Dropped) -> pd.DataFrame:
    age = to_int(df[col], name, source, col)
    age = age.where(~age.between(7001, 7007), 0)  # HES: under one year
    df = df.assign(age=age)
    df = _drop_rows(df, age.isna(), f"{col} missing", dropped)
    return _drop_rows(df, ~df["age"].between(10, 24), f"{col} outside 10-24", dropped)


def ons_codes(s: pd.Series) -> pd.Series:
    """Residence as the contract keeps it: the ONS local authority code as recorded (trimmed,
    upper case); empty or not an ONS code (e.g. HES's X-codes for no fixed abode or not known)
    -> missing. Names come later, from the lookup (:mod:`rrlib.data.areas`)."""

    v = s.astype("string").str.strip().str.upper()
    ok = v.str.fullmatch(ONS_CODE_RE[1:-1]).fillna(False).astype(bool)
    return pd.Series(np.where(ok, v.astype(object), None), index=s.index, dtype=object)


def hes_apc(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    sh_ranges = _ranges(m, "self_harm_icd10")
    ext_ranges = _ranges(m, "external_cause_icd10")
    diag_cols = [c for c in m.fields if c.startswith("DIAG_4_")]
    parts = []
    for name, df, _ in files:
        _require(df, ["TOKEN_PERSON_ID", "ADMIDATE", "EPIORDER", "ADMIMETH", "STARTAGE", "SEX"], name, m.source)
        d = df.copy()
        d["admission_date"] = parse_dates(d["ADMIDATE"], name, m.source, "ADMIDATE")
        end = parse_dates(d["DISDATE"], name, m.source, "DISDATE")
        epiend = parse_dates(d["EPIEND"], name, m.source, "EPIEND")
        d["_end"] = end.where(end.notna(), epiend)
        d["_order"] = to_int(d["EPIORDER"], name, m.source, "EPIORDER")
        by_date = (d["TOKEN_PERSON_ID"].astype(str) + "|" + d["admission_date"].dt.strftime("%Y-%m-%d")
                   + "|" + d["PROCODE"].fillna("").astype(str))
        d["_spell"] = by_date.where(d["SUSSPELLID"].isna(),
                                    d["TOKEN_PERSON_ID"].astype(str) + "|spell|" + d["SUSSPELLID"].astype(str))
        d["_file"] = name
        parts.append(d)
    d = _concat(parts)
    spell_end = d.groupby("_spell")["_end"].max()
    first = d.loc[(d["_order"] == 1).to_numpy()].copy()
    n_spells = d["_spell"].nunique()
    dropped.add("spells whose first episode (EPIORDER 1) is not in the extract", n_spells - first["_spell"].nunique())
    dup = first.duplicated("_spell", keep="first")
    dropped.add("repeated first episodes of one spell", int(dup.sum()))
    first = first.loc[~dup.to_numpy()].reset_index(drop=True)
    first["discharge_date"] = first["_spell"].map(spell_end)
    first = _drop_rows(first, first["discharge_date"].isna(), "no DISDATE or EPIEND in the spell", dropped)
    first = _ages(first, "STARTAGE", "HES extract", m.source, dropped)
    sex = recode(first["SEX"], m, "SEX", "HES extract")
    first = first.assign(sex=sex)
    first = _drop_rows(first, first["sex"] == "drop", "SEX not known / not specified", dropped)
    # cause: first X60-X84 in any position, else first V01-Y98
    diags = first[diag_cols]
    sh = np.zeros(diags.shape, dtype=bool)
    ext = np.zeros(diags.shape, dtype=bool)
    for j, c in enumerate(diag_cols):
        for lo, hi in sh_ranges:
            sh[:, j] |= _icd_in(diags[c], lo, hi).to_numpy()
        for lo, hi in ext_ranges:
            ext[:, j] |= _icd_in(diags[c], lo, hi).to_numpy()
    vals = diags.astype("string").apply(lambda s: s.str.upper().str.replace(".", "", regex=False).str.slice(0, 3))
    vals = vals.to_numpy(dtype=object)

    def pick(mask):
        has = mask.any(axis=1)
        idx = mask.argmax(axis=1)
        return np.where(has, vals[np.arange(len(vals)), idx], None)

    cause_sh, cause_ext = pick(sh), pick(ext)
    cause = np.where(pd.notna(cause_sh), cause_sh, cause_ext)
    first["admission_id"] = pseudo_ids(first["_spell"], key, "A")
    out = pd.DataFrame({
        "admission_id": first["admission_id"],
        "person_id": _person(first, "TOKEN_PERSON_ID", key),
        "admission_date": first["admission_date"],
        "discharge_date": first["discharge_date"],
        "financial_year": financial_year(first["admission_date"]).to_numpy(),
        "age": first["age"].astype("Int64"),
        "sex": first["sex"],
        "area_code": ons_codes(first["RESLADST_ONS"]),
        "admission_method": recode(first["ADMIMETH"], m, "ADMIMETH", "HES extract"),
        "cause_code": pd.Series(cause, index=first.index, dtype=object),
    })
    out["self_harm"] = pd.Series(sh.any(axis=1), index=first.index)
    return {"admissions": out.sort_values("admission_id").reset_index(drop=True)}


def ecds(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    cc_codes = set(m.codes["self_harm_chief_complaint"])
    ii_codes = set(m.codes["self_harm_injury_intent"])
    parts = []
    for name, df, _ in files:
        _require(df, ["EC_Ident", "Token_Person_ID", "Arrival_Date", "Arrival_Time", "Age_At_Arrival", "Sex",
                      "Discharge_Destination_SNOMED_CT"], name, m.source)
        d = df.copy()
        if d["Der_Dupe_Flag"].notna().any():
            dupe = to_bool(d["Der_Dupe_Flag"].fillna("0"), name, m.source, "Der_Dupe_Flag")
            d = _drop_rows(d, dupe.fillna(False).astype(bool), "duplicate records (Der_Dupe_Flag)", dropped)
        date = parse_dates(d["Arrival_Date"], name, m.source, "Arrival_Date")
        tm = d["Arrival_Time"].astype("string").str.slice(0, 5)
        badt = ~tm.str.fullmatch(r"\d{2}:\d{2}").fillna(False).astype(bool)
        if badt.any():
            raise ImportFieldError(f"{name} (source {m.source}), field Arrival_Time: not HH:MM[:SS]: "
                                   + ", ".join(repr(v) for v in d.loc[badt.to_numpy(), "Arrival_Time"].unique()[:5]))
        d["arrival_datetime"] = date.dt.strftime("%Y-%m-%d") + " " + tm
        d["_date"] = date
        d = _ages(d, "Age_At_Arrival", name, m.source, dropped)
        d["sex"] = recode(d["Sex"], m, "Sex", name)
        d = _drop_rows(d, d["sex"] == "drop", "Sex not known / not specified", dropped)
        cc = d["EC_Chief_Complaint_SNOMED_CT"].astype("string").str.strip()
        ii = d["EC_Injury_Intent_SNOMED_CT"].astype("string").str.strip()
        d["self_harm"] = (cc.isin(cc_codes).fillna(False) | ii.isin(ii_codes).fillna(False)).astype(bool)
        d["disposal"] = recode(d["Discharge_Destination_SNOMED_CT"], m, "Discharge_Destination_SNOMED_CT", name)
        d["area_code"] = ons_codes(d["Residence_LA_ONS"])
        parts.append(d)
    d = _concat(parts)
    if d["EC_Ident"].duplicated().any():
        raise ImportFieldError(f"source {m.source}: EC_Ident repeats ({int(d['EC_Ident'].duplicated().sum())} "
                               "rows); one row per attendance is expected")
    out = pd.DataFrame({
        "attendance_id": pseudo_ids(d["EC_Ident"], key, "E"),
        "person_id": _person(d, "Token_Person_ID", key),
        "arrival_datetime": d["arrival_datetime"],
        "financial_year": financial_year(d["_date"]).to_numpy(),
        "age": d["age"].astype("Int64"),
        "sex": d["sex"],
        "area_code": d["area_code"],
        "self_harm": d["self_harm"],
        "disposal": d["disposal"],
    })
    return {"ed_attendances": out.sort_values("attendance_id").reset_index(drop=True)}


# --------------------------------------------------------------------------- HeadStart survey

AREA_CODES = {"Blackpool": "BLA", "Cornwall": "COR", "Hull": "HUL", "Kent": "KEN", "Newham": "NEW",
              "Wolverhampton": "WOL"}


def headstart_survey(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    parts = []
    for name, df, _ in files:
        _require(df, ["RespondentID", "Partnership", "SchoolID", "SurveyYear", "Sample", "YearGroup"], name, m.source)
        year = df["SurveyYear"].astype("string").str.strip()
        spring = year.str.fullmatch(r"\d{4}").fillna(False).astype(bool)
        wave = year.where(~spring, (pd.to_numeric(year.where(spring)) - 1).astype("Int64").astype("string"))
        out = pd.DataFrame({
            "respondent_id": df["RespondentID"],
            "area": recode(df["Partnership"], m, "Partnership", name),
            "_school": df["SchoolID"],
            "wave": academic_year_label(wave, name, m.source, "SurveyYear"),
            "sample": recode(df["Sample"], m, "Sample", name),
            "year_group": to_int(df["YearGroup"], name, m.source, "YearGroup"),
            "sex": recode(df["Gender"], m, "Gender", name),
            "fsm": to_bool(df["FSM"], name, m.source, "FSM"),
        })
        for c in wmf.ITEMS:
            out[c] = to_int(df[c], name, m.source, c)
        parts.append(out)
    out = _concat(parts)
    out["response_id"] = pseudo_ids(out["respondent_id"].astype(str) + "|" + out["wave"].astype(str), key, "WMF")
    out["respondent_id"] = pseudo_ids(out["respondent_id"], key, "WR")
    # survey schools renumbered within area, in the order of their pseudonyms
    sch = pseudo_ids(out["_school"].astype(str) + "|" + out["area"].astype(str), key, "")
    out["school_id"] = None
    for area, g in sch.groupby(out["area"]):
        order = {s: i + 1 for i, s in enumerate(sorted(g.unique()))}
        if len(order) > 999:
            raise ImportFieldError(f"source {m.source}: more than 999 schools in {area}")
        out.loc[g.index, "school_id"] = [f"W-{AREA_CODES[area]}-{order[s]:03d}" for s in g]
    cols = [*wmf.ID_COLUMNS, *wmf.ITEMS]
    return {"wmf_survey": out[cols].sort_values("response_id").reset_index(drop=True)}


# --------------------------------------------------------------------------- contract layout


def contract(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    """Tables already in the contract's layout (the programme's own records, GIAS-based schools,
    ONS population): only the identifier columns are pseudonymised, with the same rule as the
    other sources so the tables join. The file name gives the table (``schools.csv``)."""

    specs = tables()
    out = {}
    for name, df, _ in files:
        table = re.sub(r"\.(csv|tsv)(\.gz)?$", "", name)
        if table not in specs:
            raise ImportFieldError(f"{name} (source contract): not a contract table; name the file after one of "
                                   + ", ".join(specs))
        spec = specs[table]
        want, have = spec.column_names, list(df.columns)
        missing = [c for c in want if c not in have]
        unknown = [c for c in have if c not in want]
        if missing or unknown:
            raise ImportFieldError(f"{name} (source contract, table {table}): "
                                   + "; ".join(x for x in (
                                       f"missing field(s): {', '.join(missing)}" if missing else "",
                                       f"unknown field(s): {', '.join(unknown)}" if unknown else "") if x))
        d = df[want].copy()
        for col, prefixes in id_columns(spec).items():
            if col == "school_id" and table == "wmf_survey":
                continue
            d[col] = pseudo_ids(d[col], key, prefixes[0], allowed=prefixes)
        out[table] = d
    return out


def id_columns(spec) -> dict[str, tuple[str, ...]]:
    """Identifier columns of a contract table and their prefixes, from the schema's id patterns
    (``^P\\d{7,}$`` -> P; ``^(P\\d{7,}|H\\d{6,})$`` -> P, H)."""
    out = {}
    for c, col in spec.schema.columns.items():
        for ch in col.checks:
            pat = (getattr(ch, "statistics", None) or {}).get("pattern", "")
            alts = re.findall(r"(?:\^|\(|\|)([A-Z]+)\\d", pat)
            if alts and pat.endswith("$") and "\\d{4}-" not in pat:
                out[c] = tuple(dict.fromkeys(alts))
    return out


SOURCES = {
    "npd-census": npd_census,
    "npd-exclusions": npd_exclusions,
    "hes-apc": hes_apc,
    "ecds": ecds,
    "headstart-survey": headstart_survey,
    "contract": contract,
}
