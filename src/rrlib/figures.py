"""Deterministic figures with honest labels.

:func:`style` loads the compendium's ``matplotlibrc`` (``svg.hashsalt``, fonts rendered as
paths); :func:`save` writes an SVG with no date or software version in its metadata, so the
same inputs give the same bytes; :func:`mark_synthetic` stamps a figure made from synthetic
data so that nobody mistakes it for a real result; :func:`source_note` writes its source line and
:func:`describe` its title and alt text. :class:`FigureData` is what a figure draws, read from
published tables (:func:`from_table`) and written with disclosure control (:func:`publish_data`,
issue 27). The colours (focus area, palette safe under colour blindness) are :mod:`rrlib.palette`.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.patches import Rectangle

from . import disclosure, paths
from .io import atomic_write_bytes, atomic_write_text, write_json

#: The columns of every figure's data file (``<name>.data.csv`` beside its sidecar).
DATA_COLUMNS = ("series", "x", "y", "lower", "upper", "n")
DATA_SUFFIX = ".data"

SYNTHETIC_LABEL = "SYNTHETIC DATA: illustrates the method, not a real result"
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def style() -> None:
    """Apply the compendium's matplotlibrc (call once per process; ``rrlib.chapter.setup`` does)."""
    matplotlib.rc_file(str(paths.MATPLOTLIBRC))


def mark_synthetic(fig, synthetic: bool | None) -> None:
    """Stamp ``fig`` when the data is synthetic (or not known to be real)."""
    if synthetic is False:
        return
    label = SYNTHETIC_LABEL if synthetic else "DATA OF UNKNOWN STATUS (no MANIFEST)"
    fig.text(0.5, 0.5, "SYNTHETIC" if synthetic else "UNVERIFIED", fontsize=54, color="grey",
             alpha=0.12, ha="center", va="center", rotation=25, zorder=0)
    # above the figure's top edge (savefig's tight bounding box takes it in); the source line
    # (source_note) hangs below the bottom edge, so the two never meet whatever their lengths
    fig.text(0.995, 1.005, label, fontsize=7, color="firebrick", ha="right", va="bottom")


OFFICIAL = "official statistics"


def source_note(fig, source: str, *, official: bool = False, note: str | None = None) -> None:
    """Write the figure's source line at its bottom left: ``Source: <source>.``

    ``official=True`` marks figures made from official statistics (DfE, Fingertips, ONS) as
    such: ``Source: DfE ... (official statistics).`` ``note`` adds a second sentence. Every
    chapter figure gets its source line from here, so all read alike.
    """
    text = source.strip().rstrip(".")
    if not text.lower().startswith("source"):
        text = "Source: " + text
    if official and OFFICIAL not in text:
        text += f" ({OFFICIAL})"
    text += "."
    if note:
        text += " " + note.strip()
    # below the bottom edge (inside savefig's tight box), never over the axes' tick labels
    fig.text(0.01, -0.01, text, fontsize=7, color="dimgrey", ha="left", va="top", wrap=True)


def _clean(text) -> str:
    return " ".join(str(text or "").replace("$", "").split())


def _kind(ax) -> str:
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0 and p.get_height() > 0]
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 1 and ln.get_linestyle() not in ("None", "")]
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    parts = []
    if len(bars) > 1:
        parts.append("bar chart")
    if lines:
        parts.append("line chart" if not parts else "lines")
    if points or any(ln.get_marker() not in (None, "None", "", " ") and ln.get_linestyle() in ("None", "")
                     for ln in ax.get_lines()):
        parts.append("points" if parts else "dot plot")
    if any(isinstance(c, PolyCollection) for c in ax.collections):
        parts.append("shaded bands")
    return " with ".join(parts[:2]) + (", " + ", ".join(parts[2:]) if len(parts) > 2 else "") or "chart"


def describe(fig) -> dict:
    """What a figure shows, read from the matplotlib objects before it is saved: ``title`` (the
    figure's or first panel's title) and ``alt``, a text alternative for readers who cannot see it
    (chart kind, title, axis labels and series of each panel). Computed, so it follows the figure."""
    title = _clean(fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else "")
    panels = []
    axes = [ax for ax in fig.get_axes() if ax.get_visible() and ax.axison]
    for ax in axes:
        t = _clean(ax.get_title())
        title = title or t
        bits = [_kind(ax) + (f" \u201c{t}\u201d" if t else "")]
        xl, yl = _clean(ax.get_xlabel()), _clean(ax.get_ylabel())
        if xl:
            bits.append(f"x axis: {xl}")
        if yl:
            bits.append(f"y axis: {yl}")
        leg = ax.get_legend()
        labels = [_clean(t.get_text()) for t in leg.get_texts()] if leg else []
        labels = [x for x in labels if x]
        if labels:
            bits.append("series: " + ", ".join(labels[:8]) + (" and others" if len(labels) > 8 else ""))
        panels.append("; ".join(bits))
    if len(panels) > 1:
        alt = f"{len(panels)} panels. " + " ".join(f"Panel {i}: {p}." for i, p in enumerate(panels, 1))
    else:
        alt = (panels[0] + ".") if panels else "Figure."
    alt = alt[0].upper() + alt[1:]
    return {"title": title, "alt": alt}


def save(fig, path: str | Path) -> Path:
    """Save ``fig`` as deterministic SVG at ``path`` (atomically) and close it."""

    import matplotlib.pyplot as plt

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata=SVG_METADATA)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


