"""The claims registry (claims.yml) and the claims check (rrlib.claims) on hand-made results, and
``rr claims`` writing the claims report (rrlib.claims_report)."""
from __future__ import annotations

import json
import math
import re

import pytest
import yaml

from rrlib import claims, claims_report, paths
from rrlib.io import write_json

REFERENCE_DOC = paths.ROOT.parent / "shared" / "reference" / "published_figures.md"


def entry(**kw):
    base = dict(id="A01", part=None, chapter="reach", statement="76,783 opportunities",
                published=76783, unit="count", tolerance={"relative": 0.01},
                source="evidence submission (2021)", key="reach.opportunities.young_people",
                data="synthetic")
    base.update(kw)
    return base


def results_file(results_dir, chapter, values, synthetic=True):
    write_json(results_dir / f"{chapter}.json", {
        "chapter": chapter, "data": {"folder": "x", "synthetic": synthetic},
        "results": {k: {"value": v} for k, v in values.items()}})


def check_one(claim, results, synthetic=True):
    reg = claims.validate_entries([claim])
    blocks = {k: {"synthetic": synthetic, "_chapter": k.split(".")[0]} for k in results}
    (row,) = claims.check(reg, {k: {"value": v} for k, v in results.items()}, blocks)
    return row


# -- comparison -------------------------------------------------------------------------------
@pytest.mark.parametrize("computed,status", [
    (76783, "reproduced"), (77550, "reproduced"), (76015.17, "reproduced"),   # within 1%
    (77551, "differs"), (70000, "differs"), (0, "differs"),
])
def test_relative_tolerance(computed, status):
    assert check_one(entry(), {"reach.opportunities.young_people": computed})["status"] == status


@pytest.mark.parametrize("computed,status", [
    (93.27, "reproduced"), (93.32, "reproduced"), (93.22, "reproduced"),  # boundary: +-0.05
    (93.33, "differs"), (93.2, "differs"), (0.9327, "differs"),          # proportion, not percent
])
def test_absolute_tolerance(computed, status):
    c = entry(id="A06", published=93.27, unit="percent", tolerance={"absolute": 0.05},
              key="reach.coproduction.attendance_percent")
    assert check_one(c, {"reach.coproduction.attendance_percent": computed})["status"] == status


@pytest.mark.parametrize("computed,status", [
    (True, "reproduced"), (False, "differs"), (1, "differs"), (1.0, "differs"), ("true", "differs"),
])
def test_boolean_claims_are_exact_and_typed(computed, status):
    c = entry(id="A08", chapter="exclusions", published=True, unit="boolean", tolerance="exact",
              key="exclusions.coproduction.none_excluded")
    row = check_one(c, {"exclusions.coproduction.none_excluded": computed})
    assert row["status"] == status
    assert row["tolerance"] == {"exact": True}


def test_exact_numeric_tolerance():
    c = entry(id="A04", published=26, tolerance="exact", key="reach.charter.schools")
    assert check_one(c, {"reach.charter.schools": 26})["status"] == "reproduced"
    assert check_one(c, {"reach.charter.schools": 26.0})["status"] == "reproduced"
    assert check_one(c, {"reach.charter.schools": 27})["status"] == "differs"


@pytest.mark.parametrize("results", [{}, {"reach.opportunities.young_people": None},
                                     {"reach.opportunities.young_people": math.nan}])
def test_not_computed_never_copies_the_published_value(results):
    row = check_one(entry(), results)
    assert row["status"] == "not computed"
    assert row["computed"] is None
    assert row["published"] == 76783
    assert row.get("reason")


def test_non_numeric_result_differs():
    row = check_one(entry(), {"reach.opportunities.young_people": "lots"})
    assert row["status"] == "differs" and "not a number" in row["reason"]


def test_row_fields_and_difference():
    row = check_one(entry(), {"reach.opportunities.young_people": 76800})
    for f in ("id", "part", "chapter", "statement", "published", "computed", "tolerance", "status", "data"):
        assert f in row
    assert row["computed"] == 76800 and row["difference"] == 17


# -- data: real vs synthetic ----------------------------------------------------------------------
@pytest.mark.parametrize("registry_data,run_synthetic,expected", [
    ("synthetic", True, "synthetic"),   # calibrated synthetic data: shows the pipeline works
    ("real", True, "real"),             # public statistics recomputed, whatever the data folder
    ("synthetic", False, "real"),       # a real data folder
    ("real", False, "real"),
    ("synthetic", None, "synthetic"),   # unknown status is never taken for real
])
def test_data_label(registry_data, run_synthetic, expected):
    row = check_one(entry(data=registry_data), {"reach.opportunities.young_people": 76783},
                    synthetic=run_synthetic)
    assert row["data"] == expected


