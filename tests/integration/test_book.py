"""The report reads like a book, in a real headless browser (Debian's chromium), from file://.

Checks the run chosen by ``RR_DATA_DIR`` / ``RR_OUT_DIR`` (default ``reports/``, made by
``make report``): at 1400, 1024 and 390 pixels wide no figure, table or code box pushes any page
sideways (wide tables scroll inside their own box); search finds a word of each chapter from
``file://``; every link inside the report resolves to an id on its page; Chromium prints a chapter
to PDF; reader pages weigh at most 1 MB. One browser for the module (``_chromium.Devtools``); at each
width a harness page holds every page of the report in iframes of that width and collects what each
page measured on load (the pages' own script, :data:`rrlib.book.SEARCH_JS`). Skips when chromium or
the report is absent.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import _chromium
import pytest

from rrlib import book, chapter, paths

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LAYOUT = paths.layout()
OUT = LAYOUT.out_dir
INDEX = LAYOUT.report_html
CHROMIUM = _chromium.CHROMIUM
FLAGS = _chromium.FLAGS + ["--allow-file-access-from-files"]
WIDTHS = (1400, 1024, 390, 703)   # 703 px: the width of an A4 page printed with 12 mm margins


def _need():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    if not INDEX.exists():
        pytest.skip(f"no report at {INDEX}: run `make report` first")


def _pages() -> list[Path]:
    pages = [INDEX, OUT / "claims.html"]
    for name in chapter.NOTEBOOKS:
        for suffix in ("", "-code"):
            p = OUT / "html" / f"{name}{suffix}.html"
            if p.exists():
                pages.append(p)
    return pages


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _need()
    b = _chromium.Devtools(tmp_path_factory.mktemp("chromium"), FLAGS)
    yield b
    b.close()


HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
{frames}
<script>
var frames = document.querySelectorAll("iframe"), out = {{}};
function poll() {{
  var pending = 0;
  for (var i = 0; i < frames.length; i++) {{
    var f = frames[i], key = f.getAttribute("data-key"), b = null;
    if (out[key]) {{ continue; }}
    try {{ b = f.contentDocument && f.contentDocument.body; }}
    catch (e) {{ out[key] = {{error: String(e)}}; continue; }}
    if (b && b.hasAttribute("data-overflow")) {{
      out[key] = {{overflow: b.getAttribute("data-overflow"), list: b.getAttribute("data-overflow-list"),
                  viewport: b.getAttribute("data-viewport"), errors: b.getAttribute("data-errors"),
                  images: b.getAttribute("data-images-total"), ok: b.getAttribute("data-images-ok")}};
    }} else {{ pending++; }}
  }}
  document.getElementById("out").textContent = JSON.stringify(out);
  if (pending) {{ setTimeout(poll, 200); }} else {{ document.body.setAttribute("data-done", "yes"); }}
}}
window.addEventListener("load", function () {{ setTimeout(poll, 100); }});
</script><pre id="out"></pre></body></html>"""


def measure(browser, pages: dict[str, Path], width: int, tmp: Path) -> dict:
    frames = "\n".join(f'<iframe data-key="{html.escape(k)}" src="{html.escape(p.as_uri())}" '
                       f'style="width:{width}px;height:900px;border:0;display:block"></iframe>'
                       for k, p in pages.items())
    harness = tmp / f"harness-{width}.html"
    harness.write_text(HARNESS.format(frames=frames), encoding="utf-8")
    browser.size(1500, 1000)
    browser.load(harness.as_uri(), "document.body.getAttribute('data-done') === 'yes'", timeout=90)
    return json.loads(browser.evaluate("document.getElementById('out').textContent") or "{}")


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_overflows_sideways(width, browser, tmp_path):
    pages = {p.relative_to(OUT).as_posix(): p for p in _pages()}
    # a control page that does overflow: the check must be able to fail
    wide = tmp_path / "wide.html"
    wide.write_text('<!DOCTYPE html><html><body><figure><img alt="" style="width:3000px;height:10px" src="data:'
                    'image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E"></figure>'
                    f"<script>{book.SEARCH_JS}</script></body></html>", encoding="utf-8")
    pages["control"] = wide
    got = measure(browser, pages, width, tmp_path)
    assert set(got) == set(pages), f"pages that never finished loading: {set(pages) - set(got)}"
    assert int(got["control"]["overflow"]) > 0, "the overflow check cannot fail"
    for key, m in got.items():
        if key == "control":
            continue
        assert "error" not in m, (key, m)
        assert int(m["viewport"]) <= width, (key, m)
        assert m["overflow"] == "0", f"{key} at {width}px: wider than the page: {m['list']}"
        if m.get("errors") is not None:
            assert m["errors"] == "0", f"{key}: script errors"
        if m.get("images") is not None:
            assert m["images"] == m["ok"], f"{key}: {m}"


def _words(page: Path) -> set[str]:
    text = " ".join(e["t"] + " " + e["s"] for e in book.search_entries(page.name, "", page.read_text("utf-8")))
    return set(re.findall(r"[a-z]{8,}", text.lower()))


