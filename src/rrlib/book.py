"""The report read as a book: light figures, cross-references, navigation, search, tables.

Pieces that :mod:`rrlib.report` puts together around nbconvert's pages:

* :func:`svg_min` and :func:`svg_data_uri`: each figure is embedded once, as an ``<img>`` with a
  minified, percent-encoded SVG data URI (no base64: a third lighter), so a reader page stays
  under :data:`MAX_PAGE_BYTES` and every figure scales with its column (no clipped panels).
* :func:`figure_html`: the in-text figure with its number, caption and alt text (from the caption
  and :func:`rrlib.figures.describe`), anchored at ``#fig-<name>``.
* :func:`link_crossrefs`: ``@fig:name`` / ``@tab:name`` in a markdown cell, and any literal
  "Figure 2.4" / "Table 5.1" of the report, become links to the numbered figure or table.
* :func:`publication_table`: a pandas HTML table made readable: no 0..n index, human headers,
  a box that scrolls when the table is wide, and a legend for the disclosure symbols it uses.
* :func:`sections`, :func:`sidebar_html`: the side navigation (every chapter, the current
  chapter's sections, previous/next).
* :func:`search_entries`, :func:`search_script`: a full-text index written as one script
  (``html/search.js``) that works from ``file://`` (no fetch, no network).
"""
from __future__ import annotations

import html
import json
import re
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

#: The most a reader page may weigh (bytes), checked by the tests.
MAX_PAGE_BYTES = 1_000_000

#: Symbols used in published tables (rrlib.disclosure and the DfE's conventions).
SYMBOLS = {
    "c": "confidential: suppressed by disclosure control (small count, or revealed by one)",
    "z": "not applicable (the cell cannot have a value)",
    "x": "not available",
    "u": "low reliability",
    "..": "not available for this period",
    ":": "not available",
    "-": "nil or rounds to zero",
}

# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------
_NUM = re.compile(r"-?\d+\.\d+")
_ROUNDED = ("d", "x", "y", "points", "width", "height", "x1", "x2", "y1", "y2", "cx", "cy", "r")


def _short(i: int) -> str:
    a = "abcdefghijklmnopqrstuvwxyz"
    s = a[i % 26]
    i //= 26
    while i:
        s += a[i % 26]
        i //= 26
    return s


def _one_decimal(m: re.Match) -> str:
    s = f"{round(float(m.group(0)), 1):.1f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _implicit_lineto(d: str) -> str:
    """``M1 2L3 4L5 6`` -> ``M1 2 3 4 5 6`` (pairs after a moveto or lineto are linetos)."""
    out, prev = [], ""
    for cmd, args in re.findall(r"([A-Za-z])([^A-Za-z]*)", d):
        if cmd == "L" and prev in ("M", "L") and out:
            out.append(" " + args)
        else:
            out.append(cmd + args)
        prev = cmd
    return "".join(out)


