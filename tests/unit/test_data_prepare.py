"""prepare(): validated raw tables -> Parquet, atomically, with a stamp; load() for notebooks."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import rrlib.data as data
from rrlib import commands, manifest, synth
from rrlib.io import sha256_file


@pytest.fixture(scope="module")
def edu_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("edu") / "raw"
    synth.generate(d, seed=9, scale=0.02, domains=["education"])
    return d


@pytest.fixture(autouse=True)
def education_only(monkeypatch):
    monkeypatch.setattr(data, "DOMAINS", ("education",))


def hashes(d: Path) -> dict:
    return {p.name: sha256_file(p) for p in sorted(d.iterdir()) if p.is_file()}


def test_prepare_writes_tables_and_stamp(edu_dir, tmp_path):
    raw_before = hashes(edu_dir)
    out = data.prepare(edu_dir, tmp_path / "processed")
    assert set(out) == {"schools", "pupils", "exclusions", "school_attendance", "population"}
    assert all(p.exists() and p.suffix == ".parquet" for p in out.values())
    stamp = json.loads((tmp_path / "processed" / data.STAMP_NAME).read_text())
    assert stamp["synthetic"] is True
    assert stamp["manifest"]["sha256"] == sha256_file(edu_dir / "MANIFEST")
    assert stamp["manifest"]["files"] == manifest.read(edu_dir)["files"]
    assert stamp["raw_files"]["pupils.csv.gz"] == raw_before["pupils.csv.gz"]
    assert stamp["tables"]["pupils"]["rows"] == len(data.load("pupils", tmp_path / "processed"))
    assert hashes(edu_dir) == raw_before  # raw never modified
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # temp folder removed


def test_processed_education_tables(edu_dir, tmp_path):
    data.prepare(edu_dir, tmp_path / "p")
    pupils = data.load("pupils", tmp_path / "p")
    assert {"phase", "age", "in_dfe_total"} <= set(pupils.columns)
    assert (pupils["age"] == pupils["nc_year"] + 4).all()
    assert (~pupils["in_dfe_total"] == (pupils["phase"] == "alternative_provision")).all()
    exc = data.load("exclusions", tmp_path / "p")
    assert {"phase", "in_dfe_total", "term", "nc_year", "fsm", "sen_provision"} <= set(exc.columns)
    assert exc["nc_year"].notna().all()  # every exclusion's pupil is in that year's census
    att = data.load("school_attendance", tmp_path / "p")
    assert (att["absent_sessions"] == att["possible_sessions"] - att["attended_sessions"]).all()
    raw = data.validate(edu_dir)
    pd.testing.assert_frame_equal(data.load("population", tmp_path / "p"), raw["population"])


def test_prepare_is_deterministic_and_replaces_stale_tables(edu_dir, tmp_path):
    p = tmp_path / "processed"
    data.prepare(edu_dir, p)
    first = hashes(p)
    (p / "old_table.parquet").write_bytes(b"stale")
    (p / ".gitkeep").write_text("")
    data.prepare(edu_dir, p)
    second = hashes(p)
    assert "old_table.parquet" not in second  # tables no longer produced are removed
    assert ".gitkeep" in second  # other files are left alone
    second.pop(".gitkeep")
    assert second == first


def test_prepare_refuses_to_write_into_the_raw_folder(edu_dir):
    with pytest.raises(data.DataValidationError, match="raw data folders are never written"):
        data.prepare(edu_dir, edu_dir / "processed")


def test_domain_prepare_failure_leaves_nothing(edu_dir, tmp_path, monkeypatch):
    import rrlib.data.education as edu

    def broken(raw):
        raise RuntimeError("boom")

    monkeypatch.setattr(edu, "prepare", broken)
    with pytest.raises(RuntimeError, match="boom"):
        data.prepare(edu_dir, tmp_path / "processed")
    assert not (tmp_path / "processed").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_load_errors_are_helpful(tmp_path):
    with pytest.raises(FileNotFoundError, match="rr prepare"):
        data.load("pupils", tmp_path)


def test_main_prepare_prints_progress(edu_dir, tmp_path, capsys):
    assert commands.main_prepare(edu_dir, tmp_path / "processed") == 0
    out = capsys.readouterr().out
    assert "pupils.csv.gz" in out and "rows" in out and "ok: 5 processed tables" in out
    assert "checksums: 5 files match the MANIFEST (synthetic: True)" in out
    d = tmp_path / "raw"
    shutil.copytree(edu_dir, d)
    (d / "MANIFEST").unlink()
    assert commands.main_prepare(d, tmp_path / "p2") == 0
    assert "checksums not verified, data treated as real" in capsys.readouterr().out


def test_folder_without_manifest_is_not_known_synthetic(edu_dir, tmp_path):
    d = tmp_path / "raw"
    shutil.copytree(edu_dir, d)
    (d / "MANIFEST").unlink()
    data.prepare(d, tmp_path / "processed")
    stamp = json.loads((tmp_path / "processed" / data.STAMP_NAME).read_text())
    assert stamp["synthetic"] is None and stamp["manifest"] is None


@pytest.fixture(scope="module")
def all_dir(shipped_small) -> Path:
    """A folder of every domain: the suite's small synthetic folder (read only here)."""
    return shipped_small


