"""rrlib.public: the shipped DfE exclusions table, its schema and the readers of the full DfE files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rrlib import paths, public

REFERENCE = paths.ROOT.parent / "shared" / "reference" / "published_figures.md"
DFE_DIR = paths.SHARED_DATA_DIR / "dfe-exclusions-sfr35-2017"
HEADER = ",".join(public.DFE_LA_COLUMNS)


def _section_c() -> pd.DataFrame:
    """The markdown table of section C of the reference of published figures, as text."""
    text = REFERENCE.read_text(encoding="utf-8")
    sec = text[text.index("## C."):]
    sec = sec[: sec.index("\n## ", 5)] if "\n## " in sec[5:] else sec
    rows = [ln.strip().strip("|").split("|") for ln in sec.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in rows[0]]
    body = [[c.strip() for c in r] for r in rows[2:]]
    return pd.DataFrame(body, columns=header)


def _shipped_text() -> pd.DataFrame:
    return pd.read_csv(public.table_path(public.DFE_EXCLUSIONS), dtype=str, keep_default_na=False)


def test_shipped_table_loads_typed():
    d = public.load_dfe_exclusions()
    assert d.shape == (66, 12)
    assert set(d["la_name"]) == {"Blackpool", "North West", "England"}
    assert set(d["school_type"]) == {"Total", "Secondary"}
    assert sorted(d["year"].unique()) == [f"{y}/{(y + 1) % 100:02d}" for y in range(2006, 2017)]
    assert d["headcount"].dtype == float and (d["headcount"] > 0).all()
    # Blackpool's suppressed permanent exclusions (x) in 2011/12 and 2012/13 are missing
    bp = d[(d["la_name"] == "Blackpool")].set_index(["school_type", "year"])
    assert bp.loc[("Total", "2011/12"), "perm_excl"] != bp.loc[("Total", "2011/12"), "perm_excl"]
    row = bp.loc[("Total", "2016/17")]
    assert (row["headcount"], row["fixed_excl"], row["one_plus_fixed"], row["perm_excl"]) == (18752, 1498, 742, 42)
    assert public.load(public.DFE_EXCLUSIONS).equals(d)


@pytest.mark.skipif(not REFERENCE.exists(), reason=f"reference of published figures absent ({REFERENCE})")
def test_shipped_table_equals_section_c_of_the_reference():
    ref = _section_c()
    ship = _shipped_text()
    assert len(ref) == len(ship) == 66
    cols = list(ref.columns)
    assert set(cols) <= set(ship.columns)
    key = ["year", "la_name", "school_type"]
    merged = ref.merge(ship[cols], on=key, how="outer", suffixes=("_ref", "_ship"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    for c in cols:
        if c in key:
            continue
        a, b = merged[f"{c}_ref"], merged[f"{c}_ship"]
        num = ~a.isin(["x"])
        assert (a[~num] == b[~num]).all(), c
        assert np.allclose(a[num].astype(float), b[num].astype(float), rtol=0, atol=0), c


@pytest.mark.skipif(not (DFE_DIR / "clean_la_data.csv").exists(),
                    reason=f"full DfE local-authority file absent ({DFE_DIR})")
def test_shipped_table_is_an_unchanged_cut_of_the_dfe_file():
    full = pd.read_csv(DFE_DIR / "clean_la_data.csv", dtype=str, keep_default_na=False)
    full = full[full["la_name"].isin(["Blackpool", "North West", "England"])
                & full["school_type"].isin(["Total", "Secondary"])].copy()
    full["year"] = full["year"].str[:4] + "/" + full["year"].str[4:]
    ship = _shipped_text()
    key = ["year", "la_name", "school_type"]
    a = full.sort_values(key).reset_index(drop=True)
    b = ship.sort_values(key).reset_index(drop=True)[list(a.columns)]
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------------------- errors
def _write(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return p


GOOD = "2016/17,Local authority,Blackpool,Total,41,18752,42,0.22,1498,7.99,742,3.96"


def test_good_small_file_reads(tmp_path):
    d = public.load_dfe_exclusions(_write(tmp_path, [GOOD]))
    assert d.loc[0, "fixed_excl_rate"] == 7.99


def test_bad_number_names_file_column_rule_and_line(tmp_path):
    p = _write(tmp_path, [GOOD, GOOD.replace("2016/17", "2015/16").replace(",1498,", ",14g8,")])
    with pytest.raises(public.PublicDataError) as e:
        public.load_dfe_exclusions(p)
    msg = str(e.value)
    assert str(p) in msg and "'fixed_excl'" in msg and "number" in msg and "line 3 '14g8'" in msg


def test_missing_column_is_named(tmp_path):
    hdr = HEADER.replace(",one_plus_fixed", "")
    row = GOOD.replace(",742,", ",")
    with pytest.raises(public.PublicDataError, match="missing column\\(s\\) one_plus_fixed"):
        public.load_dfe_exclusions(_write(tmp_path, [row], header=hdr))


@pytest.mark.parametrize("row, column, rule", [
    (GOOD.replace(",42,", ",4.5,"), "perm_excl", "whole number"),
    (GOOD.replace("2016/17", "2016/18"), "year", "academic year"),
    (GOOD.replace("Local authority", "Ward"), "level", "isin"),
    (GOOD.replace(",742,", ",1600,"), None, "one_plus_fixed <= fixed_excl"),
    (GOOD.replace(",7.99,", ",-1,"), "fixed_excl_rate", "greater_than_or_equal_to"),
])
def test_schema_rules(tmp_path, row, column, rule):
    with pytest.raises(public.PublicDataError) as e:
        public.load_dfe_exclusions(_write(tmp_path, [row]))
    msg = str(e.value)
    assert rule in msg and "line 2" in msg
    if column:
        assert f"'{column}'" in msg


def test_duplicate_rows_are_refused(tmp_path):
    with pytest.raises(public.PublicDataError, match="unique|duplicate"):
        public.load_dfe_exclusions(_write(tmp_path, [GOOD, GOOD]))


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        public.load_dfe_exclusions(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(public.PublicDataError, match="not empty"):
        public.load_dfe_exclusions(tmp_path / "empty.csv")


def test_full_file_reader_tolerates_dfe_quirks(tmp_path):
    rows = [
        "201617,Local authority,Blackpool,Total,41,18752,42,0.22,1498,7.99,742,3.96",
        "200910,Local authority,Brent,Total,79,42688,45.9412,0.11,1756,4.11,1148,2.69",
        "200809,Local authority,Bedford,Total,32,0,29,.,787,.,478,.",
        "200607,Region,NULL,Total,1,0,20,.,0,.,0,.",
        "201617,Local authority,Rutland,Special,1,50,x,x,x,x,x,x",
    ]
    d = public.read_dfe_la_file(_write(tmp_path, rows))
    assert d.attrs["dropped_rows"] == 1
    assert list(d["year"]) == ["2016/17", "2009/10", "2008/09", "2016/17"]
    assert list(d["estimated_counts"]) == [False, True, False, False]
    assert np.isnan(d.loc[2, "fixed_excl_rate"]) and d.loc[2, "headcount"] == 0
    assert d.loc[3, ["perm_excl", "fixed_excl", "one_plus_fixed"]].isna().all()


def test_national_reader_parses_thousands_separators(tmp_path):
    hdr = ",".join(public.NATIONAL_COLUMNS)
    rows = ['201516,NATIONAL,E92000001,England,Total,Gender,Gender_male,Total,"4,034,250",5225,0.13,'
            '249445,6.18,121590,3.01',
            "201516,NATIONAL,E92000001,England,Total,Gender,Gender_female,Total,3881975,1460,0.04,x,x,45535,1.17"]
    d = public.read_dfe_national_characteristics(_write(tmp_path, rows, header=hdr))
    assert d.loc[0, "headcount"] == 4034250 and d.loc[0, "year"] == "2015/16"
    assert np.isnan(d.loc[1, "fixed_excl"])
    bad = _write(tmp_path, [rows[1].replace("1460", "many")], header=hdr, name="bad.csv")
    with pytest.raises(public.PublicDataError, match="'perm_excl'.*line 2 'many'"):
        public.read_dfe_national_characteristics(bad)


def test_registry():
    assert public.DFE_EXCLUSIONS in public.TABLES
    t = public.TABLES[public.DFE_EXCLUSIONS]
    assert "Open Government Licence v3.0" == t.licence and t.path.exists()
    assert set(t.columns) == set(public.DFE_LA_COLUMNS)
    readme = (paths.PUBLIC_DIR / "README.md").read_text()
    assert f"## {t.filename}" in readme and "Open Government Licence v3.0" in readme
    with pytest.raises(KeyError, match="unknown public table"):
        public.load("nope")
