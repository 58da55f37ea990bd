"""The data contract: every kind of bad input gets a clear error naming file, column, rule and rows;
nothing is written to the processed folder and raw files are never modified."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

import rrlib.data as data
from rrlib import commands, synth
from rrlib.io import sha256_file

EDU = ["schools", "pupils", "exclusions", "school_attendance", "population"]


@pytest.fixture(scope="module")
def edu_dir(tmp_path_factory) -> Path:
    """A small synthetic education folder (scale 0.02), generated once per module."""
    d = tmp_path_factory.mktemp("edu") / "raw"
    synth.generate(d, seed=5, scale=0.02, domains=["education"])
    return d


@pytest.fixture
def education_only(monkeypatch):
    """Register only the education domain (other domains are tested by their owners)."""
    monkeypatch.setattr(data, "DOMAINS", ("education",))


@pytest.fixture
def raw(edu_dir, tmp_path, education_only) -> Path:
    """A writable copy of the folder, without its MANIFEST (we edit files on purpose)."""
    d = tmp_path / "raw"
    shutil.copytree(edu_dir, d)
    (d / "MANIFEST").unlink()
    return d


def read(d: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(d / f"{name}.csv.gz", dtype=str, keep_default_na=False)


def write(d: Path, name: str, df: pd.DataFrame) -> None:
    (d / f"{name}.csv.gz").write_bytes(gzip.compress(df.to_csv(index=False).encode("utf-8")))


def hashes(d: Path) -> dict:
    return {p.name: sha256_file(p) for p in sorted(d.iterdir())}


# --------------------------------------------------------------------------- good data

def test_valid_folder_passes_with_typed_columns(raw):
    frames = data.validate(raw)
    assert list(frames) == EDU
    pupils = frames["pupils"]
    assert pupils["fsm"].dtype == bool and pupils["looked_after"].dtype == bool
    assert pupils["nc_year"].dtype == "int64"
    exc = frames["exclusions"]
    assert str(exc["exclusion_date"].dtype).startswith("datetime64")
    assert str(exc["sessions"].dtype) == "Int64"
    assert exc.loc[exc["category"] == "permanent", "sessions"].isna().all()
    assert frames["schools"]["close_date"].isna().any()


def test_read_raw_types_one_table(raw):
    df = data.read_raw(raw, "school_attendance")
    assert list(df.columns) == data.tables()["school_attendance"].column_names
    assert df["possible_sessions"].dtype == "int64"


def test_plain_csv_is_accepted(raw):
    text = gzip.decompress((raw / "population.csv.gz").read_bytes())
    (raw / "population.csv.gz").unlink()
    (raw / "population.csv").write_bytes(text)
    assert len(data.validate(raw)["population"]) == 450


# --------------------------------------------------------------------------- bad data

def _missing_file(d):
    (d / "pupils.csv.gz").unlink()  # required (only schools and pupils are)


def _missing_column(d):
    write(d, "pupils", read(d, "pupils").drop(columns=["sex"]))


def _wrong_type(d):
    df = read(d, "pupils")
    df.loc[3, "nc_year"] = "seven"
    write(d, "pupils", df)


def _wrong_date(d):
    df = read(d, "exclusions")
    df.loc[2, "exclusion_date"] = "03/02/2019"
    write(d, "exclusions", df)


def _unknown_code(d):
    df = read(d, "exclusions")
    df.loc[4, "reason_code"] = "XX"
    write(d, "exclusions", df)


def _out_of_range(d):
    df = read(d, "school_attendance")
    df.loc[5, "possible_sessions"] = "999"
    write(d, "school_attendance", df)


def _duplicate_id(d):
    df = read(d, "schools")
    write(d, "schools", pd.concat([df, df.iloc[[0]]], ignore_index=True))


def _duplicate_key(d):
    df = read(d, "pupils")
    write(d, "pupils", pd.concat([df, df.iloc[[10]]], ignore_index=True))


def _unknown_pupil(d):
    df = read(d, "exclusions")
    df.loc[6, "pupil_id"] = "P9999999"
    write(d, "exclusions", df)


def _empty_file(d):
    (d / "population.csv.gz").write_bytes(gzip.compress(b""))


def _header_only(d):
    write(d, "population", read(d, "population").iloc[:0])


def _not_utf8(d):
    df = read(d, "schools")
    text = df.to_csv(index=False).replace(df.loc[1, "school_name"], "Synthetic Prim\u00e4ry")
    (d / "schools.csv.gz").unlink()
    (d / "schools.csv").write_bytes(text.encode("latin-1"))


def _both_files(d):
    (d / "population.csv").write_bytes(gzip.decompress((d / "population.csv.gz").read_bytes()))


def _inconsistent_rows(d):
    df = read(d, "pupils")
    i = df.index[df["sen_provision"] == "none"][0]
    df.loc[i, "sen_primary_need"] = "SEMH"
    write(d, "pupils", df)


def _missing_value(d):
    df = read(d, "pupils")
    df.loc[8, "fsm"] = ""
    write(d, "pupils", df)


def _ragged_row(d):
    text = gzip.decompress((d / "population.csv.gz").read_bytes()).decode()
    lines = text.splitlines()
    lines[3] += ",extra,fields"
    (d / "population.csv.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))


def _not_gzip(d):
    (d / "schools.csv.gz").write_bytes(b"school_id,school_name\nS001,x\n")


CASES = {
    # case: (mutation, strings the message must contain)
    "missing file": (_missing_file, ["pupils.csv.gz", "file present", "missing"]),
    "missing column": (_missing_column, ["pupils.csv.gz", "column 'sex'", "column present"]),
    "wrong type": (_wrong_type, ["pupils.csv.gz", "column 'nc_year'", "type integer", "line 5 'seven'"]),
    "wrong date": (_wrong_date, ["exclusions.csv.gz", "column 'exclusion_date'", "type date", "line 4 '03/02/2019'"]),
    "unknown code": (_unknown_code, ["exclusions.csv.gz", "column 'reason_code'", "isin", "line 6 'XX'"]),
    "out of range": (_out_of_range, ["school_attendance.csv.gz", "column 'possible_sessions'", "in_range(0, 200)",
                                     "line 7 999"]),
    "duplicate id": (_duplicate_id, ["schools.csv.gz", "column 'school_id'", "duplicate"]),
    "duplicate key": (_duplicate_key, ["pupils.csv.gz", "unique key (pupil_id, academic_year)", "duplicate"]),
    "exclusion for a pupil not in the census": (
        _unknown_pupil, ["exclusions.csv.gz", "column 'pupil_id'", "foreign key pupil_id -> pupils.pupil_id",
                         "line 8 'P9999999'"]),
    "empty file": (_empty_file, ["population.csv.gz", "not empty", "empty"]),
    "header only": (_header_only, ["population.csv.gz", "not empty", "no data rows"]),
    "not UTF-8": (_not_utf8, ["schools.csv", "UTF-8 encoding", "line 3"]),
    "two files for one table": (_both_files, ["population.csv", "one file per table"]),
    "inconsistent row": (_inconsistent_rows, ["pupils.csv.gz", "sen_primary_need_iff_sen_provision"]),
    "ragged row": (_ragged_row, ["population.csv.gz", "same number of fields", "line 4: 7 fields, the header has 5"]),
    "not gzip": (_not_gzip, ["schools.csv.gz", "gzip format"]),
    "missing value": (_missing_value, ["pupils.csv.gz", "column 'fsm'", "not_nullable", "line 10"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_reported_and_nothing_written(case, raw, tmp_path):
    mutate, expected = CASES[case]
    mutate(raw)
    before = hashes(raw)
    processed = tmp_path / "processed"
    with pytest.raises(data.DataValidationError) as info:
        data.prepare(raw, processed)
    msg = str(info.value)
    for s in expected:
        assert s in msg, f"{case}: {s!r} not in message:\n{msg}"
    assert str(raw) in msg  # names the data folder
    assert not processed.exists() or not any(processed.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".processed")]  # no temp folders left
    assert hashes(raw) == before  # raw files untouched
    # validate raises the same
    with pytest.raises(data.DataValidationError):
        data.validate(raw)


def test_all_problems_reported_at_once(raw):
    _unknown_code(raw)
    _out_of_range(raw)
    _unknown_pupil(raw)
    with pytest.raises(data.DataValidationError) as info:
        data.validate(raw)
    rules = [p.rule for p in info.value.problems]
    assert len(info.value.problems) == 3, rules
    assert "3 problems" in str(info.value)


def test_many_offending_rows_are_summarised(raw):
    df = read(raw, "pupils")
    df.loc[:, "sex"] = "X"
    write(raw, "pupils", df)
    with pytest.raises(data.DataValidationError) as info:
        data.validate(raw)
    (p,) = [p for p in info.value.problems if p.column == "sex"]
    assert p.count == len(df)
    assert f"{len(df)} offending rows, first: line 2 'X'" in str(info.value)
    assert str(info.value).count("'X'") == 5  # only the first few rows are shown


def test_failed_prepare_keeps_previous_processed_tables(raw, tmp_path):
    processed = tmp_path / "processed"
    data.prepare(raw, processed)
    before = hashes(processed)
    _unknown_code(raw)
    with pytest.raises(data.DataValidationError):
        data.prepare(raw, processed)
    assert hashes(processed) == before


def test_main_validate_exit_codes(raw, capsys):
    assert commands.main_validate(raw) == 0
    out = capsys.readouterr().out
    assert "pupils.csv.gz" in out and "rows" in out and "ok:" in out
    _unknown_pupil(raw)
    assert commands.main_validate(raw) == 1
    captured = capsys.readouterr()
    assert "P9999999" in captured.err and "Traceback" not in captured.err


def test_manifest_mismatch_is_reported(edu_dir, tmp_path, education_only, capsys):
    d = tmp_path / "raw"
    shutil.copytree(edu_dir, d)
    _unknown_code(d)  # edited without updating the MANIFEST
    assert commands.main_prepare(d, tmp_path / "processed") == 1
    err = capsys.readouterr().err
    assert "MANIFEST" in err and "exclusions.csv.gz" in err and "Traceback" not in err
    assert not (tmp_path / "processed").exists()


def test_missing_folder(tmp_path, education_only):
    with pytest.raises(data.DataValidationError, match="no such folder"):
        data.validate(tmp_path / "nowhere")


def test_narrow_integer_columns_are_read_narrow_and_range_checked(tmp_path):
    """A column declared Int8 / int16 is held as such (memory at national scale); a value that
    does not fit the type is a type error naming the range, never a wrapped-around number."""
    import pandera.pandas as pa

    t = data.Table(name="tiny", schema=pa.DataFrameSchema({
        "x": pa.Column("Int8", nullable=True), "y": pa.Column("int16")}),
        description="", source="", columns={"x": "", "y": ""})
    (tmp_path / "tiny.csv").write_text("x,y\n1,300\n,-2\n-128,7\n", encoding="utf-8")
    df = data.read_raw(tmp_path, t)
    assert str(df["x"].dtype) == "Int8" and str(df["y"].dtype) == "int16"
    assert df["x"].tolist()[::2] == [1, -128] and df["x"].isna().tolist() == [False, True, False]
    assert df["y"].tolist() == [300, -2, 7]
    (tmp_path / "tiny.csv").write_text("x,y\n1,300\n200,-2\n3,40000\n", encoding="utf-8")
    with pytest.raises(data.DataValidationError) as exc:
        data.read_raw(tmp_path, t)
    msg = str(exc.value)
    assert "tiny.csv, column 'x': rule 'type integer (-128 to 127)'; 1 offending row, first: line 3 '200'" in msg
    assert "column 'y': rule 'type integer (-32768 to 32767)'; 1 offending row, first: line 4 '40000'" in msg


def test_typed_arrow_reader_gives_what_the_rules_give_on_every_shipped_table():
    """The fastest reader (Arrow parses each column to its type) must type every shipped table
    exactly as the rule-by-rule reader does, and must step aside (None) on anything unusual."""
    import importlib

    V = importlib.import_module("rrlib.data.reader")
    from rrlib import paths

    for name, t in data.tables().items():
        path = data.find_file(paths.DEFAULT_DATA_DIR, name)
        if path is None:
            continue
        raw, problems = V.decode(path)
        assert not problems
        typed = V._read_arrow_typed(raw, t)
        assert typed is not None, name
        by_rule, problems = V._read_arrow(raw, t, path.name)
        assert not problems
        pd.testing.assert_frame_equal(typed, by_rule, obj=name)
    t = data.tables()["schools"]
    good = (paths.DEFAULT_DATA_DIR / "schools.csv.gz")
    text = gzip.decompress(good.read_bytes()).decode()
    header, first, rest = text.split("\n", 2)
    for variant in (text.replace(",", ", ", 1),              # a space after a comma
                    header + "\n" + first.replace("-", "/", 1) + "\n" + rest,  # another date form
                    header + "\n"):                            # no rows
        assert V._read_arrow_typed(variant.encode(), t) is None
    import pandera.pandas as pa

    hexa = data.Table(name="h", schema=pa.DataFrameSchema({"n": pa.Column("int64")}),
                      description="", source="", columns={"n": ""})
    assert V._read_arrow_typed(b"n\n0x1F\n", hexa) is None  # Arrow would read 31


@pytest.mark.parametrize("shift", ["lost field", "extra field"])
def test_row_shape_is_the_only_problem_of_its_file(raw, shift):
    """A row that lost an empty field (values shift left) or has one too many is refused with
    one problem naming the file and the line, in every reader path: a file with another bad
    value too (which the fast typed reader refuses, so the rule-by-rule readers read it) reports
    the row shape only, not the shifted values or a spurious index column (issue 15)."""
    text = gzip.decompress((raw / "schools.csv.gz").read_bytes()).decode()
    lines = text.split("\n")
    n = lines[0].count(",") + 1
    i = next(k for k, line in enumerate(lines[1:], start=1) if ",," in line)
    lines[i] = lines[i].replace(",,", ",", 1) if shift == "lost field" else lines[i] + ",x"
    lines[i + 1] = lines[i + 1].replace("primary", "college", 1)  # a bad value as well
    (raw / "schools.csv.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    with pytest.raises(data.DataValidationError) as info:
        data.validate(raw)
    mine = [p for p in info.value.problems if p.file == "schools.csv.gz"]
    assert len(mine) == 1, [p.format() for p in mine]
    got = n - 1 if shift == "lost field" else n + 1
    assert mine[0].rule == "same number of fields in every row"
    assert f"line {i + 1}: {got} fields, the header has {n}" in mine[0].format()
