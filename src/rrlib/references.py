"""The compendium's bibliography (``src/rrlib/references.yml``) and how to cite the compendium
(``CITATION.cff``), for the report.

* :func:`load` reads the bibliography (CSL-YAML subset) and checks it: unique ids, a title and an
  author for every entry, known groups, known chapters.
* :func:`cite_label` is the in-text label, ``Goodman 1997``, ``Dobson et al. 1991``;
  :func:`format_html` the full reference.
* :func:`cited_in` finds the ``[@id]`` citations in a notebook's markdown cells and
  :func:`link_citations` turns them into links to the report's References section.
* :func:`how_to_cite` is the citation of the compendium, from ``CITATION.cff``.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

import yaml

from . import paths
from .chapter import NOTEBOOKS

REFERENCES_FILE = Path(__file__).with_name("references.yml")
CITATION_FILE = paths.ROOT / "CITATION.cff"
GROUPS = {
    "programme": "The programme's documents",
    "official": "Official statistics",
    "methods": "Statistical methods",
    "instruments": "Instruments",
    "evaluation": "The evaluation's publications",
}
CITATION = re.compile(r"\[@([A-Za-z0-9_.:-]+)\]")


class ReferencesError(ValueError):
    pass


@lru_cache(maxsize=4)
def _load(path: str) -> tuple:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    entries = doc.get("references")
    if not isinstance(entries, list) or not entries:
        raise ReferencesError(f"{path}: no `references:` list")

    seen, problems = set(), []
    for i, e in enumerate(entries):
        rid = e.get("id")
        where = f"{Path(path).name}: entry {i + 1} ({rid or 'no id'})"
        if not rid or rid in seen:
            problems.append(f"{where}: missing or duplicate id")
        seen.add(rid)
        if not e.get("title"):
            problems.append(f"{where}: no title")
        if not e.get("author"):
            problems.append(f"{where}: no author")
        if e.get("group") not in GROUPS:
            problems.append(f"{where}: group {e.get('group')!r} is not one of {', '.join(GROUPS)}")
        unknown = sorted(set(e.get("chapters") or []) - set(NOTEBOOKS))
        if unknown:
            problems.append(f"{where}: unknown chapter(s) {unknown}")
    if problems:
        raise ReferencesError("; ".join(problems))
    return tuple(entries)


def load(path: str | Path | None = None) -> list[dict]:
    """The bibliography's entries, in file order."""
    return [dict(e) for e in _load(str(path or REFERENCES_FILE))]


def _names(e: dict) -> list[str]:
    out = []
    for a in e.get("author") or []:
        out.append(a.get("literal") or a.get("family") or "")
    return [n for n in out if n]


def cite_label(e: dict) -> str:
    """``Goodman 1997``, ``Breslow and Day 1987``, ``Dobson et al. 1991``, ``Department for Education 2018``."""
    names = [n for n in _names(e) if n != "et al."]
    etal = len(_names(e)) > 2 or "et al." in _names(e)
    who = (names[0] + " et al." if etal and names else
           " and ".join(names[:2]) if names else "Anon.")
    who = re.sub(r"\s*\(.*\)$", "", who)   # long corporate authors: the name before the parenthesis
    return f"{who} {e['issued']}" if e.get("issued") else f"{who} n.d."


def format_html(e: dict) -> str:
    """One reference as HTML (authors, year, title, container, volume, pages, publisher, note)."""
    esc = html.escape
    authors = []
    for a in e.get("author") or []:
        if a.get("literal"):
            authors.append(a["literal"])
        else:
            authors.append(f"{a.get('family', '')}, {a.get('given', '')}".strip(", "))
    parts = [esc("; ".join(authors)) + f" ({esc(str(e.get('issued', 'n.d.')))})."]
    title = esc(e["title"])
    if e.get("container-title"):
        parts.append(f"{title}. <em>{esc(e['container-title'])}</em>"
                     + (f" {esc(str(e['volume']))}" if e.get("volume") else "")
                     + (f": {esc(str(e['page']))}" if e.get("page") else "") + ".")
    else:
        parts.append(f"<em>{title}</em>" + (f" ({esc(str(e['number']))})" if e.get("number") else "") + ".")
        if e.get("publisher"):
            parts.append(esc(e["publisher"]) + ".")
    if e.get("doi"):
        parts.append(f'<a href="https://doi.org/{esc(e["doi"])}">doi:{esc(e["doi"])}</a>.')
    if e.get("url"):
        parts.append(f'<a href="{esc(e["url"])}">{esc(e["url"])}</a>.')
    if e.get("note"):
        parts.append(f'<span class="muted">{esc(e["note"])}</span>')
    return " ".join(parts)


