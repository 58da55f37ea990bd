"""The HTML report of a run: ``<out>/index.html`` and one page per chapter (``rr report``).

* ``index.html``: the programme in a paragraph, the chapters (each with a reader version without
  code and a full version with code), the claims table with statuses, the figures against
  ``figures/MANIFEST``, the data provenance (folder, synthetic or not, checksums) and a colophon
  (commit, dirty flag, environment, time).
* ``html/<chapter>.html`` (reader) and ``html/<chapter>-code.html`` (full), rendered with
  nbconvert from the executed notebooks in ``<out>/notebooks/``: each figure once, where the
  notebook made it (a minified SVG data URI, numbered, captioned, with alt text), DataFrames as
  publication tables, ``@fig:name`` cross-references and author-year citations linked; then the
  list of the chapter's figures with their provenance, its published tables, references. A side
  navigation (every chapter, this chapter's sections), previous/next, dark mode, print CSS and
  search (``html/search.js``, one script: works from ``file://``) come from :mod:`rrlib.book`;
  reader pages stay under 1 MB (``tests/integration/test_book.py``).
* ``claims.html`` (also written by ``rr claims``): each claim links to the figure, table or text
  of the chapter that computes it (:func:`claim_evidence`).
* Figures and tables are numbered per chapter (Figure 2.3, Table 2.1; :mod:`rrlib.numbering`), with
  a caption, a text alternative (alt text; :func:`rrlib.figures.describe`), a link to the notebook
  cell that made each (reader and full versions) and to its provenance sidecar, copied into
  ``html/provenance/`` so that the folder stays self-contained. Each chapter page ends with its
  References (the entries of ``src/rrlib/references.yml`` it cites as ``[@id]`` or relies on) and a
  "How to cite" box from ``CITATION.cff``; the index ends with the whole bibliography.

Every page opens offline from disk: styles are inlined, figures are data URIs, search reads one
local script, and nbconvert's template is stripped of the scripts it would fetch from CDNs (require.js,
MathJax, mermaid). :func:`external_references` finds any resource a page would fetch from the
network; the report refuses to write a page that has one.
"""
from __future__ import annotations

import copy
import html
import json
import multiprocessing as mp
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from . import (
    __version__,
    areas,
    book,
    claims,
    claims_report,
    log,
    manifest,
    numbering,
    paths,
    provenance,
    registry,
    verify,
)
from . import chapter as chapter_mod
from . import references as refs_mod
from . import results as results_mod
from .io import atomic_write_text, sha256_file

TEMPLATES = Path(__file__).parent / "templates"
#: Chapter titles: each notebook's first heading (rrlib.registry).
CHAPTER_TITLES = {c.key: c.title for c in registry.chapters()}
MAX_TABLE_ROWS = 500


class ExternalResourceError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------
# offline check
# --------------------------------------------------------------------------------------------
_REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.I)
_JS_IMPORT = re.compile(r"""\bimport\s*\(\s*['"]((?:https?:)?//[^'"]+)""", re.I)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