def test_streamed_outputs_equal_the_all_at_once_outputs(all_dir, monkeypatch):
    """prepare holds one domain at a time; what it writes is what every table at once gives."""
    from rrlib.data.prepare import _outputs, iter_outputs

    monkeypatch.setattr(data, "DOMAINS", ("education", "targeted", "programme", "wmf", "health"))
    streamed = dict(iter_outputs(all_dir))
    at_once = _outputs(data.validate(all_dir))
    assert list(streamed) == list(at_once)
    for name in at_once:
        pd.testing.assert_frame_equal(streamed[name].reset_index(drop=True),
                                      at_once[name].reset_index(drop=True), obj=name)


def test_a_domain_sees_earlier_domains_as_key_columns_only(all_dir, monkeypatch):
    from rrlib.data import programme
    from rrlib.data.prepare import iter_outputs

    monkeypatch.setattr(data, "DOMAINS", ("education", "targeted", "programme"))
    seen = {}
    real = programme.prepare

    def spy(raw):
        seen.update({n: list(df.columns) for n, df in raw.items()})
        return real(raw)

    monkeypatch.setattr(programme, "prepare", spy)
    dict(iter_outputs(all_dir))
    assert seen["pupils"] == ["pupil_id"] and seen["schools"] == ["school_id"]
    assert len(seen["activities"]) > 2  # its own tables in full


def test_check_holds_no_tables_and_finds_the_same_problems(all_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DOMAINS", ("education", "targeted", "programme", "wmf", "health"))
    rows = data.check(all_dir)
    assert rows == {n: len(df) for n, df in data.validate(all_dir).items()}
    bad = tmp_path / "bad"
    shutil.copytree(all_dir, bad)
    goals = pd.read_csv(bad / "goals.csv.gz", dtype=str, keep_default_na=False)
    goals.loc[0, "person_id"] = "P9999999"
    goals.to_csv(bad / "goals.csv.gz", index=False)
    with pytest.raises(data.DataValidationError) as a:
        data.check(bad)
    with pytest.raises(data.DataValidationError) as b:
        data.validate(bad)
    assert str(a.value) == str(b.value)
    assert "goals.csv.gz, column 'person_id': rule 'foreign key person_id -> pupils.pupil_id'" in str(a.value)


def test_take_rows_keeps_dtypes_and_fills_minus_one_with_missing():
    from rrlib.data import school_phase, take_rows

    df = pd.DataFrame({"s": ["a", "b", "c"], "n": pd.array([1, None, 3], dtype="Int8"),
                       "d": pd.to_datetime(["2016-09-01", "2017-01-02", "2018-03-04"]), "f": [0.5, 1.5, 2.5]})
    got = take_rows(df, [2, 0])
    pd.testing.assert_frame_equal(got, df.iloc[[2, 0]].reset_index(drop=True))
    filled = take_rows(df[["s", "d", "n"]], [1, -1])
    assert filled["s"].isna().tolist() == [False, True] and pd.isna(filled["d"].iloc[1])
    assert str(filled["n"].dtype) == "Int8" and filled["n"].isna().all()
    schools = pd.DataFrame({"school_id": ["S001", "S002"], "phase": ["primary", "secondary"]})
    ph = school_phase(pd.Series(["S002", "S009", "S001"]), schools)
    assert ph[0] == "secondary" and pd.isna(ph[1]) and ph[2] == "primary"
    with pytest.raises(ValueError, match="school_id is not unique"):
        school_phase(pd.Series(["S001"]), pd.concat([schools, schools]))
