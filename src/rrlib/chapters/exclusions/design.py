"""Chapter 2, the pre-specified evaluation on official statistics (``notebooks/plans/exclusions.md``).

Every function takes the authority as its DfE old LA code (``"890"`` is Blackpool), so the same
code serves the six HeadStart areas and any authority. The methods are in :mod:`rrlib.stats.design`
(neighbour comparison, placebo in space and time, leave-one-out), :mod:`rrlib.stats.synth`
(synthetic control; Abadie, Diamond & Hainmueller 2010) and :mod:`rrlib.stats.funnel`
(Spiegelhalter 2005 overdispersed funnels). :data:`PLAN` is the plan's machine-readable part; a
test checks that the plan's text and this dictionary agree.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ... import figures
from ... import public as pub
from ...chapter import NotComputed, Part
from ...stats import design as sd
from ...stats import funnel as sf
from ...stats import synth as ss
from .official import DFE_2023_SOURCE, MEASURES, choose_comparators

#: The public tables each part draws (its figures' sidecars name the files read: rrlib.public.read_path).
DESIGN_SOURCES = (pub.DFE_EXCLUSIONS_LA, pub.LA_CODES, pub.STATISTICAL_NEIGHBOURS)

__all__ = ["PLAN", "PRIMARY_WINDOW", "HEADSTART_NAMES", "code_key", "panel", "la_name_of", "primary_design",
           "sensitivity", "synthetic", "honest_funnel", "selfharm_design", "design_results", "synth_results",
           "funnel_results", "selfharm_results", "plot_primary", "plot_sensitivity", "plot_synth",
           "plot_overdispersed_funnel", "sensitivity_table", "in_time_table", "weights_table",
           "primary_part", "sensitivity_part", "synth_part", "funnel_part", "selfharm_part", "plot_selfharm",
           "caveat_problems", "require_series", "region_of", "region_key"]

#: The plan written before the results (notebooks/plans/exclusions.md, "Machine-readable part").
PLAN = {
    "outcome": "suspension",
    "school_type": "Total",
    "comparison": "unweighted mean of the DfE April 2021 statistical neighbours, HeadStart areas left out",
    "neighbour_version": "2021-04",
    "headstart": sd.HEADSTART,
    "before": (2006, 2015),
    "after": (2016, 2021),
    "excluded_years": (2019, 2020),
    "scale": "difference",
    "min_neighbours": 5,
    "false_starts": (2009, 2013),
    "sensitivity": ("include_2022_23", "pilot_years_out", "covid_included", "neighbours_2025", "similarity_comparators",
                    "pooled_rate", "ratio_scale", "north_west", "england", "secondary", "one_plus", "permanent"),
}
PRIMARY_WINDOW = sd.Window(first=PLAN["before"][0], start=PLAN["after"][0], end=PLAN["after"][1],
                           exclude=PLAN["excluded_years"])
HEADSTART_NAMES = {"890": "Blackpool", "908": "Cornwall", "810": "Kingston upon Hull", "886": "Kent",
                   "316": "Newham", "336": "Wolverhampton"}
SOURCE = ("DfE, Suspensions and permanent exclusions in England, 2022/23 release (exc_nat_region_la.csv); "
          "DfE statistical neighbours (April 2021); Open Government Licence v3.0")
SENSITIVITY_LABELS = {
    "primary": "Primary: April 2021 neighbours (HeadStart out), mean",
    "include_2022_23": "2022/23 included in after",
    "pilot_years_out": "Pilot years 2014/15-2015/16 left out",
    "covid_included": "COVID-19 years 2019/20-2020/21 included",
    "neighbours_2025": "May 2025 neighbours",
    "similarity_comparators": "Chapter's similarity comparators",
    "pooled_rate": "Neighbours' pooled rate",
    "ratio_scale": "Ratio scale (ratio of ratios)",
    "north_west": "North West",
    "england": "England",
    "secondary": "Secondary schools",
    "one_plus": "One-or-more rate",
    "permanent": "Permanent exclusions",
}


def code_key(la_code: str) -> str:
    """Result-key fragment of an authority: ``blackpool`` for 890, else ``la<code>``."""
    return "blackpool" if str(la_code) == "890" else f"la{la_code}"


def _old_codes(df: pd.DataFrame, codes: pd.DataFrame) -> pd.Series:
    m = {(n, nm): o for o, n, nm in codes[["old_la_code", "new_la_code", "la_name"]].itertuples(index=False)}
    return pd.Series([m.get(k) for k in zip(df["area_code"], df["la_name"])], index=df.index)


def la_name_of(codes: pd.DataFrame, la_code: str) -> str:
    """The authority's name in the DfE series (from :func:`rrlib.public.load_la_codes`)."""
    n = codes.loc[codes["old_la_code"] == str(la_code), "la_name"]
    return str(n.iloc[0]) if len(n) else str(la_code)


def require_series(pnl: pd.DataFrame, codes: pd.DataFrame, la_code: str, window: sd.Window, what: str) -> None:
    """Raise :class:`rrlib.chapter.NotComputed`, with a reason a reader understands, when ``la_code``
    cannot be compared over ``window`` in ``pnl`` (:func:`panel`'s shape): an authority formed by a
    boundary change after the window's first year (no years before the programme: unlike areas are not
    compared); no rows; or years without a published value (suppressed or missing: ``x``, ``c``, ``z``
    or empty, skipped by rule; a series with gaps is not compared). Nothing is recorded then."""
    la_code = str(la_code)
    name = la_name_of(codes, la_code)
    first = codes.loc[codes["old_la_code"] == la_code, "first_year"]
    if len(first) and int(str(first.min())[:4]) > window.first:
        raise NotComputed(f"{name} exists in the DfE series only from {first.min()} (formed by a boundary change), "
                          f"so it has no years before the programme ({window.describe()}): nothing is compared "
                          "or recorded rather than comparing unlike areas")
    if la_code not in pnl.columns:
        raise NotComputed(f"{name} has no rows in the {what}")
    v = pnl[la_code].reindex(window.years)
    miss = [f"{y}/{(y + 1) % 100:02d}" for y, x in v.items() if not np.isfinite(x)]
    if miss:
        raise NotComputed(f"{name} has no published {what} in {len(miss)} of {len(v)} years of the window "
                          f"({', '.join(miss)}): suppressed or missing values (x, c, z or empty) are skipped by "
                          "rule, and a series with gaps is not compared")


