"""The one calendar (rrlib.calendar) and chapter sections that fail alone (rrlib.chapter.section)."""
import json

import pandas as pd
import pytest

from rrlib import calendar, chapter
from rrlib.claims import check
from rrlib.results import Results, load_skipped


@pytest.mark.parametrize("date, ay, fy, term", [
    ("2016-08-31", "2015/16", "2016/17", "summer"),
    ("2016-09-01", "2016/17", "2016/17", "autumn"),
    ("2016-12-31", "2016/17", "2016/17", "autumn"),
    ("2017-01-01", "2016/17", "2016/17", "spring"),
    ("2017-03-31", "2016/17", "2016/17", "spring"),
    ("2017-04-01", "2016/17", "2017/18", "summer"),
    ("1999-12-31", "1999/00", "1999/00", "autumn"),
])
def test_calendar_boundaries(date, ay, fy, term):
    assert calendar.academic_year([date]).tolist() == [ay]
    assert calendar.financial_year([date]).tolist() == [fy]
    assert calendar.term([date]).tolist() == [term]


def test_calendar_keeps_index_and_missing():
    s = pd.Series(pd.to_datetime(["2018-01-01", None]), index=[10, 20])
    out = calendar.academic_year(s)
    assert out.index.tolist() == [10, 20] and out.tolist() == ["2017/18", None]
    assert calendar.term(s).tolist() == ["spring", None]


def test_start_year_and_labels():
    assert calendar.start_year(["2016/17", "1999/00"]).tolist() == [2016, 1999]
    assert calendar.label_of_start([2016, 1999]).tolist() == ["2016/17", "1999/00"]
    assert calendar.year_label(["201617", "2016/17"]).tolist() == ["2016/17", "2016/17"]
    with pytest.raises(ValueError, match="2016/18"):
        calendar.start_year(["2016/18"])


def _chapter(tmp_path, name="selfharm"):
    ch = chapter.Chapter.__new__(chapter.Chapter)
    ch.results = Results(name, tmp_path / "results" / f"{name}.json")
    ch.shown = []
    ch.show = ch.shown.append
    return ch


def test_a_section_that_lacks_its_inputs_records_nothing_and_says_why(tmp_path):
    ch = _chapter(tmp_path)
    with ch.section("selfharm.a10") as sec:
        ch.record("selfharm.a10.admissions", 234)
        chapter.require_values(["2018/19", "2019/20"], "2017/18", "admissions in financial year")
        ch.record("selfharm.a10.never", 1)
    assert not sec.computed
    assert "2017/18" in sec.reason and "2018/19" in sec.reason
    assert ch.results.results == {}
    assert "Not computed" in ch.shown[0] and "2017/18" in ch.shown[0]
    with ch.section("selfharm.support") as ok:
        ch.record("selfharm.support.people", 5)
    assert ok.computed and ch.results.get("selfharm.support.people") == 5
    ch.results.save()
    skipped = load_skipped(tmp_path / "results")
    assert list(skipped) == ["selfharm.a10"]
    registry = [dict(id="A10", part=None, chapter="selfharm", statement="s", published=234, unit="count",
                     tolerance={"absolute": 0}, source="x", key="selfharm.a10.admissions", data="synthetic")]
    row, = check(registry, {}, {}, skipped)
    assert row["status"] == "not computed" and "2017/18" in row["reason"]


def test_other_errors_still_fail_the_chapter(tmp_path):
    ch = _chapter(tmp_path)
    with pytest.raises(KeyError):
        with ch.section("selfharm.a10"):
            raise KeyError("2017/18")
    assert ch.results.skipped == {}


def test_section_keys_must_belong_to_the_chapter(tmp_path):
    ch = _chapter(tmp_path)
    with pytest.raises(ValueError, match="start with 'selfharm.'"):
        with ch.section("reach.x"):
            pass


def test_missing_table_is_a_not_computed_reason(tmp_path):
    from rrlib import paths
    lay = paths.layout(tmp_path / "raw", tmp_path / "out")
    lay.processed_dir.mkdir(parents=True)
    (lay.processed_dir / ".prepared.json").write_text("{}")
    ch = chapter.Chapter(name="selfharm", layout=lay, parameters={}, synthetic=True, manifest={},
                         results=Results("selfharm", lay.result_file("selfharm")))
    ch.show = lambda o: None
    with ch.section("selfharm.a10") as sec:
        ch.tables("admissions", "ed_attendances")
    assert "`admissions`" in sec.reason and "`ed_attendances`" in sec.reason


def test_record_frame(tmp_path):
    r = Results("reach", tmp_path / "r.json")
    frame = pd.DataFrame({"key": ["reach.a.x", "reach.a.y"], "estimate": [0.5, 3],
                          "lower": [0.4, None], "upper": [0.6, None], "unit": ["proportion", "count"],
                          "method": ["Wilson score", None], "n": [100, None]})
    assert r.record_frame(frame) == 2
    assert r.results["reach.a.x"] == {"value": 0.5, "lower": 0.4, "upper": 0.6, "unit": "proportion",
                                      "method": "Wilson score", "n": 100}
    assert r.results["reach.a.y"] == {"value": 3, "unit": "count"}
    with pytest.raises(ValueError, match="key"):
        r.record_frame(pd.DataFrame({"value": [1]}))
    json.dumps(r.results)


@pytest.mark.parametrize("name, value, ok", [
    ("a11_year", "2017/18", True), ("a11_year", None, True), ("a11_year", 2018, False),
    ("a11_year", __import__("datetime").date(2018, 9, 1), False), ("who_years", "2018/19", False),
    ("who_years", ["2017/18"], True),
])
def test_start_checks_parameter_types_against_the_declared_defaults(tmp_path, name, value, ok):
    from rrlib import paths, registry
    ns = dict(registry.declared_parameters(paths.NOTEBOOKS_DIR / "02_exclusions.ipynb"))
    ns.update(out_dir=str(tmp_path), **{name: value})
    if ok:
        ch = chapter.start("exclusions", ns)
        assert ch.parameters[name] == value and set(ch.parameters) == set(
            registry.declared_parameters(paths.NOTEBOOKS_DIR / "02_exclusions.ipynb"))
    else:
        with pytest.raises(chapter.ParameterError, match=f"parameter {name} = .*expected"):
            chapter.start("exclusions", ns)
