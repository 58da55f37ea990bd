"""The SYNTHETIC stamp never covers a figure's source line (issue 29: Figures 1.2, 2.6, 4.3)."""
from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

from rrlib import figures  # noqa: E402


def _boxes(fig):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return {t.get_text()[:12]: t.get_window_extent(r) for t in fig.texts if t.get_text()}


def test_stamp_and_a_long_source_line_do_not_overlap():
    figures.style()
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1], [0, 1])
    figures.source_note(fig, "DfE, Permanent and fixed-period exclusions in England, a long source line that "
                             "runs across the whole width of the figure and further", official=True)
    figures.mark_synthetic(fig, True)
    boxes = _boxes(fig)
    stamp = boxes[figures.SYNTHETIC_LABEL[:12]]
    source = boxes["Source: DfE,"]
    assert not stamp.overlaps(source), (stamp, source)
    r = fig.canvas.get_renderer()
    for ax in fig.axes:   # nor does the source line cover the axes (tick labels included)
        assert not ax.get_tightbbox(r).overlaps(source), "source line over the axes"
        assert not ax.get_tightbbox(r).overlaps(stamp), "stamp over the axes"
    plt.close(fig)
