"""``rr import``: sample extracts written here in each source's layout as delivered (NPD census
and exclusions with year suffixes and no year field, extra fields, dual registrations and nursery
rows; HES APC one file per financial year with PSEUDO_HESID, PROCODE3 and PROCODET, RESLADST and
RESLADST_ONS, DIAG_3/4_nn, DIAG_4_CONCAT and unfinished copies of episodes open on 31 March; ECDS
with SUS+ names and attendances without a destination; the HeadStart survey; contract-layout
tables), made by renaming and recoding the tables of a small synthetic folder (the shipped seed at
scale 0.2), import without a mapping edit and must give a data folder that validates (and, slow, runs
every chapter), with an import report in which every file balances. Planted self-harm spells
across 31 March all come back. A missing needed field, an unknown code, a file that does not parse
and a missing key are refused with one line naming them, and nothing is written.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from _inprocess import run_chapter_code
from rrlib import chapter, manifest, paths
from rrlib import results as results_mod
from rrlib.data import check as check_tables
from rrlib.data import tables as contract_tables
from rrlib.importers import ImportFieldError, run_import
from rrlib.importers.base import load_mapping
from rrlib.pseudonymise import PseudonymiseError

SYN = paths.DEFAULT_DATA_DIR
#: the extracts are made from a small synthetic folder (the shipped seed at scale 0.2, the suite's shared
#: ``shipped_small``): made from the shipped folder at full scale, the whole import took ~50 s and its chapters ~40 s
KEY = b"test-key-of-at-least-16-bytes-0123456789"
ROOT = Path(__file__).resolve().parents[2]
_SOURCE: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def _source_folder(shipped_small):
    _SOURCE[:] = [shipped_small]


def _source() -> Path:
    assert _SOURCE, "the source folder is set by the module's session fixture"
    return _SOURCE[0]


@functools.cache
def _syn(table: str) -> pd.DataFrame:
    return pd.read_csv(_source() / f"{table}.csv.gz", dtype=str, keep_default_na=False)


def syn(table: str) -> pd.DataFrame:
    """A table of the source folder (a copy: callers edit it)."""
    return _syn(table).copy()


def urn(school_id: pd.Series) -> pd.Series:
    """Synthetic school ids S010 -> a URN-like number 100010 (what an NPD extract carries)."""
    return school_id.map(lambda s: "" if not s else str(100000 + int(s[1:])))


def write(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n")
    return path


# --------------------------------------------------------------------------- source layouts


def npd_census_files(d: Path) -> list[Path]:
    """The census as the NPD / SRS tables deliver it: one file per year, fields with the _SPRyy
    suffix and no AcademicYear (the year is in the suffix), codes as the census records them (SEN
    N/K/E, R for Reception, FSM 1/0, M/F), the newer PrimarySENType name and fields the mapping
    does not use (OnRoll, EntryDate, FirstLanguage, EVERFSM_6_P, EVERFSM_ALL, SecondarySENType,
    IDACIScore_15, and one it has never heard of). Planted real-world rows, all left out by the
    mapping's rules: dual registrations (the pupil's main row marked M, a subsidiary S row at
    another school), nursery rows (N1, N2), a row with no NC year (X), a pupil not on roll."""
    p = syn("pupils")
    out = []
    for ay, g in p.groupby("academic_year"):
        yy = ay[-2:]
        f = pd.DataFrame({
            "PupilMatchingRefAnonymous": g["pupil_id"], "URN": urn(g["school_id"]), "LA": "890",
            "NCyearActual": g["nc_year"].replace({"0": "R"}), "Gender": g["sex"],
            "YearOfBirth": g["birth_year"], "MonthOfBirth": g["birth_month"],
            "AgeAtStartOfAcademicYear": (int(ay[:4]) - g["birth_year"].astype(int)
                                         - (g["birth_month"].astype(int) >= 9)).astype(str),
            "FSMeligible": g["fsm"].map({"true": "1", "false": "0"}),
            "SENprovision": g["sen_provision"].map({"none": "N", "sen_support": "K", "ehc_plan": "E"}),
            "PrimarySENType": g["sen_primary_need"], "SecondarySENType": "",
            "EthnicGroupMajor": g["ethnicity_major"], "EthnicGroupMinor": g["ethnicity_minor"],
            "InCareAtCurrentSchool": g["looked_after"].map({"true": "1", "false": "0"}),
            "OnRoll": "1", "EnrolStatus": "C", "EntryDate": f"{ay[:4]}-09-01", "FirstLanguage": "ENG",
            "EVERFSM_6_P": g["fsm"].map({"true": "1", "false": "0"}), "EVERFSM_ALL": "0", "IDACIScore_15": "0.2",
            "BlackpoolLocalFlag": "1",
        }).reset_index(drop=True)
        dual = f.iloc[:CENSUS_DUAL].copy()
        f.loc[: CENSUS_DUAL - 1, "EnrolStatus"] = "M"
        dual["EnrolStatus"] = "S"
        dual["URN"] = "100999"
        nursery = f.iloc[:CENSUS_NURSERY].copy()
        nursery["PupilMatchingRefAnonymous"] = [f"N{yy}{i:05d}" for i in range(CENSUS_NURSERY)]
        nursery["NCyearActual"] = ["N1", "N2"] * (CENSUS_NURSERY // 2)
        nursery["YearOfBirth"] = str(int(ay[:4]) - 4)
        nursery["MonthOfBirth"] = "1"
        nursery["AgeAtStartOfAcademicYear"] = "3"
        nc_x = f.iloc[-1:].assign(PupilMatchingRefAnonymous=f"X{yy}00001", NCyearActual="X")
        off_roll = f.iloc[-1:].assign(PupilMatchingRefAnonymous=f"O{yy}00001", OnRoll="0")
        f = pd.concat([f, dual, nursery, nc_x, off_roll], ignore_index=True)
        f.columns = [f"{c}_SPR{yy}" for c in f.columns]
        out.append(write(f, d / f"npd_census_spr{yy}.csv"))
    return out


CENSUS_DUAL, CENSUS_NURSERY = 5, 4  # planted per census year


def npd_exclusions_files(d: Path) -> list[Path]:
    """Exclusions as the SRS tables deliver them: one table per year, fields suffixed _EXyy
    (Category, Reason, Sessions, StartDate), the academic year only in the suffix; a field the
    mapping does not know; two lunchtime exclusions (LNCH) planted per year, left out."""
    e = syn("exclusions")
    out = []
    for ay, g in e.groupby("academic_year"):
        yy = ay[-2:]
        f = pd.DataFrame({
            "PupilMatchingRefAnonymous": g["pupil_id"], "URN": urn(g["school_id"]),
            "StartDate": pd.to_datetime(g["exclusion_date"]).dt.strftime("%d/%m/%Y"),
            "Category": g["category"].map({"suspension": "FIXD", "permanent": "PERM"}),
            "Reason": g["reason_code"], "Sessions": g["sessions"], "Term": "", "NCyearActual": "9",
            "Exclusion_Source": "school",
        })
        lunch = f.iloc[:2].assign(Category="LNCH", Sessions="1")
        f = pd.concat([f, lunch], ignore_index=True)
        f.columns = [f"{c}_EX{yy}" for c in f.columns]
        out.append(write(f, d / f"exclusions_ex{yy}.csv"))
    return out


ADMIMETH = {"emergency": "21", "elective": "11", "transfer": "81", "other": "31"}
CODE_FORMS = (lambda c: f"{c}0", lambda c: f"{c}X", lambda c: f"{c}-", lambda c: f"{c}.0", lambda c: c)


def hes_files(d: Path) -> list[Path]:
    """HES APC as NHS England delivers it: one file per financial year (FYEAR), PSEUDO_HESID,
    both PROCODE3 and PROCODET (and PROCODE5), both RESLADST and RESLADST_ONS, DIAG_3_nn,
    DIAG_4_nn and DIAG_4_CONCAT, EPISTAT, CAUSE_3/CAUSE_4, and fields the mapping does not know.
    One episode per spell, a second episode for every third spell; the external cause in any of
    the stored forms (X600, X60X, X60-, X60.0, X60), in DIAG_4_02, or only in DIAG_4_CONCAT
    for every seventh spell. A spell whose episode was still open on 31 March is in that year's
    file unfinished (EPISTAT 1, no end date, no code yet) and in the next year's file finished.
    An adult spell and one of unknown sex are left out; the linked pupil reference is given for
    census pupils."""
    from rrlib.calendar import financial_year
    a = syn("admissions")
    pupil = a["person_id"].str.startswith("P")
    n = len(a)
    cause = pd.Series([CODE_FORMS[i % 5](c) if c else "" for i, c in enumerate(a["cause_code"])])
    concat_only = (np.arange(n) % 7 == 3) & (cause != "")
    diag1 = np.where(cause != "", "T391", "R104")
    first = pd.DataFrame({
        "FYEAR": "", "EPIKEY": [f"{i:012d}" for i in range(n)],
        "PSEUDO_HESID": np.where(pupil, "T" + a["person_id"], a["person_id"]),
        "PupilMatchingRefAnonymous": np.where(pupil, a["person_id"], ""),
        "SUSSPELLID": a["admission_id"], "PROCODE3": "RXL", "PROCODET": "RXL", "PROCODE5": "RXL01",
        "ADMIDATE": a["admission_date"], "EPISTART": a["admission_date"],
        "EPIEND": a["discharge_date"], "DISDATE": a["discharge_date"], "EPIORDER": "01", "EPISTAT": "3",
        "ADMIMETH": a["admission_method"].map(ADMIMETH), "STARTAGE": a["age"],
        "SEX": a["sex"].map({"M": "1", "F": "2"}), "RESLADST": "00EY", "RESLADST_ONS": a["area_code"],
        "DIAG_3_01": pd.Series(diag1).str[:3], "DIAG_4_01": diag1,
        "DIAG_4_02": np.where(concat_only, "", cause), "DIAG_4_03": "",
        "DIAG_4_CONCAT": [",".join(x for x in (d1, c) if x) for d1, c in zip(diag1, cause)],
        "CAUSE_3": "", "CAUSE_4": "", "SITETRET": "RXL01", "NEW_DERIVED_FLAG": "0",
    })
    second = first.iloc[::3].assign(EPIORDER="02", DIAG_4_01="Z038", DIAG_3_01="Z03", DIAG_4_02="",
                                    DIAG_4_CONCAT="Z038")
    first.loc[first.index[::3], "DISDATE"] = ""  # the discharge date is on the last episode
    extra = first.iloc[:2].copy()
    extra["PSEUDO_HESID"] = ["X1", "X2"]
    extra["SUSSPELLID"] = ["X1", "X2"]
    extra["STARTAGE"] = ["40", "15"]
    extra["SEX"] = ["1", "9"]
    eps = pd.concat([first, second, extra], ignore_index=True)
    eps["_fy"] = financial_year(pd.to_datetime(eps["EPIEND"])).to_numpy()
    # open on 31 March: the unfinished copy in the admission's year
    fy_adm = financial_year(pd.to_datetime(eps["ADMIDATE"])).to_numpy()
    open_ = eps.loc[(eps["_fy"] != fy_adm) & (eps["EPIORDER"] == "01")].copy()
    open_ = open_.assign(EPISTAT="1", EPIEND="", DISDATE="", DIAG_4_02="", DIAG_4_CONCAT="", _fy=fy_adm[open_.index])
    eps = pd.concat([eps, open_], ignore_index=True)
    out = []
    for fy, g in eps.groupby("_fy"):
        g = g.drop(columns="_fy").assign(FYEAR=fy[:4] + fy[-2:])
        out.append(write(g, d / f"hes_apc_{fy[:4]}_{fy[-2:]}.csv"))
    return out


def ecds_file(d: Path) -> Path:
    """ECDS attendances with the SUS+ EC names: residence Der_Postcode_Dist_Unitary_Auth (and
    Der_Postcode_Local_Auth, not used), self-harm recorded half by chief complaint (248062006),
    half by injury intent (276853009), discharge destinations as SNOMED CT (ward, high dependency
    unit, home), three attendances without a destination (kept as unknown), SUS+ fields the
    mapping does not know."""
    e = syn("ed_attendances")
    pupil = e["person_id"].str.startswith("P")
    sh = e["self_harm"] == "true"
    alt = np.arange(len(e)) % 2 == 0
    dest = np.where(e["disposal"] == "admitted", np.where(alt, "306706006", "1066361000000104"), "306689006")
    dest[-3:] = ""
    return write(pd.DataFrame({
        "EC_Ident": e["attendance_id"],
        "Token_Person_ID": np.where(pupil, "T" + e["person_id"], e["person_id"]),
        "PupilMatchingRefAnonymous": np.where(pupil, e["person_id"], ""),
        "Arrival_Date": e["arrival_datetime"].str[:10], "Arrival_Time": e["arrival_datetime"].str[11:] + ":00",
        "Age_At_Arrival": e["age"], "Sex": e["sex"].map({"M": "1", "F": "2"}),
        "Der_Postcode_Dist_Unitary_Auth": e["area_code"], "Der_Postcode_Local_Auth": e["area_code"],
        "EC_Chief_Complaint_SNOMED_CT": np.where(sh & alt, "248062006", "21522001"),
        "EC_Injury_Intent_SNOMED_CT": np.where(sh & ~alt, "276853009", ""),
        "Discharge_Destination_SNOMED_CT": dest,
        "Der_Dupe_Flag": "0", "EC_Department_Type": "01", "Der_Postcode_LSOA_2011_Code": "E01012681",
        "Der_Provider_Site_Code": "RXL01",
    }), d / "ecds.csv")


def headstart_file(d: Path) -> Path:
    """The HeadStart survey with the mapping's (placeholder) variable names: spring survey year,
    samples 1/2, gender 1/2, FSM 1/0."""
    w = syn("wmf_survey")
    from rrlib.data import wmf
    f = pd.DataFrame({
        "RespondentID": w["respondent_id"], "Partnership": w["area"], "SchoolID": w["school_id"],
        "SurveyYear": (w["wave"].str[:4].astype(int) + 1).astype(str),
        "Sample": w["sample"].map({"cohort": "1", "snapshot": "2"}), "YearGroup": w["year_group"],
        "Gender": w["sex"].map({"M": "1", "F": "2", "": ""}), "FSM": w["fsm"].map({"true": "1", "false": "0", "": ""}),
    })
    for c in wmf.ITEMS:
        f[c] = w[c]
    return write(f, d / "headstart_cohort.csv")


CONTRACT = ["schools", "school_attendance", "population", "interventions", "sdq_targeted", "goals",
            "goal_ratings", "activities", "attendance", "selfharm_support"]


def contract_files(d: Path) -> list[Path]:
    out = []
    for t in CONTRACT:
        df = syn(t)
        if "school_id" in df.columns:
            df["school_id"] = urn(df["school_id"])  # the programme's records carry URNs
        out.append(write(df, d / "contract" / f"{t}.csv"))
    return out


def import_all(extracts: Path, to: Path) -> dict:
    summary = {}
    summary["npd-census"] = run_import("npd-census", npd_census_files(extracts), to, key=KEY)
    summary["npd-exclusions"] = run_import("npd-exclusions", npd_exclusions_files(extracts), to, key=KEY)
    summary["hes-apc"] = run_import("hes-apc", hes_files(extracts), to, key=KEY)
    summary["ecds"] = run_import("ecds", [ecds_file(extracts)], to, key=KEY)
    summary["headstart-survey"] = run_import("headstart-survey", [headstart_file(extracts)], to, key=KEY)
    summary["contract"] = run_import("contract", contract_files(extracts), to, key=KEY)
    return summary


@pytest.fixture(scope="session")
def imported(tmp_path_factory):
    """The whole import, made once: session-scoped, since pytest-xdist can tear a module-scoped fixture
    down between two batches of the same module's tests (it was built twice, ~50 s each)."""
    base = tmp_path_factory.mktemp("import")
    to = base / "real"
    summary = import_all(base / "extracts", to)
    return to, summary, base / "extracts"


