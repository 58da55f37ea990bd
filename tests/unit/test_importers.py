"""``rr import``: sample extracts written here in each source's own layout (NPD census and
exclusions, HES APC episodes, ECDS, the HeadStart survey as deposited, contract-layout tables),
made by renaming and recoding the shipped synthetic tables, are imported and must give a data
folder that validates (and, slow, runs every chapter). Missing and unknown fields, unknown codes
and a missing key are refused with messages naming them, and nothing is written.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rrlib import manifest, paths
from rrlib.data import check as check_tables
from rrlib.data import tables as contract_tables
from rrlib.importers import ImportFieldError, run_import
from rrlib.importers.base import load_mapping
from rrlib.pseudonymise import PseudonymiseError

SYN = paths.DEFAULT_DATA_DIR
KEY = b"test-key-of-at-least-16-bytes-0123456789"
ROOT = Path(__file__).resolve().parents[2]


def syn(table: str) -> pd.DataFrame:
    return pd.read_csv(SYN / f"{table}.csv.gz", dtype=str, keep_default_na=False)


def urn(school_id: pd.Series) -> pd.Series:
    """Synthetic school ids S010 -> a URN-like number 100010 (what an NPD extract carries)."""
    return school_id.map(lambda s: "" if not s else str(100000 + int(s[1:])))


def write(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n")
    return path


# --------------------------------------------------------------------------- source layouts


def npd_census_files(d: Path) -> list[Path]:
    """The census as NPD supplies it: one file per year, fields with the _SPRyy suffix, codes as
    the census records them (SEN N/K/E, R for Reception, FSM 1/0, M/F)."""
    p = syn("pupils")
    out = []
    for ay, g in p.groupby("academic_year"):
        yy = ay[-2:]
        f = pd.DataFrame({
            f"PupilMatchingRefAnonymous_SPR{yy}": g["pupil_id"],
            f"URN_SPR{yy}": urn(g["school_id"]),
            f"LA_SPR{yy}": "890",
            f"NCyearActual_SPR{yy}": g["nc_year"].replace({"0": "R"}),
            f"Gender_SPR{yy}": g["sex"],
            f"YearOfBirth_SPR{yy}": g["birth_year"],
            f"MonthOfBirth_SPR{yy}": g["birth_month"],
            f"AgeAtStartOfAcademicYear_SPR{yy}": (int(ay[:4]) - g["birth_year"].astype(int)
                                                  - (g["birth_month"].astype(int) >= 9)).astype(str),
            f"FSMeligible_SPR{yy}": g["fsm"].map({"true": "1", "false": "0"}),
            f"SENprovision_SPR{yy}": g["sen_provision"].map({"none": "N", "sen_support": "K", "ehc_plan": "E"}),
            f"PrimarySENeedsType_SPR{yy}": g["sen_primary_need"],
            f"EthnicGroupMajor_SPR{yy}": g["ethnicity_major"],
            f"EthnicGroupMinor_SPR{yy}": g["ethnicity_minor"],
            f"InCareAtCurrentSchool_SPR{yy}": g["looked_after"].map({"true": "1", "false": "0"}),
        })
        out.append(write(f, d / f"npd_census_spr{yy}.csv"))
    return out


def npd_exclusions_file(d: Path) -> Path:
    e = syn("exclusions")
    f = pd.DataFrame({
        "PupilMatchingRefAnonymous": e["pupil_id"], "URN": urn(e["school_id"]),
        "AcademicYear": e["academic_year"].map(lambda a: f"{a[:4]}/{int(a[:4]) + 1}"),  # 2016/2017
        "ExclusionStartDate": pd.to_datetime(e["exclusion_date"]).dt.strftime("%d/%m/%Y"),
        "CategoryOfExclusion": e["category"].map({"suspension": "FIXD", "permanent": "PERM"}),
        "ExclusionReason": e["reason_code"], "SessionsExcluded": e["sessions"], "ExclusionTerm": "",
    })
    # two lunchtime exclusions: outside the contract, left out and counted
    lunch = f.iloc[:2].assign(CategoryOfExclusion="LNCH", SessionsExcluded="1")
    return write(pd.concat([f, lunch], ignore_index=True), d / "npd_exclusions.csv")


ADMIMETH = {"emergency": "21", "elective": "11", "transfer": "81", "other": "31"}



def hes_file(d: Path) -> Path:
    """HES APC episodes: one episode per spell, a second episode for every third spell (same
    ADMIDATE, EPIORDER 2, the discharge on the last episode), the external cause in position 2
    after an injury code, the linked pupil reference for census pupils only."""
    a = syn("admissions")
    pupil = a["person_id"].str.startswith("P")
    cause = a["cause_code"].map(lambda c: f"{c}9" if c else "")
    first = pd.DataFrame({
        "TOKEN_PERSON_ID": np.where(pupil, "T" + a["person_id"], a["person_id"]),
        "PupilMatchingRefAnonymous": np.where(pupil, a["person_id"], ""),
        "SUSSPELLID": a["admission_id"], "PROCODE": "RXL",
        "ADMIDATE": a["admission_date"], "EPISTART": a["admission_date"],
        "EPIEND": a["discharge_date"], "DISDATE": a["discharge_date"], "EPIORDER": "01", "EPISTAT": "3",
        "ADMIMETH": a["admission_method"].map(ADMIMETH), "STARTAGE": a["age"],
        "SEX": a["sex"].map({"M": "1", "F": "2"}), "RESLADST_ONS": a["area_code"],
        "DIAG_4_01": np.where(cause != "", "T391", "R104"), "DIAG_4_02": cause, "DIAG_4_03": "",
        "DIAG_3_01": "", "FYEAR": "",
    })
    second = first.iloc[::3].assign(EPIORDER="02", DIAG_4_01="Z038", DIAG_4_02="")
    first.loc[first.index[::3], "DISDATE"] = ""  # the discharge date is on the last episode
    # an adult admission and one of unknown sex: outside the contract, left out and counted
    extra = first.iloc[:2].copy()
    extra["SUSSPELLID"] = ["X1", "X2"]
    extra["STARTAGE"] = ["40", "15"]
    extra["SEX"] = ["1", "9"]
    return write(pd.concat([first, second, extra], ignore_index=True), d / "hes_apc.csv")


def ecds_file(d: Path) -> Path:
    """ECDS attendances: self-harm recorded half by chief complaint (248062006), half by injury
    intent (276853009); discharge destinations as SNOMED CT (the confirmed codes: ward for
    admitted, home for the others)."""
    e = syn("ed_attendances")
    pupil = e["person_id"].str.startswith("P")
    sh = e["self_harm"] == "true"
    alt = np.arange(len(e)) % 2 == 0
    return write(pd.DataFrame({
        "EC_Ident": e["attendance_id"],
        "Token_Person_ID": np.where(pupil, "T" + e["person_id"], e["person_id"]),
        "PupilMatchingRefAnonymous": np.where(pupil, e["person_id"], ""),
        "Arrival_Date": e["arrival_datetime"].str[:10], "Arrival_Time": e["arrival_datetime"].str[11:] + ":00",
        "Age_At_Arrival": e["age"], "Sex": e["sex"].map({"M": "1", "F": "2"}),
        "Residence_LA_ONS": e["area_code"],
        "EC_Chief_Complaint_SNOMED_CT": np.where(sh & alt, "248062006", "21522001"),
        "EC_Injury_Intent_SNOMED_CT": np.where(sh & ~alt, "276853009", ""),
        "Discharge_Destination_SNOMED_CT": np.where(e["disposal"] == "admitted", "306706006", "306689006"),
        "Der_Dupe_Flag": "0", "EC_Department_Type": "01",
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
    summary["npd-exclusions"] = run_import("npd-exclusions", [npd_exclusions_file(extracts)], to, key=KEY)
    summary["hes-apc"] = run_import("hes-apc", [hes_file(extracts)], to, key=KEY)
    summary["ecds"] = run_import("ecds", [ecds_file(extracts)], to, key=KEY)
    summary["headstart-survey"] = run_import("headstart-survey", [headstart_file(extracts)], to, key=KEY)
    summary["contract"] = run_import("contract", contract_files(extracts), to, key=KEY)
    return summary


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
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
    assert summary["npd-exclusions"]["rows_left_out"] == {"lunchtime exclusions (LNCH), outside the contract": 2}
    assert summary["hes-apc"]["rows_left_out"] == {"SEX not specified (9), spell left out": 1,
                                                   "STARTAGE outside 10-24 (spell)": 1}
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
    run_import("npd-exclusions", [extracts / "npd_exclusions.csv"], again, key=KEY)
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
    for name in ("EPIORDER", "EPISTAT", "ADMIMETH", "STARTAGE", "SEX", "hes.csv", "hes-apc"):
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


@pytest.mark.slow
def test_imported_folder_runs_all_five_chapters(imported, tmp_path):
    to, _, _ = imported
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "RR_"))}
    r = subprocess.run(["make", "-C", str(ROOT), "chapters", f"DATA_DIR={to}", f"OUT_DIR={out}"],
                       capture_output=True, text=True, env=env, timeout=3000)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    results = sorted(p.stem for p in (out / "results").glob("*.json"))
    assert results == ["exclusions", "reach", "selfharm", "targeted", "wmf"]
    for name in results:
        doc = yaml.safe_load((out / "results" / f"{name}.json").read_text())
        assert doc["data"]["synthetic"] is False


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