def svg_min(text: str) -> str:
    """A smaller SVG that draws the same figure (matplotlib's output, fonts as paths).

    Drops the XML prolog, comments and metadata; coordinates to 0.1 pt (scales kept exact);
    unreferenced ids dropped and referenced ones shortened; ``xlink:href`` as SVG 2 ``href``;
    glyph offsets ``translate(x 0)`` as ``x``; attribute-less ``<g>`` wrappers unwrapped.
    """
    t = re.sub(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->|<metadata>.*?</metadata>", "", text, flags=re.S)
    ids = set(re.findall(r'\sid="([^"]*)"', t))
    refs = [r for r in dict.fromkeys(re.findall(r"#([A-Za-z_][\w.-]*)", t)) if r in ids]
    ren = {r: _short(i) for i, r in enumerate(refs)}

    def attr(m: re.Match) -> str:
        name, v = m.group(1), m.group(2)
        if name == "id":
            return f" id='{ren[v]}'" if v in ren else ""
        if name == "xlink:href":
            name = "href"
        v = re.sub(r"\s+", " ", v).strip()
        v = re.sub(r"#([A-Za-z_][\w.-]*)", lambda k: "#" + ren.get(k.group(1), k.group(1)), v)
        if name in _ROUNDED:
            v = _NUM.sub(_one_decimal, v)
        elif name == "transform":
            v = re.sub(r"(translate|rotate)\(([^)]*)\)",
                       lambda k: f"{k.group(1)}({_NUM.sub(_one_decimal, k.group(2))})", v)
        elif name == "style":
            v = re.sub(r"\s*([:;])\s*", r"\1", v)
            v = re.sub(r"#([0-9a-f])\1([0-9a-f])\2([0-9a-f])\3\b", r"#\1\2\3", v)
        if name == "d":
            v = _implicit_lineto(re.sub(r" ?([MLCQZz]) ?", r"\1", v))
        return f" {name}='{v}'" if "'" not in v else f' {name}="{v}"'

    t = re.sub(r'\s([\w:-]+)="([^"]*)"', attr, t)
    t = re.sub(r"(<use\b[^>]*?)\stransform='translate\((-?[\d.]+) 0\)'", r"\1 x='\2'", t)
    t = re.sub(r">\s+<", "><", t).strip()
    # glyph offsets are in font units (scaled by ~0.1): whole units are exact enough
    t = re.sub(r"(<use href='#\w+' x=')(-?[\d.]+)('/>)",
               lambda m: f"{m.group(1)}{round(float(m.group(2)))}{m.group(3)}", t)
    # a marker's <use> repeating the style its path already has
    styles = dict(re.findall(r"<path id='(\w+)' d='[^']*' style='([^']*)'", t))
    t = re.sub(r"(<use href='#(\w+)'[^>]*?) style='([^']*)'",
               lambda m: m.group(1) if styles.get(m.group(2)) == m.group(3) else m.group(0), t)
    if "xlink:" not in t.replace("xmlns:xlink='http://www.w3.org/1999/xlink'", ""):
        t = t.replace(" xmlns:xlink='http://www.w3.org/1999/xlink'", "")
    t = t.replace(" version='1.1'", "")
    out, stack = [], []
    for tok in re.split(r"(<g\s*/>|<g>|<g\s[^>]*/>|<g\s[^>]*>|</g>)", t):
        if re.fullmatch(r"<g\s*/>", tok) or tok == "<g>":
            if tok == "<g>":
                stack.append(False)
            continue
        if re.fullmatch(r"<g\s[^>]*/>", tok):      # an empty group with attributes: opens nothing
            continue
        if tok.startswith("<g ") or tok.startswith("<g\n"):
            stack.append(True)
        elif tok == "</g>" and not stack.pop():
            continue
        out.append(tok)
    return "".join(out)


_URI_SAFE = " /:=;,'()!*~-_.?@+$[]{}|^`"


def svg_data_uri(path: str | Path) -> str:
    """``data:image/svg+xml,...`` of the minified SVG (percent-encoded, not base64)."""
    text = svg_min(Path(path).read_text(encoding="utf-8"))
    return "data:image/svg+xml," + urllib.parse.quote(text, safe=_URI_SAFE)


def figure_html(info: dict, data_uri: str) -> str:
    """The in-text figure: image, number, caption, alt text; ``id="fig-<name>"``."""
    e = html.escape
    label = info.get("label") or "Figure"
    caption = info.get("caption") or numbering_name(info["name"])
    return (f'<figure class="rr-figure" id="fig-{e(info["name"])}" data-number="{e(info.get("number") or "")}">'
            f'<img src="{_attr_uri(data_uri)}" alt="{e(info.get("alt") or caption)}" '
            f'data-figure="{e(info["name"])}">'
            f'<figcaption><strong>{e(label)}.</strong> {e(caption)} '
            f'<a class="rr-details" href="#details-{e(info["name"])}">Provenance</a></figcaption></figure>')


def _attr_uri(uri: str) -> str:
    """A data URI inside a double-quoted attribute: ``<`` and ``>`` may stay (HTML5), ``&`` may not."""
    return uri.replace("&", "&amp;").replace('"', "%22")


def numbering_name(name: str) -> str:
    stem = Path(name).stem
    return (stem[:1].upper() + stem[1:]).replace("_", " ")


# --------------------------------------------------------------------------------------------
# cross-references
# --------------------------------------------------------------------------------------------
_XREF = re.compile(r"@(fig|tab):([\w-]+)")
_LITERAL = re.compile(r"(?<![\[\w#-])(Figure|Fig\.|Table)\s(\d+\.\d+)\b(?!\]|\()")


def link_crossrefs(source: str, targets: dict[str, tuple[str, str, str]], chapter: str, suffix: str = "") -> str:
    """Links in one markdown cell. ``targets``: ``{"fig:name" or "Figure 2.4": (label, chapter,
    anchor)}``; a target in ``chapter`` itself links to ``#anchor``, others to
    ``<chapter><suffix>.html#anchor``. An unknown ``@fig:name`` is left as written (tests find it)."""
    def here(t: tuple[str, str, str]) -> str:
        return f"#{t[2]}" if t[1] == chapter else f"{t[1]}{suffix}.html#{t[2]}"

    def one(m: re.Match) -> str:
        t = targets.get(f"{m.group(1)}:{m.group(2)}")
        return f"[{t[0]}]({here(t)})" if t else m.group(0)

    def literal(m: re.Match) -> str:
        kind = "Table" if m.group(1) == "Table" else "Figure"
        t = targets.get(f"{kind} {m.group(2)}")
        return f"[{m.group(0)}]({here(t)})" if t else m.group(0)

    out = []
    for i, part in enumerate(re.split(r"(```.*?```|`[^`]*`)", source, flags=re.S)):
        out.append(part if i % 2 else _LITERAL.sub(literal, _XREF.sub(one, part)))
    return _LOCAL_LINK.sub(_repository_file, "".join(out))


#: A markdown link to a file of the repository (``[text](plans/x.md)``): not part of the report.
_LOCAL_LINK = re.compile(r"\[([^\]]+)\]\((?![a-z][\w+.-]*:|#|/)([^)\s]+?\.(?:md|py|yml|yaml|csv|txt|ipynb))\)")


def _repository_file(m: re.Match) -> str:
    """The link's text, saying where the file is (the report folder does not hold the repository)."""
    text, target = m.group(1), m.group(2)
    where = target if target.startswith(("notebooks/", "src/", "data/", "../")) else f"notebooks/{target}"
    where = where.removeprefix("../")
    return text if where in text else f"{text} (`{where}` in the compendium)"


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------
_DF_TABLE = re.compile(r'<table[^>]*class="dataframe"[^>]*>.*?</table>', re.S)
_STYLE_SCOPED = re.compile(r"<style scoped>.*?</style>", re.S)


def human_header(text: str) -> str:
    """``n_pupils`` -> ``N pupils``, ``rate_per_100`` -> ``Rate per 100``; other text unchanged."""
    raw = html.unescape(text).strip()
    if not re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+|[a-z]+", raw):
        return text
    words = raw.replace("_", " ")
    words = re.sub(r"\b(ci|dsr|rr|fsm|sen|sdq|gbo|ehc|wmf|la|ons|dfe|nhs|ed|hes|npd|id)\b",
                   lambda m: m.group(1).upper(), words)
    words = words.replace(" pct", " (%)").replace("DFE", "DfE")
    return html.escape(words[:1].upper() + words[1:])


_NUMERIC = re.compile(r"\s*[-+\u2212]?[\d,]*\.?\d+(e[-+]?\d+)?\s*%?\s*|\s*[cxzu:]\s*|\s*\.\.\s*|\s*-\s*")


def _mark_numbers(table: str) -> str:
    """Columns whose cells all hold a number or a symbol get the table class ``nK`` (K = column,
    from 1, up to 24): right-aligned and unwrapped by report.css, with no class on every cell (a
    big table would weigh a fifth more)."""
    body = table.split("<tbody>", 1)[-1]
    cols: dict[int, bool] = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        for k, (_tag, cell) in enumerate(re.findall(r"<(td|th)[^>]*>(.*?)</\1>", row, re.S), 1):
            cols[k] = cols.get(k, True) and bool(_NUMERIC.fullmatch(html.unescape(cell)))
    numeric = [f"n{k}" for k, ok in sorted(cols.items()) if ok and k <= 24]
    if not numeric:
        return table
    return re.sub(r'class="([^"]*)"', lambda m: f'class="{m.group(1)} {" ".join(numeric)}"', table, count=1)


WORDS = {"dfe": "DfE", "nw": "North West", "bot": "Back on Track", "sdq": "SDQ", "gbo": "GBO", "fsm": "FSM",
         "sen": "SEN", "wmf": "WMF", "ci": "CI", "dsr": "DSR", "km": "Kaplan-Meier", "ed": "ED", "rr": "risk ratio",
         "ffl": "FFL", "ara": "ARA", "la": "LA", "ons": "ONS", "nhs": "NHS", "rt": "RT", "swemwbs": "SWEMWBS",
         "srs": "SRS", "its": "ITS", "did": "DiD", "ohid": "OHID", "hes": "HES", "npd": "NPD", "vs": "versus",
         "england": "England", "blackpool": "Blackpool"}


def caption_words(text: str) -> str:
    """``Dfe blackpool nw england`` -> ``DfE Blackpool North West England`` (acronyms, claim ids)."""
    out = []
    for i, w in enumerate(text.split(" ")):
        key = w.lower().strip("(),")
        if key in WORDS:
            rep = WORDS[key]
            w = w.lower().replace(key, rep if i or rep[0].isupper() else rep[0].upper() + rep[1:])
        elif re.fullmatch(r"[ab]\d\d", key):
            w = w.replace(key, key.upper())
        out.append(w)
    return " ".join(out)


def figure_caption(caption: str | None, alt: str | None, name: str) -> str:
    """A caption that describes every panel: the figure's own caption (its title), else its name in
    words and what its axis shows, followed by the titles of its panels read from the alt text
    (``Panels: (a) Emotional symptoms; (b) ...``) when it has several."""
    alt = alt or ""
    caption = (caption or "").strip()
    if not caption:
        caption = caption_words(numbering_name(name))
        y = re.search(r"y axis: ([^;.]+)", alt)
        if y:
            caption += f" ({y.group(1).strip()})"
    titles = []
    for part in re.split(r"Panel \d+: ", alt)[1:]:
        t = re.search(r"\u201c([^\u201d]+)\u201d", part)
        titles.append(t.group(1) if t else None)
    named = [t for t in titles if t]
    if len(titles) > 1 and named and not all(t in caption for t in named):
        letters = "abcdefghijklmnopqrstuvwxyz"
        caption = caption.rstrip(".") + ". Panels: " + "; ".join(
            f"({letters[i]}) {t}" for i, t in enumerate(titles) if t) + "."
    return caption


def _symbols_in(table: str) -> list[str]:
    cells = {html.unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)}
    return [s for s in SYMBOLS if s in cells]