# --------------------------------------------------------------------------- whole import


def test_imported_folder_meets_the_contract(imported):
    to, summary, _ = imported
    rows = check_tables(to)  # every table, schemas and cross-table keys (what `rr validate` runs)
    assert set(rows) == set(contract_tables())
    for t in ("pupils", "exclusions", "admissions", "ed_attendances", "wmf_survey", *CONTRACT):
        assert rows[t] == len(syn(t)), t
    from rrlib.cli import main
    assert main(["validate", str(to)]) == 0


def test_counts_recodes_and_left_out_rows(imported):
    to, summary, _ = imported
    n_years = syn("exclusions")["academic_year"].nunique()
    assert summary["npd-exclusions"]["rows_left_out"] == {"lunchtime exclusions (LNCH), outside the contract":
                                                          2 * n_years}
    from rrlib.calendar import financial_year
    src_adm = syn("admissions")
    crossing = int((financial_year(pd.to_datetime(src_adm["admission_date"]))
                    != financial_year(pd.to_datetime(src_adm["discharge_date"]))).sum())
    assert crossing > 0
    assert summary["hes-apc"]["rows_left_out"] == {
        "SEX not specified (9), spell left out": 1, "STARTAGE outside 10-24 (spell)": 1,
        "unfinished episode (EPISTAT 1: open at 31 March; the finished copy is in the next year's file)": crossing}
    adm = pd.read_csv(to / "admissions.csv.gz", dtype=str, keep_default_na=False)
    src = syn("admissions")
    # X60-X84 in any position -> intentional self-harm; spells, not episodes
    assert (adm["self_harm"] == "true").sum() == (src["self_harm"] == "true").sum()
    assert sorted(adm["cause_code"]) == sorted(src["cause_code"])
    assert adm["admission_method"].value_counts().to_dict() == src["admission_method"].value_counts().to_dict()
    # the spell's discharge date comes from its last episode
    assert sorted(adm["discharge_date"]) == sorted(src["discharge_date"])
    ed = pd.read_csv(to / "ed_attendances.csv.gz", dtype=str, keep_default_na=False)
    assert (ed["self_harm"] == "true").sum() == (syn("ed_attendances")["self_harm"] == "true").sum()
    exc = pd.read_csv(to / "exclusions.csv.gz", dtype=str, keep_default_na=False)
    assert exc["category"].value_counts().to_dict() == syn("exclusions")["category"].value_counts().to_dict()
    pup = pd.read_csv(to / "pupils.csv.gz", dtype=str, keep_default_na=False)
    assert pup["sen_provision"].value_counts().to_dict() == syn("pupils")["sen_provision"].value_counts().to_dict()


