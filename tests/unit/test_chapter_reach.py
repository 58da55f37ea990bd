"""Reach chapter analysis functions on small hand-made data with answers counted by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rrlib import public
from rrlib.chapter import NotComputed
from rrlib.chapters import reach
from rrlib.results import frame as results_frame
from rrlib.results import row as results_row


def _log():
    acts = pd.DataFrame({
        "activity_id": ["ACT000001", "ACT000002", "ACT000003", "ACT000004", "ACT000005"],
        "project": ["Co-production groups", "Academic Resilience Approach", "Training and workforce development",
                    "Resilience Coach 1:1 and group", "Walk and Talk"],
        "strand": ["co-production", "universal", "workforce", "targeted", "targeted"],
        "format": ["group", "event", "training", "one_to_one", "one_to_one"],
        "activity_date": pd.to_datetime(["2016-10-03", "2017-09-12", "2018-03-01", "2018-08-31", "2018-09-01"]),
        "setting": ["community", "school", "school", "school", "community"],
        "school_id": [None, "S001", "S002", "S001", None],
    })
    rows = [
        # activity, person, role, attended
        ("ACT000001", "P0000001", "young_person", True),
        ("ACT000001", "P0000002", "young_person", True),
        ("ACT000001", "P0000003", "young_person", False),
        ("ACT000001", "A000001", "parent_carer", True),
        ("ACT000002", "P0000001", "young_person", True),
        ("ACT000002", "P0000004", "young_person", True),
        ("ACT000002", "A000010", "school_staff", True),
        ("ACT000003", "A000010", "school_staff", True),
        ("ACT000003", "A000020", "practitioner", True),
        ("ACT000003", "A000030", "volunteer", False),
        ("ACT000003", "P0000002", "young_person", True),
        ("ACT000004", "P0000003", "young_person", True),
        ("ACT000005", "P0000005", "young_person", True),
    ]
    att = pd.DataFrame(rows, columns=["activity_id", "person_id", "role", "attended"])
    att = att.merge(acts, on="activity_id")
    return acts, att


def _pupils():
    # P1 born 2006-03 (10 in Oct 2016), P2 born 2001-01 (15), P3 born 2008-05 (8 in Oct 2016, 10 in Aug 2018),
    # P4 born 2000-08 (17 in Sep 2017), P5 born 2007-09 (11 in Sep 2018)
    return pd.DataFrame({
        "pupil_id": ["P0000001", "P0000002", "P0000003", "P0000004", "P0000005", "P0000006"],
        "academic_year": ["2016/17"] * 6,
        "school_id": ["S001", "S002", "S001", "S001", "S002", "S002"],
        "nc_year": [6, 10, 4, 11, 5, 8],
        "sex": ["F", "M", "F", "M", "M", "F"],
        "birth_year": [2006, 2001, 2008, 2000, 2007, 2003],
        "birth_month": [3, 1, 5, 8, 9, 2],
        "fsm": [True, False, True, False, True, False],
        "sen_provision": ["none", "sen_support", "none", "ehc_plan", "none", "none"],
        "looked_after": [False, False, True, False, False, False],
    })


def test_opportunities_are_attended_places_by_role():
    _, att = _log()
    assert reach.young_people_opportunities(att) == 7          # 8 young-person rows, one absent
    assert reach.supporting_adult_opportunities(att) == 3      # parent + staff twice
    tot = reach.opportunity_totals(att).set_index("role")
    assert tot.loc["young_person", "registered"] == 8
    assert tot.loc["young_person", "opportunities"] == 7
    assert tot.loc["young_person", "people"] == 5               # P1, P2, P3, P4, P5
    assert tot.loc["school_staff", "people"] == 1
    assert tot.loc["volunteer", "opportunities"] == 0


def test_recomputed_a01_changes_with_the_data_and_equals_a_direct_count():
    _, att = _log()
    before = reach.young_people_opportunities(att)
    more = pd.concat([att, att.iloc[[0]].assign(activity_id="ACT000002")], ignore_index=True)
    assert reach.young_people_opportunities(more) == before + 1
    direct = sum(1 for r, a in zip(more["role"], more["attended"]) if r == "young_person" and a)
    assert reach.young_people_opportunities(more) == direct
    fewer = att.assign(attended=np.where(att["person_id"] == "P0000001", False, att["attended"]))
    assert reach.young_people_opportunities(fewer) == before - 2


def test_opportunities_by_strand_and_year():
    _, att = _log()
    by = reach.opportunities_by(att, ["academic_year", "strand"]).set_index(["academic_year", "strand"])
    assert by.loc[("2016/17", "co-production"), "young_people"] == 2
    assert by.loc[("2016/17", "co-production"), "supporting_adults"] == 1
    assert by.loc[("2017/18", "universal"), "young_people"] == 2
    assert by.loc[("2017/18", "workforce"), "other_adults"] == 1   # practitioner; volunteer absent
    assert by.loc[("2017/18", "targeted"), "young_people"] == 1    # 31 Aug 2018 is still 2017/18
    assert by.loc[("2018/19", "targeted"), "young_people"] == 1
    assert by["young_people"].sum() == reach.young_people_opportunities(att)
    s = reach.opportunities_by(att, "school_id").set_index("school_id")
    assert s.loc["(none)", "young_people"] == 3 and s.loc["S001", "young_people_unique"] == 3


def test_age_and_unique_young_people_10_16():
    _, att = _log()
    pup = _pupils()
    assert list(reach.age_at(pd.to_datetime(["2016-10-03", "2016-02-28", "2016-03-01"]),
                             [2006, 2006, 2006], [3, 3, 3])) == [10, 9, 10]
    places = reach.young_people_places(att, pup).set_index(["activity_id", "person_id"])
    assert places.loc[("ACT000001", "P0000001"), "age"] == 10
    assert places.loc[("ACT000002", "P0000004"), "age"] == 17
    assert places.loc[("ACT000004", "P0000003"), "age"] == 10
    # aged 10-16 at an attended place: P1, P2, P3 (Aug 2018), P5; not P4 (17)
    assert reach.unique_young_people(att, pup) == 4
    assert reach.unique_young_people(att, pup, aged_10_16=False) == 5
    cum = reach.cumulative_reach(att, pup)
    assert cum["young_people"].iloc[-1] == 5 and cum["young_people_10_16"].iloc[-1] == 4
    assert cum["young_people"].is_monotonic_increasing
    oct16 = cum.loc[cum["period_end"] == pd.Timestamp("2016-10-31")].iloc[0]
    assert oct16["young_people"] == 2


def test_first_two_years_window():
    _, att = _log()
    assert reach.unique_in_window(att, reach.RESILIENCE_COACH) == 1   # 31 Aug 2018 included
    assert reach.unique_in_window(att, reach.WALK_AND_TALK) == 0      # 1 Sep 2018 excluded


def test_workforce_and_coproduction_rate():
    acts, att = _log()
    wf = reach.workforce_summary(att, acts).set_index("role")
    assert wf.loc["all", "participants"] == 3 and wf.loc["all", "activities"] == 1
    assert wf.loc["school_staff", "people"] == 1
    co = reach.attendance_rate(att)
    assert (co["attended"], co["registered"]) == (3, 4)
    assert co["rate"] == pytest.approx(75.0)
    assert co["lower"] < 75 < co["upper"]
    from rrlib.stats import wilson_lower
    assert co["lower"] == pytest.approx(100 * wilson_lower(3, 4))


def test_engagement_depth():
    _, att = _log()
    d = reach.engagement_depth(att).set_index("band")
    # places: P1 2, P2 2, P3 1, P4 1, P5 1
    assert d.loc["1", "young_people"] == 3 and d.loc["2-5", "young_people"] == 2
    assert d.loc["6+", "young_people"] == 0
    assert d["share"].sum() == pytest.approx(100)
    assert d.loc["1", "share_of_opportunities"] == pytest.approx(300 / 7)
    assert reach.depth_summary(att)["max"] == 2


def test_population_and_coverage():
    pop = pd.DataFrame({"area": "Blackpool", "year": np.repeat([2016, 2017, 2018], 25),
                        "sex": "F", "age": np.tile(np.arange(25), 3), "population": 10})
    pop = pd.concat([pop, pop.assign(area="Elsewhere", population=99)])
    assert reach.population_10_16(pop, 2016) == 70
    assert reach.ever_10_16_population(pop, 2016, 2018) == 90
    with pytest.raises(NotComputed, match="mid-2030: not in the data .*2016, 2017, 2018"):
        reach.population_10_16(pop, 2030)
    _, att = _log()
    cov = reach.coverage_by_year(att, _pupils(), pop).set_index("academic_year")
    assert cov.loc["2016/17", "young_people_10_16"] == 2
    assert cov.loc["2016/17", "coverage"] == pytest.approx(100 * 2 / 70)
    cc = reach.cumulative_coverage(att, _pupils(), pop)
    assert cc["young_people_10_16"] == 4 and cc["population"] == 90
    assert cc["lower"] < cc["share"] < cc["upper"]


def test_schools_ara_charter():
    schools = pd.DataFrame({
        "school_id": ["S001", "S002", "S003"],
        "open_date": pd.to_datetime(["2000-09-01", "2000-09-01", "2000-09-01"]),
        "close_date": pd.to_datetime([None, None, "2016-08-31"]),
        "ara_start_date": pd.to_datetime(["2017-01-19", "2017-01-20", None]),
        "charter_signed_date": pd.to_datetime(["2019-05-01", None, "2015-01-01"]),
    })
    acts, _ = _log()
    s = reach.schools_taking_part(acts, schools)
    # the period is the log's own first and last activity (3 October 2016 to 1 September 2018)
    assert s == {"start": pd.Timestamp("2016-10-03"), "end": pd.Timestamp("2018-09-01"),
                 "schools_taking_part": 2, "schools_open": 2, "open_schools_taking_part": 2}
    # a period before S003 closed counts it as open
    assert reach.schools_taking_part(acts, schools, "2016-01-01", "2016-12-31")["schools_open"] == 3
    pup = _pupils()
    # census day 2016/17 is 19 January 2017: S001 (start 19 Jan) counts, S002 (20 Jan) does not
    assert reach.census_date(pd.Series(["2016/17", "2020/21"])).dt.strftime("%Y-%m-%d").tolist() == \
        ["2017-01-19", "2021-01-21"]
    assert reach.ara_pupils(pup, schools, "2016/17") == 3
    assert reach.charter_schools(schools) == 2
    assert reach.charter_schools(schools, as_of="2018-12-31") == 1
    over = reach.schools_over_time(schools, "charter_signed_date")
    assert over["schools"].tolist()[-1] == 2


def test_fsm_share_union_of_censuses():
    pup = _pupils()
    two = pd.concat([pup, pup.assign(academic_year="2017/18", fsm=[False, True, False, False, True, False])])
    one = reach.fsm_share(pup, "2016/17")
    assert (one["fsm"], one["pupils"]) == (3, 6)
    both = reach.fsm_share(two, ["2016/17", "2017/18"])
    assert (both["fsm"], both["pupils"]) == (4, 6)    # P2 on FSM only in the second census
    assert both["share"] == pytest.approx(400 / 6)


def test_reach_equity_ratios():
    _, att = _log()
    pup = _pupils()
    eq = reach.reach_equity(att, pup, years=["2016/17"])
    # census (Years 6-11 in 2016/17): P1, P2, P4, P6; reached among them: P1, P2, P4
    allr = eq.loc[eq["reach"] == "all"].set_index("group")
    assert allr.loc["girls", "census"] == 2 and allr.loc["girls", "reached"] == 1
    assert allr.loc["girls", "ratio"] == pytest.approx((1 / 3) / (2 / 4))
    assert allr.loc["free school meals", "ratio"] == pytest.approx((1 / 3) / (1 / 4))
    has = allr.loc[allr["census"] > 0]
    assert (has["lower"] <= has["ratio"]).all() and (has["ratio"] <= has["upper"]).all()
    assert np.isnan(allr.loc["looked after", "ratio"])   # nobody looked after in the census
    targ = eq.loc[eq["reach"] == "targeted"]
    assert (targ["reached_total"] == 0).all()          # P3 and P5 are not in Years 6-11
    assert targ["ratio"].isna().all()


def test_figures_build():
    import matplotlib
    matplotlib.use("agg")
    _, att = _log()
    pup = _pupils()
    by = reach.opportunities_by(att, ["academic_year", "strand"])
    figs = [reach.plot_opportunities_by_year(by),
            reach.plot_cumulative_reach(reach.cumulative_reach(att, pup), 70, 90),
            reach.plot_engagement_depth(reach.places_per_young_person(att)),
            reach.plot_reach_equity(reach.reach_equity(att, pup, years=["2016/17"]))]
    import matplotlib.pyplot as plt
    for f in figs:
        assert f.axes[0].get_title(loc="left")
        plt.close(f)


# ----------------------------------------------------------------------------- results frames and sections
def test_results_frames_carry_the_hand_counts():
    acts, att = _log()
    opp = reach.opportunities_results(att).set_index("key")["value"]
    # young people attended: ACT1 P1 P2, ACT2 P1 P4, ACT3 P2, ACT4 P3, ACT5 P5 = 7; adults: A1, A10 twice = 3
    assert opp["reach.opportunities.young_people"] == 7 and isinstance(opp["reach.opportunities.young_people"], int)
    assert opp["reach.opportunities.supporting_adults"] == 3
    assert opp["reach.opportunities.practitioners_volunteers"] == 1
    assert opp["reach.opportunities.registered_young_people"] == 8
    b03 = reach.first_two_years_results(att, "2016-09-01", "2018-08-31").set_index("key")["value"]
    assert b03["reach.first_two_years.resilience_coach"] == 1      # P3 on 31 August 2018
    assert b03["reach.first_two_years.walk_and_talk"] == 0         # P5 on 1 September 2018: outside
    fsm = reach.fsm_results(reach.fsm_share(_pupils(), "2016/17")).set_index("key")
    assert fsm.loc["reach.context.fsm_pupils", "value"] == 3
    assert fsm.loc["reach.context.fsm_share", "lower"] < 50 < fsm.loc["reach.context.fsm_share", "upper"]


def test_parts_whose_year_is_missing_are_not_computed_with_the_reason():
    _, att = _log()
    pup = _pupils()    # census 2016/17 only: A13's 2014/15 and 2015/16 are absent
    with pytest.raises(NotComputed, match="2014/15, 2015/16: not in the data .*2016/17"):
        reach.fsm_share(pup, ["2014/15", "2015/16"])
    with pytest.raises(NotComputed, match="2020/21"):
        reach.ara_results(pup, pd.DataFrame({"school_id": ["S001"], "ara_start_date": [pd.NaT]}), "2020/21")
    # the log starts in October 2016 and ends in September 2018: a window from 2015 is not covered
    with pytest.raises(NotComputed, match="does not cover 2015-09-01"):
        reach.first_two_years_results(att, "2015-09-01", "2017-08-31")
    with pytest.raises(NotComputed, match="no `population` table"):
        reach.need({"attendance": att}, "attendance", "population")


def test_a_reach_section_on_a_census_from_2016_17_skips_alone(tmp_path):
    from rrlib import chapter
    from rrlib.results import Results
    ch = chapter.Chapter.__new__(chapter.Chapter)
    ch.results = Results("reach", tmp_path / "reach.json")
    ch.shown = []
    ch.show = ch.shown.append
    _, att = _log()
    with ch.section("reach.context.fsm", covers=["reach.context.fsm_share"]) as fsm:
        ch.record_frame(reach.fsm_results(reach.fsm_share(_pupils(), ["2014/15", "2015/16"])))
    with ch.section("reach.opportunities") as opp:
        ch.record_frame(reach.opportunities_results(att))
    assert not fsm.computed and "2014/15" in fsm.reason and opp.computed
    assert ch.results.get("reach.opportunities.young_people") == 7
    assert "reach.context.fsm_share" not in ch.results.results


def _ons():
    rows = []
    for year, base in ((2016, 100), (2017, 200)):
        for sex, k in (("Persons", 2), ("Males", 1), ("Females", 1)):
            for area, code in (("Blackpool", "E06000009"), ("England", "E92000001")):
                rows += [{"mid_year": year, "sex": sex, "code": code, "area": area, "age": a,
                          "population": k * (base + a) * (1 if area == "Blackpool" else 50)} for a in range(91)]
    return pd.DataFrame(rows)


def test_official_population_sums_persons_aged_10_to_16():
    o = reach.official_population_10_16(_ons()).set_index("mid_year")
    # persons = 2 x (base + age); ages 10..16 sum to 7 x base + 91
    assert o.loc[2016, "population_10_16"] == 2 * (700 + 91)
    assert o.loc[2017, "population_10_16"] == 2 * (1400 + 91)
    assert "official statistics" in o.loc[2016, "source"]
    r = reach.official_population_results(_ons(), 2016)
    assert r["key"].tolist() == ["reach.context.official.population_10_16_2016"] and r["value"][0] == 1582
    with pytest.raises(NotComputed, match="mid-2030"):
        reach.official_population_results(_ons(), 2030)


def test_official_fsm_from_counts():
    dfe = pd.DataFrame({"academic_year": ["2015/16", "2016/17", "2015/16"], "census": ["January 2016",
                        "January 2017", "January 2016"], "area": ["Blackpool", "Blackpool", "England"],
                        "school_type": "Total", "fsm_pupils": [25, 30, 1000], "pupils": [100, 120, 8000]})
    r = reach.official_fsm_results(dfe, ["2015/16", "2016/17"]).set_index("key")["value"]
    assert r["reach.context.official.fsm_jan2016.fsm_pupils"] == 25
    assert r["reach.context.official.fsm_jan2016.percent"] == pytest.approx(25.0)
    assert r["reach.context.official.fsm_jan2017.percent"] == pytest.approx(25.0)
    assert r["reach.context.official.fsm_jan2017.pupils"] == 120
    with pytest.raises(NotComputed, match="2017/18"):
        reach.official_fsm_results(dfe, ["2017/18"])
    text = reach.official_text(pd.concat([reach.official_population_results(_ons(), 2016),
                                          reach.official_fsm_results(dfe, ["2015/16"])]))
    assert text == ("Official statistics: ONS mid-2016: **1,582** aged 10-16; DfE January 2016 census: "
                    "**25 of 100** pupils on free school meals (25.0%).")


def test_official_values_from_the_shipped_cuts():
    """The shipped ONS and DfE cuts give the values their SOURCE.md states (ONS mid-2016 10-16:
    10,501; DfE January 2016: 4,789 of 19,005; January 2017: 4,930 of 18,977)."""
    ons = public.load_ons_population()
    pop = reach.official_population_10_16(ons).set_index("mid_year")["population_10_16"]
    assert pop.to_dict() == {2015: 10619, 2016: 10501, 2017: 10456, 2018: 10692, 2019: 10990, 2020: 11110}
    fsm = reach.official_fsm_results(public.load_dfe_fsm()).set_index("key")["value"]
    assert (fsm["reach.context.official.fsm_jan2016.fsm_pupils"], fsm["reach.context.official.fsm_jan2016.pupils"]) \
        == (4789, 19005)
    assert (fsm["reach.context.official.fsm_jan2017.fsm_pupils"], fsm["reach.context.official.fsm_jan2017.pupils"]) \
        == (4930, 18977)
    assert round(fsm["reach.context.official.fsm_jan2016.percent"], 1) == 25.2
    england = reach.official_fsm(public.load_dfe_fsm(), "England").set_index("census")["percent"]
    assert round(england["January 2016"], 1) == 14.3     # SOURCE.md: England, Jan 2016: 14.3%
    assert len(reach.official_fsm(public.load_dfe_fsm())) == 11    # January 2016 to January 2026


def test_public_loaders_refuse_bad_files(tmp_path):
    f = tmp_path / "fsm.csv"
    text = public.table_path(public.DFE_FSM).read_text()
    f.write_text(text.replace(",4789,19005,", ",4789,19006,", 1))
    line = 1 + next(i for i, ln in enumerate(text.splitlines()) if ",4789,19005," in ln)
    rule = f"(?s)fsm.csv.*fsm_share = fsm_pupils / pupils.*line {line}\\b"
    with pytest.raises(public.PublicDataError, match=rule) as e:
        public.load_dfe_fsm(f)
    assert "fsm_pupils <= pupils" not in str(e.value)
    g = tmp_path / "ons.csv"
    lines = public.table_path(public.ONS_POPULATION).read_text().splitlines()
    cells = lines[1].split(",")
    cells[10] = str(int(cells[10]) + 1)    # age_5 no longer sums to all_ages
    g.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    with pytest.raises(public.PublicDataError, match="(?s)ons.csv.*all_ages.*sum to all ages.*line 2"):
        public.load_ons_population(g)


def test_reach_figures_keep_legends_off_the_data_and_show_final_values():
    """Issue 29: Figures 1.1 and 1.5 legends under the panel (1.1's small strands named with
    their totals), Figure 1.3's final values as labelled points, not a tick with no width."""
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from rrlib.chapters import reach as R

    rows = [dict(academic_year=y, strand=s, young_people=v) for y in ("2016/17", "2017/18")
            for s, v in (("universal", 9000), ("targeted", 1500), ("workforce", 40))]
    fig = R.plot_opportunities_by_year(pd.DataFrame(rows))
    assert fig.axes[0].get_legend() is None and fig.legends
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(lab.startswith("workforce") and "80 in all" in lab for lab in labels), labels
    plt.close(fig)
    ara = pd.DataFrame({"date": pd.to_datetime(["2017-08-31", "2019-08-31"]), "schools": [5, 20]})
    charter = pd.DataFrame({"date": pd.to_datetime(["2018-08-31"]), "schools": [3]})
    fig = R.plot_schools_over_time(ara, charter)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "20" in texts and "3" in texts
    plt.close(fig)


