"""Building blocks shared by chapters (one of each: issue 18.3).

Back on Track windows
---------------------
The evaluation (slides on the Resilience Revolution, 2021: "five young people with fixed-term
exclusions had none after support ended", A19) compares each young person's school
exclusions before, during and after Back on Track support. Both the exclusions chapter
(:func:`rrlib.chapters.exclusions.back_on_track_exclusions`) and the targeted chapter
(:func:`rrlib.chapters.targeted.exclusions_windows`) use the windows defined here:

* **before** = ``[start - before_days, start)``;
* **during** = ``[start, end]``;
* **after**  = ``(end, end + after_days]``, cut at ``cutoff``;

where ``end`` is the episode's end date when it ended on or before ``cutoff``, and ``cutoff``
itself for an episode still open at the cut-off (data as at the cut-off). ``years`` is each
window's length in days / 365.25 (0 for an empty window), the pupil-years of a rate per
pupil-year.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["WINDOWS", "back_on_track_windows", "count_in_windows"]

#: The three windows, in order.
WINDOWS = ("before", "during", "after")


def back_on_track_windows(episodes: pd.DataFrame, *, cutoff=None, before_days: int = 365,
                          after_days: int = 365) -> pd.DataFrame:
    """Before / during / after windows of each support episode (definitions in the module docstring).

    ``episodes`` has ``episode_id``, ``person_id``, ``start_date`` and ``end_date`` (missing
    when still open). Episodes without a start date, or starting after ``cutoff``, have no
    windows and are left out. With ``cutoff=None`` every episode must have ended (there is no
    date to close an open one): ``ValueError`` otherwise.

    Returns one row per episode and window, episodes in their input order: ``episode_id``,
    ``person_id``, ``window`` (ordered categorical :data:`WINDOWS`), ``from``, ``to``
    (Timestamps; the bounds' openness is fixed by ``window`` as above) and ``years``.
    """
    for c in ("episode_id", "person_id", "start_date", "end_date"):
        if c not in episodes.columns:
            raise ValueError(f"back_on_track_windows: episodes have no column {c!r}")
    if before_days < 0 or after_days < 0:
        raise ValueError(f"back_on_track_windows: before_days and after_days must be >= 0, "
                         f"got {before_days}, {after_days}")
    ep = episodes[["episode_id", "person_id"]].copy()
    start = pd.to_datetime(episodes["start_date"])
    end = pd.to_datetime(episodes["end_date"])
    cut = None if cutoff is None else pd.Timestamp(cutoff)
    keep = start.notna() if cut is None else start.notna() & (start <= cut)
    if cut is None:
        still_open = keep & end.isna()
        if still_open.any():
            first = episodes.loc[still_open, "episode_id"].head(3).tolist()
            raise ValueError(f"back_on_track_windows: {int(still_open.sum())} episode(s) still open "
                             f"(no end_date, e.g. {first}) and no cutoff to close them")
        stop = end
    else:
        stop = end.where(end.notna() & (end <= cut), cut)
    ep, start, stop = ep[keep], start[keep], stop[keep]
    after_to = stop + pd.Timedelta(days=after_days)
    if cut is not None:
        after_to = after_to.clip(upper=cut)
    bounds = {"before": (start - pd.Timedelta(days=before_days), start), "during": (start, stop),
              "after": (stop, after_to)}
    parts = []
    for i, (window, (lo, hi)) in enumerate(bounds.items()):
        parts.append(ep.assign(window=window, **{"from": lo.to_numpy(), "to": hi.to_numpy()},
                               _order=np.arange(len(ep)) * 3 + i))
    out = pd.concat(parts, ignore_index=True).sort_values("_order", kind="mergesort").drop(columns="_order")
    out["window"] = pd.Categorical(out["window"], list(WINDOWS), ordered=True)
    out["years"] = ((out["to"] - out["from"]).dt.days.clip(lower=0) / 365.25).to_numpy()
    return out.reset_index(drop=True)


def count_in_windows(windows: pd.DataFrame, events: pd.DataFrame, *, person: str = "pupil_id",
                     date: str = "exclusion_date", by: str | None = None,
                     levels=None) -> pd.DataFrame:
    """Events of each young person falling in each window of :func:`back_on_track_windows`.

    ``events`` has a ``person`` column (matched to ``person_id``) and a ``date`` column. An event
    on day d is in before if ``from <= d < to``, in during if ``from <= d <= to``, in after if
    ``from < d <= to``. Without ``by``, adds a column ``events``; with ``by`` (e.g. ``"category"``),
    one count column per value of ``levels`` (default: the values in ``events[by]``), named by
    the value. Counts are 0 where nothing falls; rows keep the order of ``windows``.
    """
    w = windows.reset_index(drop=True)
    cols = [person, date] + ([by] if by else [])
    e = events[cols].copy()
    e[date] = pd.to_datetime(e[date])
    m = w[["episode_id", "person_id", "window", "from", "to"]].reset_index().merge(
        e, left_on="person_id", right_on=person, how="inner")
    d, lo, hi, win = m[date], m["from"], m["to"], m["window"].astype(str)
    inside = np.select([win == "before", win == "during", win == "after"],
                       [(d >= lo) & (d < hi), (d >= lo) & (d <= hi), (d > lo) & (d <= hi)], default=False)
    m = m[inside.astype(bool)]
    out = w.copy()
    if by is None:
        out["events"] = m.groupby("index").size().reindex(out.index, fill_value=0).astype(int).to_numpy()
        return out
    levels = list(levels) if levels is not None else sorted(e[by].dropna().unique().tolist())
    cnt = m.groupby(["index", by]).size().unstack(by, fill_value=0)
    for lev in levels:
        col = cnt[lev] if lev in cnt.columns else pd.Series(0, index=cnt.index)
        out[lev] = col.reindex(out.index, fill_value=0).astype(int).to_numpy()
    return out
