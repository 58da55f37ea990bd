"""What each source's importer does beyond renaming: recodes, derived columns, ids.

Every function takes the extract's files already matched to the mapping's canonical field names
(``[(file name, frame, field match)]``), the mapping, the pseudonymisation key and a
:class:`~rrlib.importers.base.Dropped` ledger, and returns ``{contract table: frame}`` in the
contract's columns and types plus ``_file`` (the file each written row came from, removed before
writing): every row read is written, folded into a written row, or left out under a reason in the
ledger, so the import report balances per file. See the mapping files for the field names, the
rules and their sources.
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
    drop_coded,
    drop_rows,
    parse_dates,
    pseudo_ids,
    recode,
    to_bool,
    to_int,
    year_from_names,
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
    return drop_rows(df, np.asarray(mask, dtype=bool), reason, dropped)


def _academic_year(df: pd.DataFrame, fm, name: str, m: Mapping, dropped: Dropped) -> pd.Series:
    """The academic year of each row: the AcademicYear field when every row has it, else the
    collection suffix of the field names (``_SPR17``, ``_EX17``), else the table or file name
    (``exclusions_2016_17.csv``); none of these stops the import naming the file."""
    if df["AcademicYear"].notna().all():
        dropped.details.setdefault("academic_year_from", {})[name] = f"field {fm.used.get('AcademicYear')}"
        return academic_year_label(df["AcademicYear"], name, m.source, "AcademicYear")
    sufs = sorted(set(fm.suffixes.values()))
    got = year_from_names(*sufs, name)
    if got is None:
        raise ImportFieldError(f"{name} (source {m.source}), field AcademicYear: absent or empty, and neither a "
                               "collection suffix of the field names (_SPR17, _EX17) nor the file name "
                               "(..._2016_17.csv) gives the year")
    if len({year_from_names(x) for x in sufs} - {None}) > 1:
        raise ImportFieldError(f"{name} (source {m.source}): field names carry suffixes of different years "
                               f"({', '.join(sufs)}); one file per year is expected")
    ay, origin = got
    dropped.details.setdefault("academic_year_from", {})[name] = (
        f"suffix {origin}" if origin in sufs else "file name") + f" -> {ay}"
    year = pd.Series(ay, index=df.index, dtype=object)
    if df["AcademicYear"].notna().any():
        given = academic_year_label(df["AcademicYear"], name, m.source, "AcademicYear")
        year = given.where(given.notna(), year)
    return year


def _rule(m: Mapping, rule_id: str) -> str:
    """The reason text of one of the mapping's named rules (``rules:`` in the mapping file)."""
    for r in m.rules:
        if r.get("id") == rule_id:
            return str(r["reason"])
    raise ImportFieldError(f"mapping {m.path.name if m.path else m.source}: no rule {rule_id!r}")


def _require(df: pd.DataFrame, cols, name: str, source: str) -> None:
    for c in cols:
        if df[c].isna().any():
            raise ImportFieldError(f"{name} (source {source}), field {c}: {int(df[c].isna().sum())} "
                                   "empty value(s); the contract needs it in every row")


# --------------------------------------------------------------------------- NPD


