"""Colours of the compendium's figures, safe under colour blindness (issue 29).

:data:`FOCUS_COLOUR` marks the focus area (Blackpool, or the area a run is about) and
:data:`PALETTE` the other series; :func:`area_colours` gives each area its colour.
:func:`colour_distance` measures how far apart two colours look with normal vision or simulated
deuteranopia and protanopia; ``tests/unit/test_figures_palette.py`` uses it to check the palette.
Drawing and saving figures, and publishing what they draw, are :mod:`rrlib.figures`.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

#: Colour-blind-safe colours (Okabe & Ito 2008, "Color Universal Design"): the focus area in
#: vermillion, the other series in colours that stay apart from it and from each other under
#: simulated deuteranopia and protanopia (checked by tests/unit/test_figures_palette.py).
FOCUS_COLOUR = "#D55E00"
PALETTE = ("#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#999999")


#: Colour vision deficiency simulated after Machado, Oliveira & Fernandes (2009), severity 1.
_CVD = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}


def _linear(rgb) -> np.ndarray:
    c = np.asarray(rgb, dtype=float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb) -> np.ndarray:
    """CIELAB (D65) of a linear sRGB colour."""
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ np.clip(linear_rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def colour_distance(a, b, vision: str = "normal", *, hue_only: bool = False) -> float:
    """CIE76 distance (Delta E) between two colours as seen with ``vision`` ("normal",
    "deuteranopia" or "protanopia", simulated after Machado, Oliveira & Fernandes 2009). About 2
    is just noticeable; series on one chart should be far more apart than that. ``hue_only``:
    the distance in the a*b* plane only, so that a lighter shade of the same colour (a red and a
    salmon) counts as close."""
    la, lb = _linear(to_rgb(a)), _linear(to_rgb(b))
    if vision != "normal":
        la, lb = _CVD[vision] @ la, _CVD[vision] @ lb
    d = _lab(la) - _lab(lb)
    return float(np.linalg.norm(d[1:] if hue_only else d))


def area_colours(areas, focus: str | None = None, pooled: str | None = None) -> dict:
    """A colour per area: ``focus`` in :data:`FOCUS_COLOUR`, ``pooled`` (e.g. "Other areas") in
    black, the others from :data:`PALETTE` in the order given."""
    out, rest = {}, iter(PALETTE * 3)
    for a in areas:
        out[a] = FOCUS_COLOUR if a == focus else "black" if a == pooled else next(rest)
    return out
