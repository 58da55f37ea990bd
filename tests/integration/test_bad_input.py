"""Bad-input battery (issue 15): every way a raw folder can be broken is refused with a message
naming the file, the column (or line) and the rule; no traceback; raw files unchanged (sha256
before and after); a processed folder prepared before from good data left exactly as it was.
The accepted variants (CRLF, UTF-8 byte-order mark, non-ASCII UTF-8) prepare.

Cases are built from one small synthetic folder: the census and population tables of the shipped seed at
scale 0.2 (the suite's shared ``shipped_small``), with a MANIFEST of their own. Every case breaks one of those
tables, and the census tables are the only ones a data folder must have, so the optional tables (nine tenths
of the folder's bytes, checked in ``unit/test_data_contract.py`` and the variants) would only make each case
validate them again: about a second per case. The cases are validated in process (:func:`rrlib.data.prepare`);
a few run ``rr validate`` / ``rr prepare`` as a subprocess for the exit code.
"""
from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rrlib import data, manifest
from rrlib.io import sha256_file


def _tree(d: Path) -> dict[str, str]:
    return {p.relative_to(d).as_posix(): sha256_file(p) for p in sorted(d.rglob("*")) if p.is_file()}


#: the tables of the battery's folder: the required census tables and the population estimates
TABLES = ("schools", "pupils", "population")


@pytest.fixture(scope="module")
def good(tmp_path_factory, shipped_small):
    root = tmp_path_factory.mktemp("bad-input")
    raw = root / "raw"
    raw.mkdir()
    for t in TABLES:
        shutil.copy2(shipped_small / f"{t}.csv.gz", raw)
    doc = manifest.read(shipped_small)
    manifest.write(raw, synthetic=True, description=f"the {', '.join(TABLES)} tables of {shipped_small.name}",
                   seed=doc.get("seed"), scale=doc.get("scale"))
    processed = root / "processed"
    data.prepare(raw, processed)
    return raw, processed


def read(raw: Path, table: str) -> str:
    return gzip.decompress((raw / f"{table}.csv.gz").read_bytes()).decode("utf-8")


def write(raw: Path, table: str, text: str | bytes) -> None:
    b = text.encode("utf-8") if isinstance(text, str) else text
    (raw / f"{table}.csv.gz").write_bytes(gzip.compress(b, mtime=0))


def edit_row(raw, table, i, fn):
    """Apply ``fn`` to data row ``i`` (1 = first data row) of ``table``."""
    lines = read(raw, table).split("\n")
    lines[i] = fn(lines[i])
    write(raw, table, "\n".join(lines))


def set_field(raw, table, column, value, row=1):
    lines = read(raw, table).split("\n")
    j = lines[0].split(",").index(column)
    f = lines[row].split(",")
    f[j] = value
    lines[row] = ",".join(f)
    write(raw, table, "\n".join(lines))


def header_edit(raw, table, fn):
    lines = read(raw, table).split("\n")
    rows = [fn(line.split(",")) for line in lines if line]
    write(raw, table, "\n".join(",".join(r) for r in rows) + "\n")


