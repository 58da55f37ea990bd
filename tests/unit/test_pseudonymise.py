"""Pseudonymisation of real extracts: keyed HMAC-SHA256, key only from the environment."""
from __future__ import annotations

import gzip
import hashlib
import hmac

import pandas as pd
import pytest

from rrlib import commands
from rrlib import pseudonymise as ps

KEY = "k" * 40


@pytest.fixture
def extract(tmp_path):
    f = tmp_path / "exclusions.csv"
    f.write_text("pupil_id,school_id,reason_code,note\n"
                 "P0000001,S001,PD,\n"
                 "P0000002,S001,VA,x\n"
                 "P0000001,S002,PD,NA\n"
                 ",S003,OT,\n", encoding="utf-8")
    return f


def test_refuses_without_key(extract, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(ps.KEY_ENV, raising=False)
    with pytest.raises(ps.PseudonymiseError, match=ps.KEY_ENV):
        ps.pseudonymise_file(extract, tmp_path / "out.csv", ["pupil_id"])
    assert commands.main_pseudonymise(extract, tmp_path / "out.csv", ["pupil_id"]) == 1
    err = capsys.readouterr().err
    assert ps.KEY_ENV in err and "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()


def test_refuses_short_key(monkeypatch):
    monkeypatch.setenv(ps.KEY_ENV, "short")
    with pytest.raises(ps.PseudonymiseError, match="too short"):
        ps.get_key()


def test_pseudonym_is_keyed_hmac_sha256():
    key = KEY.encode()
    expected = int.from_bytes(hmac.new(key, b"P0000001", hashlib.sha256).digest()[:8], "big") % 10 ** 16
    assert ps.pseudonym("P0000001", key) == f"P{expected:016d}"
    assert ps.pseudonym("P0000001", key) != ps.pseudonym("P0000001", b"another key of 16+ bytes")
    assert ps.pseudonym("P0000001", key, keep_prefix=False).isdigit()


def test_file_is_pseudonymised_consistently(extract, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ps.KEY_ENV, KEY)
    before = extract.read_bytes()
    out = tmp_path / "out.csv.gz"
    assert commands.main_pseudonymise(extract, out, ["pupil_id", "school_id"]) == 0
    printed = capsys.readouterr()
    assert KEY not in printed.out + printed.err  # the key is never printed
    assert extract.read_bytes() == before  # input unchanged
    raw = out.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"
    assert KEY.encode() not in gzip.decompress(raw)
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns) == ["pupil_id", "school_id", "reason_code", "note"]
    assert df.pupil_id[0] == df.pupil_id[2] != df.pupil_id[1]  # same id, same pseudonym
    assert df.pupil_id[3] == ""  # empty stays empty
    assert df.pupil_id.str.match(r"^(P\d{16})?$").all() and df.school_id.str.match(r"^S\d{16}$").all()
    assert "P0000001" not in gzip.decompress(raw).decode()
    assert df.reason_code.tolist() == ["PD", "VA", "PD", "OT"] and df.note.tolist() == ["", "x", "NA", ""]
    # the same key on another file gives the same pseudonyms (tables still join)
    other = tmp_path / "pupils.csv"
    other.write_text("pupil_id\nP0000002\n", encoding="utf-8")
    ps.pseudonymise_file(other, tmp_path / "pupils_out.csv", "pupil_id")
    assert pd.read_csv(tmp_path / "pupils_out.csv", dtype=str).pupil_id[0] == df.pupil_id[1]


def test_bad_inputs(extract, tmp_path, monkeypatch):
    monkeypatch.setenv(ps.KEY_ENV, KEY)
    with pytest.raises(ps.PseudonymiseError, match="columns not in the file: nhs_number"):
        ps.pseudonymise_file(extract, tmp_path / "o.csv", ["nhs_number"])
    with pytest.raises(ps.PseudonymiseError, match="never modified"):
        ps.pseudonymise_file(extract, extract, ["pupil_id"])
    latin = tmp_path / "latin.csv"
    latin.write_bytes("pupil_id\nP\u00e41\n".encode("latin-1"))
    with pytest.raises(ps.PseudonymiseError, match="UTF-8 encoding"):
        ps.pseudonymise_file(latin, tmp_path / "o.csv", ["pupil_id"])
    assert not (tmp_path / "o.csv").exists()


def test_collisions_stop_the_run(monkeypatch):
    monkeypatch.setattr(ps, "pseudonym", lambda value, key, keep_prefix=True: "P1")
    with pytest.raises(ps.PseudonymiseError, match="collision"):
        ps.pseudonymise_series(pd.Series(["P1", "P2"], name="pupil_id"), b"x" * 16)


def test_a_pseudonymised_folder_still_meets_the_data_contract(tmp_path):
    """What a researcher does with a real extract: pseudonymise every person identifier in every table
    (with one key), then validate. The id rules of every domain must accept the pseudonyms."""
    from rrlib import data, synth
    from rrlib.pseudonymise import pseudonymise_file

    raw, pseud = tmp_path / "raw", tmp_path / "pseudonymised"
    synth.generate(raw, seed=3, scale=0.25)  # at 0.2 seed 3 has too few looked-after pupils for A18/A19
    person_columns = {"pupils": ["pupil_id"], "exclusions": ["pupil_id"], "school_attendance": ["pupil_id"],
                      "interventions": ["person_id"], "sdq_targeted": ["person_id"], "goals": ["person_id"],
                      "attendance": ["person_id"], "ed_attendances": ["person_id"],
                      "admissions": ["person_id"], "selfharm_support": ["person_id"]}
    key = b"a test key that is long enough"
    pseud.mkdir()
    for f in sorted(raw.glob("*.csv.gz")):
        table = f.name.removesuffix(".csv.gz")
        if table in person_columns:
            pseudonymise_file(f, pseud / f.name, person_columns[table], key=key)
        else:
            (pseud / f.name).write_bytes(f.read_bytes())
    tables = data.validate(pseud)
    assert tables["pupils"]["pupil_id"].str.len().min() > 8  # really replaced by long pseudonyms
    assert set(tables["interventions"]["person_id"]) <= set(tables["pupils"]["pupil_id"])
