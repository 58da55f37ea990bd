"""The HTML report (rrlib.report) and the figure check (rrlib.verify) on a tiny fake run."""
from __future__ import annotations

import json
import re

import pytest

from rrlib import claims, claims_report, figures, manifest, paths, provenance, report, verify
from rrlib.io import write_json
from rrlib.results import Results

CODE_MARKER = "UNIQUE_CODE_MARKER_42"
WARNING_TEXT = "FutureWarning: something deprecated"


def _figure(path, y):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], y)
    return figures.save(fig, path)


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """A data folder, one executed chapter (reach) with a figure, a table and results."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    data = tmp_path / "data"
    data.mkdir()
    (data / "pupils.csv.gz").write_bytes(b"not really gzip")
    manifest.write(data, synthetic=True, seed=7, scale=0.1)
    lay = paths.layout(data, tmp_path / "out")
    fig = _figure(lay.figures_dir / "reach_by_year.svg", [1, 3, 2])
    write_json(fig.with_suffix(".json"), {"chapter": "reach", "notebook": "01_reach.ipynb",
                                          "git": {"commit": "0123456789abcdef", "dirty": True}})
    lay.tables_dir.mkdir(parents=True)
    (lay.tables_dir / "reach_by_strand.csv").write_text("strand,young_people\nARA,c\nFFL,15\n")
    write_json(lay.tables_dir / "reach_by_strand.json", {"chapter": "reach", "disclosure": {"preset": "dfe"}})
    res = Results("reach", lay.result_file("reach"), data={"folder": "data", "synthetic": True})
    res.record("reach.opportunities.young_people", 76790, unit="count")
    res.record("reach.opportunities.adults", 1000, unit="count")
    res.save()
    nb = new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"},
                   "papermill": {"duration": 2.5, "parameters": {"data_dir": str(data)}}}
    nb.cells = [
        new_markdown_cell("# Reach\nHow many young people took part?"),
        new_code_cell("data_dir = None", metadata={"tags": ["parameters"]}),
        new_code_cell(f"{CODE_MARKER} = 1\nprint('hello reader')",
                      outputs=[new_output("stream", name="stdout", text="hello reader\n"),
                               new_output("stream", name="stderr", text=WARNING_TEXT + "\n")]),
        new_code_cell("show(fig)", outputs=[new_output(
            "display_data", data={"image/svg+xml": fig.read_text(), "text/plain": "<Figure>"})]),
        new_code_cell('fig = plot()\nch.save_figure(fig, "reach_by_year")',   # saved, not shown
                      outputs=[new_output("execute_result", data={"text/plain": "PosixPath('/x/reach_by_year.svg')"},
                                          execution_count=3)]),
    ]
    lay.executed_dir.mkdir(parents=True)
    nbformat.write(nb, str(lay.executed_dir / "01_reach.ipynb"))
    reg = tmp_path / "claims.yml"
    reg.write_text(claims.dump_registry(claims.validate_entries([
        dict(id="A01", part=None, chapter="reach", statement="76,783 opportunities for young people",
             published=76783, unit="count", tolerance={"relative": 0.01}, source="evidence (2021)",
             key="reach.opportunities.young_people", data="synthetic"),
        dict(id="A02", part=None, chapter="reach", statement="6,328 opportunities for adults",
             published=6328, unit="count", tolerance={"relative": 0.01}, source="evidence (2021)",
             key="reach.opportunities.adults", data="synthetic"),
        dict(id="A07", part=None, chapter="exclusions", statement="99.5% not permanently excluded",
             published=99.5, unit="percent", tolerance={"absolute": 0.05}, source="evidence (2021)",
             key="exclusions.targeted.not_excluded_percent", data="synthetic"),
    ])))
    monkeypatch.setattr(paths, "CLAIMS_FILE", reg)
    ref = tmp_path / "reference"
    ref.mkdir()
    monkeypatch.setattr(verify, "FIGURES_DIR", ref)
    monkeypatch.setattr(verify, "MANIFEST_FILE", ref / "MANIFEST")
    return lay


@pytest.fixture
def built(fake_run):
    assert report.main(data_dir=fake_run.data_dir, out_dir=fake_run.out_dir) == 0
    out = fake_run.out_dir
    return fake_run, {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
                      for p in list(out.glob("*.html")) + list(out.glob("html/*.html"))}


def test_report_pages(built):
    lay, pages = built
    assert set(pages) == {"index.html", "claims.html", "html/reach.html", "html/reach-code.html"}


def test_index_structure(built):
    _, pages = built
    index = pages["index.html"]
    for section in ("programme", "chapters", "claims", "figures", "data", "colophon"):
        assert f'<section id="{section}">' in index
    assert "Resilient Therapy" in index                       # the programme paragraph
    assert 'href="html/reach.html"' in index and 'href="html/reach-code.html"' in index
    assert re.search(r'data-chapter="exclusions" data-status="not run"', index)
    assert "SYNTHETIC DATA" in index


def test_index_claims_table_shows_every_status_with_colour_and_text(built):
    _, pages = built
    index = pages["index.html"]
    for status, css in (("reproduced", "reproduced"), ("differs", "differs"), ("not computed", "not-computed")):
        assert f'<span class="badge status {css}">{status}</span>' in index
    assert 'class="badge data synthetic">synthetic<' in index
    assert "76,790" in index and "—" in index      # computed value; missing shown as a dash


def test_index_data_provenance_and_colophon(built):
    lay, pages = built
    index = pages["index.html"]
    sha = manifest.read(lay.data_dir)["files"]["pupils.csv.gz"]
    assert sha in index and "every file matches its MANIFEST sha256" in index
    assert "seed" in index and "7" in index
    git = provenance.git_state()
    assert str(git["commit"]) in index
    for key in ("working tree", "requirements.lock sha256", "report built (UTC)", "pandas"):
        assert key in index
    # dated by the commit built, not by SOURCE_DATE_EPOCH's fixed date
    assert "commit date (UTC)" in index and provenance.commit_date(git["commit"]) in index
    assert "no MANIFEST" in index        # the reference figures have no MANIFEST in this fake


def test_reader_version_has_no_code_full_version_has(built):
    _, pages = built
    reader, full = pages["html/reach.html"], pages["html/reach-code.html"]
    assert CODE_MARKER not in reader and CODE_MARKER in full
    assert "hello reader" in reader and "hello reader" in full
    assert WARNING_TEXT not in reader and WARNING_TEXT in full
    assert "PosixPath" not in reader and "PosixPath" in full
    assert "Reader version" in reader and 'href="reach-code.html"' in reader
    assert 'href="reach.html"' in full and 'href="../index.html"' in full


def test_chapter_pages_inline_their_figures(built):
    lay, pages = built
    for name in ("html/reach.html", "html/reach-code.html"):
        page = pages[name]
        assert 'data-figure="reach_by_year.svg"' in page
        # the notebook's own output, and the saved figure once, where it was saved (minified SVG,
        # not base64); the figure section links to it rather than embedding it again
        assert page.count('src="data:image/svg+xml;base64,') == 1
        assert page.count('src="data:image/svg+xml,') == 1
        assert page.count('data-figure="reach_by_year.svg"') == 1
        assert 'href="#fig-reach_by_year.svg"' in page
        assert "reach_by_strand.csv" in page and "preset dfe" in page
        assert "SYNTHETIC DATA" in page


def test_no_page_references_network_resources(built):
    _, pages = built
    for name, page in pages.items():
        assert report.external_references(page) == [], name
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.replace('<a href="http', "")), name
        assert "require.js" not in page and "mathjax" not in page.lower()


def test_report_refuses_pages_with_external_resources(fake_run, monkeypatch):
    real = report.render_chapter
    monkeypatch.setattr(report, "render_chapter", lambda *a, **k: real(*a, **k).replace(
        "</head>", '<script src="https://cdn.example.org/x.js"></script></head>'))
    assert report.main(data_dir=fake_run.data_dir, out_dir=fake_run.out_dir) == 2
    assert not (fake_run.out_dir / "index.html").exists()


def test_failed_chapter_is_shown(fake_run):
    (fake_run.executed_dir / "01_reach.ipynb").rename(fake_run.executed_dir / "01_reach.failed.ipynb")
    pages = report.build(fake_run)
    assert "FAILED to run" in pages["html/reach.html"]
    assert 'data-chapter="reach" data-status="failed"' in pages["index.html"]


@pytest.mark.parametrize("html,bad", [
    ('<script src="https://cdn.x/require.js"></script>', True),
    ('<script src="//cdn.x/a.js"></script>', True),
    ('<link rel="stylesheet" href="http://fonts.x/css">', True),
    ('<img src="https://x/y.png">', True),
    ('<img srcset="a.png 1x, https://x/b.png 2x">', True),
    ("<style>@import 'https://fonts.x/a.css';</style>", True),
    ('<style>body { background: url("https://x/bg.png") }</style>', True),
    ('<div style="background:url(//x/bg.png)"></div>', True),
    ('<script type="module">await import("https://cdn.x/m.mjs")</script>', True),
    ('<a href="https://www.blackpool.gov.uk/">a link</a>', False),
    ("<style>/* see https://github.com/x */ body { color: red }</style>", False),
    ('<img src="data:image/svg+xml;base64,AAAA">', False),
    ('<a href="html/reach.html">local</a><link href="local.css">', False),
])
def test_external_references(html, bad):
    assert bool(report.external_references(html)) is bad


# -- verify: figures against the MANIFEST ---------------------------------------------------------
def test_figures_manifest_and_compare(tmp_path, monkeypatch, capsys):
    ref = tmp_path / "figures"
    a = _figure(ref / "a.svg", [1, 2, 3])
    _figure(ref / "b.svg", [3, 2, 1])
    _figure(ref / "c.svg", [1, 1, 1])
    monkeypatch.setattr(verify, "FIGURES_DIR", ref)
    monkeypatch.setattr(verify, "MANIFEST_FILE", ref / "MANIFEST")
    assert verify.write_figures_manifest() == 0
    lines = (ref / "MANIFEST").read_text().splitlines()
    assert [ln.split("  ")[1] for ln in lines] == ["a.svg", "b.svg", "c.svg"]
    assert lines[0].split("  ")[0] == verify.sha256_file(a)
    assert set(verify.read_manifest()) == {"a.svg", "b.svg", "c.svg"}

    run = tmp_path / "run" / "figures"
    run.mkdir(parents=True)
    (run / "a.svg").write_bytes(a.read_bytes())            # identical
    _figure(run / "b.svg", [3, 2, 2])                       # changed
    _figure(run / "d.svg", [0, 0, 0])                       # new; c.svg missing
    rows = verify.compare_figures(run, verify.read_manifest())
    assert [(r["name"], r["status"]) for r in rows] == [
        ("a.svg", "identical"), ("b.svg", "changed"), ("c.svg", "missing"), ("d.svg", "new")]
    assert rows[1]["path"] == str(run / "b.svg")


def test_verify_main_exit_codes(tmp_path, monkeypatch, capsys):
    ref = tmp_path / "figures"
    _figure(ref / "a.svg", [1, 2, 3])
    monkeypatch.setattr(verify, "FIGURES_DIR", ref)
    monkeypatch.setattr(verify, "MANIFEST_FILE", ref / "MANIFEST")
    monkeypatch.setattr(claims_report, "main", lambda **kw: 0)
    data, out = tmp_path / "data", tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    assert verify.main(data_dir=data, out_dir=out) == 1          # no MANIFEST yet
    assert "does not exist" in capsys.readouterr().err
    verify.write_figures_manifest()
    (out / "figures" / "a.svg").write_bytes((ref / "a.svg").read_bytes())
    assert verify.main(data_dir=data, out_dir=out) == 0
    assert "identical  a.svg" in capsys.readouterr().out
    _figure(out / "figures" / "a.svg", [9, 9, 9])
    assert verify.main(data_dir=data, out_dir=out) == 1
    assert f"CHANGED    a.svg: new file {out / 'figures' / 'a.svg'}" in capsys.readouterr().out
    (out / "figures" / "a.svg").write_bytes((ref / "a.svg").read_bytes())
    monkeypatch.setattr(claims_report, "main", lambda **kw: 1)          # a claim differs
    assert verify.main(data_dir=data, out_dir=out) == 1


def test_write_figures_manifest_without_figures(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(verify, "FIGURES_DIR", tmp_path)
    assert verify.write_figures_manifest() == 1
    assert not (tmp_path / "MANIFEST").exists()


def test_report_figure_status_against_manifest(fake_run):
    ref = verify.FIGURES_DIR
    (ref / "reach_by_year.svg").write_bytes((fake_run.figures_dir / "reach_by_year.svg").read_bytes())
    verify.write_figures_manifest()
    pages = report.build(fake_run)
    assert '<span class="badge status identical">identical</span>' in pages["index.html"]
    assert json.loads(json.dumps(report.collect_figures(fake_run)[0]["status"])) == "identical"


def test_chapter_pages_do_not_depend_on_the_number_of_workers(fake_run, monkeypatch):
    pages = {}
    for n in ("1", "2"):
        monkeypatch.setenv("RR_REPORT_WORKERS", n)
        pages[n] = {k: v for k, v in report.build(fake_run).items() if k.startswith("html/") and k.endswith(".html")}
    assert set(pages["1"]) == {"html/reach.html", "html/reach-code.html"}
    assert pages["1"] == pages["2"]


def test_an_official_only_chapter_gets_its_own_banner(tmp_path, monkeypatch):
    """Chapter 6 reads only official statistics: its page must not carry the run's SYNTHETIC banner."""
    import json

    from rrlib import paths, report

    monkeypatch.delenv("RR_AREA", raising=False)
    lay = paths.layout(tmp_path / "raw", tmp_path / "out")
    lay.results_dir.mkdir(parents=True)
    run = report.data_banner(True, "synthetic")
    lay.result_file("six").write_text(json.dumps({"data": {"folder": "official statistics", "synthetic": False}}))
    lay.result_file("one").write_text(json.dumps({"data": {"folder": "synthetic", "synthetic": True}}))
    assert report.chapter_banner(lay, "six", *run) == ("real", report.OFFICIAL_ONLY_BANNER)
    assert report.chapter_banner(lay, "one", *run) == run
    assert report.chapter_banner(lay, "missing", *run) == run


