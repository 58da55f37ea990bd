"""Chapter 6, the six HeadStart areas: the pooled estimate and its placebo distribution on numbers
counted by hand, the result keys the issue names, and the cases that are not computed."""
import numpy as np
import pandas as pd
import pytest

from rrlib import public
from rrlib.chapter import NotComputed
from rrlib.chapters import headstart_areas as H
from rrlib.chapters.exclusions import design as XD
from rrlib.stats import design as sd


def test_pooled_did_by_hand():
    # se 0.5 each at 95% (interval +-0.98 = 1.96 x 0.5): mean -2, se sqrt(0.25 + 0.25) / 2
    p = sd.pooled_did([-1, -3], [-1.98, -3.98], [-0.02, -2.02])
    assert p["value"] == pytest.approx(-2)
    assert p["se"] == pytest.approx(np.sqrt(0.5) / 2, rel=1e-3)
    assert p["lower"] == pytest.approx(-2 - 1.959964 * p["se"])
    assert p["k"] == 2
    with pytest.raises(ValueError):
        sd.pooled_did([], [], [])


def test_pooled_placebo_by_hand():
    # every set of all four areas has mean 0: |0| >= 0.5 never, so p = 1 / (1 + sets)
    p, means = sd.pooled_placebo(0.5, [1, -1, 3, -3], 4, n_sets=99)
    assert np.allclose(means, 0) and p == pytest.approx(1 / 100)
    # sets of one: the mean is one area's effect; |effect| >= 2 for half of them
    p, means = sd.pooled_placebo(2, [1, -1, 3, -3], 1, n_sets=4000, seed=1)
    assert set(np.round(means)) == {1, -1, 3, -3}
    assert p == pytest.approx(0.5, abs=0.03)
    # fixed seed: the same p
    assert sd.pooled_placebo(2, [1, -1, 3, -3], 2, n_sets=500, seed=7)[0] == \
        sd.pooled_placebo(2, [1, -1, 3, -3], 2, n_sets=500, seed=7)[0]
    with pytest.raises(ValueError, match="need at least 3"):
        sd.pooled_placebo(1, [1, 2], 3)


def test_pooled_and_results_keys():
    tab = pd.DataFrame({"la_code": ["890", "908"], "area": ["Blackpool", "Cornwall"], "did": [-1.0, -3.0],
                        "lower": [-1.98, -3.98], "upper": [-0.02, -2.02], "pre_slope": [0.1, 0.0],
                        "placebo_p": [0.2, 0.5], "n_neighbours": [9, 10], "n_placebo": [4, 4]})
    pool = H.pooled(tab, [1, -1, 3, -3], n_sets=100, seed=3)
    assert pool["value"] == pytest.approx(-2) and pool["n_sets"] == 100
    # a mean of two of (1, -1, 3, -3) is at least 2 in absolute value for {1,3} and {-1,-3}: 2 of 6 pairs
    assert pool["placebo_p"] == pytest.approx(2 / 6, abs=0.12)
    res = H.suspension_results(tab, pool).set_index("key")
    for k in ("headstart_areas.890.suspension.did", "headstart_areas.890.suspension.placebo_p",
              "headstart_areas.pooled.suspension.did", "headstart_areas.pooled.suspension.placebo_p"):
        assert k in res.index
    assert res.loc["headstart_areas.908.suspension.did", "lower"] == -3.98
    with pytest.raises(NotComputed):
        H.pooled(tab.iloc[:0], [1, 2])


@pytest.fixture(scope="module")
def official():
    return public.load_dfe_exclusions_la(), public.load_la_codes(), public.load_statistical_neighbours()


def test_each_area_is_the_exclusions_primary_design(official):
    la, codes, sn = official
    d = H.area_designs(la, codes, sn, areas=["890", "886"])
    prim = XD.primary_design(la, codes, sn, "890")
    assert d["890"].did["estimate"] == prim.did["estimate"]
    assert d["890"].placebo_p == prim.placebo_p
    # the HeadStart areas are never placebos or neighbours of one another
    assert not set(d["886"].placebos["la_code"]) & set(sd.HEADSTART)
    assert not set(d["886"].neighbours) & set(sd.HEADSTART)


def test_not_computed(official):
    la, codes, sn = official
    with pytest.raises(NotComputed, match="LA 999"):
        H.area_designs(la, codes, sn, areas=["999"])
    ft = public.load_fingertips_selfharm_utla()
    with pytest.raises(NotComputed, match="self-harm"):
        H.selfharm_part(ft[ft["area_code"] == "E92000001"], codes, sn, n_sets=10)


def test_caveat_problems():
    ok = {"headstart_areas.pooled.suspension.did": {"value": -1.4},
          "headstart_areas.pooled.suspension.placebo_p": {"value": 0.14}}
    assert H.caveat_problems(ok) == []
    bad = {"headstart_areas.pooled.suspension.did": {"value": 0.3},
           "headstart_areas.pooled.suspension.placebo_p": {"value": 0.01}}
    assert len(H.caveat_problems(bad)) == 2


def test_data_text_names_what_the_chapter_reads():
    la = pd.DataFrame({"year": ["2006/07"] * 700 + ["2022/23"] * 600})
    sn = pd.DataFrame({"la_code": ["890", "890", "316"]})
    ft = pd.DataFrame({"period": ["2011/12", "2017/18"]})
    assert H.data_text(la, sn, ft) == (
        "DfE exclusions: 1,300 rows, 2006/07 to 2022/23; statistical neighbours: 2 authorities; Fingertips: 2011/12 "
        "to 2017/18. HeadStart areas: " + ", ".join(f"{n} ({c})" for c, n in H.AREAS.items()) + ".")
    assert "Blackpool (890)" in H.data_text(la, sn, ft)