# case: (mutate(raw), expected exit code, strings the message must contain)
CASES = {
    "missing file": (lambda r: (r / "schools.csv.gz").unlink(), 1, ["schools.csv.gz", "file present"]),
    "duplicate file (.csv and .csv.gz)": (
        lambda r: (r / "schools.csv").write_text(read(r, "schools")), 1, ["schools.csv", "one file per table"]),
    "extra column": (lambda r: header_edit(r, "schools", lambda f: f + ["extra" if f[0] == "school_id" else "1"]),
                     1, ["schools.csv.gz", "'extra'", "no unexpected columns"]),
    "missing column": (lambda r: header_edit(r, "schools", lambda f: [f[0]] + f[2:]), 1,
                       ["schools.csv.gz", "'school_name'", "column present"]),
    "duplicate column": (lambda r: header_edit(r, "schools", lambda f: f + [f[2]]), 1,
                         ["schools.csv.gz", "'phase'", "column names unique"]),
    "wrong type (text in integer)": (lambda r: set_field(r, "pupils", "birth_year", "abc"), 1,
                                     ["pupils.csv.gz", "'birth_year'", "type integer", "line 2"]),
    "wrong type (decimal in integer)": (lambda r: set_field(r, "population", "population", "12.5"), 1,
                                        ["population.csv.gz", "'population'", "type integer"]),
    "out of range": (lambda r: set_field(r, "pupils", "nc_year", "99"), 1, ["pupils.csv.gz", "'nc_year'"]),
    "negative count": (lambda r: set_field(r, "population", "population", "-5"), 1,
                       ["population.csv.gz", "'population'"]),
    "disallowed value": (lambda r: set_field(r, "pupils", "sex", "X"), 1, ["pupils.csv.gz", "'sex'", "isin"]),
    "disallowed phase": (lambda r: set_field(r, "schools", "phase", "college"), 1,
                         ["schools.csv.gz", "'phase'", "isin"]),
    "duplicate key": (lambda r: edit_row(r, "schools", 2, lambda line: read(r, "schools").split("\n")[1]), 1,
                      ["schools.csv.gz", "school_id", "unique"]),
    "dangling key": (lambda r: set_field(r, "pupils", "school_id", "S999"), 1,
                     ["pupils.csv.gz", "'school_id'", "foreign key school_id -> schools.school_id"]),
    "malformed date": (lambda r: set_field(r, "schools", "open_date", "2000/09/01"), 1,
                       ["schools.csv.gz", "'open_date'", "type date"]),
    "impossible date": (lambda r: set_field(r, "schools", "open_date", "2020-02-30"), 1,
                        ["schools.csv.gz", "'open_date'", "type date"]),
    "Latin-1 text": (lambda r: write(r, "schools", read(r, "schools").replace("Synthetic", "Synth\xe9tic", 1)
                                     .encode("latin-1")), 1, ["schools.csv.gz", "UTF-8 encoding", "line 2"]),
    "NUL byte": (lambda r: write(r, "schools", read(r, "schools").replace("Synthetic", "Synth\0etic", 1)), 1,
                 ["schools.csv.gz", "NUL", "line 2"]),
    "empty file": (lambda r: write(r, "schools", b""), 1, ["schools.csv.gz", "not empty"]),
    "header only": (lambda r: write(r, "schools", read(r, "schools").split("\n")[0] + "\n"), 1,
                    ["schools.csv.gz", "not empty", "no data rows"]),
    "truncated gzip": (lambda r: (r / "schools.csv.gz").write_bytes((r / "schools.csv.gz").read_bytes()[:-20]),
                       1, ["schools.csv.gz", "gzip format"]),
    "plain text named .gz": (lambda r: (r / "schools.csv.gz").write_bytes(read(r, "schools").encode()), 1,
                             ["schools.csv.gz", "gzip format"]),
    "unclosed quote": (lambda r: edit_row(r, "schools", 1, lambda line: line.replace("Synthetic", '"Synthetic', 1)),
                       1, ["schools.csv.gz", "line 2"]),
    "short row (a lost empty field)": (lambda r: edit_row(r, "schools", 1, lambda line: line.replace(",,", ",", 1)),
                                       1, ["schools.csv.gz", "line 2: 6 fields, the header has 7",
                                           "same number of fields"]),
    "long row": (lambda r: edit_row(r, "schools", 3, lambda line: line + ",x"), 1,
                 ["schools.csv.gz", "line 4: 8 fields, the header has 7", "same number of fields"]),
    "wrong separator": (lambda r: write(r, "schools", read(r, "schools").replace(",", ";")), 1,
                        ["schools.csv.gz", "column present", "'school_id'"]),
    "'nan' in a non-nullable column": (lambda r: set_field(r, "pupils", "fsm", "nan"), 1,
                                       ["pupils.csv.gz", "'fsm'", "type boolean"]),
    "'NULL' in a non-nullable column": (lambda r: set_field(r, "pupils", "birth_year", "NULL"), 1,
                                        ["pupils.csv.gz", "'birth_year'", "type integer"]),
    "empty cell in a non-nullable column": (lambda r: set_field(r, "pupils", "sex", ""), 1,
                                            ["pupils.csv.gz", "'sex'", "not_nullable"]),
    "padded id": (lambda r: set_field(r, "pupils", "school_id", " S001"), 1,
                  ["pupils.csv.gz", "'school_id'"]),
    "wrong MANIFEST sum": (lambda r: (r / manifest.MANIFEST_NAME).write_text(
        (r / manifest.MANIFEST_NAME).read_text().replace(sha256_file(r / "schools.csv.gz"), "0" * 64)),
        1, ["schools.csv.gz", "sha256"]),
    # accepted
    "CRLF line endings (accepted)": (lambda r: write(r, "schools", read(r, "schools").replace("\n", "\r\n")), 0, []),
    "UTF-8 byte-order mark (accepted)": (lambda r: write(r, "schools", "\ufeff" + read(r, "schools")), 0, []),
    "non-ASCII UTF-8 (accepted)": (lambda r: write(r, "schools", read(r, "schools").replace(
        "Synthetic Primary", "Ysgol Gynradd Łódź é", 1)), 0, []),
}
#: cases that keep the MANIFEST (the others drop it: their edits would fail the checksums first)
KEEP_MANIFEST = {"wrong MANIFEST sum"}
#: cases also run as ``rr prepare`` in a subprocess, for the exit code and the absence of a traceback
SUBPROCESS = {"short row (a lost empty field)", "truncated gzip", "wrong MANIFEST sum",
              "CRLF line endings (accepted)"}

