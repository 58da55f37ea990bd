"""Designs for one treated area on a panel of areas: comparison with statistical neighbours,
difference in differences, placebo-in-space and in-time inference, leave-one-out.

The data are a *panel*: a wide frame, one row per year (index: the school or financial year's
first calendar year, an int, e.g. 2016 for 2016/17), one column per area (its code, text), values
the outcome (e.g. a rate per 100 pupils). One area was treated from year ``start``; the others
were not (areas treated by the same programme are left out of every comparison).

* **Comparison series.** The unweighted mean of the treated area's comparison areas (e.g. its
  DfE statistical neighbours), or their pooled rate (sum of counts over sum of denominators).
  An area enters a comparison only if it has a value in every year of the window.
* **Estimand.** The change in the gap (treated minus comparison; or, on the ratio scale, the log
  of treated over comparison) between the years before ``start`` and the years from ``start`` to
  ``end``, some years (e.g. partial COVID-19 school years) left out: the difference in
  differences, with the segmented regression's pre-period slope, level change and slope change
  beside it (:func:`rrlib.stats.its.comparative_its`: Newey-West intervals; Wagner et al. 2002;
  Bernal, Cummins & Gasparrini 2017).
* **Placebo in space.** With one treated unit the model interval describes year-to-year noise
  around one town, not the uncertainty of the comparison. Every eligible untreated area is put in
  the treated area's place and compared with *its own* comparison areas in the same way; the
  two-sided rank p-value is ``(1 + #{j: |effect_j| >= |effect_treated|}) / (1 + N)`` (Abadie,
  Diamond & Hainmueller 2010, JASA 105:493-505, section 4; Abadie 2021, J Econ Lit 59:391-425;
  the +1 counts the treated unit itself, Phipson & Smyth 2010, Stat Appl Genet Mol Biol 9:39).
* **Placebo in time.** The same comparison with a false start year inside the pre-period (only
  pre-period years used): a design that finds "effects" where none can be is not trusted.
* **Leave one out.** The primary comparison without each comparison area in turn.

Functions take the area's code as an argument, so the same code serves Blackpool, the other
HeadStart areas and any authority.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from . import its

__all__ = ["Window", "HEADSTART", "neighbours_of", "all_neighbours", "comparison_series", "gap_did", "neighbour_did",
           "placebo_p", "placebo_in_space", "in_time_placebos", "leave_one_out", "DesignResult",
           "primary_design", "complete_units", "pooled_did", "pooled_placebo"]

#: The six HeadStart areas (DfE old LA codes): Blackpool, Cornwall, Kingston upon Hull, Kent,
#: Newham, Wolverhampton. None of them is an untreated comparator.
HEADSTART = ("890", "908", "810", "886", "316", "336")


@dataclass(frozen=True)
class Window:
    """Years of a before/after comparison (first calendar year of each school year).

    ``first``..``start - 1`` is "before", ``start``..``end`` "after"; ``exclude`` years are left
    out of both. Defaults: the exclusions plan (2006/07-2015/16 against 2016/17-2021/22, the
    partial COVID-19 school years 2019/20 and 2020/21 left out)."""

    first: int = 2006
    start: int = 2016
    end: int = 2021
    exclude: tuple[int, ...] = (2019, 2020)

    @property
    def years(self) -> list[int]:
        return [y for y in range(self.first, self.end + 1) if y not in self.exclude]

    def describe(self) -> str:
        def sy(y):
            return f"{y}/{(y + 1) % 100:02d}"
        ex = f"; {', '.join(sy(y) for y in self.exclude)} left out" if self.exclude else ""
        return f"before {sy(self.first)}-{sy(self.start - 1)}, after {sy(self.start)}-{sy(self.end)}{ex}"


def neighbours_of(sn: pd.DataFrame, la_code: str, *, version: str = "2021-04",
                  exclude: Iterable[str] = HEADSTART) -> list[str]:
    """The statistical neighbours of ``la_code`` in model ``version``, in rank order, without
    ``exclude`` (default the HeadStart areas). ``sn``: :func:`rrlib.public.load_statistical_neighbours`."""
    ex = set(map(str, exclude))
    d = sn[(sn["version"] == version) & (sn["la_code"] == str(la_code))].sort_values("rank")
    return [c for c in d["neighbour_code"] if c not in ex]


def all_neighbours(sn: pd.DataFrame, *, version: str = "2021-04",
                  exclude: Iterable[str] = HEADSTART) -> dict[str, list[str]]:
    """Every area's :func:`neighbours_of` in model ``version`` in one pass (the placebo loops ask for
    every area's neighbours: one grouping instead of one filter of the whole table per area)."""
    ex = set(map(str, exclude))
    d = sn[sn["version"] == version]
    out: dict[str, list[str]] = {c: [] for c in d["la_code"].unique()}
    for code, g in d.groupby("la_code", sort=False):
        out[code] = [c for c in g.sort_values("rank")["neighbour_code"] if c not in ex]
    return out