def cited_in(nb) -> list[str]:
    """The ids cited as ``[@id]`` in ``nb``'s markdown cells, in order of first citation."""
    out: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for rid in CITATION.findall(cell.source):
                if rid not in out:
                    out.append(rid)
    return out


def link_citations(nb, entries: list[dict], href: str = "#rr-references") -> list[str]:
    """Replace ``[@id]`` in ``nb``'s markdown cells by a link ``(Label year)`` to the entry
    (``<href>-<id>``); returns the ids it did not know (left as written)."""
    by_id = {e["id"]: e for e in entries}
    unknown: list[str] = []

    def one(m: re.Match) -> str:
        e = by_id.get(m.group(1))
        if e is None:
            unknown.append(m.group(1))
            return m.group(0)
        return f"[({cite_label(e)})]({href}-{e['id']})"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = CITATION.sub(one, cell.source)
    return unknown


def link_author_year(nb, entries: list[dict], href: str = "#rr-references") -> int:
    """Link author-year citations in ``nb``'s markdown cells ("Zou 2004", "Edbrooke-Childs et al.
    2015", "Spiegelhalter (2005)") to their entry (``<href>-<id>``): the first author's family
    name followed, within a few words, by the entry's year. Code spans and existing links are left
    alone. Returns the number of links made."""
    pats = []
    for e in entries:
        first = next(iter(e.get("author") or []), {})
        if first.get("family") and e.get("issued"):
            fam, year = re.escape(first["family"]), re.escape(str(e["issued"]))
            pats.append((re.compile(rf"(?<![\w\[-])({fam}\b[^()\[\];:`]{{0,45}}?,?\s(?:\({year}\)|{year}))(?![\w\]])"),
                         e["id"]))
    n = 0

    def link(text: str) -> str:
        nonlocal n
        for pat, rid in pats:
            text, k = pat.subn(lambda m: f"[{m.group(1)}]({href}-{rid})", text)
            n += k
        return text

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts = re.split(r"(```.*?```|`[^`]*`|\[[^\]]*\]\([^)]*\))", cell.source, flags=re.S)
            cell.source = "".join(p if i % 2 else link(p) for i, p in enumerate(parts))
    return n


def for_chapter(chapter: str, entries: list[dict], cited: list[str] = ()) -> list[dict]:
    """The entries a chapter relies on: those it cites, then those registered for it, in file order."""
    keep = set(cited) | {e["id"] for e in entries if chapter in (e.get("chapters") or [])}
    return [e for e in entries if e["id"] in keep]


def grouped(entries: list[dict]) -> list[tuple[str, list[dict]]]:
    return [(title, [e for e in entries if e.get("group") == g]) for g, title in GROUPS.items()
            if any(e.get("group") == g for e in entries)]


# --------------------------------------------------------------------------- CITATION.cff

def citation(path: str | Path | None = None) -> dict:
    """``CITATION.cff`` as a dict."""
    return yaml.safe_load(Path(path or CITATION_FILE).read_text(encoding="utf-8"))


def how_to_cite(path: str | Path | None = None) -> dict:
    """The compendium's citation: ``text`` (one line), ``bibtex``, and the fields it came from."""
    c = citation(path)
    authors = "; ".join(a.get("name") or " ".join(x for x in (a.get("given-names"), a.get("family-names")) if x)
                        for a in c.get("authors") or [])
    year = str(c.get("date-released", ""))[:4] or "n.d."
    repo = c.get("repository-code") or c.get("url")
    doi = c.get("doi")
    version = c.get("version", "unversioned")
    text = (f"{authors} ({year}). {c['title']} (version {version}) [{c.get('type', 'software')}]."
            + (f" {repo}." if repo else " Repository: to be announced.")
            + (f" https://doi.org/{doi}" if doi else ""))
    key = "resilience_revolution_compendium_" + year
    fields = {"title": c["title"], "author": authors.replace("; ", " and "), "year": year,
              "version": str(c.get("version", "")), "note": f"Licence {c.get('license', 'unknown')}"}
    if repo:
        fields["url"] = repo
    if doi:
        fields["doi"] = doi
    bibtex = "@software{" + key + ",\n" + ",\n".join(
        f"  {k} = {{{v}}}" if k != "author" else f"  {k} = {{{{{v}}}}}" for k, v in fields.items()) + "\n}"
    return {"text": text, "bibtex": bibtex, "message": c.get("message", ""), "repository": repo,
            "version": c.get("version"), "date": str(c.get("date-released", "")), "license": c.get("license")}