# -- the chapter's sentences (reach.*_text): exact text from small hand-made results ------------------
def _results(**values):
    return results_frame([results_row(k.replace("__", "."), v) for k, v in values.items()])


def test_opportunities_text_from_the_recorded_results():
    acts, att = _log()
    assert reach.opportunities_text(reach.opportunities_results(att)) == (
        "**7 opportunities for young people** (A01) and **3 for the adults who support them** (A02).")
    big = _results(reach__opportunities__young_people=76783, reach__opportunities__supporting_adults=6328)
    assert reach.opportunities_text(big) == (
        "**76,783 opportunities for young people** (A01) and **6,328 for the adults who support them** (A02).")


def test_young_people_population_and_first_two_years_texts():
    yp = _results(reach__young_people__unique_10_16=18950, reach__young_people__unique_any_age=19210)
    assert reach.young_people_text(yp) == ('**18,950 young people** were reached at ages 10-16 (B02: "around '
                                           '19,000"); 19,210 at any age.')
    b01 = _results(**{reach.population_key(2016).replace(".", "__"): 10937})
    assert reach.population_text(b01, 2016) == "10,937 young people aged 10-16 in Blackpool, mid-2016 (B01)."
    b03 = _results(reach__first_two_years__resilience_coach=363, reach__first_two_years__walk_and_talk=217)
    assert reach.first_two_years_text(b03, "2016-09-01", "2018-08-31") == (
        "From 2016-09-01 to 2018-08-31, Resilience Coaches supported **363** young people and Walk and Talk "
        "**217** (B03).")


