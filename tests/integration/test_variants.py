"""Every chapter on every variant data folder (issue 17.5).

The variants (:mod:`rrlib.synth.variants`) reshape a small synthetic folder the way real extracts
differ from the shipped one: a census from 2016/17 only, a financial year without admissions, a
seventh survey area and a sixth wave, programme records to 2023, the newer exclusion reason codes,
each optional table missing in turn. They are packed into a few folders
(:func:`~rrlib.synth.variants.groups`: each chapter meets at most one variant per folder), made
once per test session (shared by pytest-xdist workers through a lock file) from the shipped seed at 0.2.

For every folder and chapter:

* the folder validates and prepares (``rr prepare``), and the chapter's code completes (run without a
  kernel by ``tests/_inprocess.py``: what is tested is what the chapter computes and records, which the
  kernel's start-up and display rendering add nothing to);
* every section it skipped names its reason (results JSON ``skipped``), and every result the full
  folder gives whose inputs still exist is either still computed or covered by such a skipped
  section (nothing dropped silently; a result keyed by a year the variant removed, e.g.
  ``...y2014_15...``, has no inputs: :attr:`~rrlib.synth.variants.Variant.no_input`);
* a chapter that reads none of the tables the folder's variants change gives exactly the results
  of the full folder (the variant costs it nothing). This is shown without running it again: on the
  full folder every chapter records the processed tables it read or looked for (its results'
  ``data.tables``, kept by :meth:`rrlib.chapter.Chapter.table` and ``has_table``, the one way a chapter
  reaches the data folder); on the variant folder each of them is the same bytes as on the full folder
  (``rr prepare``'s sha256 sums), or absent from both. A chapter's results are a function of the tables it
  reads, the public tables and its parameters (its runs are byte-identical: ``test_determinism.py``), and
  which tables it reads depends only on what it has read and looked for before, so on those inputs it
  reads the same tables and gives the full folder's results. (Until 2026-12 the 16 such pairs were each
  run and compared: all equal.)

Cost: the suite's shared small folder (``shipped_small``), 10 folders prepared (~4 s each), 34 chapter runs of 1 to 8
seconds each without a kernel; chapter 2's official-statistics sections (the same public tables on every
folder) and their figures are computed once per session and replayed (``_inprocess`` ``memo``). Marked slow.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from _inprocess import run_chapter_code
from _shared import file_lock as _locked
from _shared import session_shared_dir
from rrlib import paths
from rrlib.results import skip_reason
from rrlib.synth import variants as V

pytestmark = pytest.mark.slow

CHAPTERS = list(V.CHAPTER_TABLES)
GROUPS = {"full": []} | {"+".join(g): g for g in V.groups()}

#: (folder, chapter) cases expected to fail: none. Before the chapter engineers' work was merged,
#: 21 cases failed (chapters stopping on a missing table or on the 2014/15 census, results dropped
#: without a skip); on main at cad8e84 all 50 pass. Add an entry
#: ``(folder, chapter): reason`` here (xfail, strict=False) only for a known, reported failure.
XFAIL: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="session")
def root(tmp_path_factory, shipped_small) -> Path:
    """The session's shared folder (the same for every xdist worker), its base the shipped seed at 0.2."""
    shared = session_shared_dir(tmp_path_factory) / "rr-variants"
    with _locked(shared / ".lock"):
        if not (shared / "base").exists():
            (shared / "base").symlink_to(shipped_small, target_is_directory=True)
    return shared


def _folder(root: Path, name: str) -> tuple[Path, Path]:
    """The variant folder ``name`` and its run folder, made (and prepared) once."""
    from rrlib import data

    data_dir, out_dir = root / "data" / name, root / "out" / name
    with _locked(root / f".lock-{name}"):
        if not (out_dir / "processed" / data.STAMP_NAME).exists():
            if name == "full":
                if data_dir.exists():
                    shutil.rmtree(data_dir)
                shutil.copytree(root / "base", data_dir)
            else:
                V.make(root / "base", data_dir, GROUPS[name])
            lay = paths.layout(data_dir, out_dir)
            data.prepare(data_dir, lay.processed_dir)  # raises DataValidationError if it does not validate
    return data_dir, out_dir


def _processed(root: Path, name: str) -> dict[str, str]:
    """``{table: sha256}`` of folder ``name``'s processed tables (``rr prepare``'s stamp)."""
    from rrlib import data

    return {t: v["sha256"] for t, v in data.stamp(paths.layout(*_folder(root, name)).processed_dir)["tables"].items()}


def _run(root: Path, name: str, chapter: str) -> dict:
    """Run ``chapter`` on folder ``name`` (once) and return its results JSON."""
    data_dir, out_dir = _folder(root, name)
    key = chapter.split("_", 1)[1]
    with _locked(root / f".lock-{name}-{chapter}"):
        done = out_dir / f".{chapter}.done"
        if not done.exists():
            run_chapter_code(paths.NOTEBOOKS_DIR / f"{chapter}.ipynb", data_dir, out_dir, memo=True)
            done.write_text("ok")
    found = sorted((out_dir / "results").glob("*.json"))
    chapter_names = {"01_reach": "reach", "02_exclusions": "exclusions", "03_wmf_comparisons": "wmf",
                     "04_self_harm_readmissions": "selfharm", "05_targeted_interventions": "targeted"}
    f = out_dir / "results" / f"{chapter_names.get(chapter, key)}.json"
    assert f.exists(), f"{chapter} on {name}: no results file {f.name} (have {[p.name for p in found]})"
    return json.loads(f.read_text(encoding="utf-8"))


def _cases():
    for name in GROUPS:
        for chapter in CHAPTERS:
            marks = []
            if (name, chapter) in XFAIL:
                marks.append(pytest.mark.xfail(strict=False, reason=XFAIL[(name, chapter)]))
            yield pytest.param(name, chapter, marks=marks, id=f"{name}-{chapter}")


@pytest.mark.parametrize("name, chapter", list(_cases()))
def test_chapter_completes_on_variant_and_names_every_skip(root, name, chapter):
    if name != "full" and chapter not in V.affected_chapters(GROUPS[name]):
        # none of the tables the chapter reads changes: the same inputs, byte for byte (module docstring)
        read = _run(root, "full", chapter)["data"]["tables"]
        assert read, f"{chapter} recorded no table of the data folder read"
        here, full = _processed(root, name), _processed(root, "full")
        changed = [t for t in read if here.get(t) != full.get(t)]
        assert not changed, (f"{name} changes the processed {changed}, which {chapter} reads, though its variants "
                             f"change only {sorted({t for v in GROUPS[name] for t in V.VARIANTS[v].tables})} "
                             f"and {chapter} declares {V.CHAPTER_TABLES[chapter]} (rrlib.synth.variants)")
        return
    doc = _run(root, name, chapter)
    for section, s in (doc.get("skipped") or {}).items():
        reason = str((s or {}).get("reason") or "").strip()
        assert reason, f"{chapter} on {name}: section {section} skipped without a reason"
        assert s.get("covers"), f"{chapter} on {name}: section {section} covers no results keys"
    if name == "full":
        return
    full = _run(root, "full", chapter)
    skipped = doc.get("skipped") or {}
    no_input = {part for v in GROUPS[name] for part in V.VARIANTS[v].no_input}
    silent = [k for k in full["results"] if k not in doc["results"] and skip_reason(k, skipped) is None
              and not no_input & set(k.split("."))]  # a result of a year the data no longer has
    assert not silent, (f"{chapter} on {name}: {len(silent)} results of the full folder are neither "
                        f"computed nor covered by a skipped section with its reason, e.g. {silent[:5]}")