def _design_or_skip(fn, *args, **kw):
    """``fn(*args, **kw)``, a ValueError of the design (too few neighbours with a complete series, no
    neighbours in the model) turned into :class:`rrlib.chapter.NotComputed` with its message."""
    try:
        return fn(*args, **kw)
    except ValueError as exc:
        raise NotComputed(str(exc)) from None


def panel(la: pd.DataFrame, codes: pd.DataFrame, *, measure: str = "suspension", value: str = "rate",
          areas: Sequence[str] = ()) -> pd.DataFrame:
    """Outcome by school year (rows: first calendar year, int) and authority (columns: DfE old LA code).

    ``la``: :func:`rrlib.public.load_dfe_exclusions_la` (Total) or its secondary version; ``codes``:
    :func:`rrlib.public.load_la_codes`. ``value``: ``rate`` (published rate per 100), ``count`` or
    ``headcount``. ``areas``: regions or England to add as columns under their names.
    """
    spec = MEASURES[measure]
    col = {"rate": spec["rate"], "count": spec["count"], "headcount": "headcount"}[value]
    x = la[la["level"] == "Local authority"].assign(code=lambda d: _old_codes(d, codes))
    x = x[x["code"].notna()]
    if list(areas):
        a = la[la["la_name"].isin(list(areas)) & (la["level"] != "Local authority")].assign(code=lambda d: d["la_name"])
        x = pd.concat([x, a])
    x = x.assign(y=x["year"].str[:4].astype(int))
    return x.pivot(index="y", columns="code", values=col).astype(float).sort_index()


def primary_design(la: pd.DataFrame, codes: pd.DataFrame, sn: pd.DataFrame, la_code: str = "890",
                   window: sd.Window = PRIMARY_WINDOW, **kw) -> sd.DesignResult:
    """The plan's primary comparison for ``la_code`` (:func:`rrlib.stats.design.primary_design` on the
    suspension rate of :func:`panel`)."""
    return sd.primary_design(panel(la, codes), la_code, sn, window, version=PLAN["neighbour_version"],
                             min_neighbours=PLAN["min_neighbours"], **kw)


def _did_row(key, est, *, placebo=None, n=None, note="", label=None) -> dict:
    d = est[est["term"] == "did"].iloc[0]
    ps = est[est["term"] == "pre_slope"].iloc[0]
    return {"analysis": key, "label": label or SENSITIVITY_LABELS[key], "scale": d["scale"], "did": d["estimate"],
            "lower": d["lower"], "upper": d["upper"], "pre_slope": ps["estimate"], "placebo_p": placebo,
            "n_comparison": n, "years": int(d["n"]), "note": note}


def region_of(codes: pd.DataFrame, la_code: str) -> str:
    """The authority's DfE region (``region_name`` of :func:`rrlib.public.load_la_codes`)."""
    r = codes.loc[codes["old_la_code"] == str(la_code), "region_name"] if "region_name" in codes else pd.Series()
    return str(r.iloc[-1]) if len(r) else "North West"


def region_key(region: str) -> str:
    """Sensitivity-row key of the region comparison: ``north_west`` for the North West (Blackpool's,
    as the plan names it), ``region`` for any other."""
    return "north_west" if region == "North West" else "region"


def sensitivity(la: pd.DataFrame, codes: pd.DataFrame, sn: pd.DataFrame, la_code: str = "890", *,
                secondary: pd.DataFrame | None = None, similarity: Sequence[str] = (),
                primary: sd.DesignResult | None = None, placebo: bool = True) -> pd.DataFrame:
    """The plan's sensitivity analyses side by side (one row each; :data:`PLAN` ``sensitivity``).

    Each changes one thing in the primary comparison. Neighbour-based rows carry their own
    placebo-in-space p-value (``placebo=True``). ``similarity``: old LA codes of the chapter's
    similarity comparators; ``secondary``: the secondary-school table (row skipped without it).
    The region row compares with the authority's own region (:func:`region_of`; ``north_west`` for
    Blackpool, ``region`` for an authority elsewhere).
    Columns: analysis, label, scale, did, lower, upper, pre_slope, placebo_p, n_comparison, years, note;
    ``attrs["left_out"]``: (label, reason) of the analyses that could not be computed.
    """
    w = PRIMARY_WINDOW
    region, name = region_of(codes, la_code), la_name_of(codes, la_code)
    prim = primary or primary_design(la, codes, sn, la_code, in_time=False, loo=False)
    rows = [_did_row("primary", prim.estimates, placebo=prim.placebo_p, n=len(prim.neighbours),
                     note=w.describe())]
    p_sus = panel(la, codes, areas=(region, "England"))
    left_out = []

    def nb(key, pnl, window=w, version="2021-04", note="", **kw):
        n = len(rows)
        try:
            _nb(key, pnl, window, version, note, **kw)
        except ValueError as exc:   # no complete series of the area or of enough neighbours: row left out, said
            left_out.append((SENSITIVITY_LABELS[key], str(exc)))
        if len(rows) > n and not np.isfinite(rows[-1]["did"]):   # e.g. a rate of 0 on the ratio scale
            rows.pop()
            left_out.append((SENSITIVITY_LABELS[key], "no finite estimate (a rate of 0 has no logarithm)"))

    def _nb(key, pnl, window, version, note, **kw):
        r = sd.primary_design(pnl, la_code, sn, window, version=version, in_time=False, loo=False, **kw) \
            if placebo else None
        if r is None:
            nbrs = sd.neighbours_of(sn, la_code, version=version, exclude=set(sd.HEADSTART) | {str(la_code)})
            est, _, used = sd.neighbour_did(pnl, la_code, nbrs, window, **kw)
            rows.append(_did_row(key, est, n=len(used), note=note or window.describe()))
        else:
            rows.append(_did_row(key, r.estimates, placebo=r.placebo_p, n=len(r.neighbours),
                                 note=note or window.describe()))

    nb("include_2022_23", p_sus, sd.with_window(w, end=2022))
    nb("pilot_years_out", p_sus, sd.with_window(w, exclude=(*w.exclude, 2014, 2015)))
    nb("covid_included", p_sus, sd.with_window(w, exclude=()))
    nb("neighbours_2025", p_sus, version="2025-05")
    if len(similarity):
        est, _, used = sd.neighbour_did(p_sus, la_code, list(similarity), w, min_neighbours=3)
        rows.append(_did_row("similarity_comparators", est, n=len(used),
                             note="closest on 2015/16 suspension rate and January 2016 FSM share"))
    nb("pooled_rate", p_sus, counts=panel(la, codes, value="count"), denominators=panel(la, codes, value="headcount"),
       note="sum of suspensions / sum of pupils of the neighbours")
    nb("ratio_scale", p_sus, scale="ratio", note=f"log({name} / neighbours' mean); shown as a ratio")
    for key, area in ((region_key(region), region), ("england", "England")):
        est = sd.gap_did(p_sus[str(la_code)], p_sus[area], w)
        rows.append(_did_row(key, est, n=1, note=f"{area}'s published rate",
                             label=area if key == "region" else None))
    if secondary is not None:
        nb("secondary", panel(secondary, codes), note="state-funded secondary schools")
    nb("one_plus", panel(la, codes, measure="one_plus"), note="pupils with one or more suspensions per 100")
    nb("permanent", panel(la, codes, measure="permanent"), note="permanent exclusions per 100 pupils")
    out = pd.DataFrame(rows)
    ratio = out["scale"] == "ratio"
    for c in ("did", "lower", "upper"):
        out.loc[ratio, c] = np.exp(out.loc[ratio, c])
    out.attrs["left_out"] = left_out
    return out


