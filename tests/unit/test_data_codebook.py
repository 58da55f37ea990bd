"""The codebook (data/raw/README.md) documents every table and column and is up to date."""
from __future__ import annotations

import rrlib.data as data
from rrlib import codebook
from rrlib.codebook import codebook_path


def test_every_column_is_documented():
    for name, t in data.tables().items():
        cols = t.column_names
        assert cols, name
        undocumented = [c for c in cols if not str(t.columns.get(c, "")).strip()]
        assert not undocumented, f"{name}: undocumented columns {undocumented}"
        extra = set(t.columns) - set(cols)
        assert not extra, f"{name}: codebook names columns not in the schema: {extra}"
        assert t.description.strip() and t.source.strip(), name
        for col, other, other_col in t.foreign_keys:
            assert col in cols and other in data.tables(), (name, col, other)


def test_codebook_covers_tables_codes_and_calibration():
    text = codebook.render_codebook()
    for name in data.tables():
        assert f"### `{name}`" in text
    for code in ("MWBC", "PD", "SEMH", "alternative_provision"):
        assert f"`{code}`" in text
    assert "## Calibration of the synthetic data" in text
    for fig in ("A03", "A11", "A13", "B01", "| C |"):
        assert fig in text


def test_committed_codebook_is_up_to_date():
    f = codebook_path()
    assert f.exists(), "data/raw/README.md missing: run `rr codebook`"
    assert f.read_text(encoding="utf-8") == codebook.render_codebook(), \
        "data/raw/README.md is out of date: run `rr codebook`"


def test_main_codebook_check(tmp_path, capsys):
    out = tmp_path / "README.md"
    assert codebook.main_codebook(out, check=True) == 1
    assert codebook.main_codebook(out) == 0
    assert codebook.main_codebook(out, check=True) == 0
