"""The contract follows the data (issue 17.1): the study window is the folder's, survey areas and
waves are any set, residence is an ONS code named from a lookup, exclusion reason codes are
checked against their year, and only the census tables are required."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

import rrlib.data as data
from rrlib import codebook, commands, manifest, synth
from rrlib.data import areas, education, window
from rrlib.synth import variants as V


@pytest.fixture(scope="module")
def base(shipped_small) -> Path:
    """A small synthetic folder (the shipped seed at scale 0.2, every domain: ``tests/conftest.py``), read-only."""
    return shipped_small


@pytest.fixture
def raw(base, tmp_path) -> Path:
    d = tmp_path / "raw"
    shutil.copytree(base, d)
    return d


def read(d: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(d / f"{name}.csv.gz", dtype=str, keep_default_na=False)


def write(d: Path, name: str, df: pd.DataFrame) -> None:
    # the fastest gzip level: the survey's table is 10 MB of text, compressed twice in some tests
    (d / f"{name}.csv.gz").write_bytes(gzip.compress(df.to_csv(index=False).encode("utf-8"), compresslevel=1))


def set_window(d: Path, start: str | None, end: str | None = None) -> None:
    """Rewrite the MANIFEST (sums of the files as they are now) with another window or none."""
    doc = manifest.read(d)
    doc.pop("files", None)
    doc.pop("window", None)
    if start is not None:
        doc["window"] = {"start": start, "end": end}
    s = doc.pop("synthetic")
    manifest.write(d, synthetic=s, **doc)


# --------------------------------------------------------------------------- study window

def test_synthetic_manifest_declares_its_window(base):
    assert manifest.read(base)["window"] == synth.STUDY_WINDOW
    w = window.StudyWindow.of_folder(base)
    assert w.declared and w.text() == "2016-09-01 to 2022-08-31"


def test_date_outside_the_declared_window_names_file_column_window_rows(raw):
    act = read(raw, "activities")
    act.loc[3, "activity_date"] = "2023-01-10"
    write(raw, "activities", act)
    set_window(raw, "2016-09-01", "2022-08-31")
    with pytest.raises(data.DataValidationError) as e:
        data.validate(raw, only=["schools", "activities"])
    msg = str(e.value)
    for s in ("activities.csv.gz", "column 'activity_date'", "date in the study window",
              "2016-09-01 to 2022-08-31", "line 5 '2023-01-10'", "1 offending row"):
        assert s in msg, (s, msg)


def test_programme_dates_to_2023_pass_when_the_window_says_so(raw):
    act = read(raw, "activities")
    act.loc[3, "activity_date"] = "2023-01-10"
    write(raw, "activities", act)
    set_window(raw, "2016-09-01", "2023-08-31")
    assert len(data.validate(raw, only=["schools", "activities"])["activities"]) == len(act)


def test_undeclared_window_is_derived_and_reported(raw, capsys):
    act = read(raw, "activities")
    act.loc[3, "activity_date"] = "2023-01-10"
    write(raw, "activities", act)
    set_window(raw, None)
    assert commands.main_validate(raw) == 0
    out = capsys.readouterr().out
    assert "study window (derived from the data, not declared): 2016-09-01 to 2023-01-10" in out


def test_a_window_ending_before_it_starts_is_refused(raw):
    set_window(raw, "2022-08-31", "2016-09-01")
    with pytest.raises(data.DataValidationError, match="MANIFEST.*window ends .2016-09-01. before"):
        data.validate(raw, only=["schools"])


def test_datetime_text_columns_are_checked_by_day():
    t = data.tables()["selfharm_support"]
    df = pd.DataFrame({"referral_datetime": ["2022-08-31 23:59", "2022-09-01 00:01", None],
                       "end_date": pd.to_datetime(["2022-08-31", None, "2016-08-31"])})
    w = window.StudyWindow.parse({"start": "2016-09-01", "end": "2022-08-31"})
    probs = w.problems(t, df, "selfharm_support.csv.gz")
    assert [(p.column, p.count, p.rows[0][0]) for p in probs] == [
        ("referral_datetime", 1, 3), ("end_date", 1, 4)]


# --------------------------------------------------------------------------- reason codes by year

def test_reason_codes_of_every_year():
    assert "OT" in education.reason_codes_of_year("2019/20")
    assert "OT" not in education.reason_codes_of_year("2020/21")
    for c in ("OW", "LG", "DS", "MT", "PH"):
        assert c not in education.reason_codes_of_year("2019/20")
        assert c in education.reason_codes_of_year("2021/22")
        assert education.reason_code_years(c) == "from 2020/21"
    assert education.reason_code_years("OT") == "to 2019/20"
    assert education.reason_code_years("PD") == "every year"


def test_reason_code_not_valid_in_its_year_is_an_error(raw):
    exc = read(raw, "exclusions")
    old = exc.index[exc["academic_year"] == "2018/19"][0]
    new = exc.index[exc["academic_year"] == "2021/22"][0]
    exc.loc[old, "reason_code"] = "OW"   # introduced in 2020/21
    exc.loc[new, "reason_code"] = "OT"   # withdrawn after 2019/20
    write(raw, "exclusions", exc)
    set_window(raw, *synth.STUDY_WINDOW.values())
    with pytest.raises(data.DataValidationError) as e:
        data.validate(raw, only=["schools", "pupils", "exclusions"])
    p = [q for q in e.value.problems if q.rule.startswith("reason_code_valid_in_academic_year")]
    assert len(p) == 1 and p[0].count == 2 and p[0].file == "exclusions.csv.gz"
    assert sorted(line for line, _ in p[0].rows) == sorted([old + 2, new + 2])


def test_codebook_lists_each_reason_code_with_its_years():
    text = codebook.render_codebook()
    assert "| `OW` | Use or threat of use of an offensive weapon or prohibited item (from 2020/21) |" in text
    assert "| `OT` | Other (to 2019/20) |" in text
    assert "| `PD` | Persistent disruptive behaviour (every year) |" in text


def test_synthetic_exclusions_use_the_codes_of_their_year():
    exc = pd.read_csv(Path(synth.__file__).parents[3] / "data/raw/synthetic/exclusions.csv.gz",
                      usecols=["academic_year", "reason_code"])
    for year, g in exc.groupby("academic_year"):
        assert set(g["reason_code"]) <= set(education.reason_codes_of_year(year)), year
    recent = set(exc.loc[exc["academic_year"] >= "2020/21", "reason_code"])
    assert {"OW", "LG", "DS", "MT", "PH"} <= recent and "OT" not in recent


# --------------------------------------------------------------------------- residence

def test_lookup_codes_are_ons_codes_and_unique():
    lk = pd.read_csv(areas.LOOKUP_FILE, dtype=str)
    assert lk["area_code"].is_unique
    assert lk["area_code"].str.fullmatch(areas.ONS_CODE_RE[1:-1]).all()
    assert areas.lookup()["E06000009"] == "Blackpool"
    assert areas.lookup()["E07000119"] == "Fylde" and areas.lookup()["E07000128"] == "Wyre"


def test_area_names_from_codes():
    got = areas.area_names(pd.Series(["E06000009", "E07000128", "E09000001", None]))
    assert list(got) == ["Blackpool", "Wyre", "Other", None]


def test_residence_must_be_an_ons_code(raw):
    adm = read(raw, "admissions")
    adm.loc[2, "area_code"] = "Blackpool"
    write(raw, "admissions", adm)
    with pytest.raises(data.DataValidationError) as e:
        data.validate(raw, only=["admissions"])
    msg = str(e.value)
    assert "admissions.csv.gz, column 'area_code'" in msg and "line 4 'Blackpool'" in msg


def test_processed_health_tables_keep_the_area_name(base, tmp_path):
    out = tmp_path / "processed"
    data.prepare(base, out)
    for t in ("admissions", "ed_attendances"):
        df = pd.read_parquet(out / f"{t}.parquet")
        assert {"area", "area_code"} <= set(df.columns)
        bp = df["area_code"] == "E06000009"
        assert (df.loc[bp, "area"] == "Blackpool").all() and (df.loc[~bp, "area"] != "Blackpool").all()
        assert list(df.columns).index("area") == list(df.columns).index("area_code") - 1


# --------------------------------------------------------------------------- WMF: any areas, any waves

def test_seventh_area_and_sixth_wave_validate(base, tmp_path):
    d = V.make(base, tmp_path / "v", ["seventh_area_sixth_wave"])
    wmf = data.validate(d, only=["wmf_survey"])["wmf_survey"]
    assert wmf["area"].nunique() == 7 and wmf["wave"].nunique() == 6


def test_cohort_rule_starts_at_the_cohorts_first_wave(raw):
    wmf = read(raw, "wmf_survey")
    wmf = wmf[wmf["wave"] != "2016/17"]  # the cohort now starts in 2017/18 (Year 8 there)
    write(raw, "wmf_survey", wmf)
    with pytest.raises(data.DataValidationError, match="cohort year_group is 7 in the cohort's first wave"):
        data.validate(raw, only=["wmf_survey"])
    wmf.loc[wmf["sample"] == "cohort", "year_group"] = (
        wmf.loc[wmf["sample"] == "cohort", "year_group"].astype(int) - 1).astype(str)
    write(raw, "wmf_survey", wmf)
    assert data.validate(raw, only=["wmf_survey"])["wmf_survey"]["wave"].min() == "2017/18"


def test_a_wave_must_be_an_academic_year(raw):
    wmf = read(raw, "wmf_survey")
    wmf.loc[0, "wave"] = "wave 6"
    write(raw, "wmf_survey", wmf)
    with pytest.raises(data.DataValidationError, match="academic year written like 2016/17"):
        data.validate(raw, only=["wmf_survey"])


def test_wave_index_counts_from_the_first_wave_of_the_data():
    from rrlib.data.wmf import wave_index
    assert list(wave_index(pd.Series(["2017/18", "2019/20", "2017/18"]))) == [0, 2, 0]
    assert list(wave_index(pd.Series(["2016/17", "2020/21"]))) == [0, 4]


# --------------------------------------------------------------------------- optional tables

def test_only_the_census_tables_are_required():
    assert [n for n, t in data.tables().items() if t.required] == ["schools", "pupils"]


def test_a_missing_optional_table_is_fine_and_left_out(raw, tmp_path):
    (raw / "admissions.csv.gz").unlink()
    set_window(raw, *synth.STUDY_WINDOW.values())
    out = tmp_path / "processed"
    data.prepare(raw, out)
    made = {p.stem for p in out.glob("*.parquet")}
    assert "admissions" not in made and {"ed_attendances", "pupils", "goal_change"} <= made


def test_a_table_referring_to_an_absent_table_is_an_error_naming_both(raw):
    (raw / "goals.csv.gz").unlink()
    set_window(raw, *synth.STUDY_WINDOW.values())
    with pytest.raises(data.DataValidationError) as e:
        data.validate(raw)
    msg = str(e.value)
    assert "goal_ratings.csv.gz, column 'goal_id': rule 'foreign key goal_id -> goals.goal_id'" in msg
    assert "the folder has no goals table" in msg


# --------------------------------------------------------------------------- variants

def test_variant_groups_cover_every_variant_once_without_two_per_chapter():
    gs = V.groups()
    flat = [v for g in gs for v in g]
    assert sorted(flat) == sorted(V.VARIANTS) and len(flat) == len(set(flat))
    for g in gs:
        for ch in V.CHAPTER_TABLES:
            assert sum(ch in V.affected_chapters([v]) for v in g) <= 1, (g, ch)


def test_every_optional_table_has_its_missing_variant():
    optional = [n for n, t in data.tables().items() if not t.required]
    assert {f"without_{n}" for n in optional} <= set(V.VARIANTS)
    assert V.VARIANTS["without_goals"].tables == ("goals", "goal_ratings")


@pytest.mark.parametrize("group", [g for g in V.groups()], ids=lambda g: "+".join(g))
def test_every_variant_folder_validates(base, tmp_path, group):
    d = V.make(base, tmp_path / "v", group)
    assert manifest.verify(d)["variants"] == group
    got = data.check(d)
    for v in group:
        if v.startswith("without_"):
            assert not set(V.VARIANTS[v].tables) & set(got)


# --------------------------------------------------------------------------- rr manifest

def test_rr_manifest_rewrites_sums_and_window(raw, capsys):
    act = read(raw, "activities")
    write(raw, "activities", act.iloc[:-1])
    with pytest.raises(manifest.ManifestError):
        manifest.verify(raw)
    assert commands.main_refresh(raw, window=("2016-09-01", "2023-08-31")) == 0
    doc = manifest.verify(raw)
    assert doc["window"] == {"start": "2016-09-01", "end": "2023-08-31"} and doc["synthetic"] is True
    assert doc["seed"] == synth.DEFAULT_SEED  # other fields kept
    assert commands.main_refresh(raw, window=("2016-09-01", "2015-01-01")) == 1
    assert "ends (2015-01-01) before it starts" in capsys.readouterr().err


def test_rr_manifest_needs_the_flag_without_a_manifest(raw):
    (raw / "MANIFEST").unlink()
    with pytest.raises(manifest.ManifestError, match="synthetic"):
        manifest.refresh(raw)
    manifest.refresh(raw, synthetic=False)
    assert manifest.verify(raw)["synthetic"] is False