def sensitivity_table(sens: pd.DataFrame) -> pd.DataFrame:
    """For display: analysis, estimate (95% CI), pre-period slope, placebo p, comparison areas."""
    def fmt(r):
        return f"{r['did']:+.2f} ({r['lower']:+.2f} to {r['upper']:+.2f})" if r["scale"] == "difference" \
            else f"{r['did']:.2f} ({r['lower']:.2f} to {r['upper']:.2f}) ratio"
    return pd.DataFrame({"analysis": sens["label"], "change in gap (95% CI)": sens.apply(fmt, axis=1),
                         "pre-period slope of gap": sens["pre_slope"].round(3),
                         "placebo p": sens["placebo_p"].map(lambda p: "" if pd.isna(p) else f"{p:.3f}"),
                         "comparison areas": sens["n_comparison"], "years": sens["years"]})


def in_time_table(res: sd.DesignResult) -> pd.DataFrame:
    return res.in_time.round(3)


def synthetic(la: pd.DataFrame, codes: pd.DataFrame, la_code: str = "890", *, placebos: bool = True):
    """Synthetic control of ``la_code``'s suspension rate (:mod:`rrlib.stats.synth`): donors every
    non-HeadStart authority with a complete series over the primary window; path drawn to 2022/23.
    Returns ``(result, placebos, p_ratio, p_gap)`` (placebos None, p NaN without ``placebos``)."""
    p = panel(la, codes)
    donors = [c for c in p.columns if c not in sd.HEADSTART]
    res = ss.synthetic_control(p, la_code, donors, PRIMARY_WINDOW, through=int(p.index.max()))
    if not placebos:
        return res, None, np.nan, np.nan
    pl, p_ratio, p_gap = ss.synth_placebos(p, la_code, donors, PRIMARY_WINDOW, result=res)
    return res, pl, p_ratio, p_gap


def weights_table(res: ss.SynthResult, codes: pd.DataFrame, *, min_weight: float = 0.001) -> pd.DataFrame:
    """Donors with weight >= ``min_weight``: la_code, authority, weight (3 dp), largest first."""
    w = res.weights[res.weights >= min_weight].sort_values(ascending=False)
    return pd.DataFrame({"la_code": w.index, "authority": [la_name_of(codes, c) for c in w.index],
                         "weight": w.round(3).to_numpy()})