def complete_units(panel: pd.DataFrame, years: Sequence[int]) -> list[str]:
    """Columns of ``panel`` with a finite value in every one of ``years``."""
    p = panel.reindex(index=list(years))
    ok = np.isfinite(p.to_numpy(float)).all(axis=0)
    return [c for c, k in zip(p.columns, ok) if k]


def comparison_series(panel: pd.DataFrame, codes: Sequence[str], *, counts: pd.DataFrame | None = None,
                      denominators: pd.DataFrame | None = None, multiplier: float = 100) -> pd.Series:
    """The comparison series of ``codes``: their unweighted mean by year, or, given ``counts`` and
    ``denominators`` panels, their pooled rate ``sum(counts) / sum(denominators) x multiplier``."""
    codes = list(codes)
    if counts is not None and denominators is not None:
        return counts[codes].sum(axis=1, min_count=len(codes)) / denominators[codes].sum(
            axis=1, min_count=len(codes)) * multiplier
    return panel[codes].mean(axis=1, skipna=False)


def gap_did(treated: pd.Series, comparison: pd.Series, window: Window = Window(), *,
            scale: str = "difference", maxlags: int = 1) -> pd.DataFrame:
    """Difference in differences and segmented regression of ``treated`` against ``comparison``.

    The gap is ``treated - comparison`` (``scale="difference"``, points) or
    ``log(treated / comparison)`` (``scale="ratio"``; exponentiate the DiD for the ratio of ratios).
    Years of ``window`` only. Returns :func:`rrlib.stats.its.comparative_its`'s tidy frame
    (terms did, pre_slope, level_change, slope_change) with a ``scale`` column.
    """
    years = [y for y in window.years if y in treated.index and y in comparison.index]
    t = treated.reindex(years).to_numpy(float)
    c = comparison.reindex(years).to_numpy(float)
    if scale == "difference":
        g = t - c
    elif scale == "ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.log(t / c)
    else:
        raise ValueError(f"scale must be 'difference' or 'ratio', got {scale!r}")
    gap = pd.DataFrame({"time": years, "gap": g}).dropna()
    out = its.comparative_its(gap, start=window.start, maxlags=maxlags)
    return out.assign(scale=scale)