def test_identifiers_are_pseudonymised_and_still_join(imported):
    to, _, _ = imported
    pup = pd.read_csv(to / "pupils.csv.gz", dtype=str)
    raw_ids = set(syn("pupils")["pupil_id"])
    assert not raw_ids & set(pup["pupil_id"])
    assert pup["pupil_id"].str.fullmatch(r"P\d{16}").all()
    assert pup["school_id"].str.fullmatch(r"S\d{16}").all()
    sup = pd.read_csv(to / "selfharm_support.csv.gz", dtype=str)
    ed = pd.read_csv(to / "ed_attendances.csv.gz", dtype=str)
    assert set(sup["index_attendance_id"]) <= set(ed["attendance_id"])
    assert set(sup["person_id"]) <= set(pup["pupil_id"])
    # same distinct counts as the source: a one-to-one renaming
    assert pup["pupil_id"].nunique() == syn("pupils")["pupil_id"].nunique()


def test_manifest_says_real_and_where_it_came_from_without_paths(imported):
    to, _, extracts = imported
    doc = manifest.read(to)
    assert doc["synthetic"] is False
    manifest.verify(to)
    assert set(doc["imported"]) == {"npd-census", "npd-exclusions", "hes-apc", "ecds", "headstart-survey", "contract"}
    census = doc["imported"]["npd-census"]
    assert [f["name"] for f in census["files"]][:1] == ["npd_census_spr15.csv"]
    assert all(len(f["sha256"]) == 64 for f in census["files"])
    text = (to / "MANIFEST").read_text()
    assert str(extracts) not in text and str(to) not in text and "/tmp" not in text
    assert KEY.decode() not in text


