"""The exclusions design on the shipped official statistics, recomputed independently with plain pandas
(from the CSV files, not through rrlib's loaders or its design functions)."""
import numpy as np
import pandas as pd
import pytest

from rrlib import paths, public
from rrlib.chapters import exclusions as X

HS = {"890", "908", "810", "886", "316", "336"}


@pytest.fixture(scope="module")
def raw():
    d = paths.PUBLIC_DIR
    la = pd.read_csv(d / "dfe_exclusions_la_2006_2023.csv", dtype=str).replace({"z": np.nan, "x": np.nan, "c": np.nan})
    codes = pd.read_csv(d / "dfe_la_codes.csv", dtype=str)
    sn = pd.read_csv(d / "dfe_statistical_neighbours.csv", dtype=str)
    la = la[la["level"] == "Local authority"].merge(codes, left_on=["area_code", "area"],
                                                     right_on=["new_la_code", "la_name"])
    la["y"] = la["year"].str[:4].astype(int)
    wide = la.pivot(index="y", columns="old_la_code", values="susp_rate").astype(float)
    return wide, sn, la


def _did(wide, code, nbrs, years, start=2016):
    w = wide.loc[years]
    nb = [c for c in nbrs if w[c].notna().all()]
    gap = w[code] - w[nb].mean(axis=1)
    return gap[gap.index >= start].mean() - gap[gap.index < start].mean(), nb


def test_primary_did_and_placebo_p_recomputed_independently(raw):
    wide, sn, _ = raw
    years = [y for y in range(2006, 2022) if y not in (2019, 2020)]
    s21 = sn[sn["version"] == "2021-04"]
    nbrs = {c: [n for n in g.sort_values("rank", key=lambda r: r.astype(int))["neighbour_code"] if n not in HS]
            for c, g in s21.groupby("la_code")}
    obs, used = _did(wide, "890", nbrs["890"], years)
    complete = {c for c in wide.columns if wide.loc[years, c].notna().all()}
    effects = []
    for c, nb in nbrs.items():
        if c in HS or c not in complete:
            continue
        nb = [n for n in nb if n in complete]
        if len(nb) >= 5:
            effects.append(_did(wide, c, nb, years)[0])
    p = (1 + sum(abs(e) >= abs(obs) - 1e-12 for e in effects)) / (1 + len(effects))
    res = X.primary_design(public.load_dfe_exclusions_la(), public.load_la_codes(),
                           public.load_statistical_neighbours(), "890", in_time=False, loo=False)
    assert res.did["estimate"] == pytest.approx(obs, abs=1e-9)
    assert res.neighbours == used and "810" not in used
    assert len(res.placebos) == len(effects)
    assert res.placebo_p == pytest.approx(p)


def test_funnel_phi_recomputed_independently(raw):
    _, _, la = raw
    d = la[la["year"] == "2022/23"].copy()
    d = d[pd.to_numeric(d["headcount"]) > 0]
    n = d["headcount"].astype(float).to_numpy()
    x = d["suspension"].astype(float).to_numpy()
    full = pd.read_csv(paths.PUBLIC_DIR / "dfe_exclusions_la_2006_2023.csv", dtype=str)
    p0 = float(full[(full["year"] == "2022/23") & (full["level"] == "National")]["susp_rate"].iloc[0]) / 100
    z = (x / n - p0) / np.sqrt(p0 / n)
    lo, hi = np.percentile(z, [10, 90])
    phi = np.mean(np.clip(z, lo, hi) ** 2)
    w = n / p0
    k = len(z)
    tau2 = (k * phi - (k - 1)) / (w.sum() - (w ** 2).sum() / w.sum())
    units, od, _ = X.honest_funnel(X.dfe_rates(public.load_dfe_exclusions_la()), "2022/23", "suspension")
    assert od["phi"] == pytest.approx(phi, rel=1e-9)
    assert od["tau"] == pytest.approx(np.sqrt(tau2) * 100, rel=1e-9)     # per 100 pupils
    b = units[units["area"] == "Blackpool"].iloc[0]
    i = np.flatnonzero(d["area"].to_numpy() == "Blackpool")[0]
    assert b["z_adjusted"] == pytest.approx((x[i] / n[i] - p0) / np.sqrt(p0 / n[i] + tau2), rel=1e-9)


def test_caveat_problems_flags_a_changed_fact():
    p = "exclusions.its.suspension."
    res = {p + "statistical_neighbours.primary.did": {"value": -3}, p + "sensitivity.north_west.did": {"value": 2},
           p + "sensitivity.england.did": {"value": 2}, p + "statistical_neighbours.primary.placebo_p": {"value": 0.1},
           "exclusions.funnel.y2022_23.suspension.above_99_8": {"value": 0}}
    assert X.caveat_problems(res) == []
    res[p + "sensitivity.england.did"] = {"value": -1}
    res["exclusions.funnel.y2022_23.suspension.above_99_8"] = {"value": 1}
    assert len(X.caveat_problems(res)) == 2
