"""Every work the chapters cite is in the bibliography (``src/rrlib/references.yml``), with a DOI or a
URL where the entry is a journal article or an official source (issue 29).

Finds, in the notebooks' markdown, ``[@id]`` citations, author-year citations ("Zou 2004",
"Edbrooke-Childs et al. 2015", "Abadie, Diamond & Hainmueller 2010") and named methods
("Newey-West"), and checks each against the entries the chapter's References list shows.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from rrlib import chapter, paths, references

MONTHS = {"January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"}
#: capitalised words followed by a year that are not authors
NOT_AUTHORS = MONTHS | {"In", "Population", "Census", "Year", "Since", "From", "To", "Until", "Before", "After",
                        "By", "And", "The", "Of", "Summer", "Spring", "Autumn", "Winter", "Wave",
                        # places and programmes
                        "England", "Wales", "Blackpool", "Cornwall", "Hull", "Kent", "Newham", "Wolverhampton",
                        "Lancashire", "HeadStart", "North", "West"}
AUTHOR_YEAR = re.compile(r"\b([A-Z][a-z]+(?:-[A-Z][a-z]+)?)(?: et al\.)?,? \(?((?:19|20)\d\d)\b")
#: methods named in the text, and the entry that describes each
METHODS = {"Newey-West": "newey-west-1987", "Kaplan-Meier": "kaplan-meier-1958", "Wilson score": "wilson-1927",
           "modified Poisson": "zou-2004", "synthetic control": "abadie-2010",
           "Goal Based Outcomes": "edbrooke-childs-2015", "Strengths and Difficulties": "goodman-1997",
           "funnel plot": "spiegelhalter-2005"}


def _markdown(nb_file: str) -> str:
    nb = nbformat.read(str(paths.NOTEBOOKS_DIR / nb_file), as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _families(e: dict) -> set[str]:
    out = set()
    for a in e.get("author") or []:
        out |= {a.get("family", "")} | set(re.findall(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?", a.get("literal", "")))
    return out


ENTRIES = references.load()


@pytest.mark.parametrize("name,nb_file", list(chapter.NOTEBOOKS.items()))
def test_every_work_a_chapter_cites_is_in_its_references(name, nb_file):
    if not (paths.NOTEBOOKS_DIR / nb_file).exists():
        pytest.skip(f"no notebook {nb_file}")
    text = _markdown(nb_file)
    nb = nbformat.read(str(paths.NOTEBOOKS_DIR / nb_file), as_version=4)
    listed = references.for_chapter(name, ENTRIES, references.cited_in(nb))
    ids = {e["id"] for e in ENTRIES}
    missing = [rid for rid in references.cited_in(nb) if rid not in ids]
    assert not missing, f"{nb_file} cites [@id] with no entry: {missing}"
    for who, year in AUTHOR_YEAR.findall(text):
        if who in NOT_AUTHORS:
            continue
        hits = [e for e in listed if who in _families(e) and str(e.get("issued")) == year]
        assert hits, f"{nb_file} cites {who} {year}: no such entry in the chapter's references"
    for method, rid in METHODS.items():
        if method.lower() in text.lower():
            assert rid in {e["id"] for e in listed}, f"{nb_file} names {method!r}: {rid} not in its references"


def test_a_missing_citation_is_found():
    """The check can fail: a made-up author-year citation has no entry."""
    (who, year), = AUTHOR_YEAR.findall("as in Nobody et al. 1999.")
    assert not [e for e in ENTRIES if who in _families(e) and str(e.get("issued")) == year]


def test_journal_articles_and_official_sources_have_a_doi_or_url():
    for e in ENTRIES:
        if e.get("group") == "official" and e["id"] != "phe-ci-guide":
            assert e.get("url"), e["id"]
        if e.get("doi"):
            assert re.fullmatch(r"10\.\d{4,9}/\S+", e["doi"]), e["id"]
    with_doi = [e["id"] for e in ENTRIES if e.get("doi")]
    assert {"zou-2004", "newey-west-1987", "wilson-1927", "goodman-1997"} <= set(with_doi)


def test_doi_is_a_link():
    e = next(e for e in ENTRIES if e["id"] == "zou-2004")
    assert '<a href="https://doi.org/10.1093/aje/kwh090">' in references.format_html(e)


def test_author_year_citations_link_to_their_entry():
    from nbformat.v4 import new_markdown_cell, new_notebook

    nb = new_notebook(cells=[new_markdown_cell(
        "robust errors (Zou 2004), goals (Edbrooke-Childs et al. 2015), Spiegelhalter (2005); "
        "`Zou 2004` in code; [Zou 2004](#elsewhere); Nobody 2004.")])
    assert references.link_author_year(nb, ENTRIES, href="#r") == 3
    text = nb.cells[0].source
    assert "([Zou 2004](#r-zou-2004))" in text
    assert "[Edbrooke-Childs et al. 2015](#r-edbrooke-childs-2015)" in text
    assert "[Spiegelhalter (2005)](#r-spiegelhalter-2005)" in text
    assert "`Zou 2004`" in text and "[Zou 2004](#elsewhere)" in text and "Nobody 2004." in text