def test_data_flag_taken_from_the_results_files(tmp_path):
    res = tmp_path / "results"
    results_file(res, "reach", {"reach.opportunities.young_people": 76783}, synthetic=False)
    results_file(res, "exclusions", {"exclusions.x.y": 1.0}, synthetic=False)
    reg = claims.validate_entries([entry(), entry(id="A02", key="reach.opportunities.adults",
                                                 published=6328)])
    values, blocks = claims.read_results(res)
    rows = claims.check(reg, values, blocks)
    assert [r["data"] for r in rows] == ["real", "real"]   # the missing key uses the run's flag
    assert [r["status"] for r in rows] == ["reproduced", "not computed"]


# -- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad,message", [
    (dict(unit="furlongs"), "unit 'furlongs'"),
    (dict(tolerance={"relative": -1}), "non-negative"),
    (dict(tolerance={"relative": 0.1, "absolute": 1}), "tolerance"),
    (dict(tolerance={"fuzzy": 1}), "unknown tolerance kind"),
    (dict(published=True, unit="boolean", tolerance={"relative": 0.1}), "exact tolerance"),
    (dict(published=True), "must be boolean"),
    (dict(published="76,783"), "published must be a number"),
    (dict(id="A99"), "not a reference id"),
    (dict(id="D01"), "not a reference id"),
    (dict(chapter="economy"), "chapter 'economy'"),
    (dict(key="Reach.Opportunities"), "dotted lower-case"),
    (dict(key="economy.x"), "must start with a chapter key"),
    (dict(data="probably"), "data 'probably'"),
    (dict(statement=""), "statement must be"),
    (dict(colour="red"), "unknown field(s) colour"),
])
def test_validation_errors_name_entry_and_rule(bad, message):
    with pytest.raises(claims.ClaimsError) as exc:
        claims.validate_entries([entry(), entry(**{"id": "A02", **bad})], where="frag.yml")
    text = str(exc.value)
    assert "frag.yml: entry 2 (id" in text and message in text


def test_missing_fields_and_duplicates_reported_together():
    e = entry()
    del e["source"]
    with pytest.raises(claims.ClaimsError) as exc:
        claims.validate_entries([entry(), entry(), e])
    text = str(exc.value)
    assert "duplicate id+part (first at entry 1)" in text and "missing field(s) source" in text
    assert "3 problem(s)" in text


def test_parts_make_ids_distinct_and_c_ids_allowed():
    ok = claims.validate_entries([entry(part="a"), entry(part="b"),
                                  entry(id="C-2016/17-blackpool", data="real", part=None),
                                  entry(id="C", part="x", data="real")])
    assert len(ok) == 4