def test_coverage_text():
    cc = {"population": 19053, "young_people_10_16": 18988, "first_year": 2016, "last_year": 2021, "share": 99.66}
    by_year = pd.DataFrame({"coverage": [41.6, 50.5, 45.0]})
    assert reach.coverage_text(cc, by_year) == (
        "19,053 were aged 10-16 at some point in the school years starting 2016 to 2021 (cohorts); the programme "
        "reached 99.7% of them, 42% to 50% in a single school year.")


def test_schools_texts():
    assert reach.ara_text(_results(reach__ara__young_people=16079), "2020/21") == (
        "**16,079 young people** were on roll at an ARA school at the 2020/21 census (A03).")
    sc = results_frame([results_row("reach.charter.schools", 26), results_row("reach.schools.taking_part", 40),
                        results_row("reach.schools.open", 44, note="01 September 2016 to 31 March 2022")])
    assert reach.schools_text(sc) == (
        "**26 schools** signed the Beating Bullying Charter (A04); **40 of the 44 schools** open from 01 September "
        "2016 to 31 March 2022 hosted at least one activity (B02).")


def test_workforce_text():
    w = _results(reach__workforce__participants=6408, reach__workforce__activities=570)
    co = {"rate": 93.2672, "attended": 12800, "registered": 13724, "lower": 92.8412, "upper": 93.6731}
    assert reach.workforce_text(w, co) == (
        "**6,408 participants in 570 training and workforce activities** (A05). Co-production attendance "
        "**93.27%** (12,800 of 13,724 places, 92.84% to 93.67%; A06).")


