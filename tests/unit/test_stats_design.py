"""rrlib.stats.design, synth and the Spiegelhalter funnel on constructed data with answers by hand."""
import numpy as np
import pandas as pd
import pytest

from rrlib.stats import design as sd
from rrlib.stats import funnel as sf
from rrlib.stats import synth as ss


def test_placebo_p_by_hand():
    # observed 2.0; placebos with |effect| >= 2: -3, 2.0, 5 -> 3 of 6; p = (1 + 3) / (1 + 6)
    assert sd.placebo_p(2.0, [0.5, -3, 2.0, 1.9, 5, -0.1]) == pytest.approx(4 / 7)
    assert sd.placebo_p(-10, [1, 2, 3]) == pytest.approx(1 / 4)
    assert sd.placebo_p(0, [1, 2, 3]) == pytest.approx(1.0)
    assert sd.placebo_p(1, [np.nan, 2]) == pytest.approx(2 / 2)


def _panel():
    years = list(range(2006, 2022))
    rng = np.random.default_rng(1)
    cols = {f"{100 + i}": 5 + 0.1 * i + rng.normal(0, 0.01, len(years)) for i in range(12)}
    p = pd.DataFrame(cols, index=years)
    p["890"] = p[["100", "101", "102", "103", "104"]].mean(axis=1) + 1.0
    p.loc[p.index >= 2016, "890"] += 2.0      # a planted change in the gap of +2
    return p


def test_neighbour_did_recovers_planted_change_and_placebo_p():
    p = _panel()
    w = sd.Window(first=2006, start=2016, end=2021, exclude=(2019, 2020))
    est, ser, used = sd.neighbour_did(p, "890", ["100", "101", "102", "103", "104", "810"], w)
    assert used == ["100", "101", "102", "103", "104"]
    did = est.set_index("term").loc["did"]
    assert did["estimate"] == pytest.approx(2.0, abs=1e-9)
    # by hand: mean gap after - mean gap before
    g = ser["gap"].to_numpy()
    post = ser["year"].to_numpy() >= 2016
    assert did["estimate"] == pytest.approx(g[post].mean() - g[~post].mean())
    assert 2019 not in set(ser["year"])
    # placebos: every other unit against 5 others; their effects are ~0, so p = 1 / (1 + N)
    nmap = {c: [x for x in p.columns if x not in (c, "890")][:5] for c in p.columns}
    pl = sd.placebo_in_space(p, nmap, w, treated=("890",))
    assert len(pl) == 12 and (pl["effect"].abs() < 0.05).all()
    assert sd.placebo_p(did["estimate"], pl["effect"]) == pytest.approx(1 / 13)


def test_too_few_neighbours_is_an_error():
    p = _panel()
    with pytest.raises(ValueError, match="need 5"):
        sd.neighbour_did(p, "890", ["100", "101"], sd.Window())


def test_neighbours_of_leaves_out_headstart():
    sn = pd.DataFrame({"version": "2021-04", "la_code": "890", "rank": [1, 2, 3],
                       "neighbour_code": ["805", "810", "806"]})
    assert sd.neighbours_of(sn, "890") == ["805", "806"]


def test_all_neighbours_is_neighbours_of_for_every_area():
    sn = pd.DataFrame({"version": ["2021-04"] * 6 + ["2025-05"] * 2,
                       "la_code": ["890", "890", "890", "805", "805", "805", "890", "890"],
                       "rank": [2, 1, 3, 3, 1, 2, 1, 2],
                       "neighbour_code": ["810", "805", "806", "890", "807", "808", "806", "805"]})
    for version in ("2021-04", "2025-05"):
        got = sd.all_neighbours(sn, version=version)
        assert got == {c: sd.neighbours_of(sn, c, version=version)
                       for c in sn[sn["version"] == version]["la_code"].unique()}
    assert sd.all_neighbours(sn) == {"890": ["805", "806"], "805": ["807", "808"]}


def test_winsorised_phi_and_tau_by_hand():
    # ten units, each with s = 1 (w = 1): z = 1..10. Type-7 quantiles: 10% = 1.9, 90% = 9.1.
    z = np.arange(1.0, 11.0)
    s = np.ones(10)
    zw = np.array([1.9, 2, 3, 4, 5, 6, 7, 8, 9, 9.1])
    phi = np.sum(zw ** 2) / 10
    od = sf.overdispersion(z, s)
    assert od["phi"] == pytest.approx(phi)
    # tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w) = (10 phi - 9) / (10 - 1)
    assert od["tau2"] == pytest.approx((10 * phi - 9) / 9)
    # unequal weights: s = (1, 2) pattern
    s2 = np.array([1, 2] * 5, float)
    w = 1 / s2 ** 2
    od2 = sf.overdispersion(z, s2)
    assert od2["tau2"] == pytest.approx((10 * phi - 9) / (w.sum() - (w ** 2).sum() / w.sum()))
    # no overdispersion: tau^2 = 0
    assert sf.overdispersion(np.array([0.1, -0.2, 0.3, -0.1, 0.0]), np.ones(5))["tau2"] == 0.0


