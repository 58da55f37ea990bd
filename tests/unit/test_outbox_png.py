"""The outbox's PNG of a figure: deterministic, and the same pixels cairosvg draws without its cache.

``rrlib.outbox.svg_to_png`` gives cairosvg the SVG's url so that each ``<use>``d glyph or marker is found
once by id (without it cairosvg searches the whole tree for every ``<use>``: 20.6 s -> 11.9 s for a small
run's 35 figures). The PNG must not change for it.
"""
import io

import cairosvg
from PIL import Image

from rrlib import paths
from rrlib.outbox import svg_to_png

FIGURE = paths.ROOT / "figures" / "exclusions_age_profile.svg"


def test_the_png_equals_an_uncached_rendering_and_is_deterministic(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    svg_to_png(FIGURE, a)
    svg_to_png(FIGURE, b)
    assert a.read_bytes() == b.read_bytes()
    uncached = Image.open(io.BytesIO(cairosvg.svg2png(bytestring=FIGURE.read_bytes(), scale=2.0)))
    cached = Image.open(a)
    assert cached.size == uncached.size
    assert cached.tobytes() == uncached.convert(cached.mode).tobytes()
