"""The report a reviewer can cite: numbered figures and tables with captions, alt text, links to
the cell that made each and to its provenance; references from the bibliography; how to cite."""
import json

import markupsafe
import matplotlib
import pytest

matplotlib.use("Agg")

from rrlib import claims, figures, manifest, numbering, paths, references, report, verify  # noqa: E402
from rrlib.io import write_json  # noqa: E402
from rrlib.results import Results  # noqa: E402


def _fig(title, xlabel="Year", ylabel="Rate", series=("Blackpool", "England")):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    for i, s in enumerate(series):
        ax.plot([1, 2, 3], [i, i + 1, i], label=s)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig


def test_describe_reads_the_figure():
    d = figures.describe(_fig("Suspensions per 100 pupils", "School year", "per 100 pupils"))
    assert d["title"] == "Suspensions per 100 pupils"
    assert d["alt"].startswith("Line chart")
    assert "x axis: School year" in d["alt"] and "y axis: per 100 pupils" in d["alt"]
    assert "series: Blackpool, England" in d["alt"]
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2)
    a.bar([1, 2], [3, 4])
    b.set_title("right")
    assert figures.describe(fig)["alt"].startswith("2 panels. Panel 1: bar chart")


def test_numbering_follows_the_notebook_and_f_strings():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    nb.cells = [new_markdown_cell("## First part"),
                new_code_cell('ch.save_figure(fig, "reach_zeta")\nch.publish(df, "reach_table_b", preset="dfe")'),
                new_markdown_cell("## Second part"),
                new_code_cell('for y in years:\n    ch.save_figure(plot(y), f"reach_by_{y}")\n'
                              'ch.publish(df2, name="reach_table_a")')]
    for i, c in enumerate(nb.cells):
        c.id = f"reach-{i:02d}"
    nums = numbering.number_chapter(1, nb, ["reach_by_2019", "reach_alpha", "reach_by_2018", "reach_zeta"],
                                    ["reach_table_a", "reach_table_b"])
    assert nums[("figure", "reach_zeta")]["label"] == "Figure 1.1"
    assert nums[("figure", "reach_by_2018")]["number"] == "1.2"
    assert nums[("figure", "reach_by_2019")]["number"] == "1.3"
    assert nums[("figure", "reach_alpha")] == {"cell_id": None, "section": None, "number": "1.4",
                                               "label": "Figure 1.4"}   # saved by no call: last
    assert nums[("figure", "reach_by_2019")]["cell_id"] == "reach-03"
    assert nums[("figure", "reach_by_2019")]["section"] == "Second part"
    assert nums[("table", "reach_table_b")]["label"] == "Table 1.1"
    assert nums[("table", "reach_table_a")]["label"] == "Table 1.2"


@pytest.fixture
def run(tmp_path, monkeypatch):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    data = tmp_path / "data"
    data.mkdir()
    (data / "pupils.csv.gz").write_bytes(b"x")
    manifest.write(data, synthetic=True, seed=7, scale=0.1)
    lay = paths.layout(data, tmp_path / "out")
    for name, title in (("reach_second", "Second figure"), ("reach_first", "First figure")):
        fig = _fig(title)
        described = figures.describe(fig)
        path = figures.save(fig, lay.figures_dir / f"{name}.svg")
        write_json(path.with_suffix(".json"), {
            "chapter": "reach", "notebook": "01_reach.ipynb", "git": {"commit": "abc", "dirty": False},
            "data": {"synthetic": True},
            "figure": {"caption": described["title"], "alt": described["alt"], "synthetic_mark": True}})
    lay.tables_dir.mkdir(parents=True)
    (lay.tables_dir / "reach_by_strand.csv").write_text("strand,young_people\nARA,c\nFFL,15\n")
    write_json(lay.tables_dir / "reach_by_strand.json", {"chapter": "reach", "disclosure": {"preset": "dfe"}})
    Results("reach", lay.result_file("reach"), data={"folder": "data", "synthetic": True}).save()
    nb = new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}}
    nb.cells = [new_markdown_cell("# Reach\nScored as published [@goodman-1997]; see also [@no-such-work]."),
                new_code_cell('ch.save_figure(fig, "reach_first")'),
                new_markdown_cell("## Later"),
                new_code_cell('ch.save_figure(fig, "reach_second")\nch.publish(t, "reach_by_strand", preset="dfe")')]
    for i, c in enumerate(nb.cells):
        c.id = f"reach-{i:02d}"
    lay.executed_dir.mkdir(parents=True)
    nbformat.write(nb, str(lay.executed_dir / "01_reach.ipynb"))
    reg = tmp_path / "claims.yml"
    reg.write_text(claims.dump_registry(claims.validate_entries([
        dict(id="A01", part=None, chapter="reach", statement="76,783 opportunities", published=76783,
             unit="count", tolerance={"relative": 0.01}, source="evidence (2021)",
             key="reach.opportunities.young_people", data="synthetic")])))
    monkeypatch.setattr(paths, "CLAIMS_FILE", reg)
    ref = tmp_path / "reference"
    ref.mkdir()
    monkeypatch.setattr(verify, "FIGURES_DIR", ref)
    monkeypatch.setattr(verify, "MANIFEST_FILE", ref / "MANIFEST")
    return lay


