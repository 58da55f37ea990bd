"""Chapter 6, the six HeadStart areas on official statistics: did suspensions (and self-harm admissions)
move in the HeadStart areas against comparable authorities, and was Blackpool different?

Every number here is made by the exclusions chapter's pre-specified design, called once per area
(:func:`rrlib.chapters.exclusions.design.primary_design`, ``synthetic``, ``selfharm_design``: the same
functions, the same years, estimand and neighbours rule, nothing copied). The pooled estimate and its
placebo distribution are :func:`rrlib.stats.design.pooled_did` and
:func:`rrlib.stats.design.pooled_placebo`. Official statistics only: no pupil-level data, no synthetic data.

Result keys: ``headstart_areas.<la_code>.suspension.did`` (value, lower, upper),
``headstart_areas.<la_code>.suspension.placebo_p``, ``headstart_areas.pooled.suspension.did``,
``headstart_areas.pooled.suspension.placebo_p``; the synthetic control under
``headstart_areas.<la_code>.suspension.synth.*``; self-harm under ``headstart_areas.<la_code>.selfharm.*``
and ``headstart_areas.pooled.selfharm.*``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .. import figures
from .. import public as pub
from ..chapter import NotComputed, Part
from ..results import frame, row
from ..stats import design as sd
from .exclusions import design as XD

__all__ = ["AREAS", "N_SETS", "SEED", "area_designs", "area_table", "pooled", "suspension_results",
           "suspension_part", "synth_part", "selfharm_designs", "selfharm_table", "selfharm_part",
           "plot_forest", "plot_placebo_distribution", "plot_synth_gaps", "caveat_problems", "data_text"]

#: The six HeadStart areas by DfE old LA code, in the order of :data:`rrlib.stats.design.HEADSTART`.
AREAS = {c: XD.HEADSTART_NAMES[c] for c in sd.HEADSTART}
#: Random sets of six untreated authorities for the pooled placebo distribution, and their seed.
N_SETS = 10_000
SEED = 20160401
FT_SOURCE = "OHID Fingertips indicator 90813; DfE statistical neighbours (April 2021); Open Government Licence v3.0"


def _name(codes: pd.DataFrame, c: str) -> str:
    return AREAS.get(str(c)) or XD.la_name_of(codes, c)


def _did(est: pd.DataFrame) -> pd.Series:
    return est[est["term"] == "did"].iloc[0]


def data_text(la: pd.DataFrame, sn: pd.DataFrame, ft: pd.DataFrame) -> str:
    """What the chapter reads: the DfE exclusions by authority, the statistical neighbours, Fingertips'
    self-harm series, and the six HeadStart areas."""
    return (f"DfE exclusions: {len(la):,} rows, {la['year'].min()} to {la['year'].max()}; statistical neighbours: "
            f"{sn['la_code'].nunique()} authorities; Fingertips: {ft['period'].min()} to {ft['period'].max()}. "
            f"HeadStart areas: {', '.join(f'{n} ({c})' for c, n in AREAS.items())}.")


# --------------------------------------------------------------------------- suspensions
def area_designs(la: pd.DataFrame, codes: pd.DataFrame, sn: pd.DataFrame,
                 areas: Sequence[str] = sd.HEADSTART) -> dict[str, sd.DesignResult]:
    """The exclusions chapter's primary design for each area (placebo in space included; the
    in-time placebos and leave-one-out belong to the exclusions chapter). ``NotComputed`` when an
    area has no complete series or too few neighbours with one."""
    out = {}
    for c in areas:
        try:
            out[str(c)] = XD.primary_design(la, codes, sn, str(c), in_time=False, loo=False)
        except ValueError as exc:
            raise NotComputed(f"the primary design cannot be computed for LA {c}: {exc}") from None
    return out


def area_table(designs: dict[str, sd.DesignResult], codes: pd.DataFrame) -> pd.DataFrame:
    """One row per area: la_code, area, did, lower, upper, pre_slope, placebo_p, n_neighbours, n_placebo."""
    rows = []
    for c, r in designs.items():
        d, ps = r.did, r.term("pre_slope")
        rows.append({"la_code": c, "area": _name(codes, c), "did": d["estimate"], "lower": d["lower"],
                     "upper": d["upper"], "pre_slope": ps["estimate"], "placebo_p": r.placebo_p,
                     "n_neighbours": len(r.neighbours), "n_placebo": len(r.placebos)})
    return pd.DataFrame(rows)


def pooled(table: pd.DataFrame, placebo_effects: Sequence[float], *, n_sets: int = N_SETS,
           seed: int = SEED) -> dict:
    """The mean change over the areas of ``table`` (:func:`rrlib.stats.design.pooled_did`) and its
    placebo p among ``n_sets`` random sets of as many untreated authorities
    (:func:`rrlib.stats.design.pooled_placebo`). Returns the pooled dict with ``placebo_p``,
    ``set_means`` and ``n_sets``."""
    if table.empty:
        raise NotComputed("no area with a computed comparison to pool")
    p = sd.pooled_did(table["did"], table["lower"], table["upper"])
    pp, means = sd.pooled_placebo(p["value"], placebo_effects, p["k"], n_sets=n_sets, seed=seed)
    return {**p, "placebo_p": pp, "set_means": means, "n_sets": int(n_sets), "n_placebo": len(placebo_effects)}


def suspension_results(table: pd.DataFrame, pool: dict, window: sd.Window = XD.PRIMARY_WINDOW) -> pd.DataFrame:
    """``headstart_areas.<la_code>.suspension.<did|pre_slope|placebo_p|n_neighbours>`` and
    ``headstart_areas.pooled.suspension.<did|placebo_p>``."""
    note = (f"area minus the unweighted mean of its April 2021 statistical neighbours with a complete series "
            f"(HeadStart areas out), suspensions per 100 pupils; {window.describe()}; official statistics")
    method = "difference in differences of the gap (rrlib.chapters.exclusions.design.primary_design)"
    pmeth = "placebo in space, two-sided rank p = (1 + #|effect| >= |observed|) / (1 + N)"
    rows = []
    for _, r in table.iterrows():
        k = f"headstart_areas.{r['la_code']}.suspension"
        rows += [row(f"{k}.did", r["did"], lower=r["lower"], upper=r["upper"], unit="points", method=method,
                     n=r["n_neighbours"], note=f"{r['area']}: {note}"),
                 row(f"{k}.pre_slope", r["pre_slope"], unit="points_per_year", note=f"{r['area']}: slope of the "
                     "gap before the programme"),
                 row(f"{k}.placebo_p", r["placebo_p"], unit="p", n=r["n_placebo"], method=pmeth,
                     note=f"{r['area']}: every non-HeadStart authority against its own neighbours; official statistics"),
                 row(f"{k}.n_neighbours", r["n_neighbours"], unit="count", note=f"{r['area']}: neighbours used")]
    rows += [row("headstart_areas.pooled.suspension.did", pool["value"], lower=pool["lower"], upper=pool["upper"],
                 unit="points", n=pool["k"], method="unweighted mean of the areas' DiDs, se = sqrt(sum se_i^2) / k "
                 "(rrlib.stats.design.pooled_did)", note=f"{pool['k']} HeadStart areas; {note}"),
             row("headstart_areas.pooled.suspension.placebo_p", pool["placebo_p"], unit="p", n=pool["n_sets"],
                 method=f"rank of |pooled| among the mean effects of {pool['n_sets']:,} random sets of {pool['k']} "
                 f"non-HeadStart authorities, seed {SEED} (rrlib.stats.design.pooled_placebo)",
                 note=f"drawn from {pool['n_placebo']} authorities, each against its own neighbours; official statistics")]
    return frame(rows)


def _ci(v, lo, hi, dp=2) -> str:
    return f"{v:+.{dp}f} (95% CI {lo:+.{dp}f} to {hi:+.{dp}f})"


def suspension_part(la: pd.DataFrame, codes: pd.DataFrame, sn: pd.DataFrame, *, n_sets: int = N_SETS,
                    seed: int = SEED, area: str | None = None) -> Part:
    """The six areas against their own neighbours and the pooled estimate: results
    (:func:`suspension_results`), the forest plot, the placebo distribution, the table and sentences.
    ``area`` (an area run's DfE code): an authority outside HeadStart is placed among the placebos."""
    designs = area_designs(la, codes, sn)
    tab = area_table(designs, codes)
    placebos = next(iter(designs.values())).placebos["effect"].to_numpy(float)
    pool = pooled(tab, placebos, n_sets=n_sets, seed=seed)
    bp = tab[tab["la_code"] == "890"]
    others = tab[tab["la_code"] != "890"]
    narrowed = tab[tab["did"] < 0]["area"].tolist()
    small_p = tab[tab["placebo_p"] < 0.05]["area"].tolist()
    text = (f"**Six areas against their own neighbours.** The suspension gap to the neighbours' mean narrowed in "
            f"{len(narrowed)} of {len(tab)} HeadStart areas ({', '.join(narrowed) or 'none'}); changes ranged from "
            f"{tab['did'].min():+.2f} to {tab['did'].max():+.2f} suspensions per 100 pupils. Each area's "
            f"placebo-in-space p-value (among {int(tab['n_placebo'].iloc[0])} non-HeadStart authorities) is "
            f"{', '.join(f'{a} {p:.3f}' for a, p in zip(tab['area'], tab['placebo_p']))}; "
            f"{len(small_p)} below 0.05. **Pooled over the {pool['k']} areas:** {_ci(pool['value'], pool['lower'], pool['upper'])}; "
            f"among {pool['n_sets']:,} random sets of {pool['k']} non-HeadStart authorities, each against its own "
            f"neighbours, {np.mean(np.abs(pool['set_means']) >= abs(pool['value']) - 1e-12):.1%} have a mean change "
            f"at least as large in either direction (placebo p = **{pool['placebo_p']:.3f}**); the random sets' mean changes "
            f"centre on {np.mean(pool['set_means']):+.2f}, not 0 (untreated authorities' gaps to their neighbours "
            "also moved).")
    if len(bp) and len(others):
        b = float(bp["did"].iloc[0])
        rank = int((tab["did"] < b).sum()) + 1
        text += (f" **Blackpool** ({b:+.2f}) against the mean of the other {len(others)} areas "
                 f"({others['did'].mean():+.2f}): rank {rank} of {len(tab)} from the largest narrowing.")
    if area is not None and str(area) not in AREAS:
        pl = next(iter(designs.values())).placebos
        mine = pl[pl["la_code"] == str(area)]
        name = XD.la_name_of(codes, area)
        text += (f" {name} is not a HeadStart area: its own change against its neighbours, "
                 f"{float(mine['effect'].iloc[0]):+.2f}, is one of the {len(pl)} placebo effects above."
                 if len(mine) else f" {name} is not a HeadStart area, and not among the placebo authorities (no "
                 "complete series, or fewer than five neighbours with one).")
    shown = tab.assign(**{c: tab[c].round(3) for c in ("did", "lower", "upper", "pre_slope", "placebo_p")})
    figs = {"headstart_areas_forest_suspension": plot_forest(
                tab, pool, title="Change in the suspension gap to statistical neighbours, HeadStart areas",
                xlabel="change in gap after - before (suspensions per 100 pupils)", source=XD.SOURCE),
            "headstart_areas_pooled_placebo": plot_placebo_distribution(pool)}
    return Part(results=suspension_results(tab, pool), figures=figs, text=text, tables=[shown],
                data={"designs": designs, "table": tab, "pooled": pool}, sources=XD.DESIGN_SOURCES)


# --------------------------------------------------------------------------- synthetic control
def synth_part(la: pd.DataFrame, codes: pd.DataFrame, areas: Sequence[str] = sd.HEADSTART) -> Part:
    """The exclusions chapter's synthetic control (:func:`rrlib.chapters.exclusions.design.synthetic`)
    for each area: ``headstart_areas.<la_code>.suspension.synth.<gap_post|rmspe_pre|placebo_p>``."""
    rows, tab, paths = [], [], {}
    for c in areas:
        try:
            res, pl, p_ratio, p_gap = XD.synthetic(la, codes, str(c))
        except ValueError as exc:
            raise NotComputed(f"no synthetic control for LA {c}: {exc}") from None
        name = _name(codes, c)
        k = f"headstart_areas.{c}.suspension.synth"
        meth = "synthetic control (Abadie, Diamond & Hainmueller 2010; rrlib.stats.synth)"
        rows += [row(f"{k}.gap_post", res.gap_post, unit="points", method=meth,
                     note=f"{name} minus its synthetic control, mean over {res.window.describe()}; official statistics"),
                 row(f"{k}.rmspe_pre", res.rmspe_pre, unit="points", note=f"{name}: pre-period fit"),
                 row(f"{k}.placebo_p", p_ratio, unit="p", n=len(pl),
                     note=f"{name}: rank of the post/pre RMSPE ratio among every donor refitted as if treated")]
        tab.append({"la_code": c, "area": name, "gap_post": round(res.gap_post, 3),
                    "rmspe_pre": round(res.rmspe_pre, 3), "placebo_p_ratio": round(p_ratio, 3),
                    "placebo_p_gap": round(p_gap, 3), "donors_weight_gt_0_001": int((res.weights > 0.001).sum()),
                    "donors": len(res.weights)})
        paths[name] = res.path
    t = pd.DataFrame(tab)
    loose = t[t["rmspe_pre"] > 0.5]["area"].tolist()
    text = (f"**Synthetic control for each area.** Mean gap after the programme began, against the synthetic area: "
            f"{', '.join(f'{a} {g:+.2f}' for a, g in zip(t['area'], t['gap_post']))}. Pre-period fit (RMSPE, points): "
            f"{', '.join(f'{a} {r:.2f}' for a, r in zip(t['area'], t['rmspe_pre']))}"
            + (f"; the fit is loose (RMSPE above 0.5) for {', '.join(loose)}, whose estimates should be read "
               "with that in mind." if loose else "."))
    return Part(results=frame(rows), figures={"headstart_areas_synth_gaps": plot_synth_gaps(paths)},
                text=text, tables=[t], data=t, sources=(pub.DFE_EXCLUSIONS_LA, pub.LA_CODES))


# --------------------------------------------------------------------------- self-harm
def selfharm_designs(ft: pd.DataFrame, codes: pd.DataFrame, sn: pd.DataFrame,
                     areas: Sequence[str] = sd.HEADSTART) -> dict:
    """:func:`rrlib.chapters.exclusions.design.selfharm_design` for each area: ``{code: (england, design)}``;
    an area the series or its neighbours do not cover is left out (listed by :func:`selfharm_table`)."""
    out = {}
    for c in areas:
        try:
            out[str(c)] = XD.selfharm_design(ft, codes, sn, str(c))
        except (ValueError, KeyError):
            out[str(c)] = None
    return out


def selfharm_table(des: dict, codes: pd.DataFrame) -> pd.DataFrame:
    """One row per area with a result: la_code, area, england_did (lower, upper), did (lower, upper)
    against the neighbours' mean, placebo_p, n_neighbours, n_placebo."""
    rows = []
    for c, v in des.items():
        if v is None:
            continue
        e, d = v
        de, dn = _did(e), d.did
        rows.append({"la_code": c, "area": _name(codes, c), "england_did": de["estimate"],
                     "england_lower": de["lower"], "england_upper": de["upper"], "did": dn["estimate"],
                     "lower": dn["lower"], "upper": dn["upper"], "placebo_p": d.placebo_p,
                     "n_neighbours": len(d.neighbours), "n_placebo": len(d.placebos)})
    return pd.DataFrame(rows)


def selfharm_part(ft: pd.DataFrame, codes: pd.DataFrame, sn: pd.DataFrame, *, n_sets: int = N_SETS,
                  seed: int = SEED) -> Part:
    """Self-harm admissions 10-24 (Fingertips 90813): each area against England and its neighbours'
    mean, 2011/12-2015/16 against 2016/17-2017/18, and the pooled change against the neighbours with its
    placebo p: ``headstart_areas.<la_code>.selfharm.<england|neighbours>.did``,
    ``...selfharm.neighbours.placebo_p``, ``headstart_areas.pooled.selfharm.neighbours.<did|placebo_p>``."""
    des = selfharm_designs(ft, codes, sn)
    tab = selfharm_table(des, codes)
    missing = [AREAS[c] for c, v in des.items() if v is None]
    if tab.empty:
        raise NotComputed("no HeadStart area has a complete self-harm series 2011/12-2017/18")
    placebos = next(v for v in des.values() if v is not None)[1].placebos["effect"].to_numpy(float)
    pool = pooled(tab, placebos, n_sets=n_sets, seed=seed)
    eng = sd.pooled_did(tab["england_did"], tab["england_lower"], tab["england_upper"])
    unit = "rate_per_100000"
    note = "Fingertips 90813, DSR per 100,000 aged 10-24; before 2011/12-2015/16, after 2016/17-2017/18; official statistics"
    rows = []
    for _, r in tab.iterrows():
        k = f"headstart_areas.{r['la_code']}.selfharm"
        rows += [row(f"{k}.england.did", r["england_did"], lower=r["england_lower"], upper=r["england_upper"],
                     unit=unit, note=f"{r['area']} against England; {note}"),
                 row(f"{k}.neighbours.did", r["did"], lower=r["lower"], upper=r["upper"], unit=unit,
                     n=r["n_neighbours"], note=f"{r['area']} against its neighbours' mean; {note}"),
                 row(f"{k}.neighbours.placebo_p", r["placebo_p"], unit="p", n=r["n_placebo"],
                     note=f"{r['area']}: placebo in space over upper-tier authorities")]
    rows += [row("headstart_areas.pooled.selfharm.neighbours.did", pool["value"], lower=pool["lower"],
                 upper=pool["upper"], unit=unit, n=pool["k"], note=f"mean over {pool['k']} areas; {note}"),
             row("headstart_areas.pooled.selfharm.neighbours.placebo_p", pool["placebo_p"], unit="p",
                 n=pool["n_sets"], note=f"{pool['n_sets']:,} random sets of {pool['k']} non-HeadStart authorities"),
             row("headstart_areas.pooled.selfharm.england.did", eng["value"], lower=eng["lower"], upper=eng["upper"],
                 unit=unit, n=eng["k"], note=f"mean over {eng['k']} areas against England; {note}")]
    text = (f"**Self-harm admissions, 10-24.** Against their neighbours' mean, the change in the gap (admissions per "
            f"100,000, 2016/17-2017/18 against 2011/12-2015/16) was "
            f"{', '.join(f'{a} {v:+.0f}' for a, v in zip(tab['area'], tab['did']))}; pooled "
            f"{_ci(pool['value'], pool['lower'], pool['upper'], 0)}, placebo p = {pool['placebo_p']:.3f} "
            f"({pool['n_sets']:,} random sets). Against England, pooled {_ci(eng['value'], eng['lower'], eng['upper'], 0)}."
            + (f" Not computed for {', '.join(missing)} (no complete series or too few neighbours with one)."
               if missing else "")
            + " Two programme years only: the shipped series ends in 2017/18.")
    shown = tab.round({c: 1 for c in tab.columns if c not in ("placebo_p",)}).round({"placebo_p": 3})
    fig = plot_forest(tab, pool, title="Change in the self-harm admissions gap to statistical neighbours (10-24)",
                      xlabel="change in gap after - before (admissions per 100,000, DSR)", source=FT_SOURCE)
    return Part(results=frame(rows), figures={"headstart_areas_forest_selfharm": fig}, text=text, tables=[shown],
                data={"table": tab, "pooled": pool},
                sources=(pub.FINGERTIPS_SELFHARM_UTLA, pub.LA_CODES, pub.STATISTICAL_NEIGHBOURS))


# --------------------------------------------------------------------------- figures (official statistics only)
def plot_forest(table: pd.DataFrame, pool: dict, *, title: str, xlabel: str, source: str):
    """Forest plot: each area's change with its 95% interval, then the pooled estimate (diamond)."""
    import matplotlib.pyplot as plt

    n = len(table)
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * (n + 1) + 1.6))
    y = np.arange(n, 0, -1)
    d, lo, hi = (table[c].to_numpy(float) for c in ("did", "lower", "upper"))
    colours = np.where(table["la_code"] == "890", "#c0392b", "black")
    ax.errorbar(d, y, xerr=[d - lo, hi - d], fmt="none", ecolor="grey", capsize=2)
    ax.scatter(d, y, c=colours, s=22, zorder=3)
    v, pl, pu = pool["value"], pool["lower"], pool["upper"]
    ax.fill([pl, v, pu, v], [0, 0.18, 0, -0.18], color="#2471a3")
    ax.set_yticks([*y, 0], [f"{a} (p {p:.2f})" for a, p in zip(table["area"], table["placebo_p"])]
                  + [f"Pooled, {pool['k']} areas (p {pool['placebo_p']:.2f})"], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_title(title, fontsize=9)
    figures.source_note(fig, source, official=True, note="p: placebo in space")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_placebo_distribution(pool: dict):
    """Histogram of the mean change of the random sets of untreated authorities, the pooled estimate marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.hist(pool["set_means"], bins=60, color="#aaaaaa")
    ax.axvline(pool["value"], color="#c0392b", lw=1.5, label=f"HeadStart areas pooled ({pool['value']:+.2f})")
    ax.axvline(-pool["value"], color="#c0392b", lw=0.8, ls=":")
    ax.set_xlabel("mean change in gap of a random set (suspensions per 100 pupils)", fontsize=8)
    ax.set_ylabel("sets")
    ax.set_title(f"Placebo distribution: {pool['n_sets']:,} random sets of {pool['k']} non-HeadStart authorities "
                 f"(p = {pool['placebo_p']:.3f})", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    figures.source_note(fig, XD.SOURCE, official=True)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_synth_gaps(paths: dict):
    """Each area minus its synthetic control by year (one line per area)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for name, p in paths.items():
        ax.plot(p["year"], p["gap"], "o-" if name == "Blackpool" else ".-", ms=3, lw=1.5 if name == "Blackpool" else 0.9,
                label=name, color="#c0392b" if name == "Blackpool" else None)
    ax.axhline(0, color="black", lw=0.6)
    start = next(iter(paths.values()))
    ax.axvline(XD.PRIMARY_WINDOW.start - 0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlim(start["year"].min() - 0.5, start["year"].max() + 0.5)
    ax.set_ylabel("area minus synthetic (points)")
    ax.set_title("Suspension rate: each HeadStart area minus its synthetic control", fontsize=9)
    ax.legend(fontsize=7, frameon=False, ncol=2)
    figures.source_note(fig, XD.SOURCE, official=True)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def caveat_problems(res: dict) -> list[str]:
    """Facts the Caveats state in words that the recorded results (``res`` by key) do not bear out:
    the pooled suspension change is negative and its placebo p is not below 0.05."""
    out = []
    d = res.get("headstart_areas.pooled.suspension.did")
    p = res.get("headstart_areas.pooled.suspension.placebo_p")
    if d is not None and not d["value"] < 0:
        out.append("the Caveats say the pooled suspension gap narrowed")
    if p is not None and p["value"] < 0.05:
        out.append("the Caveats say the pooled placebo p-value is not small")
    return out