def honest_funnel(la_rates: pd.DataFrame, year: str, measure: str, *, la_code_name: str = "Blackpool",
                  target_area: str = "England") -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Spiegelhalter (2005) funnel of every authority's ``measure`` in ``year`` against England.

    ``la_rates``: :func:`rrlib.chapters.exclusions.dfe_rates` of the 2006/07-2022/23 table. Returns
    ``(units, summary, limits)``: per authority its count, pupils, rate, z and adjusted z with plain and
    adjusted positions, rank (1 = highest) with a 95% interval (:func:`rrlib.stats.funnel.rank_interval`);
    summary phi, tau2, tau, the highlighted authority's row; limits on a grid of pupils, plain
    (exact Poisson / Wilson) and adjusted (additive tau^2)."""
    r = la_rates[(la_rates["year"] == year) & (la_rates["measure"].astype(str) == measure)
                 & (la_rates["school_type"] == "Total")]
    target = float(r.loc[r["area"] == target_area, "published_rate"].iloc[0])
    pts = r[(r["level"] == "Local authority") & (r["headcount"] > 0) & np.isfinite(r["rate"])].reset_index(drop=True)
    kind = MEASURES[measure]["kind"]
    units, od = sf.overdispersed_funnel(pts["count"], pts["headcount"], target, kind=kind)
    units.insert(0, "area", pts["area"].to_numpy())
    ranks = sf.rank_interval(pts["count"], pts["headcount"], kind=kind)
    units = pd.concat([units, ranks], axis=1)
    units["highlight"] = units["area"] == la_code_name
    grid = np.unique(np.geomspace(max(units["n"].min() * 0.8, 10), units["n"].max() * 1.2, 200))
    plain = sf.funnel_limits(target, grid, kind=kind)
    adj = sf.overdispersed_limits(target, grid, od["tau2"], kind=kind)
    limits = plain.merge(adj, on=["n", "target"], suffixes=("", "_adjusted"))
    return units, {**od, "target": target, "year": year, "measure": measure}, limits


def selfharm_design(ft: pd.DataFrame, codes: pd.DataFrame, sn: pd.DataFrame, la_code: str = "890"):
    """Self-harm admissions 10-24 (Fingertips 90813, 2011/12-2017/18, DSR per 100,000): the change in
    ``la_code``'s gap to England and to its April 2021 neighbours' mean (HeadStart out), before
    2011/12-2015/16 against 2016/17-2017/18, with placebo in space for the neighbour comparison.
    Returns ``(england_estimates, design_result)``."""
    m = {n: o for o, n in codes[["old_la_code", "new_la_code"]].itertuples(index=False)}
    f = ft.assign(code=ft["area_code"].map(m), y=ft["period"].str[:4].astype(int))
    eng = f[f["area_code"] == "E92000001"].set_index("y")["value"]
    p = f[f["code"].notna()].pivot_table(index="y", columns="code", values="value", aggfunc="first")
    w = sd.Window(first=2011, start=2016, end=2017, exclude=())
    e = sd.gap_did(p[str(la_code)], eng, w)
    d = sd.primary_design(p, la_code, sn, w, min_neighbours=PLAN["min_neighbours"], in_time=False, loo=False)
    return e, d


# --------------------------------------------------------------------------- results
def design_results(res: sd.DesignResult, *, measure: str = "suspension", prefix: str | None = None) -> pd.DataFrame:
    """Result rows of the primary comparison: ``exclusions.its.<measure>.statistical_neighbours.primary.
    <did|pre_slope|level_change|slope_change|placebo_p|n_placebo|n_neighbours>`` (Blackpool), or
    ``...primary.<la key>...`` for another authority."""
    k = prefix or f"exclusions.its.{measure}.statistical_neighbours.primary"
    if res.la_code != "890" and prefix is None:
        k += "." + code_key(res.la_code)
    note = (f"LA {res.la_code} minus the unweighted mean of its {len(res.neighbours)} April 2021 statistical "
            f"neighbours with a complete series (HeadStart areas out), {measure} rate per 100 pupils; "
            f"{res.window.describe()}; official statistics")
    rows = [{"key": f"{k}.{t['term']}", "value": t["estimate"], "lower": t["lower"], "upper": t["upper"],
             "unit": "points", "method": t["method"], "n": int(t["n"]), "note": note}
            for _, t in res.estimates.iterrows()]
    rows += [{"key": f"{k}.placebo_p", "value": res.placebo_p, "unit": "p", "n": len(res.placebos),
              "method": "placebo in space, two-sided rank p = (1 + #|effect| >= |observed|) / (1 + N)",
              "note": f"every non-HeadStart authority with >= {PLAN['min_neighbours']} non-HeadStart neighbours "
                      "with a complete series, compared with its own neighbours; official statistics"},
             {"key": f"{k}.n_neighbours", "value": len(res.neighbours), "unit": "count",
              "note": "neighbours used: " + ", ".join(res.neighbours)}]
    return pd.DataFrame(rows)


def synth_results(res: ss.SynthResult, p_ratio: float, p_gap: float, n_placebo: int,
                  measure: str = "suspension") -> pd.DataFrame:
    """``exclusions.synth.<measure>.gap_post``, ``.rmspe_pre``, ``.rmspe_post``, ``.placebo_p``, ``.placebo_p_gap``."""
    k = f"exclusions.synth.{measure}" + ("" if res.la_code == "890" else "." + code_key(res.la_code))
    note = (f"LA {res.la_code} minus its synthetic control ({int((res.weights > 0.001).sum())} donors with weight > "
            f"0.001 of {len(res.weights)}); {res.window.describe()}; official statistics")
    return pd.DataFrame([
        {"key": f"{k}.gap_post", "value": res.gap_post, "unit": "points", "note": note,
         "method": "synthetic control (Abadie, Diamond & Hainmueller 2010; pysyncon, V = I on pre-period outcomes)"},
        {"key": f"{k}.rmspe_pre", "value": res.rmspe_pre, "unit": "points", "note": "pre-period fit"},
        {"key": f"{k}.rmspe_post", "value": res.rmspe_post, "unit": "points", "note": "post-period"},
        {"key": f"{k}.placebo_p", "value": p_ratio, "unit": "p", "n": n_placebo,
         "note": "rank of the post/pre RMSPE ratio among every donor refitted as if treated"},
        {"key": f"{k}.placebo_p_gap", "value": p_gap, "unit": "p", "n": n_placebo,
         "note": "two-sided rank of |mean post-period gap| among the donors' placebo gaps"}])


def funnel_results(units: pd.DataFrame, summary: dict, *, highlight: str = "Blackpool") -> pd.DataFrame:
    """``exclusions.funnel.y<year>.<measure>.<z|z_adjusted|phi|tau|above_99_8|above_99_8_plain|rank...>``."""
    k = f"exclusions.funnel.y{summary['year'].replace('/', '_')}.{summary['measure']}"
    h = units[units["area"] == highlight].iloc[0]
    note = (f"{highlight} against England ({summary['target']:.3f} per 100), {summary['n_units']} authorities; "
            "Spiegelhalter (2005): 10% winsorised z, additive random effects; official statistics")
    return pd.DataFrame([
        {"key": f"{k}.z", "value": float(h["z"]), "unit": "z", "note": note},
        {"key": f"{k}.z_adjusted", "value": float(h["z_adjusted"]), "unit": "z", "note": note},
        {"key": f"{k}.phi", "value": summary["phi"], "unit": "ratio", "note": "overdispersion factor (winsorised)"},
        {"key": f"{k}.tau", "value": summary["tau"], "unit": "rate_per_100",
         "note": "between-authority standard deviation (additive random effects)"},
        {"key": f"{k}.above_99_8", "value": int(h["position_adjusted"] == "above 99.8%"), "unit": "boolean",
         "note": f"adjusted limits: {h['position_adjusted']}"},
        {"key": f"{k}.above_99_8_plain", "value": int(h["position"] == "above 99.8%"), "unit": "boolean",
         "note": f"plain (no overdispersion) normal limits: {h['position']}"},
        {"key": f"{k}.share_outside_99_8_plain", "value": float(units["position"].str.contains("99.8").mean()),
         "unit": "proportion", "note": "authorities outside the plain 99.8% limits"},
        {"key": f"{k}.rank", "value": int(h["rank"]), "lower": int(h["rank_lower"]), "upper": int(h["rank_upper"]),
         "unit": "count", "n": len(units), "note": "1 = highest rate; 95% interval from a parametric bootstrap"}])


def selfharm_results(eng: pd.DataFrame, des: sd.DesignResult) -> pd.DataFrame:
    """``exclusions.selfharm.<england|statistical_neighbours>.<did|pre_slope>`` and the neighbours' placebo p."""
    rows = []
    for comp, est in (("england", eng), ("statistical_neighbours", des.estimates)):
        for _, t in est[est["term"].isin(["did", "pre_slope"])].iterrows():
            rows.append({"key": f"selfharm_official.{comp}.{t['term']}", "value": t["estimate"],
                         "lower": t["lower"], "upper": t["upper"], "unit": "rate_per_100000", "n": int(t["n"]),
                         "method": t["method"], "note": "Fingertips 90813, DSR per 100,000 aged 10-24; before "
                         "2011/12-2015/16, after 2016/17-2017/18; official statistics"})
    rows.append({"key": "selfharm_official.statistical_neighbours.placebo_p", "value": des.placebo_p, "unit": "p",
                 "n": len(des.placebos), "note": "placebo in space over upper-tier authorities"})
    return pd.DataFrame(rows).assign(key=lambda d: "exclusions." + d["key"])


