"""Every chapter, as `make all` ran it from a clean kernel, reads without a stumble (GWOSC-style).

`make test` runs `make all` first: papermill executes each registered chapter notebook top to bottom
in a fresh kernel (rrlib.runner). Instead of executing them a second time under nbval, this checks
those executions, as a reader of the executed notebook would meet them: every code cell ran, once,
in order; no cell raised; nothing was written to stderr (no warning, no traceback); the chapter's
closing checks ran and passed; and the executed copy is the committed notebook's code, unchanged.
`make nbval` still re-executes the notebooks under nbval for whoever wants that.
"""
from __future__ import annotations

import json

import pytest

from rrlib import paths, registry

LAYOUT = paths.layout(None, None)
CHAPTERS = registry.chapters()


def _code(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _src(c: dict) -> str:
    return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]


@pytest.mark.parametrize("ch", CHAPTERS, ids=lambda c: c.key)
def test_the_executed_chapter_reads_cleanly(ch):
    executed = LAYOUT.executed_dir / ch.notebook
    assert executed.exists(), f"{executed.name} was not executed: `make test` runs `make all` first"
    run = json.loads(executed.read_text(encoding="utf-8"))
    committed = json.loads((paths.NOTEBOOKS_DIR / ch.notebook).read_text(encoding="utf-8"))
    # papermill adds one cell of injected parameters after the parameters cell; the rest is the committed code
    cells = [c for c in _code(run) if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    assert [_src(c) for c in cells] == [_src(c) for c in _code(committed)], \
        f"{ch.notebook}: the executed copy is not the committed notebook (rerun `make all`)"
    counts = [c.get("execution_count") for c in _code(run)]
    assert counts == list(range(1, len(counts) + 1)), f"{ch.notebook}: cells not run once each, in order: {counts}"
    for i, c in enumerate(_code(run)):
        for o in c.get("outputs", []):
            assert o["output_type"] != "error", f"{ch.notebook} cell {i}: {o.get('ename')}: {o.get('evalue')}"
            if o["output_type"] == "stream" and o.get("name") == "stderr":
                pytest.fail(f"{ch.notebook} cell {i} wrote to stderr: {''.join(o['text'])[:300]}")
    shown = "".join(json.dumps(o) for c in _code(run) for o in c.get("outputs", []))
    assert "Checks passed" in shown, f"{ch.notebook}: the closing checks (ch.check) did not run"
    assert "finish()" in _src(_code(run)[-1]), f"{ch.notebook}: the last cell is not ch.finish()"