def legend_html(symbols: list[str]) -> str:
    if not symbols:
        return ""
    items = "; ".join(f"<code>{html.escape(s)}</code> {html.escape(SYMBOLS[s])}" for s in symbols)
    return f'<p class="rr-legend">Symbols: {items}.</p>'


def publication_table(table: str) -> str:
    """A pandas ``DataFrame.to_html`` table as a publication table (see module docstring)."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    body = table.split("<tbody>", 1)[-1]
    index = [m.strip() for m in re.findall(r"<tr[^>]*>\s*<th[^>]*>(.*?)</th>", body, re.S)]
    drop = bool(index) and index == [str(i) for i in range(len(index))] and len(rows) > len(index)
    if drop:
        table = re.sub(r"(<tr[^>]*>\s*)<th[^>]*>[^<]*</th>", r"\1", table)
        table = re.sub(r'(<thead>\s*<tr[^>]*>\s*)<th[^>]*>\s*</th>', r"\1", table)
    table = re.sub(r"(<th[^>]*>)([^<]*)(</th>)", lambda m: m.group(1) + human_header(m.group(2)) + m.group(3),
                   table)
    table = re.sub(r'\sborder="1"', "", table).replace('class="dataframe"', 'class="dataframe rr-table"')
    table = _mark_numbers(re.sub(r'<tr style="text-align: right;">', "<tr>", table))
    return f'<div class="scroll rr-table-box">{table}</div>' + legend_html(_symbols_in(table))


def publication_output(text_html: str) -> str:
    """Every DataFrame table of one HTML output as a publication table."""
    if 'class="dataframe"' not in text_html:
        return text_html
    text_html = _STYLE_SCOPED.sub("", text_html)
    return _DF_TABLE.sub(lambda m: publication_table(m.group(0)), text_html)


def caption_html(info: dict, kind: str) -> str:
    e = html.escape
    anchor = f'id="tab-{e(info["name"])}" ' if kind == "table" else ""
    return (f'<p class="rr-caption rr-{kind}-caption" {anchor}data-number="{e(info["number"])}">'
            f'<strong>{e(info["label"])}.</strong> {e(info["caption"])}</p>')


# --------------------------------------------------------------------------------------------
# navigation
# --------------------------------------------------------------------------------------------
_HEAD = re.compile(r'<h([1-3])\s+id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)


def _text(fragment: str) -> str:
    fragment = re.sub(r'<a class="anchor-link".*?</a>', "", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def sections(page: str) -> list[tuple[int, str, str]]:
    """The headings of a rendered chapter: ``(level, id, text)``."""
    return [(int(lv), html.unescape(i), _text(t)) for lv, i, t in _HEAD.findall(page) if _text(t)]


def sidebar_html(chapters: list[dict], current: str | None, secs: list[tuple[int, str, str]],
                 prefix: str = "") -> str:
    """The side navigation: search box, every chapter (the current one with its sections), claims."""
    e = html.escape
    items = [f'<li><a href="{prefix}../index.html">Report home</a></li>' if prefix == "" and current
             else '<li><a href="index.html">Report home</a></li>']
    for no, ch in enumerate(chapters, 1):
        href = (Path(ch["reader_href"]).name if current else ch["reader_href"])
        here = ch["name"] == current
        sub = ""
        if here and secs:
            sub = "<ul>" + "".join(f'<li class="lv{lv}"><a href="#{e(i)}">{e(t)}</a></li>'
                                   for lv, i, t in secs if lv >= 2) + "</ul>"
        cls = ' class="current"' if here else ""
        items.append(f'<li{cls}><a href="{e(href)}">{no}. {e(ch["title"])}</a>{sub}</li>')
    items.append(f'<li><a href="{"../" if current else ""}claims.html">Claims</a></li>')
    return ('<nav class="rr-sidebar" aria-label="Contents"><div class="rr-search">'
            '<input type="search" id="rr-search" placeholder="Search the report" aria-label="Search the report">'
            '<ol id="rr-search-results"></ol></div>'
            '<details class="rr-toc-box" open><summary>Contents</summary>'
            f'<ol class="rr-toc">{"".join(items)}</ol></details>'
            '<button type="button" id="rr-theme" aria-label="Switch dark or light mode">Dark / light</button>'
            "</nav>")


def with_navigation(page: str, sidebar: str) -> str:
    """A page of the report's folder (claims.html) with the side navigation and search."""
    page = re.sub(r"<body([^>]*)>", lambda m: f'<body class="rr-index"{m.group(1)}>{sidebar}<div class="rr-page">',
                  page, count=1)
    page = page.replace('<html lang="en">', '<html lang="en" data-rr-root="html/">', 1)
    scripts = f'<script src="html/search.js"></script><script>{SEARCH_JS}</script>'
    return page.replace("</body>", f"</div>{scripts}</body>", 1)