def test_depth_equity_and_fsm_texts():
    depth = pd.DataFrame({"band": ["1", "2-5", "6+"], "share": [49.4, 34.8, 15.8],
                          "share_of_opportunities": [11.0, 25.0, 64.2]})
    assert reach.depth_text(depth) == ("49% of the young people reached came once, 35% two to five times, 16% six "
                                       "or more (with 64% of opportunities).")
    equity = pd.DataFrame({"reach": ["targeted", "targeted", "targeted", "universal"],
                           "group": ["free school meals", "EHC plan", "looked after", "free school meals"],
                           "ratio": [1.44, 1.66, 3.08, 1.0]})
    assert reach.equity_text(equity) == ("Targeted projects reach pupils on free school meals 1.4, with an EHC plan "
                                         "1.7 and looked after 3.1 times their share of the census.")
    fsm = {"years": ["2014/15", "2015/16"], "fsm": 5093, "pupils": 21780, "share": 23.384}
    assert reach.fsm_text(fsm) == ("5,093 of 21,780 young people (23.4%) on roll at the 2014/15 or 2015/16 "
                                   "censuses were on free school meals (A13).")


def test_coverage_text_says_why_a_share_exceeds_100():
    by_year = pd.DataFrame({"coverage": [42.0, 51.0]})
    cc = {"population": 1000, "young_people_10_16": 900, "share": 90.0, "first_year": 2016, "last_year": 2021}
    t = reach.coverage_text(cc, by_year)
    assert t == ("1,000 were aged 10-16 at some point in the school years starting 2016 to 2021 (cohorts); the "
                 "programme reached 90.0% of them, 42% to 51% in a single school year.")
    t = reach.coverage_text({**cc, "young_people_10_16": 1029, "share": 102.9}, by_year)
    assert "102.9% of them (1,029 young people: more than the resident cohorts" in t and "moved in" in t
