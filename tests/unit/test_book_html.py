"""rrlib.book: the pieces that make the report read like a book (issue 29)."""
from __future__ import annotations

import re
import urllib.parse
import xml.etree.ElementTree as ET

import matplotlib
import pytest

from rrlib import book, figures

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def svg(tmp_path_factory) -> str:
    figures.style()
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].plot([0, 1, 2], [0.123456, 0.5, 0.25], label="a line")
    axes[1].bar(["x", "y"], [3, 4])
    axes[0].legend()
    fig.suptitle("A title")
    path = tmp_path_factory.mktemp("svg") / "f.svg"
    fig.savefig(path, format="svg", metadata=figures.SVG_METADATA)
    plt.close(fig)
    return path.read_text(encoding="utf-8")


def test_minified_svg_is_valid_smaller_and_keeps_every_reference(svg):
    small = book.svg_min(svg)
    assert len(small) < 0.75 * len(svg)
    root = ET.fromstring(small)                               # well-formed XML
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    refs = set(re.findall(r"#([A-Za-z_][\w.-]*)", " ".join(
        v for el in root.iter() for k, v in el.attrib.items() if k in ("href", "clip-path"))))
    assert refs and refs <= ids, refs - ids                  # every use/clip-path finds its target
    # the same number of drawn things: paths and glyph uses
    assert small.count("<path") == svg.count("<path") and small.count("<use") == svg.count("<use")
    assert "scale(" in small and not re.search(r"scale\(0[ )]", small)   # glyph scales kept exact


def test_svg_data_uri_is_percent_encoded_not_base64(svg, tmp_path):
    p = tmp_path / "f.svg"
    p.write_text(svg, encoding="utf-8")
    uri = book.svg_data_uri(p)
    assert uri.startswith("data:image/svg+xml,%3Csvg") and ";base64," not in uri
    assert '"' not in uri and "<" not in uri and "\n" not in uri
    assert ET.fromstring(urllib.parse.unquote(uri.split(",", 1)[1]))


def test_figure_html_has_number_caption_alt_and_anchor():
    h = book.figure_html({"name": "a.svg", "number": "2.4", "label": "Figure 2.4", "caption": "Rates & counts",
                          "alt": "Line chart of rates"}, "data:image/svg+xml,%3Csvg/%3E")
    assert 'id="fig-a.svg"' in h and 'alt="Line chart of rates"' in h
    assert "<strong>Figure 2.4.</strong> Rates &amp; counts" in h and 'data-figure="a.svg"' in h


TARGETS = {"fig:reach_x": ("Figure 1.2", "reach", "fig-reach_x.svg"),
           "Figure 1.2": ("Figure 1.2", "reach", "fig-reach_x.svg"),
           "Table 5.1": ("Table 5.1", "targeted", "tab-targeted_t")}


def test_cross_references_become_links_on_the_page_and_across_chapters():
    out = book.link_crossrefs("See @fig:reach_x and Table 5.1; `@fig:reach_x` in code.", TARGETS, "reach")
    assert "[Figure 1.2](#fig-reach_x.svg)" in out
    assert "[Table 5.1](targeted.html#tab-targeted_t)" in out
    assert "`@fig:reach_x`" in out                            # code is left alone
    assert "[Table 5.1](targeted-code.html#tab-targeted_t)" in book.link_crossrefs("Table 5.1", TARGETS, "wmf",
                                                                                   "-code")
    assert book.link_crossrefs("@fig:unknown and Figure 9.9", TARGETS, "reach") == "@fig:unknown and Figure 9.9"


def test_links_to_repository_files_become_paths():
    out = book.link_crossrefs("the plan ([the design](plans/exclusions.md))", {}, "exclusions")
    assert "](plans" not in out and "`notebooks/plans/exclusions.md`" in out


DF = """<div><style scoped>.dataframe td {}</style><table border="1" class="dataframe">
  <thead>
    <tr style="text-align: right;">
      <th></th>
      <th>area_name</th>
      <th>n_pupils</th>
    </tr>
  </thead>
  <tbody>
    <tr>
      <th>0</th>
      <td>Blackpool</td>
      <td>c</td>
    </tr>
    <tr>
      <th>1</th>
      <td>England</td>
      <td>z</td>
    </tr>
  </tbody>
</table></div>"""