def prev_next_html(chapters: list[dict], current: str) -> str:
    e = html.escape
    names = [c["name"] for c in chapters]
    i = names.index(current)
    prev = (f'<a rel="prev" href="{e(Path(chapters[i - 1]["reader_href"]).name)}">&larr; '
            f'{i}. {e(chapters[i - 1]["title"])}</a>' if i > 0
            else '<a rel="prev" href="../index.html">&larr; Report</a>')
    nxt = (f'<a rel="next" href="{e(Path(chapters[i + 1]["reader_href"]).name)}">{i + 2}. '
           f'{e(chapters[i + 1]["title"])} &rarr;</a>' if i + 1 < len(chapters)
           else '<a rel="next" href="../claims.html">Claims &rarr;</a>')
    return f'<nav class="rr-prevnext">{prev}{nxt}</nav>'


# --------------------------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------------------------
class _Sections(HTMLParser):
    """Text of a page cut at its headings (ids), skipping scripts, styles and navigation."""

    SKIP = {"script", "style", "nav", "svg"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[dict] = [{"id": "", "title": "", "text": []}]
        self.skip = 0
        self.head: dict | None = None

    VOID = {"br", "img", "input", "hr", "meta", "link", "wbr", "col", "source"}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.skip:
            self.skip += tag not in self.VOID
        elif tag in self.SKIP or (tag == "a" and a.get("class") == "anchor-link"):
            self.skip = 1
        elif tag in ("h1", "h2", "h3"):
            self.head = {"id": a.get("id") or "", "title": "", "text": []}
            self.parts.append(self.head)

    def handle_endtag(self, tag):
        if self.skip:
            self.skip -= tag not in self.VOID
        elif tag in ("h1", "h2", "h3"):
            self.head = None

    def handle_data(self, data):
        if self.skip:
            return
        if self.head is not None:
            self.head["title"] += data
        else:
            self.parts[-1]["text"].append(data)


def search_entries(href: str, page_title: str, page: str) -> list[dict]:
    """Search records of one page: ``{"h": href#id, "p": page title, "s": section, "t": text}``."""
    body = re.split(r"<body[^>]*>", page, maxsplit=1)[-1]
    p = _Sections()
    p.feed(body)
    p.close()
    out = []
    for part in p.parts:
        text = " ".join(" ".join(part["text"]).split())
        if not text:
            continue
        out.append({"h": href + (f"#{part['id']}" if part["id"] else ""), "p": page_title,
                    "s": " ".join(part["title"].replace("¶", "").split()), "t": text[:12000]})
    return out


SEARCH_JS = r"""
(function () {
  var box = document.getElementById("rr-search"), list = document.getElementById("rr-search-results");
  var base = document.documentElement.getAttribute("data-rr-root") || "";
  var ENT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"};
  function esc(s) { return s.replace(/[&<>"]/g, function (c) { return ENT[c]; }); }
  window.rrSearch = function (q) {
    var words = q.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 1; });
    if (!words.length) { return []; }
    var hits = [];
    (window.RR_SEARCH || []).forEach(function (r) {
      var hay = (r.s + " " + r.t).toLowerCase(), score = 0;
      for (var i = 0; i < words.length; i++) { var n = hay.split(words[i]).length - 1; if (!n) { return; } score += n; }
      if (r.s.toLowerCase().indexOf(words[0]) >= 0) { score += 5; }
      hits.push({r: r, score: score});
    });
    hits.sort(function (a, b) { return b.score - a.score; });
    return hits.slice(0, 20).map(function (h) {
      var t = h.r.t, k = t.toLowerCase().indexOf(words[0]), from = Math.max(0, k - 60);
      var snippet = (from ? "\u2026" : "") + t.slice(from, k + 100) + "\u2026";
      return {href: base + h.r.h, page: h.r.p, section: h.r.s, snippet: snippet};
    });
  };
  if (!box || !list) { return; }
  function run() {
    var res = window.rrSearch(box.value);
    list.innerHTML = res.map(function (h) {
      return '<li><a href="' + esc(h.href) + '">' + esc(h.page) + (h.section ? " \u203a " + esc(h.section) : "") +
        '</a><br><small>' + esc(h.snippet) + "</small></li>";
    }).join("") || (box.value.trim() ? "<li>No match.</li>" : "");
    list.setAttribute("data-hits", String(res.length));
  }
  box.addEventListener("input", run);
  /* a search link: page.html#search=word fills the box and searches */
  var m = /[#&]search=([^&]*)/.exec(location.hash);
  if (m) { box.value = decodeURIComponent(m[1]); run(); }
})();
/* Marks the page for the browser tests: anything wider than the page (a figure, table or code
   box that pushes the page sideways; a table may scroll inside its own box). */
window.addEventListener("load", function () {
  var doc = document.documentElement, width = doc.clientWidth, bad = [];
  var items = document.querySelectorAll("img, figure, table, pre, .rr-table-box, .jp-OutputArea-output, svg");
  for (var i = 0; i < items.length; i++) {
    var el = items[i], r = el.getBoundingClientRect(), box = el.parentElement, clipped = false;
    if (r.width === 0) { continue; }
    while (box && box !== document.body) {
      var ov = getComputedStyle(box).overflowX;
      if (ov === "auto" || ov === "scroll") { clipped = true; break; }
      box = box.parentElement;
    }
    if (r.right > width + 1 && !clipped) { bad.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")); }
    var fig = el.tagName === "IMG" ? el.closest("figure") : null;
    if (fig && r.width > fig.getBoundingClientRect().width + 1) { bad.push("img in " + (fig.id || "figure")); }
  }
  if (doc.scrollWidth > width + 1) { bad.push("page " + doc.scrollWidth + ">" + width); }
  document.body.setAttribute("data-overflow", String(bad.length));
  document.body.setAttribute("data-overflow-list", bad.slice(0, 20).join(" "));
  document.body.setAttribute("data-viewport", String(width));
});
/* on a narrow screen the contents start folded, so that the text comes first */
(function () {
  var toc = document.querySelector(".rr-toc-box");
  if (toc && window.innerWidth < 1024) { toc.removeAttribute("open"); }
})();
(function () {
  var root = document.documentElement, key = "rr-theme", btn = document.getElementById("rr-theme");
  try { var saved = localStorage.getItem(key); if (saved) { root.setAttribute("data-theme", saved); } } catch (e) {}
  if (btn) {
    btn.addEventListener("click", function () {
      var dark = root.getAttribute("data-theme") === "dark" ||
        (!root.getAttribute("data-theme") && window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches);
      root.setAttribute("data-theme", dark ? "light" : "dark");
      try { localStorage.setItem(key, dark ? "light" : "dark"); } catch (e) {}
    });
  }
})();
"""


def search_script(entries: list[dict]) -> str:
    """``html/search.js``: the index (one ``window.RR_SEARCH = [...]``) and the search box's code."""
    data = json.dumps(entries, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return f"/* Full-text search of the report (rrlib.book); works from file://. */\nwindow.RR_SEARCH = {data};\n"


__all__ = ["MAX_PAGE_BYTES", "SYMBOLS", "svg_min", "svg_data_uri", "figure_html", "link_crossrefs",
           "publication_table", "publication_output", "caption_html", "human_header", "legend_html",
           "sections", "sidebar_html", "prev_next_html", "search_entries", "search_script", "SEARCH_JS"]
