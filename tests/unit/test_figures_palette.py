"""Colour-blind-safe palettes (issue 29, Figure 3.3: Blackpool's red against Newham's salmon).

The focus area's colour must stay apart from every other series as drawn (alpha over white),
for normal vision and simulated deuteranopia and protanopia (Machado et al. 2009), in hue, not
only in lightness (a salmon is a lighter red).
"""
from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex, to_rgb

from rrlib import palette

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

VISIONS = ("normal", "deuteranopia", "protanopia")
MIN_HUE = 30.0   # a*b* distance (CIELAB units)


def _drawn(colour, alpha=1.0) -> str:
    return to_hex(np.array(to_rgb(colour)) * alpha + (1 - alpha))


def _closest(focus, others) -> float:
    return min(palette.colour_distance(focus, o, v, hue_only=True) for o in others for v in VISIONS)


def test_focus_colour_stays_apart_from_every_series_under_colour_blindness():
    others = ["black", *(_drawn(c, 0.8) for c in palette.PALETTE)]
    assert _closest(palette.FOCUS_COLOUR, others) >= MIN_HUE
    for v in VISIONS:
        for o in others:
            assert palette.colour_distance(palette.FOCUS_COLOUR, o, v) >= 20, (v, o)


def test_the_old_palette_fails():
    """tab:red for Blackpool against matplotlib's default cycle at alpha 0.6 (Hull's orange,
    Newham's salmon): the check can fail."""
    old = [_drawn(c, 0.6) for c in ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")]
    assert _closest("tab:red", old) < MIN_HUE


def test_simulation_leaves_grey_grey_and_merges_red_and_green():
    assert palette.colour_distance("#777777", "#777777", "deuteranopia") == pytest.approx(0, abs=1e-6)
    assert (palette.colour_distance("#d62728", "#2ca02c", "deuteranopia", hue_only=True)
            < palette.colour_distance("#d62728", "#2ca02c", "normal", hue_only=True) / 2)


def test_wmf_trends_use_the_palette():
    from rrlib.chapters import wmf

    areas = list(wmf.AREAS) + ["Other areas"]
    rows = [dict(series="year9", outcome="school_connection", area=a, wave=w, mean=1.0 + i, lower=0.5, upper=1.5)
            for i, a in enumerate(areas) for w in ("2016/17", "2017/18")]
    fig = wmf.plot_trends(pd.DataFrame(rows))
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")}
    focus = lines[wmf.FOCUS]
    assert to_hex(focus.get_color()) == palette.FOCUS_COLOUR.lower()
    drawn = [_drawn(ln.get_color(), ln.get_alpha() or 1.0) for a, ln in lines.items() if a != wmf.FOCUS]
    assert len(drawn) == len(areas) - 1 and _closest(palette.FOCUS_COLOUR, drawn) >= MIN_HUE
    plt.close(fig)
