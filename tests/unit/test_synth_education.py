"""The synthetic education domain: calibrated totals (section C, A03, A04, A11-A13, B01, B02) and
realistic structure (progression, clustering, risk factors, absence)."""
from __future__ import annotations

import pytest

from rrlib import synth
from rrlib.data import education as spec
from rrlib.synth import education as gen


@pytest.fixture(scope="module")
def town():
    """The education domain at scale 1 (in memory: about 2 s)."""
    ctx = synth.SynthContext(seed=synth.DEFAULT_SEED, scale=1, params=synth.load_params("education"),
                             domain="education")
    return gen.generate(ctx)


@pytest.fixture(scope="module")
def cal(town):
    return gen.calibration(town).set_index("target")


EXACT = [t for t in [
    *(f"C {y} {w}" for y in ("2014/15", "2015/16", "2016/17")
      for w in ("headcount", "suspensions", "one or more", "permanent", "secondary headcount",
                "secondary suspensions", "secondary one or more", "schools")),
    "A11 suspension rate 2018/19 (%), official (published 12.48 differs)",
    "A13 pupils on roll Jan 2015 or Jan 2016",
    "A03 pupils Jan 2021 at an ARA school", "A04 schools signed the Charter",
    "B02 schools during the programme", "B02 programme schools with ARA",
    "B01 population 10-16, 2016, ONS (published 10,937 differs)", "context: population 10-24, 2016, ONS",
]]


@pytest.mark.parametrize("target", EXACT)
def test_published_totals_are_exact(cal, target):
    row = cal.loc[target]
    assert float(row["generated"]) == float(row["published"]), target


def test_later_years_follow_the_official_rates(town):
    """Issue 26: where section C publishes nothing (2017/18-2021/22), the town's suspension, one-or-more and
    permanent rates of DfE's Total are the DfE's official rates (2022/23 release), COVID-19 dip included:
    equal up to the rounding of counts to the synthetic headcount."""
    from rrlib import public

    pup = town["pupils"].merge(town["schools"][["school_id", "phase"]], on="school_id")
    exc = town["exclusions"].merge(town["schools"][["school_id", "phase"]], on="school_id")
    pup, exc = pup[pup.phase != "alternative_provision"], exc[exc.phase != "alternative_provision"]
    la = public.load_dfe_exclusions_la()
    off = la[la["la_name"] == "Blackpool"].set_index("year")
    for y in ("2017/18", "2018/19", "2019/20", "2020/21", "2021/22"):
        head = (pup["academic_year"] == y).sum()
        s = exc[(exc["academic_year"] == y) & (exc["category"] == "suspension")]
        p = exc[(exc["academic_year"] == y) & (exc["category"] == "permanent")]
        o = off.loc[y]
        assert 100 * len(s) / head == pytest.approx(100 * o["fixed_excl"] / o["headcount"], abs=0.01), y
        assert 100 * s["pupil_id"].nunique() / head == pytest.approx(100 * o["one_plus_fixed"] / o["headcount"],
                                                                     abs=0.01), y
        assert 100 * len(p) / head == pytest.approx(100 * o["perm_excl"] / o["headcount"], abs=0.01), y
    # the COVID-19 dip: 2019/20 and 2020/21 below 2018/19, as officially
    r = {y: ((exc["academic_year"] == y) & (exc["category"] == "suspension")).sum() / (pup["academic_year"] == y).sum()
         for y in ("2018/19", "2019/20", "2020/21")}
    assert r["2019/20"] < r["2018/19"] and r["2020/21"] < r["2018/19"]


def test_fsm_follows_the_official_shares_by_phase(town):
    """Issue 26: at each January census the cut holds, each phase of DfE's Total has the town's official share
    of pupils eligible for free school meals (up to the rounding of counts); January 2015, before the cut,
    takes January 2016's shares; so the published A13 (5,093 on FSM at either of the first two censuses) is
    not planted."""
    from rrlib import public

    off = public.load_dfe_fsm()
    off = off[off["area_code"] == "E06000009"].set_index(["academic_year", "school_type"])
    pup = town["pupils"].merge(town["schools"][["school_id", "phase"]], on="school_id")
    for year in ("2014/15", "2015/16", "2016/17", "2017/18", "2018/19", "2019/20", "2020/21", "2021/22"):
        for phase in ("primary", "secondary", "special"):
            o = off.loc[(max(year, "2015/16"), phase)]
            p = pup[(pup.academic_year == year) & (pup.phase == phase)]
            share = o["fsm_pupils"] / o["pupils"]
            assert p["fsm"].mean() == pytest.approx(share, abs=0.5 / len(p) + 1e-9), (year, phase)
    first2 = pup[pup.academic_year.isin(["2014/15", "2015/16"])]
    assert first2.loc[first2["fsm"], "pupil_id"].nunique() > 5093 * 1.05