@dataclass
class FigureData:
    """What a figure draws, one row per mark: ``series``, ``x``, ``y``, the interval ``lower`` to
    ``upper`` and ``n``, the size of the group ``y`` is a statistic of (or the count itself).

    ``kind`` is ``"count"`` (``y`` is a count of young people, ``n`` the same count) or
    ``"statistic"`` (``y``, ``lower`` and ``upper`` are a mean, share or rate of the group of
    ``n``). ``sources`` names, per row, the published table cells the row was read from
    (``{"table", "key", "values": {column of the data: column of the table}}``): a figure is
    drawn from published values, so it never shows a value its table suppresses
    (:func:`from_table`). ``frame`` keeps the published text (``c`` where the table has ``c``).
    """

    frame: pd.DataFrame
    kind: str = "statistic"
    sources: list = field(default_factory=list)
    preset: str = "dfe"  #: the disclosure preset of the tables it is drawn from (a run's preset wins)

    def numbers(self) -> pd.DataFrame:
        """The frame with every value column as numbers (symbols as NaN), for drawing."""
        return numeric(self.frame)


def numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``y``, ``lower``, ``upper`` and ``n`` as numbers; the disclosure symbols
    (``c``, ``z``, ``low``) become NaN, so a suppressed value is never drawn."""
    out = frame.copy()
    for c in ("y", "lower", "upper", "n"):
        if c in out.columns:
            out[c] = pd.to_numeric(out[c], errors="coerce")
    return out


def from_table(published: pd.DataFrame, table: str, *, x: str, y: str, series: str | None = None,
               series_label: str | None = None, lower: str | None = None, upper: str | None = None,
               n: str | None = None, key: tuple[str, ...] | None = None, kind: str = "statistic",
               rows=None, preset: str = "dfe") -> FigureData:
    """The figure data of the published table ``published`` (as :func:`rrlib.disclosure.publish`
    returned it): one row per table row (or the boolean mask ``rows``), ``x`` and ``series`` from
    id columns (or the fixed ``series_label``), ``y``/``lower``/``upper``/``n`` from value columns,
    each kept as published (a suppressed ``c`` stays ``c`` and is not drawn). ``key`` names the
    columns that identify a row of the table (default: ``x`` and ``series``)."""
    if kind == "count" and n is None:
        n = y
    t = published if rows is None else published[np.asarray(rows, dtype=bool)]
    key = tuple(key) if key else tuple(c for c in (series, x) if c)
    values = {"y": y, "lower": lower, "upper": upper, "n": n}
    recs, sources = [], []
    for _, r in t.iterrows():
        rec = {"series": str(r[series]) if series else (series_label or y), "x": str(r[x])}
        for k, col in values.items():
            rec[k] = str(r[col]) if col else ""
        recs.append(rec)
        sources.append({"table": table, "key": {c: str(r[c]) for c in key},
                        "values": {k: col for k, col in values.items() if col}})
    frame = pd.DataFrame(recs, columns=list(DATA_COLUMNS))
    return FigureData(frame, kind=kind, sources=sources, preset=preset)


def combine(*parts: FigureData) -> FigureData:
    """One figure's data from several parts (panels), in order."""
    kinds = {p.kind for p in parts}
    presets = sorted({p.preset for p in parts}, key=lambda x: -disclosure.PRESETS[x].threshold)
    return FigureData(pd.concat([p.frame for p in parts], ignore_index=True),
                      kind=kinds.pop() if len(kinds) == 1 else "statistic",
                      sources=[s for p in parts for s in p.sources], preset=presets[0])  # the strictest


def publish_data(data: FigureData, name: str, figures_dir: str | Path, *, preset: str | None = "dfe",
                 threshold: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Write what figure ``name`` draws as ``<figures_dir>/<name>.data.csv`` with its
    ``<name>.data.disclosure.json``, through :func:`rrlib.disclosure.apply` with ``preset``:
    counts (``y`` and ``n`` of a count figure, ``n`` of a statistic) suppressed like a table's,
    a statistic of a group under :func:`rrlib.disclosure.min_group` withheld, and every value
    whose source table cell is suppressed kept suppressed (``c``). The record adds ``figure``,
    ``kind`` and ``sources``. Returns the numeric frame handed to disclosure control (the counts
    the outbox re-checks) and the keyword arguments it was published with."""
    frame = numeric(data.frame)
    if data.kind == "count":
        frame["n"] = frame["n"].fillna(frame["y"])
        kw = dict(counts=["y", "n"], statistics={c: "n" for c in ("lower", "upper")})
    else:
        kw = dict(counts=["n"], statistics={c: "n" for c in ("y", "lower", "upper")})
    frame = frame.assign(n=frame["n"].fillna(0))
    out, record = disclosure.apply(frame, preset=preset, threshold=threshold, id_cols=["series", "x"],
                                   detect=False, **kw)
    shown = data.frame.astype(str).apply(lambda col: col.str.strip())
    for c in ("y", "lower", "upper", "n"):  # what the table suppresses stays suppressed
        hidden = shown[c].isin([disclosure.SUPPRESSED]).to_numpy()
        out.loc[hidden, c] = disclosure.SUPPRESSED
        blank = shown[c].isin(["", disclosure.NOT_APPLICABLE, "nan"]).to_numpy()
        out.loc[blank & ~hidden, c] = disclosure.NOT_APPLICABLE
    d = Path(figures_dir)
    d.mkdir(parents=True, exist_ok=True)
    dname = name + DATA_SUFFIX
    atomic_write_text(d / f"{dname}.csv", out.to_csv(index=False, lineterminator="\n"))
    record = {"table": f"{dname}.csv", "figure": f"{name}.svg", "kind": data.kind, "sources": data.sources,
              **record}
    write_json(d / f"{dname}.disclosure.json", record)
    return frame, kw