def _did_estimate(treated: np.ndarray, comparison: np.ndarray, post: np.ndarray, scale: str) -> float:
    """The DiD point estimate alone (mean gap after - mean gap before), for placebo loops."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = treated - comparison if scale == "difference" else np.log(treated / comparison)
        return float(g[post].mean() - g[~post].mean())


def neighbour_did(panel: pd.DataFrame, la_code: str, neighbours: Sequence[str], window: Window = Window(), *,
                  scale: str = "difference", counts: pd.DataFrame | None = None,
                  denominators: pd.DataFrame | None = None, min_neighbours: int = 5,
                  maxlags: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """``la_code`` against the mean (or pooled rate) of its ``neighbours`` with a complete series.

    Returns ``(estimates, series, used)``: :func:`gap_did`'s frame; the series (year, treated,
    comparison, gap on ``scale``); the neighbours used. ``ValueError`` when ``la_code`` has no
    complete series or fewer than ``min_neighbours`` neighbours have one.
    """
    years = window.years
    la_code = str(la_code)
    if la_code not in panel.columns or la_code not in complete_units(panel[[la_code]], years):
        raise ValueError(f"area {la_code} has no value in every year of the window ({window.describe()})")
    cand = [c for c in neighbours if c in panel.columns]
    ok = complete_units(panel[cand], years) if cand else []
    if counts is not None:
        ok = [c for c in ok if c in complete_units(counts[[c]], years)
              and c in complete_units(denominators[[c]], years)]
    used = [c for c in neighbours if c in ok]
    if len(used) < min_neighbours:
        raise ValueError(f"area {la_code}: {len(used)} comparison areas with a complete series "
                         f"({', '.join(used) or 'none'}); need {min_neighbours}")
    comp = comparison_series(panel, used, counts=counts, denominators=denominators)
    est = gap_did(panel[la_code], comp, window, scale=scale, maxlags=maxlags)
    t, c = panel[la_code].reindex(years), comp.reindex(years)
    ser = pd.DataFrame({"year": years, "treated": t.to_numpy(float), "comparison": c.to_numpy(float)})
    ser["gap"] = (ser["treated"] - ser["comparison"] if scale == "difference"
                  else np.log(ser["treated"] / ser["comparison"]))
    return est, ser, used


def placebo_p(observed: float, placebo_effects: Sequence[float], *, tol: float = 1e-12) -> float:
    """Two-sided rank p-value of one treated unit among placebos:
    ``(1 + #{j: |e_j| >= |observed|}) / (1 + N)`` (Abadie, Diamond & Hainmueller 2010; the treated
    unit counts itself, so p is never 0). ``tol`` absorbs floating-point ties."""
    e = np.abs(np.asarray(placebo_effects, float))
    e = e[np.isfinite(e)]
    return float((1 + np.sum(e >= abs(float(observed)) - tol)) / (1 + len(e)))


def placebo_in_space(panel: pd.DataFrame, neighbour_map: Mapping[str, Sequence[str]], window: Window = Window(), *,
                     treated: Iterable[str] = HEADSTART, scale: str = "difference", min_neighbours: int = 5,
                     counts: pd.DataFrame | None = None, denominators: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every untreated area with a complete series and at least ``min_neighbours`` untreated
    neighbours (``neighbour_map``: code -> its neighbours) with a complete series, compared with
    those neighbours as :func:`neighbour_did` does. Returns one row per area: la_code, effect
    (the DiD point estimate), n_neighbours; areas that do not qualify are left out."""
    tr = set(map(str, treated))
    years = window.years
    post = np.asarray([y >= window.start for y in years])
    ok_units = set(complete_units(panel, years))
    if counts is not None:
        ok_units &= set(complete_units(counts, years)) & set(complete_units(denominators, years))
    p = panel.reindex(index=years)
    cy = None if counts is None else counts.reindex(index=years)
    dy = None if denominators is None else denominators.reindex(index=years)
    rows = []
    for code, nbrs in neighbour_map.items():
        code = str(code)
        if code in tr or code not in ok_units:
            continue
        used = [c for c in nbrs if c not in tr and c in ok_units]
        if len(used) < min_neighbours:
            continue
        comp = comparison_series(p, used, counts=cy, denominators=dy)
        effect = _did_estimate(p[code].to_numpy(float), comp.to_numpy(float), post, scale)
        rows.append({"la_code": code, "effect": effect, "n_neighbours": len(used)})
    return pd.DataFrame(rows, columns=["la_code", "effect", "n_neighbours"])