def test_claim_evidence_reads_the_sentences_a_cell_showed(tmp_path):
    """A chapter's sentences come from its module (``ch.show(R.part_text(...))``): the claim id is in the
    cell's output, the section it records in its source; the evidence is that cell's table, not the
    Method paragraph that also names the claim."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    sentence = nbformat.v4.new_output("display_data", data={"text/markdown": "**7 opportunities** (A01)."})
    nb.cells = [nbformat.v4.new_markdown_cell("# Chapter 1. Reach\n\n**Question.** A01, A02?", id="0"),
                nbformat.v4.new_code_cell("data_dir = None", id="p", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell('ch = chapter.start("reach", globals())', id="s"),
                nbformat.v4.new_markdown_cell("## Method\n\nA01 counts attended places.", id="1"),
                nbformat.v4.new_markdown_cell("## Results\n\n### Opportunities", id="r"),
                nbformat.v4.new_code_cell('with ch.section("reach.opportunities"):\n'
                                          '    ch.show(R.opportunities_text(o))', id="2", outputs=[sentence]),
                nbformat.v4.new_markdown_cell("## Caveats\n\nA02 is not computed here.", id="3")]
    nbformat.write(nb, tmp_path / "01_reach.ipynb")
    runs = [{"name": "reach", "executed": tmp_path / "01_reach.ipynb", "reader_href": "html/reach.html",
             "tables": [{"cell_id": "2", "label": "Table 1.1", "name": "reach_by_project", "file": "x.csv",
                         "number": "1.1"}], "figures": []}]
    rows = [{"id": "A01", "part": None, "chapter": "reach", "key": "reach.opportunities.young_people"},
            {"id": "A02", "part": None, "chapter": "reach", "key": "reach.opportunities.supporting_adults"}]
    ev = report.claim_evidence(runs, rows)
    assert ev[("A01", None)] == ("Table 1.1", "html/reach.html#tab-reach_by_project")
    assert ev[("A02", None)] == ("text", "html/reach.html#cell-id=3")   # named only in text: the text
    nb.cells[5].outputs = []                                          # without the sentence: the Method text
    nbformat.write(nb, tmp_path / "01_reach.ipynb")
    assert report.claim_evidence(runs, rows[:1])[("A01", None)] == ("text", "html/reach.html#cell-id=1")


# -- table captions stand above their own tables -----------------------------------------------------------


def _cell_with_tables(n_tables: int, extra_text: bool = False):
    import pandas as pd
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    outs = []
    if extra_text:
        outs.append(new_output("stream", name="stdout", text="a line\n"))
    for i in range(n_tables):
        outs.append(new_output("display_data", data={"text/html": pd.DataFrame({"x": [i]}).to_html(),
                                                     "text/plain": "t"}))
    cell = new_code_cell("ch.publish(a); ch.publish(b)", id="c1")
    cell.outputs = outs
    return new_notebook(cells=[cell])


def _tables(*numbers):
    return {f"t{n}.csv": {"cell_id": "c1", "number": n, "label": f"Table {n}", "name": f"t{n}", "caption": f"T {n}"}
            for n in numbers}


def test_each_published_table_gets_its_caption_right_above_it():
    nb = _cell_with_tables(2, extra_text=True)
    report._tables_in_text(nb, _tables("3.2", "3.10"))
    kinds = []
    for o in nb.cells[0].outputs:
        h = report._html_of(o)
        kinds.append(re.search(r'data-number="([\d.]+)"', h).group(1) if "rr-table-caption" in h
                     else "table" if "rr-table" in h else o.get("output_type"))
    assert kinds == ["stream", "3.2", "table", "3.10", "table"]   # in number order, 3.10 after 3.2


def test_captions_stay_together_above_the_outputs_when_the_tables_shown_differ_from_those_published():
    nb = _cell_with_tables(1)
    report._tables_in_text(nb, _tables("3.1", "3.2"))
    first = report._html_of(nb.cells[0].outputs[0])
    assert 'data-number="3.1"' in first and 'data-number="3.2"' in first
    assert "rr-table" in report._html_of(nb.cells[0].outputs[1])
