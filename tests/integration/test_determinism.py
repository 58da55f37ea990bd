"""Same inputs, same bytes: two runs of the pipeline on the same data into the same output path
are byte-identical, file by file (issue 15).

The runs are the suite's shared small run (``small_run`` in ``tests/integration/conftest.py``): a
synthetic folder of seed 7 at scale 0.25 through ``make report DISCLOSURE=tre`` (prepare, every
chapter in a kernel, ``rr claims``, ``rr report``); the whole output folder (processed tables and
their stamp, figures, sidecars, published tables and disclosure records, results, claims, HTML
pages, executed notebooks) is hashed, moved aside, and everything is run again into the same path
(``make outbox``, which adds the outbox: its own determinism is ``unit/test_outbox.py``'s, a run's
outbox built twice into one path). Every file must have the same sha256, except that executed notebooks are compared
without papermill's timing metadata (start and end times, durations), ACRO's session records
without the time it saw each output, and the ``rr`` commands' own logs (named by start time and
process) are not compared: the only things allowed to differ. The small run's published tables
and figure data are also attacked together (:func:`rrlib.disclosure.attack_run`).
"""
from __future__ import annotations

import pytest

from rrlib import disclosure

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(small_run):
    return small_run


def test_two_runs_into_the_same_path_are_byte_identical(runs):
    a, b = runs["first"], runs["second"]
    kinds = {}
    for k in a:
        kinds.setdefault(k.split("/")[0] if "/" in k else k, []).append(k)
    print("\nfiles compared, by folder: " + ", ".join(f"{k}: {len(v)}" for k, v in sorted(kinds.items())))
    for must in ("processed/.prepared.json", "claims.json", "index.html"):
        assert must in a, f"{must} was not written"
    assert "outbox/withheld.json" in b, "the second run (make outbox) wrote no outbox"
    assert any(k.startswith("figures/") and k.endswith(".json") for k in a), "no figure sidecars"
    assert any(k.startswith("html/") for k in a) and any(k.startswith("notebooks/") for k in a)
    b = {k: v for k, v in b.items() if not k.startswith("outbox/")}
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