# --------------------------------------------------------------------------- figures (official statistics only)
def plot_primary(res: sd.DesignResult, name: str = "Blackpool", *, source: str = SOURCE):
    """The authority's suspension rate and its neighbours' mean by year, and the gap."""
    import matplotlib.pyplot as plt

    s = res.series
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.8))
    a1.plot(s["year"], s["treated"], "o-", color="#c0392b", ms=3, label=name)
    a1.plot(s["year"], s["comparison"], "s--", color="#7d3c98", ms=3, label="Statistical neighbours (mean)")
    a2.plot(s["year"], s["gap"], "o-", color="black", ms=3)
    pre = s["year"] < res.window.start
    for a in (a1, a2):
        a.axvline(res.window.start - 0.5, color="grey", lw=0.8, ls=":")
    for part, m in (("before", pre), ("after", ~pre)):
        a2.hlines(s.loc[m, "gap"].mean(), s.loc[m, "year"].min(), s.loc[m, "year"].max(), color="#2471a3", lw=1.5)
    a1.set_ylabel("suspensions per 100 pupils")
    a2.set_ylabel("gap (points)")
    a1.set_title("Rates (COVID-19 years left out)", fontsize=9)
    a2.set_title(f"Gap; mean before and after (DiD {res.did['estimate']:+.2f})", fontsize=9)
    a1.legend(fontsize=7, frameon=False)
    figures.source_note(fig, source, official=True)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_sensitivity(sens: pd.DataFrame, *, source: str = SOURCE, name: str = "Blackpool"):
    """Forest plot of the sensitivity analyses: differences (points) left, the ratio scale right."""
    import matplotlib.pyplot as plt

    d = sens[sens["scale"] == "difference"].iloc[::-1]
    r = sens[sens["scale"] == "ratio"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 0.32 * len(sens) + 1.6), width_ratios=(3, 1))
    y = np.arange(len(d))
    colours = np.where(d["analysis"] == "primary", "#c0392b", "black")
    dd, dl, du = (d[c].to_numpy(float) for c in ("did", "lower", "upper"))
    a1.errorbar(dd, y, xerr=[dd - dl, du - dd], fmt="none", ecolor="grey", capsize=2)
    a1.scatter(d["did"], y, c=colours, zorder=3, s=18)
    a1.set_yticks(y, d["label"], fontsize=7)
    a1.axvline(0, color="black", lw=0.8)
    a1.set_xlabel("change in gap after - before (points per 100 pupils)", fontsize=8)
    if len(r):
        rd, rl, ru = (r[c].to_numpy(float) for c in ("did", "lower", "upper"))
        a2.errorbar(rd, np.zeros(len(r)), xerr=[rd - rl, ru - rd], fmt="o", color="black", capsize=2)
        a2.axvline(1, color="black", lw=0.8)
        a2.set_yticks([0], ["Ratio scale"], fontsize=7)
        a2.set_xlabel("ratio of ratios", fontsize=8)
    else:
        a2.set_axis_off()
    fig.suptitle(f"Change in {name}'s suspension gap: primary comparison and sensitivity analyses", fontsize=9)
    figures.source_note(fig, source, official=True)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_synth(res: ss.SynthResult, placebos: pd.DataFrame | None, name: str = "Blackpool", *, source: str = SOURCE):
    """Treated and synthetic series (left) and the gap with the donors' placebo gaps (right)."""
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.8))
    p = res.path
    a1.plot(p["year"], p["treated"], "o-", color="#c0392b", ms=3, label=name)
    a1.plot(p["year"], p["synthetic"], "s--", color="#555555", ms=3, label=f"Synthetic {name}")
    a2.plot(p["year"], p["gap"], "o-", color="#c0392b", ms=3, label=f"{name} - synthetic")
    for a in (a1, a2):
        a.axvline(res.window.start - 0.5, color="grey", lw=0.8, ls=":")
        for y in res.window.exclude:
            a.axvspan(y - 0.5, y + 0.5, color="#f4d03f", alpha=0.25, lw=0)
    a2.axhline(0, color="black", lw=0.6)
    a1.set_ylabel("suspensions per 100 pupils")
    a2.set_ylabel("gap (points)")
    a1.legend(fontsize=7, frameon=False)
    a2.set_title(f"RMSPE before {res.rmspe_pre:.2f}; mean gap after {res.gap_post:+.2f}", fontsize=9)
    figures.source_note(fig, source, official=True)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_overdispersed_funnel(units: pd.DataFrame, summary: dict, limits: pd.DataFrame, *,
                              source: str = DFE_2023_SOURCE):
    """Funnel of authorities: plain limits dotted, overdispersion-adjusted limits solid, highlight in red."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.4))
    ax.scatter(units["n"], units["rate"], s=9, color="#888888")
    h = units[units["highlight"]]
    ax.scatter(h["n"], h["rate"], s=30, color="#c0392b", zorder=3, label=", ".join(h["area"]))
    ax.axhline(summary["target"], color="black", lw=0.8, label="England")
    for tag, ls in (("95", "-"), ("99_8", "-")):
        lw = 0.8 if tag == "95" else 1.3
        ax.plot(limits["n"], limits[f"upper_{tag}"], ":", color="#2471a3", lw=lw)
        ax.plot(limits["n"], limits[f"lower_{tag}"], ":", color="#2471a3", lw=lw)
        ax.plot(limits["n"], limits[f"upper_{tag}_adjusted"], ls, color="#7d3c98", lw=lw)
        ax.plot(limits["n"], limits[f"lower_{tag}_adjusted"], ls, color="#7d3c98", lw=lw)
    ax.plot([], [], ":", color="#2471a3", label="95% / 99.8% limits, plain")
    ax.plot([], [], "-", color="#7d3c98", label="95% / 99.8% limits, overdispersion-adjusted")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("pupils on roll")
    ax.set_ylabel("per 100 pupils")
    ax.set_title(f"{MEASURES[summary['measure']]['label']}, {summary['year']}\n"
                 f"phi = {summary['phi']:.1f}, tau = {summary['tau']:.2f} (Spiegelhalter 2005)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    figures.source_note(fig, source, official=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


# --------------------------------------------------------------------------- parts for the notebook
def _ci(v, lo, hi, dp=2) -> str:
    return f"{v:+.{dp}f} (95% CI {lo:+.{dp}f} to {hi:+.{dp}f})"


def _missing(used: Sequence[str], listed: Sequence[str]) -> str:
    if len(used) >= len(listed):
        return ""
    return (f"; {len(used)} of the {len(listed)} listed, the other {len(listed) - len(used)} without a complete "
            "series in the data")


def primary_part(la: pd.DataFrame, codes: pd.DataFrame, sn: pd.DataFrame, la_code: str = "890") -> Part:
    """The primary comparison as a :class:`rrlib.chapter.Part`: results (:func:`design_results`),
    the rates-and-gap figure, the sentences and the tables (estimates, in-time placebos, leave-one-out)."""
    require_series(panel(la, codes), codes, la_code, PRIMARY_WINDOW, "suspension rate")
    res = _design_or_skip(primary_design, la, codes, sn, la_code)
    name = la_name_of(codes, la_code)
    listed = sd.neighbours_of(sn, la_code, version=PLAN["neighbour_version"], exclude=set(sd.HEADSTART) | {str(la_code)})
    d, ps = res.did, res.term("pre_slope")
    n_big = int((res.placebos["effect"].abs() >= abs(d["estimate"]) - 1e-12).sum())
    nbrs = ", ".join(la_name_of(codes, c) for c in res.neighbours)
    it, lo = res.in_time, res.loo
    pool = set(sn.loc[sn["version"] == PLAN["neighbour_version"], "la_code"]) - set(sd.HEADSTART) - {str(la_code)}
    n_out = len(pool) - len(res.placebos)
    out = (f"; {n_out} authorities of the model without a complete series, or with fewer than "
           f"{PLAN['min_neighbours']} neighbours that have one, are left out by rule" if n_out > 0 else "")
    text = (f"**Primary comparison.** {name} against the mean of its {len(res.neighbours)} April 2021 statistical "
            f"neighbours outside HeadStart ({nbrs}){_missing(res.neighbours, listed)}. The gap changed by "
            f"**{_ci(d['estimate'], d['lower'], d['upper'])}** "
            f"suspensions per 100 pupils between 2006/07-2015/16 and 2016/17-2021/22 (COVID-19 years left out); "
            f"before the programme the gap was already changing by {ps['estimate']:+.3f} a year (95% CI "
            f"{ps['lower']:+.3f} to {ps['upper']:+.3f}). **Placebo in space:** {n_big} of {len(res.placebos)} "
            f"authorities compared with their own neighbours show a change at least as large in either direction "
            f"(p = **{res.placebo_p:.3f}**{out}). With false start years {it['false_start'].min()}/"
            f"{(it['false_start'].min() + 1) % 100:02d} to {it['false_start'].max()}/{(it['false_start'].max() + 1) % 100:02d}, "
            f"inside the years before the programme, the same comparison finds changes from {it['did'].min():+.2f} to "
            f"{it['did'].max():+.2f}. Leaving out one neighbour at a time gives {lo['did'].min():+.2f} to "
            f"{lo['did'].max():+.2f}.")
    est = res.estimates[["term", "estimate", "lower", "upper", "n_pre", "n_post"]].round(3)
    loo = lo.assign(left_out=[la_name_of(codes, c) for c in lo["left_out"]]).round(3)
    return Part(results=design_results(res), figures={"exclusions_design_primary": plot_primary(res, name)},
                text=text, tables=[est, it.round(3), loo], data=res, sources=DESIGN_SOURCES)


def sensitivity_part(la: pd.DataFrame, codes: pd.DataFrame, sn: pd.DataFrame, fsm: pd.DataFrame,
                     secondary: pd.DataFrame | None, primary: sd.DesignResult, la_code: str = "890", *,
                     k: int = 5) -> Part:
    """The sensitivity analyses side by side: results ``exclusions.its.suspension.sensitivity.<analysis>.did``
    (and ``.placebo_p``), the forest figure, the table and a sentence on agreement in sign."""
    try:
        comp = choose_comparators(la, fsm, k=k, area=la_name_of(codes, la_code))
    except NotComputed:      # no 2015/16 rate or FSM share to match on: that one row is left out
        comp = pd.DataFrame({"area_code": []})
    m = dict(zip(codes["new_la_code"], codes["old_la_code"]))
    sim = [m[c] for c in comp["area_code"].iloc[1:] if c in m]
    sens = sensitivity(la, codes, sn, la_code, secondary=secondary, similarity=sim, primary=primary)
    rows = []
    for _, r in sens.iterrows():
        unit = "ratio" if r["scale"] == "ratio" else "points"
        rows.append({"key": f"exclusions.its.suspension.sensitivity.{r['analysis']}.did", "value": r["did"],
                     "lower": r["lower"], "upper": r["upper"], "unit": unit, "n": int(r["years"]),
                     "note": f"{r['label']}: {r['note']}; official statistics"})
        if pd.notna(r["placebo_p"]):
            rows.append({"key": f"exclusions.its.suspension.sensitivity.{r['analysis']}.placebo_p",
                         "value": r["placebo_p"], "unit": "p", "note": r["label"]})
    diff = sens[sens["scale"] == "difference"]
    neg = diff[diff["did"] < 0]["label"].tolist()
    pos = diff[diff["did"] > 0]["label"].tolist()
    excl0 = diff[(diff["lower"] > 0) | (diff["upper"] < 0)]
    def way(key):
        v = sens.loc[sens["analysis"] == key, "did"]
        if v.empty:
            return None
        return "narrowed" if v.iloc[0] < 0 else "widened"
    name = la_name_of(codes, la_code)
    region = region_of(codes, la_code)
    rk = region_key(region)
    rname = "the North West" if rk == "north_west" else f"its region ({region})"
    signs = {k: way(k) for k in ("primary", rk, "england")}
    disagree = len({v for v in signs.values() if v}) > 1
    text = (f"Of {len(diff)} comparisons on the difference scale, {len(neg)} find that {name}'s gap narrowed and "
            f"{len(pos)} that it widened ({'; '.join(pos) or 'none'}); {len(excl0)} have model intervals that "
            f"exclude zero. Against the statistical neighbours the gap {signs['primary']}; against {rname} it "
            f"{signs[rk]} and against England it {signs['england']}. "
            + ("The comparisons disagree in sign, so the direction of any change depends on what is taken to "
               "stand for what would have happened without the programme; these data cannot settle that."
               if disagree else "The main comparisons agree in sign."))
    if sens.attrs.get("left_out"):
        n_out = len(sens.attrs["left_out"])
        text += (f" {n_out} {'analysis is' if n_out == 1 else 'analyses are'} left out because {name} or too few of its neighbours "
                 "have a complete series for them (suppressed or missing values are skipped by rule): "
                 + "; ".join(lab for lab, _ in sens.attrs["left_out"]) + ".")
    return Part(results=pd.DataFrame(rows), figures={"exclusions_design_sensitivity": plot_sensitivity(sens, name=name)},
                text=text, tables=[sensitivity_table(sens)], data=sens,
                sources=DESIGN_SOURCES + (pub.FSM_2016,) + ((pub.DFE_EXCLUSIONS_LA_SECONDARY,) if secondary is not None else ()))


def synth_part(la: pd.DataFrame, codes: pd.DataFrame, la_code: str = "890") -> Part:
    """The synthetic control: results (:func:`synth_results`), figure, weights table, sentences."""
    require_series(panel(la, codes), codes, la_code, PRIMARY_WINDOW, "suspension rate")
    res, pl, p_ratio, p_gap = _design_or_skip(synthetic, la, codes, la_code)
    name = la_name_of(codes, la_code)
    wt = weights_table(res, codes)
    top = ", ".join(f"{a} {w:.2f}" for a, w in wt[["authority", "weight"]].head(5).itertuples(index=False))
    worse = int((pl["rmspe_pre"] >= res.rmspe_pre).sum())
    text = (f"**Synthetic control.** Synthetic {name} is a weighted mix of {len(wt)} of {len(res.weights)} donor "
            f"authorities (largest weights: {top}). Before the programme it tracks {name} with an RMSPE of "
            f"**{res.rmspe_pre:.2f}** points; only {worse} of {len(pl)} donors, refitted as if treated, fit their own "
            f"pre-period as badly or worse: {name}'s rates are near the edge of what a mix of others can reproduce. Over 2016/17-2021/22 "
            f"(COVID-19 years left out) {name} was on average **{res.gap_post:+.2f}** points from its synthetic "
            f"control; placebo p = **{p_ratio:.3f}** (post/pre RMSPE ratio) and {p_gap:.3f} (|mean gap|) among "
            f"{len(pl)} donors refitted as if treated.")
    return Part(results=synth_results(res, p_ratio, p_gap, len(pl)),
                figures={"exclusions_design_synth": plot_synth(res, pl, name)}, text=text, tables=[wt], data=res,
                sources=(pub.DFE_EXCLUSIONS_LA, pub.LA_CODES))


def funnel_part(la_rates: pd.DataFrame, year: str, *, area: str = "Blackpool") -> Part:
    """The overdispersed funnel of ``year`` for the three measures: results (:func:`funnel_results`),
    figures ``exclusions_funnel_<measure>_<year>``, a summary table and sentences."""
    rows, figs, summ = [], {}, []
    r = la_rates[(la_rates["year"] == year) & (la_rates["school_type"] == "Total") & (la_rates["level"] == "Local authority")]
    for m in MEASURES:
        rm = r[r["measure"].astype(str) == m]
        ok = (rm["headcount"] > 0) & np.isfinite(rm["rate"])
        if not ok[rm["area"] == area].any():
            raise NotComputed(f"{area} has no published {m} rate in {year} (suppressed or "
                              "missing: x, c, z or empty), so it has no place in the funnel")
        skipped = int((~ok).sum())
        units, od, lim = honest_funnel(la_rates, year, m, la_code_name=area)
        rows.append(funnel_results(units, od, highlight=area))
        figs[f"exclusions_funnel_{m}_{year.replace('/', '_')}"] = plot_overdispersed_funnel(units, od, lim)
        h = units[units["highlight"]].iloc[0]
        summ.append({"measure": m, "authorities": od["n_units"],
                     "outside plain 99.8%": int(units["position"].str.contains("99.8").sum()),
                     "phi": round(od["phi"], 1), "tau": round(od["tau"], 3), "z": round(float(h["z"]), 2),
                     "plain position": h["position"], "z adjusted": round(float(h["z_adjusted"]), 2),
                     "adjusted position": h["position_adjusted"],
                     "rank (95% interval)": f"{int(h['rank'])} ({int(h['rank_lower'])}-{int(h['rank_upper'])})",
                     "skipped": skipped})
    s = pd.DataFrame(summ)
    inside = s[~s["adjusted position"].eq("above 99.8%")]["measure"].tolist()
    outside = "; ".join(f"{r['measure']} {r['outside plain 99.8%']} of {r['authorities']}" for _, r in s.iterrows())
    text = (f"In {year} the authorities outside the plain 99.8% limits are: {outside}. The Poisson or binomial model "
            "does not describe the spread between authorities (overdispersion factors phi "
            f"{', '.join(f'{p:.1f}' for p in s['phi'])}). With Spiegelhalter's adjustment {area} is inside the "
            f"adjusted 99.8% limits on {len(inside)} of {len(s)} measures ({', '.join(inside) or 'none'}), with "
            f"adjusted z {', '.join(f'{z:.2f}' for z in s['z adjusted'])} (the 99.8% limit is z = 3.09).")
    if s["skipped"].any():
        text += (" Authorities without a published value that year (suppressed or missing: x, c, z or empty) are "
                 f"left out by rule: {', '.join(f'{k} {n}' for k, n in zip(s['measure'], s['skipped']))}.")
    s = s.drop(columns="skipped")
    return Part(results=pd.concat(rows, ignore_index=True), figures=figs, text=text, tables=[s],
                sources=(pub.DFE_EXCLUSIONS_LA,))


def selfharm_part(ft: pd.DataFrame, codes: pd.DataFrame, sn: pd.DataFrame, la_code: str = "890") -> Part:
    """Self-harm admissions (Fingertips 90813) against England and the neighbours' mean."""
    first = codes.loc[codes["old_la_code"] == str(la_code), "first_year"]
    if len(first) and str(first.min()) > "2011/12":
        raise NotComputed(f"{la_name_of(codes, la_code)} exists only from {first.min()} (formed by a boundary change): "
                          "no years before the programme, nothing compared or recorded")
    try:
        e, d = selfharm_design(ft, codes, sn, la_code)
    except KeyError:
        raise NotComputed(f"{la_name_of(codes, la_code)} has no rows in the shipped Fingertips cut (indicator 90813, "
                          "2011/12-2017/18)") from None
    except ValueError as exc:
        raise NotComputed(f"no complete self-harm series 2011/12-2017/18 for {la_name_of(codes, la_code)} or too few "
                          f"of its neighbours with one (Fingertips 90813; suppressed or missing values are skipped "
                          f"by rule): {exc}") from None
    de, dn = e[e["term"] == "did"].iloc[0], d.did
    name = la_name_of(codes, la_code)
    text = (f"**Self-harm admissions, 10-24 (Fingertips, official statistics).** Against England, {name}'s gap "
            f"changed by {_ci(de['estimate'], de['lower'], de['upper'], 0)} admissions per 100,000 between "
            f"2011/12-2015/16 and 2016/17-2017/18; against its {len(d.neighbours)} neighbours' mean by "
            f"{_ci(dn['estimate'], dn['lower'], dn['upper'], 0)} (placebo p = {d.placebo_p:.3f} among "
            f"{len(d.placebos)} authorities). Two programme years only: the shipped series ends in 2017/18, so "
            "these describe the programme's first two years, and the slope after cannot be told from noise.")
    eng = ft[ft["area_code"] == "E92000001"]
    ser = d.series.assign(england=d.series["year"].map(dict(zip(eng["period"].str[:4].astype(int), eng["value"]))))
    return Part(results=selfharm_results(e, d), figures={"exclusions_selfharm_official": plot_selfharm(ser, name)},
                text=text, tables=[ser.round(1)], data=d,
                sources=(pub.FINGERTIPS_SELFHARM_UTLA, pub.LA_CODES, pub.STATISTICAL_NEIGHBOURS))