def in_time_placebos(panel: pd.DataFrame, la_code: str, neighbours: Sequence[str], *,
                     false_starts: Iterable[int] = range(2009, 2014), first: int = 2006, last_pre: int = 2015,
                     scale: str = "difference", min_neighbours: int = 5) -> pd.DataFrame:
    """The neighbour comparison with a false start year inside the pre-period (years ``first`` to
    ``last_pre`` only). One row per false start: false_start, did, lower, upper, n_pre, n_post."""
    rows = []
    for s in false_starts:
        w = Window(first=first, start=int(s), end=last_pre, exclude=())
        est, _, _ = neighbour_did(panel, la_code, neighbours, w, scale=scale, min_neighbours=min_neighbours)
        d = est[est["term"] == "did"].iloc[0]
        rows.append({"false_start": int(s), "did": d["estimate"], "lower": d["lower"], "upper": d["upper"],
                     "n_pre": int(d["n_pre"]), "n_post": int(d["n_post"])})
    return pd.DataFrame(rows)


def leave_one_out(panel: pd.DataFrame, la_code: str, neighbours: Sequence[str], window: Window = Window(), *,
                  scale: str = "difference", min_neighbours: int = 4) -> pd.DataFrame:
    """The neighbour comparison without each neighbour in turn. One row per neighbour left out:
    left_out, did, lower, upper, n_neighbours."""
    rows = []
    for c in neighbours:
        rest = [x for x in neighbours if x != c]
        try:
            est, _, used = neighbour_did(panel, la_code, rest, window, scale=scale, min_neighbours=min_neighbours)
        except ValueError:
            continue
        d = est[est["term"] == "did"].iloc[0]
        rows.append({"left_out": c, "did": d["estimate"], "lower": d["lower"], "upper": d["upper"],
                     "n_neighbours": len(used)})
    return pd.DataFrame(rows)


@dataclass
class DesignResult:
    """What :func:`primary_design` returns: tidy frames and the headline numbers."""

    la_code: str
    window: Window
    scale: str
    neighbours: list[str]                 # comparison areas used (complete series, HeadStart left out)
    estimates: pd.DataFrame               # terms did, pre_slope, level_change, slope_change
    series: pd.DataFrame                  # year, treated, comparison, gap
    placebos: pd.DataFrame                # la_code, effect, n_neighbours (placebo in space)
    placebo_p: float
    in_time: pd.DataFrame = field(default_factory=pd.DataFrame)
    loo: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def did(self) -> pd.Series:
        return self.estimates[self.estimates["term"] == "did"].iloc[0]

    def term(self, name: str) -> pd.Series:
        return self.estimates[self.estimates["term"] == name].iloc[0]


def primary_design(panel: pd.DataFrame, la_code: str, sn: pd.DataFrame, window: Window = Window(), *,
                   version: str = "2021-04", treated: Iterable[str] = HEADSTART, scale: str = "difference",
                   min_neighbours: int = 5, counts: pd.DataFrame | None = None,
                   denominators: pd.DataFrame | None = None, in_time: bool = True,
                   loo: bool = True) -> DesignResult:
    """The pre-specified comparison of ``la_code`` with its DfE statistical neighbours.

    ``panel``: outcome by year (rows) and area code (columns), e.g. :func:`rrlib.chapters.exclusions.panel`;
    ``sn``: :func:`rrlib.public.load_statistical_neighbours`. The comparison is the unweighted mean
    (or, with ``counts`` and ``denominators``, the pooled rate) of ``la_code``'s ``version``
    neighbours without the ``treated`` areas; the estimand the change in the gap over ``window``
    (:func:`neighbour_did`); inference by placebo in space over every untreated area with at least
    ``min_neighbours`` untreated neighbours (:func:`placebo_in_space`), placebos in time within the
    pre-period and leave-one-out (both on the unweighted mean and difference scale as given).
    """
    la_code = str(la_code)
    tr = tuple(sorted(set(map(str, treated)) | {la_code}))
    nbrs = neighbours_of(sn, la_code, version=version, exclude=tr)
    est, ser, used = neighbour_did(panel, la_code, nbrs, window, scale=scale, counts=counts,
                                   denominators=denominators, min_neighbours=min_neighbours)
    nmap = all_neighbours(sn, version=version, exclude=tr)
    pl = placebo_in_space(panel, nmap, window, treated=tr, scale=scale, min_neighbours=min_neighbours,
                          counts=counts, denominators=denominators)
    obs = float(est[est["term"] == "did"]["estimate"].iloc[0])
    res = DesignResult(la_code=la_code, window=window, scale=scale, neighbours=used, estimates=est, series=ser,
                       placebos=pl, placebo_p=placebo_p(obs, pl["effect"]))
    if in_time:
        last_pre = window.start - 1
        res.in_time = in_time_placebos(panel, la_code, used, first=window.first, last_pre=last_pre,
                                       false_starts=range(window.first + 3, last_pre - 1), scale=scale,
                                       min_neighbours=min(min_neighbours, len(used)))
    if loo:
        res.loo = leave_one_out(panel, la_code, used, window, scale=scale, min_neighbours=len(used) - 1)
    return res


