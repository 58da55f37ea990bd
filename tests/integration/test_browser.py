"""The report opens in a real headless browser (Debian's chromium), offline.

Renders ``<out>/index.html`` and both versions of every chapter page of the run chosen by
``RR_DATA_DIR`` / ``RR_OUT_DIR`` (default: ``reports/``, made by ``make report``), checks that each
page loads without script errors and shows its figures (every image decoded), and saves
screenshots under the run's folder (``reports/screenshot-*.png``). Chromium runs with networking
features off and without file access between pages (what a reader's browser allows ``file://``
pages), one browser for the module (``_chromium.Devtools``); the pages are also checked statically
for network resources.
"""
from __future__ import annotations

import re
from pathlib import Path

import _chromium
import pytest

from rrlib import chapter, paths, report

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LAYOUT = paths.layout()
OUT = LAYOUT.out_dir
INDEX = LAYOUT.report_html
CHROMIUM = _chromium.CHROMIUM
#: a chapter page's own script marks its body when it has loaded (rr_notebook.html.j2)
LOADED = "document.body && document.body.getAttribute('data-rr-loaded') === 'yes'"


def _need_browser_and_report():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)")
    if not INDEX.exists():
        pytest.skip(f"no report at {INDEX}: run `make report` first")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _need_browser_and_report()
    b = _chromium.Devtools(tmp_path_factory.mktemp("chromium"))
    yield b
    b.close()


def dump_dom(browser, page: Path, ready: str = "true") -> str:
    browser.size(800, 600)
    browser.load(page.as_uri(), ready)
    return browser.html()


def screenshot(browser, page: Path, target: Path, height: int = 2400) -> None:
    browser.size(1280, height)
    browser.load(page.as_uri())
    browser.screenshot(target)
    assert target.exists() and target.stat().st_size > 10_000, f"no screenshot of {page}"


def body_attrs(dom: str) -> dict:
    m = re.search(r"<body([^>]*)>", dom)
    assert m, "no <body> in the rendered page"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))


def test_index_renders(browser):
    text = INDEX.read_text(encoding="utf-8")
    assert report.external_references(text) == []
    dom = dump_dom(browser, INDEX)
    for section in ("programme", "chapters", "claims", "figures", "data", "colophon"):
        assert f'id="{section}"' in dom
    assert "Claims: published figures against this run" in dom
    screenshot(browser, INDEX, OUT / "screenshot-index.png")
    claims_page = OUT / "claims.html"
    assert claims_page.exists()
    assert report.external_references(claims_page.read_text(encoding="utf-8")) == []
    assert "<table" in dump_dom(browser, claims_page)


@pytest.mark.parametrize("name", list(chapter.NOTEBOOKS))
def test_chapter_page_loads_and_shows_its_figures(name, browser):
    reader = OUT / "html" / f"{name}.html"
    full = OUT / "html" / f"{name}-code.html"
    if not reader.exists():
        pytest.skip(f"chapter {name} has no page in {OUT / 'html'} (not run in this report)")
    for page in (reader, full):
        assert page.exists(), f"{page} missing (reader version exists)"
        html = page.read_text(encoding="utf-8")
        assert report.external_references(html) == [], page
        figures = set(re.findall(r'data-figure="([^"]+)"', html))
        assert figures, f"{page.name}: the chapter shows no figures"
        attrs = body_attrs(dump_dom(browser, page, LOADED))
        assert attrs.get("data-rr-loaded") == "yes", f"{page.name}: the page did not finish loading"
        assert attrs.get("data-errors") == "0", f"{page.name}: script errors while loading"
        total, ok = int(attrs["data-images-total"]), int(attrs["data-images-ok"])
        assert total >= len(figures), f"{page.name}: fewer images than figures"
        assert ok == total, f"{page.name}: {total - ok} of {total} images did not render"
    screenshot(browser, reader, OUT / f"screenshot-{name}.png", height=3000)