def test_dataframe_becomes_a_publication_table():
    out = book.publication_output(DF)
    assert "<th>0</th>" not in out and "<th>1</th>" not in out and "<th></th>" not in out   # no 0..n index
    assert "<th>Area name</th>" in out and "<th>N pupils</th>" in out                     # human headers
    assert 'class="scroll rr-table-box"' in out                                           # scrolls in its box
    assert "<code>c</code> confidential" in out and "<code>z</code> not applicable" in out  # legend
    assert "<style scoped>" not in out


def test_a_real_index_is_kept():
    df = DF.replace("<th>0</th>", "<th>Blackpool</th>").replace("<th>1</th>", "<th>Kent</th>")
    assert "<th>Kent</th>" in book.publication_output(df)


def test_sidebar_lists_chapters_and_the_current_sections():
    chapters = [{"name": "reach", "title": "Reach", "reader_href": "html/reach.html"},
                {"name": "wmf", "title": "WMF", "reader_href": "html/wmf.html"}]
    page = '<h1 id="Reach">Reach<a class="anchor-link" href="#Reach">¶</a></h1><h2 id="A&amp;E">A&amp;E</h2>'
    secs = book.sections(page)
    assert secs == [(1, "Reach", "Reach"), (2, "A&E", "A&E")]
    side = book.sidebar_html(chapters, "reach", secs)
    assert 'href="#A&amp;E"' in side and 'href="wmf.html"' in side and 'class="current"' in side
    assert 'id="rr-search"' in side
    nav = book.prev_next_html(chapters, "reach")
    assert 'rel="next" href="wmf.html"' in nav and 'href="../index.html"' in nav


def test_search_entries_cut_a_page_at_its_headings():
    page = ('<html><body><nav>skip me</nav><h2 id="one">One</h2><p>alpha beta</p><script>var x;</script>'
            '<h2 id="two">Two</h2><p>gamma</p></body></html>')
    entries = book.search_entries("p.html", "Page", page)
    assert [(e["h"], e["s"], e["t"]) for e in entries] == [("p.html#one", "One", "alpha beta"),
                                                          ("p.html#two", "Two", "gamma")]
    js = book.search_script(entries)
    assert js.startswith("/*") and "window.RR_SEARCH = [" in js


def test_caption_describes_every_panel_and_never_stays_empty():
    alt = ("2 panels. Panel 1: line chart \u201cAttendance\u201d; y axis: attendance (%). "
           "Panel 2: dot plot \u201cSuspensions\u201d; y axis: per 100 pupils.")
    assert book.figure_caption("Back on Track", alt, "bot_education") == \
        "Back on Track. Panels: (a) Attendance; (b) Suspensions."
    assert book.figure_caption("", "Line chart; x axis: Date; y axis: Schools (cumulative).", "schools_over_time") \
        == "Schools over time (Schools (cumulative))"
    assert book.caption_words("Dfe blackpool nw england") == "DfE Blackpool North West England"


def test_tables_published_in_a_loop_are_numbered_where_they_are_made():
    from nbformat.v4 import new_code_cell, new_notebook

    from rrlib import numbering

    nb = new_notebook(cells=[
        new_code_cell('ch.publish(a, "reach_first")'),
        new_code_cell('tabs = {"reach_b": b, "reach_c": c}\npub = {n: ch.publish(d, n) for n, d in tabs.items()}'),
        new_code_cell('ch.publish(z, "reach_last")')])
    for i, c in enumerate(nb.cells):
        c.id = f"c{i}"
    got = numbering.number_chapter(1, nb, [], ["reach_first", "reach_b", "reach_c", "reach_last"])
    assert {k[1]: (v["number"], v["cell_id"]) for k, v in got.items()} == {
        "reach_first": ("1.1", "c0"), "reach_b": ("1.2", "c1"), "reach_c": ("1.3", "c1"), "reach_last": ("1.4", "c2")}


def test_minified_svg_with_an_empty_clipped_group_stays_well_formed():
    """matplotlib writes an empty ``<g clip-path=...>`` for a panel with nothing clipped; as a
    self-closing group with attributes it must not be taken for an opening tag (the page showed a
    broken image: a stray ``</g>``)."""
    import xml.dom.minidom

    from rrlib import book

    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><clipPath id="p1">'
           '<rect x="0" y="0" width="5" height="5"/></clipPath></defs><g id="figure_1"><g>'
           '<g clip-path="url(#p1)"/></g><path d="M 0 0 L 1 1"/></g></svg>')
    out = book.svg_min(svg)
    xml.dom.minidom.parseString(out)   # raised "mismatched tag" before
    assert "<path d='M0 0 1 1'/>" in out
