"""Same inputs, same bytes: two runs of the pipeline on the same data into the same output path
are byte-identical, file by file (issue 15).

A small synthetic data folder (``rr synth --scale 0.2``; ``RR_DETERMINISM_SCALE`` to change it) is
prepared, every chapter notebook is run (:func:`rrlib.runner.run_chapter`), then ``rr claims`` and
``rr report``; the whole output folder (processed tables and their stamp, figures, sidecars,
published tables and disclosure records, results, claims, HTML pages, executed notebooks) is
hashed, moved aside, and everything is run again into the same path. Every file must have the
same sha256, except that executed notebooks are compared without papermill's timing metadata
(start and end times, durations), the only thing allowed to differ. The small run's published
tables and figure data are also attacked together (:func:`rrlib.disclosure.attack_run`).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rrlib import chapter, claims_report, disclosure, paths, report

pytestmark = pytest.mark.slow

#: 0.2, not 0.1: at 0.1 the targeted-support generator has too few looked-after pupils for A19.
SCALE = os.environ.get("RR_DETERMINISM_SCALE", "0.2")
NOTEBOOKS = {name: paths.NOTEBOOKS_DIR / nb for name, nb in chapter.NOTEBOOKS.items()}
#: papermill's timing metadata: the only bytes two runs may differ in
TIMING = ("start_time", "end_time", "duration", "exception")


def _without_timing(nb: dict) -> dict:
    def strip(meta):
        pm = meta.get("papermill")
        if isinstance(pm, dict):
            for k in TIMING:
                pm.pop(k, None)
        ex = meta.get("execution")
        if isinstance(ex, dict):
            meta.pop("execution")
    strip(nb.get("metadata", {}))
    for cell in nb.get("cells", []):
        strip(cell.get("metadata", {}))
    return nb


def digest(p: Path) -> str:
    if p.suffix == ".ipynb":
        doc = _without_timing(json.loads(p.read_text(encoding="utf-8")))
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return hashlib.sha256(p.read_bytes()).hexdigest()


def tree(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): digest(p) for p in sorted(out.rglob("*"))
            if p.is_file() and not p.name.startswith(".") or p.name == ".prepared.json"}


def run_all(data: Path, out: Path) -> None:
    from rrlib.data import prepare
    from rrlib.runner import run_chapter

    lay = paths.layout(data, out)
    prepare(data, lay.processed_dir)
    for name, nb in NOTEBOOKS.items():
        if nb.exists():
            run_chapter(nb, data_dir=data, out_dir=out, quiet=True)
    assert claims_report.main(data_dir=data, out_dir=out) == 0
    assert report.main(data_dir=data, out_dir=out) == 0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("determinism")
    data, out = root / "data", root / "out"
    r = subprocess.run([sys.executable, "-m", "rrlib", "synth", "--out", str(data), "--scale", SCALE],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"rr synth failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    run_all(data, out)
    first = tree(out)
    shutil.move(str(out), str(root / "first"))
    run_all(data, out)
    second = tree(out)
    return {"first": first, "second": second, "out": out}


def test_two_runs_into_the_same_path_are_byte_identical(runs):
    a, b = runs["first"], runs["second"]
    kinds = {}
    for k in a:
        kinds.setdefault(k.split("/")[0] if "/" in k else k, []).append(k)
    print("\nfiles compared, by folder: " + ", ".join(f"{k}: {len(v)}" for k, v in sorted(kinds.items())))
    for must in ("processed/.prepared.json", "claims.json", "index.html"):
        assert must in a, f"{must} was not written"
    assert any(k.startswith("figures/") and k.endswith(".json") for k in a), "no figure sidecars"
    assert any(k.startswith("html/") for k in a) and any(k.startswith("notebooks/") for k in a)
    assert sorted(a) == sorted(b), f"the two runs wrote different files: {sorted(set(a) ^ set(b))}"
    differ = sorted(k for k in a if a[k] != b[k])
    assert not differ, f"{len(differ)} of {len(a)} file(s) differ between the two runs: {', '.join(differ)}"


def test_no_absolute_path_in_any_output(runs):
    out = runs["out"]
    bad = [p.relative_to(out).as_posix() for p in sorted(out.rglob("*")) if p.is_file()
           and p.suffix in (".json", ".csv", ".html", ".md", ".ipynb", ".svg")
           and (str(out) in p.read_text(encoding="utf-8", errors="replace")
                or str(out.parent) in p.read_text(encoding="utf-8", errors="replace"))]
    assert not bad, f"outputs naming the run's absolute folders: {bad}"


def test_small_run_tables_resist_the_lp_attack(runs):
    result = disclosure.attack_run(runs["out"] / "tables", runs["out"] / "figures")
    for name, r in result["tables"].items():
        print(f"{name}: {r['suppressed']} suppressed, {len(r['narrow'])} narrow")
    assert result["tables"] and not result["narrowed"], \
        f"suppressed cells recoverable on the small run (tables, figure data, definitions): {result['narrowed'][:5]}"
    assert not result["statistics"] and not result["follows"], (result["statistics"][:3], result["follows"][:3])