def test_chapter_page_numbers_captions_alt_links_and_provenance(run):
    pages = report.build(run)
    page = pages["html/reach.html"]
    first, second = page.index('id="fig-reach_first.svg"'), page.index('id="fig-reach_second.svg"')
    assert first < second, "figures in notebook order, not name order"
    assert "<strong>Figure 1.1.</strong> First figure" in page
    assert "<strong>Figure 1.2.</strong> Second figure" in page
    side = json.loads((run.figures_dir / "reach_first.json").read_text())
    assert f'alt="{side["figure"]["alt"]}' in page.replace("&#34;", '"')
    assert "Stamped SYNTHETIC" in page
    assert 'href="#cell-id=reach-01"' in page and 'href="reach-code.html#cell-id=reach-01"' in page
    assert 'id="cell-id=reach-01"' in page, "the link's target exists on the page"
    assert 'href="provenance/reach_first.json"' in page
    assert json.loads(pages["html/provenance/reach_first.json"]) == side
    assert "<strong>Table 1.1.</strong>" in page and 'href="#cell-id=reach-03"' in page
    assert "provenance/reach_by_strand.json" in page and "html/provenance/reach_by_strand.json" in pages
    # the saved figure shown in place carries its number too
    assert page.count('<figure class="rr-figure" data-number="1.1" id="fig-reach_first.svg">') == 1
    assert page.count("<strong>Figure 1.1.</strong>") == 2   # in place, and in the figures section
    assert page.count('data-figure="reach_first.svg"') == 1  # embedded once
    # the published table's number and caption stand where the notebook published it
    assert page.index('id="tab-reach_by_strand"') < page.index('id="rr-figures"')
    assert report.external_references(page) == []


def test_chapter_page_references_and_how_to_cite(run):
    page = report.build(run)["html/reach.html"]
    assert 'id="rr-references"' in page
    assert 'id="rr-references-goodman-1997"' in page                 # cited in the notebook
    assert 'href="#rr-references-goodman-1997"' in page and "(Goodman 1997)" in page
    assert "[@no-such-work]" in page                                 # unknown: left as written
    for e in references.for_chapter("reach", references.load()):    # registered for the chapter
        assert f'id="rr-references-{e["id"]}"' in page
    assert 'id="rr-cite"' in page and references.citation()["title"] in page and "@software{" in page


def test_index_ends_with_references_and_how_to_cite(run):
    index = report.build(run)["index.html"]
    refs, cite, colophon = index.index('id="references"'), index.index('id="cite"'), index.index('id="colophon"')
    assert refs < cite < colophon
    for title in ("The programme's documents", "Official statistics", "Statistical methods"):
        assert str(markupsafe.escape(title)) in index
    for e in references.load():
        assert f'id="ref-{e["id"]}"' in index
    assert "Department for Education (2018)" in index
    assert references.how_to_cite()["text"].split(" (version")[0].split("). ")[1] in index
    assert "<td>Figure 1.1</td>" in index