def test_dfe_totals_match_section_c(town):
    """Headcount, suspensions, one-or-more and permanent exclusions of DfE's Total (section C)."""
    pup = town["pupils"].merge(town["schools"][["school_id", "phase"]], on="school_id")
    exc = town["exclusions"].merge(town["schools"][["school_id", "phase"]], on="school_id")
    pup, exc = pup[pup.phase != "alternative_provision"], exc[exc.phase != "alternative_provision"]
    c = {"2014/15": (18971, 1634, 736, 51), "2015/16": (18805, 1207, 624, 23), "2016/17": (18752, 1498, 742, 42)}
    for year, (head, susp, one, perm) in c.items():
        e = exc[exc.academic_year == year]
        s = e[e.category == "suspension"]
        assert (pup.academic_year == year).sum() == head
        assert len(s) == susp and s.pupil_id.nunique() == one
        assert (e.category == "permanent").sum() == perm


def test_a12_patterns(cal):
    g = cal["generated"].astype(float)
    assert g["A12 boys / girls one-or-more ratio"] > 1.5
    assert 1.5 <= g["A12 FSM / not FSM one-or-more ratio"] <= 2.3  # "almost twice"
    assert 1.6 <= g["A12 SEN support / no SEN one-or-more ratio"] <= 2.5  # "twice"
    assert g["A12 peak year group (age = nc_year + 4)"] in (8, 9)  # ages 12-13
    assert abs(g["A12 MWBC one-or-more rate (%)"] - 13.0) < 0.5


def test_population_follows_ons_by_sex_and_single_year_of_age(town):
    """Issue 26: every mid-year of the shipped ONS cut (2015-2020), males and females aged 0-24, exactly;
    the years outside it aged from the nearest ONS year."""
    from rrlib import public

    pop = town["population"]
    assert sorted(pop.year.unique()) == list(range(2014, 2023))
    assert pop.groupby(["year", "sex"]).size().eq(25).all()
    ons = public.load_ons_population()
    ons = ons[(ons["code"] == "E06000009") & ons["sex"].isin(["Males", "Females"]) & (ons["age"] <= 24)]
    ons = ons.assign(sex=ons["sex"].map({"Males": "M", "Females": "F"}), year=ons["mid_year"])
    m = ons.merge(pop, on=["year", "sex", "age"], suffixes=("_ons", ""))
    assert len(m) == 6 * 2 * 25
    assert (m["population"] == m["population_ons"]).all()
    b01 = pop[(pop.year == 2016) & pop.age.between(10, 16)]["population"].sum()
    assert b01 == 10501 != 10937   # ONS mid-2016, not the published B01
    # the cohort aged 10 in mid-2020 is 11 in mid-2021, with the net migration of the parameters
    p20 = pop[(pop.year == 2020) & (pop.age == 10)].set_index("sex")["population"]
    p21 = pop[(pop.year == 2021) & (pop.age == 11)].set_index("sex")["population"]
    assert ((p21 - p20).abs() <= 0.01 * p20 + 1).all()


def test_absence_is_realistic(town):
    att = town["school_attendance"].merge(
        town["pupils"][["pupil_id", "academic_year", "fsm", "sen_provision"]], on=["pupil_id", "academic_year"])
    pre = att[att.academic_year < "2019/20"]

    def rate(df):
        return 1 - df.attended_sessions.sum() / df.possible_sessions.sum()

    assert 0.05 <= rate(pre) <= 0.06
    assert rate(pre[pre.fsm]) > 1.4 * rate(pre[~pre.fsm])
    assert rate(pre[pre.sen_provision != "none"]) > 1.2 * rate(pre[pre.sen_provision == "none"])
    excluded = town["exclusions"][["pupil_id", "academic_year"]].drop_duplicates().assign(x=True)
    pre = pre.merge(excluded, how="left", on=["pupil_id", "academic_year"])
    assert rate(pre[pre.x.notna()]) > 2 * rate(pre[pre.x.isna()])
    assert not ((att.academic_year == "2019/20") & (att.term == "summer")).any()  # not collected


