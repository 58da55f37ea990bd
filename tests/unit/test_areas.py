"""Any local authority (issue 24): one authority from a DfE old code, ONS code or name; the untidy ones
(boundary changes, suppressed values, missing neighbours) said and not recorded."""
import numpy as np
import pytest

from rrlib import areas, public
from rrlib.chapter import NotComputed
from rrlib.chapters.exclusions import design as XD


@pytest.mark.parametrize("query", ["886", "Kent", "KENT", " kent ", "E10000016", "e10000016"])
def test_resolve_by_code_ons_code_or_name(query):
    a = areas.resolve(query)
    assert (a.code, a.name, a.slug) == ("886", "Kent", "kent")


def test_default_is_blackpool_and_codes_that_changed():
    assert areas.resolve(None).code == "890" and areas.resolve("").is_default
    # Buckinghamshire's ONS code changed in 2021/22; its DfE code (one series) did not
    assert areas.resolve("E10000002").code == areas.resolve("E06000060").code == "825"
    bcp = areas.resolve("E06000058")
    assert bcp.slug == "bournemouth-christchurch-and-poole" and "2019/20" in bcp.boundary_note()
    assert areas.resolve("north northamptonshire").first_year == "2021/22"
    assert areas.resolve("Kent").boundary_note() is None
    assert areas.resolve("Dorset").code == "838"   # a reused name: the current authority


def test_unknown_area_names_the_closest(capsys):
    with pytest.raises(areas.UnknownArea, match="closest names Blackpool"):
        areas.resolve("Blakpool")
    assert areas.main(["slug", "Blakpool"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Blackpool" in err
    assert areas.main(["slug", "Isles of Scilly"]) == 0
    assert capsys.readouterr().out == "isles-of-scilly\n"


@pytest.fixture(scope="module")
def official():
    return public.load_dfe_exclusions_la(), public.load_la_codes(), public.load_statistical_neighbours()


@pytest.mark.parametrize("code", ["839", "940", "941"])
def test_boundary_changes_have_no_pre_period(official, code):
    la, codes, sn = official
    with pytest.raises(NotComputed, match="boundary change"):
        XD.primary_part(la, codes, sn, code)
    with pytest.raises(NotComputed, match="boundary change"):
        XD.synth_part(la, codes, code)


def test_gaps_in_a_series_are_said(official):
    la, codes, sn = official
    pnl = XD.panel(la, codes)
    pnl.loc[2008, "886"] = np.nan        # a suppressed year (x, c, z or empty in the file)
    with pytest.raises(NotComputed, match=r"1 of 14 years of the window \(2008/09\)"):
        XD.require_series(pnl, codes, "886", XD.PRIMARY_WINDOW, "suspension rate")
    XD.require_series(XD.panel(la, codes), codes, "886", XD.PRIMARY_WINDOW, "suspension rate")  # complete: no error


def test_missing_neighbours_are_counted(official):
    la, codes, sn = official
    # Kent's ten April 2021 neighbours include West Northamptonshire (941, from 2021/22): 9 of 10 used
    part = XD.primary_part(la, codes, sn, "886")
    assert "941" not in part.data.neighbours and "9 of the 10 listed, the other 1 without" in part.text
    # one more neighbour missing from the data: 8 of 10
    ons = codes.loc[codes["old_la_code"] == part.data.neighbours[0], "new_la_code"]
    part = XD.primary_part(la[~la["area_code"].isin(ons)], codes, sn, "886")
    assert "8 of the 10 listed, the other 2 without" in part.text
    assert part.results.set_index("key").loc[
        "exclusions.its.suspension.statistical_neighbours.primary.la886.n_neighbours", "value"] == 8


def test_an_area_chapter_has_no_pupil_data_and_never_the_reference_outputs(monkeypatch, tmp_path):
    from rrlib import chapter

    monkeypatch.setenv("RR_AREA", "kent")
    with pytest.raises(chapter.ParameterError, match="never writes over the reference outputs"):
        chapter.setup("exclusions")
    ch = chapter.setup("exclusions", out_dir=tmp_path)
    assert ch.area.code == "886" and ch.no_pupil_data and not ch.has_table("pupils")
    with pytest.raises(NotComputed, match="no pupil-level data for Kent"):
        ch.table("pupils")
    with ch.section("exclusions.who") as s:
        ch.tables("pupils", "exclusions")
    assert not s.computed and s.reason.startswith("not computed: no pupil-level data for Kent")
    with pytest.raises(NotComputed, match="not computed for Kent: only Blackpool"):
        ch.require_area(["890"], "only Blackpool")
    ch.require_area(["886"], "Kent is fine")
    monkeypatch.delenv("RR_AREA")
    assert chapter.setup("exclusions", out_dir=tmp_path).area.is_default


def test_sensitivity_for_another_region_and_rows_left_out(official):
    la, codes, sn = official
    assert XD.region_of(codes, "886") == "South East" and XD.region_of(codes, "890") == "North West"
    prim = XD.primary_design(la, codes, sn, "420", in_time=False, loo=False)
    sec = public.load_dfe_exclusions_la_secondary()
    sens = XD.sensitivity(la, codes, sn, "420", secondary=sec, primary=prim, placebo=False)
    assert "region" in set(sens["analysis"]) and "north_west" not in set(sens["analysis"])
    assert sens.loc[sens["analysis"] == "region", "label"].iloc[0] == "South West"
    # no complete secondary series; suspension rates of 0 in some years: no ratio scale
    assert sorted(lab for lab, _ in sens.attrs["left_out"]) == ["Ratio scale (ratio of ratios)", "Secondary schools"]
    assert np.isfinite(sens["did"]).all()