def test_same_extracts_same_bytes(imported, tmp_path):
    to, _, extracts = imported
    again = tmp_path / "again"
    run_import("npd-exclusions", sorted(extracts.glob("exclusions_ex*.csv")), again, key=KEY)
    assert (again / "exclusions.csv.gz").read_bytes() == (to / "exclusions.csv.gz").read_bytes()


# --------------------------------------------------------------------------- refusals


def small_census(tmp_path: Path, **changes) -> Path:
    df = pd.DataFrame({
        "PupilMatchingRefAnonymous": ["A1", "A2"], "URN": ["100001", "100001"], "AcademicYear": ["2016/17"] * 2,
        "NCyearActual": ["8", "R"], "Gender": ["M", "F"], "YearOfBirth": ["2003", "2012"],
        "MonthOfBirth": ["10", "3"], "FSMeligible": ["1", "0"], "SENprovision": ["N", "K"],
        "PrimarySENeedsType": ["", "SEMH"], "EthnicGroupMajor": ["WHIT", "WHIT"],
        "EthnicGroupMinor": ["WBRI", "WOTH"], "InCareAtCurrentSchool": ["0", "0"]})
    for k, v in changes.items():
        if v is None:
            df = df.drop(columns=k)
        else:
            df[k] = v
    return write(df, tmp_path / "census.csv")


def test_small_census_is_recoded(tmp_path):
    entry = run_import("npd-census", [small_census(tmp_path)], tmp_path / "out", key=KEY)
    assert entry["tables"] == {"pupils": 2}
    p = pd.read_csv(tmp_path / "out" / "pupils.csv.gz", dtype=str, keep_default_na=False)
    assert list(p["nc_year"]) == ["8", "0"] and list(p["sen_provision"]) == ["none", "sen_support"]
    assert list(p["fsm"]) == ["true", "false"]


def test_missing_field_names_field_file_and_source(tmp_path):
    with pytest.raises(ImportFieldError) as e:
        run_import("npd-census", [small_census(tmp_path, FSMeligible=None)], tmp_path / "out", key=KEY)
    msg = str(e.value)
    assert "census.csv" in msg and "npd-census" in msg and "missing required field(s): FSMeligible" in msg
    assert not (tmp_path / "out").exists()


def test_unknown_field_is_listed_and_ignored_never_a_stop(tmp_path):
    f = small_census(tmp_path, ShoeSize=["5", "6"], EVERFSM_6_P=["1", "0"])
    entry = run_import("npd-census", [f], tmp_path / "out", key=KEY)
    assert entry["tables"] == {"pupils": 2}
    rep = json.loads((tmp_path / "out" / "IMPORT_REPORT.json").read_text())
    fields = rep["sources"]["npd-census"]["fields"]["census.csv"]
    assert fields["ignored_unknown"] == ["ShoeSize"] and fields["ignored_known"] == ["EVERFSM_6_P"]
    assert "`ShoeSize`" in (tmp_path / "out" / "IMPORT_REPORT.md").read_text()


def test_unknown_code_is_refused_naming_it(tmp_path):
    f = small_census(tmp_path, SENprovision=["N", "Q"])
    with pytest.raises(ImportFieldError, match=r"field SENprovision: unknown code\(s\) 'Q'.*npd-census.yml"):
        run_import("npd-census", [f], tmp_path / "out", key=KEY)


def test_hes_missing_fields_are_named(tmp_path):
    f = write(pd.DataFrame({"TOKEN_PERSON_ID": ["1"], "ADMIDATE": ["2017-05-01"]}), tmp_path / "hes.csv")
    with pytest.raises(ImportFieldError) as e:
        run_import("hes-apc", [f], tmp_path / "out", key=KEY)
    for name in ("EPIORDER", "EPISTAT", "ADMIMETH", "STARTAGE", "SEX", "RESLADST_ONS or RESLADST", "hes.csv",
                 "hes-apc"):
        assert name in str(e.value)