class _RefParser(HTMLParser):
    RESOURCE_ATTRS = {"src", "srcset", "data", "poster", "background", "xlink:href", "formaction"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            name = name.lower()
            if name in self.RESOURCE_ATTRS:
                for part in value.split(","):
                    if _REMOTE.match(part):
                        self.refs.append(f"<{tag} {name}={part.strip()}>")
            elif name == "href" and tag in ("link", "base", "use", "image", "script"):
                if _REMOTE.match(value):
                    self.refs.append(f"<{tag} href={value}>")
            elif name == "style":
                self.refs += [f"style url {u}" for u in _CSS_URL.findall(_CSS_COMMENT.sub("", value))]
        self._in = tag if tag in ("style", "script") else None

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "style":
            self.refs += [f"<style> url {u}" for u in _CSS_URL.findall(_CSS_COMMENT.sub("", data))]
        elif self._in == "script":
            self.refs += [f"<script> import {u}" for u in _JS_IMPORT.findall(data)]


def external_references(page: str) -> list[str]:
    """Every resource ``page`` would fetch from the network (``src``/``link href``/CSS ``url()``
    / ``@import`` / JS ``import()`` pointing at ``http(s)://`` or ``//``). Plain links
    (``<a href>``) are not resources and are allowed."""
    p = _RefParser()
    p.feed(page)
    p.close()
    return p.refs


# --------------------------------------------------------------------------------------------
# pieces
# --------------------------------------------------------------------------------------------
def _css() -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


def _sidecar(path: Path) -> dict | None:
    side = path.with_suffix(".json")
    if not side.exists():
        return None
    try:
        return json.loads(side.read_text(encoding="utf-8"))
    except ValueError:
        return None


def collect_figures(lay: paths.Layout) -> list[dict]:
    """The run's figures with sidecar and status against figures/MANIFEST."""
    try:
        reference = verify.read_manifest()
    except verify.FiguresManifestError:
        reference = None
    rows = verify.compare_figures(lay.figures_dir, reference or {})
    out = []
    for r in rows:
        # numbered later (number_outputs) when a chapter of this run made the figure; others keep these
        r = {"label": None, "caption": None, "number": None, **r}
        if r["path"] is None:
            out.append({**r, "chapter": None, "file": r["name"], "sidecar": None, "data_uri": None})
            continue
        p = Path(r["path"])
        side = _sidecar(p)
        status = r["status"] if reference is not None else "unregistered"
        out.append({**r, "path": str(provenance.portable(p)), "status": status, "file": p.name, "sidecar": side,
                    "chapter": (side or {}).get("chapter"), "data_uri": True, "file_path": str(p)})
    return out


def collect_tables(lay: paths.Layout) -> list[dict]:
    out = []
    for p in sorted(lay.tables_dir.glob("*.csv")) if lay.tables_dir.exists() else []:
        side = _sidecar(p) or {}
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        shown = df.head(MAX_TABLE_ROWS)
        table_html = book.publication_table(shown.to_html(index=False, border=0, classes="published", escape=True))
        if len(df) > MAX_TABLE_ROWS:
            table_html += f'<p class="muted">First {MAX_TABLE_ROWS} of {len(df)} rows.</p>'
        out.append({"file": p.name, "name": p.stem, "chapter": side.get("chapter"), "rows": len(df),
                    "preset": (side.get("disclosure") or {}).get("preset", "unknown"),
                    "sha256": sha256_file(p), "html": table_html})
    return out


def data_banner(synthetic: bool | None, folder: str) -> tuple[str, str]:
    if synthetic:
        return "synthetic", (f"SYNTHETIC DATA ({folder}): the numbers and figures show that the pipeline "
                             "works and reproduces the figures it was calibrated to; they are not "
                             "evidence about young people in Blackpool.")
    if synthetic is False:
        return "real", f"Real data ({folder}); every published table passed through disclosure control."
    return "failed", (f"Data of unknown status ({folder} has no MANIFEST): treated as real for "
                      "disclosure control; do not publish without checking.")


#: The banner of a chapter that reads only official statistics (its results say folder "official statistics").
OFFICIAL_ONLY_BANNER = ("Official statistics only: this chapter reads the public statistics shipped in "
                        "data/raw/public/, not the data folder of the run; nothing in it is synthetic.")


def chapter_banner(lay: paths.Layout, name: str, data_class: str, banner: str) -> tuple[str, str]:
    """The banner of chapter ``name``: the run's, unless its results were recorded as official
    statistics only (:meth:`rrlib.chapter.Chapter.banner` with ``official_only``); an area run keeps its
    own banner (which says what was computed for the authority)."""
    if not areas.from_env().is_default:
        return data_class, banner
    f = lay.result_file(name)
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return data_class, banner
    if results_mod.official_only(doc):
        return "real", OFFICIAL_ONLY_BANNER
    return data_class, banner


def area_banner(lay: paths.Layout, data_class: str, banner: str) -> tuple[str, str]:
    """An area run (``make all AREA=...``): the banner names the authority and counts the sections
    computed and not computed (from the chapters' results files); others are left as they are."""
    area = areas.from_env()
    if area.is_default:
        return data_class, banner
    skipped = 0
    for f in sorted(lay.results_dir.glob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        sk = doc.get("skipped") or {}
        skipped += len(sk)
    head = (f"Area run for {area.name} (DfE {area.code}, ONS {area.ons_code}): the official-statistics sections "
            f"of every chapter, computed for {area.name}; {skipped} sections not computed, each with its reason "
            f"(those that need pupil-level data: no pupil-level data for {area.name} unless DATA_DIR points at its "
            "extracts). ")
    no_pupil = lay.data_dir.resolve() == paths.DEFAULT_DATA_DIR.resolve()
    return ("real", head + "Official statistics only.") if no_pupil else (data_class, head + banner)


_EXPORTERS: dict = {}


def _exporter(reader: bool, embed_images: bool = True):
    """The HTML exporter of one version of the pages (made once per process: nbconvert compiles
    its templates for each new exporter). ``embed_images`` inlines the files that markdown cells
    show (nbconvert parses the whole page for them), so it is asked for only where needed."""
    from nbconvert import HTMLExporter

    key = (reader, embed_images)
    if key not in _EXPORTERS:
        _EXPORTERS[key] = HTMLExporter(template_name="lab", extra_template_paths=[str(TEMPLATES)],
                                       template_file="rr_notebook.html.j2", embed_images=embed_images,
                                       exclude_input=reader, exclude_input_prompt=reader,
                                       exclude_output_prompt=reader)
    return _EXPORTERS[key]


_MARKDOWN_IMAGE = re.compile(r"!\[|<img\b", re.I)


def _has_markdown_images(nb) -> bool:
    return any(c.cell_type == "markdown" and _MARKDOWN_IMAGE.search(c.source) for c in nb.cells)


def _path_repr(output) -> bool:
    """An execute_result that only shows a path (what ``ch.save_figure`` returns)."""
    data = output.get("data") or {}
    return (output.get("output_type") == "execute_result" and set(data) == {"text/plain"}
            and re.fullmatch(r"(Posix|Windows)?Path\('[^']*'\)", str(data["text/plain"]).strip()) is not None)


_NOT_IN_READER = {"parameters", "injected-parameters", "remove_cell", "remove-cell"}


def _reader_copy(nb):
    """A copy of ``nb`` for the reader version: warnings (stderr streams), bare path results and the
    parameters cells dropped; the full version keeps everything."""

    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & _NOT_IN_READER:
            continue
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                            and not _path_repr(o)]
        cells.append(cell)
    nb.cells = cells
    return nb


_SAVE_FIGURE = re.compile(r"""save_figure\(\s*[^,()]+,\s*["']([\w.-]+)["']""")


def _show_saved_figures(nb, figures_dir: Path | None, numbers: dict | None = None) -> list[str]:
    """Show each figure where the notebook saved it.

    ``ch.save_figure(fig, "name")`` writes the SVG and closes the figure, so the executed notebook
    has no image there; the report adds the saved file (the same bytes as the reference figure)
    as that cell's output (once, as a numbered ``<figure>`` with caption and alt text; the data
    URI is the minified SVG, :func:`rrlib.book.svg_data_uri`), unless the cell already shows an
    image. Returns the figures shown.
    """
    shown: list[str] = []
    if figures_dir is None:
        return shown
    from nbformat.v4 import new_output

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        if any(k.startswith("image/") for o in outputs for k in (o.get("data") or {})):
            continue
        names = _SAVE_FIGURE.findall(cell.source)
        if numbers:   # the chapter's numbered figures that this cell's save_figure calls made
            pats = [p for kind, p in numbering._calls(cell.source) if kind == "figure"]
            names += sorted((Path(n).stem for n in numbers if any(p.fullmatch(Path(n).stem) for p in pats)),
                            key=lambda s: [int(x) for x in numbers[f"{s}.svg"]["number"].split(".")])
            names = list(dict.fromkeys(n.removesuffix(".svg") for n in names))
        for name in names:
            f = figures_dir / (name if name.endswith(".svg") else f"{name}.svg")
            if f.exists() and f.name not in shown:
                info = (numbers or {}).get(f.name) or {"name": f.name, "number": "", "label": "Figure",
                                                       "caption": numbering.humanise(f.stem), "alt": None}
                outputs.append(new_output("display_data", data={
                    "text/html": book.figure_html(info, book.svg_data_uri(f)),
                    "text/plain": f"<{info['label']}: {f.name}>"}))
                shown.append(f.name)
        cell.outputs = outputs
    return shown


def _tables_in_text(nb, tables: dict) -> None:
    """Publication tables in the text: each DataFrame output without its 0..n index, with human
    headers, in a box that scrolls, with a legend of its symbols; the cell that published a
    numbered table gets its number and caption (``id="tab-<name>"``): above each table when the
    cell shows as many tables as it published (in the order it published them), else all above
    its outputs."""
    by_cell: dict[str, list[dict]] = {}
    for t in tables.values():
        if t.get("cell_id"):
            by_cell.setdefault(t["cell_id"], []).append(t)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            if "text/html" in (o.get("data") or {}):
                o["data"]["text/html"] = book.publication_output(_html_of(o))
        caps = sorted(by_cell.get(cell.get("id"), []),
                      key=lambda t: [int(x) for x in str(t.get("number", "")).split(".") if x.isdigit()])
        if not caps:
            continue
        outputs = list(cell.get("outputs", []))
        shown = [i for i, o in enumerate(outputs) if "dataframe rr-table" in _html_of(o)]
        if len(shown) == len(caps):
            for i, t in reversed(list(zip(shown, caps))):
                outputs.insert(i, _captions_output([t]))
            cell.outputs = outputs
        else:
            cell.outputs = [_captions_output(caps)] + outputs


def _captions_output(tables: list[dict]):
    """A display output holding the numbers and captions of ``tables``."""
    from nbformat.v4 import new_output

    return new_output("display_data", data={"text/html": "".join(book.caption_html(t, "table") for t in tables),
                                            "text/plain": "; ".join(t["label"] for t in tables)})


def _html_of(output) -> str:
    """An output's HTML (nbformat keeps it as a string or as a list of lines), or ``""``."""
    text = (output.get("data") or {}).get("text/html", "")
    return "".join(text) if isinstance(text, list) else text


def _link_crossrefs(nb, targets: dict, chapter: str, suffix: str) -> None:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = book.link_crossrefs(cell.source, targets, chapter, suffix)


def render_chapter(nb_path: Path, *, reader: bool, context: dict) -> str:
    """One chapter page (reader or full version) as a string."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    shown = _show_saved_figures(nb, context.get("figures_dir"),
                                {f["file"]: f for f in context.get("figures", []) if f.get("label")})
    _tables_in_text(nb, {t["file"]: t for t in context.get("tables", []) if t.get("label")})
    if context.get("xrefs"):
        _link_crossrefs(nb, context["xrefs"], context.get("chapter", ""), "" if reader else "-code")
    if context.get("bibliography") is not None:
        listed = {r["id"] for r in context.get("references", [])}
        refs_mod.link_author_year(nb, [e for e in context["bibliography"] if e["id"] in listed],
                                  href="#rr-references")
        refs_mod.link_citations(nb, context["bibliography"], href="#rr-references")
    if reader:
        nb = _reader_copy(nb)
    title = f"{context['title']} ({'reader version' if reader else 'full version with code'})"
    nb.metadata["title"] = title
    body, _ = _exporter(reader, _has_markdown_images(nb)).from_notebook_node(
        nb, resources={"rr": {**context, "mode": "reader" if reader else "full",
                              "other_href": context["full_href" if reader else "reader_href"],
                              "css": _css(), "js": book.SEARCH_JS,
                              "unshown": {f["file"]: book.figure_html(f, book.svg_data_uri(f["file_path"]))
                                          for f in context.get("figures", [])
                                          if f["file"] not in shown and f.get("file_path")}},
                       "metadata": {"name": title}})
    return _strip_style_comments(body)


_JOBS: list[tuple] = []


def _render_job(i: int) -> str:
    rel, nb_path, reader, ctx = _JOBS[i]
    return render_chapter(nb_path, reader=reader, context=ctx)


def _workers(n_jobs: int) -> int:
    """Processes for the chapter pages: ``RR_REPORT_WORKERS``, else one per core (at most 4)."""
    env = os.environ.get("RR_REPORT_WORKERS", "").strip()
    n = int(env) if env.isdigit() and int(env) > 0 else min(4, os.cpu_count() or 1)
    return max(1, min(n, n_jobs))


def _render_pages(jobs: list[tuple]) -> dict[str, str]:
    """Render ``(relative path, notebook, reader, context)`` jobs, in forked worker processes
    when there are several cores (nbconvert is imported first and shared by the forks; each
    page is rendered exactly as it would be in this process, so the bytes do not depend on
    the number of workers)."""
    global _JOBS

    import nbconvert  # noqa: F401  (imported once, before the fork)

    n = _workers(len(jobs))
    if n == 1 or "fork" not in mp.get_all_start_methods():
        return {rel: render_chapter(nb, reader=reader, context=ctx) for rel, nb, reader, ctx in jobs}
    _JOBS = list(jobs)
    try:
        with mp.get_context("fork").Pool(n) as pool:
            bodies = pool.map(_render_job, range(len(jobs)), chunksize=1)
    finally:
        _JOBS = []
    return {job[0]: body for job, body in zip(jobs, bodies)}


_STYLE_BLOCK = re.compile(r"(<style[^>]*>)(.*?)(</style>)", re.S | re.I)


def _strip_style_comments(page: str) -> str:
    """Drop CSS comments from the page's <style> blocks (nbconvert's theme CSS cites web pages in
    comments; a reader grepping the page for http should only find real links)."""
    return _STYLE_BLOCK.sub(lambda m: m.group(1) + _CSS_COMMENT.sub("", m.group(2)) + m.group(3), page)


def chapter_runs(lay: paths.Layout) -> list[dict]:
    """The chapters of the run, in order, with their executed (or failed) notebook."""
    runs = []
    for name, nb_file in chapter_mod.NOTEBOOKS.items():
        stem = Path(nb_file).stem
        executed = lay.executed_dir / nb_file
        failed = lay.executed_dir / f"{stem}.failed.ipynb"
        nb = executed if executed.exists() else failed if failed.exists() else None
        info = {"name": name, "title": CHAPTER_TITLES.get(name, name), "notebook": nb_file,
                "executed": nb, "failed": nb is not None and nb == failed,
                "reader_href": f"html/{name}.html", "full_href": f"html/{name}-code.html",
                "results_file": lay.result_file(name), "duration": None, "parameters": None}
        if nb is not None:
            try:
                meta = json.loads(nb.read_text(encoding="utf-8")).get("metadata", {}).get("papermill", {})
            except ValueError:
                meta = {}
            # papermill's run time is not shown: the page must be the same bytes for the same inputs
            info["parameters"] = meta.get("parameters")
        info["status"] = ("failed" if info["failed"] else "run" if nb is not None else "not run")
        runs.append(info)
    return runs


def _kv(d: dict) -> str:
    e = html.escape
    return '<dl class="kv">' + "".join(f"<dt>{e(str(k))}</dt><dd>{v}</dd>" for k, v in d.items()) + "</dl>"


def _sha_table(files: dict[str, str], actual: dict[str, str | None] | None = None) -> str:
    e = html.escape
    rows = []
    for name, sha in files.items():
        check = ""
        if actual is not None:
            got = actual.get(name)
            check = ("<td><span class=\"badge status identical\">matches</span></td>" if got == sha else
                     "<td><span class=\"badge status missing\">missing</span></td>" if got is None else
                     "<td><span class=\"badge status changed\">DIFFERS</span></td>")
        rows.append(f"<tr><td><code>{e(name)}</code></td><td><code>{e(str(sha))}</code></td>{check}</tr>")
    head = "<tr><th>file</th><th>sha256</th>" + ("<th>on disk</th>" if actual is not None else "") + "</tr>"
    return f'<div class="scroll"><table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'


def data_provenance(lay: paths.Layout) -> dict:
    d = lay.data_dir
    doc = manifest.read(d) if d.exists() else {}
    listed = dict(sorted((doc.get("files") or {}).items()))
    actual = {}
    if d.exists():
        for p in manifest.data_files(d):
            actual[p.name] = sha256_file(p)
    public = {}
    if paths.PUBLIC_DIR.exists():
        public = {p.relative_to(paths.PUBLIC_DIR).as_posix(): sha256_file(p)
                  for p in sorted(paths.PUBLIC_DIR.rglob("*")) if p.is_file()}
    synthetic = bool(doc["synthetic"]) if "synthetic" in doc else None
    return {"folder": str(provenance.portable(d)), "name": d.name, "exists": d.exists(), "synthetic": synthetic,
            "manifest": {k: v for k, v in doc.items() if k != "files"}, "files": listed,
            "actual": actual, "public": public,
            "all_match": bool(listed) and all(actual.get(k) == v for k, v in listed.items())
            and set(actual) <= set(listed)}


def number_outputs(runs: list[dict], lay: paths.Layout) -> dict[str, str]:
    """Number each run's figures and tables (``run["figures"]``, ``run["tables"]``, in place) and add
    caption, alt text, the links to the cell that made each and to its provenance sidecar, which is
    returned as an extra page ``{"html/provenance/<file>.json": text}``."""
    extra: dict[str, str] = {}
    for no, run in enumerate(runs, 1):
        nb = None
        if run.get("executed") is not None:
            try:
                nb = numbering.read_notebook(run["executed"])
            except Exception:   # an unreadable notebook still gets numbered outputs, without cells
                nb = None
        figs = {Path(f["file"]).stem: f for f in run.get("figures", [])}
        tabs = {Path(t["file"]).stem: t for t in run.get("tables", [])}
        nums = numbering.number_chapter(no, nb, list(figs), list(tabs))
        for (kind, stem), d in nums.items():
            item = (figs if kind == "figure" else tabs)[stem]
            side = item.get("sidecar") if kind == "figure" else _sidecar(lay.tables_dir / item["file"])
            described = (side or {}).get("figure") or {}
            section = d["section"]
            caption = (described.get("caption") if kind == "figure" else None) or (
                f"{book.caption_words(numbering.humanise(stem, run['name']))}" + (f" ({section})" if section else ""))
            if kind == "figure":
                caption = book.figure_caption(described.get("caption"), described.get("alt"),
                                              stem.removeprefix(run["name"] + "_"))
            alt = described.get("alt") or f"{d['label']}: {caption}."
            if kind == "figure" and described.get("synthetic_mark"):
                alt += " Stamped SYNTHETIC: made from synthetic data."
            cell = d["cell_id"]
            item.update({
                "number": d["number"], "label": d["label"], "caption": caption, "alt": alt,
                "section": section, "cell_id": cell,
                "cell_href": f"#cell-id={cell}" if cell else None,
                "code_cell_href": f"{Path(run['full_href']).name}#cell-id={cell}" if cell else None,
                "sidecar_href": None})
            if side is not None:
                rel = f"html/provenance/{Path(item['file']).stem}.json"
                extra[rel] = json.dumps(side, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
                item["sidecar_href"] = f"provenance/{Path(item['file']).stem}.json"
        key = lambda x: [int(p) for p in x.get("number", "0.0").split(".")]  # noqa: E731
        run["figures"] = sorted(run.get("figures", []), key=key)
        run["tables"] = sorted(run.get("tables", []), key=key)
    return extra


def cross_reference_targets(runs: list[dict]) -> dict[str, tuple[str, str, str]]:
    """Targets of ``@fig:name``, ``@tab:name``, "Figure 2.4" and "Table 5.1" in the text:
    ``{key: (label, chapter, anchor)}`` (:func:`rrlib.book.link_crossrefs`)."""
    out: dict[str, tuple[str, str, str]] = {}
    for run in runs:
        if run.get("executed") is None:
            continue
        for f in run.get("figures", []):
            if f.get("label"):
                t = (f["label"], run["name"], f"fig-{f['name']}")
                out[f"fig:{Path(f['file']).stem}"] = out[f["label"]] = t
        for tb in run.get("tables", []):
            if tb.get("label"):
                t = (tb["label"], run["name"], f"tab-{tb['name']}" if tb.get("cell_id") else f"data-tab-{tb['name']}")
                out[f"tab:{tb['name']}"] = out[tb["label"]] = t
    return out


def _said(cell) -> str:
    """What a notebook cell says: its source and, for a code cell, the markdown it showed (a chapter's
    sentences are written by its module's ``*_text`` functions, so the claim ids they name are in the output)."""
    shown = [o.get("data", {}).get("text/markdown", "") for o in cell.get("outputs", [])] \
        if cell.cell_type == "code" else []
    return "\n".join([cell.source, *("".join(t) if isinstance(t, list) else t for t in shown)])


def claim_evidence(runs: list[dict], rows: list[dict]) -> dict[tuple, tuple[str, str]]:
    """Where each claim is computed: ``{(id, part): (label, href)}`` with ``href`` relative to the
    report's folder. The chapter is the claim's own, else the first part of its result key (A13's
    "context" parts are computed by reach); in that chapter's notebook, the first cell that names
    the claim (``A09``) in its source or in the sentences it showed (:func:`_said`), preferring one
    that also names the part, the key's last word, or the key or its section in quotes (the cell of
    ``ch.section("<section>")``); the link goes to the figure or table that cell (or the next code
    cell after it) made, else to the cell."""
    by_name = {r["name"]: r for r in runs if r.get("executed") is not None}
    cells: dict[str, list] = {}
    for name, run in by_name.items():
        try:
            cells[name] = numbering.read_notebook(run["executed"]).cells
        except Exception:
            cells[name] = []
    said = {name: [_said(c) for c in cs] for name, cs in cells.items()}
    made: dict[str, dict[str, tuple[str, str]]] = {}
    for name, run in by_name.items():
        m = made.setdefault(name, {})
        for f in sorted(run.get("tables", []), key=lambda x: x.get("number", "")) + run.get("figures", []):
            if f.get("cell_id") and f.get("label"):
                anchor = f"fig-{f['name']}" if f["file"].endswith(".svg") else f"tab-{f['name']}"
                m.setdefault(f["cell_id"], (f["label"], anchor))
    out: dict[tuple, tuple[str, str]] = {}
    for r in rows:
        chap = r["chapter"] if r["chapter"] in by_name else str(r.get("key") or "").split(".")[0]
        if chap not in by_name:
            continue
        pat = re.compile(rf"\b{re.escape(r['id'])}\b")
        key = str(r.get("key") or "")
        # the part, the key's last word, or the key or its section quoted (ch.section("reach.opportunities"))
        hint = [h for h in (r.get("part"), key.split(".")[-1]) if h]
        hint += [f'"{k}"' for k in (key, key.rpartition(".")[0]) if k]
        found = [i for i, c in enumerate(cells[chap]) if pat.search(said[chap][i])
                 and not set(c.get("metadata", {}).get("tags", [])) & _NOT_IN_READER]
        if not found:
            out[(r["id"], r.get("part"))] = (f"chapter {list(by_name).index(chap) + 1}", by_name[chap]["reader_href"])
            continue
        page = by_name[chap]["reader_href"]

        def made_after(i: int) -> tuple[str, str] | None:
            for c in cells[chap][i:i + 4]:
                if c.cell_type == "code" and c.get("id") in made[chap]:
                    return made[chap][c.get("id")]
                if c is not cells[chap][i] and c.cell_type == "markdown" and numbering.HEADING.search(c.source):
                    return None
            return None

        # the text that checks the claim, not the chapter's introduction that lists every claim
        i = max(found, key=lambda k: (any(h in said[chap][k] for h in hint), made_after(k) is not None,
                                      bool(numbering.HEADING.search(cells[chap][k].source)) and k > 2, k > 2, -k))
        target = made_after(i)
        cell_id = cells[chap][i].get("id")
        out[(r["id"], r.get("part"))] = ((target[0], f"{page}#{target[1]}") if target else
                                          ("text", f"{page}#cell-id={cell_id}") if cell_id else ("chapter", page))
    return out


def references_of(run: dict, entries: list[dict]) -> list[dict]:
    """The bibliography entries of one chapter: those its notebook cites, then those registered for it."""
    cited: list[str] = []
    if run.get("executed") is not None:
        try:
            cited = refs_mod.cited_in(numbering.read_notebook(run["executed"]))
        except Exception:
            cited = []
    return refs_mod.for_chapter(run["name"], entries, cited)


# --------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------
def build(lay: paths.Layout) -> dict[str, str]:
    """All pages of the report: ``{relative path: html}`` (nothing written)."""
    import jinja2
    from markupsafe import Markup

    rows, synthetic = claims.run_check(lay)
    rows = claims.public_rows(rows)
    data = data_provenance(lay)
    if data["synthetic"] is not None:
        synthetic = data["synthetic"]
    data_class, banner = area_banner(lay, *data_banner(synthetic, lay.data_dir.name))
    figures = collect_figures(lay)
    tables = collect_tables(lay)
    runs = chapter_runs(lay)
    pages: dict[str, str] = {}
    jobs: list[tuple] = []
    bibliography = refs_mod.load()
    cite = refs_mod.how_to_cite()
    for run in runs:
        run["figures"] = [f for f in figures if f.get("chapter") == run["name"] and f["data_uri"]]
        run["tables"] = [t for t in tables if t["chapter"] == run["name"]]
    pages.update(number_outputs(runs, lay))
    xrefs = cross_reference_targets(runs)
    for run in runs:
        ch_claims = [r for r in rows if r["chapter"] == run["name"]]
        run["claims"] = claims.summary(ch_claims)
        run["references"] = [{"id": e["id"], "label": refs_mod.cite_label(e), "html": refs_mod.format_html(e)}
                             for e in references_of(run, bibliography)]
        if run["executed"] is None:
            continue
        run_class, run_banner = chapter_banner(lay, run["name"], data_class, banner)
        ctx = {"title": f"{run['title']} ({run['notebook']})", "failed": run["failed"],
               "figures": run["figures"], "tables": run["tables"], "data_class": run_class,
               "data_banner": run_banner, "figures_dir": lay.figures_dir, "reader_href": Path(run["reader_href"]).name,
               "full_href": Path(run["full_href"]).name, "references": run["references"],
               "bibliography": bibliography, "cite": cite, "xrefs": xrefs, "chapter": run["name"],
               "chapter_no": runs.index(run) + 1}
        jobs += [(run["reader_href"], run["executed"], True, ctx), (run["full_href"], run["executed"], False, ctx)]
    pages.update(_render_pages(jobs))
    book_runs = [r for r in runs if r["executed"] is not None]
    for run in book_runs:
        for rel in (run["reader_href"], run["full_href"]):
            page = pages[rel]
            page = page.replace("<!--rr-sidebar-->", book.sidebar_html(book_runs, run["name"], book.sections(page)), 1)
            pages[rel] = page.replace("<!--rr-prevnext-->", book.prev_next_html(book_runs, run["name"]))

    git = provenance.git_state()
    env = provenance.environment()
    links = {r["name"]: r["reader_href"] for r in runs if r["executed"] is not None}
    evidence = claim_evidence(runs, rows)
    e = html.escape
    colophon = {
        "commit": f"<code>{e(str(git.get('commit')))}</code>",
        "working tree": ("dirty (uncommitted changes)" if git.get("dirty") else
                         "clean" if git.get("dirty") is False else "unknown"),
        "rrlib": e(__version__),
        "python": e(env["python"]),
        "requirements.lock sha256": f"<code>{e(str(env.get('lock_sha256')))}</code>",
        "packages": ", ".join(f"{e(k)} {e(str(v))}" for k, v in env["packages"].items()),
        "commit date (UTC)": e(provenance.commit_date(git.get("commit")) or "unknown"),
        "report built (UTC)": provenance.now_utc().replace("T", " ").rstrip("Z") + (
            " (fixed by SOURCE_DATE_EPOCH so that builds are byte-identical; the commit date above dates "
            "this build)" if os.environ.get("SOURCE_DATE_EPOCH", "").strip() else ""),
        "output folder": f"<code>{e(str(provenance.portable(lay.out_dir)))}</code>",
    }
    env_j = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                               autoescape=jinja2.select_autoescape(["html", "j2"]),
                               undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    index = env_j.get_template("index.html.j2").render(
        css=Markup(_css()), js=Markup(book.SEARCH_JS), programme=Markup(
            (TEMPLATES / "programme.html").read_text(encoding="utf-8")),
        banner=banner, data_class=data_class, runs=runs,
        claims_summary=Markup(claims_report.summary_html(rows) + claims_report.official_html(rows)),
        claims_table=Markup(claims_report.claims_table_html(rows, link_chapters=links, evidence=evidence)),
        figures=figures, manifest_exists=verify.MANIFEST_FILE.exists(),
        bibliography=[(title, [{"id": e["id"], "label": refs_mod.cite_label(e), "html": refs_mod.format_html(e)}
                               for e in group]) for title, group in refs_mod.grouped(bibliography)],
        cite=cite,
        manifest_path=str(verify.MANIFEST_FILE), data=data,
        data_files=Markup(_sha_table(data["files"], data["actual"])
                                                  if data["files"] else ""),
        public_files=Markup(_sha_table(data["public"]) if data["public"] else ""),
        manifest_fields=Markup(_kv({k: e(str(v)) for k, v in data["manifest"].items()}))
        if data["manifest"] else "",
        colophon=Markup(_kv(colophon)),
        fmt=claims_report.fmt_value)
    pages["index.html"] = index.replace("<!--rr-sidebar-->", book.sidebar_html(book_runs, None, []), 1)
    pages["claims.html"] = book.with_navigation(
        claims_report.to_html(rows, folder=lay.data_dir.name, synthetic=synthetic, evidence=evidence, links=links),
        book.sidebar_html(book_runs, None, []))
    entries = book.search_entries("../index.html", "Report", pages["index.html"])
    for run in book_runs:
        no = runs.index(run) + 1
        entries += book.search_entries(Path(run["reader_href"]).name, f"{no}. {run['title']}",
                                       pages[run["reader_href"]])
    entries += book.search_entries("../claims.html", "Claims", pages["claims.html"])
    pages["html/search.js"] = book.search_script(entries)
    for name, page in pages.items():
        refs = external_references(page)
        if refs:
            raise ExternalResourceError(f"report page {name} would fetch from the network: "
                                        + "; ".join(refs[:5]))
    return pages


def main(data_dir=None, out_dir=None) -> int:
    """``rr report``: build ``<out>/index.html`` and the chapter pages of a run."""

    logger = log.get("report")
    log.setup()
    lay = paths.layout(data_dir, out_dir)
    try:
        pages = build(lay)
    except (claims.ClaimsError, ExternalResourceError) as exc:
        logger.error(f"rr report: {exc}")
        return 2
    for rel, page in sorted(pages.items()):
        atomic_write_text(lay.out_dir / rel, page)
    n_ch = sum(1 for k in pages if k.startswith("html/") and k.endswith(".html") and not k.endswith("-code.html"))
    logger.info(f"report: {lay.report_html} ({n_ch} chapter(s), reader and full versions; claims.html)")
    return 0