RESULTS: dict[str, tuple[int, str]] = {}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case, good, tmp_path):
    src, processed0 = good
    raw = tmp_path / "raw"
    shutil.copytree(src, raw)
    processed = tmp_path / "processed"
    shutil.copytree(processed0, processed)
    if case not in KEEP_MANIFEST:
        (raw / manifest.MANIFEST_NAME).unlink()
    mutate, code, expected = CASES[case]
    mutate(raw)
    raw_before, proc_before = _tree(raw), _tree(processed)
    if case in SUBPROCESS:
        r = subprocess.run([sys.executable, "-m", "rrlib", "prepare", str(raw), "--processed", str(processed)],
                           capture_output=True, text=True, timeout=600)
        rc, msg = r.returncode, r.stdout + r.stderr
        assert "Traceback" not in msg, msg
    else:
        try:
            data.prepare(raw, processed)
            rc, msg = 0, ""
        except (data.DataValidationError, manifest.ManifestError) as exc:
            rc, msg = 1, str(exc)
    RESULTS[case] = (rc, msg)
    print(f"\n[{case}] exit {rc}: {msg.strip().splitlines()[-1] if msg.strip() else ''}")
    assert rc == code, f"{case}: exit {rc}, expected {code}:\n{msg}"
    for s in expected:
        assert s in msg, f"{case}: {s!r} not in the message:\n{msg}"
    if code:
        assert "Traceback" not in msg
        lines = [ln for ln in msg.splitlines() if ln.strip().startswith("- ")]
        if lines and case not in ("wrong separator", "missing column", "unclosed quote"):
            named = [ln for ln in lines if expected[0] in ln]
            assert named, msg
    assert _tree(raw) == raw_before, f"{case}: a raw file was modified"
    if code:
        assert _tree(processed) == proc_before, f"{case}: the previous processed folder was changed"


def test_rr_validate_exit_codes(good, tmp_path):
    src, _ = good
    raw = tmp_path / "raw"
    shutil.copytree(src, raw)
    r = subprocess.run([sys.executable, "-m", "rrlib", "validate", str(raw)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    (raw / manifest.MANIFEST_NAME).unlink()
    edit_row(raw, "schools", 3, lambda line: line + ",x")
    r = subprocess.run([sys.executable, "-m", "rrlib", "validate", str(raw)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "schools.csv.gz" in r.stderr and "line 4: 8 fields, the header has 7" in r.stderr