def test_pupils_progress_and_turn_over(town):
    p = town["pupils"][["pupil_id", "academic_year", "nc_year", "school_id"]].copy()
    p["y"] = p.academic_year.str[:4].astype(int)
    nxt = p.assign(y=p.y - 1)
    m = p.merge(nxt, on=["pupil_id", "y"], suffixes=("", "_next"))
    assert (m.nc_year_next == m.nc_year + 1).all()
    assert (m.loc[m.nc_year != 6, "school_id_next"] == m.loc[m.nc_year != 6, "school_id"]).mean() > 0.95
    stay = p[(p.nc_year < 11) & (p.y < 2021)].merge(nxt[["pupil_id", "y"]], on=["pupil_id", "y"], how="left",
                                                    indicator=True)
    assert 0.88 < (stay._merge == "both").mean() < 0.97  # cohort turnover
    assert p.nc_year.max() == 11 and p.nc_year.min() == 0


def test_exclusions_cluster_in_pupils_schools_and_risk_groups(town):
    pup = town["pupils"].merge(town["schools"][["school_id", "phase"]], on="school_id")
    s = town["exclusions"][town["exclusions"].category == "suspension"]
    per = s.groupby(["pupil_id", "academic_year"]).size()
    assert per.mean() > 1.8 and per.max() >= 8  # repeat suspensions within a year
    ex = pup.set_index(["pupil_id", "academic_year"]).index.isin(per.index)
    pup = pup.assign(ex=ex)
    sec = pup[pup.phase == "secondary"].groupby("school_id").ex.mean()
    assert sec.max() > 2 * sec.min()  # schools differ
    lac = pup.groupby("looked_after").ex.mean()
    assert lac[True] > 2 * lac[False]
    # excluded one year -> much more likely excluded the next
    e = pup[["pupil_id", "academic_year", "ex"]].assign(y=pup.academic_year.str[:4].astype(int))
    m = e.merge(e.assign(y=e.y - 1), on=["pupil_id", "y"], suffixes=("", "_next"))
    nxt = m.groupby("ex").ex_next.mean()
    assert nxt[True] > 4 * nxt[False]


def test_exclusion_records_are_consistent(town):
    exc, pup, sch = town["exclusions"], town["pupils"], town["schools"]
    keys = exc.merge(pup[["pupil_id", "academic_year"]], how="left", indicator=True)
    assert (keys._merge == "both").all()  # excluded pupils are in that year's census
    assert set(exc.reason_code) <= set(spec.REASON_CODES)
    assert exc.exclusion_date.dt.month.isin([8]).sum() == 0  # no exclusions in August
    assert not exc.duplicated(["pupil_id", "exclusion_date", "category"]).any()
    perm = exc[exc.category == "permanent"]
    later = exc.merge(perm[["pupil_id", "school_id", "exclusion_date"]], on=["pupil_id", "school_id"],
                      suffixes=("", "_perm"))
    assert not ((later.category == "suspension") & (later.exclusion_date > later.exclusion_date_perm)).any()
    # the permanently excluded who stay in the census go to the pupil referral unit
    ap = set(sch.school_id[sch.phase == "alternative_provision"])
    nxt = perm.assign(y=(perm.academic_year.str[:4].astype(int) + 1).astype(str))
    nxt["academic_year"] = nxt.y + "/" + (nxt.y.astype(int) + 1).astype(str).str[2:]
    m = nxt[["pupil_id", "academic_year"]].merge(pup[["pupil_id", "academic_year", "school_id"]])
    assert len(m) > 0 and m.school_id.isin(ap).all()


def test_tables_meet_the_schema(town):
    for t in spec.TABLES:
        t.schema.validate(town[t.name], lazy=True)