def test_search_finds_a_word_of_each_chapter_from_file_url(browser):
    readers = {n: OUT / "html" / f"{n}.html" for n in chapter.NOTEBOOKS if (OUT / "html" / f"{n}.html").exists()}
    assert readers, "no chapter pages"
    words = {n: _words(p) for n, p in readers.items()}
    for name, page in readers.items():
        others = set().union(*(w for n, w in words.items() if n != name))
        own = sorted(words[name] - others - _words(INDEX))
        assert own, f"{name}: no word of its own"
        word = own[len(own) // 2]
        browser.load(f"{INDEX.as_uri()}#search={word}",
                     "document.getElementById('rr-search-results').hasAttribute('data-hits')")
        found = browser.evaluate("document.getElementById('rr-search-results').innerHTML")
        assert f'href="html/{name}.html' in found, f"search for {word!r} did not find chapter {name}"


_ID = re.compile(r'\sid="([^"]+)"')
_HREF = re.compile(r'<a\s[^>]*href="([^"]+)"')


def test_every_link_inside_the_report_resolves():
    _need()
    pages = _pages()
    ids = {p.resolve(): {html.unescape(i) for i in _ID.findall(p.read_text("utf-8"))} for p in pages}
    bad = []
    for p in pages:
        text = re.sub(r"<(script|style)\b.*?</\1>", "", p.read_text("utf-8"), flags=re.S)
        assert not re.search(r"@(fig|tab):[\w.-]+", re.sub(r"<(pre|code)\b.*?</\1>", "", text, flags=re.S)), \
            f"{p.name}: a cross-reference without its figure or table"
        for href in _HREF.findall(text):
            href = html.unescape(href)
            if re.match(r"^[a-z]+:", href):
                continue
            target, _, anchor = href.partition("#")
            dest = (p.parent / target).resolve() if target else p.resolve()
            if not dest.exists():
                bad.append(f"{p.name}: {href} (no file)")
            elif anchor and dest in ids and anchor not in ids[dest]:
                bad.append(f"{p.name}: {href} (no id)")
    assert not bad, bad[:20]


def test_cross_references_link_figures_and_tables():
    _need()
    n = 0
    for p in _pages():
        n += len(re.findall(r'<a href="[^"]*#(?:fig|tab|data-tab)-[^"]*">(?:Figure|Table) \d+\.\d+</a>',
                            p.read_text("utf-8")))
    assert n > 0, "no cross-reference in the text of any chapter"


def test_chapter_prints_to_pdf(browser, tmp_path):
    page = max((OUT / "html").glob("*.html"), key=lambda p: p.stat().st_size)
    pdf = tmp_path / "chapter.pdf"
    browser.load(page.as_uri())
    browser.pdf(pdf)
    assert pdf.exists() and pdf.read_bytes()[:4] == b"%PDF"
    assert pdf.stat().st_size > 50_000
    css = (Path(book.__file__).parent / "templates" / "report.css").read_text("utf-8")
    printed = css[css.index("@media print"):]
    assert "max-width: 100% !important" in printed and "overflow: visible !important" in printed


PRINT_CHECK = r"""(function () {
  var w = document.documentElement.clientWidth, bad = [];
  document.querySelectorAll("img, figure, table, svg").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (!r.width || getComputedStyle(el).display === "none") { return; }
    if (r.right > w + 1) { bad.push(el.tagName + "#" + el.id + " " + Math.round(r.right) + ">" + w); }
    for (var a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") {
        var ar = a.getBoundingClientRect();
        if (r.right > ar.right + 1 || r.left < ar.left - 1) {
          bad.push(el.tagName + "#" + el.id + " clipped by ." + a.className);
        }
      }
    }
  });
  return JSON.stringify(bad.slice(0, 20));
})()"""


def test_printed_pages_clip_no_figure_or_table(browser, tmp_path):
    """What --print-to-pdf lays out: print media at the width of an A4 page with 12 mm margins
    (703 CSS px); no figure or table wider than the page or cut by a box."""
    cdp = browser
    try:
        cdp.size(703, 1000)
        cdp.media("print")
        problems = {}
        control = tmp_path / "control.html"    # a table cut by its box: the check must see it
        control.write_text('<!DOCTYPE html><html><body><div style="overflow:hidden;width:200px">'
                           '<table style="width:900px"><tr><td>x</td></tr></table></div></body></html>', "utf-8")
        for page in [control, *_pages()]:
            cdp.load(page.as_uri())
            assert cdp.evaluate("matchMedia('print').matches") is True
            bad = json.loads(cdp.evaluate(PRINT_CHECK))
            if bad:
                problems[page.name] = bad
        assert problems.pop("control.html", None), "the print check cannot fail"
        assert not problems, problems
    finally:
        cdp.media("")


def test_reader_pages_weigh_at_most_1_mb():
    _need()
    sizes = {p.name: p.stat().st_size for p in _pages()}
    assert sizes
    heavy = {k: v for k, v in sizes.items() if v > book.MAX_PAGE_BYTES}
    assert not heavy, heavy