def test_overdispersed_funnel_against_an_independent_computation():
    # Poisson counts in 6 units of 1000 pupils, target 5 per 100: s = sqrt(0.05 / 1000) * 100
    count = np.array([30, 45, 50, 55, 70, 120.0])
    n = np.full(6, 1000.0)
    units, od = sf.overdispersed_funnel(count, n, 5.0, kind="count")
    s = np.sqrt(0.05 / 1000) * 100
    z = (count / 10 - 5) / s
    lo, hi = np.quantile(z, [0.1, 0.9])
    phi = np.mean(np.clip(z, lo, hi) ** 2)
    w = np.full(6, 1 / s ** 2)
    tau2 = (6 * phi - 5) / (w.sum() - (w ** 2).sum() / w.sum())
    assert od["phi"] == pytest.approx(phi) and od["tau2"] == pytest.approx(tau2)
    assert units["z_adjusted"].to_numpy() == pytest.approx((count / 10 - 5) / np.sqrt(s ** 2 + tau2))
    assert units["position"].iloc[-1] == "above 99.8%"
    lim = sf.overdispersed_limits(5.0, [1000.0], tau2, kind="count")
    assert lim["upper_99_8"].iloc[0] == pytest.approx(5 + 3.090232306 * np.sqrt(s ** 2 + tau2), rel=1e-6)


def test_rank_interval_contains_rank_and_is_reproducible():
    c = np.array([10, 20, 30, 40, 500.0])
    n = np.full(5, 1000.0)
    a = sf.rank_interval(c, n, kind="count", reps=500)
    b = sf.rank_interval(c, n, kind="count", reps=500)
    assert a.equals(b)
    assert list(a["rank"]) == [5, 4, 3, 2, 1]
    assert a.loc[4, "rank_lower"] == a.loc[4, "rank_upper"] == 1
    assert ((a["rank_lower"] <= a["rank"]) & (a["rank"] <= a["rank_upper"])).all()


def test_synthetic_control_recovers_a_convex_combination():
    years = list(range(2006, 2022))
    t = np.arange(len(years), dtype=float)
    donors = pd.DataFrame({"a": 4 + 0.3 * t, "b": 8 - 0.2 * t, "c": 6 + np.sin(t), "d": 5 + 0.05 * t ** 1.5},
                          index=years)
    p = donors.copy()
    p["890"] = 0.6 * donors["a"] + 0.4 * donors["c"]
    p.loc[p.index >= 2016, "890"] += 1.5
    res = ss.synthetic_control(p, "890", ["a", "b", "c", "d"], sd.Window())
    assert res.weights["a"] == pytest.approx(0.6, abs=0.02) and res.weights["c"] == pytest.approx(0.4, abs=0.02)
    assert res.rmspe_pre < 0.05
    assert res.gap_post == pytest.approx(1.5, abs=0.05)
    pl, p_ratio, p_gap = ss.synth_placebos(p, "890", ["a", "b", "c", "d"], sd.Window(), result=res)
    assert len(pl) == 4 and 1 / 5 <= p_ratio <= 1
    # each placebo is exactly synthetic_control of that donor from the others (the loop skips the re-checks)
    for row in pl.itertuples():
        r = ss.synthetic_control(p, row.la_code, [x for x in ["a", "b", "c", "d"] if x != row.la_code], sd.Window())
        assert (row.rmspe_pre, row.rmspe_post, row.gap_post) == (r.rmspe_pre, r.rmspe_post, r.gap_post)


def test_abadie_weights_agree_with_pysyncon():
    pytest.importorskip("pysyncon")
    rng = np.random.default_rng(7)
    Y0 = rng.normal(5, 1, size=(8, 20)) + np.linspace(0, 1, 8)[:, None]
    y1 = Y0[:, :3] @ np.array([0.5, 0.3, 0.2]) + rng.normal(0, 0.05, 8)
    a = ss.abadie_weights(y1, Y0)
    b = ss.pysyncon_weights(y1, Y0)
    assert a.sum() == pytest.approx(1) and (a >= 0).all()
    x1, X0 = ss.scaled_predictors(y1, Y0)
    # more donors than years: the weights need not be unique, but the exact solver's loss is never
    # worse than pysyncon's SLSQP and the fitted pre-period paths agree
    assert np.sum((x1 - X0 @ a) ** 2) <= np.sum((x1 - X0 @ b) ** 2) + 1e-6
    assert np.abs(Y0 @ a - Y0 @ b).max() < 0.05
    # fewer donors than years (a unique solution): the weights themselves agree
    Y0s = Y0[:, :5]
    y1s = Y0s @ np.array([0.6, 0.0, 0.4, 0.0, 0.0]) + rng.normal(0, 0.05, 8)
    assert ss.abadie_weights(y1s, Y0s) == pytest.approx(ss.pysyncon_weights(y1s, Y0s), abs=0.01)


def test_cem_weights_and_weighted_proportions_by_hand():
    from rrlib.stats import matching
    t = pd.DataFrame({"s": ["a", "a", "b", "c"], "y": [1, 0, 1, 1]})
    c = pd.DataFrame({"s": ["a", "b", "b", "b", "d"], "y": [1, 0, 1, 1, 0]})
    tm, cm, k = matching.cem_weights(t, c, ["s"])
    assert k == 2 and len(tm) == 3 and len(cm) == 4          # stratum c (no control) and d (no treated) dropped
    # weight = (T_s / C_s) x (C / T): a: 2/1 x 4/3 = 8/3; b: 1/3 x 4/3 = 4/9
    assert cm["weight"].tolist() == pytest.approx([8 / 3, 4 / 9, 4 / 9, 4 / 9])
    r = matching.weighted_proportions(tm["y"], cm["y"], cm["weight"])
    share = (8 / 3 * 1 + 4 / 9 * 2) / (8 / 3 + 4 / 3)          # weighted control share = 8/9
    assert r["comparison_percent"] == pytest.approx(share * 100)
    assert r["effective_controls"] == pytest.approx(4 ** 2 / ((8 / 3) ** 2 + 3 * (4 / 9) ** 2))
    assert r["treated_percent"] == pytest.approx(200 / 3)
    with pytest.raises(ValueError, match="coarsen"):
        matching.cem_weights(t[t["s"] == "c"], c, ["s"])
