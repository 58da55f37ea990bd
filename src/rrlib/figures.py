"""Deterministic figures with honest labels.

:func:`style` loads the compendium's ``matplotlibrc`` (``svg.hashsalt``, fonts rendered as
paths); :func:`save` writes an SVG with no date or software version in its metadata, so the
same inputs give the same bytes; :func:`mark_synthetic` stamps a figure made from synthetic
data so that nobody mistakes it for a real result.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

from . import paths

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
    fig.text(0.995, 0.005, label, fontsize=7, color="firebrick", ha="right", va="bottom")


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
    fig.text(0.01, 0.005, text, fontsize=7, color="dimgrey", ha="left", va="bottom", wrap=True)


def save(fig, path: str | Path) -> Path:
    """Save ``fig`` as deterministic SVG at ``path`` (atomically) and close it."""
    import io

    import matplotlib.pyplot as plt

    from .io import atomic_write_bytes

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata=SVG_METADATA)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())