def test_load_registry_errors(tmp_path):
    with pytest.raises(claims.ClaimsError, match="does not exist"):
        claims.load_registry(tmp_path / "none.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("- id: [unclosed\n")
    with pytest.raises(claims.ClaimsError, match="not valid YAML"):
        claims.load_registry(bad)
    bad.write_text("id: A01\n")
    with pytest.raises(claims.ClaimsError, match="must be a YAML list"):
        claims.load_registry(bad)


# -- the committed registry ---------------------------------------------------------------------
def test_reference_ids_match_the_reference_document():
    if not REFERENCE_DOC.exists():
        pytest.skip(f"reference document {REFERENCE_DOC} not available")
    text = REFERENCE_DOC.read_text(encoding="utf-8")
    # the figures are listed in sections A and B; section E (published against official) repeats some ids
    listed = text.split("\n## C.")[0]
    ids = re.findall(r"^\| ([AB]\d\d) \|", listed, flags=re.M)
    assert tuple(ids) + ("C",) == claims.REFERENCE_IDS
    assert "## C." in text


def test_committed_registry_is_valid_and_in_reference_order():
    reg = claims.load_registry(paths.CLAIMS_FILE)
    assert reg, "claims.yml is empty"
    for c in reg:
        assert claims.base_id(c["id"]) in claims.REFERENCE_IDS, c["id"]
        assert c["key"].split(".")[0] in claims.CHAPTERS
    pairs = [(c["id"], c["part"]) for c in reg]
    assert len(pairs) == len(set(pairs)), "id+part must be unique"
    order = [claims.order_key(c["id"]) for c in reg]
    assert order == sorted(order), "claims.yml must keep the reference order of ids"
    raw = yaml.safe_load(paths.CLAIMS_FILE.read_text(encoding="utf-8"))
    for e in raw:
        assert list(e)[:len(claims.FIELDS)] == list(claims.FIELDS), f"{e['id']}: fields out of order"


# -- main: files, determinism, strict -------------------------------------------------------------
def _registry(tmp_path, entries):
    f = tmp_path / "claims.yml"
    f.write_text(claims.dump_registry(claims.validate_entries(entries)))
    return f


def test_main_writes_deterministic_files(tmp_path, capsys):
    reg = _registry(tmp_path, [entry(), entry(id="A08", chapter="exclusions", published=True,
                                               unit="boolean", tolerance="exact",
                                               key="exclusions.coproduction.none_excluded")])
    out = tmp_path / "out"
    results_file(out / "results", "reach", {"reach.opportunities.young_people": 76100.5})
    assert claims_report.main(data_dir=tmp_path / "data", out_dir=out, registry=reg) == 0
    first = {n: (out / n).read_bytes() for n in ("claims.json", "claims.md", "claims.html")}
    assert claims_report.main(data_dir=tmp_path / "data", out_dir=out, registry=reg) == 0
    assert first == {n: (out / n).read_bytes() for n in first}
    rows = json.loads(first["claims.json"])
    assert [(r["id"], r["status"], r["data"]) for r in rows] == [
        ("A01", "reproduced", "synthetic"), ("A08", "not computed", "synthetic")]
    assert rows[0]["computed"] == 76100.5
    assert all(not k.startswith("_") for r in rows for k in r)
    md = first["claims.md"].decode()
    assert "| A08 |" in md and "NOT COMPUTED" in md and "76,100.5" in md
    assert 'class="badge status not-computed"' in first["claims.html"].decode()
    assert "http" not in first["claims.html"].decode()


def test_strict_on_the_default_data_fails_on_any_unreproduced_claim(tmp_path, capsys):
    reg = _registry(tmp_path, [entry(), entry(id="A02", published=6328, key="reach.opportunities.adults"),
                               entry(id="A03", published=10, key="reach.ara.young_people",
                                     expected="differs", note="known")])
    out = tmp_path / "out"
    results_file(out / "results", "reach", {"reach.opportunities.young_people": 76783,
                                            "reach.ara.young_people": 99})
    # data_dir=None: the shipped data folder (written elsewhere)
    assert claims_report.main(out_dir=out, registry=reg, strict=False) == 0
    assert claims_report.main(out_dir=out, registry=reg, strict=True) == 1
    err = capsys.readouterr().err
    assert "A02" in err and "not computed" in err and "A03" not in err
    results_file(out / "results", "reach", {"reach.opportunities.young_people": 76783,
                                            "reach.opportunities.adults": 6328,
                                            "reach.ara.young_people": 99})
    assert claims_report.main(out_dir=out, registry=reg, strict=True) == 0   # A03 differs, as expected
    rows = json.loads((out / "claims.json").read_text())
    assert rows[2]["status"] == "differs" and rows[2]["expected"] == "differs"


def test_strict_on_other_data_checks_only_real_claims(tmp_path):
    reg = _registry(tmp_path, [entry(), entry(id="C", part="blackpool", chapter="exclusions",
                                               published=7.99, unit="rate_per_100",
                                               tolerance={"absolute": 0.005}, data="real",
                                               key="exclusions.dfe.blackpool_rate")])
    out = tmp_path / "out"
    results_file(out / "results", "exclusions", {"exclusions.dfe.blackpool_rate": 7.99})
    assert claims_report.main(data_dir=tmp_path / "other", out_dir=out, registry=reg, strict=True) == 0
    results_file(out / "results", "exclusions", {"exclusions.dfe.blackpool_rate": 8.2})
    assert claims_report.main(data_dir=tmp_path / "other", out_dir=out, registry=reg, strict=True) == 1


def test_main_reports_invalid_registry(tmp_path, capsys):
    bad = tmp_path / "claims.yml"
    bad.write_text(yaml.safe_dump([entry(unit="furlongs")]))
    assert claims_report.main(out_dir=tmp_path / "out", registry=bad) == 2
    assert "furlongs" in capsys.readouterr().err
    assert not (tmp_path / "out" / "claims.json").exists()


# -- merging fragments ----------------------------------------------------------------------------
def test_merge_fragments_fragment_keys_win_and_order_is_kept(tmp_path):
    reg = _registry(tmp_path, [entry(), entry(id="A05", key="reach.training.n", published=1),
                               entry(id="B01", chapter="context", key="context.population.n",
                                     published=10937)])
    frags = tmp_path / "claims"
    frags.mkdir()
    (frags / "reach.yml").write_text(yaml.safe_dump([
        entry(id="A05", part="activities", key="reach.training.activities", published=570),
        entry(id="A05", part="participants", key="reach.training.participants", published=6408),
        entry(id="A01", key="reach.opps.yp")]))
    (frags / "broken.yml").write_text(yaml.safe_dump([entry(unit="furlongs")]))
    merged, msgs = claims.merge_fragments(frags, reg)
    assert [(e["id"], e["part"], e["key"]) for e in merged] == [
        ("A01", None, "reach.opps.yp"),
        ("A05", "activities", "reach.training.activities"),
        ("A05", "participants", "reach.training.participants"),
        ("B01", None, "context.population.n")]
    assert any(m.startswith("SKIPPED") and "furlongs" in m for m in msgs)
    dropped, _ = claims.merge_fragments(frags, reg, keep_unclaimed=False)
    assert [e["id"] for e in dropped] == ["A01", "A05", "A05"]
    # the dumped registry reads back identically
    f = tmp_path / "merged.yml"
    f.write_text(claims.dump_registry(merged))
    assert claims.load_registry(f) == merged


def test_fmt_value():
    assert claims_report.fmt_value(76783) == "76,783"
    assert claims_report.fmt_value(93.27, "percent") == "93.27%"
    assert claims_report.fmt_value(404.6, "rate_per_100000") == "404.6 per 100,000"
    assert claims_report.fmt_value(2.0) == "2"
    assert claims_report.fmt_value(True) == "true" and claims_report.fmt_value(None) == "—"


def test_official_statistics_section_and_expected_outcomes(tmp_path, capsys):
    real = dict(chapter="exclusions", unit="rate_per_100", tolerance={"absolute": 0.005}, data="real",
                source="campaign slides (2021)", official_source="DfE exclusions by LA, 2018/19")
    reg = _registry(tmp_path, [
        entry(),
        entry(id="A11", part="north_west", published=5.30, key="exclusions.a11.official.north_west", **real),
        entry(id="A11", part="blackpool", published=12.48, key="exclusions.a11.official.blackpool",
              expected="differs", note="another year or base", **real),
        entry(id="A11", part="england", published=5.36, key="exclusions.a11.official.england", **real)])
    out = tmp_path / "out"
    results_file(out / "results", "exclusions", {"exclusions.a11.official.north_west": 5.30,
                                                 "exclusions.a11.official.blackpool": 12.06})
    results_file(out / "results", "reach", {"reach.opportunities.young_people": 76783})
    assert claims_report.main(out_dir=out, registry=reg, strict=True) == 1   # england not computed: not expected
    err = capsys.readouterr().err
    assert "england" in err and "blackpool" not in err
    md = (out / "claims.md").read_text()
    head = md.split("## Every claim")[0]
    assert "## Published figures against official statistics" in head
    assert "3 parts checked on official statistics: 1 reproduced, 1 differs, 1 not checkable" in head
    assert "| A11 (blackpool) | 12.48 per 100 | 12.06 per 100 | DfE exclusions by LA, 2018/19 | -0.42 | differs |" \
        " another year or base |" in head
    assert "A01" not in head                                          # synthetic parts are not in it
    assert "Published figures against official statistics" in (out / "claims.html").read_text()
    # a part expected to differ that is reproduced is an unexpected outcome too
    results_file(out / "results", "exclusions", {"exclusions.a11.official.north_west": 5.30,
                                                 "exclusions.a11.official.blackpool": 12.48,
                                                 "exclusions.a11.official.england": 5.36})
    assert claims_report.main(out_dir=out, registry=reg, strict=True) == 1
    assert "blackpool" in capsys.readouterr().err
    assert "UNEXPECTED" in (out / "claims.md").read_text()


def test_differs_needs_a_reason_and_official_source_needs_real_data():
    with pytest.raises(claims.ClaimsError, match="likeliest reason"):
        claims.validate_entries([entry(expected="differs")])
    with pytest.raises(claims.ClaimsError, match="official_source"):
        claims.validate_entries([entry(official_source="ONS")])


def test_a_real_part_no_official_file_holds_is_not_checkable(tmp_path):
    reg = _registry(tmp_path, [entry(id="B07", part="nw", chapter="selfharm", unit="rate_per_100000", published=474,
                                     key="selfharm.official.north_west.fy2016_17", data="real",
                                     expected="not computed", note="no shipped official file holds it")])
    out = tmp_path / "out"
    results_file(out / "results", "selfharm", {"selfharm.other": 1})
    assert claims_report.main(out_dir=out, registry=reg, strict=True) == 0
    head = (out / "claims.md").read_text().split("## Every claim")[0]
    assert "0 reproduced, 0 differs, 1 not checkable" in head and "no shipped official file holds it" in head
    with pytest.raises(claims.ClaimsError, match="not computed is for a real-data part"):
        claims.validate_entries([entry(expected="not computed", note="x")])