def plot_selfharm(ser: pd.DataFrame, name: str = "Blackpool"):
    """Self-harm admissions 10-24 (DSR per 100,000): the area, its neighbours' mean and England."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(ser["year"], ser["treated"], "o-", color="#c0392b", ms=3, label=name)
    ax.plot(ser["year"], ser["comparison"], "s--", color="#7d3c98", ms=3, label="Statistical neighbours (mean)")
    ax.plot(ser["year"], ser["england"], "^-", color="#555555", ms=3, label="England")
    ax.axvline(2015.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(ser["year"], [f"{y}/{(y + 1) % 100:02d}" for y in ser["year"]], fontsize=7)
    ax.set_ylabel("admissions per 100,000 aged 10-24 (DSR)")
    ax.set_ylim(bottom=0)
    ax.set_title("Hospital admissions for self-harm, 10-24", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    figures.source_note(fig, "OHID Fingertips indicator 90813; DfE statistical neighbours (April 2021)", official=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def caveat_problems(res: dict, year: str = "2022/23") -> list[str]:
    """The Caveats state facts about the official statistics in words; this lists those that the
    recorded results (``res``: the chapter's results by key) do not bear out, so that the Checks fail
    if the data change under the text: the primary comparison and North West / England disagree in
    sign; the primary placebo p-value is not below 0.05; Blackpool is inside the adjusted 99.8% limits
    on every measure of ``year``."""
    def v(k):
        return res[k]["value"] if k in res else None
    out = []
    p = "exclusions.its.suspension."
    prim, nw, en = (v(p + "statistical_neighbours.primary.did"), v(p + "sensitivity.north_west.did"),
                    v(p + "sensitivity.england.did"))
    if None not in (prim, nw, en) and not (prim < 0 < nw and en > 0):
        out.append("the Caveats say the neighbours' comparison narrowed while North West and England widened")
    pp = v(p + "statistical_neighbours.primary.placebo_p")
    if pp is not None and pp < 0.05:
        out.append("the Caveats say the primary placebo p-value is not small")
    yk = year.replace("/", "_")
    for m in MEASURES:
        a = v(f"exclusions.funnel.y{yk}.{m}.above_99_8")
        if a is not None and a != 0:
            out.append(f"the Caveats say Blackpool is inside the adjusted 99.8% limits ({m})")
    return out