def npd_census(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    parts = []
    for name, df, fm in files:
        df = df.assign(_file=name).reset_index(drop=True)
        _require(df, ["PupilMatchingRefAnonymous", "NCyearActual"], name, m.source)
        ay = _academic_year(df, fm, name, m, dropped)
        df = df.assign(_ay=ay)
        # rules for real-world rows (mapping: rules; codes marked "drop: reason")
        if df["OnRoll"].notna().any():
            on = to_bool(df["OnRoll"], name, m.source, "OnRoll")
            df = _drop_rows(df, (on == False).fillna(False), _rule(m, "not_on_roll"),  # noqa: E712
                            dropped)
        if df["EnrolStatus"].notna().any():
            enrol = recode(df["EnrolStatus"], m, "EnrolStatus", name).rename("EnrolStatus")
            df, _ = drop_coded(df, enrol, dropped)
        nc = recode(df["NCyearActual"], m, "NCyearActual", name).rename("NCyearActual")
        df, nc = drop_coded(df, nc, dropped)
        _require(df, ["Gender", "YearOfBirth", "MonthOfBirth", "FSMeligible", "SENprovision", "EthnicGroupMajor",
                      "EthnicGroupMinor"], name, m.source)
        school = _school(df, name, m.source)
        out = pd.DataFrame({
            "pupil_id": df["PupilMatchingRefAnonymous"],
            "academic_year": df["_ay"],
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
            "_file": df["_file"],
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
    # one row per pupil and year: a pupil still on two rows (no M/S marker, or two census files of
    # one year) keeps the first row in file order; the others are counted
    dup = out.duplicated(["pupil_id", "academic_year"], keep="first")
    out = _drop_rows(out, dup, _rule(m, "repeated_pupil_year"), dropped)
    out["pupil_id"] = pseudo_ids(out["pupil_id"], key, "P")
    out["school_id"] = pseudo_ids(out["school_id"], key, "S")
    return {"pupils": out}


def npd_exclusions(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    parts = []
    for name, df, fm in files:
        df = df.assign(_file=name).reset_index(drop=True)
        _require(df, ["PupilMatchingRefAnonymous", "ExclusionStartDate", "CategoryOfExclusion", "ExclusionReason"],
                 name, m.source)
        df = df.assign(_ay=_academic_year(df, fm, name, m, dropped))
        cat = recode(df["CategoryOfExclusion"], m, "CategoryOfExclusion", name).rename("CategoryOfExclusion")
        df, cat = drop_coded(df, cat, dropped)
        out = pd.DataFrame({
            "pupil_id": df["PupilMatchingRefAnonymous"],
            "school_id": _school(df, name, m.source),
            "exclusion_date": parse_dates(df["ExclusionStartDate"], name, m.source, "ExclusionStartDate"),
            "academic_year": df["_ay"],
            "category": cat,
            "sessions": to_int(df["SessionsExcluded"], name, m.source, "SessionsExcluded"),
            "reason_code": recode(df["ExclusionReason"], m, "ExclusionReason", name),
            "_file": df["_file"],
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
                               "category", "sessions", "reason_code", "_file"]]}


# --------------------------------------------------------------------------- health


_ICD_RE = re.compile(r"^([A-Z])(\d{2})(\.?)([0-9A-Z\-]?)([0-9A-Z\-*+]*)$")  # tail: 5th/6th characters, dagger/asterisk


def icd_parse(code) -> tuple[str, str] | None:
    """An ICD-10 code as HES and other extracts store it -> (3-character category, format):
    ``X60`` (3 characters), ``X600`` (4 characters), ``X60X`` ('X' 4th character: no 4th
    character given), ``X60-`` ('-' filler), ``X60.0`` / ``X60.`` (with a full stop, which HES
    does not store). None when the text is not such a code."""
    if code is None or code is pd.NA or (isinstance(code, float) and np.isnan(code)):
        return None
    t = str(code).strip().upper()
    mm = _ICD_RE.match(t)
    if not mm:
        return None
    cat = mm.group(1) + mm.group(2)
    if mm.group(3):
        fmt = "with full stop (X60.0)"
    elif not mm.group(4):
        fmt = "3 characters (X60)"
    elif mm.group(4) == "X":
        fmt = "'X' 4th character (X60X)"
    elif mm.group(4) == "-":
        fmt = "'-' filler (X60-)"
    else:
        fmt = "4 characters (X600)"
    return cat, fmt


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


def _diagnosis_fields(columns) -> list[tuple[str, str]]:
    """The diagnosis fields of a HES file in the order they are searched, with the position each
    gives: DIAG_4_01, DIAG_3_01, DIAG_4_02, DIAG_3_02, ... (position 01, 02...), then the
    concatenated fields (positions of their codes), then CAUSE_4 / CAUSE_3 (HES's first external
    cause code)."""
    pos = sorted({c[-2:] for c in columns if re.fullmatch(r"DIAG_[34]_\d{2}", c)})
    out = [(f"DIAG_{k}_{p}", p) for p in pos for k in ("4", "3") if f"DIAG_{k}_{p}" in columns]
    out += [(c, "concat") for c in ("DIAG_4_CONCAT", "DIAG_3_CONCAT") if c in columns]
    out += [(c, "cause") for c in ("CAUSE_4", "CAUSE_3") if c in columns]
    return out


def _first_code(row_codes: list[tuple[str, str, object]], ranges) -> tuple[str, str, str, str] | None:
    """The first code of a row within ``ranges``: (category, field, position, format)."""
    for fld, pos, val in row_codes:
        if val is None or val is pd.NA or (isinstance(val, float) and np.isnan(val)):
            continue
        items = re.split(r"[,;|\s]+", str(val).strip()) if pos == "concat" else [val]
        for i, item in enumerate(items):
            got = icd_parse(item)
            if got and any(lo <= got[0] <= hi for lo, hi in ranges):
                p = f"{i + 1:02d}" if pos == "concat" else pos
                return got[0], fld, p, got[1]
    return None


def hes_apc(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    """HES APC episodes -> one row per admission spell, the way HES analysts count them.

    Every episode row read ends in exactly one place: the first finished episode of a spell is
    written (as the spell's row), a later finished episode is folded into its spell's row (its end
    date counts), and every other row is left out under a named reason (unfinished episodes,
    repeated copies, spells outside the contract...)."""
    sh_ranges = _ranges(m, "self_harm_icd10")
    ext_ranges = _ranges(m, "external_cause_icd10")
    parts = []
    for name, df, fm in files:
        _require(df, ["TOKEN_PERSON_ID", "ADMIDATE", "EPIORDER", "EPISTAT", "ADMIMETH", "STARTAGE", "SEX"],
                 name, m.source)
        if not _diagnosis_fields(df.columns):
            raise ImportFieldError(f"{name} (source {m.source}): missing required field(s): DIAG_4_01 or DIAG_3_01 "
                                   "or DIAG_4_CONCAT (a diagnosis field is needed for self-harm)")
        d = df.copy()
        d["_file"] = name
        d["admission_date"] = parse_dates(d["ADMIDATE"], name, m.source, "ADMIDATE")
        end = parse_dates(d["DISDATE"], name, m.source, "DISDATE")
        epiend = parse_dates(d["EPIEND"], name, m.source, "EPIEND")
        d["_epistart"] = parse_dates(d["EPISTART"], name, m.source, "EPISTART")
        d["_end"] = end.where(end.notna(), epiend)
        d["_order"] = to_int(d["EPIORDER"], name, m.source, "EPIORDER")
        d["_status"] = recode(d["EPISTAT"], m, "EPISTAT", name)
        d["_admimeth"] = recode(d["ADMIMETH"], m, "ADMIMETH", name)
        d["_sex"] = recode(d["SEX"], m, "SEX", name)
        provider = d["PROCODE3"].astype("string").str.strip().str.upper().str.slice(0, 3).fillna("")
        by_date = (d["TOKEN_PERSON_ID"].astype(str) + "|" + d["admission_date"].dt.strftime("%Y-%m-%d")
                   + "|" + provider.astype(str))
        d["_spell"] = by_date.where(d["SUSSPELLID"].isna(),
                                    d["TOKEN_PERSON_ID"].astype(str) + "|spell|" + d["SUSSPELLID"].astype(str))
        parts.append(d)
    diag_order = _diagnosis_fields(sorted(set().union(*(set(p.columns) for p in parts))))
    d = _concat(parts)
    for c, _ in diag_order:
        if c not in d.columns:
            d[c] = np.nan
    # 1. finished episodes only (EPISTAT 3): an episode open on 31 March is in that year's file as
    #    unfinished (EPISTAT 1) and in the next year's file as finished
    d, _ = drop_coded(d, d["_status"].rename("EPISTAT"), dropped)
    # 2. one copy of each finished episode (the same episode delivered in two files)
    start = d["_epistart"].dt.strftime("%Y-%m-%d").fillna("")
    stop = d["_end"].dt.strftime("%Y-%m-%d").fillna("")
    dup = pd.Series(list(zip(d["_spell"], d["_order"].astype("string").fillna(""), start, stop))).duplicated()
    d = drop_rows(d, dup.to_numpy(), _rule(m, "repeated_episode"), dropped)
    # two first episodes under one spell key (no spell id; same person, day and provider): one spell
    d = d.sort_values(["_spell", "_order", "_end", "_file"], kind="mergesort", na_position="last")
    twice = ((d["_order"] == 1) & d.duplicated(["_spell", "_order"])).to_numpy()
    if twice.any():
        dropped.rows(d.loc[twice, "_file"], _rule(m, "same_day_spells"), kind="combined")
    d = d.loc[~twice].reset_index(drop=True)
    # 3. spells: the first finished episode (EPIORDER 1) gives the admission
    has_first = d["_spell"].isin(set(d.loc[(d["_order"] == 1).to_numpy(), "_spell"]))
    d = drop_rows(d, ~has_first.to_numpy(), _rule(m, "no_first_episode"), dropped)
    spell_end = d.groupby("_spell")["_end"].max()
    first_mask = (d["_order"] == 1).to_numpy()
    later = d.loc[~first_mask]
    first = d.loc[first_mask].reset_index(drop=True)
    first["discharge_date"] = first["_spell"].map(spell_end)
    # rows of spells left out below: their later episodes are left out with them
    spell_files = later.groupby("_spell")["_file"].apply(list)

    def drop_spells(frame, mask, reason):
        mask = np.asarray(mask, dtype=bool)
        for sp in frame.loc[mask, "_spell"]:
            for f in spell_files.get(sp, []):
                dropped.add(reason, 1, f)
        return drop_rows(frame, mask, reason, dropped)

    first = drop_spells(first, first["discharge_date"].isna(), "spell without DISDATE or EPIEND")
    age = to_int(first["STARTAGE"], "HES extract", m.source, "STARTAGE")
    first["age"] = age.where(~age.between(7001, 7007), 0)  # HES: under one year
    first = drop_spells(first, first["age"].isna(), "STARTAGE missing")
    first = drop_spells(first, ~first["age"].between(10, 24), "STARTAGE outside 10-24 (spell)")
    sexdrop = first["_sex"].astype("string").str.startswith("drop").fillna(False)
    for reason in sorted(set(first.loc[sexdrop.to_numpy(), "_sex"])):
        first = drop_spells(first, (first["_sex"] == reason).to_numpy(), reason.partition(":")[2].strip())
    kept = set(first["_spell"])
    n_later = later.loc[later["_spell"].isin(kept)]
    dropped.rows(n_later["_file"], _rule(m, "later_episode"), kind="combined")
    # self-harm and cause from the first finished episode: X60-X84 in any diagnosis position
    rows = first[[c for c, _ in diag_order]].to_numpy(dtype=object)
    sh_hits, ext_hits = [], []
    for r in rows:
        codes = [(c, p, v) for (c, p), v in zip(diag_order, r)]
        sh_hits.append(_first_code(codes, sh_ranges))
        ext_hits.append(_first_code(codes, ext_ranges))
    cause = [h[0] if h else (e[0] if e else None) for h, e in zip(sh_hits, ext_hits)]
    first["admission_id"] = pseudo_ids(first["_spell"], key, "A")
    out = pd.DataFrame({
        "admission_id": first["admission_id"],
        "person_id": _person(first, "TOKEN_PERSON_ID", key),
        "admission_date": first["admission_date"],
        "discharge_date": first["discharge_date"],
        "financial_year": financial_year(first["admission_date"]).to_numpy(),
        "age": first["age"].astype("Int64"),
        "sex": first["_sex"],
        "area_code": ons_codes(first["RESLADST_ONS"]),
        "admission_method": first["_admimeth"],
        "cause_code": pd.Series(cause, index=first.index, dtype=object),
        "self_harm": pd.Series([h is not None for h in sh_hits], index=first.index),
        "_file": first["_file"],
    })
    hits = [h for h in sh_hits if h]
    emerg = out["self_harm"] & (out["admission_method"] == "emergency")
    dropped.details.update({
        "spells_built": int(len(out)),
        "spells_crossing_31_march": int((financial_year(out["admission_date"]).to_numpy()
                                         != financial_year(out["discharge_date"]).to_numpy()).sum()),
        "self_harm_spells": int(len(hits)),
        "self_harm_emergency_spells": int(emerg.sum()),
        "self_harm_by_position": dict(sorted(pd.Series([h[2] for h in hits], dtype=object).value_counts().items())),
        "self_harm_by_field": dict(sorted(pd.Series([re.sub(r"_\d{2}$", "_nn", h[1]) for h in hits],
                                                    dtype=object).value_counts().items())),
        "self_harm_by_code_format": dict(sorted(pd.Series([h[3] for h in hits], dtype=object).value_counts().items())),
    })
    return {"admissions": out.sort_values("admission_id").reset_index(drop=True)}


def ecds(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    cc_codes = set(m.codes["self_harm_chief_complaint"])
    ii_codes = set(m.codes["self_harm_injury_intent"])
    parts = []
    no_dest = 0
    for name, df, _ in files:
        _require(df, ["EC_Ident", "Token_Person_ID", "Arrival_Date", "Arrival_Time", "Age_At_Arrival", "Sex"],
                 name, m.source)
        d = df.assign(_file=name).reset_index(drop=True)
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
        d, sex = drop_coded(d, recode(d["Sex"], m, "Sex", name).rename("Sex"), dropped)
        d["sex"] = sex
        cc = d["EC_Chief_Complaint_SNOMED_CT"].astype("string").str.strip()
        ii = d["EC_Injury_Intent_SNOMED_CT"].astype("string").str.strip()
        d["self_harm"] = (cc.isin(cc_codes).fillna(False) | ii.isin(ii_codes).fillna(False)).astype(bool)
        # no discharge destination recorded: kept, disposal empty (= unknown); counted in the report
        d["disposal"] = recode(d["Discharge_Destination_SNOMED_CT"], m, "Discharge_Destination_SNOMED_CT", name)
        no_dest += int(d["disposal"].isna().sum())
        d["area_code"] = ons_codes(d["Der_Postcode_Dist_Unitary_Auth"])
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
        "_file": d["_file"],
    })
    dropped.details["attendances_without_discharge_destination_kept_as_unknown"] = no_dest
    dropped.details["self_harm_attendances"] = int(out["self_harm"].sum())
    return {"ed_attendances": out.sort_values("attendance_id").reset_index(drop=True)}


# --------------------------------------------------------------------------- HeadStart survey

AREA_CODES = {"Blackpool": "BLA", "Cornwall": "COR", "Hull": "HUL", "Kent": "KEN", "Newham": "NEW",
              "Wolverhampton": "WOL"}


def headstart_survey(files, m: Mapping, key: bytes, dropped: Dropped) -> dict[str, pd.DataFrame]:
    parts = []
    for name, df, _ in files:
        df = df.reset_index(drop=True)
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
            "_file": name,
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
    cols = [*wmf.ID_COLUMNS, *wmf.ITEMS, "_file"]
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
        if missing:
            raise ImportFieldError(f"{name} (source contract, table {table}): missing required field(s): "
                                   f"{', '.join(missing)}")
        unknown = [c for c in have if c not in want]
        if unknown:  # left out and listed in the import report, never a stop
            dropped.details.setdefault("fields_ignored", {})[name] = unknown
        d = df[want].copy()
        for col, prefixes in id_columns(spec).items():
            if col == "school_id" and table == "wmf_survey":
                continue
            d[col] = pseudo_ids(d[col], key, prefixes[0], allowed=prefixes)
        d["_file"] = name
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
