"""Deterministic figures with honest labels.

:func:`style` loads the compendium's ``matplotlibrc`` (``svg.hashsalt``, fonts rendered as
paths); :func:`save` writes an SVG with no date or software version in its metadata, so the
same inputs give the same bytes; :func:`mark_synthetic` stamps a figure made from synthetic
data so that nobody mistakes it for a real result.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.patches import Rectangle

from . import paths
from .io import atomic_write_bytes

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