def with_window(window: Window, **changes) -> Window:
    """A copy of ``window`` with some fields changed (``with_window(w, end=2022)``)."""
    return replace(window, **changes)


def pooled_did(estimates: Sequence[float], lower: Sequence[float], upper: Sequence[float], *,
               confidence: float = 0.95) -> dict:
    """The unweighted mean of ``k`` areas' DiD estimates with a normal interval.

    Each area's standard error is taken from its ``confidence`` interval, ``(upper - lower) / (2 z)``;
    the areas' errors are treated as independent, so ``se(mean) = sqrt(sum se_i^2) / k`` (the variance
    of a mean of independent estimates; e.g. Borenstein et al. 2009, *Introduction to Meta-Analysis*,
    ch. 23, combining independent outcomes with equal weights). Unweighted, as the areas were chosen by
    the programme, not sampled: each counts once. Returns value, lower, upper, se, k.

    Example: estimates (-1, -3) with intervals (-1.98 to -0.02) and (-3.98 to -2.02) (se 0.5 each at
    95%) pool to -2 with se sqrt(0.5) / 2 = 0.354.
    """
    e = np.asarray(estimates, float)
    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    if not len(e) or not np.all(np.isfinite(e)):
        raise ValueError("pooled_did needs at least one finite estimate")
    z = float(norm.ppf(0.5 + confidence / 2))
    se_i = (hi - lo) / (2 * z)
    k = len(e)
    value = float(e.mean())
    se = float(np.sqrt(np.sum(se_i ** 2)) / k)
    return {"value": value, "lower": value - z * se, "upper": value + z * se, "se": se, "k": k}


def pooled_placebo(observed: float, placebo_effects: Sequence[float], k: int, *, n_sets: int = 10_000,
                   seed: int = 20160401, tol: float = 1e-12) -> tuple[float, np.ndarray]:
    """Placebo distribution of a pooled (mean) effect over ``k`` treated areas: ``n_sets`` random sets
    of ``k`` distinct untreated areas (each drawn without replacement from ``placebo_effects``, every
    area compared with its own neighbours as in :func:`placebo_in_space`), the mean effect of each set,
    and the two-sided rank p-value of ``observed`` among them, ``(1 + #{|mean_j| >= |observed|}) /
    (1 + n_sets)`` (the randomisation-inference analogue of Abadie, Diamond & Hainmueller 2010 for
    several treated units; Cavallo et al. 2013, Rev Econ Stat 95:1549-61, average placebo effects).
    Fixed ``seed``: the same inputs give the same p. Returns ``(p, set_means)``.
    """
    e = np.asarray(placebo_effects, float)
    e = e[np.isfinite(e)]
    if len(e) < k:
        raise ValueError(f"{len(e)} placebo areas; need at least {k} for sets of {k}")
    rng = np.random.default_rng(seed)
    idx = np.argsort(rng.random((int(n_sets), len(e))), axis=1)[:, :k]
    means = e[idx].mean(axis=1)
    p = float((1 + np.sum(np.abs(means) >= abs(float(observed)) - tol)) / (1 + len(means)))
    return p, means
