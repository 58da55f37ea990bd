"""rrlib.synth framework: deterministic files, MANIFEST, atomic replacement of the folder."""
from __future__ import annotations

import gzip
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rrlib import commands, manifest, synth
from rrlib.io import sha256_file


def files(d: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    base = tmp_path_factory.mktemp("synth")
    a, b, c = base / "a", base / "b", base / "c"
    synth.generate(a, seed=123, scale=0.05, domains=["education"])
    synth.generate(b, seed=123, scale=0.05, domains=["education"])
    synth.generate(c, seed=124, scale=0.05, domains=["education"])
    return a, b, c


def test_same_seed_same_bytes(pair):
    a, b, _ = pair
    fa, fb = files(a), files(b)
    assert list(fa) == ["MANIFEST", "exclusions.csv.gz", "population.csv.gz", "pupils.csv.gz",
                        "school_attendance.csv.gz", "schools.csv.gz"]
    assert fa == fb


def test_different_seed_different_data(pair):
    a, _, c = pair
    for name in ("pupils.csv.gz", "exclusions.csv.gz", "school_attendance.csv.gz"):
        assert (a / name).read_bytes() != (c / name).read_bytes(), name


def test_manifest_records_generator_seed_scale_and_sums(pair):
    a, _, _ = pair
    doc = manifest.verify(a)
    assert doc["synthetic"] is True
    assert doc["seed"] == 123 and doc["scale"] == 0.05
    assert doc["generator"].startswith("rrlib.synth ")
    assert doc["params_sha256"] == synth.params_digest()
    assert doc["files"]["pupils.csv.gz"] == sha256_file(a / "pupils.csv.gz")


def test_gzip_is_deterministic(pair):
    a, _, _ = pair
    raw = (a / "schools.csv.gz").read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # mtime 0
    assert raw[3] & 0x08 == 0  # no file name stored
    text = gzip.decompress(raw).decode("utf-8")
    assert text.startswith("school_id,school_name,phase,")
    assert "\r" not in text


def test_csv_format_is_fixed():
    df = pd.DataFrame({"x": [0.1, 1 / 3], "d": pd.to_datetime(["2020-01-02", None]), "b": [True, False]})
    assert synth.csv_bytes(df).decode() == "x,d,b\n0.100000,2020-01-02,true\n0.333333,,false\n"


def test_rng_streams_are_named_and_independent():
    ctx = synth.SynthContext(seed=1, scale=1, params={}, domain="education")
    assert ctx.rng("a").random() == ctx.rng("a").random()
    assert ctx.rng("a").random() != ctx.rng("b").random()
    other = synth.SynthContext(seed=1, scale=1, params={}, domain="health")
    assert ctx.rng("a").random() != other.rng("a").random()
    assert synth.SynthContext(seed=1, scale=0.5, params={}).n(3) == 2
    assert synth.SynthContext(seed=1, scale=0.001, params={}).n(3) == 1


def test_failed_generation_leaves_the_folder_untouched(pair, tmp_path, monkeypatch):
    a, _, _ = pair
    out = tmp_path / "out"
    import shutil
    shutil.copytree(a, out)
    before = files(out)
    broken = types.ModuleType("rrlib.synth.targeted")

    def generate(ctx):
        assert "pupils" in ctx.tables  # earlier domains' tables are visible
        raise RuntimeError("generator bug")

    broken.generate = generate
    monkeypatch.setitem(sys.modules, "rrlib.synth.targeted", broken)
    with pytest.raises(RuntimeError, match="generator bug"):
        synth.generate(out, seed=1, scale=0.02, domains=["education", "targeted"])
    assert files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folders left


def test_tables_must_match_their_schema(tmp_path, monkeypatch):
    bad = types.ModuleType("rrlib.synth.targeted")
    bad.generate = lambda ctx: {"pupils2": pd.DataFrame({"a": [1]}), "schools": pd.DataFrame({"x": [1]})}
    monkeypatch.setitem(sys.modules, "rrlib.synth.targeted", bad)
    with pytest.raises(ValueError, match="does not match its schema"):
        synth.generate(tmp_path / "o", seed=1, scale=0.02, domains=["targeted"])
    assert not (tmp_path / "o").exists()


def test_main_generate(tmp_path, capsys, monkeypatch):
    calls = {}

    def fake(out_dir, seed, scale, progress):
        calls.update(out=out_dir, seed=seed, scale=scale)
        progress("education", "pupils", 10, 0.1)
        return {"pupils": Path(out_dir) / "pupils.csv.gz"}

    monkeypatch.setattr(synth, "generate", fake)
    assert commands.main_generate(tmp_path, 7, 2) == 0
    out = capsys.readouterr().out
    assert "pupils.csv.gz" in out and "10 rows" in out
    assert calls == {"out": tmp_path, "seed": 7, "scale": 2}


def test_fast_csv_writer_gives_the_reference_bytes():
    df = pd.DataFrame({
        "id": ["P1", "P2", None], "n": [1, 2, 3], "x": [0.5, np.nan, 2 / 3],
        "k": pd.array([1, None, 3], dtype="Int64"), "b": [True, False, True],
        "bn": pd.array([True, None, False], dtype="boolean"),
        "d": pd.to_datetime(["2020-01-02", None, "2021-12-31"]),
    })
    fast = synth._csv_bytes_arrow(df)
    assert fast is not None and fast == synth._csv_bytes_pandas(df)
    tricky = df.assign(id=["a,b", 'say "hi"', "line\nbreak"])
    assert synth._csv_bytes_arrow(tricky) is None  # needs quoting: the reference writer is used
    assert synth.csv_bytes(tricky) == synth._csv_bytes_pandas(tricky)