def test_ecds_unknown_discharge_destination(tmp_path):
    src = ecds_file(tmp_path)
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    df.loc[0, "Discharge_Destination_SNOMED_CT"] = "999999999"
    write(df, src)
    with pytest.raises(ImportFieldError, match="Discharge_Destination_SNOMED_CT: unknown code"):
        run_import("ecds", [src], tmp_path / "out", key=KEY)


def test_no_key_no_import(tmp_path, monkeypatch):
    monkeypatch.delenv("RR_PSEUDONYMISE_KEY", raising=False)
    with pytest.raises(PseudonymiseError, match="RR_PSEUDONYMISE_KEY"):
        run_import("npd-census", [small_census(tmp_path)], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_contract_breach_writes_nothing(tmp_path):
    """A census row that breaks the contract (age does not fit the year group) stops the import
    before anything is written, with the validator's message."""
    from rrlib.data import DataValidationError
    f = small_census(tmp_path, NCyearActual=["2", "R"])
    out = tmp_path / "out"
    with pytest.raises(DataValidationError, match="age_fits_nc_year"):
        run_import("npd-census", [f], out, key=KEY)
    assert not (out / "pupils.csv.gz").exists() and not (out / "MANIFEST").exists()


def test_never_into_the_synthetic_folder(tmp_path):
    with pytest.raises(ImportFieldError, match="synthetic"):
        run_import("npd-census", [small_census(tmp_path)], SYN, key=KEY)


def test_cli_reports_errors_without_traceback(tmp_path):
    f = small_census(tmp_path, FSMeligible=None)
    env = {**os.environ, "RR_PSEUDONYMISE_KEY": KEY.decode()}
    r = subprocess.run([sys.executable, "-m", "rrlib", "import", "npd-census", str(f), "--to", str(tmp_path / "o")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "FSMeligible" in r.stderr and "Traceback" not in r.stderr
    assert "nothing written" in r.stderr


def test_every_mapping_loads_and_cites_its_source():
    from rrlib.importers import SOURCES
    for s in SOURCES:
        m = load_mapping(s)
        assert m.citations and m.tables
        assert set(m.tables) <= set(contract_tables())


# --------------------------------------------------------------------------- the chapters


def _official_only(name: str) -> bool:
    """Whether chapter ``name`` reads no data folder: its default run (``make all``, before the suite) recorded
    its results as official statistics only."""
    f = paths.layout().result_file(name)
    return f.exists() and results_mod.official_only(results_mod.load(f))


@pytest.mark.slow
def test_imported_folder_runs_every_chapter(imported, tmp_path):
    """Every registered chapter that reads a data folder completes on the imported folder and records it as
    real data (a chapter of official statistics only, chapter 6, reads none: the folder cannot change it).
    The chapters run without a kernel (``tests/_inprocess.py``): what is tested is that they compute
    and record on real-layout data; kernels and Make are exercised by the default and shared runs.
    Chapter 2's official-statistics parts (the same public tables as every run's) are replayed when this
    session has computed them already (``memo``, as in the variant runs)."""
    to, _, _ = imported
    out = tmp_path / "out"
    from rrlib.data import prepare
    prepare(to, paths.layout(to, out).processed_dir)
    reads_data = {name: nb for name, nb in chapter.NOTEBOOKS.items() if not _official_only(name)}
    assert len(reads_data) >= 5, f"only {sorted(reads_data)} read a data folder (has `make all` run?)"
    for nb in reads_data.values():
        run_chapter_code(paths.NOTEBOOKS_DIR / nb, to, out, memo=True)
    results = sorted(p.stem for p in (out / "results").glob("*.json"))
    assert results == sorted(reads_data), "every registered chapter that reads a data folder ran"
    for name in results:
        doc = yaml.safe_load((out / "results" / f"{name}.json").read_text())
        assert doc["data"]["synthetic"] is False
        assert doc["data"]["tables"], f"{name} read no table of the imported folder"


def test_importers_doc_is_up_to_date_and_cites_every_source():
    from rrlib.importers import SOURCES, docs
    text = docs.importers_path().read_text(encoding="utf-8")
    assert text == docs.render(), "data/raw/IMPORTERS.md is out of date: run `rr codebook`"
    for s in SOURCES:
        assert f"## `{s}`" in text
    assert "X60-X84" in text and "276853009" in text and "248062006" in text
    assert "COULD NOT BE CONFIRMED" in (docs.load_mapping("headstart-survey").path.read_text())
    assert "not found in public documentation" in text


def test_hes_episodes_become_spells_without_a_spell_id(tmp_path):
    """Episodes grouped by person, ADMIDATE and provider: the first episode gives the admission,
    the last DISDATE its discharge; X60-X84 in any position is intentional self-harm; 2A is an
    emergency; an infant (STARTAGE 7002) is outside 10-24."""
    rows = [
        # person, admidate, epiorder, disdate, admimeth, age, sex, diag1, diag2, diag3
        ("T1", "2018-05-02", "1", "", "2A", "15", "2", "T424", "Y450", "X619"),
        ("T1", "2018-05-02", "2", "2018-05-04", "2A", "15", "2", "F329", "", ""),
        ("T2", "2019-01-10", "1", "2019-01-10", "11", "22", "1", "K359", "", ""),
        ("T3", "2019-02-01", "1", "2019-02-01", "21", "7002", "1", "P599", "", ""),
    ]
    df = pd.DataFrame(rows, columns=["TOKEN_PERSON_ID", "ADMIDATE", "EPIORDER", "DISDATE", "ADMIMETH", "STARTAGE",
                                     "SEX", "DIAG_4_01", "DIAG_4_02", "DIAG_4_03"])
    df["EPISTAT"] = "3"
    df["RESLADST_ONS"] = ["E06000009", "E06000009", "E07000119", "E06000009"]
    f = write(df, tmp_path / "hes.csv")
    entry = run_import("hes-apc", [f], tmp_path / "out", key=KEY)
    assert entry["tables"] == {"admissions": 2}
    assert entry["rows_left_out"] == {"STARTAGE outside 10-24 (spell)": 1}
    a = pd.read_csv(tmp_path / "out" / "admissions.csv.gz", dtype=str, keep_default_na=False)
    a = a.sort_values("admission_date").reset_index(drop=True)
    assert list(a["discharge_date"]) == ["2018-05-04", "2019-01-10"]
    assert list(a["cause_code"]) == ["X61", ""] and list(a["self_harm"]) == ["true", "false"]
    assert list(a["admission_method"]) == ["emergency", "elective"]
    assert list(a["area_code"]) == ["E06000009", "E07000119"] and list(a["sex"]) == ["F", "M"]
    assert list(a["financial_year"]) == ["2018/19", "2018/19"]
    assert a["person_id"].str.fullmatch(r"H\d{16}").all()


# --------------------------------------------------------------------------- the import report


def extract_rows(path: Path) -> int:
    return len(pd.read_csv(path, dtype=str, keep_default_na=False))


def test_import_report_accounts_for_every_row(imported):
    """Per source and file: rows read (counted here from the extract) = rows written + rows
    folded into a written row + rows left out by reason; the planted rows are where the rules
    put them; the report names no path."""
    to, _, extracts = imported
    rep = json.loads((to / "IMPORT_REPORT.json").read_text())
    assert set(rep["sources"]) == {"npd-census", "npd-exclusions", "hes-apc", "ecds", "headstart-survey", "contract"}
    for source, s in rep["sources"].items():
        written = 0
        for name, a in s["files"].items():
            path = next(p for p in extracts.rglob(name))
            assert a["rows_read"] == extract_rows(path), (source, name)
            assert a["rows_read"] == (a["rows_written"] + sum(a["rows_combined"].values())
                                      + sum(a["rows_left_out"].values())), (source, name)
            assert a["balanced"] is True
            written += a["rows_written"]
        assert written == sum(s["tables"].values()), source
    census = rep["sources"]["npd-census"]
    n_years = len(census["files"])
    left = {}
    for a in census["files"].values():
        for k, v in a["rows_left_out"].items():
            left[k] = left.get(k, 0) + v
    assert left == {
        "dual registration: subsidiary row (EnrolStatus S); the main registration (M) is kept": CENSUS_DUAL * n_years,
        "nursery year (NCyearActual N1/N2): before Reception, outside the contract": CENSUS_NURSERY * n_years,
        "no national curriculum year (NCyearActual X)": n_years,
        "not on roll on census day (OnRoll 0)": n_years}
    f15 = census["fields"]["npd_census_spr15.csv"]
    assert f15["ignored_unknown"] == ["BlackpoolLocalFlag_SPR15"]
    assert {"EVERFSM_6_P_SPR15", "EntryDate_SPR15", "FirstLanguage_SPR15", "IDACIScore_15_SPR15",
            "SecondarySENType_SPR15"} <= set(f15["ignored_known"])
    assert census["details"]["academic_year_from"]["npd_census_spr15.csv"] == "suffix _SPR15 -> 2014/15"
    hes = rep["sources"]["hes-apc"]
    for f in hes["fields"].values():
        assert f["used"]["PROCODE3"] == "PROCODE3" and f["used"]["RESLADST_ONS"] == "RESLADST_ONS"
        assert f["same_meaning_not_used"]["PROCODE3"] == ["PROCODET", "PROCODE5"]
        assert f["same_meaning_not_used"]["RESLADST_ONS"] == ["RESLADST"]
        assert f["used"]["TOKEN_PERSON_ID"] == "PSEUDO_HESID"
        assert set(f["ignored_unknown"]) == {"SITETRET", "NEW_DERIVED_FLAG"}
    src = syn("admissions")
    assert hes["details"]["spells_built"] == len(src)
    assert hes["details"]["self_harm_spells"] == (src["self_harm"] == "true").sum()
    assert sum(hes["details"]["self_harm_by_code_format"].values()) == hes["details"]["self_harm_spells"]
    assert len(hes["details"]["self_harm_by_code_format"]) == 5
    assert hes["details"]["self_harm_by_field"].get("DIAG_4_CONCAT", 0) > 0
    ecds_rep = rep["sources"]["ecds"]
    assert ecds_rep["details"]["attendances_without_discharge_destination_kept_as_unknown"] == 3
    assert ecds_rep["fields"]["ecds.csv"]["same_meaning_not_used"] == {
        "Der_Postcode_Dist_Unitary_Auth": ["Der_Postcode_Local_Auth"]}
    text = (to / "IMPORT_REPORT.md").read_text() + (to / "IMPORT_REPORT.json").read_text()
    assert str(extracts) not in text and str(to) not in text and "/tmp" not in text
    assert "| `hes_apc_" in text and "NO |" not in text


def hes_planted(d: Path, n_sh: int = 40, n_other: int = 20) -> tuple[list[Path], dict]:
    """Two financial years of HES APC (2017/18, 2018/19) with ``n_sh`` emergency self-harm spells
    planted in every stored code form and position, a quarter of them open on 31 March 2018
    (unfinished in the 2017/18 file, finished with the X-code in the 2018/19 file), some of two
    episodes with the second in the next year's file, plus ``n_other`` spells without self-harm.
    Returns the files and what was planted (computed from the rows)."""
    forms = [lambda c: c, lambda c: c + "1", lambda c: c + "X", lambda c: c + "-", lambda c: c + ".1"]
    rows, truth = [], {"self_harm": 0, "crossing": 0, "by_format": {}, "by_position": {}}
    names = ["3 characters (X60)", "4 characters (X600)", "'X' 4th character (X60X)", "'-' filler (X60-)",
             "with full stop (X60.0)"]
    for i in range(n_sh + n_other):
        sh = i < n_sh
        person = f"PH{i:04d}"
        crossing = i % 4 == 0
        adm = pd.Timestamp("2018-03-25") if crossing else pd.Timestamp("2017-06-01") + pd.Timedelta(days=5 * i)
        end = adm + pd.Timedelta(days=10 if crossing else 2)
        code = f"X{60 + i % 25}"
        pos = 1 + i % 4  # position 1..4; position 4 only in DIAG_4_CONCAT
        diags = ["R104", "", "", ""]
        concat = ["R104"]
        if sh:
            coded = forms[i % 5](code)
            if pos < 4:
                diags[pos - 1] = coded
            concat = [coded] if pos == 1 else ["R104", "F329", coded][: max(pos - 1, 1)] + [coded]
            concat = list(dict.fromkeys(concat))
            truth["self_harm"] += 1
            truth["by_format"][names[i % 5]] = truth["by_format"].get(names[i % 5], 0) + 1
            p_found = f"{pos:02d}" if pos < 4 else f"{concat.index(coded) + 1:02d}"
            truth["by_position"][p_found] = truth["by_position"].get(p_found, 0) + 1
        truth["crossing"] += crossing
        two = i % 3 == 0
        base = {"PSEUDO_HESID": person, "PROCODE3": "RXL", "PROCODET": "RXL", "ADMIDATE": adm.date().isoformat(),
                "EPISTART": adm.date().isoformat(), "EPIORDER": "1", "ADMIMETH": "21" if sh else "11",
                "STARTAGE": "16", "SEX": "2", "RESLADST_ONS": "E06000009", "RESLADST": "00EY",
                "DIAG_4_01": diags[0], "DIAG_4_02": diags[1], "DIAG_4_03": diags[2],
                "DIAG_4_CONCAT": ",".join(concat), "CAUSE_4": ""}
        mid = adm + pd.Timedelta(days=1)
        ep1_end = mid if two else end
        fy = "2018_19" if ep1_end >= pd.Timestamp("2018-04-01") else "2017_18"
        rows.append({**base, "EPIEND": ep1_end.date().isoformat(), "DISDATE": "" if two else end.date().isoformat(),
                     "EPISTAT": "3", "_file": fy})
        if crossing and fy == "2018_19":  # open at 31 March: unfinished copy, no end, no code yet
            rows.append({**base, "EPIEND": "", "DISDATE": "", "EPISTAT": "1", "DIAG_4_01": "R69X", "DIAG_4_02": "",
                         "DIAG_4_03": "", "DIAG_4_CONCAT": "R69X", "_file": "2017_18"})
        if two:
            fy2 = "2018_19" if end >= pd.Timestamp("2018-04-01") else "2017_18"
            ep2 = {**base, "EPIORDER": "2", "EPISTART": mid.date().isoformat(), "EPIEND": end.date().isoformat(),
                   "DISDATE": end.date().isoformat(), "EPISTAT": "3", "DIAG_4_01": "Z038", "DIAG_4_02": "",
                   "DIAG_4_03": "", "DIAG_4_CONCAT": "Z038", "_file": fy2}
            rows.append(ep2)
            if fy2 == "2018_19" and mid < pd.Timestamp("2018-04-01"):  # the second episode open on 31 March
                rows.append({**ep2, "EPIEND": "", "DISDATE": "", "EPISTAT": "1", "_file": "2017_18"})
    df = pd.DataFrame(rows)
    files = []
    for fy, g in df.groupby("_file"):
        files.append(write(g.drop(columns="_file"), d / f"hes_apc_{fy}.csv"))
    truth["spells"] = n_sh + n_other
    truth["rows"] = {f.name: int((df["_file"] == f.name[8:15]).sum()) for f in files}
    truth["unfinished"] = int((df["EPISTAT"] == "1").sum())
    truth["later"] = int(((df["EPIORDER"] == "2") & (df["EPISTAT"] == "3")).sum())
    return files, truth


def test_hes_spells_across_31_march_keep_the_finished_copy(tmp_path):
    """Planted: 40 self-harm spells (every code form, positions 1-4, position 4 only in
    DIAG_4_CONCAT), a quarter open on 31 March 2018. All 40 come back, from the finished copy,
    with their discharge date from the next year's file; the report balances per file and counts
    them by position and code format."""
    files, truth = hes_planted(tmp_path / "hes")
    out = tmp_path / "out"
    entry = run_import("hes-apc", files, out, key=KEY)
    a = pd.read_csv(out / "admissions.csv.gz", dtype=str, keep_default_na=False)
    assert len(a) == truth["spells"] == entry["tables"]["admissions"]
    sh = a[a["self_harm"] == "true"]
    assert len(sh) == truth["self_harm"] == 40
    assert (sh["admission_method"] == "emergency").all()
    assert sh["cause_code"].str.fullmatch(r"X(6\d|7\d|8[0-4])").all()
    crossing = a[(a["admission_date"] == "2018-03-25")]
    assert len(crossing) == truth["crossing"] and (crossing["discharge_date"] == "2018-04-04").all()
    assert (crossing["financial_year"] == "2017/18").all()
    rep = json.loads((out / "IMPORT_REPORT.json").read_text())["sources"]["hes-apc"]
    det = rep["details"]
    assert det["self_harm_spells"] == 40 and det["spells_built"] == truth["spells"]
    assert det["spells_crossing_31_march"] == truth["crossing"]
    assert det["self_harm_by_code_format"] == dict(sorted(truth["by_format"].items()))
    assert det["self_harm_by_position"] == dict(sorted(truth["by_position"].items()))
    assert det["self_harm_by_field"]["DIAG_4_CONCAT"] == sum(1 for i in range(40) if i % 4 == 3)
    total_unfinished = total_later = 0
    for name, acc in rep["files"].items():
        assert acc["rows_read"] == truth["rows"][name]
        assert acc["rows_read"] == acc["rows_written"] + sum(acc["rows_combined"].values()) + sum(
            acc["rows_left_out"].values())
        total_unfinished += sum(v for k, v in acc["rows_left_out"].items() if k.startswith("unfinished"))
        total_later += sum(acc["rows_combined"].values())
    assert total_unfinished == truth["unfinished"] and total_later == truth["later"]
    assert rep["files"]["hes_apc_2017_18.csv"]["rows_left_out"]  # the unfinished copies are in 2017/18's file
    # the same import file by file order reversed: the same spells
    again = tmp_path / "again"
    run_import("hes-apc", files[::-1], again, key=KEY)
    b = pd.read_csv(again / "admissions.csv.gz", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(a, b)


def test_hes_self_harm_code_forms_are_recognised():
    from rrlib.importers.sources import icd_parse
    assert icd_parse("X60") == ("X60", "3 characters (X60)")
    assert icd_parse("x841") == ("X84", "4 characters (X600)")
    assert icd_parse("X78X") == ("X78", "'X' 4th character (X60X)")
    assert icd_parse("X60-") == ("X60", "'-' filler (X60-)")
    assert icd_parse("X60.0") == ("X60", "with full stop (X60.0)")
    assert icd_parse("X60.") == ("X60", "with full stop (X60.0)")
    assert icd_parse("") is None and icd_parse("60X") is None


# --------------------------------------------------------------------------- stops


def test_stops_are_one_line_naming_file_field_and_source(tmp_path):
    """A field the chapters need that is absent, an unknown code in a coded field, a file that
    does not parse: one line naming the file, the field and the source; nothing written."""
    files, _ = hes_planted(tmp_path / "hes", n_sh=4, n_other=2)
    df = pd.read_csv(files[0], dtype=str, keep_default_na=False)
    cases = {
        "no_epistat.csv": (df.drop(columns=["EPISTAT"]), "missing required field(s): EPISTAT"),
        "bad_epistat.csv": (df.assign(EPISTAT="7"), "field EPISTAT: unknown code(s) '7'"),
        "bad_admimeth.csv": (df.assign(ADMIMETH="2Z"), "field ADMIMETH: unknown code(s) '2Z'"),
        "no_diag.csv": (df.drop(columns=["DIAG_4_01", "DIAG_4_02", "DIAG_4_03", "DIAG_4_CONCAT", "CAUSE_4"]),
                        "DIAG_4_01 or DIAG_3_01 or DIAG_4_CONCAT"),
    }
    for name, (frame, msg) in cases.items():
        f = write(frame, tmp_path / name)
        out = tmp_path / f"out_{name}"
        with pytest.raises(ImportFieldError) as e:
            run_import("hes-apc", [f], out, key=KEY)
        text = str(e.value)
        assert msg in text and name in text and "hes-apc" in text and "\n" not in text, text
        assert not out.exists()
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("PSEUDO_HESID,ADMIDATE\nA,2018-01-01\nB,2018-01-02,extra,fields\n")
    with pytest.raises(ImportFieldError, match=r"ragged.csv \(source hes-apc\): does not parse as CSV"):
        run_import("hes-apc", [ragged], tmp_path / "o2", key=KEY)
    gz = tmp_path / "broken.csv.gz"
    gz.write_bytes(b"not gzip at all")
    with pytest.raises(ImportFieldError, match=r"broken.csv.gz \(source npd-census\): not a readable gzip"):
        run_import("npd-census", [gz], tmp_path / "o3", key=KEY)
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()


def test_exclusions_year_from_suffix_or_file_name(tmp_path):
    rows = {"PupilMatchingRefAnonymous": ["A1", "A2", "A3"], "URN": ["100001"] * 3,
            "StartDate": ["10/10/2016", "01/03/2017", "05/05/2017"], "Category": ["FIXD", "PERM", "LNCH"],
            "Reason": ["PP", "VA", "DA"], "Sessions": ["2", "", "1"]}
    suffixed = write(pd.DataFrame({f"{k}_EX17": v for k, v in rows.items()}), tmp_path / "x.csv")
    named = write(pd.DataFrame(rows), tmp_path / "exclusions_2016_17.csv")
    for f in (suffixed, named):
        out = tmp_path / f"out_{f.stem}"
        entry = run_import("npd-exclusions", [f], out, key=KEY)
        assert entry["tables"] == {"exclusions": 2}
        e = pd.read_csv(out / "exclusions.csv.gz", dtype=str, keep_default_na=False)
        assert set(e["academic_year"]) == {"2016/17"} and sorted(e["category"]) == ["permanent", "suspension"]
    nameless = write(pd.DataFrame(rows), tmp_path / "exclusions.csv")
    with pytest.raises(ImportFieldError, match=r"exclusions.csv \(source npd-exclusions\), field AcademicYear"):
        run_import("npd-exclusions", [nameless], tmp_path / "o", key=KEY)


def test_census_dual_registration_and_nursery_rules(tmp_path):
    f = small_census(tmp_path, EnrolStatus=["M", "C"], AcademicYear=None)
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    sub = df.iloc[:1].assign(EnrolStatus="S", URN="100002")
    nursery = df.iloc[1:].assign(PupilMatchingRefAnonymous="A9", NCyearActual="N2")
    write(pd.concat([df, sub, nursery], ignore_index=True), tmp_path / "census_2016_17.csv")
    entry = run_import("npd-census", [tmp_path / "census_2016_17.csv"], tmp_path / "out", key=KEY)
    assert entry["tables"] == {"pupils": 2}
    assert entry["rows_left_out"] == {
        "dual registration: subsidiary row (EnrolStatus S); the main registration (M) is kept": 1,
        "nursery year (NCyearActual N1/N2): before Reception, outside the contract": 1}
    p = pd.read_csv(tmp_path / "out" / "pupils.csv.gz", dtype=str, keep_default_na=False)
    assert p["pupil_id"].is_unique and set(p["academic_year"]) == {"2016/17"}


def test_contract_layout_extra_fields_are_listed_not_refused(tmp_path):
    df = syn("schools").assign(local_note="x")
    f = write(df, tmp_path / "schools.csv")
    entry = run_import("contract", [f], tmp_path / "out", key=KEY)
    assert entry["tables"] == {"schools": len(df)}
    rep = json.loads((tmp_path / "out" / "IMPORT_REPORT.json").read_text())["sources"]["contract"]
    assert rep["fields"]["schools.csv"]["ignored_unknown"] == ["local_note"]
    assert rep["files"]["schools.csv"] == {"rows_read": len(df), "rows_written": len(df), "rows_combined": {},
                                           "rows_left_out": {}, "balanced": True}
