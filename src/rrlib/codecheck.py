"""``codecheck.yml``, the CODECHECK configuration of the compendium (``rr codecheck``).

Written per the CODECHECK configuration file specification (https://codecheck.org.uk/spec/config/):
an explicit YAML document (``---``) with ``version``, the ``manifest`` of the outputs a codechecker
should reproduce, and ``paper`` (title and authors of the work whose results are checked). The
manifest lists every reference figure of ``figures/MANIFEST`` and every published table of the
default run (``reports/tables/*.csv``), each with its path, a comment (number, caption, chapter)
and its sha256, so that a codechecker can compare a rerun byte for byte.

Fields that only a codecheck can fill (``codechecker``, ``report``, ``certificate``, ``summary``,
``check_time``) and identifiers the compendium does not have (ORCIDs, the paper's DOI, the
repository's address while CITATION.cff has none) are left out, never guessed.
``rr codecheck --check`` fails when the file is out of date with the reference figures or tables.
"""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from . import chapter, log, numbering, paths, references, verify
from .io import atomic_write_text, sha256_file

CODECHECK_FILE = paths.ROOT / "codecheck.yml"
SPEC_VERSION = "https://codecheck.org.uk/spec/config/1.0/"

logger = log.get("codecheck")


class CodecheckError(RuntimeError):
    pass


def _sidecar(path: Path) -> dict:
    try:
        return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def manifest_items(figures_dir: Path | None = None, tables_dir: Path | None = None) -> list[dict]:
    """The manifest: reference figures (from figures/MANIFEST) then published tables, each
    numbered as in the report."""
    figures_dir = Path(figures_dir or verify.FIGURES_DIR)
    lay = paths.layout()
    tables_dir = Path(tables_dir or lay.tables_dir)
    ref = verify.read_manifest(figures_dir / "MANIFEST") if (figures_dir / "MANIFEST").exists() else None
    if not ref:
        raise CodecheckError(f"{figures_dir / 'MANIFEST'} is missing or empty: run `make figures-manifest`")
    tables = sorted(tables_dir.glob("*.csv")) if tables_dir.exists() else []
    if not tables:
        raise CodecheckError(f"no published tables in {tables_dir}: run `make all` first")
    # chapter of each output from its provenance sidecar
    fig_side = {name: _sidecar(figures_dir / name) for name in ref}
    tab_side = {p.name: _sidecar(p) for p in tables}
    items = []
    for no, (key, nb_file) in enumerate(chapter.NOTEBOOKS.items(), 1):
        nb_path = paths.NOTEBOOKS_DIR / nb_file
        nb = numbering.read_notebook(nb_path) if nb_path.exists() else None
        figs = [Path(n).stem for n, s in fig_side.items() if s.get("chapter") == key]
        tabs = [Path(n).stem for n, s in tab_side.items() if s.get("chapter") == key]
        nums = numbering.number_chapter(no, nb, figs, tabs)
        for (kind, name), d in sorted(nums.items(), key=lambda kv: (kv[0][0] != "figure",
                                                                   [int(x) for x in kv[1]["number"].split(".")])):
            if kind == "figure":
                file = f"{name}.svg"
                path, sha = figures_dir / file, ref[file]
            else:
                file = f"{name}.csv"
                path, sha = tables_dir / file, sha256_file(tables_dir / file)
            # from the committed notebook only (not the run's sidecars), so the file changes only
            # when an output, its checksum or the notebook's structure does
            caption = numbering.humanise(name, key) + (f", section \u201c{d['section']}\u201d" if d["section"] else "")
            where = f"notebooks/{nb_file}" + (f", cell {d['cell_id']}" if d["cell_id"] else "")
            items.append({"file": path.relative_to(paths.ROOT).as_posix() if path.is_relative_to(paths.ROOT)
                          else path.name,
                          "comment": f"{d['label']}: {caption} ({where})",
                          "sha256": sha})
    listed = {Path(i["file"]).name for i in items}
    orphans = sorted(set(ref) - listed) + sorted(set(tab_side) - listed)
    for name in orphans:   # outputs of no registered chapter: listed last, unnumbered
        path = figures_dir / name if name in ref else tables_dir / name
        items.append({"file": path.relative_to(paths.ROOT).as_posix() if path.is_relative_to(paths.ROOT) else name,
                      "comment": f"{name} (no registered chapter)",
                      "sha256": ref.get(name) or sha256_file(path)})
    return items


def build(figures_dir: Path | None = None, tables_dir: Path | None = None) -> dict:
    c = references.citation()
    doc = {"version": SPEC_VERSION, "manifest": manifest_items(figures_dir, tables_dir)}
    ev = (c.get("references") or [{}])[0]
    doc["paper"] = {
        "title": ev.get("title") or c["title"],
        "authors": [{"name": a.get("name")} for a in ev.get("authors") or c.get("authors") or []],
    }
    if c.get("repository-code"):
        doc["repository"] = c["repository-code"]
    return doc


HEADER = """\
# CODECHECK configuration of the compendium (https://codecheck.org.uk/spec/config/1.0/).
# Written by `rr codecheck` (`make codecheck`) from figures/MANIFEST and the published tables of
# the default run (`make all`); `rr codecheck --check` and tests/unit/test_codecheck.py check that
# it is up to date. Do not edit by hand.
#
# manifest: every reference figure and published table, numbered as in the report, with its sha256
#   (the outputs are deterministic: a rerun reproduces them byte for byte).
# paper: the evaluation whose published figures the compendium reproduces (see CITATION.cff and
#   claims.yml). Its authors have no ORCID recorded here and the submission has no DOI: the
#   `reference` field is left out rather than invented.
# codechecker, report, certificate, summary, check_time: filled in by the codechecker.
"""


def render(figures_dir: Path | None = None, tables_dir: Path | None = None) -> str:
    body = yaml.safe_dump(build(figures_dir, tables_dir), sort_keys=False, allow_unicode=True, width=100)
    return HEADER + "---\n" + body


def main(check: bool = False) -> int:
    """``rr codecheck [--check]``: write codecheck.yml, or check that it is up to date."""
    log.setup()
    try:
        text = render()
    except (CodecheckError, verify.FiguresManifestError) as exc:
        logger.error(f"rr codecheck: {exc}")
        return 1
    if check:
        current = CODECHECK_FILE.read_text(encoding="utf-8") if CODECHECK_FILE.exists() else ""
        if current != text:
            logger.error(f"{CODECHECK_FILE.name} is out of date with figures/MANIFEST or the published "
                         "tables: run `make codecheck`")
            return 1
        logger.info(f"{CODECHECK_FILE.name} is up to date")
        return 0
    atomic_write_text(CODECHECK_FILE, text)
    n = text.count("\n  - file: ") + text.count("\n- file: ")
    logger.info(f"wrote {CODECHECK_FILE.name}: {n} files")
    return 0
